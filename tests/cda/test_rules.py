"""Layer 1 (segurlink's header rules): broken documents are caught without any kit."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from lxml import etree

from segurlink.cda import CdaSettings, Validator, build_document, parse_ts, validate
from segurlink.errors import ValidationError

from .factory import make_document

NS = {"h": "urn:hl7-org:v3"}
Mutation = Callable[[etree._Element], None]


def _one(root: etree._Element, path: str) -> etree._Element:
    found = root.xpath(path, namespaces=NS)
    assert isinstance(found, list) and found
    node = found[0]
    assert isinstance(node, etree._Element)
    return node


def _set(path: str, attr: str, value: str | None) -> Mutation:
    def mutate(root: etree._Element) -> None:
        node = _one(root, path)
        if value is None:
            del node.attrib[attr]
        else:
            node.set(attr, value)

    return mutate


def _remove(path: str) -> Mutation:
    def mutate(root: etree._Element) -> None:
        node = _one(root, path)
        parent = node.getparent()
        assert parent is not None
        parent.remove(node)

    return mutate


BROKEN: dict[str, tuple[Mutation, str]] = {
    "missing INS root": (_set("//h:patientRole/h:id[1]", "root", None), "segurlink:patient-id"),
    "wrong type code system": (
        _set("/h:ClinicalDocument/h:code", "codeSystem", "2.16.840.1.113883.6.96"),
        "segurlink:type-code",
    ),
    "no time zone": (
        _set("/h:ClinicalDocument/h:effectiveTime", "value", "20240301103000"),
        "segurlink:effective-time",
    ),
    "bad confidentiality": (
        _set("//h:confidentialityCode", "code", "X"),
        "segurlink:confidentiality",
    ),
    "INS without birth place": (_remove("//h:patient/h:birthplace"), "segurlink:patient-traits"),
    "no setId": (_remove("/h:ClinicalDocument/h:setId"), "segurlink:set-id"),
    "version zero": (_set("//h:versionNumber", "value", "0"), "segurlink:version"),
    "no XDS-SD templateId": (
        _remove("/h:ClinicalDocument/h:templateId[3]"),
        "segurlink:template-id",
    ),
    "wrong practice setting system": (
        _set("//h:standardIndustryClassCode", "codeSystem", "1.2.3"),
        "segurlink:practice-setting",
    ),
    "wrong facility code system": (
        _set("//h:healthCareFacility/h:code", "codeSystem", "1.2.3"),
        "segurlink:facility-type",
    ),
    "unsigned legal authenticator": (
        _set("//h:legalAuthenticator/h:signatureCode", "code", "X"),
        "segurlink:legal-authenticator",
    ),
    "two performers": (
        lambda root: _one(root, "//h:serviceEvent").append(
            __import__("copy").deepcopy(_one(root, "//h:serviceEvent/h:performer"))
        ),
        "segurlink:service-event",
    ),
    "no practice setting": (
        _remove("//h:standardIndustryClassCode"),
        "segurlink:practice-setting",
    ),
    "INS with an IPP-like extension": (
        _set("//h:patientRole/h:id[1]", "extension", "IPP0001"),
        "segurlink:patient-ins",
    ),
    "not base64 body": (
        lambda root: setattr(_one(root, "//h:nonXMLBody/h:text"), "text", "@@@"),
        "segurlink:body-encoding",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_header_is_caught_by_the_rules_layer(case: str) -> None:
    mutate, rule = BROKEN[case]
    root = etree.fromstring(build_document(make_document()))
    mutate(root)
    report = Validator(CdaSettings()).validate(etree.tostring(root))
    assert not report.ok
    assert rule in {i.rule for i in report.errors}, report.errors
    assert all(i.layer == "rules" for i in report.issues)
    assert all(i.location.startswith("/ClinicalDocument") for i in report.issues)
    with pytest.raises(ValidationError) as info:
        report.raise_for_errors()
    assert info.value.issues


def test_without_kit_only_the_rules_run() -> None:
    report = validate(build_document(make_document()))
    assert report.ok
    assert report.layers == ("rules",)


def test_not_a_cda() -> None:
    report = validate(b"<html/>")
    assert [i.rule for i in report.errors] == ["segurlink:root"]


def test_parse_ts() -> None:
    assert parse_ts("20240131") is not None
    assert parse_ts("2024013114300+01") is None
    value = parse_ts("20240131143000-0500")
    assert value is not None and value.utcoffset() is not None


def test_context_time_without_time_zone_is_a_warning() -> None:
    root = etree.fromstring(build_document(make_document()))
    _one(root, "//h:encompassingEncounter/h:effectiveTime/h:low").set("value", "20230101120000")
    report = validate(etree.tostring(root))
    assert report.ok
    assert [(i.rule, i.severity) for i in report.warnings] == [
        ("segurlink:context-time-zone", "warning")
    ]
    assert report.warnings[0].location.endswith("/encompassingEncounter[1]/effectiveTime[1]/low[1]")
