"""``segurlink dmp check|deposit|find|get|hide|unhide|archive|unarchive|delete``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..cli import CommandResult, load_settings
from ._args import existing_file, new_file, non_empty

__all__ = ["register"]

_INS_OID = "1.2.250.1.213.1.4.8"


def register(groups: Any, common: argparse.ArgumentParser) -> None:
    dmp = groups.add_parser("dmp", help="DMP: check, deposit, find, retrieve, hide, delete")
    commands = dmp.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    def with_ins(name: str, help_text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = commands.add_parser(
            name, parents=[common], help=help_text
        )
        parser.add_argument("ins", type=non_empty, help="15-character INS (matricule + key)")
        parser.add_argument("--oid", type=non_empty, default=_INS_OID, help="INS OID (default NIR)")
        return parser

    check = with_ins(
        "check", "TD0.2: does the patient have a DMP (exit 1 when no deposit possible)"
    )
    check.set_defaults(handler=_check)

    deposit = commands.add_parser("deposit", parents=[common], help="TD2.1: deposit a CDA document")
    deposit.add_argument(
        "document",
        type=existing_file,
        help="the CDA (.xml), or with --pdf a description (.json/.toml)",
    )
    deposit.add_argument(
        "--pdf", type=existing_file, help="build the CDA on the fly around this PDF"
    )
    deposit.add_argument(
        "--hide-from",
        action="append",
        default=[],
        choices=["professionals", "patient", "legal-representatives"],
        help="deposit hidden from this audience (repeatable)",
    )
    deposit.add_argument("--replace", action="store_true", help="the CDA replaces (RPLC) an entry")
    deposit.set_defaults(handler=_deposit)

    find = with_ins("find", "TD3.1: list the patient's documents")
    find.add_argument(
        "--status", action="append", choices=["approved", "archived", "deleted"], default=[]
    )
    find.set_defaults(handler=_find)

    get = with_ins("get", "TD3.2: retrieve a document by uniqueId")
    get.add_argument("unique_id", type=non_empty)
    get.add_argument("-o", "--output", type=new_file, help="write the document here")
    get.set_defaults(handler=_get)

    for name, help_text in (
        ("hide", "hide a document (default: from professionals)"),
        ("unhide", "undo hide"),
        ("archive", "TD3.3d: archive a document"),
        ("unarchive", "bring an archived document back"),
        ("delete", "TD3.3c: delete a document"),
    ):
        action = with_ins(name, help_text)
        action.add_argument("unique_id", type=non_empty)
        if name in ("hide", "unhide"):
            action.add_argument(
                "--audience",
                default="professionals",
                choices=["professionals", "patient", "legal-representatives"],
            )
        action.set_defaults(handler=_update, operation=name)


def _ins(args: argparse.Namespace) -> Any:
    from ..identity import Ins

    return Ins.parse(args.ins, args.oid)


def _client(args: argparse.Namespace) -> Any:
    from ..dmp import DmpClient

    return DmpClient.from_settings(load_settings(args))


def _audience(name: str) -> Any:
    from ..dmp import Audience

    return {
        "professionals": Audience.PROFESSIONALS,
        "patient": Audience.PATIENT,
        "legal-representatives": Audience.LEGAL_REPRESENTATIVES,
    }[name]


def _entry_data(entry: Any) -> dict[str, Any]:
    return {
        "entry_uuid": entry.entry_uuid,
        "unique_id": entry.unique_id,
        "status": entry.status_name,
        "version": entry.version,
        "title": entry.title,
        "type_code": entry.type_code,
        "class_code": entry.class_code,
        "confidentiality": list(entry.confidentiality),
        "creation_time": entry.creation_time,
        "size": entry.size,
    }


def _check(args: argparse.Namespace) -> CommandResult:
    with _client(args) as client:
        status = client.check(_ins(args))
    data = {
        "exists": status.exists,
        "authorisation": status.authorisation.value,
        "query_code": status.query_code,
        "treating_doctor": status.treating_doctor,
        "can_deposit": status.can_deposit,
    }
    text = (
        f"DMP {'exists' if status.exists else 'absent'} ({status.query_code}); "
        f"authorisation {status.authorisation.value}"
    )
    return CommandResult(data=data, text=text, exit_code=0 if status.can_deposit else 1)


def _read(path: Path) -> bytes:
    from ..errors import InputError

    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc


def _check_is_xml(path: Path, document: bytes) -> None:
    """A local file that is not XML is the caller's input error, not a bad server answer."""
    from .._xml import parse_xml
    from ..errors import InputError, MalformedResponse

    try:
        parse_xml(document, what=str(path))
    except MalformedResponse as exc:
        hint = " (a description needs --pdf)" if path.suffix.lower() in (".json", ".toml") else ""
        raise InputError(f"{exc.message}{hint}") from exc


def _deposit(args: argparse.Namespace) -> CommandResult:
    if args.pdf is not None:
        from ..cda import build_document
        from ..cda._description import document_from_description
        from .cda import _load_description

        description = _load_description(args.document)
        document = build_document(
            document_from_description(description, _read(args.pdf), media_type="application/pdf")
        )
    else:
        document = _read(args.document)
        _check_is_xml(args.document, document)
    hidden = [_audience(a) for a in args.hide_from]
    with _client(args) as client:
        if args.replace:
            result = client.replace(document, hidden_from=hidden)
        else:
            result = client.deposit(document, hidden_from=hidden)
    data = {
        "unique_id": result.unique_id,
        "submission_set": result.submission_set_id,
        "already_deposited": result.already_deposited,
        "replaced_entry_uuid": result.replaced_entry_uuid,
        "attempts": result.attempts,
    }
    state = "already deposited (not duplicated)" if result.already_deposited else "deposited"
    return CommandResult(data=data, text=f"{state}: {result.unique_id}")


def _find(args: argparse.Namespace) -> CommandResult:
    from ..dmp import APPROVED, ARCHIVED, DELETED

    statuses = [
        {"approved": APPROVED, "archived": ARCHIVED, "deleted": DELETED}[s]
        for s in (args.status or ["approved"])
    ]
    with _client(args) as client:
        entries = client.find(_ins(args), statuses=statuses)
    lines = [
        f"{e.unique_id}  {e.status_name:<8} v{e.version or '?'}  {e.type_code:<8} {e.title}"
        + (f"  [{','.join(e.confidentiality)}]" if len(e.confidentiality) > 1 else "")
        for e in entries
    ]
    return CommandResult(
        data=[_entry_data(e) for e in entries],
        text="\n".join(lines) or "no document",
    )


def _get(args: argparse.Namespace) -> CommandResult:
    with _client(args) as client:
        document = client.retrieve(_ins(args), args.unique_id)
    data: dict[str, Any] = {
        "unique_id": document.unique_id,
        "mime_type": document.mime_type,
        "bytes": len(document.content),
    }
    if args.output:
        args.output.write_bytes(document.content)
        data["output"] = str(args.output)
        return CommandResult(data=data, text=f"wrote {args.output} ({len(document.content)} bytes)")
    return CommandResult(data=data, text=document.content.decode("utf-8", "replace"))


def _update(args: argparse.Namespace) -> CommandResult:
    from ..dmp import ARCHIVED
    from ..errors import InputError

    ins = _ins(args)
    with _client(args) as client:
        entry = client.get(ins, unique_id=args.unique_id)
        if entry is None:  # the DMP says it has no such document: its "no", exit 1
            return CommandResult(
                data={"unique_id": args.unique_id, "operation": args.operation, "ok": False,
                      "reason": "not found"},
                text=f"no DMP entry with uniqueId {args.unique_id} for this patient",
                exit_code=1,
            )
        if args.operation == "hide":
            client.hide(entry, _audience(args.audience))
        elif args.operation == "unhide":
            client.unhide(entry, _audience(args.audience))
        elif args.operation == "archive":
            client.archive(entry)
        elif args.operation == "unarchive":
            if entry.status != ARCHIVED:
                raise InputError("the entry is not archived")
            client.unarchive(entry)
        else:
            client.delete(entry)
    return CommandResult(
        data={"unique_id": args.unique_id, "operation": args.operation, "ok": True},
        text=f"{args.operation}: {args.unique_id}",
    )
