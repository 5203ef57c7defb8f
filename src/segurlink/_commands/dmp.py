"""``segurlink dmp check|deposit|find|get|hide|unhide|archive|unarchive|delete``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..cli import CommandResult, load_settings
from ..identity.ins import InsOid
from ._args import existing_file, new_file, non_empty

__all__ = ["register"]

_INS_OID = InsOid.NIR.value


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
    deposit.add_argument(
        "--replace",
        action="store_true",
        help="refuse unless the CDA is a new version (a CDA with relatedDocument RPLC "
        "replaces its parent without this flag)",
    )
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


def _read(path: Path, what: str = "") -> bytes:
    from ..errors import InputError

    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {what or path}: {exc.strerror or exc}") from exc


_DESCRIPTION_SUFFIXES = (".json", ".toml")


def _pdf_document(description_path: Path, pdf_path: Path) -> tuple[bytes, bool]:
    """The CDA built around the PDF, and whether its id was derived from the inputs.

    Without an ``id`` in the description, the document id (and setId) are derived from the
    description and the PDF bytes: the same inputs give the same document, so a re-run
    after a timeout finds it instead of depositing a second copy.
    """
    import hashlib
    import itertools
    import json
    import uuid

    from ..cda import build_document
    from ..cda._description import document_from_description
    from ..errors import InputError, SegurlinkError
    from .cda import _load_description

    description = _load_description(description_path)
    if not isinstance(description, dict):
        raise InputError(f"{description_path}: a description is a table of keys, not a list")
    pdf = _read(pdf_path, f"the PDF {pdf_path}")
    if not pdf.startswith(b"%PDF-"):
        raise InputError(f"{pdf_path} is not a PDF (no %PDF- header)")
    seed = hashlib.sha256(
        json.dumps(description, sort_keys=True, ensure_ascii=False, default=str).encode()
        + b"\0"
        + pdf
    ).digest()
    counter = itertools.count()

    def derived_uuid() -> uuid.UUID:
        block = hashlib.sha256(seed + next(counter).to_bytes(4, "big")).digest()
        return uuid.UUID(bytes=block[:16], version=4)

    try:
        model = document_from_description(
            description, pdf, media_type="application/pdf", uuid_factory=derived_uuid
        )
        return build_document(model), not description.get("id")
    except SegurlinkError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"{description_path} is not a valid description: {exc!r}") from exc


def _embedded_pdf(document: bytes) -> bytes | None:
    """The base64 body of a level-1 CDA, decoded (None when it has none)."""
    import base64
    import binascii

    from .._xml import parse_xml

    text = parse_xml(document, what="CDA").find(
        "{urn:hl7-org:v3}component/{urn:hl7-org:v3}nonXMLBody/{urn:hl7-org:v3}text"
    )
    if text is None or not text.text:
        return None
    try:
        return base64.b64decode("".join(text.text.split()), validate=True)
    except (binascii.Error, ValueError):
        return None


def _deposit(args: argparse.Namespace) -> CommandResult:
    import hashlib

    from ..cda import parse_header
    from ..errors import InputError, MalformedResponse

    derived_id = False
    if args.pdf is not None:
        document, derived_id = _pdf_document(args.document, args.pdf)
    else:
        if args.document.suffix.lower() in _DESCRIPTION_SUFFIXES:
            raise InputError(
                f"{args.document} is a description, not a CDA: add --pdf FILE to build the "
                "document around a PDF"
            )
        document = _read(args.document, f"the document {args.document}")
    try:
        header = parse_header(document)
    except MalformedResponse as exc:
        raise InputError(f"{args.document} is not a readable CDA: {exc.message}") from exc
    if header.patient.ins is None:
        raise InputError("the CDA carries no INS: only a qualified identity goes to the DMP")
    unique_id = header.id.xds_unique_id
    hidden = [_audience(a) for a in args.hide_from]
    with _client(args) as client:
        # A re-run (after a timeout, a crash...) finds the document and sends nothing.
        existing = client.get(header.patient.ins, unique_id=unique_id)
        if existing is not None:
            same = (
                derived_id
                or existing.hash == hashlib.sha1(document).hexdigest()  # noqa: S324 - XDS hash
                or (args.pdf is not None and _same_pdf(client, header, args.pdf))
            )
            if not same:
                raise InputError(
                    f"the DMP already has another document with uniqueId {unique_id}: a new "
                    "version needs its own id and relatedDocument RPLC"
                )
            data = {
                "unique_id": unique_id,
                "submission_set": None,
                "already_deposited": True,
                "replaced_entry_uuid": None,
                "attempts": 0,
                "status": existing.status_name,
            }
            return CommandResult(
                data=data, text=f"already deposited: {unique_id} ({existing.status_name})"
            )
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
    replaced = f", replacing {result.replaced_entry_uuid}" if result.replaced_entry_uuid else ""
    return CommandResult(data=data, text=f"{state}: {result.unique_id}{replaced}")


def _same_pdf(client: Any, header: Any, pdf_path: Path) -> bool:
    """Whether the DMP's copy of the document carries this PDF (explicit ids only)."""
    stored = client.retrieve(header.patient.ins, header.id.xds_unique_id)
    return _embedded_pdf(stored.content) == _read(pdf_path)


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
        from ..errors import InputError

        try:
            args.output.write_bytes(document.content)
        except OSError as exc:
            raise InputError(f"cannot write {args.output}: {exc.strerror or exc}") from exc
        data["output"] = str(args.output)
        return CommandResult(data=data, text=f"wrote {args.output} ({len(document.content)} bytes)")
    return CommandResult(data=data, text=document.content.decode("utf-8", "replace"))


def _update(args: argparse.Namespace) -> CommandResult:
    from ..dmp import DocumentEntry, patient_id_value

    ins = _ins(args)
    # Only the uniqueId matters: the client acts on the entry's current version, which it
    # looks up itself (one query), and refuses what that version's status does not allow.
    entry = DocumentEntry("", args.unique_id, "", patient_id=patient_id_value(ins.value, ins.oid))
    with _client(args) as client:
        if args.operation == "hide":
            client.hide(entry, _audience(args.audience))
        elif args.operation == "unhide":
            client.unhide(entry, _audience(args.audience))
        elif args.operation == "archive":
            client.archive(entry)
        elif args.operation == "unarchive":
            client.unarchive(entry)
        else:
            client.delete(entry)
    return CommandResult(
        data={"unique_id": args.unique_id, "operation": args.operation, "ok": True},
        text=f"{args.operation}: {args.unique_id}",
    )
