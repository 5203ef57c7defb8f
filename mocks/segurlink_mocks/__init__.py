"""Emulators of the French national e-health services, for tests, demos and CI.

Each mock is a real HTTPS server (mutual TLS with a test PKI) speaking the service's wire
format, validating what it receives against segurlink's schemas, and able to inject
faults. The same classes run under pytest (fixtures from :mod:`segurlink_mocks.pytest_plugin`)
and as a program (``segurlink mock serve`` / ``python -m segurlink_mocks``).

Names are loaded lazily so that importing the pytest plugin stays cheap.

>>> from segurlink_mocks import InsiMock, TestPki            # doctest: +SKIP
>>> with InsiMock(TestPki.create(tmp)) as insi:               # doctest: +SKIP
...     print(insi.endpoint)
https://127.0.0.1:40551/lps
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._server import Exchange, MockServer, PeerCertificate, RequestRecord
    from .insi import InsiMock, InsiPerson, InsRecord, ResponseShape
    from .pki import ClientCert, TestPki
    from .stack import MockStack, default_state_dir, serve_forever

__all__ = [
    "ClientCert",
    "Exchange",
    "InsRecord",
    "InsiMock",
    "InsiPerson",
    "MockServer",
    "MockStack",
    "PeerCertificate",
    "RequestRecord",
    "ResponseShape",
    "TestPki",
    "default_state_dir",
    "serve_forever",
]

_LAZY: dict[str, str] = {
    "ClientCert": ".pki",
    "Exchange": "._server",
    "InsRecord": ".insi",
    "InsiMock": ".insi",
    "InsiPerson": ".insi",
    "MockServer": "._server",
    "MockStack": ".stack",
    "PeerCertificate": "._server",
    "RequestRecord": "._server",
    "ResponseShape": ".insi",
    "TestPki": ".pki",
    "default_state_dir": ".stack",
    "serve_forever": ".stack",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'segurlink_mocks' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
