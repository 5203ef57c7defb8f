"""The ebRIM a submission is written as, read back value by value (IHE ITI TF-3 §4.2).

The reader here is the test's own: it takes every Slot, Name, Description, Classification
and ExternalIdentifier of an object by its IHE scheme, so a value written under the wrong
name, scheme or object, or not written, shows against the expected table.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from lxml import etree

from segurlink.cda import parse_header
from segurlink.cda.models import Code
from segurlink.dmp import document_entry_from_header, submission_set_for
from segurlink.dmp.metadata import (
    LCM_NS,
    RIM_NS,
    default_associations,
    document_entry_element,
    registry_object_list,
    signature_entry,
    submit_objects_request,
)
from tests.dmp import factory as f

R = f"{{{RIM_NS}}}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
NOW = dt.datetime(2024, 3, 2, 12, 0, tzinfo=dt.UTC)

# IHE ITI TF-3 Table 4.2.5-1 (written out here, independently of the library's constants).
DE_AUTHOR = "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d"
DE_CLASS = "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a"
DE_CONFIDENTIALITY = "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f"
DE_EVENT = "urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4"
DE_FORMAT = "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d"
DE_FACILITY = "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1"
DE_PRACTICE = "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead"
DE_TYPE = "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983"
DE_PATIENT_ID = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
DE_UNIQUE_ID = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
DE_OBJECT_TYPE = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
SS_NODE = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
SS_AUTHOR = "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d"
SS_CONTENT_TYPE = "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500"
SS_PATIENT_ID = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446"
SS_SOURCE_ID = "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832"
SS_UNIQUE_ID = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"

NURSE_XCN = "810001234567^BLEEDER^Roberta^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS"
DOCTOR_XCN = "810009876543^CAMPARINI^Marcel^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS"
EHPAD_XON = "EHPAD SEGURLINK TEST^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^1010000016"
INS_PID = "275126322074974^^^&1.2.250.1.213.1.4.8&ISO^NH"
TITLE = "Projet personnalisé d'accompagnement"


def _slots(element: etree._Element) -> dict[str, list[str]]:
    return {
        str(slot.get("name")): [v.text or "" for v in slot.findall(f"{R}ValueList/{R}Value")]
        for slot in element.findall(f"{R}Slot")
    }


def _text(element: etree._Element, tag: str) -> str | None:
    strings = element.findall(f"{R}{tag}/{R}LocalizedString")
    if not strings:
        return None
    (string,) = strings
    assert (string.get("charset"), string.get(XML_LANG)) == ("UTF8", "FR")
    return string.get("value")


def _object(element: etree._Element) -> dict[str, Any]:
    """An ebRIM object as plain values: attributes, slots, texts, classifications, ids."""
    obj = element.get("id")
    classifications = []
    for c in element.findall(f"{R}Classification"):
        assert c.get("classifiedObject") == obj
        classifications.append(
            (
                c.get("classificationScheme") or c.get("classificationNode"),
                c.get("nodeRepresentation"),
                _slots(c),
                _text(c, "Name"),
            )
        )
    identifiers = []
    for e in element.findall(f"{R}ExternalIdentifier"):
        assert e.get("registryObject") == obj
        identifiers.append((e.get("identificationScheme"), e.get("value"), _text(e, "Name")))
    return {
        "attributes": {k: v for k, v in element.attrib.items() if k != "id"},
        "slots": _slots(element),
        "name": _text(element, "Name"),
        "description": _text(element, "Description"),
        "classifications": classifications,
        "identifiers": identifiers,
    }


def _submission() -> tuple[Any, Any, Any]:
    data = f.cda()
    entry = document_entry_from_header(
        parse_header(data), data, comments="Réévaluation", hidden_from=["MASQUE_PS"]
    )
    entry = dataclasses.replace(
        entry,
        lid="urn:uuid:4f1c0e53-5b4a-4a56-9f0e-0c7a1f1d2e3b",
        repository_id="1.2.250.1.213.1.1.1.1",
        uri="DOC0001.XML",
        extra_slots=(("action", ("C",)),),
    )
    ss = submission_set_for(
        [entry],
        unique_id="1.2.250.1.999.1.1.1.1",
        source_id="1.2.250.1.999.1.1",
        submission_time=NOW,
        content_type=Code("SA17", "1.2.250.1.71.4.2.4", "Etablissement pour personnes âgées"),
    )
    ss = dataclasses.replace(ss, comments="Lot du 2 mars")
    return entry, ss, data


def test_a_document_entry_read_back() -> None:
    entry, _, data = _submission()
    eo = document_entry_element(entry)
    assert _object(eo) == {
        "attributes": {
            "mimeType": "text/xml",
            "objectType": DE_OBJECT_TYPE,
            "lid": "urn:uuid:4f1c0e53-5b4a-4a56-9f0e-0c7a1f1d2e3b",
        },
        "slots": {
            "creationTime": ["20240301093000"],
            "hash": [entry.hash],
            "languageCode": ["fr-FR"],
            "legalAuthenticator": [DOCTOR_XCN],
            "repositoryUniqueId": ["1.2.250.1.213.1.1.1.1"],
            "serviceStartTime": ["20240228093000"],
            "serviceStopTime": ["20240301093000"],
            "size": [str(len(data))],
            "sourcePatientId": ["IPP0001^^^&1.2.250.1.999.1.1.2&ISO^PI"],
            "sourcePatientInfo": ["PID-5|ADRUN^ZOE^^^^^L", "PID-7|19751231", "PID-8|F"],
            "URI": ["DOC0001.XML"],
            "action": ["C"],
        },
        "name": TITLE,
        "description": "Réévaluation",
        "classifications": [
            (
                DE_AUTHOR,
                "",
                {
                    "authorPerson": [NURSE_XCN],
                    "authorSpecialty": ["G15_60^Infirmier^1.2.250.1.213.1.1.4.5"],
                    "authorInstitution": [EHPAD_XON],
                },
                None,
            ),
            (DE_CLASS, "44", {"codingScheme": ["1.2.250.1.213.1.1.4.1"]},
             "Plan de soins, protocole de soins"),
            (DE_TYPE, "80788-3", {"codingScheme": ["2.16.840.1.113883.6.1"]}, TITLE),
            (DE_CONFIDENTIALITY, "N", {"codingScheme": ["2.16.840.1.113883.5.25"]}, "Normal"),
            (DE_CONFIDENTIALITY, "MASQUE_PS", {"codingScheme": ["1.2.250.1.213.1.1.4.13"]},
             "Masqué aux professionnels de santé"),
            (DE_FORMAT, "urn:ihe:iti:xds-sd:pdf:2008", {"codingScheme": ["1.3.6.1.4.1.19376.1.2.3"]},
             "Document à corps non structuré en PDF/A-1"),
            (DE_FACILITY, "SA17", {"codingScheme": ["1.2.250.1.71.4.2.4"]},
             "Etablissement pour personnes âgées"),
            (DE_PRACTICE, "ESSMS", {"codingScheme": ["1.2.250.1.213.1.1.4.9"]},
             "Etablissement ou Service Social ou Médico-Social"),
        ],
        "identifiers": [
            (DE_PATIENT_ID, INS_PID, "XDSDocumentEntry.patientId"),
            (DE_UNIQUE_ID, "2.25.1000", "XDSDocumentEntry.uniqueId"),
        ],
    }  # fmt: skip
    assert eo.tag == f"{R}ExtrinsicObject" and eo.get("id") == "Document01"


def test_empty_values_are_not_written() -> None:
    entry, _, _ = _submission()
    bare = dataclasses.replace(
        entry,
        lid="",
        repository_id="",
        uri="",
        extra_slots=(),
        size=None,
        comments="",
        legal_authenticator="",
        event_codes=(),
        type_code=Code("80788-3", "2.16.840.1.113883.6.1"),  # no display name: the code
    )
    read = _object(document_entry_element(bare))
    assert "lid" not in read["attributes"] and read["description"] is None
    assert set(read["slots"]) == {
        "creationTime",
        "hash",
        "languageCode",
        "serviceStartTime",
        "serviceStopTime",
        "sourcePatientId",
        "sourcePatientInfo",
    }
    types = [c for c in read["classifications"] if c[0] == DE_TYPE]
    assert types == [(DE_TYPE, "80788-3", {"codingScheme": ["2.16.840.1.113883.6.1"]}, "80788-3")]


def test_a_signature_entry_read_back_has_its_event_code() -> None:
    entry, ss, _ = _submission()
    signature = signature_entry(ss, entry, unique_id="1.2.3.4", content=b"<Signature/>")
    read = _object(document_entry_element(signature))
    events = [c for c in read["classifications"] if c[0] == DE_EVENT]
    assert events == [
        (DE_EVENT, "1.2.840.10065.1.12.1.14", {"codingScheme": ["1.2.840.10065.1.12"]}, "Source")
    ]
    assert read["name"] == "Source" and read["slots"]["languageCode"] == ["art"]


def test_a_submission_set_read_back() -> None:
    _, ss, _ = _submission()
    rol = registry_object_list(ss, [], [])
    (package,) = rol.findall(f"{R}RegistryPackage")
    assert package.get("id") == "SubmissionSet01"
    assert _object(package) == {
        "attributes": {},
        "slots": {"submissionTime": ["20240302120000"]},
        "name": TITLE,
        "description": "Lot du 2 mars",
        "classifications": [
            (
                SS_AUTHOR,
                "",
                {
                    "authorPerson": [NURSE_XCN],
                    "authorSpecialty": ["G15_60^Infirmier^1.2.250.1.213.1.1.4.5"],
                    "authorInstitution": [EHPAD_XON],
                },
                None,
            ),
            (SS_CONTENT_TYPE, "SA17", {"codingScheme": ["1.2.250.1.71.4.2.4"]},
             "Etablissement pour personnes âgées"),
            (SS_NODE, None, {}, None),
        ],
        "identifiers": [
            (SS_PATIENT_ID, INS_PID, "XDSSubmissionSet.patientId"),
            (SS_SOURCE_ID, "1.2.250.1.999.1.1", "XDSSubmissionSet.sourceId"),
            (SS_UNIQUE_ID, "1.2.250.1.999.1.1.1.1", "XDSSubmissionSet.uniqueId"),
        ],
    }  # fmt: skip


def test_every_id_of_a_request_is_unique() -> None:
    entry, ss, _ = _submission()
    signature = signature_entry(ss, entry, unique_id="1.2.3.4", content=b"<Signature/>")
    documents = [entry, signature]
    associations = default_associations(
        ss, documents, replaces={"Document01": "urn:uuid:old"}, signature_id="Signature01"
    )
    request = submit_objects_request(ss, documents, associations)
    assert request.tag == f"{{{LCM_NS}}}SubmitObjectsRequest"
    (rol,) = request
    assert rol.tag == f"{R}RegistryObjectList"
    ids = [e.get("id") for e in rol.iter() if e.get("id") is not None]
    assert len(ids) == len(set(ids)) > 30
    # objects in order: the set, the entries, then the associations
    assert [(e.tag.removeprefix(R), e.get("id")) for e in rol] == [
        ("RegistryPackage", "SubmissionSet01"),
        ("ExtrinsicObject", "Document01"),
        ("ExtrinsicObject", "Signature01"),
        ("Association", "assoc1"),
        ("Association", "assoc2"),
        ("Association", "assoc3"),
        ("Association", "assoc4"),
    ]


def test_associations_read_back() -> None:
    entry, ss, _ = _submission()
    documents = [entry, dataclasses.replace(entry, entry_id="Document02")]
    associations = default_associations(
        ss, documents, replaces={"Document02": "urn:uuid:old"}, signature_id="Signature01"
    )
    rol = registry_object_list(None, [], associations)
    read = [
        (
            a.get("id"),
            a.get("associationType"),
            a.get("sourceObject"),
            a.get("targetObject"),
            _slots(a),
        )
        for a in rol.findall(f"{R}Association")
    ]
    has_member = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
    original = {"SubmissionSetStatus": ["Original"]}
    assert read == [
        ("assoc1", has_member, "SubmissionSet01", "Document01", original),
        ("assoc2", has_member, "SubmissionSet01", "Document02", original),
        ("assoc3", "urn:ihe:iti:2007:AssociationType:RPLC", "Document02", "urn:uuid:old", {}),
        ("assoc4", "urn:ihe:iti:2007:AssociationType:signs", "Signature01", "SubmissionSet01",
         original),
    ]  # fmt: skip
    assert rol.find(f"{R}RegistryPackage") is None
