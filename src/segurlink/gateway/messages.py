"""Pure reading and writing of the gateway's HL7 v2 messages: no sockets, no services.

Reading (:func:`parse_document_message`) is tolerant, as the guides' own examples need: a
line break inside a field (base64 cut over two lines) is joined back, blanks inside
base64 are dropped, labels and coding systems of OBX-3 are not compared, ``ACK_LECTURE``
is read as ``ACK_LECTURE_MSS``. What the message *must* say is checked afterwards by
:mod:`segurlink.gateway.rules`. Anything unreadable raises
:class:`~segurlink.errors.Hl7Error` naming the segment and field, never quoting a value.

Writing: the ACK (:func:`document_ack`, with the guides' ``messageErrorCondition`` and
``applicationErrorCode`` tables), the business acknowledgements (:func:`build_business_ack`:
``ZAM^Z01|Z02|Z03^ZAM_Z01``) and the MDM sent to the DUI for a document received by
MSSanté (:func:`build_inbound_mdm`, guide R2). Output is UTF-8 with ``\\r`` between segments.

>>> from segurlink.gateway.models import BusinessAck, BusinessAckKind
>>> import datetime as dt
>>> zam = build_business_ack(BusinessAck(BusinessAckKind.DMP_RECEIPT, "MSG42", True),
...     control_id="Z1", now=dt.datetime(2024, 3, 1, 10, 30), application="PFI",
...     facility="EHPAD", producer_application="DUI", producer_facility="EHPAD")
>>> zam.decode().split("\\r")[2].split("|")[3:6]
['ACK_RECEPTION_DMP^Accusé de réception DMP^AckMetierZAM', 'MSG42', 'Y^^expandedYes-NoIndicator']
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final

from ..errors import Hl7Error
from ..hl7.messages import (
    build_ack,
    decode_message,
    escape_value,
    field_repetitions,
    field_value,
    hl7_datetime,
    parse_tree,
)
from ..hl7.models import AckCode, MessageHeader, PatientIdentifier
from .models import (
    ACK_FLAGS,
    FLAG_LABELS,
    MAIL_BODY_FLAGS,
    REQUIRED_FLAGS,
    Action,
    BusinessAck,
    BusinessAckKind,
    DocumentMessage,
    EncapsulatedDocument,
    MetadataFlag,
    Participant,
    Rejection,
)

__all__ = [
    "APPLICATION_ERROR_TABLE",
    "ERROR_TABLE",
    "PROFILE_CREATOR",
    "PROFILE_LPS",
    "build_business_ack",
    "build_inbound_mdm",
    "document_ack",
    "ei_of",
    "parse_document_message",
    "parse_extract",
]

#: MSH-21 of the messages of guide R1 (creator → platform, and the ZAM back).
PROFILE_CREATOR: Final = "2.1^CISIS_CDA_HL7_V2"
#: MSH-21 of the MDM sent to the DUI for a mail (guide R2, platform → LPS).
PROFILE_LPS: Final = "1.1^CISIS_CDA_HL7_LPS"
#: Names of ERR-3's and ERR-5's tables as the guides write them.
ERROR_TABLE: Final = "messageErrorCondition"
APPLICATION_ERROR_TABLE: Final = "applicationErrorCode"
_YES_NO: Final = "expandedYes-NoIndicator"
_FLAG_CODES: Final = frozenset((*REQUIRED_FLAGS, *ACK_FLAGS))
#: Spellings found in the guides' examples, read as the table's code.
_FLAG_ALIASES: Final = MappingProxyType({"ACK_LECTURE": "ACK_LECTURE_MSS"})
_SEGMENT_START = re.compile(r"[A-Z][A-Z0-9]{2}(?:\||$)")
_EMBEDDED_SEGMENT = re.compile(r"\s+(?=(?:PRT|OBX|NTE|TXA|ORC|OBR)\|)")
_WHITESPACE = re.compile(r"\s+")
_EXTRACT_MSH: Final = "MSH|^~\\&|EXTRACT||||||MDM^T02^MDM_T02|EXTRACT|P|2.6"


# -- reading ------------------------------------------------------------------------------


def _lines(text: str, *, split_embedded: bool) -> list[str]:
    """Segments of ``text``: CR, LF or CRLF; blank lines dropped; a line that does not
    start with a segment ID continues the previous segment (a field cut by a line break)."""
    lines = text.replace("\r\n", "\r").replace("\n", "\r").split("\r")
    segments: list[str] = []
    for line in lines:
        if not line.strip():
            continue
        pieces = _EMBEDDED_SEGMENT.split(line) if split_embedded else [line]
        for piece in pieces:
            if segments and not _SEGMENT_START.match(piece):
                segments[-1] += piece
            else:
                segments.append(piece)
    return segments


def parse_document_message(data: bytes | str) -> DocumentMessage:
    """Read one MDM or ORU carrying a document (bytes as received, or text).

    The character set is MSH-18's (``UNICODE UTF-8`` or ``8859/15``; another one is for
    the rules to refuse); segments are separated by CR, LF or CRLF. Raises
    :class:`~segurlink.errors.Hl7Error` for what cannot be read at all (no MSH, broken
    delimiters, undecodable bytes or escapes, several messages).
    """
    text = decode_message(data)
    segments = _lines(text, split_embedded=False)
    if not segments or not segments[0].startswith("MSH"):
        raise Hl7Error("the message does not start with an MSH segment", segment="MSH", code="100")
    if sum(1 for s in segments if s.startswith("MSH")) > 1:
        raise Hl7Error("the input holds several messages: one at a time", segment="MSH", code="100")
    joined = "\r".join(segments)
    header, tree = parse_tree(joined)
    return _document_message(header, tree, joined)


def parse_extract(text: str) -> DocumentMessage:
    """Read an extract of a message (OBX/PRT/NTE groups, as the guides print them): an MSH
    is assumed when there is none, and a segment written on the line of the previous one
    (``…mssante.fr PRT||UC||…``) is split off. For tests and diagnostics."""
    segments = _lines(text, split_embedded=True)
    if not segments or not segments[0].startswith("MSH"):
        segments.insert(0, _EXTRACT_MSH)
    joined = "\r".join(segments)
    header, tree = parse_tree(joined)
    return _document_message(header, tree, joined)


def _segments(tree: Any, segment_id: str) -> list[Any]:
    return [segment for segment in tree if str(segment[0]) == segment_id]


def _value(tree: Any, segment: Any, number: int, component: int = 1, sub: int = 1) -> str:
    return field_value(tree, segment, number, component=component, sub=sub).strip()


def ei_of(tree: Any, segment: Any, number: int) -> str:
    """An EI field as an XDS uniqueId: ``root^extension`` (``ext^^root^ISO``) or ``root``."""
    first = _value(tree, segment, number)
    root = _value(tree, segment, number, 3)
    if root:
        return f"{root}^{first}" if first else root
    return first


def _document_message(header: MessageHeader, tree: Any, text: str) -> DocumentMessage:
    pid = next(iter(_segments(tree, "PID")), None)
    pv1 = next(iter(_segments(tree, "PV1")), None)
    orc = next(iter(_segments(tree, "ORC")), None)
    obr = next(iter(_segments(tree, "OBR")), None)
    txa = next(iter(_segments(tree, "TXA")), None)
    documents: list[EncapsulatedDocument] = []
    flags: list[MetadataFlag] = []
    bodies: dict[str, str] = {}
    for sequence, obx in enumerate(_segments(tree, "OBX"), 1):
        code = _value(tree, obx, 3).upper()
        code = _FLAG_ALIASES.get(code, code)
        value_type = _value(tree, obx, 2).upper()
        if code in _FLAG_CODES:
            flags.append(MetadataFlag(code, _value(tree, obx, 5).upper(), sequence, value_type))
        elif code in MAIL_BODY_FLAGS:
            bodies.setdefault(code, _body_text(tree, obx, sequence))
        elif value_type == "ED":
            documents.append(_encapsulated(tree, obx, sequence))
    participants = tuple(
        _participant(tree, prt, sequence) for sequence, prt in enumerate(_segments(tree, "PRT"), 1)
    )
    no_reply = any(_value(tree, nte, 4).upper() == "FIN" for nte in _segments(tree, "NTE"))
    msh = tree.segment("MSH")
    return DocumentMessage(
        header=header,
        kind=header.message_type,
        event=header.event,
        segment_ids=tuple(str(segment[0]) for segment in tree),
        patient_ids=_identifiers(tree, pid) if pid is not None else (),
        patient_class=_value(tree, pv1, 2) if pv1 is not None else "",
        order_control=_value(tree, orc, 1) if orc is not None else None,
        unique_id=ei_of(tree, txa, 12) if txa is not None else "",
        parent_id=ei_of(tree, txa, 13) if txa is not None else "",
        document_type=(
            _value(tree, obr, 4)
            if obr is not None
            else (documents[0].type_code if documents else "")
        ),
        documents=tuple(documents),
        participants=participants,
        flags=tuple(flags),
        mail_bodies=MappingProxyType(bodies),
        no_reply=no_reply,
        profile="^".join(p for p in (_value(tree, msh, 21), _value(tree, msh, 21, 2)) if p),
        text=text,
    )


def _identifiers(tree: Any, pid: Any) -> tuple[PatientIdentifier, ...]:
    found: list[PatientIdentifier] = []
    for rep in range(min(len(field_repetitions(pid, 3)), 50)):  # bounded on hostile input

        def value(component: int, sub: int = 1, rep: int = rep) -> str:
            return field_value(tree, pid, 3, rep=rep, component=component, sub=sub).strip()

        if value(1) or value(5):
            found.append(
                PatientIdentifier(
                    value=value(1),
                    namespace=value(4),
                    oid=value(4, 2),
                    oid_type=value(4, 3),
                    type_code=value(5),
                    effective_date=value(7),
                )
            )
    return tuple(found)


def _base64(raw: str) -> bytes:
    # The guides' examples drop the padding and break lines inside the data: both read.
    data = _WHITESPACE.sub("", raw)
    return base64.b64decode(data + "=" * (-len(data) % 4), validate=True)


def _encapsulated(tree: Any, obx: Any, sequence: int) -> EncapsulatedDocument:
    data = _value(tree, obx, 5, 5)
    encoding = _value(tree, obx, 5, 4)
    content: bytes | None = None
    problem = ""
    if not data:
        problem = "OBX-5.5 holds no document"
    elif encoding.upper() != "BASE64":
        problem = "OBX-5.4 must say Base64"
    else:
        try:
            content = _base64(data)
        except (binascii.Error, ValueError):
            problem = "OBX-5.5 is not valid base64"
    return EncapsulatedDocument(
        sequence=sequence,
        type_code=_value(tree, obx, 3),
        type_system=_value(tree, obx, 3, 3),
        result_status=_value(tree, obx, 11).upper(),
        content=content,
        problem=problem,
        value_type=_value(tree, obx, 2).upper(),
        subtype=_value(tree, obx, 5, 3),
        encoding=encoding,
    )


def _body_text(tree: Any, obx: Any, sequence: int) -> str:
    raw = _value(tree, obx, 5, 5) or _value(tree, obx, 5)
    try:
        data = _base64(raw)
    except (binascii.Error, ValueError):
        raise Hl7Error(
            f"OBX {sequence} (mail body): OBX-5.5 is not valid base64",
            segment="OBX",
            field=5,
            component=5,
        ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("iso8859-15")


def _participant(tree: Any, prt: Any, sequence: int) -> Participant:
    # PRT-15; an X.400 address one field off (a miscounted separator in the guide's own
    # example) is still the participant's address.
    telecom = next(
        (
            number
            for number in range(15, min(len(prt), 20))
            if _value(tree, prt, number, 3).upper() == "X.400"
        ),
        15,
    )
    return Participant(
        role=_value(tree, prt, 4).upper(),
        sequence=sequence,
        person_id=_value(tree, prt, 5),
        family=_value(tree, prt, 5, 2),
        given=_value(tree, prt, 5, 3),
        person_authority=_value(tree, prt, 5, 9, 2),
        person_id_type=_value(tree, prt, 5, 13),
        organization_name=_value(tree, prt, 8),
        organization_authority=_value(tree, prt, 8, 6, 2),
        organization_id_type=_value(tree, prt, 8, 7),
        organization_id=_value(tree, prt, 8, 10),
        device_id=_value(tree, prt, 10),
        telecom_type=_value(tree, prt, telecom, 3),
        address=_value(tree, prt, telecom, 4),
    )


# -- writing ------------------------------------------------------------------------------


def document_ack(
    header: MessageHeader | None,
    rejection: Rejection | None,
    *,
    control_id: str,
    now: dt.datetime,
    application: str | None = None,
    facility: str | None = None,
) -> bytes:
    """The ACK of a document message: ``AA`` when ``rejection`` is None, else its code and
    ``ERR`` (``ERR-2`` location, ``ERR-3`` ``<0357 code>^<label>^messageErrorCondition``,
    ``ERR-4`` ``E``, ``ERR-5`` ``<900-906>^<label>^applicationErrorCode``)."""
    return build_ack(
        header,
        AckCode.AA if rejection is None else rejection.code,
        () if rejection is None else (rejection.error,),
        control_id=control_id,
        now=now,
        application=application,
        facility=facility,
        error_system=ERROR_TABLE,
        application_system=APPLICATION_ERROR_TABLE,
    )


def _e(text: str) -> str:
    return escape_value(text)


def build_business_ack(
    ack: BusinessAck,
    *,
    control_id: str,
    now: dt.datetime,
    application: str,
    facility: str,
    producer_application: str,
    producer_facility: str,
    processing_id: str = "P",
) -> bytes:
    """``ZAM^<Z01|Z02|Z03>^ZAM_Z01`` (HL7 2.6) for the producer: MSH (MSH-21
    ``2.1^CISIS_CDA_HL7_V2``), EVN, OBX 1 (status, OBX-4 = the original MSH-10, OBX-5
    ``Y``/``N``), for Z02/Z03 OBX 2 (``DESTINATAIRE_MSS``/``LECTEUR_MSS``, XTN
    ``^^X.400^<address>``), and ``ERR`` (207 + ERR-5) when the status is ``N``."""
    kind = ack.kind
    stamp = hl7_datetime(now)
    segments = [
        "|".join(
            (
                "MSH",
                "^~\\&",
                _e(application),
                _e(facility),
                _e(producer_application),
                _e(producer_facility),
                stamp,
                "",
                f"ZAM^{kind.value}^ZAM_Z01",
                _e(control_id),
                _e(processing_id or "P"),
                "2.6",
                "",
                "",
                "",
                "",
                "FRA",
                "UNICODE UTF-8",
                "",
                "",
                PROFILE_CREATOR,
            )
        ),
        f"EVN||{stamp}",
        "|".join(
            (
                "OBX",
                "1",
                "CWE",
                f"{kind.status_code}^{_e(kind.status_label)}^AckMetierZAM",
                _e(ack.original_control_id),
                f"{'Y' if ack.success else 'N'}^^{_YES_NO}",
                "",
                "",
                "",
                "",
                "",
                "F",
            )
        ),
    ]
    if kind is not BusinessAckKind.DMP_RECEIPT:
        code, label = (
            ("DESTINATAIRE_MSS", "Destinataire MSSanté")
            if kind is BusinessAckKind.MSS_DELIVERY
            else ("LECTEUR_MSS", "Lecteur du courriel MSSanté")
        )
        segments.append(
            "|".join(
                (
                    "OBX",
                    "2",
                    "XTN",
                    f"{code}^{_e(label)}^AckMetierZAM",
                    _e(ack.person_id),
                    f"^^X.400^{_e(ack.address)}",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "F",
                )
            )
        )
    if not ack.success:
        application_error = "^".join(
            (_e(ack.error_code), _e(ack.error_label), _e(ack.error_system))
        )
        segments.append(f"ERR|||207^Application error^{ERROR_TABLE}|E|{application_error}")
    return "\r".join(segments).encode("utf-8")


def _xpn(family: str, first: str, first_names: Sequence[str]) -> str:
    return f"{_e(family)}^{_e(first)}^{_e(' '.join(first_names))}^^^^L"


def build_inbound_mdm(
    *,
    action: Action,
    document: bytes,
    patient: Any,
    document_id: str,
    parent_id: str | None,
    type_code: tuple[str, str, str],
    message_id: str,
    subject: str,
    body: str,
    sender: str,
    recipients: Sequence[str],
    reply_to: str | None = None,
    flags: Mapping[str, bool] | None = None,
    control_id: str,
    now: dt.datetime,
    application: str,
    facility: str,
    receiver_application: str,
    receiver_facility: str,
) -> bytes:
    """The MDM (T02/T10/T04 from the XDM ``action``) that hands a document received by
    MSSanté to the DUI (guide R2): MSH (MSH-21 ``1.1^CISIS_CDA_HL7_LPS``), EVN, PID (INS
    and traits of the CDA's ``recordTarget``), ``PV1|1|N``, ORC, OBR, TXA, the document
    OBX with PRT ``SB`` (the mail's sender), ``RCT`` (its recipients) and ``REPLY``, the
    mail OBX (OBX-3 ``<Message-ID>^<subject>``, OBX-5 the body in base64), then
    MASQUE_PS, INVISIBLE_PATIENT, INVISIBLE_REP_LEGAUX and MODIF_CONF_CODE.

    ``patient`` is the CDA header's :class:`~segurlink.cda.models.PatientFacts`;
    ``document_id``/``parent_id`` are XDS uniqueIds (``root^extension`` or ``root``).
    """
    stamp = hl7_datetime(now)
    flags = dict(flags or {})
    pid3: list[str] = []
    ins = getattr(patient, "ins", None)
    if ins is not None:
        pid3.append(f"{_e(ins.value)}^^^ASIP-SANTE-INS-NIR&{_e(ins.oid)}&ISO^INS")
    for identifier in getattr(patient, "ids", ()):
        if ins is not None and identifier.root == ins.oid:
            continue
        if identifier.extension:
            pid3.append(f"{_e(identifier.extension)}^^^&{_e(identifier.root)}&ISO^PI")
    first_names = tuple(getattr(patient, "first_names", ()) or ())
    first = getattr(patient, "first_name", None) or (first_names[0] if first_names else "")
    birth = (getattr(patient, "birth_date", None) or "").replace("-", "")
    code, display, system = type_code
    obx3 = f"{_e(code)}^{_e(display)}^{_e(system)}"
    segments = [
        "|".join(
            (
                "MSH",
                "^~\\&",
                _e(application),
                _e(facility),
                _e(receiver_application),
                _e(receiver_facility),
                stamp,
                "",
                f"MDM^{action.event}^MDM_T02",
                _e(control_id),
                "P",
                "2.6",
                "",
                "",
                "",
                "",
                "FRA",
                "UNICODE UTF-8",
                "",
                "",
                PROFILE_LPS,
            )
        ),
        f"EVN||{stamp}",
        "|".join(
            (
                "PID",
                "1",
                "",
                "~".join(pid3),
                "",
                _xpn(getattr(patient, "birth_name", None) or "", first, first_names),
                "",
                _e(birth),
                _e(getattr(patient, "sex", None) or ""),
            )
        ),
        "PV1|1|N",
        f"ORC|{action.order_control}",
        f"OBR|1|||{obx3}",
        "|".join(
            (
                "TXA",
                "1",
                _e(code),
                "TEXT",
                *([""] * 8),
                _ei(document_id),
                _ei(parent_id or ""),
                "",
                "",
                "",
                "AU",
            )
        ),
        _document_obx(1, obx3, document, action),
        _prt("SB^Send by^participation", sender),
        *(_prt("RCT^Result Copies To^participation", r) for r in recipients),
    ]
    if reply_to:
        segments.append(_prt("REPLY^Reply To^participation", reply_to))
    mail_b64 = base64.b64encode(body.encode("utf-8")).decode("ascii")
    segments.append(f"OBX|2|ED|{_e(message_id)}^{_e(subject)}||^text^^Base64^{mail_b64}||||||F")
    for sequence, flag in enumerate(
        ("MASQUE_PS", "INVISIBLE_PATIENT", "INVISIBLE_REP_LEGAUX", "MODIF_CONF_CODE"), 3
    ):
        value = "Y" if flags.get(flag) else "N"
        segments.append(
            f"OBX|{sequence}|CWE|{flag}^{_e(FLAG_LABELS[flag])}^MetaDMPMSS||"
            f"{value}^^{_YES_NO}||||||F"
        )
    return "\r".join(segments).encode("utf-8")


def _ei(unique_id: str) -> str:
    """An XDS uniqueId as HL7 EI: ``ext^^root^ISO`` (``root^ext``), or ``root`` alone."""
    root, _, extension = unique_id.partition("^")
    if extension:
        return f"{_e(extension)}^^{_e(root)}^ISO"
    return _e(root)


def _document_obx(sequence: int, obx3: str, document: bytes, action: Action) -> str:
    data = base64.b64encode(document).decode("ascii")
    return f"OBX|{sequence}|ED|{obx3}||^text^XML^Base64^{data}||||||{action.result_status}"


def _prt(participation: str, address: str) -> str:
    return f"PRT||UC||{participation}" + "|" * 11 + f"^^X.400^{_e(address)}"
