"""Every official PAM FR ADT sample in ../shared/hl7-samples parses to the identity it carries;
the MDM sample is refused as not ADT; the ANS acknowledgement examples are read."""

from __future__ import annotations

import datetime

import pytest

from segurlink.errors import Hl7Error
from segurlink.hl7 import AckCode, parse_ack, parse_message
from segurlink.identity import IdentityStatus, Ins
from tests.conftest import shared_path
from tests.hl7.conftest import ADT_SAMPLES, SAMPLE_INS, SAMPLES, TEST_OID, sample

pytestmark = pytest.mark.conformance

# (event, MSH-10) of each sample, read by eye in the files.
EXPECTED_HEADERS = {
    "SGL_admission.er7": ("A01", "3975"),
    "SGL_sortie.er7": ("A03", "3995"),
    ADT_SAMPLES[2]: ("A01", "3975"),
    ADT_SAMPLES[3]: ("A01", "3976"),
    ADT_SAMPLES[4]: ("A01", "3977"),
    ADT_SAMPLES[5]: ("A01", "3978"),
    ADT_SAMPLES[6]: ("A01", "3979"),
}


@pytest.mark.parametrize("name", ADT_SAMPLES)
def test_adt_sample_parses_to_its_identity(name: str) -> None:
    message = parse_message(sample(name))
    identity = message.identity

    assert (message.header.message_type, message.header.event, message.header.control_id) == (
        "ADT",
        *EXPECTED_HEADERS[name],
    )
    assert message.header.charset == "UNICODE UTF-8"
    assert message.header.processing_id == "D"
    assert identity.ins == Ins("2790351215189", "89", TEST_OID)
    assert identity.ins is not None and identity.ins.value == SAMPLE_INS
    assert identity.ins_effective_date == datetime.date(2010, 12, 7)
    assert identity.birth_name == "PAT-TROIS"
    assert identity.first_names == ("DOMINIQUE",)
    assert identity.used_name is None
    assert identity.birth_date == "1979-03-28"
    assert identity.sex == "F"
    assert identity.birth_place == "63220"
    assert identity.reliability_codes == ("VALI",)
    assert identity.status is IdentityStatus.VALI
    assert [(i.value, i.namespace, i.type_code) for i in identity.local_ids] == [
        ("000003", "CHU-X", "PI")
    ]
    traits = identity.traits()
    assert (traits.birth_name, traits.first_names, traits.sex, traits.birth_date) == (
        "PAT-TROIS",
        ("DOMINIQUE",),
        "F",
        "1979-03-28",
    )
    assert traits.birth_place == "63220"


@pytest.mark.parametrize("name", ADT_SAMPLES)
def test_sample_segments_are_all_kept_z_segments_included(name: str) -> None:
    message = parse_message(sample(name))
    lines = [line for line in sample(name).decode().splitlines() if line.strip()]
    assert message.segment_ids == tuple(line[:3] for line in lines)
    assert "ZBE" in message.segment_ids


def test_the_mdm_sample_is_refused_naming_msh_9() -> None:
    mdm = shared_path(
        SAMPLES,
        "Volets_TRANS_DOC_CDA_HL7V2_V2.0_MDM_Transmission_initiale_MDM_message_MDM_CR_Radio_INIT_N1.er7",
    )
    with pytest.raises(Hl7Error) as info:
        parse_message(mdm.read_bytes())
    assert (info.value.segment, info.value.field, info.value.code) == ("MSH", 9, "200")
    assert info.value.location == "MSH-9"


@pytest.mark.parametrize(
    ("name", "code", "errors"),
    [
        ("cda_ack_AA_R01.hl7", AckCode.AA, []),
        ("cda_ack_AE_203_unsupported_version.hl7", AckCode.AE, [("203", "MSH", 12, "")]),
        ("lps_ack_AE_207_902_unknown_patient.hl7", AckCode.AE, [("207", "PID", 3, "902")]),
    ],
)
def test_ans_acknowledgement_examples_are_read(
    name: str, code: AckCode, errors: list[tuple[str, str, int, str]]
) -> None:
    ack = parse_ack(shared_path(SAMPLES, "mdm-gateway", name).read_bytes())
    assert ack.code is code
    assert ack.acknowledged_id == "12345"
    assert [(e.code, e.segment, e.field, e.application_code) for e in ack.errors] == errors
