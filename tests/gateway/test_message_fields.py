"""A document message read field by field: every value of the MDM/ORU where the rules and the
jobs read it, with the tolerance of the guides' examples (issue 19: mutation testing).

test_messages.py follows the gateway's features; here the parsed DocumentMessage is held
whole against the message the test writes (tests.gateway.conftest.mdm, written by hand).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt

import pytest

from segurlink.cda import build_document, parse_header
from segurlink.errors import Hl7Error
from segurlink.gateway import (
    Action,
    BusinessAck,
    BusinessAckKind,
    build_business_ack,
    build_inbound_mdm,
    document_ack,
    parse_document_message,
)
from segurlink.gateway.models import EncapsulatedDocument, MetadataFlag, Participant
from segurlink.hl7 import parse_header as hl7_header
from tests.dmp import factory as f
from tests.gateway.conftest import FLAGS, ROW_PS_AND_PATIENT, b64, mdm, oru, reply_prt

DOCUMENT = f.cda(seed=21)
BODIES = {"CORPSMAIL_PS": "Bonjour docteur", "CORPSMAIL_PATIENT": "Bonjour madame"}


def test_every_field_of_an_mdm() -> None:
    message = parse_document_message(mdm(DOCUMENT, fin=True, bodies=BODIES))
    assert (message.kind, message.event, message.header.version) == ("MDM", "T02", "2.6")
    assert message.segment_ids == (
        "MSH", "EVN", "PID", "PV1", "ORC", "OBR", "TXA", "OBX", "PRT", "PRT", "PRT", "PRT",
        "OBX", "OBX", "OBX", "OBX", "OBX", "OBX", "OBX", "OBX", "NTE", "OBX", "OBX", "OBX", "OBX",
    )  # fmt: skip
    assert [(i.value, i.namespace, i.oid, i.oid_type, i.type_code, i.effective_date)
            for i in message.patient_ids] == [
        ("275126322074974", "ASIP-SANTE-INS-NIR", "1.2.250.1.213.1.4.8", "ISO", "INS", ""),
        ("IPP0021", "", "1.2.250.1.999.1.1.2", "ISO", "PI", ""),
    ]  # fmt: skip
    assert (message.patient_class, message.order_control) == ("N", "NW")
    assert (message.unique_id, message.parent_id, message.document_type) == (
        "2.25.21000", "", "80788-3",
    )  # fmt: skip
    assert message.documents == (
        EncapsulatedDocument(
            sequence=1, type_code="80788-3", type_system="LN", result_status="F",
            content=DOCUMENT, problem="", value_type="ED", subtype="XML", encoding="Base64",
        ),
    )  # fmt: skip
    sequences = dict(zip(FLAGS, range(2, 10), strict=True))
    assert message.flags == (
        *(MetadataFlag(code, ROW_PS_AND_PATIENT[code], sequences[code], "CWE") for code in FLAGS),
        MetadataFlag("ACK_RECEPTION", "Y", 10, "CWE"),
        MetadataFlag("ACK_LECTURE_MSS", "Y", 11, "CWE"),
    )
    assert dict(message.mail_bodies) == BODIES
    assert message.no_reply is True
    assert message.profile == "2.1^CISIS_CDA_HL7_V2"
    sender, doctor, remote, patient = message.participants
    assert sender == Participant(
        role="SB", sequence=1, person_id="801234567866", family="DUPONT", given="JEAN",
        person_authority="1.2.250.1.71.4.2.1", person_id_type="RPPS",
        organization_name="EHPAD DES TILLEULS", organization_authority="1.2.250.1.71.4.2.2",
        organization_id_type="FINEG", organization_id="010000016",
    )  # fmt: skip
    assert (doctor.role, doctor.sequence, doctor.person_id, doctor.family, doctor.given) == (
        "RCT", 2, "101234567897", "HODA", "ADAM",
    )  # fmt: skip
    assert (doctor.telecom_type, doctor.address) == (
        "X.400", "paul.medecin-test@segurlink-test.mssante.fr",
    )  # fmt: skip
    assert (remote.sequence, remote.person_id, remote.address) == (
        3, "", "dr.destinataire@hopital-test.mssante.fr",
    )  # fmt: skip
    assert (patient.sequence, patient.person_id, patient.person_id_type, patient.address) == (
        4, "275126322074974", "INS", "275126322074974@patient.mssante.fr",
    )  # fmt: skip
    assert message.text.startswith("MSH|^~\\&|DUI|EHPAD|SEGURLINK|")


def test_an_oru_and_a_message_without_optional_segments() -> None:
    message = parse_document_message(oru(DOCUMENT, drop=("ORC", "OBR", "PV1"), result_status="c"))
    assert (message.kind, message.event, message.header.version) == ("ORU", "R01", "2.5")
    assert (message.patient_class, message.order_control, message.unique_id) == ("", None, "")
    assert message.document_type == "80788-3"  # no OBR: the document's OBX-3
    assert message.documents[0].result_status == "C"
    assert [flag.value_type for flag in message.flags][:1] == ["CE"]
    assert (message.no_reply, dict(message.mail_bodies)) == (False, {})


def test_a_message_without_any_document() -> None:
    text = mdm(DOCUMENT, drop=("OBR",))
    text = "\r".join(s for s in text.split("\r") if not s.startswith("OBX|1|ED|"))
    message = parse_document_message(text)
    assert (message.documents, message.document_type) == ((), "")


def test_a_replacement_names_its_parent() -> None:
    message = parse_document_message(mdm(DOCUMENT, event="T10", txa12="2.25.2", txa13="2.25.1"))
    assert (message.unique_id, message.parent_id, message.order_control) == (
        "2.25.2", "2.25.1", "RO",
    )  # fmt: skip


def test_the_legacy_read_acknowledgement_code_and_lower_case_values() -> None:
    text = mdm(DOCUMENT, acks={"ACK_LECTURE": "y"})
    (read,) = [flag for flag in parse_document_message(text).flags if flag.code.startswith("ACK")]
    assert (read.code, read.value, read.sequence) == ("ACK_LECTURE_MSS", "Y", 10)


def test_a_fin_note_in_any_case_marks_no_reply() -> None:
    text = mdm(DOCUMENT, fin=True).replace("NTE|1|||FIN|", "NTE|1|||fin|")
    assert parse_document_message(text).no_reply is True


def test_patient_identifiers_need_a_value_or_a_type() -> None:
    text = mdm(DOCUMENT, pid3="~^^^^PN~ABC^^^CHU&1.2.3&ISO^PI^^20240101")
    ids = parse_document_message(text).patient_ids
    assert [(i.value, i.namespace, i.oid, i.type_code, i.effective_date) for i in ids] == [
        ("", "", "", "PN", ""),
        ("ABC", "CHU", "1.2.3", "PI", "20240101"),
    ]


def test_patient_identifiers_are_read_up_to_fifty() -> None:
    pid3 = "~".join(f"ID{n}^^^CHU&1.2.3&ISO^PI" for n in range(60))
    ids = parse_document_message(mdm(DOCUMENT, pid3=pid3)).patient_ids
    assert [i.value for i in ids] == [f"ID{n}" for n in range(50)]


def _with_document_obx(obx: str) -> str:
    lines = mdm(DOCUMENT).split("\r")
    return "\r".join(obx if line.startswith("OBX|1|ED|") else line for line in lines)


@pytest.mark.parametrize(
    ("obx5", "problem"),
    [
        ("^text^XML^Base64^", "OBX-5.5 holds no document"),
        ("^text^XML^A^" + b64(DOCUMENT), "OBX-5.4 must say Base64"),
        ("^text^XML^Base64^@@@@", "OBX-5.5 is not valid base64"),
    ],
)
def test_a_document_that_cannot_be_read_says_why(obx5: str, problem: str) -> None:
    text = _with_document_obx(f"OBX|1|ED|80788-3^PPA^LN||{obx5}||||||F")
    (document,) = parse_document_message(text).documents
    assert (document.content, document.problem) == (None, problem)


def test_base64_without_padding_and_in_lower_case_encoding_name() -> None:
    for length in (1, 2, 3, 4):
        data = DOCUMENT[:length]
        unpadded = base64.b64encode(data).decode().rstrip("=")
        text = _with_document_obx(f"OBX|1|ED|80788-3^PPA^LN||^text^XML^base64^{unpadded}||||||F")
        (document,) = parse_document_message(text).documents
        assert (document.content, document.encoding) == (data, "base64")


def test_a_mail_body_in_latin9_or_without_component() -> None:
    latin = base64.b64encode("Reçu : 10 €".encode("iso8859-15")).decode()
    text = (
        mdm(DOCUMENT).rstrip("\r") + f"\rOBX|13|ED|CORPSMAIL_PS^Corps^MetaDMPMSS||{latin}||||||F\r"
    )
    assert dict(parse_document_message(text).mail_bodies) == {"CORPSMAIL_PS": "Reçu : 10 €"}


def test_a_mail_body_that_is_not_base64_names_its_obx() -> None:
    text = (
        mdm(DOCUMENT).rstrip("\r")
        + "\rOBX|13|ED|CORPSMAIL_PS^Corps^MetaDMPMSS||^text^^Base64^@@@||||||F\r"
    )
    with pytest.raises(Hl7Error) as info:
        parse_document_message(text)
    error = info.value
    assert (str(error), error.segment, error.field, error.component) == (
        "OBX 12 (mail body): OBX-5.5 is not valid base64", "OBX", 5, 5,
    )  # fmt: skip


def test_a_reply_to_participant() -> None:
    participants = [reply_prt("secretariat@ehpad.mssante.fr")]
    (reply,) = parse_document_message(mdm(DOCUMENT, participants=participants)).participants
    assert dataclasses.replace(reply) == Participant(
        role="REPLY", sequence=1, telecom_type="X.400", address="secretariat@ehpad.mssante.fr"
    )


# -- what the gateway writes, line by line ------------------------------------------------------

NOW = dt.datetime(2024, 3, 1, 10, 30, 5)
ZAM_MSH = (
    "MSH|^~\\&|PFI|EHPAD|DUI|EHPAD|20240301103005||ZAM^{event}^ZAM_Z01|Z42|{processing}|2.6"
    "|||||FRA|UNICODE UTF-8|||2.1^CISIS_CDA_HL7_V2"
)
FAILED = BusinessAck(
    BusinessAckKind.MSS_READ,
    "MSG42",
    False,
    address="dr@x.fr",
    person_id="8001",
    error_code="902",
    error_label="Identifiant inconnu",
    error_system="applicationErrorCode",
)


def _zam(ack: BusinessAck, **kwargs: str) -> list[str]:
    data = build_business_ack(
        ack, control_id="Z42", now=NOW, application="PFI", facility="EHPAD",
        producer_application="DUI", producer_facility="EHPAD", **kwargs,
    )  # fmt: skip
    return data.decode("utf-8").split("\r")


def test_a_failed_read_acknowledgement_line_by_line() -> None:
    assert _zam(FAILED) == [
        ZAM_MSH.format(event="Z03", processing="P"),
        "EVN||20240301103005",
        "OBX|1|CWE|ACK_LECTURE_MSS^Accusé de lecture^AckMetierZAM|MSG42|N^^expandedYes-NoIndicator"
        "||||||F",
        "OBX|2|XTN|LECTEUR_MSS^Lecteur du courriel MSSanté^AckMetierZAM|8001|^^X.400^dr@x.fr"
        "||||||F",
        "ERR|||207^Application error^messageErrorCondition|E|902^Identifiant inconnu"
        "^applicationErrorCode",
    ]


def test_successful_acknowledgements_line_by_line() -> None:
    dmp = BusinessAck(BusinessAckKind.DMP_RECEIPT, "MSG42", True)
    assert _zam(dmp, processing_id="T") == [
        ZAM_MSH.format(event="Z01", processing="T"),
        "EVN||20240301103005",
        "OBX|1|CWE|ACK_RECEPTION_DMP^Accusé de réception DMP^AckMetierZAM|MSG42"
        "|Y^^expandedYes-NoIndicator||||||F",
    ]
    delivered = BusinessAck(BusinessAckKind.MSS_DELIVERY, "MSG42", True, address="dr@x.fr")
    assert _zam(delivered, processing_id="")[0] == ZAM_MSH.format(event="Z02", processing="P")
    assert _zam(delivered)[2:] == [
        "OBX|1|CWE|ACK_RECEPTION_MSS^Accusé de réception MSSanté^AckMetierZAM|MSG42"
        "|Y^^expandedYes-NoIndicator||||||F",
        "OBX|2|XTN|DESTINATAIRE_MSS^Destinataire MSSanté^AckMetierZAM||^^X.400^dr@x.fr||||||F",
    ]


def _inbound(**changes: object) -> list[str]:
    document = build_document(f.replacement(f.make_document(seed=21), seed=22))
    header = parse_header(document)
    values: dict[str, object] = {
        "action": Action.REPLACE,
        "document": document,
        "patient": header.patient,
        "document_id": header.id.xds_unique_id,
        "parent_id": "2.25.21000",
        "type_code": ("80788-3", "Projet personnalisé", "LN"),
        "message_id": "<m1@x.mssante.fr>",
        "subject": "XDM/1.0/DDM+Projet",
        "body": "Bonjour|^",
        "sender": "dr@x.mssante.fr",
        "recipients": ["app@y.mssante.fr", "other@y.mssante.fr"],
        "reply_to": "sec@x.mssante.fr",
        "flags": {"MASQUE_PS": True},
        "control_id": "IN1",
        "now": NOW,
        "application": "PFI",
        "facility": "EHPAD",
        "receiver_application": "DPI",
        "receiver_facility": "EHPAD",
    }
    values.update(changes)
    data = build_inbound_mdm(**values)  # type: ignore[arg-type]
    return data.decode("utf-8").split("\r")


def _flag(sequence: int, code: str, label: str, value: str) -> str:
    return f"OBX|{sequence}|CWE|{code}^{label}^MetaDMPMSS||{value}^^expandedYes-NoIndicator||||||F"


def test_the_inbound_mdm_line_by_line() -> None:
    lines = _inbound()
    document = lines[7].rsplit("^", 1)[1].split("|", 1)[0]
    assert base64.b64decode(document).startswith(b"<?xml")
    assert [*lines[:7], lines[7].replace(document, "<b64>"), *lines[8:]] == [
        "MSH|^~\\&|PFI|EHPAD|DPI|EHPAD|20240301103005||MDM^T10^MDM_T02|IN1|P|2.6|||||FRA"
        "|UNICODE UTF-8|||1.1^CISIS_CDA_HL7_LPS",
        "EVN||20240301103005",
        "PID|1||275126322074974^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS"
        "~IPP0021^^^&1.2.250.1.999.1.1.2&ISO^PI||ADRUN^ZOE^ZOE^^^^L||19751231|F",
        "PV1|1|N",
        "ORC|RO",
        "OBR|1|||80788-3^Projet personnalisé^LN",
        "TXA|1|80788-3|TEXT|||||||||2.25.22099|2.25.21000||||AU",
        "OBX|1|ED|80788-3^Projet personnalisé^LN||^text^XML^Base64^<b64>||||||C",
        "PRT||UC||SB^Send by^participation|||||||||||^^X.400^dr@x.mssante.fr",
        "PRT||UC||RCT^Result Copies To^participation|||||||||||^^X.400^app@y.mssante.fr",
        "PRT||UC||RCT^Result Copies To^participation|||||||||||^^X.400^other@y.mssante.fr",
        "PRT||UC||REPLY^Reply To^participation|||||||||||^^X.400^sec@x.mssante.fr",
        "OBX|2|ED|<m1@x.mssante.fr>^XDM/1.0/DDM+Projet||^text^^Base64^"
        + base64.b64encode(b"Bonjour|^").decode()
        + "||||||F",
        _flag(3, "MASQUE_PS", "Masqué aux professionnels de Santé", "Y"),
        _flag(4, "INVISIBLE_PATIENT", "Document Non Visible par le patient", "N"),
        _flag(
            5, "INVISIBLE_REP_LEGAUX", "Non visible par les représentants Légaux du patient", "N"
        ),
        _flag(6, "MODIF_CONF_CODE", "Modification Confidentiality Code", "N"),
    ]


def test_an_inbound_first_version_without_reply_to_nor_flags() -> None:
    lines = _inbound(action=Action.INITIAL, parent_id=None, reply_to=None, flags=None)
    assert lines[0].split("|")[8] == "MDM^T02^MDM_T02"
    assert (lines[4], lines[6]) == ("ORC|NW", "TXA|1|80788-3|TEXT|||||||||2.25.22099|||||AU")
    assert [line.split("|")[4].split("^")[0] for line in lines if line.startswith("PRT")] == [
        "SB", "RCT", "RCT",
    ]  # fmt: skip
    assert lines[-4].endswith("||N^^expandedYes-NoIndicator||||||F")  # MASQUE_PS not asked


def test_an_inbound_document_for_a_patient_without_ins_nor_first_name() -> None:
    import dataclasses as dc

    header = parse_header(build_document(f.make_document(seed=21)))
    patient = dc.replace(
        header.patient, ins=None, ids=header.patient.ids[1:], first_name=None,
        first_names=("ANNE", "MARIE"), birth_date="1975-12-31", sex=None,
    )  # fmt: skip
    pid = _inbound(patient=patient)[2]
    assert pid == (
        "PID|1||IPP0021^^^&1.2.250.1.999.1.1.2&ISO^PI||ADRUN^ANNE^ANNE MARIE^^^^L||19751231|"
    )


def test_the_document_ack_names_its_sender_when_asked() -> None:
    header = hl7_header(mdm(DOCUMENT))
    data = document_ack(
        header, None, control_id="A1", now=NOW, application="PFI", facility="EHPAD-2"
    ).decode()
    assert data.startswith("MSH|^~\\&|PFI|EHPAD-2|DUI|EHPAD|20240301103005||ACK^T02^ACK|A1|")


@pytest.mark.parametrize("text", ["", "EVN||x\rMSH|^~\\&|A"])
def test_a_document_message_starts_with_msh(text: str) -> None:
    with pytest.raises(Hl7Error) as info:
        parse_document_message(text)
    error = info.value
    assert (str(error), error.segment, error.code) == (
        "the message does not start with an MSH segment", "MSH", "100",
    )  # fmt: skip


def test_one_document_message_at_a_time() -> None:
    with pytest.raises(Hl7Error) as info:
        parse_document_message(mdm(DOCUMENT) + mdm(DOCUMENT))
    error = info.value
    assert (str(error), error.segment, error.code) == (
        "the input holds several messages: one at a time", "MSH", "100",
    )  # fmt: skip
