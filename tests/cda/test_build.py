"""The builder: header content, INS rule, determinism, replacement, refusals."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt

import pytest
from lxml import etree

from segurlink.cda import (
    Attachment,
    InstanceId,
    ParentDocument,
    build_document,
    check_header,
    document_type,
    parse_header,
)
from segurlink.errors import IdentityStatusError, InputError

from .factory import INS, IPP_ROOT, PDF, T0, make_document, provisional_patient

NS = {"h": "urn:hl7-org:v3"}


def xp(xml: bytes, path: str) -> list[str]:
    root = etree.fromstring(xml)
    return [str(v) for v in root.xpath(path, namespaces=NS)]


def test_header_of_a_qualified_patient_carries_ins_and_strict_traits() -> None:
    xml = build_document(make_document())
    assert xp(xml, "/h:ClinicalDocument/h:realmCode/@code") == ["FR"]
    assert xp(xml, "/h:ClinicalDocument/h:templateId/@root") == [
        "2.16.840.1.113883.2.8.2.1",
        "1.2.250.1.213.1.1.1.1",
        "1.3.6.1.4.1.19376.1.2.20",
    ]
    assert xp(xml, "//h:ClinicalDocument/h:code/@code") == ["80788-3"]
    assert xp(xml, "/h:ClinicalDocument/h:effectiveTime/@value") == ["20240301103000+0100"]
    assert xp(xml, "//h:patientRole/h:id/@root") == ["1.2.250.1.213.1.4.10", IPP_ROOT]
    assert xp(xml, "//h:patientRole/h:id[1]/@extension") == [INS.value]
    name = "//h:patient/h:name/"
    assert xp(xml, name + "h:family[@qualifier='BR']/text()") == ["PAT-TROIS"]
    assert xp(xml, name + "h:given[not(@qualifier)]/text()") == ["DOMINIQUE MARIE-LOUISE"]
    assert xp(xml, name + "h:given[@qualifier='BR']/text()") == ["DOMINIQUE"]
    assert xp(xml, name + "h:family[@qualifier='CL']/text()") == ["DURAND"]
    assert xp(xml, "//h:patient/h:birthTime/@value") == ["19790328"]
    assert xp(xml, "//h:birthplace/h:place/h:addr/h:county/text()") == ["51215"]
    assert xp(xml, "//h:assignedAuthor/h:id/@extension") == ["810001234567"]
    assert xp(xml, "//h:standardIndustryClassCode/@code") == ["ESSMS"]
    assert xp(xml, "//h:healthCareFacility/h:code/@code") == ["SA17"]
    body = xp(xml, "//h:nonXMLBody/h:text/text()")[0]
    assert base64.b64decode(body) == PDF
    assert check_header(etree.fromstring(xml)) == []


def test_same_input_gives_the_same_bytes() -> None:
    assert build_document(make_document(seed=3)) == build_document(make_document(seed=3))
    assert build_document(make_document(seed=3)) != build_document(make_document(seed=4))


def test_provisional_identity_uses_the_local_id_and_never_the_ins() -> None:
    xml = build_document(make_document(patient=provisional_patient()))
    assert xp(xml, "//h:patientRole/h:id/@root") == [IPP_ROOT]
    assert INS.value.encode() not in xml
    assert check_header(etree.fromstring(xml)) == []


def test_provisional_identity_without_local_id_is_refused() -> None:
    with pytest.raises(IdentityStatusError, match="not qualified"):
        build_document(make_document(patient=provisional_patient(with_ipp=False)))


def test_naive_timestamp_is_refused() -> None:
    document = dataclasses.replace(make_document(), effective_time=dt.datetime(2024, 1, 1))
    with pytest.raises(InputError, match="time zone"):
        build_document(document)


@pytest.mark.parametrize(
    ("content", "media_type", "message"),
    [
        (b"<html/>", "text/html", "not allowed"),
        (b"not a pdf", "application/pdf", "signature"),
        (b"", "text/plain", "empty"),
    ],
    # named: mutation testing runs pytest with raw ids, where bytes cannot make one
    ids=["html", "not-a-pdf", "empty-text"],
)
def test_bodies_the_cisis_does_not_allow_are_refused(
    content: bytes, media_type: str, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        build_document(make_document(body=Attachment(content, media_type)))


def test_plain_text_body() -> None:
    xml = build_document(make_document(body=Attachment("Texte é".encode(), "text/plain")))
    assert xp(xml, "//h:nonXMLBody/h:text/@mediaType") == ["text/plain"]
    assert parse_header(xml).format_code == "urn:ihe:iti:xds-sd:text:2008"


def test_software_author() -> None:
    xml = build_document(make_document(software_author=True))
    assert xp(xml, "//h:assignedAuthoringDevice/h:softwareName/text()") == ["MonDUI 4.2"]
    assert xp(xml, "//h:assignedAuthor/h:code/@code") == ["LOGICIEL_DUI"]
    header = parse_header(xml)
    assert header.authors[0].software_name == "MonDUI 4.2"
    assert check_header(etree.fromstring(xml)) == []


def test_replacement_keeps_set_id_and_increments_version() -> None:
    first = make_document()
    second = first.replacement(
        id=InstanceId("1.2.250.1.71.4.2.7.99.2", "DOC-2"),
        effective_time=T0 + dt.timedelta(days=1),
    )
    xml = build_document(second)
    header = parse_header(xml)
    assert header.set_id == first.set_id
    assert header.version == 2
    assert header.relation == "RPLC"
    assert header.parent_document is not None
    assert header.parent_document.id == first.id
    assert header.parent_document.version == 1
    assert check_header(etree.fromstring(xml)) == []
    # CDA order (the XSD refuses relatedDocument before documentationOf), and StrucMin's
    # CI-SISRelatedDocument: parentDocument holds id and versionNumber, never a setId.
    children = [etree.QName(c).localname for c in etree.fromstring(xml)]
    assert children[-4:] == ["documentationOf", "relatedDocument", "componentOf", "component"]
    parent = "//h:relatedDocument/h:parentDocument/*"
    assert [
        etree.QName(c).localname for c in etree.fromstring(xml).xpath(parent, namespaces=NS)  # type: ignore[arg-type]
    ] == [
        "id",
        "versionNumber",
    ]


def test_a_new_version_is_authored_and_signed_at_its_own_time() -> None:
    first = make_document()
    later = T0 + dt.timedelta(days=7, hours=2)
    second = first.replacement(
        id=InstanceId("1.2.250.1.71.4.2.7.99.2", "DOC-2"), effective_time=later
    )
    assert [a.time for a in second.authors] == [later]
    assert second.legal_authenticator.time == later
    # Who authored and signed does not change.
    assert second.authors[0].professional == first.authors[0].professional
    assert second.legal_authenticator.professional == first.legal_authenticator.professional
    header = parse_header(build_document(second))
    assert [a.time for a in header.authors] == [later]
    assert header.legal_authenticator is not None and header.legal_authenticator.time == later


def test_a_new_version_keeps_the_times_its_caller_gives() -> None:
    first = make_document()
    later, signed = T0 + dt.timedelta(days=7), T0 + dt.timedelta(days=8)
    author = dataclasses.replace(first.authors[0], time=T0 + dt.timedelta(days=6))
    legal = dataclasses.replace(first.legal_authenticator, time=signed)
    second = first.replacement(
        id=InstanceId("1.2.250.1.71.4.2.7.99.2", "DOC-2"),
        effective_time=later,
        authors=(author,),
        legal_authenticator=legal,
    )
    assert second.authors == (author,)
    assert second.legal_authenticator == legal
    third = second.replacement(
        id=InstanceId("1.2.250.1.71.4.2.7.99.2", "DOC-3"), effective_time=signed
    )
    assert (third.version, third.replaces) == (3, ParentDocument(second.id, None, 2))
    assert third.authors[0].time == signed


def test_read_header_gives_the_facts_for_xds_metadata() -> None:
    document = make_document("DLU")
    header = parse_header(build_document(document))
    assert header.id == document.id
    assert header.type_code == document_type("DLU").code
    assert header.confidentiality is not None and header.confidentiality.code == "N"
    assert header.effective_time == T0
    assert header.patient.ins == INS
    assert header.patient.birth_name == "PAT-TROIS"
    assert header.patient.first_names == ("DOMINIQUE", "MARIE-LOUISE")
    assert header.patient.sex == "F"
    assert header.custodian is not None and header.custodian.id.extension == "1010000016"
    assert header.practice_setting is not None and header.practice_setting.code == "ESSMS"
    assert header.facility_type is not None and header.facility_type.code == "SA17"
    assert header.service_start == T0 - dt.timedelta(days=2)
    assert header.legal_authenticator is not None
    assert header.legal_authenticator.id == InstanceId("1.2.250.1.71.4.2.1", "810009876543")
    assert header.format_code == "urn:ihe:iti:xds-sd:pdf:2008"
    # Health data stays out of reprs.
    assert "PAT-TROIS" not in repr(header)
    assert INS.value not in repr(header)


def test_unknown_document_type() -> None:
    with pytest.raises(InputError, match="unknown document type"):
        document_type("NOPE")


@pytest.mark.parametrize("status", ["PROV", "VALI", "RECUP"])
def test_only_a_qualified_identity_puts_its_ins_in_the_document(status: str) -> None:
    from segurlink.identity import IdentityRecord, IdentityStatus
    from segurlink.identity.rniv import IdDocumentKind

    from .factory import TRAITS, qualified_patient

    record = IdentityRecord(
        TRAITS,
        IdentityStatus(status),
        INS if status == "RECUP" else None,
        id_document=IdDocumentKind.PASSPORT if status == "VALI" else None,
    )
    patient = dataclasses.replace(qualified_patient(), identity=record)
    xml = build_document(make_document(patient=patient))
    assert xp(xml, "//h:patientRole/h:id/@root") == [IPP_ROOT]
    assert INS.value.encode() not in xml


@pytest.mark.parametrize("qualified", [False, True])
def test_an_ins_smuggled_in_as_a_local_id_is_refused(qualified: bool) -> None:
    from .factory import qualified_patient

    base = qualified_patient() if qualified else provisional_patient()
    patient = dataclasses.replace(base, local_ids=(InstanceId(INS.oid, INS.value),))
    with pytest.raises(IdentityStatusError, match="INS OID"):
        build_document(make_document(patient=patient))


GOLDEN = __import__("pathlib").Path(__file__).with_name("golden") / "ppa-level1.xml"


def test_output_matches_the_golden_file() -> None:
    """Byte-for-byte stable output; after an intended change, regenerate with
    ``python -c "from tests.cda.test_build import write_golden; write_golden()"``."""
    assert build_document(make_document()) == GOLDEN.read_bytes()


def write_golden() -> None:
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_bytes(build_document(make_document()))
