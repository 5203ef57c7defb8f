"""The schematron layer on a small kit of our own: compile cache keyed by content, SVRL."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from segurlink.cda import CdaSettings, Validator, build_document
from segurlink.cda._schematron import Kit, compile_schematron

from .factory import make_document

SCH = """<?xml version="1.0" encoding="UTF-8"?>
<schema xmlns="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt2">
  <ns prefix="cda" uri="urn:hl7-org:v3"/>
  <pattern id="realm">
    <rule context="cda:ClinicalDocument">
      <assert id="realm-fr" test="cda:realmCode/@code = '{realm}'">realm must be {realm}</assert>
      <assert id="title-long" role="warning" test="string-length(cda:title) &gt; 200"
        >short title</assert>
      <report id="version-one" role="info" test="cda:versionNumber/@value = '1'"
        >first version</report>
    </rule>
  </pattern>
</schema>
"""


@pytest.fixture
def small_kit(cisis_kit: Path, tmp_path: Path) -> Kit:
    """A kit with the official ISO stylesheets and one tiny schematron of ours."""
    root = tmp_path / "kit"
    shutil.copytree(cisis_kit / "schematrons" / "moteur", root / "schematrons" / "moteur")
    (root / "schematrons" / "CI-SIS_TEST_2024.01.sch").write_text(
        SCH.format(realm="FR"), encoding="utf-8"
    )
    return Kit(root)


def test_findings_carry_severity_rule_and_xpath(small_kit: Kit, tmp_path: Path) -> None:
    validator = Validator(CdaSettings(kit=small_kit.path, cache_dir=tmp_path / "cache"))
    report = validator.validate(
        build_document(make_document()), layers=("schematron",), schematrons=["CI-SIS_TEST"]
    )
    found = {(i.severity, i.rule) for i in report.issues}
    assert found == {
        ("warning", "CI-SIS_TEST_2024.01.sch#title-long"),
        ("info", "CI-SIS_TEST_2024.01.sch#version-one"),
    }
    assert report.ok
    assert all(i.layer == "schematron" and "ClinicalDocument" in i.location for i in report.issues)


def test_compile_cache_is_keyed_by_content(small_kit: Kit, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    sch = small_kit.schematrons / "CI-SIS_TEST_2024.01.sch"
    first = compile_schematron(small_kit, sch, cache)
    stamp = first.stat().st_mtime_ns
    assert compile_schematron(small_kit, sch, cache) == first  # cache hit: not rewritten
    assert first.stat().st_mtime_ns == stamp

    sch.write_text(SCH.format(realm="BE"), encoding="utf-8")
    second = compile_schematron(small_kit, sch, cache)
    assert second != first and second.is_file()  # new content, new entry
    validator = Validator(CdaSettings(kit=small_kit.path, cache_dir=cache))
    report = validator.validate(
        build_document(make_document()), layers=("schematron",), schematrons=[str(sch)]
    )
    assert [i.rule for i in report.errors] == ["CI-SIS_TEST_2024.01.sch#realm-fr"]

    sch.write_text(SCH.format(realm="FR"), encoding="utf-8")
    assert compile_schematron(small_kit, sch, cache) == first  # back to the first content
    assert first.stat().st_mtime_ns == stamp
