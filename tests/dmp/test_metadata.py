"""XDS metadata derived from a CDA header: values, value sets, consistency."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

import pytest

from segurlink.cda import parse_header
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
    return document_entry_from_header(parse_header(data), data, **kwargs), data  # type: ignore[arg-type]


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
    header = parse_header(data)
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


# -- each literal and rule has a failing case (issue 19 item 6) --------------------------------

R = f"{{{RIM_NS}}}"
LOINC = "2.16.840.1.113883.6.1"
J57 = "1.2.250.1.213.1.1.4.1"


def _localized(element, tag: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        s.get("value", "")
        for s in element.findall(f"{R}{tag}/{R}LocalizedString")
        if s.get("charset") == "UTF8" and s.get("{http://www.w3.org/XML/1998/namespace}lang")
    ]


def test_titles_comments_and_lid_are_in_the_ebrim_output() -> None:
    entry, _ = _entry(comments="Réévaluation trimestrielle")
    entry = dataclasses.replace(entry, lid="urn:uuid:4f1c0e53-5b4a-4a56-9f0e-0c7a1f1d2e3b")
    ss = dataclasses.replace(_submission(entry), comments="Lot du 2 mars")
    root = submit_objects_request(ss, [entry], default_associations(ss, [entry]))
    doc = root.find(f"{R}RegistryObjectList/{R}ExtrinsicObject")
    package = root.find(f"{R}RegistryObjectList/{R}RegistryPackage")
    assert doc is not None and package is not None
    assert _localized(doc, "Name") == ["Projet personnalisé d'accompagnement"]
    assert _localized(doc, "Description") == ["Réévaluation trimestrielle"]
    assert doc.get("lid") == "urn:uuid:4f1c0e53-5b4a-4a56-9f0e-0c7a1f1d2e3b"
    assert _localized(package, "Name") == ["Projet personnalisé d'accompagnement"]
    assert _localized(package, "Description") == ["Lot du 2 mars"]
    # Without comments or lid, nothing empty is written.
    bare, _ = _entry()
    bare_doc = submit_objects_request(_submission(bare), [bare], ()).find(f".//{R}ExtrinsicObject")
    assert bare_doc is not None and bare_doc.get("lid") is None
    assert bare_doc.find(f"{R}Description") is None


def test_professionals_structures_and_others_have_their_identifier_type() -> None:
    from segurlink.dmp.metadata import xcn

    assert xcn("810001234567", "BLEEDER", "Roberta") == (
        "810001234567^BLEEDER^Roberta^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS"
    )
    assert xcn("1010000016", "EHPAD", root="1.2.250.1.71.4.2.2").endswith(
        "&1.2.250.1.71.4.2.2&ISO^D^^^IDNST"
    )
    assert xcn("42", "LOGICIEL", root="1.2.250.1.999.7").endswith("&1.2.250.1.999.7&ISO^D^^^RI")
    entry, _ = _entry()
    author = entry.authors[0].person
    assert author.split("^")[:3] == ["810001234567", "BLEEDER", "Roberta"]
    assert author.endswith("^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS")
    assert entry.legal_authenticator.endswith("&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS")


def test_the_signature_entry_uses_the_urn_and_astm_schemes() -> None:
    entry, _ = _entry()
    ss = _submission(entry)
    sig = signature_entry(ss, entry, unique_id="1.2.3.4", content=b"<Signature/>")
    assert (sig.class_code.code, sig.class_code.code_system) == (
        "urn:oid:1.3.6.1.4.1.19376.1.2.1.1.1",
        "URN",
    )
    assert (sig.format_code.code, sig.format_code.code_system) == (
        "http://www.w3.org/2000/09/xmldsig#",
        "URN",
    )
    assert (sig.type_code.code, sig.type_code.code_system) == ("E1762", "ASTM")
    assert [(c.code, c.code_system) for c in sig.event_codes] == [
        ("1.2.840.10065.1.12.1.14", "1.2.840.10065.1.12")
    ]
    assert sig.mime_type == "text/xml" and sig.entry_id == "Signature01"
    eo = submit_objects_request(ss, [sig], ()).find(f".//{R}ExtrinsicObject")
    assert eo is not None
    schemes = {
        c.get("nodeRepresentation"): c.findtext(f"{R}Slot/{R}ValueList/{R}Value")
        for c in eo.findall(f"{R}Classification")
    }
    assert schemes["urn:oid:1.3.6.1.4.1.19376.1.2.1.1.1"] == "URN"
    assert schemes["http://www.w3.org/2000/09/xmldsig#"] == "URN"
    assert schemes["E1762"] == "ASTM"
    # Only the exact signature class skips the document rules: another URN class does not.
    fake = dataclasses.replace(entry, class_code=Code("urn:oid:1.2.3", "URN"))
    assert "classCode" in {i.rule for i in check_metadata(ss, [fake])}


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        ((("N", "2.16.840.1.113883.5.25"), ("SECRET", "1.2.250.1.213.1.1.4.13")), "SECRET"),
        ((("N", "2.16.840.1.113883.5.25"), ("MASQUE_PS", "2.16.840.1.113883.5.25")), "MASQUE_PS"),
        ((("N", "1.2.250.1.213.1.1.4.13"),), "exactly one HL7"),
        ((("N", "2.16.840.1.113883.5.25"), ("R", "2.16.840.1.113883.5.25")), "exactly one HL7"),
        ((("N", "2.16.840.1.113883.5.25"), ("N", "2.16.840.1.113883.5.25")), "repeated"),
        ((("MASQUE_PS", "1.2.250.1.213.1.1.4.13"),), "exactly one HL7"),
    ],
)
def test_unknown_or_inconsistent_confidentiality_codes_are_reported(
    codes: tuple[tuple[str, str], ...], message: str
) -> None:
    entry, _ = _entry()
    broken = dataclasses.replace(entry, confidentiality=tuple(Code(c, s) for c, s in codes))
    issues = [i for i in check_metadata(_submission(entry), [broken]) if message in i.message]
    assert issues and {i.rule for i in issues} == {"confidentialityCode"}
    assert all(i.location == "Document01" and i.severity == "error" for i in issues)


def test_every_dmp_confidentiality_code_is_accepted() -> None:
    entry, _ = _entry(
        hidden_from=["MASQUE_PS", "INVISIBLE_PATIENT", "INVISIBLE_REPRESENTANTS_LEGAUX"]
    )
    assert check_metadata(_submission(entry), [entry]) == ()
    for hl7 in ("N", "R", "V"):
        other = dataclasses.replace(entry, confidentiality=(Code(hl7, "2.16.840.1.113883.5.25"),))
        assert check_metadata(_submission(other), [other]) == ()


@pytest.mark.parametrize(
    ("class_code", "accepted"),
    [
        (Code("12", J57), False),  # not in JDV_J57 (an older table's "Prescription")
        (Code("99", J57), False),
        (Code("10", "1.2.250.1.213.1.1.4.99"), False),  # a JDV_J57 code in another system
        (Code("31", J57), True),
        (Code("42", J57), True),
        (Code("43", J57), True),
        (Code("45", J57), True),
        (Code("90", J57), True),
    ],
)
def test_class_of_an_uncatalogued_type_must_be_in_jdv_j57(class_code: Code, accepted: bool) -> None:
    from segurlink.dmp.metadata import class_code_for

    uncatalogued = Code("11502-2", LOINC)  # CR d'examens biologiques: no derived class
    with pytest.raises(InputError, match="11502-2"):
        class_code_for(uncatalogued)
    entry, _ = _entry()
    entry = dataclasses.replace(entry, type_code=uncatalogued, class_code=class_code)
    rules = [i.rule for i in check_metadata(_submission(entry), [entry])]
    assert rules == ([] if accepted else ["classCode"])


#: ASS_X04 rows for segurlink's catalogue, written out independently of the source table.
TYPE_TO_CLASS = {
    "80788-3": "44",
    "28653-4": "10",
    "34842-5": "10",
    "83981-1": "11",
    "88348-8": "11",
    "74207-2": "11",
    "78341-5": "10",
    "60280-5": "10",
    "11490-0": "10",
    "11488-4": "10",
    "34133-9": "11",
}
CLASS_NAMES = {
    "10": "Compte rendu",
    "11": "Synthèse",
    "31": "Imagerie médicale",
    "42": "Prescription",
    "43": "Dispensation",
    "44": "Plan de soins, protocole de soins",
    "45": "Traitement administré",
    "52": "Certificat, déclaration",
    "60": "Données de remboursement",
    "90": "Autres documents déposés par le patient",
    "95": "Document de gestion",
}


def test_the_class_tables_are_exactly_these() -> None:
    from segurlink.dmp.metadata import _CLASS_BY_TYPE, CLASS_CODES

    assert dict(_CLASS_BY_TYPE) == TYPE_TO_CLASS
    assert {c: (v.code_system, v.display_name) for c, v in CLASS_CODES.items()} == {
        c: (J57, name) for c, name in CLASS_NAMES.items()
    }


@pytest.mark.parametrize(("type_code", "class_code"), sorted(TYPE_TO_CLASS.items()))
def test_each_catalogued_type_has_its_class(type_code: str, class_code: str) -> None:
    from segurlink.dmp.metadata import class_code_for

    derived = class_code_for(Code(type_code, LOINC))
    assert (derived.code, derived.code_system, derived.display_name) == (
        class_code,
        J57,
        CLASS_NAMES[class_code],
    )
    entry, _ = _entry()
    entry = dataclasses.replace(entry, type_code=Code(type_code, LOINC), class_code=derived)
    assert check_metadata(_submission(entry), [entry]) == ()
    for other in sorted(set(CLASS_NAMES) - {class_code}):
        wrong = dataclasses.replace(entry, class_code=Code(other, J57))
        issues = check_metadata(_submission(entry), [wrong])
        assert [i.rule for i in issues] == ["classCode"], other
        assert f"contradicts typeCode {type_code}" in issues[0].message


@pytest.mark.parametrize(
    ("template", "format_code"),
    [
        ("1.2.250.1.213.1.1.1.22", "urn:asip:ci-sis:dlu:2015"),
        ("1.2.250.1.213.1.1.1.13", "urn:asip:ci-sis:vsm:2012"),
    ],
)
def test_a_structured_document_gets_its_model_format_code(template: str, format_code: str) -> None:
    data = f.cda()
    header = parse_header(data)
    structured = dataclasses.replace(
        header, media_type=None, template_ids=(*header.template_ids, template)
    )
    entry = document_entry_from_header(structured, data)
    assert (entry.format_code.code, entry.format_code.code_system) == (
        format_code,
        "1.2.250.1.213.1.1.4.2.282",
    )
    assert check_metadata(_submission(entry), [entry]) == ()
    unknown = dataclasses.replace(header, media_type=None, template_ids=("1.2.3.4",))
    with pytest.raises(InputError, match="formatCode"):
        document_entry_from_header(unknown, data)
    with pytest.raises(InputError, match="image/gif"):
        document_entry_from_header(dataclasses.replace(header, media_type="image/gif"), data)


@pytest.mark.parametrize(
    ("media_type", "format_code"),
    [
        ("application/pdf", "urn:ihe:iti:xds-sd:pdf:2008"),
        ("text/plain", "urn:ihe:iti:xds-sd:text:2008"),
        ("text/rtf", "urn:ihe:iti-fr:xds-sd:rtf:2010"),
        ("image/jpeg", "urn:ihe:iti-fr:xds-sd:jpeg:2010"),
        ("image/tiff", "urn:ihe:iti-fr:xds-sd:tiff:2010"),
    ],
)
def test_each_level1_media_type_has_its_format_code(media_type: str, format_code: str) -> None:
    data = f.cda()
    header = dataclasses.replace(parse_header(data), media_type=media_type)
    entry = document_entry_from_header(header, data)
    assert (entry.format_code.code, entry.format_code.code_system) == (
        format_code,
        "1.3.6.1.4.1.19376.1.2.3",
    )


# -- every value of the entries, whole (issue 19: mutation testing) ---------------------------

NURSE_XCN = "810001234567^BLEEDER^Roberta^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS"
DOCTOR_XCN = "810009876543^CAMPARINI^Marcel^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS"
EHPAD_XON = "EHPAD SEGURLINK TEST^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^1010000016"
INS_PID = "275126322074974^^^&1.2.250.1.213.1.4.8&ISO^NH"
NURSE_AUTHOR = XdsAuthor(NURSE_XCN, (EHPAD_XON,), ("G15_60^Infirmier^1.2.250.1.213.1.1.4.5",))


def test_the_document_entry_of_the_test_document_whole() -> None:
    from segurlink.dmp.metadata import DocumentEntryMetadata

    entry, data = _entry(comments="Réévaluation")
    assert entry == DocumentEntryMetadata(
        entry_id="Document01",
        unique_id="2.25.1000",
        patient_id=INS_PID,
        mime_type="text/xml",
        creation_time="20240301093000",
        authors=(NURSE_AUTHOR,),
        class_code=Code("44", J57, "Plan de soins, protocole de soins"),
        type_code=Code("80788-3", LOINC, "Projet personnalisé d'accompagnement", "LOINC"),
        confidentiality=(Code("N", "2.16.840.1.113883.5.25", "Normal"),),
        format_code=Code(
            "urn:ihe:iti:xds-sd:pdf:2008",
            "1.3.6.1.4.1.19376.1.2.3",
            "Document à corps non structuré en PDF/A-1",
        ),
        facility_type=Code("SA17", "1.2.250.1.71.4.2.4", "Etablissement pour personnes âgées"),
        practice_setting=Code(
            "ESSMS", "1.2.250.1.213.1.1.4.9", "Etablissement ou Service Social ou Médico-Social"
        ),
        title="Projet personnalisé d'accompagnement",
        comments="Réévaluation",
        language="fr-FR",
        legal_authenticator=DOCTOR_XCN,
        service_start="20240228093000",
        service_stop="20240301093000",
        source_patient_id="IPP0001^^^&1.2.250.1.999.1.1.2&ISO^PI",
        source_patient_info=("PID-5|ADRUN^ZOE^^^^^L", "PID-7|19751231", "PID-8|F"),
        hash=hashlib.sha1(data).hexdigest(),
        size=len(data),
    )


def test_a_sparse_header_gets_the_dmp_defaults() -> None:
    data = f.cda()
    header = parse_header(data)
    patient = dataclasses.replace(
        header.patient, ids=header.patient.ids[:1], birth_date=None, sex=None
    )
    sparse = dataclasses.replace(
        header,
        patient=patient,
        language=None,
        legal_authenticator=None,
        service_start=None,
        service_stop=None,
        confidentiality=None,
    )
    entry = document_entry_from_header(sparse, data)
    assert (entry.language, entry.legal_authenticator) == ("fr-FR", "")
    assert (entry.service_start, entry.service_stop) == ("", "")
    assert entry.confidentiality == (Code("N", "2.16.840.1.113883.5.25", "Normal"),)
    # without a local identifier, the INS is the source patient id
    assert entry.source_patient_id == INS_PID
    assert entry.source_patient_info == ("PID-5|ADRUN^ZOE^^^^^L",)


def test_a_software_author_is_named_by_its_software() -> None:
    from segurlink.cda.models import InstanceId, ParticipantFacts
    from segurlink.dmp.metadata import _author

    device = ParticipantFacts(
        time=None,
        id=InstanceId("1.2.250.1.999.7", "DUI-42"),
        role=None,
        name=None,
        software_name="MonDUI 4.2",
        organization=None,
    )
    assert _author(device) == XdsAuthor("DUI-42^MonDUI 4.2^^^^^^^&1.2.250.1.999.7&ISO^D^^^RI")
    nameless = dataclasses.replace(device, software_name=None, id=InstanceId("1.2.250.1.999.7"))
    assert _author(nameless).person == "1.2.250.1.999.7^^^^^^^^&1.2.250.1.999.7&ISO^D^^^RI"
    assert _author(dataclasses.replace(device, id=None)) == XdsAuthor()


def test_xcn_defaults_to_an_rpps_with_no_name() -> None:
    from segurlink.dmp.metadata import xcn

    assert xcn("810001234567") == "810001234567^^^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS"


def test_the_submission_set_whole() -> None:
    from segurlink.dmp.metadata import SubmissionSetMetadata

    entry, _ = _entry()
    second = XdsAuthor(DOCTOR_XCN, (EHPAD_XON,))
    entry = dataclasses.replace(entry, authors=(NURSE_AUTHOR, second))
    assert _submission(entry) == SubmissionSetMetadata(
        unique_id="1.2.250.1.999.1.1.1.1",
        source_id="1.2.250.1.999.1.1",
        submission_time="20240302120000",
        patient_id=INS_PID,
        authors=(NURSE_AUTHOR,),  # the first document's first author
        content_type=Code("04", "1.2.250.1.213.2.2", "x"),
        title="Projet personnalisé d'accompagnement",
    )
    with pytest.raises(InputError) as info:
        submission_set_for(
            [], unique_id="1", source_id="1", submission_time=NOW, content_type=Code("04", "x")
        )
    assert str(info.value) == "a submission set needs at least one document"


def test_the_signature_entry_whole() -> None:
    from segurlink.dmp.metadata import DocumentEntryMetadata

    entry, _ = _entry()
    ss = _submission(entry)
    signature = signature_entry(ss, entry, unique_id="1.2.3.4", content=b"<Signature/>")
    assert signature == DocumentEntryMetadata(
        entry_id="Signature01",
        unique_id="1.2.3.4",
        patient_id=INS_PID,
        mime_type="text/xml",
        creation_time="20240302120000",
        authors=(NURSE_AUTHOR,),
        class_code=Code("urn:oid:1.3.6.1.4.1.19376.1.2.1.1.1", "URN", "Digital Signature"),
        type_code=Code("E1762", "ASTM", "Full Document"),
        confidentiality=(
            Code("N", "2.16.840.1.113883.5.25", "Normal"),
            Code("MASQUE_PS", "1.2.250.1.213.1.1.4.13", "Masqué aux professionnels de santé"),
            Code("INVISIBLE_PATIENT", "1.2.250.1.213.1.1.4.13", "Non visible par le patient"),
        ),
        format_code=Code("http://www.w3.org/2000/09/xmldsig#", "URN", "Default Signature Style"),
        facility_type=entry.facility_type,
        practice_setting=entry.practice_setting,
        title="Source",
        language="art",
        legal_authenticator=DOCTOR_XCN,
        service_start="20240302120000",
        service_stop="20240302120000",
        source_patient_id=INS_PID,
        hash=hashlib.sha1(b"<Signature/>").hexdigest(),
        size=len(b"<Signature/>"),
        event_codes=(Code("1.2.840.10065.1.12.1.14", "1.2.840.10065.1.12", "Source"),),
    )


# -- what each broken rule says, and where --------------------------------------------------


def _issues(ss, documents) -> list[tuple[str, str, str, str]]:  # type: ignore[no-untyped-def]
    return [(i.severity, i.rule, i.location, i.message) for i in check_metadata(ss, documents)]


@pytest.mark.parametrize(
    ("change", "rule", "message"),
    [
        ({"class_code": Code("99", J57), "type_code": Code("11502-2", LOINC)}, "classCode",
         "classCode '99' is not in JDV_J57"),
        ({"class_code": Code("10", J57)}, "classCode", "classCode 10 contradicts typeCode 80788-3"),
        ({"type_code": Code("80788-3", "9.9.9")}, "typeCode", "typeCode is neither LOINC nor TRE_A05"),
        ({"format_code": Code("urn:x", "1.3.6.1.4.1.19376.1.2.3")}, "formatCode",
         "formatCode 'urn:x' is not a DMP format"),
        ({"facility_type": Code("SA99", "1.2.250.1.71.4.2.4")}, "healthcareFacilityTypeCode",
         "healthcareFacilityTypeCode 'SA99' is unknown"),
        ({"facility_type": Code("SA17", "1.2.3")}, "healthcareFacilityTypeCode",
         "healthcareFacilityTypeCode 'SA17' is unknown"),
        ({"practice_setting": Code("NOPE", "1.2.250.1.213.1.1.4.9")}, "practiceSettingCode",
         "practiceSettingCode 'NOPE' is unknown"),
        ({"practice_setting": Code("ESSMS", "1.2.3")}, "practiceSettingCode",
         "practiceSettingCode 'ESSMS' is unknown"),
        ({"confidentiality": ()}, "confidentialityCode",
         "exactly one HL7 confidentiality code (N/R/V) is required"),
        ({"patient_id": "110086322083060^^^&1.2.250.1.213.1.4.8&ISO^NH"}, "patientId",
         "patientId differs from the submission set's"),
        ({"authors": (XdsAuthor("x", (xon("OTHER", "1999999999"),)),)}, "authorInstitution",
         "authorInstitution differs between the document and the submission set"),
        ({"creation_time": ""}, "creationTime", "creationTime is missing"),
    ],
)  # fmt: skip
def test_each_broken_rule_says_what_and_where(
    change: dict[str, object], rule: str, message: str
) -> None:
    entry, _ = _entry()
    ss = _submission(entry)
    broken = dataclasses.replace(entry, entry_id="Document07", **change)  # type: ignore[arg-type]
    assert _issues(ss, [broken]) == [("error", rule, "Document07", message)]


def test_a_patient_id_that_is_not_an_ins() -> None:
    entry, _ = _entry()
    local = "IPP0001^^^&1.2.250.1.999.1.1.2&ISO^PI"
    ss = dataclasses.replace(_submission(entry), patient_id=local)
    broken = dataclasses.replace(entry, patient_id=local)
    assert _issues(ss, [broken]) == [
        ("error", "patientId", "Document01", "patientId is not an INS (…^NH)")
    ]


def test_submission_set_rules_say_what_and_where() -> None:
    entry, _ = _entry()
    ss = dataclasses.replace(
        _submission(entry),
        authors=(XdsAuthor(NURSE_XCN),),
        content_type=Code("04", "1.2.3.4"),
    )
    bare = dataclasses.replace(entry, authors=(XdsAuthor(NURSE_XCN),))
    assert _issues(ss, [bare]) == [
        ("error", "author", "SubmissionSet", "the submission set has no authorInstitution"),
        (
            "error",
            "contentTypeCode",
            "SubmissionSet",
            "contentTypeCode system '1.2.3.4' is not one of JDV_J59 (TRE_A00, TRE_R209, TRE_R02)",
        ),
    ]


def test_documents_after_the_signature_entry_are_checked_too() -> None:
    entry, _ = _entry()
    ss = _submission(entry)
    sig = signature_entry(ss, entry, unique_id="1.2.3.4", content=b"<Signature/>")
    broken = dataclasses.replace(entry, creation_time="")
    assert [i.rule for i in check_metadata(ss, [sig, broken])] == ["creationTime"]


def test_require_valid_metadata_lists_every_broken_rule() -> None:
    from segurlink.dmp.metadata import require_valid_metadata
    from segurlink.errors import ValidationError

    entry, _ = _entry()
    ss = _submission(entry)
    require_valid_metadata(ss, [entry])  # valid: nothing raised
    broken = dataclasses.replace(entry, creation_time="", class_code=Code("10", J57))
    with pytest.raises(ValidationError) as info:
        require_valid_metadata(ss, [broken])
    assert str(info.value) == (
        "the XDS metadata break DMP rules: classCode 10 contradicts typeCode 80788-3; "
        "creationTime is missing"
    )
    assert [i.rule for i in info.value.issues] == ["classCode", "creationTime"]


def test_unknown_confidentiality_code_names_the_known_ones() -> None:
    from segurlink.dmp.metadata import confidentiality_code

    with pytest.raises(InputError) as info:
        confidentiality_code("SECRET")
    assert str(info.value) == (
        "unknown confidentiality code 'SECRET'; known: N, R, V, MASQUE_PS, INVISIBLE_PATIENT, "
        "INVISIBLE_REPRESENTANTS_LEGAUX"
    )
    code = Code("R", "2.16.840.1.113883.5.25")
    assert confidentiality_code(code) is code


def test_a_structured_document_without_known_model_needs_a_format_code() -> None:
    data = f.cda()
    header = dataclasses.replace(parse_header(data), media_type=None, template_ids=("1.2.3.4",))
    with pytest.raises(InputError) as info:
        document_entry_from_header(header, data)
    assert str(info.value) == (
        "cannot derive the formatCode of this structured document; pass format_code"
    )
    given = Code("urn:asip:ci-sis:dlu:2015", "1.2.250.1.213.1.1.4.2.282")
    assert document_entry_from_header(header, data, format_code=given).format_code == given
