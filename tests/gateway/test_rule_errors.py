"""What each refusal of the guide's rules says, whole: the ACK code, ERR-3 (HL7 table 0357
code), ERR-8 (the message a person reads), ERR-2 (segment, rank, field, component) and
ERR-5 (900-906 with its label). test_rules.py holds the codes and locations of each rule;
this table holds every field of the ERR on the same hand-written messages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from segurlink_mocks.mssante import PER_MAILBOX

from segurlink.cda import Validator, build_document
from segurlink.errors import InputError
from segurlink.gateway import Policy, Rejection, check
from segurlink.gateway.messages import parse_document_message
from tests.dmp import factory as f
from tests.gateway.conftest import (
    DMP_ONLY,
    FINESS,
    FLAGS,
    ROW_PS_AND_PATIENT,
    ROW_PS_ONLY,
    mdm,
    oru,
    patient_prt,
    recipient_prt,
    sender_prt,
)

POLICY = Policy(structure=FINESS, validate=Validator().validate)
DOCUMENT = f.cda(seed=11)
REPLACEMENT = build_document(f.replacement(f.make_document(seed=11), seed=13))


def _without_document() -> str:
    return "\r".join(s for s in mdm(DOCUMENT).split("\r") if not s.startswith("OBX|1|ED"))


def _twice(marker: str, renumber: tuple[str, str] | None = None) -> str:
    text = mdm(DOCUMENT)
    line = next(s for s in text.split("\r") if marker in s)
    copy = line.replace(*renumber) if renumber else line
    return text.replace(line, line + "\r" + copy)


def _no_sex() -> bytes:
    start = DOCUMENT.index(b"<administrativeGenderCode")
    return DOCUMENT[:start] + DOCUMENT[DOCUMENT.index(b"/>", start) + 2 :]


OTHER_INS = "297022A02077878^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS"
CASES: dict[str, Callable[[], str]] = {
    "not an MDM nor an ORU": lambda: mdm(DOCUMENT).replace("MDM^T02^MDM_T02", "ADT^A01^ADT_A01"),
    "unknown event": lambda: mdm(DOCUMENT).replace("MDM^T02^MDM_T02", "MDM^T11^MDM_T02"),
    "wrong structure": lambda: mdm(DOCUMENT).replace("MDM^T02^MDM_T02", "MDM^T02^MDM_T01"),
    "processing id": lambda: mdm(DOCUMENT).replace("|MSG0001|P|2.6|", "|MSG0001|X|2.6|"),
    "MDM in 2.5": lambda: mdm(DOCUMENT).replace("|MSG0001|P|2.6|", "|MSG0001|P|2.5|"),
    "ORU in 2.6": lambda: oru(DOCUMENT, version="2.6"),
    "charset 8859/1": lambda: mdm(DOCUMENT).replace("|UNICODE UTF-8|", "|8859/1|"),
    "no TXA": lambda: mdm(DOCUMENT, drop=["TXA"]),
    "no document": _without_document,
    "two documents": lambda: _twice("OBX|1|ED"),
    "document not base64": lambda: mdm(DOCUMENT).replace("^XML^Base64^", "^XML^Base64^@@@@", 1),
    "document in hex": lambda: mdm(DOCUMENT).replace("^XML^Base64^", "^XML^Hex^", 1),
    "document not XML": lambda: mdm(DOCUMENT).replace("^XML^Base64^", "^PDF^Base64^", 1),
    "not a CDA": lambda: mdm(b"<html/>", txa12="x", txa13="", pid3=""),
    "invalid CDA": lambda: mdm(
        DOCUMENT.replace(b"<title>", b"<titre>").replace(b"</title>", b"</titre>")
    ),
    "T02 with RO": lambda: mdm(DOCUMENT, event="T02", order_control="RO"),
    "T02 with OBX-11 C": lambda: mdm(DOCUMENT, event="T02", result_status="C"),
    "T02 without ORC-1": lambda: mdm(DOCUMENT, event="T02", order_control=""),
    "T02 without OBX-11": lambda: mdm(DOCUMENT, event="T02", result_status=""),
    "ORU with ORC-1 XX": lambda: oru(DOCUMENT, order_control="XX"),
    "ORU RO with F": lambda: oru(DOCUMENT, order_control="RO", result_status="F"),
    "missing flag": lambda: mdm(
        DOCUMENT, flags={k: v for k, v in ROW_PS_AND_PATIENT.items() if k != "MODIF_CONF_CODE"}
    ),
    "flags out of order": lambda: mdm(DOCUMENT, flag_order=[FLAGS[1], FLAGS[0], *FLAGS[2:]]),
    "flag value O": lambda: mdm(DOCUMENT, flags=ROW_PS_AND_PATIENT | {"CONNEXION_SECRETE": "O"}),
    "flag twice": lambda: _twice("|MASQUE_PS^", ("OBX|2|", "OBX|3|")),
    "nothing to do": lambda: mdm(DOCUMENT, flags=dict.fromkeys(FLAGS, "N")),
    "combination": lambda: mdm(DOCUMENT, flags=ROW_PS_AND_PATIENT | {"MASQUE_PS": "Y"}),
    "secret connection": lambda: mdm(
        DOCUMENT, flags=ROW_PS_AND_PATIENT | {"CONNEXION_SECRETE": "Y"}
    ),
    "another INS": lambda: mdm(DOCUMENT, pid3=OTHER_INS),
    "no INS in PID-3": lambda: mdm(DOCUMENT, pid3=f"IPP0011^^^&{f.IPP_ROOT}&ISO^PI"),
    "another local id": lambda: mdm(
        DOCUMENT,
        pid3=f"{f.ZOE[0]}^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS~IPP9999^^^&{f.IPP_ROOT}&ISO^PI",
    ),
    "INS absent from the CDA": lambda: mdm(
        DOCUMENT.replace(b'root="1.2.250.1.213.1.4.8"', b'root="1.2.250.1.999.7"'),
        pid3=f"{f.ZOE[0]}^^^&1.2.250.1.999.7&ISO^PI~IPP0011^^^&{f.IPP_ROOT}&ISO^PI",
    ),
    "INS without traits": lambda: mdm(_no_sex()),
    "TXA-12 other": lambda: mdm(DOCUMENT, txa12="1.2.3.4"),
    "TXA-12 empty": lambda: mdm(DOCUMENT, txa12=""),
    "T10 without TXA-13": lambda: mdm(REPLACEMENT, event="T10", txa13=""),
    "T10 other parent": lambda: mdm(REPLACEMENT, event="T10", txa13="9.9.9"),
    "T10 of a first version": lambda: mdm(DOCUMENT, event="T10"),
    "T02 of a replacement": lambda: mdm(REPLACEMENT, event="T02"),
    "T04 of another document": lambda: mdm(DOCUMENT, event="T04", txa12="1.2.3", flags=DMP_ONLY),
    "no sender": lambda: mdm(DOCUMENT, participants=[recipient_prt(PER_MAILBOX), patient_prt()]),
    "sender of another structure": lambda: mdm(
        DOCUMENT,
        participants=[
            sender_prt(organization="300017985"),
            recipient_prt(PER_MAILBOX),
            patient_prt(),
        ],
    ),
    "sender without structure": lambda: mdm(
        DOCUMENT,
        participants=[sender_prt(organization=""), recipient_prt(PER_MAILBOX), patient_prt()],
    ),
    "no PS recipient": lambda: mdm(DOCUMENT, participants=[sender_prt(), patient_prt()]),
    "bad address": lambda: mdm(
        DOCUMENT, participants=[sender_prt(), recipient_prt("not-an-address"), patient_prt()]
    ),
    "empty recipient": lambda: mdm(
        DOCUMENT,
        participants=[sender_prt(), "PRT||UC||RCT^Result Copies To^participation", patient_prt()],
    ),
    "patient of a PS-only document": lambda: mdm(
        DOCUMENT,
        flags=ROW_PS_ONLY,
        participants=[sender_prt(), recipient_prt(PER_MAILBOX), patient_prt()],
    ),
    "another patient address": lambda: mdm(
        DOCUMENT,
        participants=[
            sender_prt(),
            recipient_prt(PER_MAILBOX),
            patient_prt("297022A02077878@patient.mssante.fr"),
        ],
    ),
    "DMP not configured": lambda: mdm(DOCUMENT),
    "MSSante not configured": lambda: mdm(DOCUMENT),
    # Echoed input is cut (8 characters, 10 for a structure), whatever its length.
    "long message type": lambda: mdm(DOCUMENT).replace("MDM^T02^MDM_T02", "ADTXYZ123^A01^ADT_A01"),
    "long event": lambda: mdm(DOCUMENT).replace("MDM^T02^MDM_T02", "MDM^T02123456^MDM_T02"),
    "no event": lambda: mdm(DOCUMENT).replace("MDM^T02^MDM_T02", "MDM^^MDM_T02"),
    "long structure": lambda: mdm(DOCUMENT).replace("MDM^T02^MDM_T02", "MDM^T02^MDM_T02XYZW"),
    "long version": lambda: mdm(DOCUMENT).replace("|MSG0001|P|2.6|", "|MSG0001|P|2.6.1.12345|"),
    "long ORC-1": lambda: mdm(DOCUMENT, event="T02", order_control="ROXYZ"),
    "long OBX-11": lambda: mdm(DOCUMENT, event="T02", result_status="CXYZW"),
    # The PRT SB is not always the first PRT: ERR-2.2 gives its own rank.
    "sender names nobody": lambda: mdm(
        DOCUMENT,
        participants=[recipient_prt(PER_MAILBOX), sender_prt(person=""), patient_prt()],
    ),
    "second PRT sender without structure": lambda: mdm(
        DOCUMENT,
        participants=[recipient_prt(PER_MAILBOX), sender_prt(organization=""), patient_prt()],
    ),
    "CDA the validator cannot read": lambda: mdm(DOCUMENT),
    "DMP only, CDA without INS": lambda: mdm(
        DOCUMENT.replace(b'root="1.2.250.1.213.1.4.8"', b'root="1.2.250.1.999.7"'),
        flags=DMP_ONLY,
        pid3=f"{f.ZOE[0]}^^^&1.2.250.1.999.7&ISO^PI~IPP0011^^^&{f.IPP_ROOT}&ISO^PI",
    ),
    "MSSante not configured, professionals only": lambda: mdm(
        DOCUMENT, flags=ROW_PS_ONLY, participants=[sender_prt(), recipient_prt(PER_MAILBOX)]
    ),
    "an id without OID, then another local id": lambda: mdm(
        DOCUMENT,
        pid3=f"{f.ZOE[0]}^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS~IPP0011^^^LOCAL^PI"
        f"~IPP9999^^^&{f.IPP_ROOT}&ISO^PI",
    ),
}


def _validator_that_fails(document: bytes) -> Any:
    raise InputError("the validator could not run")


POLICIES = {
    "CDA the validator cannot read": Policy(FINESS, validate=_validator_that_fails),
    "MSSante not configured, professionals only": Policy(FINESS, mail=False),
    "INS without traits": Policy(FINESS),
    "DMP not configured": Policy(FINESS, dmp=False),
    "MSSante not configured": Policy(FINESS, mail=False),
}

# (ACK code, ERR-3.1, ERR-8, ERR-2.1, ERR-2.2, ERR-2.3, ERR-2.5, ERR-5.1, ERR-5.2)
# fmt: off
EXPECTED: dict[str, tuple[str, str, str, str, int, int | None, int | None, str, str]] = {
    'not an MDM nor an ORU': ('AE', '200', 'MSH-9: ADT message; the gateway takes MDM and ORU', 'MSH', 1, 9, None, '', ''),
    'unknown event': ('AE', '201', 'MSH-9.2: event T11 is not T02/T10/T04 for MDM', 'MSH', 1, 9, 2, '', ''),
    'wrong structure': ('AE', '201', 'MSH-9.3: structure MDM_T01 is not MDM_T02', 'MSH', 1, 9, 3, '', ''),
    'processing id': ('AE', '202', 'MSH-11: processing id is P, T or D', 'MSH', 1, 11, None, '', ''),
    'MDM in 2.5': ('AE', '203', 'MSH-12: MDM is HL7 2.6, not 2.5', 'MSH', 1, 12, None, '', ''),
    'ORU in 2.6': ('AE', '203', 'MSH-12: ORU is HL7 2.5, not 2.6', 'MSH', 1, 12, None, '', ''),
    'charset 8859/1': ('AE', '103', 'MSH-18: the character set is UNICODE UTF-8 or 8859/15', 'MSH', 1, 18, None, '', ''),
    'no TXA': ('AE', '100', 'the MDM has no TXA segment', 'TXA', 1, None, None, '', ''),
    'no document': ('AE', '100', 'no OBX carries the CDA document (OBX-2 ED)', 'OBX', 1, None, None, '', ''),
    'two documents': ('AE', '198', '2 documents: the gateway takes one CDA per message', 'OBX', 2, None, None, '', ''),
    'document not base64': ('AE', '102', 'OBX-5.5 is not valid base64', 'OBX', 1, 5, 5, '', ''),
    'document in hex': ('AE', '102', 'OBX-5.4 must say Base64', 'OBX', 1, 5, 5, '', ''),
    'document not XML': ('AE', '102', "OBX-5.3: the document's subtype is XML", 'OBX', 1, 5, 3, '', ''),
    'not a CDA': ('AE', '102', 'OBX-5.5 is not a readable CDA (InputError)', 'OBX', 1, 5, 5, '', ''),
    'invalid CDA': ('AE', '207', "the CDA breaks 1 rule(s) of segurlink's validator: segurlink:title", 'OBX', 1, 5, 5, '906', 'Autre erreur'),
    'T02 with RO': ('AE', '199', 'ORC-1 RO contradicts the event T02 (expects NW)', 'ORC', 1, 1, None, '', ''),
    'T02 with OBX-11 C': ('AE', '199', 'OBX-11 C contradicts ORC-1 NW (expects F)', 'OBX', 1, 11, None, '', ''),
    'T02 without ORC-1': ('AE', '199', 'ORC-1 empty contradicts the event T02 (expects NW)', 'ORC', 1, 1, None, '', ''),
    'T02 without OBX-11': ('AE', '199', 'OBX-11 empty contradicts ORC-1 NW (expects F)', 'OBX', 1, 11, None, '', ''),
    'ORU with ORC-1 XX': ('AE', '103', 'ORC-1 is NW, RO or CA', 'ORC', 1, 1, None, '', ''),
    'ORU RO with F': ('AE', '199', 'OBX-11 F contradicts ORC-1 RO (expects C)', 'OBX', 1, 11, None, '', ''),
    'missing flag': ('AE', '100', 'the metadata OBX MODIF_CONF_CODE is missing', 'OBX', 1, None, None, '', ''),
    'flags out of order': ('AE', '100', "the metadata OBX MASQUE_PS comes after INVISIBLE_PATIENT: the guide's order is MASQUE_PS, INVISIBLE_PATIENT, INVISIBLE_REP_LEGAUX, CONNEXION_SECRETE, MODIF_CONF_CODE, DESTDMP, DESTMSSANTEPS, DESTMSSANTEPAT", 'OBX', 3, None, None, '', ''),
    'flag value O': ('AE', '103', 'CONNEXION_SECRETE: OBX-5 is Y or N (HL7 table 0136)', 'OBX', 5, 5, None, '', ''),
    'flag twice': ('AE', '198', 'the metadata OBX MASQUE_PS appears twice', 'OBX', 3, None, None, '', ''),
    'nothing to do': ('AE', '207', 'DESTDMP, DESTMSSANTEPS and DESTMSSANTEPAT are all N: nothing to do', 'OBX', 7, 5, None, '906', 'Autre erreur'),
    'combination': ('AE', '207', 'these flags match no row of the MSSanté matrix: MASQUE_PS=Y, INVISIBLE_PATIENT=N, INVISIBLE_REP_LEGAUX=N, CONNEXION_SECRETE=N, MODIF_CONF_CODE=N, DESTDMP=Y, DESTMSSANTEPS=Y, DESTMSSANTEPAT=Y', 'OBX', 8, 5, None, '906', 'Autre erreur'),
    'secret connection': ('AE', '207', 'CONNEXION_SECRETE: segurlink does not make DMP deposits in secret connection', 'OBX', 5, 5, None, '906', 'Autre erreur'),
    'another INS': ('AE', '207', "PID-3 repetition 1 is not among the CDA's recordTarget ids (INS)", 'PID', 1, 3, None, '904', "L'INS transmis ne correspond pas exactement à celui stocké"),
    'no INS in PID-3': ('AE', '207', "PID-3 does not carry the CDA's INS", 'PID', 1, 3, None, '904', "L'INS transmis ne correspond pas exactement à celui stocké"),
    'another local id': ('AE', '207', "PID-3 repetition 2 is not among the CDA's recordTarget ids", 'PID', 1, 3, None, '906', 'Autre erreur'),
    'INS absent from the CDA': ('AE', '207', 'the CDA carries no INS: no DMP deposit and no mail to the patient without it', 'PID', 1, 3, None, '903', 'INS non présent dans le document'),
    'INS without traits': ('AE', '207', "the CDA's INS comes without every trait (birth name, first names, sex, birth date)", 'PID', 1, 3, None, '905', "L'INS transmis n'est pas complet"),
    'TXA-12 other': ('AE', '207', "TXA-12 is not the CDA's ClinicalDocument/id", 'TXA', 1, 12, None, '906', 'Autre erreur'),
    'TXA-12 empty': ('AE', '101', 'TXA-12 (unique document number) is empty', 'TXA', 1, 12, None, '', ''),
    'T10 without TXA-13': ('AE', '101', 'TXA-13 (parent document) is required for a T10', 'TXA', 1, 13, None, '', ''),
    'T10 other parent': ('AE', '207', 'TXA-13 is not the document the CDA replaces (relatedDocument/parentDocument/id)', 'TXA', 1, 13, None, '900', "Version du document incorrecte lors d'une demande de remplacement/suppression"),
    'T10 of a first version': ('AE', '207', 'a replacement carries the new CDA version with relatedDocument typeCode RPLC', 'OBX', 1, 5, 5, '900', "Version du document incorrecte lors d'une demande de remplacement/suppression"),
    'T02 of a replacement': ('AE', '207', 'this CDA replaces another document (relatedDocument RPLC): send it as T10 / RO / C', 'OBX', 1, 5, 5, '906', 'Autre erreur'),
    'T04 of another document': ('AE', '207', "TXA-12 is not the CDA's ClinicalDocument/id", 'TXA', 1, 12, None, '900', "Version du document incorrecte lors d'une demande de remplacement/suppression"),
    'no sender': ('AE', '101', 'no PRT SB (Send by): the DMP needs the sender', 'PRT', 1, 4, None, '', ''),
    'sender of another structure': ('AE', '207', "PRT SB-8.10: the sender's organisation is not this platform's structure", 'PRT', 1, 8, 10, '901', 'Auteur non autorisé à remplacer ou supprimer un document'),
    'sender without structure': ('AE', '101', "PRT SB-8.10: the sender's organisation is required for the DMP", 'PRT', 1, 8, 10, '', ''),
    'no PS recipient': ('AE', '101', "DESTMSSANTEPS is Y but no PRT RCT names a professional's address", 'PRT', 1, 4, None, '', ''),
    'bad address': ('AE', '102', 'PRT RCT-15.4 is not an e-mail address', 'PRT', 2, 15, 4, '', ''),
    'empty recipient': ('AE', '101', 'PRT RCT-15: no ^^X.400^ address', 'PRT', 2, 15, None, '', ''),
    'patient of a PS-only document': ('AE', '207', 'PRT RCT names the patient but DESTMSSANTEPAT is N: a document invisible to the patient is never mailed to the patient', 'PRT', 3, 15, None, '906', 'Autre erreur'),
    'another patient address': ('AE', '207', "PRT RCT-15: the patient's address is not the one of the CDA's INS", 'PRT', 3, 15, None, '904', "L'INS transmis ne correspond pas exactement à celui stocké"),
    'DMP not configured': ('AR', '207', 'the DMP is not configured on this platform: send again later', '', 1, None, None, '', ''),
    'MSSante not configured': ('AR', '207', 'MSSanté is not configured on this platform: send again later', '', 1, None, None, '', ''),
    'long message type': ('AE', '200', 'MSH-9: ADTXYZ12 message; the gateway takes MDM and ORU', 'MSH', 1, 9, None, '', ''),
    'long event': ('AE', '201', 'MSH-9.2: event T0212345 is not T02/T10/T04 for MDM', 'MSH', 1, 9, 2, '', ''),
    'no event': ('AE', '201', 'MSH-9.2: event missing is not T02/T10/T04 for MDM', 'MSH', 1, 9, 2, '', ''),
    'long structure': ('AE', '201', 'MSH-9.3: structure MDM_T02XYZ is not MDM_T02', 'MSH', 1, 9, 3, '', ''),
    'long version': ('AE', '203', 'MSH-12: MDM is HL7 2.6, not 2.6.1.12', 'MSH', 1, 12, None, '', ''),
    'long ORC-1': ('AE', '199', 'ORC-1 ROXY contradicts the event T02 (expects NW)', 'ORC', 1, 1, None, '', ''),
    'long OBX-11': ('AE', '199', 'OBX-11 CXYZ contradicts ORC-1 NW (expects F)', 'OBX', 1, 11, None, '', ''),
    'sender names nobody': ('AE', '101', 'PRT SB names no person (PRT-5) and no device (PRT-10)', 'PRT', 2, 5, None, '', ''),
    'second PRT sender without structure': ('AE', '101', "PRT SB-8.10: the sender's organisation is required for the DMP", 'PRT', 2, 8, 10, '', ''),
    'CDA the validator cannot read': ('AE', '102', 'OBX-5.5: the CDA cannot be validated (InputError)', 'OBX', 1, 5, 5, '', ''),
    'DMP only, CDA without INS': ('AE', '207', 'the CDA carries no INS: no DMP deposit and no mail to the patient without it', 'PID', 1, 3, None, '903', 'INS non présent dans le document'),
    'MSSante not configured, professionals only': ('AR', '207', 'MSSanté is not configured on this platform: send again later', '', 1, None, None, '', ''),
    'an id without OID, then another local id': ('AE', '207', "PID-3 repetition 3 is not among the CDA's recordTarget ids", 'PID', 1, 3, None, '906', 'Autre erreur'),
}
# fmt: on


def test_every_case_has_its_expected_error() -> None:
    assert set(EXPECTED) == set(CASES)


@pytest.mark.parametrize("case", list(CASES))
def test_each_refusal_whole(case: str) -> None:
    result = check(parse_document_message(CASES[case]().encode()), POLICIES.get(case, POLICY))
    assert isinstance(result, Rejection), result
    error = result.error
    assert (
        result.code.value, error.code, error.message, error.segment, error.sequence,
        error.field, error.component, error.application_code, error.application_label,
    ) == EXPECTED[case]  # fmt: skip


def test_a_cda_breaking_many_rules_names_five_of_them() -> None:
    document = DOCUMENT
    for tag in (b"title", b"languageCode", b"realmCode", b"typeId", b"setId", b"versionNumber"):
        start = document.index(b"<" + tag)
        end = document.index(b">", start) + 1
        if not document[start:end].endswith(b"/>"):
            end = document.index(b"</" + tag + b">", start) + len(tag) + 3
        document = document[:start] + document[end:]
    result = check(parse_document_message(mdm(document).encode()), POLICY)
    assert isinstance(result, Rejection)
    assert result.error.message == (
        "the CDA breaks 6 rule(s) of segurlink's validator: segurlink:realm, "
        "segurlink:type-id, segurlink:title, segurlink:language, segurlink:set-id"
    )


# -- where an accepted message goes, whole ------------------------------------------------------


def test_the_routing_of_a_message_to_the_dmp_professionals_and_the_patient() -> None:
    from segurlink_mocks.mssante import REMOTE_PER_MAILBOX

    from segurlink.gateway import Accepted, Action
    from segurlink.gateway.models import DmpOrder, MailOrder, Routing
    from tests.gateway.conftest import reply_prt

    participants = [
        sender_prt(),
        recipient_prt(PER_MAILBOX, "101234567897"),
        recipient_prt(REMOTE_PER_MAILBOX),
        recipient_prt(PER_MAILBOX),  # the same address again: one recipient
        patient_prt(),
        reply_prt("sec@x.mssante.fr"),
    ]
    bodies = {"CORPSMAIL_PS": "Cher confrère", "CORPSMAIL_PATIENT": "Bonjour"}
    text = mdm(DOCUMENT, fin=True, bodies=bodies, participants=participants)
    result = check(parse_document_message(text.encode()), POLICY)
    assert isinstance(result, Accepted)
    assert result.routing == Routing(
        dmp=DmpOrder(
            action=Action.INITIAL, hidden_from=(), sender_id="801234567866",
            sender_family="DUPONT", sender_given="JEAN",
            content_type=("97", "1.2.250.1.213.2.2", ""),
        ),
        mails=(
            MailOrder(
                audience="ps", to=(PER_MAILBOX, REMOTE_PER_MAILBOX), text="Cher confrère",
                people=((PER_MAILBOX, "101234567897"),), reply_to="sec@x.mssante.fr",
                action=Action.INITIAL, delivery_receipts=True, read_receipts=True,
            ),
            MailOrder(
                audience="patient", to_patient=True, text="Bonjour", no_reply=True,
                people=(("275126322074974@patient.mssante.fr", "275126322074974"),),
                reply_to="sec@x.mssante.fr", action=Action.INITIAL, delivery_receipts=True,
                read_receipts=True,
            ),
        ),
        dmp_receipt=True,
    )  # fmt: skip
    from segurlink.cda import parse_header

    assert (result.document, result.document_sequence) == (DOCUMENT, 1)
    assert result.header == parse_header(DOCUMENT)


def test_receipts_only_as_the_producer_asked() -> None:
    from segurlink.gateway import Accepted

    text = mdm(DOCUMENT, acks={"ACK_RECEPTION": "N"})
    result = check(parse_document_message(text.encode()), POLICY)
    assert isinstance(result, Accepted)
    assert result.routing.dmp_receipt is False
    assert [(m.delivery_receipts, m.read_receipts, m.text) for m in result.routing.mails] == [
        (False, False, ""),
        (False, False, ""),
    ]
    mail_only = check(
        parse_document_message(mdm(DOCUMENT, flags=ROW_PS_AND_PATIENT | {"DESTDMP": "N"}).encode()),
        POLICY,
    )
    assert isinstance(mail_only, Accepted)
    assert (mail_only.routing.dmp, mail_only.routing.dmp_receipt) == (None, False)


def test_absent_receipt_flags_ask_for_no_receipt() -> None:
    from segurlink.gateway import Accepted

    lines = mdm(DOCUMENT).split("\r")
    text = "\r".join(
        s for s in lines if "|ACK_RECEPTION^" not in s and "|ACK_LECTURE_MSS^" not in s
    )
    assert text != mdm(DOCUMENT)
    result = check(parse_document_message(text.encode()), POLICY)
    assert isinstance(result, Accepted)
    assert result.routing.dmp_receipt is False
    assert {(m.delivery_receipts, m.read_receipts) for m in result.routing.mails} == {
        (False, False)
    }


@pytest.mark.parametrize("number", [1, 2, 3])
def test_a_matrix_row_reads_absent_flags_as_no(number: int) -> None:
    from segurlink.gateway import matrix_row
    from segurlink.gateway.rules import MSSANTE_MATRIX

    row = MSSANTE_MATRIX[number - 1]
    assert matrix_row({code: True for code, want in row.items() if want}) == number
