"""The guide's rules, one by one, on hand-written messages: each broken rule gives its
ACK code and exact ERR fields (ERR-2 location, ERR-3 table 0357 code, ERR-5 900-906);
the MSSanté matrix against an independent reading of the guide's table; the routes."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from segurlink_mocks.mssante import PER_MAILBOX, REMOTE_PER_MAILBOX

from segurlink.cda import Validator, build_document
from segurlink.gateway import Accepted, Action, Policy, Rejection, check, matrix_row
from segurlink.gateway.messages import parse_document_message
from segurlink.gateway.rules import MSSANTE_MATRIX
from segurlink.hl7.models import AckCode
from tests.dmp import factory as f
from tests.gateway.conftest import (
    DMP_ONLY,
    FINESS,
    FLAGS,
    ROW_PATIENT_ONLY,
    ROW_PS_AND_PATIENT,
    ROW_PS_ONLY,
    SENDER_ID,
    ZOE_ADDRESS,
    mdm,
    oru,
    patient_prt,
    recipient_prt,
    reply_prt,
    sender_prt,
)

POLICY = Policy(structure=FINESS, validate=Validator().validate)
DOCUMENT = f.cda(seed=11)


def verdict(text: str, policy: Policy = POLICY) -> Accepted | Rejection:
    return check(parse_document_message(text.encode("utf-8")), policy)


def refused(text: str, policy: Policy = POLICY) -> Rejection:
    result = verdict(text, policy)
    assert isinstance(result, Rejection), result
    return result


def accepted(text: str, policy: Policy = POLICY) -> Accepted:
    result = verdict(text, policy)
    assert isinstance(result, Accepted), result.error if isinstance(result, Rejection) else result
    return result


def err(rejection: Rejection) -> tuple[str, str, int, int | None, int | None, str]:
    e = rejection.error
    return (rejection.code.value, e.code, e.sequence, e.field, e.component, e.application_code)


def test_a_well_formed_t02_is_accepted_and_routed() -> None:
    result = accepted(
        mdm(DOCUMENT, bodies={"CORPSMAIL_PS": "Cher confrère", "CORPSMAIL_PATIENT": "Bonjour"})
    )
    assert result.action is Action.INITIAL and result.document == DOCUMENT
    dmp = result.routing.dmp
    assert dmp is not None
    assert (dmp.action, dmp.hidden_from, dmp.sender_id) == (Action.INITIAL, (), SENDER_ID)
    assert dmp.content_type == ("97", "1.2.250.1.213.2.2", "")  # PV1-2 N
    ps, patient = result.routing.mails
    assert (ps.audience, ps.to, ps.to_patient, ps.text) == (
        "ps",
        (PER_MAILBOX, REMOTE_PER_MAILBOX),
        False,
        "Cher confrère",
    )
    assert dict(ps.people) == {PER_MAILBOX: "101234567897"}
    assert (patient.audience, patient.to, patient.to_patient, patient.text) == (
        "patient",
        (),
        True,
        "Bonjour",
    )
    assert dict(patient.people) == {ZOE_ADDRESS: f.ZOE[0]}
    assert ps.delivery_receipts and ps.read_receipts and result.routing.dmp_receipt


@pytest.mark.parametrize("separator", ["\r", "\n", "\r\n"])
def test_segments_may_end_with_cr_lf_or_crlf(separator: str) -> None:
    assert accepted(mdm(DOCUMENT, separator=separator)).document == DOCUMENT


def test_an_8859_15_message_is_read_with_its_charset() -> None:
    text = mdm(DOCUMENT, charset="8859/15").replace("^HODA^", "^HODÉ€^")
    message = parse_document_message(text.encode("iso8859-15"))
    assert message.participants[1].family == "HODÉ€"
    assert isinstance(check(message, POLICY), Accepted)
    with pytest.raises(Exception, match="MSH-18"):  # the same bytes declared UTF-8
        parse_document_message(text.replace("8859/15", "UNICODE UTF-8").encode("iso8859-15"))


def test_the_oru_r01_takes_the_action_from_orc_and_obx() -> None:
    assert accepted(oru(DOCUMENT)).action is Action.INITIAL
    replacement = build_document(f.replacement(f.make_document(seed=11), seed=12))
    assert accepted(oru(replacement, event="T10")).action is Action.REPLACE


# -- MSH ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("MDM^T02^MDM_T02", "ADT^A01^ADT_A01"), ("AE", "200", 1, 9, None, "")),
        (("MDM^T02^MDM_T02", "MDM^T11^MDM_T02"), ("AE", "201", 1, 9, 2, "")),
        (("MDM^T02^MDM_T02", "MDM^T02^MDM_T01"), ("AE", "201", 1, 9, 3, "")),
        (("|MSG0001|P|2.6|", "|MSG0001|X|2.6|"), ("AE", "202", 1, 11, None, "")),
        (("|MSG0001|P|2.6|", "|MSG0001|P|2.5|"), ("AE", "203", 1, 12, None, "")),
        (("|UNICODE UTF-8|", "|8859/1|"), ("AE", "103", 1, 18, None, "")),
    ],
)
def test_msh_rules(change: tuple[str, str], expected: tuple[Any, ...]) -> None:
    rejection = refused(mdm(DOCUMENT).replace(*change))
    assert err(rejection) == expected
    assert rejection.error.segment == "MSH"


def test_an_oru_in_2_6_is_refused() -> None:
    assert err(refused(oru(DOCUMENT, version="2.6"))) == ("AE", "203", 1, 12, None, "")


def test_an_unreadable_charset_is_an_hl7_error() -> None:
    from segurlink.errors import Hl7Error

    with pytest.raises(Hl7Error) as caught:
        parse_document_message(mdm(DOCUMENT).replace("UNICODE UTF-8", "KOI8-R").encode())
    assert (caught.value.location, caught.value.code) == ("MSH-18", "103")


@pytest.mark.parametrize("segment", ["EVN", "PID", "PV1", "ORC", "OBR", "TXA"])
def test_every_required_segment(segment: str) -> None:
    rejection = refused(mdm(DOCUMENT, drop=[segment]))
    assert err(rejection) == ("AE", "100", 1, None, None, "")
    assert rejection.error.segment == segment


# -- the document OBX ---------------------------------------------------------------------------


def test_no_document_obx() -> None:
    text = "\r".join(s for s in mdm(DOCUMENT).split("\r") if not s.startswith("OBX|1|ED"))
    rejection = refused(text)
    assert err(rejection) == ("AE", "100", 1, None, None, "") and rejection.error.segment == "OBX"


def test_two_documents_are_refused() -> None:
    text = mdm(DOCUMENT)
    first = next(s for s in text.split("\r") if s.startswith("OBX|1|ED"))
    rejection = refused(text.replace(first, first + "\r" + first))
    assert err(rejection) == ("AE", "198", 2, None, None, "")


@pytest.mark.parametrize(
    ("old", "new", "component"),
    [
        ("^XML^Base64^", "^XML^Base64^@@@@", 5),
        ("^XML^Base64^", "^XML^Hex^", 5),
        ("^XML^Base64^", "^PDF^Base64^", 3),
    ],
)
def test_the_document_must_decode(old: str, new: str, component: int) -> None:
    rejection = refused(mdm(DOCUMENT).replace(old, new, 1))
    assert err(rejection) == ("AE", "102", 1, 5, component, "")


def test_a_document_that_is_not_a_cda() -> None:
    rejection = refused(mdm(b"<html/>", txa12="x", txa13="", pid3=""))
    assert err(rejection)[:4] == ("AE", "102", 1, 5)


def test_a_cda_that_breaks_the_validator_is_207_906() -> None:
    broken = DOCUMENT.replace(b"<title>", b"<titre>").replace(b"</title>", b"</titre>")
    rejection = refused(mdm(broken))
    assert err(rejection) == ("AE", "207", 1, 5, 5, "906")
    assert rejection.error.application_label == "Autre erreur"


# -- event / ORC-1 / OBX-11 ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "orc", "obx", "expected"),
    [
        ("T02", "RO", None, ("AE", "199", 1, 1, None, "")),
        ("T02", "CA", None, ("AE", "199", 1, 1, None, "")),
        ("T02", None, "C", ("AE", "199", 1, 11, None, "")),
        ("T02", None, "D", ("AE", "199", 1, 11, None, "")),
        ("T10", "NW", None, ("AE", "199", 1, 1, None, "")),
        ("T04", None, "F", ("AE", "199", 1, 11, None, "")),
    ],
)
def test_event_orc_obx_consistency(
    event: str, orc: str | None, obx: str | None, expected: tuple[Any, ...]
) -> None:
    rejection = refused(mdm(DOCUMENT, event=event, order_control=orc, result_status=obx))
    assert err(rejection) == expected
    assert rejection.error.segment == ("ORC" if orc else "OBX")


def test_oru_orc_and_obx_must_agree() -> None:
    assert err(refused(oru(DOCUMENT, order_control="XX"))) == ("AE", "103", 1, 1, None, "")
    assert err(refused(oru(DOCUMENT, order_control="RO", result_status="F")))[:2] == ("AE", "199")


# -- metadata flags -------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", FLAGS)
def test_every_flag_is_required(missing: str) -> None:
    flags = {k: v for k, v in ROW_PS_AND_PATIENT.items() if k != missing}
    rejection = refused(mdm(DOCUMENT, flags=flags))
    assert err(rejection) == ("AE", "100", 1, None, None, "")
    assert rejection.error.segment == "OBX" and missing in rejection.error.message


def test_flags_in_the_guides_order() -> None:
    order = list(FLAGS)
    order[0], order[1] = order[1], order[0]
    rejection = refused(mdm(DOCUMENT, flag_order=order))
    # OBX 2 is INVISIBLE_PATIENT, OBX 3 MASQUE_PS: the second one is out of order.
    assert err(rejection) == ("AE", "100", 3, None, None, "")


def test_flag_values_are_y_or_n() -> None:
    rejection = refused(mdm(DOCUMENT, flags=ROW_PS_AND_PATIENT | {"CONNEXION_SECRETE": "O"}))
    assert err(rejection) == ("AE", "103", 5, 5, None, "")


def test_a_flag_twice() -> None:
    text = mdm(DOCUMENT)
    line = next(s for s in text.split("\r") if "|MASQUE_PS^" in s)
    rejection = refused(text.replace(line, line + "\r" + line.replace("OBX|2|", "OBX|3|")))
    assert err(rejection)[:2] == ("AE", "198")


def test_optional_flags_and_bodies_may_come_anywhere_after() -> None:
    # The complete ANS example puts CORPSMAIL_PS before ACK_RECEPTION: still read.
    result = accepted(mdm(DOCUMENT, bodies={"CORPSMAIL_PS": "x"}, acks={"ACK_RECEPTION": "N"}))
    assert not result.routing.mails[0].read_receipts


def test_the_guides_ack_lecture_spelling_is_read() -> None:
    text = mdm(DOCUMENT).replace("ACK_LECTURE_MSS^", "ACK_LECTURE^")
    assert accepted(text).routing.mails[0].read_receipts


# -- the MSSanté matrix --------------------------------------------------------------------------

# The guide's table, written out again here as three strings (Y, N or . for "any"), in
# the order MASQUE_PS INVISIBLE_PATIENT INVISIBLE_REP_LEGAUX CONNEXION_SECRETE
# MODIF_CONF_CODE DESTDMP DESTMSSANTEPS DESTMSSANTEPAT.
GUIDE_ROWS = ("NNN...YY", "NYN...YN", ".N.N.NNY")


def _guide_allows(values: tuple[bool, ...]) -> bool:
    return any(
        all(p == "." or (p == "Y") == v for p, v in zip(row, values, strict=True))
        for row in GUIDE_ROWS
    )


def test_the_matrix_has_the_guides_three_rows() -> None:
    allowed = 0
    for values in itertools.product((False, True), repeat=8):
        flags = dict(zip(FLAGS, values, strict=True))
        row = matrix_row(flags)
        assert (row is not None) == _guide_allows(values), flags
        allowed += row is not None
    # rows 1 and 2: 2^3 each (CS, MCC, DESTDMP any); row 3: 2^3 (MASQUE_PS, INV_REP, MCC)
    assert allowed == 24
    assert len(MSSANTE_MATRIX) == 3


@pytest.mark.parametrize(
    "flags",
    [ROW_PS_AND_PATIENT, ROW_PS_ONLY, ROW_PATIENT_ONLY, DMP_ONLY],
    ids=["row1", "row2", "row3", "dmp"],
)
def test_each_allowed_row_is_accepted(flags: dict[str, str]) -> None:
    participants = [sender_prt(), recipient_prt(PER_MAILBOX)]
    if flags["DESTMSSANTEPAT"] == "Y":
        participants.append(patient_prt())
    result = accepted(mdm(DOCUMENT, flags=flags, participants=participants))
    audiences = [m.audience for m in result.routing.mails]
    expected = [
        a
        for a, key in (("ps", "DESTMSSANTEPS"), ("patient", "DESTMSSANTEPAT"))
        if flags[key] == "Y"
    ]
    assert audiences == expected
    assert (result.routing.dmp is not None) == (flags["DESTDMP"] == "Y")


REFUSED_COMBINATIONS = [
    ROW_PS_AND_PATIENT | {"MASQUE_PS": "Y"},
    ROW_PS_AND_PATIENT | {"INVISIBLE_PATIENT": "Y"},
    ROW_PS_AND_PATIENT | {"INVISIBLE_REP_LEGAUX": "Y"},
    ROW_PS_ONLY | {"INVISIBLE_PATIENT": "N"},
    ROW_PS_ONLY | {"MASQUE_PS": "Y"},
    ROW_PS_ONLY | {"INVISIBLE_REP_LEGAUX": "Y"},  # the complete ANS example's combination
    ROW_PATIENT_ONLY | {"DESTDMP": "Y"},
    ROW_PATIENT_ONLY | {"CONNEXION_SECRETE": "Y"},
    ROW_PATIENT_ONLY | {"INVISIBLE_PATIENT": "Y"},
]


@pytest.mark.parametrize("flags", REFUSED_COMBINATIONS)
def test_other_combinations_are_refused_207_906(flags: dict[str, str]) -> None:
    rejection = refused(mdm(DOCUMENT, flags=flags))
    code, hl7, sequence, field, _, application = err(rejection)
    assert (code, hl7, field, application) == ("AE", "207", 5, "906")
    assert sequence == (8 if flags["DESTMSSANTEPS"] == "Y" else 9)
    assert rejection.error.segment == "OBX" and "matrix" in rejection.error.message


def test_every_flag_combination_gets_the_guides_answer() -> None:
    """All 256 combinations through the whole check: accepted when the guide's table
    allows it (or the message only goes to the DMP, outside the MSSanté table), else
    ``AE`` with ERR 207 / 906 at the flag that asks for the refused route."""

    def sequence(code: str) -> int:
        return FLAGS.index(code) + 2  # the flags' OBX follow the document's, in order

    outcomes: dict[str, int] = {}
    for values in itertools.product("NY", repeat=8):
        flags = dict(zip(FLAGS, values, strict=True))
        mail = "Y" in (flags["DESTMSSANTEPS"], flags["DESTMSSANTEPAT"])
        participants = [sender_prt(), recipient_prt(PER_MAILBOX)]
        if flags["DESTMSSANTEPAT"] == "Y":
            participants.append(patient_prt())
        result = verdict(mdm(DOCUMENT, flags=flags, participants=participants))
        if not mail and flags["DESTDMP"] == "N":
            expected: tuple[Any, ...] | None = ("AE", "207", sequence("DESTDMP"), 5, None, "906")
        elif mail and not _guide_allows(tuple(v == "Y" for v in values)):
            at = "DESTMSSANTEPS" if flags["DESTMSSANTEPS"] == "Y" else "DESTMSSANTEPAT"
            expected = ("AE", "207", sequence(at), 5, None, "906")
        elif flags["DESTDMP"] == "Y" and flags["CONNEXION_SECRETE"] == "Y":
            expected = ("AE", "207", sequence("CONNEXION_SECRETE"), 5, None, "906")
        else:
            expected = None
        if expected is None:
            assert isinstance(result, Accepted), (flags, result)
            outcome = "accepted"
        else:
            assert isinstance(result, Rejection), flags
            assert err(result) == expected, flags
            outcome = "refused"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    # rows 1 and 2: 8 each (CS, MCC, DESTDMP any) but the 2 with CS=Y and DESTDMP=Y;
    # row 3: 8 (MASQUE_PS, INV_REP, MCC any); DMP only: 2^5 without the 16 with CS=Y
    assert outcomes == {"accepted": 6 + 6 + 8 + 16, "refused": 256 - 36}


def test_nothing_to_do_is_refused() -> None:
    assert err(refused(mdm(DOCUMENT, flags=dict.fromkeys(FLAGS, "N")))) == (
        "AE",
        "207",
        7,
        5,
        None,
        "906",
    )


def test_secret_connection_to_the_dmp_is_refused() -> None:
    rejection = refused(mdm(DOCUMENT, flags=ROW_PS_AND_PATIENT | {"CONNEXION_SECRETE": "Y"}))
    assert err(rejection) == ("AE", "207", 5, 5, None, "906")


def test_a_service_not_configured_is_ar() -> None:
    assert refused(mdm(DOCUMENT), Policy(FINESS, dmp=False)).code is AckCode.AR
    assert refused(mdm(DOCUMENT), Policy(FINESS, mail=False)).code is AckCode.AR
    assert isinstance(verdict(mdm(DOCUMENT, flags=DMP_ONLY), Policy(FINESS, mail=False)), Accepted)


# -- the patient --------------------------------------------------------------------------------


def test_pid3_must_carry_the_cdas_ins() -> None:
    other = "297022A02077878^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS"
    assert err(refused(mdm(DOCUMENT, pid3=other))) == ("AE", "207", 1, 3, None, "904")
    assert err(refused(mdm(DOCUMENT, pid3=f"IPP0011^^^&{f.IPP_ROOT}&ISO^PI"))) == (
        "AE",
        "207",
        1,
        3,
        None,
        "904",
    )


def test_pid3_ids_must_be_the_cdas() -> None:
    pid3 = f"{f.ZOE[0]}^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS~IPP9999^^^&{f.IPP_ROOT}&ISO^PI"
    assert err(refused(mdm(DOCUMENT, pid3=pid3))) == ("AE", "207", 1, 3, None, "906")


def test_an_ins_absent_from_the_cda_is_903() -> None:
    document = DOCUMENT.replace(b'root="1.2.250.1.213.1.4.8"', b'root="1.2.250.1.999.7"')
    pid3 = f"{f.ZOE[0]}^^^&1.2.250.1.999.7&ISO^PI~IPP0011^^^&{f.IPP_ROOT}&ISO^PI"
    assert err(refused(mdm(document, pid3=pid3))) == ("AE", "207", 1, 3, None, "903")


def test_an_ins_without_its_traits_is_905() -> None:
    start = DOCUMENT.index(b"<administrativeGenderCode")
    stripped = DOCUMENT[:start] + DOCUMENT[DOCUMENT.index(b"/>", start) + 2 :]
    rejection = refused(mdm(stripped), Policy(FINESS))  # no validator: the rule itself
    assert err(rejection) == ("AE", "207", 1, 3, None, "905")


# -- document ids -------------------------------------------------------------------------------


def test_txa12_is_the_cdas_id() -> None:
    assert err(refused(mdm(DOCUMENT, txa12="1.2.3.4"))) == ("AE", "207", 1, 12, None, "906")
    assert err(refused(mdm(DOCUMENT, txa12=""))) == ("AE", "101", 1, 12, None, "")


def test_a_t10_names_the_replaced_document() -> None:
    replacement = build_document(f.replacement(f.make_document(seed=11), seed=13))
    assert accepted(mdm(replacement, event="T10")).action is Action.REPLACE
    assert err(refused(mdm(replacement, event="T10", txa13=""))) == ("AE", "101", 1, 13, None, "")
    assert err(refused(mdm(replacement, event="T10", txa13="9.9.9"))) == (
        "AE",
        "207",
        1,
        13,
        None,
        "900",
    )
    assert err(refused(mdm(DOCUMENT, event="T10"))) == ("AE", "207", 1, 5, 5, "900")
    assert err(refused(mdm(replacement, event="T02"))) == ("AE", "207", 1, 5, 5, "906")


def test_a_t04_deletes_the_cdas_document() -> None:
    result = accepted(mdm(DOCUMENT, event="T04", flags=DMP_ONLY))
    assert result.action is Action.DELETE and result.routing.dmp is not None
    assert err(refused(mdm(DOCUMENT, event="T04", txa12="1.2.3", flags=DMP_ONLY))) == (
        "AE",
        "207",
        1,
        12,
        None,
        "900",
    )


# -- participants -------------------------------------------------------------------------------


def test_the_dmp_needs_a_sender_of_this_structure() -> None:
    without = [recipient_prt(PER_MAILBOX), patient_prt()]
    assert err(refused(mdm(DOCUMENT, participants=without))) == ("AE", "101", 1, 4, None, "")
    other = [sender_prt(organization="300017985"), recipient_prt(PER_MAILBOX), patient_prt()]
    assert err(refused(mdm(DOCUMENT, participants=other))) == ("AE", "207", 1, 8, 10, "901")
    no_org = [sender_prt(organization=""), recipient_prt(PER_MAILBOX), patient_prt()]
    assert err(refused(mdm(DOCUMENT, participants=no_org))) == ("AE", "101", 1, 8, 10, "")
    as_idnst = [sender_prt(organization="1" + FINESS), recipient_prt(PER_MAILBOX), patient_prt()]
    assert accepted(mdm(DOCUMENT, participants=as_idnst)).routing.dmp is not None


def test_mail_recipients_need_addresses() -> None:
    no_ps = [sender_prt(), patient_prt()]
    assert err(refused(mdm(DOCUMENT, participants=no_ps))) == ("AE", "101", 1, 4, None, "")
    bad = [sender_prt(), recipient_prt("not-an-address"), patient_prt()]
    assert err(refused(mdm(DOCUMENT, participants=bad))) == ("AE", "102", 2, 15, 4, "")
    empty = [sender_prt(), "PRT||UC||RCT^Result Copies To^participation", patient_prt()]
    assert err(refused(mdm(DOCUMENT, participants=empty))) == ("AE", "101", 2, 15, None, "")


def test_a_document_invisible_to_the_patient_is_never_mailed_to_the_patient() -> None:
    participants = [sender_prt(), recipient_prt(PER_MAILBOX), patient_prt()]
    rejection = refused(mdm(DOCUMENT, flags=ROW_PS_ONLY, participants=participants))
    assert err(rejection) == ("AE", "207", 3, 15, None, "906")
    result = accepted(mdm(DOCUMENT, flags=ROW_PS_ONLY, participants=participants[:2]))
    assert [m.audience for m in result.routing.mails] == ["ps"]
    assert all(not m.to_patient and ZOE_ADDRESS not in m.to for m in result.routing.mails)


def test_the_patients_address_is_the_cdas_ins() -> None:
    participants = [
        sender_prt(),
        recipient_prt(PER_MAILBOX),
        patient_prt("297022A02077878@patient.mssante.fr"),
    ]
    assert err(refused(mdm(DOCUMENT, participants=participants))) == (
        "AE",
        "207",
        3,
        15,
        None,
        "904",
    )


def test_reply_to_fin_and_bodies_are_routed() -> None:
    participants = [
        sender_prt(),
        recipient_prt(PER_MAILBOX),
        patient_prt(),
        reply_prt(REMOTE_PER_MAILBOX),
    ]
    result = accepted(
        mdm(
            DOCUMENT,
            participants=participants,
            fin=True,
            bodies={"CORPSMAIL_PATIENT": "Bonjour Zoé"},
        )
    )
    ps, patient = result.routing.mails
    assert ps.reply_to == patient.reply_to == REMOTE_PER_MAILBOX
    assert (ps.no_reply, patient.no_reply) == (False, True)
    assert (ps.text, patient.text) == ("", "Bonjour Zoé")


def test_hidden_from_comes_from_the_flags() -> None:
    flags = DMP_ONLY | {"MASQUE_PS": "Y", "INVISIBLE_PATIENT": "Y", "INVISIBLE_REP_LEGAUX": "Y"}
    dmp = accepted(mdm(DOCUMENT, flags=flags)).routing.dmp
    assert dmp is not None
    assert dmp.hidden_from == ("MASQUE_PS", "INVISIBLE_PATIENT", "INVISIBLE_REPRESENTANTS_LEGAUX")


@pytest.mark.parametrize(
    ("pv1", "code"), [("I", "03"), ("O", "07"), ("E", "07"), ("R", "19"), ("N", "97"), ("B", None)]
)
def test_content_type_from_pv1_2(pv1: str, code: str | None) -> None:
    dmp = accepted(mdm(DOCUMENT, flags=DMP_ONLY, patient_class=pv1)).routing.dmp
    assert dmp is not None
    assert (dmp.content_type[0] if dmp.content_type else None) == code
