"""The gateway's pure reading and writing, read back with python-hl7 directly: ACKs,
ZAM^Z01/Z02/Z03, the MDM for a received mail; tolerant reading; the tables' literals
against the guides."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest

from segurlink.cda import build_document, parse_header
from segurlink.errors import Hl7Error
from segurlink.gateway import (
    Action,
    BusinessAck,
    BusinessAckKind,
    Rejection,
    build_business_ack,
    build_inbound_mdm,
    document_ack,
    parse_document_message,
    parse_extract,
)
from segurlink.gateway.jobs import SMTP_ERRORS, smtp_error, zam_control_id
from segurlink.gateway.messages import PROFILE_CREATOR, PROFILE_LPS
from segurlink.gateway.models import (
    ACK_FLAGS,
    APPLICATION_ERRORS,
    FLAG_LABELS,
    MAIL_BODY_FLAGS,
    REQUIRED_FLAGS,
)
from segurlink.hl7 import parse_ack
from segurlink.hl7 import parse_header as hl7_header
from segurlink.hl7.models import AckCode
from tests.dmp import factory as f
from tests.gateway.conftest import field_text, hl7_fields, mdm, oru

NOW = dt.datetime(2024, 3, 1, 10, 30, 5)
DOCUMENT = f.cda(seed=21)


def segments(data: bytes) -> list[str]:
    return data.decode("utf-8").split("\r")


# -- the ACK ------------------------------------------------------------------------------------


def test_an_aa_answers_the_producer_as_the_guide_shows() -> None:
    header = hl7_header(mdm(DOCUMENT, control_id="12345"))
    ack = hl7_fields(document_ack(header, None, control_id="12346", now=NOW))
    assert [str(s[0]) for s in ack] == ["MSH", "MSA"]
    values = {n: field_text(ack, "MSH", n) for n in (3, 4, 5, 6, 7, 9, 10, 11, 12, 17, 18)}
    assert values == {
        3: "SEGURLINK",  # the receiver the producer named
        4: "EHPAD",
        5: "DUI",
        6: "EHPAD",
        7: "20240301103005",
        9: "ACK^T02^ACK",
        10: "12346",
        11: "P",
        12: "2.6",
        17: "FRA",
        18: "UNICODE UTF-8",
    }
    assert (field_text(ack, "MSA", 1), field_text(ack, "MSA", 2)) == ("AA", "12345")


@pytest.mark.parametrize(("event", "expected"), [("T10", "ACK^T10^ACK"), ("T04", "ACK^T04^ACK")])
def test_the_ack_names_the_event(event: str, expected: str) -> None:
    header = hl7_header(mdm(DOCUMENT, event=event))
    assert (
        field_text(hl7_fields(document_ack(header, None, control_id="A", now=NOW)), "MSH", 9)
        == expected
    )


def test_an_oru_ack_is_2_5() -> None:
    ack = hl7_fields(document_ack(hl7_header(oru(DOCUMENT)), None, control_id="A", now=NOW))
    assert (field_text(ack, "MSH", 9), field_text(ack, "MSH", 12)) == ("ACK^R01^ACK", "2.5")


def test_an_ae_carries_err_2_3_4_5() -> None:
    header = hl7_header(mdm(DOCUMENT, control_id="12345"))
    rejection = Rejection.refuse("207", "unknown patient", "PID", 3, application_code="902")
    data = document_ack(header, rejection, control_id="12347", now=NOW)
    ack = hl7_fields(data)
    assert field_text(ack, "MSA", 1) == "AE"
    assert field_text(ack, "ERR", 2) == "PID^1^3"
    assert field_text(ack, "ERR", 3) == "207^Application internal error^messageErrorCondition"
    assert field_text(ack, "ERR", 4) == "E"
    assert field_text(ack, "ERR", 5) == "902^Identifiant patient inconnu^applicationErrorCode"
    read = parse_ack(data)  # and segurlink's own reader agrees
    (error,) = read.errors
    assert (error.code, error.segment, error.field, error.sequence) == ("207", "PID", 3, 1)
    assert (error.application_code, error.application_label) == (
        "902",
        "Identifiant patient inconnu",
    )


def test_err_2_names_the_rank_and_component() -> None:
    rejection = Rejection.refuse("102", "bad", "OBX", 5, sequence=4, component=5)
    ack = hl7_fields(document_ack(hl7_header(mdm(DOCUMENT)), rejection, control_id="A", now=NOW))
    assert field_text(ack, "ERR", 2) == "OBX^4^5^1^5"
    assert field_text(ack, "ERR", 5) == ""  # no application code outside 207


def test_an_ar_has_no_location() -> None:
    rejection = Rejection.retry("outbox unavailable")
    ack = hl7_fields(document_ack(hl7_header(mdm(DOCUMENT)), rejection, control_id="A", now=NOW))
    assert field_text(ack, "MSA", 1) == "AR" and field_text(ack, "ERR", 2) == ""
    assert field_text(ack, "ERR", 3).startswith("207^")


def test_an_ack_for_an_unreadable_message() -> None:
    rejection = Rejection.refuse("100", "no MSH", "MSH")
    ack = hl7_fields(document_ack(None, rejection, control_id="A", now=NOW))
    assert (field_text(ack, "MSA", 1), field_text(ack, "MSA", 2)) == ("AE", "")


# -- ZAM --------------------------------------------------------------------------------------


def zam(ack: BusinessAck, **kwargs: Any) -> Any:
    values: dict[str, Any] = {
        "control_id": "Z42",
        "now": NOW,
        "application": "PFI",
        "facility": "EHPAD",
        "producer_application": "DUI",
        "producer_facility": "EHPAD",
    }
    values.update(kwargs)
    return hl7_fields(build_business_ack(ack, **values))


def test_z01_dmp_receipt() -> None:
    message = zam(BusinessAck(BusinessAckKind.DMP_RECEIPT, "MSG1", True), processing_id="T")
    assert [str(s[0]) for s in message] == ["MSH", "EVN", "OBX"]
    assert field_text(message, "MSH", 9) == "ZAM^Z01^ZAM_Z01"
    assert [field_text(message, "MSH", n) for n in (3, 4, 5, 6, 7, 10, 11, 12, 17, 18, 21)] == [
        "PFI",
        "EHPAD",
        "DUI",
        "EHPAD",
        "20240301103005",
        "Z42",
        "T",
        "2.6",
        "FRA",
        "UNICODE UTF-8",
        "2.1^CISIS_CDA_HL7_V2",
    ]
    assert field_text(message, "EVN", 2) == "20240301103005"
    assert [field_text(message, "OBX", n) for n in (1, 2, 3, 4, 5, 11)] == [
        "1",
        "CWE",
        "ACK_RECEPTION_DMP^Accusé de réception DMP^AckMetierZAM",
        "MSG1",
        "Y^^expandedYes-NoIndicator",
        "F",
    ]


def test_z01_failure_has_err_207_with_the_dmp_code() -> None:
    ack = BusinessAck(
        BusinessAckKind.DMP_RECEIPT,
        "MSG1",
        False,
        error_code="XDSUnknownPatientId",
        error_label="no DMP",
        error_system="DMP_ERROR_CODE",
    )
    message = zam(ack)
    assert field_text(message, "OBX", 5) == "N^^expandedYes-NoIndicator"
    assert field_text(message, "ERR", 3) == "207^Application error^messageErrorCondition"
    assert field_text(message, "ERR", 4) == "E"
    assert field_text(message, "ERR", 5) == "XDSUnknownPatientId^no DMP^DMP_ERROR_CODE"


def test_z02_names_the_recipient() -> None:
    ack = BusinessAck(BusinessAckKind.MSS_DELIVERY, "MSG2", True, "dr@x.mssante.fr", "810001")
    message = zam(ack)
    assert field_text(message, "MSH", 9) == "ZAM^Z02^ZAM_Z01"
    assert (
        field_text(message, "OBX", 3)
        == "ACK_RECEPTION_MSS^Accusé de réception MSSanté^AckMetierZAM"
    )
    assert [field_text(message, "OBX", n, nth=1) for n in (1, 2, 3, 4, 5, 11)] == [
        "2",
        "XTN",
        "DESTINATAIRE_MSS^Destinataire MSSanté^AckMetierZAM",
        "810001",
        "^^X.400^dr@x.mssante.fr",
        "F",
    ]
    assert field_text(message, "ERR", 3) == ""


def test_z03_names_the_reader_and_its_error() -> None:
    ack = BusinessAck(
        BusinessAckKind.MSS_READ,
        "MSG3",
        False,
        "dpi@x.mssante.fr",
        error_code="902",
        error_label="Identifiant patient inconnu",
        error_system="applicationErrorCode",
    )
    message = zam(ack)
    assert field_text(message, "MSH", 9) == "ZAM^Z03^ZAM_Z01"
    assert field_text(message, "OBX", 3) == "ACK_LECTURE_MSS^Accusé de lecture^AckMetierZAM"
    assert (
        field_text(message, "OBX", 3, nth=1)
        == "LECTEUR_MSS^Lecteur du courriel MSSanté^AckMetierZAM"
    )
    assert field_text(message, "ERR", 5) == "902^Identifiant patient inconnu^applicationErrorCode"


def test_zam_values_are_escaped() -> None:
    ack = BusinessAck(
        BusinessAckKind.DMP_RECEIPT,
        "A|B",
        False,
        error_code="X",
        error_label="a^b|c",
        error_system="DMP_ERROR_CODE",
    )
    data = build_business_ack(
        ack,
        control_id="Z",
        now=NOW,
        application="P&F",
        facility="",
        producer_application="D",
        producer_facility="",
    )
    message = hl7_fields(data)
    assert field_text(message, "OBX", 4) == "A\\F\\B"
    assert field_text(message, "MSH", 3) == "P\\T\\F"
    assert field_text(message, "ERR", 5) == "X^a\\S\\b\\F\\c^DMP_ERROR_CODE"


def test_zam_control_ids_are_stable_and_short() -> None:
    assert zam_control_id("k") == zam_control_id("k") != zam_control_id("k2")
    assert len(zam_control_id("k")) == 20 and zam_control_id("k").startswith("SZ")


# -- the MDM for a received mail ---------------------------------------------------------------


def test_the_inbound_mdm_follows_guide_r2() -> None:
    document = build_document(f.replacement(f.make_document(seed=21), seed=22))
    header = parse_header(document)
    data = build_inbound_mdm(
        action=Action.REPLACE,
        document=document,
        patient=header.patient,
        document_id=header.id.xds_unique_id,
        parent_id=header.parent_document.id.xds_unique_id if header.parent_document else None,
        type_code=("80788-3", "Projet personnalisé", "LN"),
        message_id="<m1@x.mssante.fr>",
        subject="XDM/1.0/DDM+Projet",
        body="Bonjour|^",
        sender="dr@x.mssante.fr",
        recipients=["app@y.mssante.fr", "other@y.mssante.fr"],
        reply_to="sec@x.mssante.fr",
        flags={"MASQUE_PS": True},
        control_id="IN1",
        now=NOW,
        application="PFI",
        facility="EHPAD",
        receiver_application="DPI",
        receiver_facility="EHPAD",
    )
    message = hl7_fields(data)
    assert [str(s[0]) for s in message] == [
        "MSH",
        "EVN",
        "PID",
        "PV1",
        "ORC",
        "OBR",
        "TXA",
        "OBX",
        "PRT",
        "PRT",
        "PRT",
        "PRT",
        "OBX",
        "OBX",
        "OBX",
        "OBX",
        "OBX",
    ]
    assert field_text(message, "MSH", 9) == "MDM^T10^MDM_T02"
    assert field_text(message, "MSH", 21) == "1.1^CISIS_CDA_HL7_LPS"
    assert (field_text(message, "MSH", 5), field_text(message, "MSH", 12)) == ("DPI", "2.6")
    assert field_text(message, "PID", 3).startswith(
        f"{f.ZOE[0]}^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS~IPP0021^^^&"
    )
    assert field_text(message, "PID", 5) == "ADRUN^ZOE^ZOE^^^^L"
    assert (field_text(message, "PID", 7), field_text(message, "PID", 8)) == ("19751231", "F")
    assert (field_text(message, "PV1", 2), field_text(message, "ORC", 1)) == ("N", "RO")
    assert field_text(message, "TXA", 12) == header.id.xds_unique_id
    assert field_text(message, "TXA", 13) == header.parent_document.id.xds_unique_id  # type: ignore[union-attr]
    assert field_text(message, "TXA", 17) == "AU"
    assert field_text(message, "OBX", 11) == "C"
    assert base64.b64decode(field_text(message, "OBX", 5).split("^")[4]) == document
    prts = [str(s) for s in message if str(s[0]) == "PRT"]
    assert prts[0] == "PRT||UC||SB^Send by^participation|||||||||||^^X.400^dr@x.mssante.fr"
    assert prts[3] == "PRT||UC||REPLY^Reply To^participation|||||||||||^^X.400^sec@x.mssante.fr"
    assert field_text(message, "OBX", 3, nth=1) == "<m1@x.mssante.fr>^XDM/1.0/DDM+Projet"
    assert base64.b64decode(field_text(message, "OBX", 5, nth=1).split("^")[4]) == b"Bonjour|^"
    flags = [
        (field_text(message, "OBX", 3, nth=n).split("^")[0], field_text(message, "OBX", 5, nth=n))
        for n in (2, 3, 4, 5)
    ]
    assert flags == [
        ("MASQUE_PS", "Y^^expandedYes-NoIndicator"),
        ("INVISIBLE_PATIENT", "N^^expandedYes-NoIndicator"),
        ("INVISIBLE_REP_LEGAUX", "N^^expandedYes-NoIndicator"),
        ("MODIF_CONF_CODE", "N^^expandedYes-NoIndicator"),
    ]
    # and segurlink reads its own MDM back
    back = parse_document_message(data)
    assert (back.event, back.order_control, back.documents[0].content) == ("T10", "RO", document)
    assert [p.address for p in back.recipients] == ["app@y.mssante.fr", "other@y.mssante.fr"]


# -- reading ---------------------------------------------------------------------------------------


def test_a_line_break_inside_a_field_is_joined_back() -> None:
    text = mdm(DOCUMENT, separator="\n")
    encoded = base64.b64encode(DOCUMENT).decode()
    broken = text.replace(encoded, encoded[:60] + "\n" + encoded[60:120] + "\r\n" + encoded[120:])
    assert parse_document_message(broken.encode()).documents[0].content == DOCUMENT


def test_several_messages_are_refused() -> None:
    text = mdm(DOCUMENT)
    with pytest.raises(Hl7Error, match="several messages") as caught:
        parse_document_message((text + text).encode())
    assert caught.value.code == "100"


def test_a_broken_mail_body_is_named() -> None:
    text = mdm(DOCUMENT, bodies={"CORPSMAIL_PS": "x"})
    line = next(s for s in text.split("\r") if "CORPSMAIL_PS" in s)
    with pytest.raises(Hl7Error) as caught:
        parse_document_message(text.replace(line, line.replace("^Base64^", "^Base64^@@")).encode())
    assert caught.value.location == "OBX-5.5"


def test_values_are_unescaped() -> None:
    text = mdm(DOCUMENT).replace("^DUPONT^JEAN^", "^DU\\T\\PONT^JEAN^")
    assert parse_document_message(text.encode()).sender.family == "DU&PONT"  # type: ignore[union-attr]


def test_the_repr_hides_health_data() -> None:
    message = parse_document_message(mdm(DOCUMENT).encode())
    shown = repr(message) + repr(message.participants) + repr(message.documents)
    assert f.ZOE[0] not in shown and "ADRUN" not in shown
    assert "275126322074974@patient" not in repr(message.participants)


def test_read_extract_assumes_an_msh() -> None:
    message = parse_extract(
        "OBX|1|ED|x^y^LN||^text^XML^Base64^PGEvPg==||||||F\nPRT||UC||SB^x^participation|1"
    )
    assert message.documents[0].content == b"<a/>" and message.sender is not None


# -- the tables, as the guides write them -----------------------------------------------------------


def test_the_metadata_table() -> None:
    assert REQUIRED_FLAGS == (
        "MASQUE_PS",
        "INVISIBLE_PATIENT",
        "INVISIBLE_REP_LEGAUX",
        "CONNEXION_SECRETE",
        "MODIF_CONF_CODE",
        "DESTDMP",
        "DESTMSSANTEPS",
        "DESTMSSANTEPAT",
    )
    assert ACK_FLAGS == ("ACK_RECEPTION", "ACK_LECTURE_MSS")
    assert MAIL_BODY_FLAGS == ("CORPSMAIL_PS", "CORPSMAIL_PATIENT")
    assert FLAG_LABELS["MASQUE_PS"] == "Masqué aux professionnels de Santé"
    assert (
        FLAG_LABELS["INVISIBLE_REP_LEGAUX"] == "Non visible par les représentants Légaux du patient"
    )
    assert FLAG_LABELS["MODIF_CONF_CODE"] == "Modification Confidentiality Code"
    assert set(FLAG_LABELS) == {*REQUIRED_FLAGS, *ACK_FLAGS, *MAIL_BODY_FLAGS}


def test_the_application_error_table() -> None:
    assert sorted(APPLICATION_ERRORS) == ["900", "901", "902", "903", "904", "905", "906"]
    assert APPLICATION_ERRORS["902"] == "Identifiant patient inconnu"
    assert APPLICATION_ERRORS["903"] == "INS non présent dans le document"
    assert APPLICATION_ERRORS["905"] == "L'INS transmis n'est pas complet"
    assert APPLICATION_ERRORS["900"].startswith("Version du document incorrecte")
    assert APPLICATION_ERRORS["901"].startswith("Auteur non autorisé")


def test_the_actions() -> None:
    assert [(a.event, a.order_control, a.result_status) for a in Action] == [
        ("T02", "NW", "F"),
        ("T10", "RO", "C"),
        ("T04", "CA", "D"),
    ]
    assert Action.from_event("T11") is None and Action.from_order_control("XO") is None
    assert Action.from_result_status("C") is Action.REPLACE


def test_profiles_and_smtp_codes() -> None:
    assert (PROFILE_CREATOR, PROFILE_LPS) == ("2.1^CISIS_CDA_HL7_V2", "1.1^CISIS_CDA_HL7_LPS")
    assert smtp_error(552) == ("552", SMTP_ERRORS["552"], "SMTPERRORCODE")
    assert smtp_error("", "5.1.1")[0] == "550" and smtp_error("", "4.2.2")[0] == "450"
    assert smtp_error("abc")[0] == "554"
    assert SMTP_ERRORS["550"].startswith("Action non effectuée")


def test_ack_codes_of_rejections() -> None:
    assert Rejection.refuse("101", "x", "TXA", 12).code is AckCode.AE
    assert Rejection.retry("x").code is AckCode.AR
