"""Pure building and reading of MSSanté messages (RFC 5322 + IHE XDM).

No sockets here: :func:`compose` turns a :class:`~segurlink.mssante.Draft` into the bytes
to send (deterministic given the clock and the uuid factory); :func:`parse_message` and
:func:`parse_receipts` read what comes back (messages, MDNs, DSNs, KO mails).

>>> subject_for("CR d'imagerie", "CORSE", "FIGATELLIX", "19881012")
"XDM/1.0/DDM+CR d'imagerie CORSE FIGATELLIX 12/10/1988"
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import email.utils
import re
import uuid
from collections.abc import Callable, Sequence
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from typing import Any

from .._xml import parse_xml
from ..cda.models import CdaHeader, Code
from ..errors import IdentityStatusError, InputError, MalformedResponse, ValidationError
from .models import (
    PATIENT_DOMAIN,
    ApplicationError,
    Draft,
    OutgoingMessage,
    Receipt,
    ReceiptKind,
    ReceivedMessage,
)
from .models import Attachment as MailAttachment
from .xdm import ACTION_CODES, ACTION_SLOT, XDM_FILENAME, build_xdm, document_file_name, parse_xdm

__all__ = [
    "SUBJECT_PREFIX",
    "compose",
    "normalize_message_id",
    "parse_message",
    "parse_receipts",
    "patient_address",
    "readable_pdf_name",
    "subject_for",
]

#: Subject prefix of messages carrying CI-SIS documents (hidden by user interfaces).
SUBJECT_PREFIX = "XDM/1.0/DDM+"
_HL7 = "urn:hl7-org:v3"
_ADDRESS = re.compile(r"[^@\s<>(),;:\"\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
_UNSAFE_FILE_CHARS = re.compile(r'[\\/:*?"<>|\x00-\x1f]')
_MESSAGE_ID = re.compile(r"<[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+>")
_ACTION_TEXT = {
    "replace": (
        "Ce message annule et remplace une version précédente du document joint "
        "(le document CDA porte la référence du document remplacé)."
    ),
    "delete": "Ce message signale la suppression du document joint : ne plus l'utiliser.",
}


def normalize_message_id(value: str) -> str:
    """``<id@host>`` with the spaces some senders leave inside the brackets removed."""
    text = "".join(value.split())
    if not text:
        return ""
    if not text.startswith("<"):
        text = "<" + text
    if not text.endswith(">"):
        text += ">"
    return text


def patient_address(identity: Any) -> str:
    """The patient's MSSanté address, from a qualified identity only.

    ``identity`` is an :class:`~segurlink.identity.IdentityRecord`; any status other than
    ``QUAL`` raises :class:`~segurlink.errors.IdentityStatusError` (RNIV rules).
    """
    from ..identity import IdentityRecord

    if not isinstance(identity, IdentityRecord):
        raise IdentityStatusError("a patient address needs the patient's IdentityRecord")
    return identity.shareable_ins().mssante_address


def _birth_date_text(value: str | None) -> str:
    digits = (value or "")[:8]
    if len(digits) == 8:
        return f"{digits[6:8]}/{digits[4:6]}/{digits[:4]}"
    if len(digits) == 6:
        return f"{digits[4:6]}/{digits[:4]}"
    return digits


def subject_for(title: str, birth_name: str, first_name: str, birth_date: str | None) -> str:
    """``XDM/1.0/DDM+<title> <BIRTH NAME> <first name> <birth date (DD/MM/YYYY)>``."""
    parts = [
        title.strip(),
        birth_name.strip().upper(),
        first_name.strip(),
        _birth_date_text(birth_date),
    ]
    return SUBJECT_PREFIX + " ".join(p for p in parts if p)


def readable_pdf_name(header: CdaHeader, index: int | None = None) -> str:
    """``<date of act>_<document type>_<NAME>_<first name>[_<n>].pdf``."""
    when = header.service_start or header.effective_time
    date = when.strftime("%Y%m%d") if when is not None else ""
    kind = (header.type_code.display_name if header.type_code else "") or header.title
    patient = header.patient
    first = patient.first_name or (patient.first_names[0] if patient.first_names else "")
    parts = [date, kind, (patient.birth_name or "").upper(), first]
    if index is not None:
        parts.append(str(index))
    name = "_".join(p.strip() for p in parts if p and p.strip())
    return _UNSAFE_FILE_CHARS.sub("_", name) + ".pdf"


def _check_address(address: str, what: str) -> str:
    address = address.strip()
    if not _ADDRESS.fullmatch(address):
        raise InputError(f"{what} is not an e-mail address: {address[:80]!r}")
    return address


def _is_patient(address: str) -> bool:
    return address.lower().endswith("@" + PATIENT_DOMAIN)


def _level1_pdf(document: bytes) -> bytes | None:
    root = parse_xml(document, what="CDA document")
    text = root.find(f"{{{_HL7}}}component/{{{_HL7}}}nonXMLBody/{{{_HL7}}}text")
    if text is None or text.get("mediaType") != "application/pdf":
        return None
    try:
        return base64.b64decode("".join((text.text or "").split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputError("the CDA's PDF body is not valid base64") from exc


def _headers_of(documents: Sequence[bytes]) -> list[CdaHeader]:
    from ..cda.validate import Validator, parse_header

    headers: list[CdaHeader] = []
    validator = Validator()
    for n, document in enumerate(documents, 1):
        report = validator.validate(document, layers=("rules",))
        if not report.ok:
            raise ValidationError(
                f"document {n} breaks CDA rules: "
                + "; ".join(i.message for i in report.errors[:5]),
                report.errors,
            )
        headers.append(parse_header(document))
    return headers


def _one_patient(headers: Sequence[CdaHeader]) -> None:
    def key(header: CdaHeader) -> tuple[str, ...]:
        ins = header.patient.ins
        if ins is not None:
            return ("INS", ins.value, ins.oid)
        return ("ID", *(i.xds_unique_id for i in header.patient.ids[:1]))

    if len({key(h) for h in headers}) > 1:
        raise InputError("one patient per message: the documents are about different patients")


def _qualified(header: CdaHeader) -> bool:
    """X-MSS-INS rule: matricule + OID + traits."""
    p = header.patient
    return (
        p.ins is not None
        and bool(p.birth_name)
        and bool(p.first_name or p.first_names)
        and bool(p.sex)
        and bool(p.birth_date)
    )


def _entries(
    headers: Sequence[CdaHeader], documents: Sequence[bytes], action: str | None
) -> list[Any]:
    from ..dmp.metadata import document_entry_from_header

    slots = ((ACTION_SLOT, (ACTION_CODES[action],)),) if action else ()
    entries = []
    for n, (header, content) in enumerate(zip(headers, documents, strict=True), 1):
        entry = document_entry_from_header(header, content, entry_id=f"Document{n:02d}")
        entries.append(dataclasses.replace(entry, uri=document_file_name(n), extra_slots=slots))
    return entries


def compose(
    draft: Draft,
    *,
    now: dt.datetime,
    uuid_factory: Callable[[], uuid.UUID] = uuid.uuid4,
    product_reference: str,
    application: str = "segurlink",
    version: str = "",
    vendor: str = "",
    source_oid: str = "1.2.250.1.213.1.4.2",
    content_type: Code | None = None,
) -> OutgoingMessage:
    """The RFC 5322 message of ``draft``: headers, text, readable PDF, ``IHE_XDM.ZIP``.

    Deterministic: ``now`` dates the message and the XDM, ``uuid_factory`` makes the
    Message-ID, the submission set uniqueId and the MIME boundaries.
    ``product_reference`` is the software's reference sent in ``X-MSS-NIL``;
    ``application``/``version``/``vendor`` go in README.TXT; ``source_oid`` and
    ``content_type`` (JDV_J59) in METADATA.XML.

    Raises :class:`~segurlink.errors.InputError` (addresses, several patients, a subject
    given for documents, a replacement without RPLC),
    :class:`~segurlink.errors.IdentityStatusError` (a patient address without a
    qualified identity) and :class:`~segurlink.errors.ValidationError` (CDA rules).
    """
    if now.tzinfo is None:
        raise InputError("compose needs an aware datetime (time zone)")
    if not product_reference.strip():
        raise InputError("X-MSS-NIL: the software's product reference is empty")
    sender = _check_address(draft.sender, "the sender")
    to = [_check_address(a, "a recipient") for a in draft.to]
    cc = [_check_address(a, "a recipient") for a in draft.cc]
    headers = _headers_of(draft.documents) if draft.documents else []
    if headers:
        _one_patient(headers)
    own_patient = patient_address(draft.patient) if draft.patient is not None else None
    if draft.patient_from_document:
        first_ins = headers[0].patient.ins if headers else None
        if first_ins is None or not _qualified(headers[0]):
            raise IdentityStatusError(
                "the document carries no qualified INS (matricule, OID and traits): "
                "no patient address"
            )
        own_patient = first_ins.mssante_address
    for address in to + cc:
        if _is_patient(address) and address.lower() != (own_patient or "").lower():
            raise IdentityStatusError(
                "a patient's MSSanté address comes only from a qualified identity: "
                "pass the patient's IdentityRecord (patient=...) instead of the address"
            )
    if own_patient is not None and own_patient.lower() not in {a.lower() for a in to + cc}:
        to.append(own_patient)
    recipients = list(dict.fromkeys(to + cc))
    if not recipients:
        raise InputError("a message needs at least one recipient")
    if draft.action is not None and draft.action not in ACTION_CODES:
        raise InputError(f"action is 'replace' or 'delete', not {draft.action!r}")
    if draft.action is not None and not draft.documents:
        raise InputError("a replacement or a deletion needs the document")

    if headers:
        ins = headers[0].patient.ins
        if own_patient is not None and (ins is None or ins.mssante_address != own_patient):
            raise InputError("the documents are not about the patient the message is sent to")
        if draft.action == "replace":
            for header in headers:
                if header.relation != "RPLC" or header.parent_document is None:
                    raise InputError(
                        "a replacement carries the new CDA version, with its RPLC "
                        "relatedDocument to the replaced one"
                    )
        if draft.subject:
            raise InputError(
                "the subject of a message with CI-SIS documents follows the rule "
                "XDM/1.0/DDM+<title> <BIRTH NAME> <first name> <birth date>: do not set it"
            )

    message_uuid = uuid_factory()
    domain = sender.rsplit("@", 1)[1]
    message_id = f"<{message_uuid}@{domain}>"
    if draft.message_id is not None:
        message_id = normalize_message_id(draft.message_id)
        if not _MESSAGE_ID.fullmatch(message_id):
            raise InputError(f"message_id is not a Message-ID <local@domain>: {message_id!r}")
    reply_to = _check_address(draft.reply_to, "Reply-To") if draft.reply_to else None

    xdm = b""
    pdfs: list[MailAttachment] = []
    if headers:
        from ..dmp.metadata import default_associations, submission_set_for
        from ..dmp.models import DEFAULT_CONTENT_TYPE

        entries = _entries(headers, draft.documents, draft.action)
        submission = submission_set_for(
            entries,
            unique_id=f"2.25.{uuid_factory().int}",
            source_id=source_oid,
            submission_time=now,
            content_type=content_type or DEFAULT_CONTENT_TYPE,
        )
        xdm = build_xdm(
            submission,
            entries,
            draft.documents,
            default_associations(submission, entries),
            created=now,
            sender=sender,
            application=application,
            version=version,
            vendor=vendor,
        )
        readable = draft.readable_pdf
        if readable is not None:
            pdfs.append(MailAttachment(readable_pdf_name(headers[0]), readable, "application/pdf"))
        else:
            several = len(headers) > 1
            for n, (header, document) in enumerate(zip(headers, draft.documents, strict=True), 1):
                body = _level1_pdf(document)
                if body is not None:
                    name = readable_pdf_name(header, n if several else None)
                    pdfs.append(MailAttachment(name, body, "application/pdf"))
        first = headers[0]
        patient = first.patient
        subject = subject_for(
            first.title,
            patient.birth_name or "",
            patient.first_name or (patient.first_names[0] if patient.first_names else ""),
            patient.birth_date,
        )
    else:
        subject = draft.subject.strip()
        if not subject:
            # Operators refuse a message without a Subject (550 5.6.0) after the whole
            # upload: say it before connecting.
            raise InputError("a message without CI-SIS documents needs a subject")

    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = sender
    if to:
        msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = subject
    msg["Date"] = email.utils.format_datetime(now)
    msg["Message-ID"] = message_id
    if reply_to:
        msg["Reply-To"] = reply_to
    if draft.in_reply_to:
        msg["In-Reply-To"] = normalize_message_id(draft.in_reply_to)
    references = [normalize_message_id(r) for r in draft.references if r.strip()]
    if draft.in_reply_to and normalize_message_id(draft.in_reply_to) not in references:
        references.append(normalize_message_id(draft.in_reply_to))
    if references:
        msg["References"] = " ".join(references)
    if draft.receipt:
        msg["Disposition-Notification-To"] = sender
    if headers:
        msg["X-MSS-CODECDA"] = ",".join(h.type_code.code for h in headers if h.type_code)
        msg["X-MSS-INS"] = "O" if all(_qualified(h) for h in headers) else "N"
    msg["X-MSS-NIL"] = product_reference.strip()
    if not draft.patient_may_reply and any(_is_patient(a) for a in recipients):
        msg["X-MSS-MES"] = "FIN"

    text = draft.text
    if draft.action is not None:
        text = (text.rstrip() + "\n\n" if text.strip() else "") + _ACTION_TEXT[draft.action]
    msg.set_content(text or "\n", subtype="plain", charset="utf-8", cte="quoted-printable")
    attachments = [*pdfs, *draft.attachments]
    if xdm:
        attachments.append(MailAttachment(XDM_FILENAME, xdm, "application/zip"))
    for attachment in attachments:
        maintype, _, subtype = attachment.media_type.partition("/")
        msg.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    if msg.is_multipart():
        msg.set_boundary(f"=_segurlink_{uuid_factory().hex}")
    data = msg.as_bytes(policy=policy.SMTP)
    return OutgoingMessage(
        message_id=message_id,
        sender=sender,
        recipients=tuple(recipients),
        data=data,
        document_ids=tuple(h.id.xds_unique_id for h in headers),
        xdm=xdm,
    )


# -- reading ---------------------------------------------------------------------------------

_FIELD = re.compile(
    r"^(Original-Message-ID|Disposition|Final-Recipient|Original-Recipient|Reporting-UA"
    r"|Action|Status|Diagnostic-Code)[ \t]*:[ \t]*(.*?)[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_KO_SUBJECT = re.compile(r"^\s*\[(?:KO[^\]]*|Erreur[^\]]*)\]\s*\[([0-9]{3})\]", re.IGNORECASE)
_ERROR_IN_DISPOSITION = re.compile(r"error\s*:\s*(.+)$", re.IGNORECASE)
_ADDRESS_TYPE = re.compile(r"[A-Za-z0-9-]+")
_LABEL_IN_TEXT = re.compile(r"Erreur d[ée]tect[ée]e\s*:\s*(.+)", re.IGNORECASE)


def _parse(data: bytes) -> Message:
    try:
        return BytesParser(policy=policy.default).parsebytes(data)
    except (ValueError, TypeError, LookupError, IndexError) as exc:
        raise MalformedResponse(f"not an RFC 5322 message: {exc}") from exc


def _text_of(part: Message) -> str:
    try:
        payload = part.get_payload(decode=True)
    except (ValueError, LookupError, AssertionError):
        payload = None
    if isinstance(payload, bytes):
        charset = part.get_content_charset() or "utf-8"
        try:
            return payload.decode(charset, "replace")
        except LookupError:
            return payload.decode("utf-8", "replace")
    raw = part.get_payload()
    if isinstance(raw, str):
        return raw
    if isinstance(raw, list):  # message/* parts: the fields are the inner headers (unfolded)
        return "\n\n".join(
            "\n".join(f"{k}: {v}" for k, v in m.items()) for m in raw if isinstance(m, Message)
        )
    return ""


def _header(msg: Message, name: str) -> str:
    try:
        value = msg.get(name)
    except (ValueError, IndexError, AttributeError):  # header the policy cannot parse
        value = None
    return str(value).strip() if value is not None else ""


def _fields(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for match in _FIELD.finditer(text):
        found.setdefault(match.group(1).lower(), match.group(2).strip())
    return found


def _address_of(field: str) -> str:
    """``rfc822; someone@x.mssante.fr`` or ``Name <someone@x.mssante.fr>`` → the address."""
    kind, semicolon, address = field.partition(";")
    # Only an address type (an atom: rfc822, utf-8...) comes before the ';' of a report's
    # recipient field; in ``"Service; urgences" <...>`` the ';' belongs to the name.
    typed = bool(semicolon) and _ADDRESS_TYPE.fullmatch(kind.strip()) is not None
    text = (address if typed else field).strip()
    return email.utils.parseaddr(text)[1] or text.strip("<>").strip()


def _date(msg: Message) -> dt.datetime | None:
    value = _header(msg, "Date")
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None


def _report_parts(msg: Message, subtype: str) -> list[Message]:
    return [p for p in msg.walk() if p.get_content_type() == f"message/{subtype}"]


def _original_id(msg: Message) -> str:
    for part in msg.walk():
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                found = _header(inner, "Message-ID")
                if found:
                    return normalize_message_id(found)
            found_fields = re.search(r"^Message-ID:\s*(\S+)", _text_of(part), re.I | re.M)
            if found_fields:
                return normalize_message_id(found_fields.group(1))
    for name in ("In-Reply-To", "References"):
        value = _header(msg, name)
        if value:
            return normalize_message_id(value.split()[0])
    return ""


def _mdn(msg: Message, raw: str) -> Receipt:
    fields: dict[str, str] = {}
    for part in _report_parts(msg, "disposition-notification"):
        header_text = "\n".join(f"{k}: {v}" for k, v in part.items())
        fields.update({k: v for k, v in _fields(header_text).items() if k not in fields})
        fields.update({k: v for k, v in _fields(_text_of(part)).items() if k not in fields})
    if "disposition" not in fields:
        # Broken reports (like ANS's published example) still carry the fields as lines.
        fields.update({k: v for k, v in _fields(raw).items() if k not in fields})
    disposition = fields.get("disposition", "")
    if not disposition:
        raise MalformedResponse("a disposition notification without a Disposition field")
    error = None
    found = _ERROR_IN_DISPOSITION.search(disposition)
    if found:
        try:
            error = ApplicationError.parse(found.group(1))
        except ValueError:
            error = ApplicationError(906, found.group(1).strip())
    return Receipt(
        kind=ReceiptKind.MDN,
        original_message_id=normalize_message_id(fields.get("original-message-id", ""))
        or _original_id(msg),
        recipient=_address_of(fields.get("final-recipient", fields.get("original-recipient", ""))),
        disposition=disposition,
        error=error,
        message_id=normalize_message_id(_header(msg, "Message-ID")),
        date=_date(msg),
    )


def _dsn(msg: Message) -> tuple[Receipt, ...]:
    original = _original_id(msg)
    out: list[Receipt] = []
    for part in _report_parts(msg, "delivery-status"):
        # email's parser gives each block of fields as a message: _text_of writes them back
        # as lines, a blank line between two blocks.
        for block in re.split(r"\r?\n\r?\n", _text_of(part)):
            fields = _fields(block)
            if "final-recipient" not in fields and "action" not in fields:
                continue
            out.append(
                Receipt(
                    kind=ReceiptKind.DSN,
                    original_message_id=original,
                    recipient=_address_of(
                        fields.get("final-recipient", fields.get("original-recipient", ""))
                    ),
                    action=fields.get("action", "").lower(),
                    status=fields.get("status", ""),
                    diagnostic=fields.get("diagnostic-code", ""),
                    message_id=normalize_message_id(_header(msg, "Message-ID")),
                    date=_date(msg),
                )
            )
    if not out:
        raise MalformedResponse("a delivery status notification without recipient fields")
    return tuple(out)


def _error_mail(msg: Message, code: int) -> Receipt:
    label = ""
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            found = _LABEL_IN_TEXT.search(_text_of(part))
            if found:
                label = found.group(1).strip()
                break
    return Receipt(
        kind=ReceiptKind.ERROR_MAIL,
        original_message_id=_original_id(msg),
        recipient=_address_of(_header(msg, "From")),
        error=ApplicationError.parse(f"{code}^{label}"),
        message_id=normalize_message_id(_header(msg, "Message-ID")),
        date=_date(msg),
    )


def parse_receipts(
    data: bytes, *, known: Callable[[str], bool] | None = None
) -> tuple[Receipt, ...]:
    """The acknowledgements a message carries: MDN (RFC 8098), DSN (RFC 3464) or the KO
    mail sent when no MDN was requested. Empty for an ordinary message.

    ``known(message_id)`` tells whether the original is one of ours (``Receipt.known``).
    """
    msg = _parse(data)
    content_type = msg.get_content_type()
    report_type = (msg.get_param("report-type") or "") if content_type == "multipart/report" else ""
    report_type = str(report_type).lower()
    raw = data.decode("utf-8", "replace")
    receipts: tuple[Receipt, ...]
    if report_type == "disposition-notification" or _report_parts(msg, "disposition-notification"):
        receipts = (_mdn(msg, raw),)
    elif report_type == "delivery-status" or _report_parts(msg, "delivery-status"):
        receipts = _dsn(msg)
    else:
        ko = _KO_SUBJECT.match(_header(msg, "Subject"))
        if ko is None:
            return ()
        receipts = (_error_mail(msg, int(ko.group(1))),)
    if known is not None:
        receipts = tuple(
            dataclasses.replace(
                r, known=bool(r.original_message_id) and known(r.original_message_id)
            )
            for r in receipts
        )
    return receipts


def _addresses(msg: Message, *names: str) -> tuple[str, ...]:
    values: list[str] = []
    for name in names:
        values.extend(str(v) for v in msg.get_all(name, []) or [])
    return tuple(a for _, a in email.utils.getaddresses(values) if a)


def parse_message(
    data: bytes,
    *,
    uid: int = 0,
    known: Callable[[str], bool] | None = None,
    xdm_limits: Any = None,
    skip_xdm: str = "",
) -> ReceivedMessage:
    """A received message: sender, threading, text, unpacked XDM, other attachments.

    The ``IHE_XDM.ZIP`` is read with every safety check of
    :func:`segurlink.mssante.xdm.parse_xdm` (a refused archive raises
    :class:`~segurlink.errors.XdmError`). ``skip_xdm`` (the reason) leaves the archive
    packed, as a plain attachment, and records the reason in ``xdm_error``.
    """
    msg = _parse(data)
    text = ""
    attachments: list[MailAttachment] = []
    package = None
    for part in msg.walk():
        if part.is_multipart() or part.get_content_maintype() == "message":
            continue
        filename = part.get_filename()
        disposition = part.get_content_disposition()
        if filename is None and disposition != "attachment":
            if part.get_content_type() == "text/plain" and not text:
                text = _text_of(part)
            continue
        content = part.get_payload(decode=True)
        if not isinstance(content, bytes):
            continue
        name = filename or "attachment"
        if name.upper() == XDM_FILENAME and package is None and not skip_xdm:
            package = parse_xdm(content, limits=xdm_limits)
        else:
            attachments.append(MailAttachment(name, content, part.get_content_type()))
    references = tuple(
        normalize_message_id(r) for r in _header(msg, "References").split() if r.strip()
    )
    receipts = parse_receipts(data, known=known)
    sender = _addresses(msg, "From")
    return ReceivedMessage(
        uid=uid,
        message_id=normalize_message_id(_header(msg, "Message-ID")),
        sender=sender[0] if sender else "",
        recipients=_addresses(msg, "To", "Cc"),
        subject=_header(msg, "Subject"),
        date=_date(msg),
        text=text,
        in_reply_to=normalize_message_id(_header(msg, "In-Reply-To")),
        references=references,
        xdm=package,
        attachments=tuple(attachments),
        headers={
            name: _header(msg, name)
            for name in ("X-MSS-CODECDA", "X-MSS-INS", "X-MSS-NIL", "X-MSS-MES")
            if _header(msg, name)
        },
        receipt=receipts[0] if receipts else None,
        xdm_error=skip_xdm,
        receipts=receipts,
    )


# The former names (parsers are named ``parse_*``).
read_receipts = parse_receipts
read_message = parse_message
