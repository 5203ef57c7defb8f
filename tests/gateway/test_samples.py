"""The guides' own examples (``hl7-samples/mdm-gateway/``, partial messages that keep their
typos) read tolerantly; their ACKs read by segurlink and matched by segurlink's ACKs; the
complete ANS MDM sample read and judged."""

from __future__ import annotations

import datetime as dt

import pytest

from segurlink.gateway import Rejection, check, matrix_row, parse_extract
from segurlink.gateway.messages import document_ack, parse_document_message
from segurlink.gateway.models import REQUIRED_FLAGS
from segurlink.gateway.rules import Policy
from segurlink.hl7 import parse_ack, parse_header
from segurlink.hl7.models import AckCode
from tests.conftest import shared_path
from tests.gateway.conftest import FINESS, field_text, hl7_fields

FOLDER = "hl7-samples/mdm-gateway"
PATIENT = "146026322000196@patient.mssante.fr"
DOCTOR = "adam.hoda@test-ci-sis.mssante.fr"
CDA_TEXT = "Document médical au format CDA".encode()


def extract(name: str):  # type: ignore[no-untyped-def]
    return parse_extract(shared_path(FOLDER, name).read_text(encoding="utf-8"))


def flags(message) -> dict[str, bool]:  # type: ignore[no-untyped-def]
    return {f.code: f.yes for f in message.flags}


def test_example_0_initial_with_every_recipient() -> None:
    message = extract("cda_mdm_ex0_T02_initial_obx_group.hl7")
    (document,) = message.documents
    # base64 cut over two lines and without its padding, still read
    assert (document.content, document.result_status, document.type_code) == (
        CDA_TEXT,
        "F",
        "18748-4",
    )
    sender = message.sender
    assert sender is not None
    assert (sender.person_id, sender.family, sender.given) == ("801234567866", "Dupont", "Jean")
    assert (sender.organization_id_type, sender.organization_id) == ("FINEG", "300017985")
    assert [r.address for r in message.recipients] == [
        DOCTOR,
        "appliExemple@hopitalB.mssante.fr",
        "radiologie@hopitalA.mssante.fr",
        PATIENT,
    ]
    assert [r.is_patient for r in message.recipients] == [False, False, False, True]
    assert message.recipients[2].organization_id_type == "UF"
    assert message.reply_to is not None and message.reply_to.address == DOCTOR
    assert [f.code for f in message.flags] == [*REQUIRED_FLAGS, "ACK_RECEPTION", "ACK_LECTURE_MSS"]
    assert message.mail_bodies["CORPSMAIL_PS"].startswith("Cher confrère, vous trouverez")
    assert matrix_row(flags(message)) == 1


def test_example_1_masked_for_professionals_to_the_patient_only() -> None:
    message = extract("cda_mdm_ex1_T02_masque_ps_patient_only_obx_group.hl7")
    values = flags(message)
    assert values["MASQUE_PS"] and values["DESTMSSANTEPAT"] and not values["DESTMSSANTEPS"]
    assert message.mail_bodies["CORPSMAIL_PATIENT"].startswith("Bonjour M.Dupont")
    assert [r.address for r in message.recipients] == [PATIENT]
    # The example also asks for the DMP: the matrix's patient-only row says DESTDMP N.
    assert values["DESTDMP"] and matrix_row(values) is None


def test_example_2_deletion() -> None:
    message = extract("cda_mdm_ex2_T04_delete_obx_group.hl7")
    assert message.documents[0].result_status == "D"
    assert [r.address for r in message.recipients] == [DOCTOR]  # trailing blank dropped
    # professionals only with INVISIBLE_PATIENT N: no row of the matrix has it.
    assert matrix_row(flags(message)) is None


def test_example_3_replacement() -> None:
    message = extract("cda_mdm_ex3_T10_replace_obx_group.hl7")
    assert message.documents[0].result_status == "C"
    # "DESTDMP^Destinataire DMP||Y": no coding system, still the flag
    assert flags(message)["DESTDMP"] and matrix_row(flags(message)) == 1
    assert [r.address for r in message.recipients] == [DOCTOR, PATIENT]


def test_example_4_visibility_change() -> None:
    message = extract("cda_mdm_ex4_T10_modif_conf_code_obx_group.hl7")
    assert flags(message)["MODIF_CONF_CODE"] and matrix_row(flags(message)) == 1
    # the doctor's PRT continues on the next line: joined back
    assert message.recipients[0].person_id == "101234567897"
    assert message.recipients[0].address == DOCTOR
    assert len(message.documents) == 1  # the trailing "REPLY_TO" XTN OBX is not a document


def test_imaging_report_with_four_recipients() -> None:
    message = extract("cda_obx_prt_group_cr_imagerie_4_recipients.hl7")
    # two PRT on one line, and an address one field off: all four recipients read
    assert [r.address for r in message.recipients] == [
        PATIENT,
        DOCTOR,
        "radiologie@hopitalA.mssante.fr",
        "appliExemple@hopitalB.mssante.fr",
    ]
    assert message.recipients[1].person_id == "101234567897"
    assert message.flags == ()


def test_oru_example_with_two_documents() -> None:
    message = extract("cda_oru_ex0_initial_two_docs_obx_group.hl7")
    assert [d.content for d in message.documents] == [
        CDA_TEXT,
        b"Document medcial au format CDA niveau 1",  # the example's own spelling
    ]
    # "ACK_LECTURE" (sic) is ACK_LECTURE_MSS; CE value types in an ORU
    assert [f.code for f in message.flags][-1] == "ACK_LECTURE_MSS"
    assert {f.value_type for f in message.flags} == {"CE"}
    assert matrix_row(flags(message)) == 1


def test_the_complete_ans_mdm_sample_is_read_and_judged() -> None:
    data = shared_path(
        "hl7-samples",
        "Volets_TRANS_DOC_CDA_HL7V2_V2.0_MDM_Transmission_initiale_MDM_message_MDM_CR_Radio_INIT_N1.er7",
    ).read_bytes()
    message = parse_document_message(data)
    assert (message.kind, message.event, message.header.control_id) == ("MDM", "T02", "015")
    assert message.profile == "2.0^CISIS_CDA_HL7_V2"
    assert message.patient_ids[0].is_ins and message.patient_class == "I"
    assert message.unique_id == "1.2.250.1.71.4.2.2.120456789.A71024000081"
    assert [r.address for r in message.recipients] == [DOCTOR]
    assert message.mail_bodies["CORPSMAIL_PS"].startswith("Cher confrère")
    # CORPSMAIL_PS before the ACK flags: the eight required flags are still in order
    assert [f.code for f in message.flags][:8] == list(REQUIRED_FLAGS)
    # profile 2.0 has no ORC (the 2.1 structure requires it): refused, ORC named
    verdict = check(message, Policy(FINESS))
    assert isinstance(verdict, Rejection)
    assert (verdict.code, verdict.error.code, verdict.error.segment) == (AckCode.AE, "100", "ORC")
    # and its flags (INVISIBLE_REP_LEGAUX Y with a professional) are outside the matrix
    assert matrix_row(flags(message)) is None


# -- acknowledgements ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "code", "version", "errors"),
    [
        ("cda_ack_AA_R01.hl7", "AA", "2.5", []),
        ("cda_ack_AE_203_unsupported_version.hl7", "AE", "2.5", [("203", "MSH", 12, "")]),
        ("lps_ack_AA_T02.hl7", "AA", "2.6", []),
        ("lps_ack_AE_203_unsupported_version.hl7", "AE", "2.6", [("203", "MSH", 12, "")]),
        ("lps_ack_AE_207_902_unknown_patient.hl7", "AE", "2.6", [("207", "PID", 3, "902")]),
    ],
)
def test_the_guides_acks_are_read(
    name: str, code: str, version: str, errors: list[tuple[str, str, int, str]]
) -> None:
    data = shared_path(FOLDER, name).read_bytes()
    ack = parse_ack(data)
    assert (ack.code.value, ack.acknowledged_id) == (code, "12345")
    assert [(e.code, e.segment, e.field, e.application_code) for e in ack.errors] == errors
    assert parse_header(data).version == version  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("request_name", "ack_name"),
    [
        ("cda_createur_msh_header_oru.hl7", "cda_ack_AE_203_unsupported_version.hl7"),
        ("lps_gestionnaire_msh_header_mdm.hl7", "lps_ack_AE_203_unsupported_version.hl7"),
    ],
)
def test_segurlinks_ack_carries_the_guides_fields(request_name: str, ack_name: str) -> None:
    request = shared_path(FOLDER, request_name).read_bytes()
    guide = hl7_fields(shared_path(FOLDER, ack_name).read_bytes())
    ours = hl7_fields(
        document_ack(
            parse_header(request),
            Rejection.refuse("203", "Unsupported version", "MSH", 12),
            control_id="12347",
            now=dt.datetime(2023, 10, 3, 8, 31),
        )
    )
    for segment, number in [
        ("MSH", 3),
        ("MSH", 4),
        ("MSH", 5),
        ("MSH", 6),
        ("MSH", 9),
        ("MSH", 10),
        ("MSH", 11),
        ("MSH", 12),
        ("MSH", 17),
        ("MSH", 18),
        ("MSA", 1),
        ("MSA", 2),
        ("ERR", 2),
        ("ERR", 4),
    ]:
        assert (
            field_text(ours, segment, number).strip() == field_text(guide, segment, number).strip()
        ), (segment, number)
    assert field_text(ours, "MSH", 7).startswith(field_text(guide, "MSH", 7))  # to the second
    assert field_text(ours, "ERR", 3).split("^")[0] == "203"
    assert field_text(ours, "ERR", 3).split("^")[2] == "messageErrorCondition"
