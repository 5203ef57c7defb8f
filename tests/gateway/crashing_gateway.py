"""A gateway in its own process that can die (``os._exit``, as a ``kill -9``) at a point:

* ``after-queue``: the message is written in the outbox, the ACK is not sent yet;
* ``after-deposit``: the DMP has the document, the outbox has not recorded it;
* ``after-mail``: the operator took the mail, the outbox has not recorded it;
* ``before-zam``: the delivery is recorded, its ZAM is about to leave.

Run by tests/gateway/test_durability.py:
``python -m tests.gateway.crashing_gateway CONFIG HOST:PORT [POINT]``; prints
``{"port": N}`` once listening, runs until SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from typing import Any

from segurlink.config import Settings
from segurlink.gateway import Gateway
from segurlink.gateway import jobs as gateway_jobs


def _die() -> None:
    sys.stdout.flush()
    os._exit(137)


def _after(owner: Any, name: str) -> None:
    original = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        _die()
        return result

    setattr(owner, name, wrapper)


def _before(owner: Any, name: str) -> None:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _die()

    setattr(owner, name, wrapper)


def main(argv: list[str]) -> int:
    config, reply = argv[0], argv[1]
    point = argv[2] if len(argv) > 2 else ""
    host, _, port = reply.rpartition(":")
    if point == "after-queue":
        _after(Gateway, "_queue")
    elif point == "after-deposit":
        from segurlink.dmp import DmpClient

        _after(DmpClient, "deposit")
    elif point == "after-mail":
        from segurlink.mssante import MssClient

        _after(MssClient, "send")
    elif point == "before-zam":
        _before(gateway_jobs, "_deliver_zam")
    elif point:
        raise SystemExit(f"unknown crash point {point!r}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    settings = Settings.from_toml(config)
    with Gateway(settings, reply=(host, int(port))) as gateway:
        gateway.start(workers=1)
        print(json.dumps({"port": gateway.port}), flush=True)
        while not stop.wait(0.2):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
