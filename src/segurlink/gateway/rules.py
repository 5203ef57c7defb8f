"""The guide's rules for a document message, and where an accepted one goes. Pure.

:func:`check` takes a :class:`~segurlink.gateway.models.DocumentMessage` and answers
:class:`Accepted` (the CDA, its header and the :class:`~segurlink.gateway.models.Routing`)
or a :class:`~segurlink.gateway.models.Rejection` whose ``ERR`` names the segment, its
rank and the field (``ERR-2``), the HL7 table 0357 code (``ERR-3``) and, for 207, the
application code 900-906 (``ERR-5``). The checks run in the guide's order and the first
failure answers:

1. MSH: message type (200), event (201), processing id (202), version — 2.6 for MDM,
   2.5 for ORU (203) —, character set ``UNICODE UTF-8`` or ``8859/15`` (103);
2. the segments the structure requires (100) and one document OBX (198), decodable (102);
3. the event, ORC-1 and the document's OBX-11 agree: T02/NW/F, T10/RO/C, T04/CA/D (199);
4. the eight metadata OBX, all present, in order (100), ``Y``/``N`` (103);
5. something to do (207/906), the MSSanté matrix's three combinations (207/906), a DMP
   "connexion secrète" (not supported: 207/906), the services configured (``AR``);
6. the CDA: readable (102), valid for segurlink's validator (207/906), PID-3 equal to its
   ``recordTarget`` ids (INS: 903 absent, 904 different, 905 traits missing; other ids
   906), TXA-12 its id, a T10's TXA-13 and ``relatedDocument RPLC`` its parent (900);
7. the participants: a sender (PRT ``SB``) of this structure for the DMP (101, 901),
   recipients with ``^^X.400^`` addresses for MSSanté (101, 102), never the patient's
   address unless DESTMSSANTEPAT is ``Y`` — a document invisible to the patient or the
   legal representatives is never mailed to them —, and the patient's address the one of
   the CDA's INS (904).

The matrix (R1 ``regles-gestion-mssante.md`` as ``specs/hl7v2-mdm.md`` states it,
2026-04-21) is :data:`MSSANTE_MATRIX`; the acknowledgement flags are free in every row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from ..errors import MalformedResponse, SegurlinkError
from .models import (
    REQUIRED_FLAGS,
    Action,
    DmpOrder,
    DocumentMessage,
    MailOrder,
    MetadataFlag,
    Participant,
    Rejection,
    Routing,
)

if TYPE_CHECKING:
    from ..cda.models import CdaHeader
    from ..cda.validate import ValidationReport

__all__ = [
    "CONTENT_TYPES",
    "MSSANTE_MATRIX",
    "Accepted",
    "Policy",
    "check",
    "matrix_row",
]

#: The MSSanté matrix: one row per allowed combination of the flags when DESTMSSANTEPS or
#: DESTMSSANTEPAT is ``Y`` (``None``: any value). Any other combination is refused.
MSSANTE_MATRIX: Final[tuple[Mapping[str, bool | None], ...]] = (
    MappingProxyType(  # 1. professionals and patient
        {
            "MASQUE_PS": False,
            "INVISIBLE_PATIENT": False,
            "INVISIBLE_REP_LEGAUX": False,
            "CONNEXION_SECRETE": None,
            "MODIF_CONF_CODE": None,
            "DESTDMP": None,
            "DESTMSSANTEPS": True,
            "DESTMSSANTEPAT": True,
        }
    ),
    MappingProxyType(  # 2. professionals only
        {
            "MASQUE_PS": False,
            "INVISIBLE_PATIENT": True,
            "INVISIBLE_REP_LEGAUX": False,
            "CONNEXION_SECRETE": None,
            "MODIF_CONF_CODE": None,
            "DESTDMP": None,
            "DESTMSSANTEPS": True,
            "DESTMSSANTEPAT": False,
        }
    ),
    MappingProxyType(  # 3. patient only
        {
            "MASQUE_PS": None,
            "INVISIBLE_PATIENT": False,
            "INVISIBLE_REP_LEGAUX": None,
            "CONNEXION_SECRETE": False,
            "MODIF_CONF_CODE": None,
            "DESTDMP": False,
            "DESTMSSANTEPS": False,
            "DESTMSSANTEPAT": True,
        }
    ),
)

#: SubmissionSet contentTypeCode (JDV_J59, TRE_R209-TypeActivite) from PV1-2 (R1
#: mapping.md: I→03, O→07, R→19, N→97; E, which the guide leaves open, as O).
CONTENT_TYPES: Final = MappingProxyType(
    {
        "I": ("03", "1.2.250.1.213.2.2", ""),
        "O": ("07", "1.2.250.1.213.2.2", ""),
        "E": ("07", "1.2.250.1.213.2.2", ""),
        "R": ("19", "1.2.250.1.213.2.2", ""),
        "N": ("97", "1.2.250.1.213.2.2", ""),
    }
)

_STRUCTURES: Final = MappingProxyType({"MDM": "MDM_T02", "ORU": "ORU_R01"})
_VERSIONS: Final = MappingProxyType({"MDM": "2.6", "ORU": "2.5"})
_EVENTS: Final = MappingProxyType({"MDM": ("T02", "T10", "T04"), "ORU": ("R01",)})
_REQUIRED_SEGMENTS: Final = MappingProxyType(
    {
        "MDM": ("EVN", "PID", "PV1", "ORC", "OBR", "TXA", "OBX"),
        "ORU": ("PID", "PV1", "ORC", "OBR", "OBX"),
    }
)
_CHARSETS: Final = frozenset({"", "UNICODE UTF-8", "8859/15"})
_PROCESSING: Final = frozenset({"P", "T", "D"})
_AUDIENCES: Final = MappingProxyType(
    {
        "MASQUE_PS": "MASQUE_PS",
        "INVISIBLE_PATIENT": "INVISIBLE_PATIENT",
        "INVISIBLE_REP_LEGAUX": "INVISIBLE_REPRESENTANTS_LEGAUX",
    }
)
_ADDRESS = re.compile(r"[^@\s<>(),;:\"\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")


@dataclass(frozen=True, slots=True)
class Policy:
    """What the platform can do and who it is.

    ``structure`` is the FINESS of the structure whose certificates deposit in the DMP:
    a sender (PRT ``SB``-8.10) of another structure is refused (901). ``dmp``/``mail``
    say whether the DMP and MSSanté are configured (a message needing a missing one is
    answered ``AR``). ``validate`` checks the CDA (segurlink's
    :class:`~segurlink.cda.Validator`: header rules, plus the kit's XSD and schematrons
    when one is configured).
    """

    structure: str
    dmp: bool = True
    mail: bool = True
    validate: Callable[[bytes], ValidationReport] | None = None
    content_types: Mapping[str, tuple[str, str, str]] = field(default_factory=lambda: CONTENT_TYPES)


@dataclass(frozen=True, slots=True, repr=False)
class Accepted:
    """A message that passed every rule: its action, the CDA, its header and its routes."""

    action: Action
    document: bytes
    header: CdaHeader
    routing: Routing
    document_sequence: int = 1

    def __repr__(self) -> str:
        return f"Accepted({self.action.value}, routing={self.routing!r})"


class _Refused(Exception):
    def __init__(self, rejection: Rejection) -> None:
        super().__init__(rejection.error.message)
        self.rejection = rejection


def _refuse(
    hl7_code: str,
    message: str,
    segment: str,
    field_: int | None = None,
    *,
    sequence: int = 1,
    component: int | None = None,
    application_code: str = "",
) -> _Refused:
    return _Refused(
        Rejection.refuse(
            hl7_code,
            message,
            segment,
            field_,
            sequence=sequence,
            component=component,
            application_code=application_code,
        )
    )


def check(message: DocumentMessage, policy: Policy) -> Accepted | Rejection:
    """The first rule ``message`` breaks (a :class:`Rejection`), or where it goes."""
    try:
        return _check(message, policy)
    except _Refused as refused:
        return refused.rejection


def matrix_row(flags: Mapping[str, bool]) -> int | None:
    """The row (1-3) of :data:`MSSANTE_MATRIX` these flags match, or None."""
    for number, row in enumerate(MSSANTE_MATRIX, 1):
        if all(want is None or flags.get(code, False) is want for code, want in row.items()):
            return number
    return None


def _check(message: DocumentMessage, policy: Policy) -> Accepted | Rejection:
    _check_header(message)
    _check_segments(message)
    document = _the_document(message)
    action = _check_action(message, document.sequence, document.result_status)
    flags = _check_flags(message)
    destinations = _check_destinations(message, flags, policy)
    if isinstance(destinations, Rejection):
        return destinations
    assert document.content is not None
    header = _check_cda(message, document.content, document.sequence, policy)
    _check_identity(message, header, flags)
    _check_document_ids(message, header, action, document.sequence)
    routing = _route(message, header, flags, action, policy)
    return Accepted(action, document.content, header, routing, document.sequence)


# -- MSH, structure, document ---------------------------------------------------------------


def _check_header(message: DocumentMessage) -> None:
    header = message.header
    if message.kind not in _VERSIONS:
        raise _refuse(
            "200",
            f"MSH-9: {message.kind[:8] or 'no'} message; the gateway takes MDM and ORU",
            "MSH",
            9,
        )
    if message.event not in _EVENTS[message.kind]:
        raise _refuse(
            "201",
            f"MSH-9.2: event {message.event[:8] or 'missing'} is not "
            + "/".join(_EVENTS[message.kind])
            + f" for {message.kind}",
            "MSH",
            9,
            component=2,
        )
    if header.structure and header.structure != _STRUCTURES[message.kind]:
        raise _refuse(
            "201",
            f"MSH-9.3: structure {header.structure[:10]} is not {_STRUCTURES[message.kind]}",
            "MSH",
            9,
            component=3,
        )
    if header.processing_id not in _PROCESSING:
        raise _refuse("202", "MSH-11: processing id is P, T or D", "MSH", 11)
    expected = _VERSIONS[message.kind]
    if header.version != expected:
        raise _refuse(
            "203", f"MSH-12: {message.kind} is HL7 {expected}, not {header.version[:8]}", "MSH", 12
        )
    if header.charset not in _CHARSETS:
        raise _refuse("103", "MSH-18: the character set is UNICODE UTF-8 or 8859/15", "MSH", 18)


def _check_segments(message: DocumentMessage) -> None:
    present = set(message.segment_ids)
    for segment in _REQUIRED_SEGMENTS[message.kind]:
        if segment not in present:
            raise _refuse("100", f"the {message.kind} has no {segment} segment", segment)


def _the_document(message: DocumentMessage) -> Any:
    documents = message.documents
    if not documents:
        raise _refuse("100", "no OBX carries the CDA document (OBX-2 ED)", "OBX")
    if len(documents) > 1:
        raise _refuse(
            "198",
            f"{len(documents)} documents: the gateway takes one CDA per message",
            "OBX",
            sequence=documents[1].sequence,
        )
    document = documents[0]
    if document.content is None:
        raise _refuse("102", document.problem, "OBX", 5, sequence=document.sequence, component=5)
    if document.subtype.upper() != "XML":
        raise _refuse(
            "102",
            "OBX-5.3: the document's subtype is XML",
            "OBX",
            5,
            sequence=document.sequence,
            component=3,
        )
    return document


def _check_action(message: DocumentMessage, sequence: int, result_status: str) -> Action:
    order = message.order_control or ""
    if message.kind == "MDM":
        action = Action.from_event(message.event)
        assert action is not None  # the event was checked
        if order != action.order_control:
            raise _refuse(
                "199",
                f"ORC-1 {order[:4] or 'empty'} contradicts the event {message.event} "
                f"(expects {action.order_control})",
                "ORC",
                1,
            )
    else:
        found = Action.from_order_control(order)
        if found is None:
            raise _refuse("103", "ORC-1 is NW, RO or CA", "ORC", 1)
        action = found
    if result_status != action.result_status:
        raise _refuse(
            "199",
            f"OBX-11 {result_status[:4] or 'empty'} contradicts ORC-1 {action.order_control} "
            f"(expects {action.result_status})",
            "OBX",
            11,
            sequence=sequence,
        )
    return action


def _check_flags(message: DocumentMessage) -> dict[str, bool]:
    seen: dict[str, MetadataFlag] = {}
    previous: MetadataFlag | None = None
    for flag in message.flags:
        if flag.code in seen:
            raise _refuse(
                "198", f"the metadata OBX {flag.code} appears twice", "OBX", sequence=flag.sequence
            )
        if flag.value not in ("Y", "N"):
            raise _refuse(
                "103",
                f"{flag.code}: OBX-5 is Y or N (HL7 table 0136)",
                "OBX",
                5,
                sequence=flag.sequence,
            )
        seen[flag.code] = flag
        if flag.code in REQUIRED_FLAGS:
            if previous is not None and REQUIRED_FLAGS.index(flag.code) < REQUIRED_FLAGS.index(
                previous.code
            ):
                raise _refuse(
                    "100",
                    f"the metadata OBX {flag.code} comes after {previous.code}: the guide's "
                    "order is " + ", ".join(REQUIRED_FLAGS),
                    "OBX",
                    sequence=flag.sequence,
                )
            previous = flag
    for code in REQUIRED_FLAGS:
        if code not in seen:
            raise _refuse("100", f"the metadata OBX {code} is missing", "OBX")
    return {code: flag.yes for code, flag in seen.items()}


def _flag_sequence(message: DocumentMessage, code: str) -> int:
    return next((f.sequence for f in message.flags if f.code == code), 1)


def _check_destinations(
    message: DocumentMessage, flags: Mapping[str, bool], policy: Policy
) -> Rejection | None:
    dmp, ps, patient = flags["DESTDMP"], flags["DESTMSSANTEPS"], flags["DESTMSSANTEPAT"]
    if not (dmp or ps or patient):
        raise _refuse(
            "207",
            "DESTDMP, DESTMSSANTEPS and DESTMSSANTEPAT are all N: nothing to do",
            "OBX",
            5,
            sequence=_flag_sequence(message, "DESTDMP"),
            application_code="906",
        )
    if (ps or patient) and matrix_row(flags) is None:
        combination = ", ".join(f"{code}={'Y' if flags[code] else 'N'}" for code in REQUIRED_FLAGS)
        raise _refuse(
            "207",
            f"these flags match no row of the MSSanté matrix: {combination}",
            "OBX",
            5,
            sequence=_flag_sequence(message, "DESTMSSANTEPS" if ps else "DESTMSSANTEPAT"),
            application_code="906",
        )
    if dmp and flags["CONNEXION_SECRETE"]:
        raise _refuse(
            "207",
            "CONNEXION_SECRETE: segurlink does not make DMP deposits in secret connection",
            "OBX",
            5,
            sequence=_flag_sequence(message, "CONNEXION_SECRETE"),
            application_code="906",
        )
    if dmp and not policy.dmp:
        return Rejection.retry("the DMP is not configured on this platform: send again later")
    if (ps or patient) and not policy.mail:
        return Rejection.retry("MSSanté is not configured on this platform: send again later")
    return None


# -- the CDA and the patient -----------------------------------------------------------------


def _check_cda(
    message: DocumentMessage, document: bytes, sequence: int, policy: Policy
) -> CdaHeader:
    from ..cda import parse_header

    try:
        header = parse_header(document)
    except (MalformedResponse, SegurlinkError) as exc:
        raise _refuse(
            "102",
            f"OBX-5.5 is not a readable CDA ({type(exc).__name__})",
            "OBX",
            5,
            sequence=sequence,
            component=5,
        ) from None
    if policy.validate is not None:
        try:
            report = policy.validate(document)
        except SegurlinkError as exc:
            raise _refuse(
                "102",
                f"OBX-5.5: the CDA cannot be validated ({type(exc).__name__})",
                "OBX",
                5,
                sequence=sequence,
                component=5,
            ) from None
        errors = report.errors
        if errors:
            rules = ", ".join(dict.fromkeys(issue.rule for issue in errors[:5]))
            raise _refuse(
                "207",
                f"the CDA breaks {len(errors)} rule(s) of segurlink's validator: {rules}",
                "OBX",
                5,
                sequence=sequence,
                component=5,
                application_code="906",
            )
    return header


def _needs_ins(flags: Mapping[str, bool]) -> bool:
    return flags["DESTDMP"] or flags["DESTMSSANTEPAT"]


def _check_identity(message: DocumentMessage, header: CdaHeader, flags: Mapping[str, bool]) -> None:
    patient = header.patient
    cda_ins = patient.ins
    cda_ids = {(i.root, i.extension or "") for i in patient.ids}
    if cda_ins is not None:
        cda_ids.add((cda_ins.oid, cda_ins.value))
    pid_ins = [i for i in message.patient_ids if i.is_ins]
    if _needs_ins(flags) and cda_ins is None:
        raise _refuse(
            "207",
            "the CDA carries no INS: no DMP deposit and no mail to the patient without it",
            "PID",
            3,
            application_code="903",
        )
    for number, identifier in enumerate(message.patient_ids, 1):
        if not identifier.oid:
            continue  # a namespace without OID cannot be compared with the CDA's ids
        if (identifier.oid, identifier.value) not in cda_ids:
            raise _refuse(
                "207",
                f"PID-3 repetition {number} is not among the CDA's recordTarget ids"
                + (" (INS)" if identifier.is_ins else ""),
                "PID",
                3,
                application_code="904" if identifier.is_ins else "906",
            )
    if cda_ins is not None and not any(
        (i.oid, i.value) == (cda_ins.oid, cda_ins.value) for i in pid_ins
    ):
        raise _refuse("207", "PID-3 does not carry the CDA's INS", "PID", 3, application_code="904")
    if _needs_ins(flags) and not (
        patient.birth_name
        and (patient.first_name or patient.first_names)
        and patient.sex
        and patient.birth_date
    ):
        raise _refuse(
            "207",
            "the CDA's INS comes without every trait (birth name, first names, sex, birth date)",
            "PID",
            3,
            application_code="905",
        )


def _check_document_ids(
    message: DocumentMessage, header: CdaHeader, action: Action, sequence: int
) -> None:
    replaces = header.parent_document is not None and header.relation in (None, "RPLC")
    if action is Action.REPLACE and not replaces:
        raise _refuse(
            "207",
            "a replacement carries the new CDA version with relatedDocument typeCode RPLC",
            "OBX",
            5,
            sequence=sequence,
            component=5,
            application_code="900",
        )
    if action is Action.INITIAL and replaces:
        raise _refuse(
            "207",
            "this CDA replaces another document (relatedDocument RPLC): send it as T10 / RO / C",
            "OBX",
            5,
            sequence=sequence,
            component=5,
            application_code="906",
        )
    if message.kind != "MDM":
        return
    if not message.unique_id:
        raise _refuse("101", "TXA-12 (unique document number) is empty", "TXA", 12)
    if message.unique_id != header.id.xds_unique_id:
        raise _refuse(
            "207",
            "TXA-12 is not the CDA's ClinicalDocument/id",
            "TXA",
            12,
            application_code="900" if action is Action.DELETE else "906",
        )
    if action is Action.REPLACE:
        if not message.parent_id:
            raise _refuse("101", "TXA-13 (parent document) is required for a T10", "TXA", 13)
        assert header.parent_document is not None
        if message.parent_id != header.parent_document.id.xds_unique_id:
            raise _refuse(
                "207",
                "TXA-13 is not the document the CDA replaces (relatedDocument/parentDocument/id)",
                "TXA",
                13,
                application_code="900",
            )


# -- participants and routes ------------------------------------------------------------------


def _sender(message: DocumentMessage, policy: Policy) -> Participant:
    sender = message.sender
    if sender is None:
        raise _refuse("101", "no PRT SB (Send by): the DMP needs the sender", "PRT", 4)
    if not (sender.person_id or sender.device_id):
        raise _refuse(
            "101",
            "PRT SB names no person (PRT-5) and no device (PRT-10)",
            "PRT",
            5,
            sequence=sender.sequence,
        )
    organization = sender.organization_id
    if not organization:
        raise _refuse(
            "101",
            "PRT SB-8.10: the sender's organisation is required for the DMP",
            "PRT",
            8,
            sequence=sender.sequence,
            component=10,
        )
    if organization not in (policy.structure, "1" + policy.structure):
        raise _refuse(
            "207",
            "PRT SB-8.10: the sender's organisation is not this platform's structure",
            "PRT",
            8,
            sequence=sender.sequence,
            component=10,
            application_code="901",
        )
    return sender


def _address(participant: Participant) -> str:
    address = participant.address
    if not address:
        raise _refuse(
            "101",
            f"PRT {participant.role}-15: no ^^X.400^ address",
            "PRT",
            15,
            sequence=participant.sequence,
        )
    if not _ADDRESS.fullmatch(address):
        raise _refuse(
            "102",
            f"PRT {participant.role}-15.4 is not an e-mail address",
            "PRT",
            15,
            sequence=participant.sequence,
            component=4,
        )
    return address


def _route(
    message: DocumentMessage,
    header: CdaHeader,
    flags: Mapping[str, bool],
    action: Action,
    policy: Policy,
) -> Routing:
    dmp: DmpOrder | None = None
    if flags["DESTDMP"]:
        sender = _sender(message, policy)
        hidden = tuple(audience for code, audience in _AUDIENCES.items() if flags[code])
        dmp = DmpOrder(
            action=action,
            hidden_from=hidden,
            sender_id=sender.person_id,
            sender_family=sender.family,
            sender_given=sender.given,
            content_type=policy.content_types.get(message.patient_class.upper()),
        )
    mails: list[MailOrder] = []
    ps, to_patient = flags["DESTMSSANTEPS"], flags["DESTMSSANTEPAT"]
    reply_to = _address(message.reply_to) if message.reply_to is not None else None
    professionals: list[str] = []
    people: dict[str, str] = {}
    patient_address = header.patient.ins.mssante_address if header.patient.ins else ""
    for recipient in message.recipients:
        if recipient.is_patient:
            address = recipient.address
            if not to_patient and not ps:
                continue  # no mail at all: the recipients play no part
            if not to_patient:
                raise _refuse(
                    "207",
                    "PRT RCT names the patient but DESTMSSANTEPAT is N: a document invisible "
                    "to the patient is never mailed to the patient",
                    "PRT",
                    15,
                    sequence=recipient.sequence,
                    application_code="906",
                )
            if address and address.lower() != patient_address.lower():
                raise _refuse(
                    "207",
                    "PRT RCT-15: the patient's address is not the one of the CDA's INS",
                    "PRT",
                    15,
                    sequence=recipient.sequence,
                    application_code="904",
                )
            continue
        if ps:
            address = _address(recipient)
            professionals.append(address)
            if recipient.person_id:
                people.setdefault(address.lower(), recipient.person_id)
    delivery, read = flags.get("ACK_RECEPTION", False), flags.get("ACK_LECTURE_MSS", False)
    if ps:
        if not professionals:
            raise _refuse(
                "101",
                "DESTMSSANTEPS is Y but no PRT RCT names a professional's address",
                "PRT",
                4,
            )
        mails.append(
            MailOrder(
                audience="ps",
                to=tuple(dict.fromkeys(professionals)),
                text=message.mail_bodies.get("CORPSMAIL_PS", ""),
                reply_to=reply_to,
                action=action,
                delivery_receipts=delivery,
                read_receipts=read,
                people=tuple(people.items()),
            )
        )
    if to_patient:
        mails.append(
            MailOrder(
                audience="patient",
                to_patient=True,
                text=message.mail_bodies.get("CORPSMAIL_PATIENT", ""),
                no_reply=message.no_reply,
                reply_to=reply_to,
                action=action,
                delivery_receipts=delivery,
                read_receipts=read,
                people=((patient_address.lower(), header.patient.ins.value),)
                if header.patient.ins is not None
                else (),
            )
        )
    return Routing(
        dmp=dmp,
        mails=tuple(mails),
        dmp_receipt=bool(flags["DESTDMP"] and flags.get("ACK_RECEPTION", False)),
    )
