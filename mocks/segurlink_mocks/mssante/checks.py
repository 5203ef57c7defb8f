"""What the MSSanté mock checks in a submitted message, and the reports it writes back.

An independent witness: this module reads messages with the standard library's ``email``
package, ``zipfile`` and its own locked-down lxml parser; it shares no code with
``segurlink.mssante``. Its findings become SMTP refusals (``550 5.6.0``), integration
errors (MSSanté codes 900-906 in MDNs or KO mails) and DSNs, shaped on ANS's published
examples (``mssante-samples/``).
"""

from __future__ import annotations

import base64
import datetime as dt
import email.header
import email.utils
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser

from lxml import etree

__all__ = [
    "ERROR_LABELS",
    "ContentProblem",
    "Integration",
    "SubmittedMessage",
    "dsn",
    "error_mail",
    "mdn",
    "read_submission",
]

RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
LCM = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
HL7 = "urn:hl7-org:v3"
_DE_PATIENT = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
_DE_TYPE = "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983"
_INS_OIDS = (
    "1.2.250.1.213.1.4.8",
    "1.2.250.1.213.1.4.9",
    "1.2.250.1.213.1.4.10",
    "1.2.250.1.213.1.4.11",
)
_PATIENT_ID = re.compile(r"^([0-9AB]{15})\^\^\^&([0-9.]+)&ISO\^NH$")

#: Labels of the MSSanté application error codes the integrating mailbox answers with.
ERROR_LABELS = {
    900: "Version incorrecte du document à remplacer ou supprimer",
    901: "Auteur non autorisé",
    902: "Identifiant de patient inconnu",
    903: "INS absent",
    904: "INS incohérent entre les métadonnées et le document",
    905: "INS incomplet",
    906: "Erreur d'intégration",
}

_MANDATORY = ("From", "Date", "Message-ID", "Subject", "X-MSS-NIL")
_MAX_ENTRIES = 500
_MAX_EXPANDED = 200 * 1024 * 1024


class ContentProblem(Exception):
    """The message breaks a rule of the trust space: refused at DATA time."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_pis=True
    )


def _xml(data: bytes, what: str) -> etree._Element:
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise ContentProblem(f"550 5.6.0 {what} declares a DOCTYPE: refused")
    try:
        return etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise ContentProblem(f"550 5.6.0 {what} is not well-formed XML") from exc


@dataclass(slots=True)
class XdmDocumentFacts:
    """One DocumentEntry of the XDM with its CDA, as the mock read them."""

    patient_id: str
    type_code: str
    action: str
    cda: bytes


@dataclass(slots=True)
class SubmittedMessage:
    """A submitted message as the mock understood it."""

    message: Message
    message_id: str
    subject: str
    disposition_to: str
    documents: list[XdmDocumentFacts] = field(default_factory=list)
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)


def _slot(element: etree._Element, name: str) -> str:
    for slot in element.findall(f"{{{RIM}}}Slot"):
        if slot.get("name") == name:
            values = [v.text or "" for v in slot.iter(f"{{{RIM}}}Value")]
            return values[0].strip() if values else ""
    return ""


def _xdm(data: bytes) -> list[XdmDocumentFacts]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ContentProblem("550 5.6.0 IHE_XDM.ZIP is not a zip archive") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > _MAX_ENTRIES or sum(i.file_size for i in infos) > _MAX_EXPANDED:
            raise ContentProblem("550 5.6.0 IHE_XDM.ZIP is too large once expanded")
        names = {}
        for info in infos:
            parts = info.filename.split("/")
            if info.filename.startswith(("/", "\\")) or ".." in parts or "\\" in info.filename:
                raise ContentProblem("550 5.6.0 IHE_XDM.ZIP holds an unsafe file name")
            names[info.filename.upper()] = info
        for required in ("README.TXT", "INDEX.HTM"):
            if required not in names:
                raise ContentProblem(f"550 5.6.0 IHE_XDM.ZIP has no {required}")
        metadata = [n for n in names if re.fullmatch(r"IHE_XDM/[^/]+/METADATA\.XML", n)]
        if len(metadata) != 1:
            raise ContentProblem("550 5.6.0 IHE_XDM.ZIP needs one IHE_XDM/<subset>/METADATA.XML")
        subset = metadata[0].rsplit("/", 1)[0]
        root = _xml(archive.read(names[metadata[0]]), "METADATA.XML")
        if root.tag != f"{{{LCM}}}SubmitObjectsRequest":
            raise ContentProblem("550 5.6.0 METADATA.XML is not a SubmitObjectsRequest")
        if root.find(f".//{{{RIM}}}RegistryPackage") is None:
            raise ContentProblem("550 5.6.0 METADATA.XML has no submission set")
        found: list[XdmDocumentFacts] = []
        for eo in root.iter(f"{{{RIM}}}ExtrinsicObject"):
            uri, size, digest = _slot(eo, "URI"), _slot(eo, "size"), _slot(eo, "hash")
            if not (uri and size and digest):
                raise ContentProblem("550 5.6.0 a DocumentEntry lacks its URI, size or hash slot")
            key = f"{subset}/{uri}".upper()
            if key not in names:
                raise ContentProblem(f"550 5.6.0 METADATA.XML names a missing file {uri}")
            content = archive.read(names[key])
            if str(len(content)) != size or hashlib.sha1(content).hexdigest() != digest.lower():  # noqa: S324
                raise ContentProblem(f"550 5.6.0 {uri} differs from its size/hash in METADATA.XML")
            patient = ""
            for ident in eo.findall(f"{{{RIM}}}ExternalIdentifier"):
                if ident.get("identificationScheme") == _DE_PATIENT:
                    patient = ident.get("value", "")
            type_code = ""
            for cla in eo.findall(f"{{{RIM}}}Classification"):
                if cla.get("classificationScheme") == _DE_TYPE:
                    type_code = cla.get("nodeRepresentation", "")
            found.append(XdmDocumentFacts(patient, type_code, _slot(eo, "action"), content))
        if not found:
            raise ContentProblem("550 5.6.0 METADATA.XML describes no document")
        return found


def read_submission(data: bytes, envelope_from: str) -> SubmittedMessage:
    """Check a submitted message; :class:`ContentProblem` carries the SMTP refusal."""
    message = BytesParser(policy=policy.default).parsebytes(data)
    for name in _MANDATORY:
        if not str(message.get(name, "") or "").strip():
            raise ContentProblem(f"550 5.6.0 Message refused: missing header {name}")
    senders = [a for _, a in email.utils.getaddresses([str(message.get("From", ""))])]
    if [s.lower() for s in senders] != [envelope_from.lower()]:
        raise ContentProblem("550 5.7.1 Message refused: From is not the authenticated mailbox")
    subject = str(message.get("Subject", ""))
    submitted = SubmittedMessage(
        message=message,
        message_id=str(message.get("Message-ID", "")).strip(),
        subject=subject,
        disposition_to=str(message.get("Disposition-Notification-To", "") or "").strip(),
    )
    for part in message.walk():
        if part.is_multipart():
            continue
        filename = part.get_filename()
        if not filename:
            continue
        content = part.get_payload(decode=True)
        if not isinstance(content, bytes):
            continue
        submitted.attachments.append((filename, part.get_content_type(), content))
        if filename.upper() == "IHE_XDM.ZIP":
            submitted.documents.extend(_xdm(content))
    if submitted.documents:
        if not subject.startswith("XDM/1.0/DDM+"):
            raise ContentProblem(
                "550 5.6.0 Message refused: the subject must start with "
                "XDM/1.0/DDM+ when CI-SIS documents are attached"
            )
        codes = str(message.get("X-MSS-CODECDA", "") or "").replace(" ", "")
        if not codes:
            raise ContentProblem("550 5.6.0 Message refused: missing header X-MSS-CODECDA")
        if sorted(codes.split(",")) != sorted(d.type_code for d in submitted.documents):
            raise ContentProblem("550 5.6.0 Message refused: X-MSS-CODECDA differs from the XDM")
        ins_flag = str(message.get("X-MSS-INS", "") or "").strip()
        if ins_flag not in ("O", "N"):
            raise ContentProblem("550 5.6.0 Message refused: X-MSS-INS must be O or N")
        if ins_flag == "O" and not all(
            _PATIENT_ID.match(d.patient_id) for d in submitted.documents
        ):
            raise ContentProblem("550 5.6.0 Message refused: X-MSS-INS O without an INS patientId")
    return submitted


# -- integration by a receiving system ---------------------------------------------------------


@dataclass(slots=True)
class Integration:
    """What an integrating mailbox (a receiving DPI) makes of the documents."""

    known_patients: frozenset[str]
    blocked_authors: frozenset[str] = frozenset()
    integrated_sets: set[str] = field(default_factory=set)

    def check(self, submitted: SubmittedMessage, sender: str) -> int | None:
        """The MSSanté error code (900-906), or None when every document integrates."""
        if sender.lower() in self.blocked_authors:
            return 901
        for document in submitted.documents:
            try:
                code = self._document(document)
            except etree.XMLSyntaxError:
                return 906
            except ContentProblem:
                return 906
            if code is not None:
                return code
        return None

    def _document(self, document: XdmDocumentFacts) -> int | None:
        root = _xml(document.cda, "CDA")
        ns = {"h": HL7}
        match = _PATIENT_ID.match(document.patient_id)
        if match is None:
            return 903
        ins, oid = match.groups()
        if oid not in _INS_OIDS:
            return 903
        cda_ins = [
            (i.get("extension", ""), i.get("root", ""))
            for i in root.findall("h:recordTarget/h:patientRole/h:id", ns)
            if i.get("root") in _INS_OIDS
        ]
        if not cda_ins:
            return 903
        if (ins, oid) not in cda_ins:
            return 904
        patient = root.find("h:recordTarget/h:patientRole/h:patient", ns)
        traits = (
            "h:name/h:family[@qualifier='BR']",
            "h:name/h:given",
            "h:administrativeGenderCode",
            "h:birthTime",
        )
        if patient is None or any(patient.find(t, ns) is None for t in traits):
            return 905
        if ins not in self.known_patients:
            return 902
        set_id = root.find("h:setId", ns)
        key = (
            f"{set_id.get('root', '')}^{set_id.get('extension', '')}" if set_id is not None else ""
        )
        if document.action in ("C", "D") and key not in self.integrated_sets:
            return 900
        if document.action == "D":
            self.integrated_sets.discard(key)
        elif key:
            self.integrated_sets.add(key)
        return None


# -- reports -----------------------------------------------------------------------------------


def _new_id(domain: str, seed: str) -> str:
    return f"<{hashlib.sha256(seed.encode()).hexdigest()[:24]}@{domain}>"


def _encoded_header(value: str) -> str:
    return (
        str(email.header.Header(value, "utf-8", maxlinelen=998)) if not value.isascii() else value
    )


def _head(
    sender: str,
    to: str,
    subject: str,
    when: dt.datetime,
    message_id: str,
    report_type: str,
    boundary: str,
) -> list[str]:
    return [
        f"From: {sender}",
        f"To: {to}",
        f"Subject: {_encoded_header(subject)}",
        f"Date: {email.utils.format_datetime(when)}",
        f"Message-ID: {message_id}",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type={report_type}; boundary="{boundary}"',
        "",
    ]


def _text_part(boundary: str, text: str) -> list[str]:
    return [
        f"--{boundary}",
        'Content-Type: text/plain; charset="utf-8"',
        "Content-Transfer-Encoding: 8bit",
        "",
        text,
    ]


def _attachment_parts(boundary: str, attachments: list[tuple[str, str, bytes]]) -> list[str]:
    lines: list[str] = []
    for filename, content_type, content in attachments:
        encoded = base64.encodebytes(content).decode("ascii").replace("\n", "\r\n")
        lines += [
            f"--{boundary}",
            f'Content-Type: {content_type}; name="{filename}"',
            "Content-Transfer-Encoding: base64",
            f'Content-Disposition: attachment; filename="{filename}"',
            "",
            encoded,
        ]
    return lines


def _original_headers(raw: bytes) -> str:
    return raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode("utf-8", "replace")


def _crlf(lines: list[str]) -> bytes:
    return "\r\n".join(line.replace("\r\n", "\n").replace("\n", "\r\n") for line in lines).encode(
        "utf-8"
    )


def mdn(
    *,
    reporter: str,
    to: str,
    original: SubmittedMessage,
    raw: bytes,
    when: dt.datetime,
    error: int | None = None,
) -> bytes:
    """An RFC 8098 MDN: ``processed`` or ``processed/Error: <code>^<label>``.

    An error MDN is shaped on ANS's example: subject ``[KO Intégration système !][<code>]
    <original subject>``, the original message as part 3, its attachments again.
    """
    if error is None:
        subject = f"Accusé de traitement : {original.subject}"
        text = "Le message a été traité par le système destinataire.\n"
        disposition = "automatic-action/MDN-sent-automatically; processed"
    else:
        label = ERROR_LABELS[error]
        subject = f"[KO Intégration système !][{error}] {original.subject}"
        text = (
            "Le document n'a pas pu être intégré.\n"
            f"Le système a retourné l'erreur {error}^{label}^messageErrorCondition"
            "| E^Error^errorSeverity\n"
        )
        disposition = (
            "automatic-action/MDN-sent-automatically; processed/Error: "
            f"{error}^{label}^messageErrorCondition| E^Error^errorSeverity"
        )
    seed = f"mdn{original.message_id}{reporter}{error}"
    boundary = "=_mdn_" + hashlib.sha256(seed.encode()).hexdigest()[:16]
    lines = _head(
        reporter,
        to,
        subject,
        when,
        _new_id(reporter.rsplit("@", 1)[-1], seed),
        "disposition-notification",
        boundary,
    )
    lines += _text_part(boundary, text)
    lines += [
        f"--{boundary}",
        "Content-Type: message/disposition-notification",
        "",
        "Reporting-UA: segurlink-mock; MSSante",
        f"Original-Recipient: rfc822;{reporter}",
        f"Final-Recipient: rfc822;{reporter}",
        f"Original-Message-ID: {original.message_id}",
        f"Disposition: {disposition}",
        "",
    ]
    if error is None:
        lines += [
            f"--{boundary}",
            "Content-Type: text/rfc822-headers",
            "",
            _original_headers(raw),
            "",
        ]
    else:
        lines += [
            f"--{boundary}",
            "Content-Type: message/rfc822",
            "",
            raw.decode("utf-8", "replace"),
            "",
        ]
        lines += _attachment_parts(boundary, original.attachments)
    lines += [f"--{boundary}--", ""]
    return _crlf(lines)


def error_mail(
    *, reporter: str, to: str, original: SubmittedMessage, raw: bytes, when: dt.datetime, error: int
) -> bytes:
    """The KO mail sent when no MDN was requested (ANS "standard error e-mail")."""
    label = ERROR_LABELS[error]
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = reporter
    message["To"] = to
    message["Subject"] = f"[KO Intégration système !][{error}] {original.subject}"
    message["Date"] = email.utils.format_datetime(when)
    message["Message-ID"] = _new_id(reporter.rsplit("@", 1)[-1], f"ko{original.message_id}")
    if original.message_id:
        message["In-Reply-To"] = original.message_id
        message["References"] = original.message_id
    message.set_content(
        "Bonjour,\n\nLe document envoyé n'a pas pu être intégré correctement dans le système.\n"
        f"- Erreur détectée : {label}\n- Code d'erreur : {error}\n",
        charset="utf-8",
    )
    original_message = BytesParser(policy=policy.SMTP).parsebytes(raw)
    message.add_attachment(original_message, filename="message_original.eml")
    for filename, content_type, content in original.attachments:
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes(policy=policy.SMTP)


def dsn(
    *,
    reporting_mta: str,
    to: str,
    failed: list[tuple[str, str, str]],
    raw: bytes,
    when: dt.datetime,
    action: str = "failed",
) -> bytes:
    """An RFC 3464 DSN for ``failed`` recipients ``(address, status, diagnostic)``;
    ``action="delivered"`` reports successful deliveries (asked with ``NOTIFY=SUCCESS``)."""
    seed = "dsn" + action + ",".join(a for a, _, _ in failed) + str(len(raw)) + str(when)
    boundary = "=_dsn_" + hashlib.sha256(seed.encode()).hexdigest()[:16]
    success = action == "delivered"
    lines = _head(
        f"MAILER-DAEMON@{reporting_mta}",
        to,
        "Successful Mail Delivery Report" if success else "Undelivered Mail Returned to Sender",
        when,
        _new_id(reporting_mta, seed),
        "delivery-status",
        boundary,
    )
    lines += _text_part(
        boundary,
        (
            "Le message a été remis aux destinataires suivants :\n"
            if success
            else "Le message n'a pas pu être remis aux destinataires suivants :\n"
        )
        + "".join(f"  {address}: {diagnostic}\n" for address, _, diagnostic in failed),
    )
    lines += [
        f"--{boundary}",
        "Content-Type: message/delivery-status",
        "",
        f"Reporting-MTA: dns; {reporting_mta}",
        f"Arrival-Date: {email.utils.format_datetime(when)}",
        "",
    ]
    for address, status, diagnostic in failed:
        lines += [
            f"Final-Recipient: rfc822; {address}",
            f"Action: {action}",
            f"Status: {status}",
            f"Diagnostic-Code: smtp; {diagnostic}",
            "",
        ]
    lines += [
        f"--{boundary}",
        "Content-Type: text/rfc822-headers",
        "",
        _original_headers(raw),
        "",
        f"--{boundary}--",
        "",
    ]
    return _crlf(lines)
