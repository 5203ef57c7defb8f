"""The schematron layer: compile cache keyed by content, SVRL findings, and the segurlink
engine held to the kit's ISO pipeline (same findings), on small schematrons of our own
and on the kit's examples and a corpus of mutated documents (tests/cda/mutations.py)."""

from __future__ import annotations

import copy
import os
import re
import shutil
from pathlib import Path

import pytest
from lxml import etree

from segurlink.cda import CdaSettings, Validator, build_document
from segurlink.cda._schematron import Kit, SchematronFinding, compile_schematron
from tests.conftest import shared_path

from . import mutations
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


# -- the segurlink engine against the kit's ISO pipeline -------------------------------------

RICH = """<?xml version="1.0" encoding="UTF-8"?>
<schema xmlns="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt2"
        defaultPhase="main">
  <ns prefix="cda" uri="urn:hl7-org:v3"/>
  <let name="lang" value="'fr-FR'"/>
  <phase id="main">
    <active pattern="header"/>
    <active pattern="people"/>
    <active pattern="codes"/>
  </phase>
  <phase id="other"><active pattern="never"/></phase>
  <pattern id="never">
    <rule context="cda:ClinicalDocument">
      <assert test="false()">phase "other" only: never reported</assert>
    </rule>
  </pattern>
  <pattern id="header">
    <let name="expected" value="'FR'"/>
    <rule abstract="true" id="coded">
      <assert role="error" test="@code">coded: <name/> needs a code</assert>
      <extends rule="present"/>
    </rule>
    <rule abstract="true" id="present">
      <assert role="warning" test="not(@nullFlavor)">present: <name path=".."/>/<name/> is
        <emph>null</emph>  (<value-of select="@nullFlavor"/>)</assert>
    </rule>
    <rule abstract="true" id="uses-local">
      <assert test="$limit &gt; string-length(.)">longer than <value-of select="$limit"/></assert>
    </rule>
    <rule abstract="true" id="defines-local">
      <let name="size" value="string-length(normalize-space(.))"/>
      <assert test="$size &lt; 500">too long</assert>
    </rule>
    <rule context="cda:ClinicalDocument">
      <assert id="realm" test="cda:realmCode/@code = $expected">realm <value-of
        select="cda:realmCode/@code"/>  is   not <value-of select="$expected"/></assert>
      <assert test="cda:languageCode/@code = $lang">language</assert>
      <report role="info" test="cda:versionNumber/@value = '1'">first version</report>
      <report test="count(cda:author) &gt; 1">several authors</report>
    </rule>
    <rule context="cda:confidentialityCode | cda:languageCode">
      <extends rule="coded"/>
    </rule>
    <rule context="cda:title">
      <let name="limit" value="20"/>
      <extends rule="uses-local"/>
    </rule>
    <rule context="cda:code">
      <extends rule="defines-local"/>
      <assert test="$size &gt; 0">code text</assert>
      <extends rule="coded"/>
    </rule>
    <rule context="cda:code">
      <assert test="false()">second rule on the same node: never fires</assert>
    </rule>
  </pattern>
  <pattern id="people">
    <rule context="/cda:ClinicalDocument/cda:author/*[not(self::cda:time | self::cda:assignedAuthor)]">
      <assert role="error" test="false()">unexpected <name/> in author</assert>
    </rule>
    <rule context="cda:assignedAuthor/cda:id/@root">
      <assert test="false()">attributes are never visited</assert>
    </rule>
    <rule context="*[cda:templateId/@root = '9.9.9']">
      <assert test="false()">no such template in the document: not walked</assert>
    </rule>
  </pattern>
  <pattern id="codes">
    <rule context="cda:administrativeGenderCode">
      <assert flag="warning" test="@code = ('M', 'F', 'U')">sex <value-of select="@code"/></assert>
      <assert xml:lang="en" test="@codeSystem = '2.16.840.1.113883.5.1'">system</assert>
    </rule>
  </pattern>
</schema>
"""


def _compare_engines(kit: Kit, sch: Path, cache: Path, document: str) -> list[SchematronFinding]:
    from segurlink.cda._schematron import CompiledSchematron

    old = CompiledSchematron.load(kit, sch, cache, "iso").run(document)
    new = CompiledSchematron.load(kit, sch, cache, "segurlink").run(document)
    assert new == old
    return list(old)


def _text(root: etree._Element) -> str:
    return etree.tostring(root, encoding="unicode")


def test_engines_agree_on_abstract_rules_variables_phases_and_messages(
    small_kit: Kit, tmp_path: Path
) -> None:
    sch = small_kit.schematrons / "CI-SIS_RICH_2024.01.sch"
    sch.write_text(RICH, encoding="utf-8")
    cache = tmp_path / "cache"
    root = etree.fromstring(build_document(make_document()))
    found = _compare_engines(small_kit, sch, cache, _text(root))
    assert ("info", "first version", "/ClinicalDocument") in {
        (f.severity, f.message, f.location) for f in found
    }
    # A let of an abstract rule read by the rule extending it: inlined, still right.
    assert any(f.message == "code text" for f in found)
    assert not any("never" in f.message for f in found)
    compiled = compile_schematron(small_kit, sch, cache, "segurlink").read_text(encoding="utf-8")
    assert 'name="seg:abstract-' in compiled  # abstract rules shared where no variable crosses
    assert "svrl:fired-rule" not in compiled
    # Break what each rule checks: every finding (ids, roles, flags, messages with
    # value-of/name/emph, locations) must be the ISO pipeline's.
    hl7 = "{urn:hl7-org:v3}"
    root.find(f"{hl7}realmCode").set("code", "BE")
    root.find(f"{hl7}languageCode").set("code", "en-GB")
    root.find(f"{hl7}confidentialityCode").attrib.pop("code")
    root.find(f"{hl7}confidentialityCode").set("nullFlavor", "UNK")
    root.find(f"{hl7}title").text = "A title longer than twenty characters"
    root.find(f"{hl7}code").text = " "
    root.find(f"{hl7}author").append(etree.Element(f"{hl7}functionCode"))
    root.append(copy.deepcopy(root.find(f"{hl7}author")))  # type: ignore[arg-type]
    gender = next(root.iter(f"{hl7}administrativeGenderCode"))
    gender.set("code", "X")
    gender.set("codeSystem", "1.2.3")
    found = _compare_engines(small_kit, sch, cache, _text(root))
    rules = {f.rule.split("#")[1] for f in found}
    assert rules == {"realm", "header", "people", "codes"}
    assert len(found) >= 12


def test_unsupported_construct_falls_back_to_the_iso_pipeline(
    small_kit: Kit, tmp_path: Path
) -> None:
    sch = small_kit.schematrons / "CI-SIS_DIAG_2024.01.sch"
    sch.write_text(
        SCH.format(realm="BE")
        .replace('test="cda:realmCode/@code', 'diagnostics="d1" test="cda:realmCode/@code')
        .replace(
            "</schema>",
            '<diagnostics><diagnostic id="d1">diagnostic text</diagnostic></diagnostics></schema>',
        ),
        encoding="utf-8",
    )
    cache = tmp_path / "cache"
    compiled = compile_schematron(small_kit, sch, cache, "segurlink")
    assert "svrl:fired-rule" in compiled.read_text(encoding="utf-8")  # the ISO output
    found = _compare_engines(
        small_kit, sch, cache, _text(etree.fromstring(build_document(make_document())))
    )
    assert any("diagnostic text" in f.message for f in found)


def test_includes_are_resolved_relative_to_the_including_file(
    small_kit: Kit, tmp_path: Path
) -> None:
    folder = small_kit.schematrons / "inc"
    (folder / "deeper").mkdir(parents=True)
    (folder / "patterns.sch").write_text(
        '<pattern xmlns="http://purl.oclc.org/dsdl/schematron" id="included">'
        '<include href="deeper/rule.sch"/></pattern>',
        encoding="utf-8",
    )
    (folder / "deeper" / "rule.sch").write_text(
        '<rule xmlns="http://purl.oclc.org/dsdl/schematron" context="cda:title">'
        '<assert test="false()">included rule: <value-of select="."/></assert></rule>',
        encoding="utf-8",
    )
    sch = small_kit.schematrons / "CI-SIS_INC_2024.01.sch"
    sch.write_text(
        SCH.format(realm="FR").replace("</schema>", '<include href="inc/patterns.sch"/></schema>'),
        encoding="utf-8",
    )
    found = _compare_engines(
        small_kit, sch, tmp_path / "cache", _text(etree.fromstring(build_document(make_document())))
    )
    assert any(f.rule.endswith("#included") for f in found)


def test_a_stylesheet_saxon_refuses_falls_back_to_the_iso_pipeline(
    small_kit: Kit, tmp_path: Path
) -> None:
    from segurlink.cda._schematron import CompiledSchematron

    sch = small_kit.schematrons / "CI-SIS_TEST_2024.01.sch"
    cache = tmp_path / "cache"
    broken = compile_schematron(small_kit, sch, cache, "segurlink")
    broken.write_text("<not-a-stylesheet/>", encoding="utf-8")  # a damaged cache entry
    CompiledSchematron.forget()
    compiled = CompiledSchematron.load(small_kit, sch, cache, "segurlink")
    document = etree.tostring(etree.fromstring(build_document(make_document())), encoding="unicode")
    assert [f.rule for f in compiled.run(document)] == [
        "CI-SIS_TEST_2024.01.sch#title-long",
        "CI-SIS_TEST_2024.01.sch#version-one",
    ]


# -- verdict equality on the kit: official examples and the mutation corpus ------------------


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> mutations.Engines:
    # The session's schematron cache (tests/cda/conftest.py): the ISO pipeline's StrucMin
    # is compiled once per session whichever test needs it first.
    return mutations.Engines(
        shared_path("cisis-kit"), tmp_path_factory.getbasetemp() / "schematron-cache"
    )


@pytest.mark.conformance
def test_engines_agree_on_the_official_examples_and_built_documents(
    engines: mutations.Engines,
) -> None:
    bases = mutations.base_documents(engines.kit.path)
    assert sum(name.startswith("example:") for name in bases) >= 10
    for name, data in bases.items():
        paths = engines.schematrons(data)
        # Every example also against the model schematron its processing instructions
        # declare (as tests/conformance/test_cda_kit.py; the kit's IHE.sch and
        # terminologie.sch include files the kit lacks: neither engine compiles them).
        declared = re.findall(r'SCHSchema="\.\./schematrons/([^"]+)"', data.decode()[:4000])
        paths += [engines.kit.schematron(d) for d in declared if "/" not in d]
        paths = list(dict.fromkeys(p.resolve() for p in paths))
        text = data.decode("utf-8")
        assert engines.findings("segurlink", paths, text) == engines.findings("iso", paths, text), (
            name
        )


@pytest.mark.conformance
def test_engines_agree_on_the_mutation_corpus(engines: mutations.Engines) -> None:
    """Every mutant's rule fires with segurlink's engine; the ISO pipeline (ten times
    slower) gives the same findings on every third mutant, or on all of them with
    ``SEGURLINK_TEST_FULL_MATRIX=1`` (the whole corpus takes about a minute more)."""
    corpus = mutations.load_corpus()
    bases = mutations.base_documents(engines.kit.path)
    # Each mutant was kept for a rule of its own: none is there twice.
    assert len({m.target for m in corpus}) == len(corpus) >= 100
    every = 1 if os.environ.get("SEGURLINK_TEST_FULL_MATRIX") == "1" else 3
    disagreements, lost = [], []
    for index, mutation in enumerate(corpus):
        data = bases[mutation.base]
        paths = engines.schematrons(data)
        text = mutations.apply(data, mutation)
        new = engines.findings("segurlink", paths, text)
        if index % every == 0 and engines.findings("iso", paths, text) != new:
            disagreements.append(mutation)
        if mutation.target not in {mutations.rule_of(f) for f in new}:
            lost.append(mutation)  # the kit's rule no longer reports what the mutant broke
    assert not disagreements, disagreements[:3]
    assert not lost, lost[:3]


def test_a_document_needing_rules_the_first_did_not_gets_them(
    small_kit: Kit, tmp_path: Path
) -> None:
    from segurlink.cda._schematron import CompiledSchematron, prepare

    sch = small_kit.schematrons / "CI-SIS_RICH_2024.01.sch"
    sch.write_text(RICH, encoding="utf-8")
    cache = tmp_path / "cache"
    CompiledSchematron.forget()
    new = CompiledSchematron.load(small_kit, sch, cache, "segurlink")
    old = CompiledSchematron.load(small_kit, sch, cache, "iso")
    first = etree.fromstring(build_document(make_document()))
    for gender in list(first.iter("{urn:hl7-org:v3}administrativeGenderCode")):
        gender.getparent().remove(gender)  # no rule of the "codes" pattern can fire
    second = etree.fromstring(build_document(make_document()))
    next(second.iter("{urn:hl7-org:v3}administrativeGenderCode")).set("code", "X")
    findings = []
    compiled_rules = []
    for root in (first, second, first):
        text = etree.tostring(root, encoding="unicode")
        findings.append(new.run(prepare(text, root)))
        assert findings[-1] == old.run(text)
        assert new._variant is not None
        compiled_rules.append(len(new._variant[0]))
    # The first document's stylesheet left out the rule it could not fire; then all of them.
    assert compiled_rules[0] < compiled_rules[1] == compiled_rules[2]
    assert not any(f.rule.endswith("#codes") for f in findings[0])
    assert any(f.rule.endswith("#codes") and "sex X" in f.message for f in findings[1])
    assert findings[2] == findings[0]
