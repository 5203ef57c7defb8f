"""XDS metadata derived from a CDA header: values, value sets, consistency."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

import pytest

from segurlink.cda import read_header
from segurlink.cda.models import Code
from segurlink.dmp import check_metadata, document_entry_from_header, submission_set_for
from segurlink.dmp.metadata import (
    DE_CONFIDENTIALITY,
    DE_FORMAT,
    RIM_NS,
    XdsAuthor,
    default_associations,
    signature_entry,
    submit_objects_request,
    xon,
)
from segurlink.errors import InputError
from tests.dmp import factory as f

NOW = dt.datetime(2024, 3, 2, 12, 0, tzinfo=dt.UTC)


def _entry(**kwargs: object):  # type: ignore[no-untyped-def]
    data = f.cda()
    return document_entry_from_header(read_header(data), data, **kwargs), data  # type: ignore[arg-type]


def test_document_entry_values_come_from_the_header() -> None:
    entry, data = _entry()
    assert entry.patient_id == "275126322074974^^^&1.2.250.1.213.1.4.8&ISO^NH"
    assert entry.unique_id == "2.25.1000"
    assert entry.type_code.code == "80788-3"
    assert entry.class_code.code == "44"
    assert entry.format_code.code == "urn:ihe:iti:xds-sd:pdf:2008"
    assert entry.facility_type.code == "SA17"
    assert entry.practice_setting.code == "ESSMS"
    assert [c.code for c in entry.confidentiality] == ["N"]
    # CDA effectiveTime 10:30 +01:00 is 09:30 UTC.
    assert entry.creation_time == "20240301093000"
    assert entry.service_start == "20240228093000"
    assert entry.hash == hashlib.sha1(data).hexdigest()
    assert entry.size == len(data)
    assert entry.source_patient_id == "IPP0001^^^&1.2.250.1.999.1.1.2&ISO^PI"
    assert entry.source_patient_info == ("PID-5|ADRUN^ZOE^^^^^L", "PID-7|19751231", "PID-8|F")
    assert entry.legal_authenticator.startswith("810009876543^CAMPARINI^Marcel^")
    assert entry.authors[0].institutions == (
        "EHPAD SEGURLINK TEST^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^1010000016",
    )


def test_hidden_from_adds_dmp_only_codes() -> None:
    entry, _ = _entry(hidden_from=["MASQUE_PS", "INVISIBLE_PATIENT"])
    assert [(c.code, c.code_system) for c in entry.confidentiality] == [
        ("N", "2.16.840.1.113883.5.25"),
        ("MASQUE_PS", "1.2.250.1.213.1.1.4.13"),
        ("INVISIBLE_PATIENT", "1.2.250.1.213.1.1.4.13"),
    ]


def test_unknown_confidentiality_code_is_refused() -> None:
    with pytest.raises(InputError):
        _entry(hidden_from=["SECRET"])


def test_document_without_ins_cannot_be_described() -> None:
    data = f.cda()
    header = read_header(data)
    header = dataclasses.replace(header, patient=dataclasses.replace(header.patient, ins=None))
    with pytest.raises(InputError, match="INS"):
        document_entry_from_header(header, data)


def _submission(entry):  # type: ignore[no-untyped-def]
    return submission_set_for(
        [entry],
        unique_id="1.2.250.1.999.1.1.1.1",
        source_id="1.2.250.1.999.1.1",
        submission_time=NOW,
        content_type=Code("04", "1.2.250.1.213.2.2", "x"),
    )


def test_valid_metadata_has_no_issue() -> None:
    entry, _ = _entry()
    ss = _submission(entry)
    sig = signature_entry(ss, entry, unique_id="1.2.3.4", content=b"<Signature/>")
    assert check_metadata(ss, [entry, sig]) == ()


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"class_code": Code("99", "1.2.250.1.213.1.1.4.1")}, "classCode"),
        ({"class_code": Code("10", "1.2.250.1.213.1.1.4.1")}, "classCode"),  # contradicts type
        ({"format_code": Code("urn:x", "1.3.6.1.4.1.19376.1.2.3")}, "formatCode"),
        ({"facility_type": Code("SA99", "1.2.250.1.71.4.2.4")}, "healthcareFacilityTypeCode"),
        ({"practice_setting": Code("NOPE", "1.2.250.1.213.1.1.4.9")}, "practiceSettingCode"),
        ({"type_code": Code("80788-3", "9.9.9")}, "typeCode"),
        ({"confidentiality": ()}, "confidentialityCode"),
        ({"patient_id": "1^^^&1.2.250.1.213.1.4.8&ISO^NH"}, "patientId"),
        ({"authors": (XdsAuthor("x", (xon("OTHER", "1999999999"),)),)}, "authorInstitution"),
    ],
)
def test_each_broken_rule_is_reported(change: dict[str, object], rule: str) -> None:
    entry, _ = _entry()
    ss = _submission(entry)
    broken = dataclasses.replace(entry, **change)  # type: ignore[arg-type]
    assert rule in {i.rule for i in check_metadata(ss, [broken])}


def test_content_type_outside_jdv_j59_code_systems_is_reported() -> None:
    entry, _ = _entry()
    ss = dataclasses.replace(_submission(entry), content_type=Code("04", "1.2.3.4"))
    assert [i.rule for i in check_metadata(ss, [entry])] == ["contentTypeCode"]
    # A sector code (TRE_R02), as an EHPAD would use, is a JDV_J59 code system.
    ss = dataclasses.replace(ss, content_type=Code("SA17", "1.2.250.1.71.4.2.4"))
    assert check_metadata(ss, [entry]) == ()


def test_serialisation_has_the_classifications_of_the_spec() -> None:
    entry, _ = _entry(hidden_from=["MASQUE_PS"])
    ss = _submission(entry)
    sig = signature_entry(ss, entry, unique_id="1.2.3.4", content=b"<Signature/>")
    assocs = default_associations(
        ss, [entry, sig], replaces={"Document01": "urn:uuid:old"}, signature_id=sig.entry_id
    )
    root = submit_objects_request(ss, [entry, sig], assocs)
    r = f"{{{RIM_NS}}}"
    doc = root.find(f"{r}RegistryObjectList/{r}ExtrinsicObject[@id='Document01']")
    assert doc is not None
    schemes = [c.get("classificationScheme") for c in doc.findall(f"{r}Classification")]
    assert schemes.count(DE_CONFIDENTIALITY) == 2
    assert (
        doc.find(f"{r}Classification[@classificationScheme='{DE_FORMAT}']").get(
            "nodeRepresentation"
        )
        == "urn:ihe:iti:xds-sd:pdf:2008"
    )
    types = sorted(
        a.get("associationType", "").rsplit(":", 1)[-1] for a in root.iter(f"{r}Association")
    )
    assert types == ["HasMember", "HasMember", "RPLC", "signs"]
    rplc = next(
        a for a in root.iter(f"{r}Association") if a.get("associationType", "").endswith("RPLC")
    )
    assert (rplc.get("sourceObject"), rplc.get("targetObject")) == ("Document01", "urn:uuid:old")
