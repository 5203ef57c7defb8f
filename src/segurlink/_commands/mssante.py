"""``segurlink mss send|inbox|receipts|lookup``: MSSanté messages with CI-SIS documents, and
the Annuaire Santé lookup of MSSanté addresses."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..cli import CommandResult, load_settings
from ._args import bounded_int, existing_file, non_empty

__all__ = ["register"]


def _message_id(text: str) -> str:
    text = non_empty(text).strip()
    if "@" not in text or any(c.isspace() for c in text.strip("<>")):
        raise argparse.ArgumentTypeError(f"not a Message-ID (<id@host>): {text!r}")
    return text


#: Help shown under ``segurlink mss lookup --help``: what the local mock's directory holds.
LOOKUP_EPILOG = """\
Exactly one of: a person (NAME and/or --first-name, or --rpps / --adeli), an organisation
(--finess and/or --organization), or an address (--address, --exact for the whole
address). Names match the start of the name, case and accents ignored. Red-listed
mailboxes are never shown. Exit 1 when no mailbox is found.
With the local mocks (`segurlink mock serve`), the Annuaire Santé mock holds, e.g.:
  segurlink mss lookup MEDECIN-TEST --first-name Paul       PER and CAB of Paul
  segurlink mss lookup --rpps 10009876543 --type PER        Claire INFIRMIERE-TEST
  segurlink mss lookup --finess 010000016 --type ORG --type APP
  segurlink mss lookup MARTIN --json                        64 MARTIN: several pages
  segurlink mss lookup --address secretariat@segurlink-test.mssante.fr --exact
"""


def _criterion(name: str) -> Any:
    """An argument type checking one lookup criterion with the library's own rules."""

    def parse(text: str) -> str:
        from ..errors import InputError
        from ..mssante.directory import MailboxQuery

        given: dict[str, Any] = {name: text}
        try:
            query = MailboxQuery(**given)
        except InputError as exc:
            raise argparse.ArgumentTypeError(exc.message) from None
        return str(getattr(query, name))

    parse.__name__ = name.replace("_", " ")
    return parse


def register(groups: Any, common: argparse.ArgumentParser) -> None:
    mss = groups.add_parser("mss", help="MSSanté: send documents, read the inbox and receipts")
    commands = mss.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    def with_login(name: str, help_text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = commands.add_parser(
            name, parents=[common], help=help_text
        )
        login = parser.add_mutually_exclusive_group()
        login.add_argument(
            "--tokens",
            type=existing_file,
            help="PSC token file (psc login --save-tokens) for XOAUTH2/OAUTHBEARER mailboxes",
        )
        login.add_argument("--access-token", type=non_empty, help="a PSC access token")
        return parser

    send = with_login("send", "send CDA documents in an IHE_XDM.ZIP (exit 1 if refused)")
    send.add_argument(
        "--to", action="append", default=[], type=non_empty, metavar="ADDR", help="recipient"
    )
    send.add_argument(
        "--document",
        action="append",
        default=[],
        type=existing_file,
        required=True,
        help="a CDA document (.xml); repeat for several documents of the same patient",
    )
    send.add_argument("--pdf", type=existing_file, help="the readable rendering (PDF/A-1)")
    send.add_argument(
        "--patient",
        action="store_true",
        help="also send to the patient (Mon espace santé), from the CDA's qualified INS",
    )
    send.add_argument("--text", default="", help="the message body")
    send.add_argument("--no-receipt", action="store_true", help="do not ask for MDNs")
    send.add_argument(
        "--replace", action="store_true", help="the CDA replaces an earlier version (RPLC)"
    )
    send.set_defaults(handler=_send)

    inbox = with_login("inbox", "list the messages of the mailbox (documents, receipts)")
    inbox.add_argument(
        "--since-uid", type=bounded_int(0), default=0, help="only messages above this UID"
    )
    inbox.add_argument("--unseen", action="store_true", help="only unseen messages")
    inbox.set_defaults(handler=_inbox)

    receipts = with_login(
        "receipts", "MDNs, DSNs and KO mails (of one Message-ID: exit 1 if one is negative)"
    )
    receipts.add_argument("message_id", nargs="?", type=_message_id, help="<id@host>")
    receipts.set_defaults(handler=_receipts)

    lookup = commands.add_parser(
        "lookup",
        parents=[common],
        help="find MSSanté addresses in the Annuaire Santé (exit 1 if none)",
        description="Look up the MSSanté mailboxes of a professional, an organisation or an "
        "address in the Annuaire Santé ([annuaire] settings: endpoint, api_key).",
        epilog=LOOKUP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    lookup.add_argument(
        "name", nargs="?", type=_criterion("name"), help="family name of a professional"
    )
    lookup.add_argument("--first-name", type=_criterion("first_name"), help="first name")
    lookup.add_argument("--rpps", type=_criterion("rpps"), help="RPPS number (11 digits)")
    lookup.add_argument("--adeli", type=_criterion("adeli"), help="ADELI number (9 characters)")
    lookup.add_argument("--finess", type=_criterion("finess"), help="FINESS of an organisation")
    lookup.add_argument(
        "--organization", type=_criterion("organization"), help="start of an organisation's name"
    )
    lookup.add_argument("--address", type=non_empty, help="part of an address (see --exact)")
    lookup.add_argument("--exact", action="store_true", help="--address is the whole address")
    lookup.add_argument(
        "--type",
        dest="kinds",
        action="append",
        type=str.upper,
        choices=("PER", "ORG", "APP", "CAB"),
        metavar="TYPE",
        help="mailbox type PER, ORG, APP or CAB (repeat for several; default all)",
    )
    lookup.add_argument(
        "--max-pages", type=bounded_int(1), help="pages read per search ([annuaire] max_pages)"
    )
    lookup.set_defaults(handler=_lookup)


def _client(args: argparse.Namespace) -> Any:
    from ..config import Secret
    from ..mssante import MssClient, MssSettings

    settings = load_settings(args)
    mss = MssSettings.from_settings(settings)
    tokens: Any = None
    if args.access_token:
        tokens = _StaticToken(Secret(args.access_token))
    elif args.tokens:
        from ..errors import ConfigurationError
        from ..psc import PscClient, tokens_from_json

        try:
            text = Path(args.tokens).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(f"cannot read {args.tokens}: {exc}") from exc
        tokens = PscClient.from_settings(settings).token_provider(tokens_from_json(text))
    return MssClient(mss, tokens=tokens)


class _StaticToken:
    def __init__(self, token: Any) -> None:
        self._token = token

    def access_token(self) -> str:
        return str(self._token.reveal())


def _read(path: Path) -> bytes:
    from ..errors import InputError

    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc


def _send(args: argparse.Namespace) -> CommandResult:
    from ..errors import InputError, MalformedResponse
    from ..mssante import Draft

    documents = tuple(_read(p) for p in args.document)
    pdf = _read(args.pdf) if args.pdf else None
    with _client(args) as client:
        draft = Draft(
            sender=client.settings.address,
            to=tuple(args.to),
            documents=documents,
            text=args.text,
            readable_pdf=pdf,
            patient_from_document=args.patient,
            receipt=not args.no_receipt,
            action="replace" if args.replace else None,
        )
        try:
            message = client.compose(draft)
        except MalformedResponse as exc:  # the local file, not a service answer
            raise InputError(f"the document cannot be read: {exc.message}") from exc
        result = client.send(message)
    data = {
        "message_id": result.message_id,
        "accepted": list(result.accepted),
        "refused": [
            {
                "address": r.address,
                "code": r.code,
                "enhanced_status": r.enhanced_status,
                "text": r.text,
            }
            for r in result.refused
        ],
        "size": result.size,
    }
    lines = [f"sent {result.message_id} ({result.size} bytes)"]
    lines += [f"  accepted {a}" for a in result.accepted]
    lines += [f"  refused  {r.address}: {r.code} {r.enhanced_status}" for r in result.refused]
    return CommandResult(data=data, text="\n".join(lines), exit_code=0 if result.complete else 1)


def _receipt_data(receipt: Any) -> dict[str, Any]:
    return {
        "kind": receipt.kind.value,
        "original_message_id": receipt.original_message_id,
        "recipient": receipt.recipient,
        "ok": receipt.ok,
        "disposition": receipt.disposition,
        "action": receipt.action,
        "status": receipt.status,
        "error": (
            {
                "code": receipt.error.code,
                "label": receipt.error.label,
                "detail": receipt.error.detail,
            }
            if receipt.error is not None
            else None
        ),
        "known": receipt.known,
    }


def _inbox(args: argparse.Namespace) -> CommandResult:
    with _client(args) as client:
        found = client.messages(since_uid=args.since_uid, unseen=args.unseen)
    data = [
        {
            "uid": m.uid,
            "message_id": m.message_id,
            "from": m.sender,
            "subject": m.subject,
            "date": m.date.isoformat() if m.date else None,
            "in_reply_to": m.in_reply_to,
            "documents": [
                {
                    "uri": d.entry.uri,
                    "unique_id": d.entry.unique_id,
                    "type_code": d.entry.type_code,
                    "title": d.entry.title,
                    "action": d.entry.action,
                    "size": len(d.content),
                }
                for d in m.documents
            ],
            "attachments": [a.filename for a in m.attachments],
            "receipt": _receipt_data(m.receipt) if m.receipt is not None else None,
            "xdm_error": m.xdm_error or None,
        }
        for m in found
    ]
    lines = [
        f"{m.uid:>5}  {m.message_id}  {m.sender}  "
        + (f"[{m.receipt.kind.value}] " if m.receipt else "")
        + f"{len(m.documents)} document(s)"
        for m in found
    ] or ["no message"]
    return CommandResult(data=data, text="\n".join(lines))


def _receipts(args: argparse.Namespace) -> CommandResult:
    with _client(args) as client:
        if args.message_id:
            receipts = list(client.status(args.message_id).receipts)
        else:
            receipts = client.receipts()
    data = [_receipt_data(r) for r in receipts]
    lines = [
        f"{r.kind.value:<10} {r.original_message_id}  {r.recipient}  "
        + ("ok" if r.ok else f"NOT OK {r.error.code} {r.error.label}" if r.error else "NOT OK")
        + (f" {r.status}" if r.status else "")
        for r in receipts
    ] or ["no receipt"]
    negative = bool(args.message_id) and any(not r.ok for r in receipts)
    return CommandResult(data=data, text="\n".join(lines), exit_code=1 if negative else 0)


def _lookup(args: argparse.Namespace) -> CommandResult:
    from ..mssante import AnnuaireClient, MailboxKind
    from ..mssante.directory import MailboxQuery

    # Checked before the settings are read: a bad combination is the user's to fix first.
    query = MailboxQuery(
        name=args.name or "",
        first_name=args.first_name or "",
        rpps=args.rpps or "",
        adeli=args.adeli or "",
        finess=args.finess or "",
        organization=args.organization or "",
        address=args.address or "",
        exact=args.exact,
        kinds=frozenset(MailboxKind(k) for k in args.kinds or MailboxKind),
    )
    with AnnuaireClient.from_settings(load_settings(args)) as annuaire:
        found = annuaire.lookup(query, max_pages=args.max_pages)
    data = {
        "mailboxes": [
            {
                "address": m.address,
                "type": m.kind.value if m.kind else None,
                "holder": m.holder,
                "name": m.name,
                "family": m.family or None,
                "given": m.given or None,
                "rpps": m.rpps or None,
                "adeli": m.adeli or None,
                "organization": m.organization or None,
                "finess": m.finess or None,
                "description": m.description or None,
                "service": m.service or None,
                "digitization": m.digitization,
            }
            for m in found
        ],
        "withheld": found.withheld,
        "truncated": found.truncated,
    }
    lines = [
        f"{m.kind.value if m.kind else '?':<4} {m.address}  {m.name}"
        + (f" (RPPS {m.rpps})" if m.rpps else f" (ADELI {m.adeli})" if m.adeli else "")
        + (f", {m.organization}" if m.organization and m.organization != m.name else "")
        + (f" [{m.description}]" if m.description else "")
        for m in found
    ] or ["no MSSanté mailbox found"]
    if found.withheld:
        lines.append(f"({found.withheld} red-listed mailbox(es) not shown)")
    warnings = []
    if found.truncated:
        warnings.append("more results than the pages read: narrow the search or raise --max-pages")
    return CommandResult(
        data=data, text="\n".join(lines), exit_code=0 if len(found) else 1, warnings=warnings
    )
