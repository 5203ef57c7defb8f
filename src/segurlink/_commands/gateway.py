"""``segurlink gateway serve|send``: the HL7 v2 document gateway, and a producer's push."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path
from typing import Any

from ..cli import CommandResult, load_settings
from ._args import bounded_int, existing_file, non_empty, non_empty_path, port, positive_float
from .hl7 import _host_port, _on_signals, _read

__all__ = ["register"]


def register(groups: Any, common: argparse.ArgumentParser) -> None:
    gateway = groups.add_parser(
        "gateway",
        help="HL7 v2 document gateway: MDM/ORU with a CDA → DMP and MSSanté, ACK and ZAM",
    )
    commands = gateway.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    serve = commands.add_parser(
        "serve",
        parents=[common],
        help="take MDM^T02/T10/T04 and ORU^R01 over MLLP, deposit in the DMP and mail by "
        "MSSanté as their flags say, send the ZAMs and the MDMs of received mails to "
        "HOST:PORT; runs until Ctrl-C (--json: one JSON line on stdout once listening)",
    )
    serve.add_argument(
        "--listen", type=port, required=True, metavar="PORT", help="MLLP port to listen on (0: any)"
    )
    serve.add_argument("--host", type=non_empty, default="127.0.0.1", help="address to listen on")
    serve.add_argument(
        "--reply",
        type=_host_port,
        required=True,
        metavar="HOST:PORT",
        help="the producer's MLLP input (ZAM^Z01/Z02/Z03, MDMs of received mails)",
    )
    serve.add_argument(
        "--workers",
        type=bounded_int(1, 64),
        default=None,
        help="outbox workers (default [gateway] workers, 2)",
    )
    serve.add_argument(
        "--store",
        type=non_empty_path,
        default=None,
        metavar="PATH",
        help="outbox store (default [outbox] store)",
    )
    serve.set_defaults(handler=_serve)

    send = commands.add_parser(
        "send",
        parents=[common],
        help="push one message file (MDM/ORU) to a gateway over MLLP as a producer would, "
        "print its ACK (exit 1 for AE/AR)",
    )
    send.add_argument("file", type=existing_file, help="file holding one HL7 v2 message")
    send.add_argument(
        "--to",
        type=_host_port,
        default=("127.0.0.1", 2575),
        metavar="HOST:PORT",
        help="the gateway (default 127.0.0.1:2575)",
    )
    send.add_argument(
        "--timeout", type=positive_float, default=30.0, help="seconds to wait for the ACK"
    )
    send.set_defaults(handler=_send)


def _serve(args: argparse.Namespace) -> CommandResult:
    from ..gateway import Gateway
    from ..outbox.api import open_store

    settings = load_settings(args)
    reply_host, reply_port = args.reply
    store = open_store(str(args.store)) if args.store is not None else None
    stop = threading.Event()
    with Gateway(settings, reply=(reply_host, reply_port), store=store) as gateway:
        gateway.start(host=args.host, port=args.listen, workers=args.workers)
        previous = _on_signals(stop)
        try:
            ready = {
                "listening": f"{args.host}:{gateway.port}",
                "port": gateway.port,
                "reply": f"{reply_host}:{reply_port}",
                "store": gateway.store.description,
                "dmp": gateway.policy.dmp,
                "mssante": gateway.mail_sender or None,
            }
            print(
                f"segurlink gateway listening on {ready['listening']} (MLLP), ZAMs to "
                f"{ready['reply']}, outbox {ready['store']} (Ctrl-C to stop)",
                file=sys.stderr,
                flush=True,
            )
            if args.json:
                print(json.dumps(ready), flush=True)
            while not stop.wait(0.5):
                pass
        finally:
            import signal

            for signum, handler in previous.items():
                signal.signal(signum, handler)
        counts = gateway.counts
    if store is not None:
        store.close()
    return CommandResult(
        data={"stopped": True, "messages": counts},
        text="stopped: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "-"),
    )


def _send(args: argparse.Namespace) -> CommandResult:
    from ..errors import InputError
    from ..hl7 import MllpClient, parse_ack, parse_header

    data = _read(Path(args.file))
    # Files separate segments with LF; on the wire HL7 wants CR.
    data = data.replace(b"\r\n", b"\r").replace(b"\n", b"\r")
    header = parse_header(data)
    if header is None:
        raise InputError(f"{args.file} does not hold an HL7 v2 message (no readable MSH)")
    host, port_ = args.to
    with MllpClient(
        host, port_, connect_timeout=min(args.timeout, 10.0), ack_timeout=args.timeout
    ) as client:
        ack = parse_ack(client.send(data))
    errors = [
        {
            "code": e.code,
            "location": e.location,
            "sequence": e.sequence,
            "application_code": e.application_code,
            "application_label": e.application_label,
            "message": e.message,
        }
        for e in ack.errors
    ]
    lines = [
        f"{ack.code.value} {ack.acknowledged_id or '-'} ({header.message_type}^{header.event})"
    ]
    for e in ack.errors:
        where = e.location + (f" (#{e.sequence})" if e.sequence != 1 else "")
        application = f" {e.application_code} {e.application_label}".rstrip()
        lines.append(f"  ERR {e.code} at {where or '-'}:{application} {e.message}".rstrip())
    return CommandResult(
        data={"ack": ack.code.value, "acknowledged": ack.acknowledged_id, "errors": errors},
        text="\n".join(lines),
        exit_code=0 if ack.accepted else 1,
    )
