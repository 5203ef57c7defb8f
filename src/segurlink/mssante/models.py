"""Values of the MSSanté client: drafts, sent messages, receipts, received messages, XDM.

Frozen dataclasses with slots. Anything holding health data (documents, subjects, bodies,
patient addresses) has a masked ``repr``.

>>> ApplicationError.parse("902^Identifiant de patient inconnu^messageErrorCondition").label
'Identifiant de patient inconnu'
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Literal, Protocol

from .._audit import mask_identifier
from .._oauth import AccessTokenSource
from ..errors import InputError, RecipientRefusal

__all__ = [
    "APPLICATION_ERRORS",
    "PATIENT_DOMAIN",
    "AccessTokenSource",
    "ApplicationError",
    "Attachment",
    "DeliveryStatus",
    "Draft",
    "MailboxKind",
    "OutgoingMessage",
    "Receipt",
    "ReceiptKind",
    "ReceivedMessage",
    "RecipientRefusal",
    "SendResult",
    "SentMessageStore",
    "XdmDocument",
    "XdmEntry",
    "XdmPackage",
]

#: Domain of the patients' mailboxes (Mon espace santé): ``<INS>@patient.mssante.fr``.
PATIENT_DOMAIN = "patient.mssante.fr"

#: MSSanté application error codes carried by error MDNs (``code^label``).
APPLICATION_ERRORS: dict[int, str] = {
    900: "Version incorrecte pour le remplacement ou la suppression",
    901: "Auteur non autorisé",
    902: "Identifiant de patient inconnu",
    903: "INS absent",
    904: "INS ne correspondant pas",
    905: "INS incomplet",
    906: "Autre erreur",
}


class MailboxKind(enum.StrEnum):
    """TRE_R257 TypeBAL: how the mailbox authenticates (PER/ORG: PSC token; APP: cert)."""

    PER = "PER"
    ORG = "ORG"
    APP = "APP"
    CAB = "CAB"


@dataclass(frozen=True, slots=True, repr=False)
class Attachment:
    """A file attached to a message (besides the IHE_XDM.ZIP): name, bytes, media type."""

    filename: str
    content: bytes
    media_type: str = "application/octet-stream"

    def __repr__(self) -> str:
        return f"Attachment(<{len(self.content)} bytes>, media_type={self.media_type!r})"


@dataclass(frozen=True, slots=True, repr=False)
class Draft:
    """What a user wants to send; :func:`segurlink.mssante.compose` turns it into a message.

    ``documents`` are CDA R2 documents (XML bytes) about ONE patient: they travel in the
    ``IHE_XDM.ZIP``. ``readable_pdf`` is the human-readable rendering (PDF/A-1); when it
    is None and a document is level 1 with a PDF body, that body is used.
    ``patient`` adds the patient's own address (Mon espace santé), which only a qualified
    identity has: pass the :class:`~segurlink.identity.IdentityRecord`; or set
    ``patient_from_document`` to take it from the CDA, which carries a complete INS
    (matricule, OID, traits) only for a qualified identity (the CDA builder's RNIV rule).
    ``patient_may_reply=False`` marks messages to a patient with ``X-MSS-MES: FIN``.
    ``action`` is ``"replace"`` (the CDA carries its RPLC relatedDocument) or ``"delete"``:
    the XDM ``action`` slot says ``C`` or ``D`` and the body explains it.
    ``receipt`` asks for MDNs (``Disposition-Notification-To`` = the sender).
    ``reply_to`` is where answers go (``Reply-To``). ``message_id`` (``<local@domain>``)
    replaces the generated Message-ID: give one derived from an idempotency key, and a
    message sent again after an interrupted exchange carries the same id.
    """

    sender: str
    to: tuple[str, ...] = ()
    documents: tuple[bytes, ...] = ()
    text: str = ""
    cc: tuple[str, ...] = ()
    readable_pdf: bytes | None = None
    attachments: tuple[Attachment, ...] = ()
    patient: object | None = None  # IdentityRecord (typed loosely: no import cycle)
    patient_from_document: bool = False
    patient_may_reply: bool = True
    action: Literal["replace", "delete"] | None = None
    receipt: bool = True
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    subject: str = ""
    reply_to: str | None = None
    message_id: str | None = None

    def __repr__(self) -> str:
        return (
            f"Draft(to=<{len(self.to)}>, documents=<{len(self.documents)}>, "
            f"action={self.action!r}, receipt={self.receipt})"
        )


@dataclass(frozen=True, slots=True, repr=False)
class OutgoingMessage:
    """A composed message, ready to send: its bytes and envelope.

    ``data`` is the RFC 5322 message (CRLF line ends). ``recipients`` are the envelope
    recipients (To + Cc + patient). ``document_ids`` are the CDA uniqueIds in the XDM.
    """

    message_id: str
    sender: str
    recipients: tuple[str, ...]
    data: bytes
    document_ids: tuple[str, ...] = ()
    xdm: bytes = b""

    @property
    def size(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        return (
            f"OutgoingMessage({self.message_id!r}, recipients=<{len(self.recipients)}>, "
            f"size={self.size})"
        )


@dataclass(frozen=True, slots=True)
class SendResult:
    """The operator's answer to one message: accepted and refused recipients."""

    message_id: str
    accepted: tuple[str, ...]
    refused: tuple[RecipientRefusal, ...] = ()
    size: int = 0

    @property
    def complete(self) -> bool:
        """True when every recipient was accepted."""
        return not self.refused


class SentMessageStore(Protocol):
    """Where the Message-IDs of sent messages are kept, to correlate receipts.

    :class:`segurlink.mssante.MemorySentStore` keeps them in memory; a DUI keeps them in
    its database (the send result gives the Message-ID).
    """

    def knows(self, message_id: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class ApplicationError:
    """An MSSanté application error from an error MDN: ``code^label`` and the rest.

    ``code`` is 900-906 (see :data:`APPLICATION_ERRORS`), ``detail`` what followed
    ``code^label`` (e.g. ``messageErrorCondition| E^Error^errorSeverity``).
    """

    code: int
    label: str
    detail: str = ""

    @classmethod
    def parse(cls, text: str) -> ApplicationError:
        """Read ``902^Identifiant de patient inconnu^...`` (the label defaults to the
        catalogue's when absent). Raises :class:`ValueError` when there is no code."""
        head, _, rest = text.strip().partition("^")
        code_text = head.strip()
        if not (code_text.isascii() and code_text.isdigit()):
            raise InputError(f"not an MSSanté application error: {text[:40]!r}")
        label, _, detail = rest.partition("^")
        code = int(code_text)
        return cls(code, label.strip() or APPLICATION_ERRORS.get(code, ""), detail.strip())

    @property
    def known(self) -> bool:
        """True for the codes 900-906 of the MSSanté specification."""
        return self.code in APPLICATION_ERRORS


class ReceiptKind(enum.StrEnum):
    """What kind of acknowledgement a receipt is."""

    MDN = "mdn"  # RFC 8098 message disposition notification
    DSN = "dsn"  # RFC 3464 delivery status notification
    ERROR_MAIL = "error-mail"  # KO mail sent when no MDN was requested


@dataclass(frozen=True, slots=True)
class Receipt:
    """An acknowledgement of a sent message, correlated by ``original_message_id``.

    For an MDN, ``disposition`` is the RFC 8098 disposition
    (``automatic-action/MDN-sent-automatically; processed``) and ``error`` the MSSanté
    application error when the receiver could not integrate the document. For a DSN,
    ``action`` is ``failed``/``delayed``/``delivered``... and ``status`` the RFC 3463 code.
    ``known`` says whether the original is one of ours (see :class:`SentMessageStore`).
    """

    kind: ReceiptKind
    original_message_id: str
    recipient: str = ""
    disposition: str = ""
    action: str = ""
    status: str = ""
    diagnostic: str = ""
    error: ApplicationError | None = None
    message_id: str = ""
    date: dt.datetime | None = None
    known: bool = True
    uid: int | None = None

    @property
    def ok(self) -> bool:
        """True for a positive receipt (processed / displayed / delivered, no error)."""
        if self.error is not None or self.kind is ReceiptKind.ERROR_MAIL:
            return False
        if self.kind is ReceiptKind.DSN:
            return self.action in ("delivered", "relayed", "expanded")
        disposition = self.disposition.rsplit(";", 1)[-1].strip().lower()
        return disposition.startswith(("processed", "displayed", "dispatched")) and (
            "error" not in disposition
        )


@dataclass(frozen=True, slots=True)
class DeliveryStatus:
    """What the receipts say about one sent message, per recipient."""

    message_id: str
    receipts: tuple[Receipt, ...]

    @property
    def by_recipient(self) -> dict[str, Receipt]:
        """The latest receipt of each recipient."""
        out: dict[str, Receipt] = {}
        for receipt in self.receipts:
            out[receipt.recipient.lower()] = receipt
        return out

    @property
    def errors(self) -> tuple[Receipt, ...]:
        return tuple(r for r in self.receipts if not r.ok)


@dataclass(frozen=True, slots=True, repr=False)
class XdmEntry:
    """The metadata of one DocumentEntry of an XDM's METADATA.XML."""

    entry_id: str
    unique_id: str
    patient_id: str
    uri: str
    mime_type: str = ""
    title: str = ""
    type_code: str = ""
    class_code: str = ""
    format_code: str = ""
    creation_time: str = ""
    hash: str = ""
    size: int | None = None
    action: str = ""

    def __repr__(self) -> str:
        return f"XdmEntry({self.entry_id!r}, uri={self.uri!r}, size={self.size})"


@dataclass(frozen=True, slots=True, repr=False)
class XdmDocument:
    """A document read from an XDM: its bytes and its METADATA.XML entry."""

    entry: XdmEntry
    content: bytes

    def __repr__(self) -> str:
        return f"XdmDocument({self.entry!r}, <{len(self.content)} bytes>)"


@dataclass(frozen=True, slots=True, repr=False)
class XdmPackage:
    """An IHE XDM archive read back: submission set facts, documents, README."""

    subset: str
    submission_unique_id: str
    source_id: str
    patient_id: str
    submission_time: str
    documents: tuple[XdmDocument, ...]
    readme: str = ""

    @property
    def ins(self) -> str:
        """The INS matricule + key of the patientId (health data: do not log it)."""
        return self.patient_id.split("^", 1)[0]

    def __repr__(self) -> str:
        return (
            f"XdmPackage(subset={self.subset!r}, patient={mask_identifier(self.ins)!r}, "
            f"documents=<{len(self.documents)}>)"
        )


@dataclass(frozen=True, slots=True, repr=False)
class ReceivedMessage:
    """A message read from the mailbox: who sent it, its threading, text and documents.

    ``xdm`` is the unpacked ``IHE_XDM.ZIP`` when there was one; ``attachments`` the other
    files. ``in_reply_to`` / ``references`` thread it to what was sent. ``receipts`` are
    every acknowledgement the message carries (a DSN reports each recipient), ``receipt``
    the first of them.
    """

    uid: int
    message_id: str
    sender: str
    recipients: tuple[str, ...]
    subject: str
    date: dt.datetime | None
    text: str = ""
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    xdm: XdmPackage | None = None
    attachments: tuple[Attachment, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)
    receipt: Receipt | None = None
    xdm_error: str = ""
    receipts: tuple[Receipt, ...] = ()

    @property
    def documents(self) -> tuple[XdmDocument, ...]:
        return self.xdm.documents if self.xdm is not None else ()

    def replies_to(self, message_id: str) -> bool:
        """True when this message answers ``message_id`` (In-Reply-To or References)."""
        return message_id == self.in_reply_to or message_id in self.references

    def __repr__(self) -> str:
        return (
            f"ReceivedMessage(uid={self.uid}, message_id={self.message_id!r}, "
            f"documents=<{len(self.documents)}>, receipt={self.receipt is not None})"
        )
