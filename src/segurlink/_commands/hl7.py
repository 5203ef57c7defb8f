"""``segurlink hl7 parse|listen``: read a PAM FR message; run the MLLP identity bridge."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from ..cli import CommandResult, load_settings
from ._args import bounded_int, existing_file, non_empty, port, positive_float

__all__ = ["register"]

# Kept here (not imported from segurlink.hl7) so that building the parser imports nothing.
_EVENTS = ("A01", "A04", "A08", "A28", "A31", "A40", "A47")


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT (port 1-65535), got {text!r}")
    return host.strip("[]"), int(port)


def register(groups: Any, common: argparse.ArgumentParser) -> None:
    hl7 = groups.add_parser("hl7", help="HL7 v2 identity feed (PAM FR): read, qualify with INSi")
    commands = hl7.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    parse = commands.add_parser(
        "parse",
        parents=[common],
        help="read one ADT message (.er7/.hl7 file) and print the identity it carries "
        "(exit 2 when it cannot be read)",
    )
    parse.add_argument("file", type=existing_file, help="file holding one HL7 v2 message")
    parse.set_defaults(handler=_parse)

    listen = commands.add_parser(
        "listen",
        parents=[common],
        help="MLLP listener: qualify each identity with INSi, forward the result (A31) to "
        "HOST:PORT over MLLP, acknowledge the sender; runs until Ctrl-C "
        "(--json: one JSON line on stdout once listening)",
    )
    listen.add_argument("--port", type=port, required=True, help="port to listen on (0: any)")
    listen.add_argument("--host", type=non_empty, default="127.0.0.1", help="address to listen on")
    listen.add_argument(
        "--forward",
        type=_host_port,
        required=True,
        metavar="HOST:PORT",
        help="MLLP receiver of the identity updates (the DUI's HL7 input)",
    )
    listen.add_argument("--event", choices=_EVENTS, default="A31", help="event sent (default A31)")
    listen.add_argument("--application", default="SEGURLINK", help="MSH-3 of what is sent")
    listen.add_argument("--facility", default="", help="MSH-4 of what is sent")
    listen.add_argument("--max-connections", type=bounded_int(1, 10_000), default=32)
    listen.add_argument(
        "--max-message-bytes", type=bounded_int(1024, 1024 * 1024 * 1024), default=1024 * 1024
    )
    listen.add_argument(
        "--idle-timeout",
        type=positive_float,
        default=60.0,
        help="close a silent connection (seconds)",
    )
    listen.add_argument(
        "--send-birth-place",
        action="store_true",
        help="send the birth place on every INSi call (default: only after a CR 02)",
    )
    listen.set_defaults(handler=_listen)


def _read(path: Path) -> bytes:
    from ..errors import InputError

    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc


def message_data(message: Any) -> dict[str, Any]:
    """JSON-ready view of a :class:`~segurlink.hl7.PamMessage` (shown to the user who asked)."""

    def identifier(i: Any) -> dict[str, str]:
        return {
            "value": i.value,
            "namespace": i.namespace,
            "oid": i.oid,
            "type": i.type_code,
            "effective_date": i.effective_date,
        }

    header, identity = message.header, message.identity
    status = identity.status
    return {
        "message_type": header.message_type,
        "event": header.event,
        "structure": header.structure,
        "control_id": header.control_id,
        "sending_application": header.sending_application,
        "sending_facility": header.sending_facility,
        "charset": header.charset,
        "segments": list(message.segment_ids),
        "identity": {
            "local_ids": [identifier(i) for i in identity.local_ids],
            "identifiers": [identifier(i) for i in identity.identifiers],
            "ins": None
            if identity.ins is None
            else {
                "value": identity.ins.value,
                "oid": identity.ins.oid,
                "effective_date": identity.ins_effective_date,
            },
            "birth_name": identity.birth_name,
            "first_names": list(identity.first_names),
            "used_name": identity.used_name,
            "used_first_name": identity.used_first_name,
            "birth_date": identity.birth_date,
            "sex": identity.sex,
            "birth_place": identity.birth_place,
            "reliability_codes": list(identity.reliability_codes),
            "status": None if status is None else status.value,
            "doubtful": identity.doubtful,
            "fictitious": identity.fictitious,
        },
        "prior_identifiers": [identifier(i) for i in message.prior_identifiers],
    }


def _table(data: dict[str, Any]) -> str:
    identity = data["identity"]

    def show(value: Any) -> str:
        return "-" if value in (None, "", []) else str(value)

    rows = [
        (
            "message",
            f"{data['message_type']}^{data['event']} control id {data['control_id']} from "
            f"{show(data['sending_application'])}/{show(data['sending_facility'])} "
            f"({data['charset'] or 'no charset'})",
        )
    ]
    rows += [
        ("local id", f"{i['value']} ({show(i['namespace'])}, {i['type']})")
        for i in identity["local_ids"]
    ]
    ins = identity["ins"]
    rows.append(
        (
            "INS",
            "-"
            if ins is None
            else f"{ins['value']}  OID {ins['oid']}  since {show(ins['effective_date'])}",
        )
    )
    rows += [
        ("birth name", show(identity["birth_name"])),
        ("first names", show(" ".join(identity["first_names"]))),
        (
            "used name",
            show(" ".join(filter(None, [identity["used_name"], identity["used_first_name"]]))),
        ),
        ("birth date", show(identity["birth_date"])),
        ("sex", show(identity["sex"])),
        ("birth place", show(identity["birth_place"])),
        (
            "PID-32",
            f"{show('~'.join(identity['reliability_codes']))} (status {show(identity['status'])})",
        ),
        ("segments", " ".join(data["segments"])),
    ]
    for identifier in data["prior_identifiers"]:
        rows.append(("prior id", f"{identifier['value']} ({identifier['type']})"))
    return "\n".join(f"{name:<12} {value}" for name, value in rows)


def _parse(args: argparse.Namespace) -> CommandResult:
    from ..hl7 import parse_message

    message = parse_message(_read(args.file))
    data = message_data(message)
    return CommandResult(data=data, text=_table(data))


def _listen(args: argparse.Namespace) -> CommandResult:
    from ..errors import ConfigurationError, TransportError
    from ..hl7 import BridgeSettings, Hl7InsiBridge, MllpClient, MllpListener
    from ..insi import InsiClient

    if args.max_connections < 1 or args.max_message_bytes < 1 or args.idle_timeout <= 0:
        raise ConfigurationError(
            "--max-connections, --max-message-bytes and --idle-timeout must be positive"
        )
    settings = load_settings(args)
    forward_host, forward_port = args.forward
    stop = threading.Event()
    with (
        InsiClient.from_settings(settings) as insi,
        MllpClient(
            forward_host,
            forward_port,
            connect_timeout=settings.timeouts.connect,
            ack_timeout=settings.timeouts.read,
        ) as forwarder,
    ):
        bridge = Hl7InsiBridge(
            insi,
            forwarder,
            settings=BridgeSettings(
                event=args.event,
                application=args.application,
                facility=args.facility,
                send_birth_place=args.send_birth_place,
            ),
        )
        listener = MllpListener(
            bridge.handle,
            host=args.host,
            port=args.port,
            max_connections=args.max_connections,
            max_message_bytes=args.max_message_bytes,
            idle_timeout=args.idle_timeout,
        )
        try:
            listener.start()
        except TransportError as exc:
            raise ConfigurationError(exc.message) from exc
        previous = _on_signals(stop)
        try:
            ready = {
                "listening": f"{args.host}:{listener.port}",
                "port": listener.port,
                "forward": f"{forward_host}:{forward_port}",
                "insi_endpoint": insi.settings.endpoint,
            }
            print(
                f"segurlink hl7 listening on {ready['listening']} (MLLP), forwarding to "
                f"{ready['forward']}, INSi {ready['insi_endpoint']} (Ctrl-C to stop)",
                file=sys.stderr,
                flush=True,
            )
            if args.json:
                print(json.dumps(ready), flush=True)
            while not stop.wait(0.5):
                pass
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            listener.stop()
    counts = bridge.counts
    return CommandResult(
        data={"stopped": True, "messages": counts, "connections": listener.counts},
        text="stopped: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())),
    )


def _on_signals(stop: threading.Event) -> dict[signal.Signals, Any]:
    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous: dict[signal.Signals, Any] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[signum] = signal.signal(signum, request_stop)
        except ValueError:  # not the main thread: the caller handles signals
            pass
    return previous
