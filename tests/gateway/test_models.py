"""The gateway's values: a flag read from the metadata OBX, and reprs that name no patient
(a patient's mailbox is masked, other addresses are not health data)."""

from __future__ import annotations

from segurlink.gateway.models import (
    BusinessAck,
    BusinessAckKind,
    DocumentMessage,
    EncapsulatedDocument,
    MetadataFlag,
    Participant,
)
from segurlink.hl7.models import MessageHeader

PATIENT = "275126322074974@patient.mssante.fr"


def _message(*flags: MetadataFlag) -> DocumentMessage:
    header = MessageHeader("MDM", "T02", "MDM_T02", "MSG0001")
    return DocumentMessage(header, "MDM", "T02", ("MSH",), flags=flags)


def test_a_flag_is_yes_only_when_its_own_obx_says_y() -> None:
    message = _message(
        MetadataFlag("MASQUE_PS", "N", 3),
        MetadataFlag("DESTDMP", "Y", 4),
        MetadataFlag("DESTMSSANTEPS", "y", 5),
    )
    assert message.flag("DESTDMP") is True
    assert message.flag("MASQUE_PS") is False  # another flag's Y does not count
    assert message.flag("DESTMSSANTEPS") is False  # Y only, as HL7 table 0136 writes it
    assert message.flag("DESTMSSANTEPAT") is False  # absent
    assert _message().flag("DESTDMP") is False


def test_a_business_ack_masks_a_patient_s_mailbox_only() -> None:
    ack = BusinessAck(BusinessAckKind.MSS_READ, "MSG0001", False, PATIENT, error_code="550")
    assert repr(ack) == (
        "BusinessAck(Z03, original='MSG0001', success=False, "
        "address='27***********74@patient.mssante.fr', error='550')"
    )
    other = BusinessAck(BusinessAckKind.MSS_DELIVERY, "MSG0002", True, "dr@x.mssante.fr")
    assert "address='dr@x.mssante.fr'" in repr(other)


def test_an_address_with_two_at_signs_is_masked_up_to_the_first() -> None:
    participant = Participant("RCT", address="a@b@patient.mssante.fr")
    assert "address='a@b@patient.mssante.fr'" in repr(participant)  # not a patient domain
    patient = Participant("RCT", 3, person_id="275126322074974", address=PATIENT.upper())
    assert repr(patient) == (
        "Participant('RCT', sequence=3, person='27***********74', organization='', "
        "address='27***********74@PATIENT.MSSANTE.FR')"
    )


def test_a_document_s_repr_gives_its_size_or_a_dash() -> None:
    decoded = EncapsulatedDocument(1, "11490-0", "LN", "F", b"<ClinicalDocument/>")
    assert repr(decoded) == (
        "EncapsulatedDocument(sequence=1, type='11490-0', status='F', <19 bytes>)"
    )
    broken = EncapsulatedDocument(2, "11490-0", "LN", "F", None, problem="not base64")
    assert repr(broken) == "EncapsulatedDocument(sequence=2, type='11490-0', status='F', <- bytes>)"
