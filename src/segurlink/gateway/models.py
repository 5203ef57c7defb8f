"""Values of the document gateway: a received MDM/ORU, what its segments say, the refusal
that answers it, the plan that routes it, and the business acknowledgements (ZAM).

Frozen dataclasses with slots, no python-hl7 here. Anything that holds health data
(patient identifiers, a patient's address, the CDA, mail bodies) has a masked ``repr``.
The codes and labels are those of the ANS guides (``specs/hl7v2-mdm.md``: R1 "Transmission
d'un document CDA-R2 en HL7 v2", R2 "Transmission au LPS d'un document CDA provenant d'un
courriel MSSanté").
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from .._audit import mask_identifier
from ..hl7.models import AckCode, AckError, MessageHeader, PatientIdentifier

__all__ = [
    "ACK_FLAGS",
    "APPLICATION_ERRORS",
    "FLAG_LABELS",
    "MAIL_BODY_FLAGS",
    "REQUIRED_FLAGS",
    "Action",
    "BusinessAck",
    "BusinessAckKind",
    "DmpOrder",
    "DocumentMessage",
    "EncapsulatedDocument",
    "MailOrder",
    "MetadataFlag",
    "Participant",
    "Rejection",
    "Routing",
]


class Action(enum.StrEnum):
    """What the producer asks for the document: publish, replace or delete it."""

    INITIAL = "initial"  # MDM^T02, ORC-1 NW, OBX-11 F
    REPLACE = "replace"  # MDM^T10, ORC-1 RO, OBX-11 C
    DELETE = "delete"  # MDM^T04, ORC-1 CA, OBX-11 D

    @property
    def event(self) -> str:
        """The MDM event (``T02``, ``T10``, ``T04``)."""
        return _EVENTS[self]

    @property
    def order_control(self) -> str:
        """ORC-1 (``NW``, ``RO``, ``CA``)."""
        return _ORDER_CONTROLS[self]

    @property
    def result_status(self) -> str:
        """OBX-11 of the document (``F``, ``C``, ``D``)."""
        return _RESULT_STATUSES[self]

    @classmethod
    def from_event(cls, event: str) -> Action | None:
        return _BY_EVENT.get(event)

    @classmethod
    def from_order_control(cls, value: str) -> Action | None:
        return _BY_ORDER_CONTROL.get(value)

    @classmethod
    def from_result_status(cls, value: str) -> Action | None:
        return _BY_RESULT_STATUS.get(value)


_EVENTS = {Action.INITIAL: "T02", Action.REPLACE: "T10", Action.DELETE: "T04"}
_ORDER_CONTROLS = {Action.INITIAL: "NW", Action.REPLACE: "RO", Action.DELETE: "CA"}
_RESULT_STATUSES = {Action.INITIAL: "F", Action.REPLACE: "C", Action.DELETE: "D"}
_BY_EVENT = {v: k for k, v in _EVENTS.items()}
_BY_ORDER_CONTROL = {v: k for k, v in _ORDER_CONTROLS.items()}
_BY_RESULT_STATUS = {v: k for k, v in _RESULT_STATUSES.items()}

#: The metadata OBX every message carries, in this order (R1 "Les métadonnées DMP/MSSanté").
REQUIRED_FLAGS: Final = (
    "MASQUE_PS",
    "INVISIBLE_PATIENT",
    "INVISIBLE_REP_LEGAUX",
    "CONNEXION_SECRETE",
    "MODIF_CONF_CODE",
    "DESTDMP",
    "DESTMSSANTEPS",
    "DESTMSSANTEPAT",
)
#: Optional flags asking for the business acknowledgements (ZAM).
ACK_FLAGS: Final = ("ACK_RECEPTION", "ACK_LECTURE_MSS")
#: Optional ED observations holding the mail body (base64 text).
MAIL_BODY_FLAGS: Final = ("CORPSMAIL_PS", "CORPSMAIL_PATIENT")
#: Labels of the MetaDMPMSS table (OBX-3.2), as the guide writes them.
FLAG_LABELS: Final = MappingProxyType(
    {
        "MASQUE_PS": "Masqué aux professionnels de Santé",
        "INVISIBLE_PATIENT": "Document Non Visible par le patient",
        "INVISIBLE_REP_LEGAUX": "Non visible par les représentants Légaux du patient",
        "CONNEXION_SECRETE": "Connexion Secrete",
        "MODIF_CONF_CODE": "Modification Confidentiality Code",
        "DESTDMP": "Destinataire DMP",
        "DESTMSSANTEPS": "Destinataire (Professionnel de Santé, organisation ou BAL applicative)",
        "DESTMSSANTEPAT": "Destinataire Patient",
        "ACK_RECEPTION": "Accusé de réception",
        "ACK_LECTURE_MSS": "Accusé de lecture",
        "CORPSMAIL_PS": "Corps du mail pour un PS",
        "CORPSMAIL_PATIENT": "Corps du mail pour le patient",
    }
)
#: Application error codes (ERR-5, table HL70533 ``applicationErrorCode``) and their labels.
APPLICATION_ERRORS: Final = MappingProxyType(
    {
        "900": "Version du document incorrecte lors d'une demande de remplacement/suppression",
        "901": "Auteur non autorisé à remplacer ou supprimer un document",
        "902": "Identifiant patient inconnu",
        "903": "INS non présent dans le document",
        "904": "L'INS transmis ne correspond pas exactement à celui stocké",
        "905": "L'INS transmis n'est pas complet",
        "906": "Autre erreur",
    }
)


def _masked_address(address: str) -> str:
    local, _, domain = address.partition("@")
    if domain.lower() == "patient.mssante.fr":
        return f"{mask_identifier(local)}@{domain}"
    return address


@dataclass(frozen=True, slots=True, repr=False)
class Participant:
    """A PRT segment: ``role`` is PRT-4.1 (``SB`` sender, ``RCT`` recipient, ``REPLY``).

    ``person_*`` is PRT-5 (XCN: .1 id, .2 family, .3 given, .9.2 assigning authority OID,
    .13 id type: RPPS, IDNPS, INS), ``organization_*`` PRT-8 (XON: .1 name, .6.2 OID, .7
    type FINEG/FINEJ/IDNST/UF/SVR, .10 id), ``device_id`` PRT-10.1, ``address`` PRT-15.4
    (the MSSanté address of an ``^^X.400^`` telecom). ``sequence`` is the PRT's rank in the
    message (for ``ERR-2``).
    """

    role: str
    sequence: int = 1
    person_id: str = ""
    family: str = ""
    given: str = ""
    person_authority: str = ""
    person_id_type: str = ""
    organization_name: str = ""
    organization_authority: str = ""
    organization_id_type: str = ""
    organization_id: str = ""
    device_id: str = ""
    address: str = ""
    telecom_type: str = ""

    @property
    def is_patient(self) -> bool:
        """A patient's mailbox (``…@patient.mssante.fr``) or a person with an INS id."""
        return self.address.lower().endswith("@patient.mssante.fr") or (
            self.person_id_type.upper() == "INS"
        )

    def __repr__(self) -> str:
        return (
            f"Participant({self.role!r}, sequence={self.sequence}, "
            f"person={mask_identifier(self.person_id)!r}, "
            f"organization={self.organization_id!r}, address={_masked_address(self.address)!r})"
        )


@dataclass(frozen=True, slots=True)
class MetadataFlag:
    """One metadata OBX (``MASQUE_PS``... ``ACK_LECTURE_MSS``): OBX-3.1 and OBX-5.1 as sent.

    ``sequence`` is the OBX's rank in the message (``OBX^<sequence>^5`` in an ERR).
    """

    code: str
    value: str
    sequence: int
    value_type: str = ""

    @property
    def yes(self) -> bool:
        return self.value == "Y"


@dataclass(frozen=True, slots=True, repr=False)
class EncapsulatedDocument:
    """An ED observation carrying a document (OBX-5 ``^text^XML^Base64^…``).

    ``content`` is the decoded document (None when OBX-5 could not be decoded: ``problem``
    says why), ``result_status`` OBX-11, ``type_code`` OBX-3.1.
    """

    sequence: int
    type_code: str
    type_system: str
    result_status: str
    content: bytes | None
    problem: str = ""
    value_type: str = "ED"
    subtype: str = ""
    encoding: str = ""

    def __repr__(self) -> str:
        size = "-" if self.content is None else len(self.content)
        return (
            f"EncapsulatedDocument(sequence={self.sequence}, type={self.type_code!r}, "
            f"status={self.result_status!r}, <{size} bytes>)"
        )


@dataclass(frozen=True, slots=True, repr=False)
class DocumentMessage:
    """An MDM (HL7 2.6) or ORU^R01 (2.5) carrying a CDA for the DMP and/or MSSanté, as read
    by :func:`segurlink.gateway.parse_document_message` — tolerantly: the rules
    (:func:`segurlink.gateway.check`) say whether the guide's constraints hold.

    ``kind`` is MSH-9.1 (``MDM``/``ORU``), ``event`` MSH-9.2, ``segment_ids`` every
    segment in order. ``patient_ids`` is PID-3, ``patient_class`` PV1-2,
    ``order_control`` ORC-1 (None without ORC), ``unique_id``/``parent_id`` TXA-12/TXA-13
    as sent (EI: ``ext^^root^ISO`` or ``root``), ``documents`` the ED observations,
    ``participants`` the PRT segments, ``flags`` the metadata OBX in message order,
    ``mail_bodies`` the decoded CORPSMAIL_* texts, ``no_reply`` an ``NTE`` with NTE-4
    ``FIN``. ``text`` is the message itself (health data: never log it).
    """

    header: MessageHeader
    kind: str
    event: str
    segment_ids: tuple[str, ...]
    patient_ids: tuple[PatientIdentifier, ...] = ()
    patient_class: str = ""
    order_control: str | None = None
    unique_id: str = ""
    parent_id: str = ""
    document_type: str = ""
    documents: tuple[EncapsulatedDocument, ...] = ()
    participants: tuple[Participant, ...] = ()
    flags: tuple[MetadataFlag, ...] = ()
    mail_bodies: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))
    no_reply: bool = False
    profile: str = ""
    text: str = field(default="", repr=False)

    def flag(self, code: str) -> bool:
        """True when the metadata OBX ``code`` says ``Y`` (absent: False)."""
        return any(f.code == code and f.yes for f in self.flags)

    @property
    def sender(self) -> Participant | None:
        """The PRT ``SB`` (Send by), if any."""
        return next((p for p in self.participants if p.role == "SB"), None)

    @property
    def recipients(self) -> tuple[Participant, ...]:
        """The PRT ``RCT`` (Result Copies To)."""
        return tuple(p for p in self.participants if p.role == "RCT")

    @property
    def reply_to(self) -> Participant | None:
        """The PRT ``REPLY`` (Reply To), if any."""
        return next((p for p in self.participants if p.role == "REPLY"), None)

    def __repr__(self) -> str:
        return (
            f"DocumentMessage({self.kind}^{self.event} id={self.header.control_id!r}, "
            f"documents={len(self.documents)}, participants={len(self.participants)}, "
            f"flags={[f'{f.code}={f.value}' for f in self.flags]})"
        )


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a message is refused: the ACK code (``AE``: the producer must correct it;
    ``AR``: send it again later) and the ``ERR`` segment (never any health data)."""

    code: AckCode
    error: AckError

    @classmethod
    def refuse(
        cls,
        hl7_code: str,
        message: str,
        segment: str,
        field: int | None = None,
        *,
        sequence: int = 1,
        component: int | None = None,
        application_code: str = "",
    ) -> Rejection:
        """An ``AE``: ``hl7_code`` from table 0357, ``application_code`` 900-906 for 207."""
        return cls(
            AckCode.AE,
            AckError(
                hl7_code,
                message,
                segment,
                field,
                component,
                application_code=application_code,
                application_label=APPLICATION_ERRORS.get(application_code, ""),
                sequence=sequence,
            ),
        )

    @classmethod
    def retry(cls, message: str) -> Rejection:
        """An ``AR``: the platform cannot take the message now (207, no location)."""
        return cls(AckCode.AR, AckError("207", message))


@dataclass(frozen=True, slots=True)
class DmpOrder:
    """What goes to the DMP: ``action`` on the CDA, its visibility and who asks (the VIHF
    subject: PRT(SB)-5, or the settings' responsible person for a device sender)."""

    action: Action
    hidden_from: tuple[str, ...] = ()
    sender_id: str = ""
    sender_family: str = ""
    sender_given: str = ""
    content_type: tuple[str, str, str] | None = None


@dataclass(frozen=True, slots=True, repr=False)
class MailOrder:
    """One MSSanté message: to professionals (``audience="ps"``) or to the patient.

    ``people`` maps each address to the person's identifier (PRT-5.1, the patient's INS)
    for the OBX-4 of the ZAMs that report on it."""

    audience: str
    to: tuple[str, ...] = ()
    to_patient: bool = False
    text: str = ""
    no_reply: bool = False
    reply_to: str | None = None
    action: Action = Action.INITIAL
    delivery_receipts: bool = False
    read_receipts: bool = False
    people: tuple[tuple[str, str], ...] = ()

    def __repr__(self) -> str:
        return (
            f"MailOrder({self.audience!r}, to=<{len(self.to)}>, patient={self.to_patient}, "
            f"action={self.action.value!r})"
        )


@dataclass(frozen=True, slots=True)
class Routing:
    """Where an accepted message goes: the DMP order, the mails, the receipts wanted."""

    dmp: DmpOrder | None = None
    mails: tuple[MailOrder, ...] = ()
    dmp_receipt: bool = False

    @property
    def empty(self) -> bool:
        return self.dmp is None and not self.mails


class BusinessAckKind(enum.StrEnum):
    """The ZAM events (``ZAM^<event>^ZAM_Z01``) and their first OBX code (AckMetierZAM)."""

    DMP_RECEIPT = "Z01"  # ACK_RECEPTION_DMP, from the deposit's answer
    MSS_DELIVERY = "Z02"  # ACK_RECEPTION_MSS + DESTINATAIRE_MSS, from a DSN
    MSS_READ = "Z03"  # ACK_LECTURE_MSS + LECTEUR_MSS, from an MDN

    @property
    def status_code(self) -> str:
        return _ZAM_STATUS[self][0]

    @property
    def status_label(self) -> str:
        return _ZAM_STATUS[self][1]


_ZAM_STATUS = {
    BusinessAckKind.DMP_RECEIPT: ("ACK_RECEPTION_DMP", "Accusé de réception DMP"),
    BusinessAckKind.MSS_DELIVERY: ("ACK_RECEPTION_MSS", "Accusé de réception MSSanté"),
    BusinessAckKind.MSS_READ: ("ACK_LECTURE_MSS", "Accusé de lecture"),
}


@dataclass(frozen=True, slots=True, repr=False)
class BusinessAck:
    """A business acknowledgement for the producer, matched to its message by MSH-10.

    ``address``/``person_id`` name the recipient (Z02) or reader (Z03); ``error_*`` fill
    ERR-5 when ``success`` is False (``code^label^system``, system ``DMP_ERROR_CODE``,
    ``SMTPERRORCODE`` or ``applicationErrorCode``).
    """

    kind: BusinessAckKind
    original_control_id: str
    success: bool
    address: str = ""
    person_id: str = ""
    error_code: str = ""
    error_label: str = ""
    error_system: str = ""

    def __repr__(self) -> str:
        return (
            f"BusinessAck({self.kind.value}, original={self.original_control_id!r}, "
            f"success={self.success}, address={_masked_address(self.address)!r}, "
            f"error={self.error_code!r})"
        )
