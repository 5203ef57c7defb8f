"""segurlink's DMP value sets held against the official CI-SIS value sets of the ANS kit."""

from __future__ import annotations

import pytest
from lxml import etree

from segurlink.cda.codes import DOCUMENT_TYPES
from segurlink.dmp import metadata
from tests.conftest import shared_path

pytestmark = pytest.mark.conformance

SVS = "urn:ihe:iti:svs:2008"


def _concepts(name: str) -> set[tuple[str, str]]:
    path = shared_path("cisis-kit", "jeuxDeValeurs", name)
    root = etree.parse(str(path)).getroot()
    return {(c.get("code", ""), c.get("codeSystem", "")) for c in root.iter(f"{{{SVS}}}Concept")}


def test_facility_types_are_exactly_jdv_j02() -> None:
    official = {code for code, _ in _concepts("JDV_J02_XdsHealthcareFacilityTypeCode_CISIS.xml")}
    assert metadata._FACILITY_TYPES == official


def test_practice_settings_are_exactly_jdv_j04() -> None:
    official = {code for code, _ in _concepts("JDV_J04_XdsPracticeSettingCode_CISIS.xml")}
    assert metadata._PRACTICE_SETTINGS == official


def test_every_type_code_segurlink_produces_is_in_jdv_j07() -> None:
    official = _concepts("JDV_J07_XdsTypeCode_CISIS.xml")
    for key, doc_type in DOCUMENT_TYPES.items():
        assert (doc_type.code.code, doc_type.code.code_system) in official, key
    official_codes = {code for code, _ in official}
    assert set(metadata._CLASS_BY_TYPE) <= official_codes


def test_confidentiality_codes_are_exactly_jdv_j08() -> None:
    official = _concepts("JDV_J08_XdsConfidentialityCode_CISIS.xml")
    ours = {(c.code, c.code_system) for c in metadata._CONFIDENTIALITY.values()}
    assert ours == official
