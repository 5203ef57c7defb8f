"""The CDA builder and validator held against the official ANS TestContenuCDA kit.

Skips (with the reason) when ../shared/cisis-kit is absent. Compiled schematrons go to
one session-wide cache directory, so the big "structuration minimale" schematron is
compiled once per test session.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from segurlink.cda import DOCUMENT_TYPES, CdaSettings, Validator, build_document
from segurlink.cda._schematron import Kit
from tests.cda.factory import make_document, provisional_patient
from tests.conftest import shared_path

pytestmark = pytest.mark.conformance
NS = {"h": "urn:hl7-org:v3"}
PROFILES = ("ASIP-STRUCT-MIN-StrucMin.sch", "CI-SIS_ModelesDeContenusCDA.sch")


@pytest.fixture(scope="session")
def kit_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Same directory as tests/cda's session fixture: one cache for the whole session.
    return tmp_path_factory.getbasetemp() / "schematron-cache"


@pytest.fixture
def validator(kit_cache: Path) -> Validator:
    return Validator(CdaSettings(kit=shared_path("cisis-kit"), cache_dir=kit_cache))


def _examples() -> list[str]:
    folder = Path(__file__).resolve().parents[2].parent / "shared" / "cisis-kit" / "ExemplesCDA"
    return sorted(p.name for p in folder.glob("*.xml")) or ["(kit absent)"]


def _declared_schematrons(text: str) -> list[str]:
    """The example's own model schematron and the profiles it declares (oxygen PIs)."""
    declared = re.findall(r'SCHSchema="\.\./schematrons/([^"]+)"', text[:4000])
    return [d for d in declared if "/" not in d or Path(d).name in PROFILES]


@pytest.mark.parametrize("name", _examples())
def test_official_example_passes_xsd_and_its_schematrons(validator: Validator, name: str) -> None:
    path = shared_path("cisis-kit", "ExemplesCDA", name)
    data = path.read_bytes()
    names = _declared_schematrons(data.decode("utf-8"))
    assert names, "the example declares its schematrons"
    report = validator.validate(data, layers=("xsd", "schematron"), schematrons=names)
    assert report.errors == (), report.errors[:5]
    assert set(report.schematrons) == {Path(n).name for n in names}


@pytest.mark.parametrize("name", _examples())
def test_official_example_passes_segurlink_rules(validator: Validator, name: str) -> None:
    data = shared_path("cisis-kit", "ExemplesCDA", name).read_bytes()
    report = validator.validate(data, layers=("rules",))
    assert report.errors == (), report.errors[:5]


@pytest.mark.parametrize("software_author", [False, True], ids=["professional", "software"])
@pytest.mark.parametrize("key", sorted(DOCUMENT_TYPES))
def test_built_document_passes_xsd_and_schematrons(
    validator: Validator, key: str, software_author: bool
) -> None:
    xml = build_document(make_document(key, software_author=software_author))
    report = validator.validate(xml)
    assert report.layers == ("rules", "xsd", "schematron")
    # Level 1: the profiles apply; model schematrons check structured bodies only.
    assert report.schematrons == PROFILES
    assert report.errors == (), report.errors[:5]


def test_built_document_for_provisional_identity_passes(validator: Validator) -> None:
    xml = build_document(make_document(patient=provisional_patient()))
    report = validator.validate(xml)
    assert report.errors == (), report.errors[:5]


def test_catalogue_codes_are_in_the_xds_type_code_value_set() -> None:
    kit = Kit(shared_path("cisis-kit"))
    allowed = {(code, system) for code, system, _ in kit.value_set_codes("1.2.250.1.213.1.1.5.471")}
    for doc_type in DOCUMENT_TYPES.values():
        assert (doc_type.code.code, doc_type.code.code_system) in allowed, doc_type.key


def test_model_schematron_is_chosen_from_template_ids() -> None:
    kit = Kit(shared_path("cisis-kit"))
    chosen = [
        p.name for p in kit.schematrons_for(("1.2.250.1.213.1.1.1.1", "1.2.250.1.213.1.1.1.22"))
    ]
    assert chosen == [*PROFILES, "CI-SIS_DLU-EHPAD-DLU_2022.01.sch"]


def _mutated(mutate: str) -> bytes:
    root = etree.fromstring(build_document(make_document()))
    if mutate == "xsd":
        # An element the CDA schema does not know, in the header.
        etree.SubElement(root, "{urn:hl7-org:v3}unknownElement")
    elif mutate == "value-set":
        # Right code system, code outside JDV_J04: only the ANS schematron knows the list.
        node = root.xpath("//h:standardIndustryClassCode", namespaces=NS)[0]
        node.set("code", "NOT-A-SETTING")
    elif mutate == "author-specialty":
        node = root.xpath("//h:assignedAuthor/h:code", namespaces=NS)[0]
        node.set("code", "G15_99/NOPE")
    elif mutate == "time-zone":
        node = root.xpath("/h:ClinicalDocument/h:effectiveTime", namespaces=NS)[0]
        node.set("value", "20240301103000")
    return etree.tostring(root)


@pytest.mark.parametrize(
    ("mutation", "layer"),
    [
        ("xsd", "xsd"),
        ("value-set", "schematron"),
        ("author-specialty", "schematron"),
        ("time-zone", "rules"),
    ],
)
def test_broken_document_is_caught_by_the_right_layer(
    validator: Validator, mutation: str, layer: str
) -> None:
    report = validator.validate(_mutated(mutation))
    assert not report.ok
    assert layer in {i.layer for i in report.errors}, report.errors[:5]
    if layer != "rules":
        assert not [i for i in report.errors if i.layer == "rules"]


def test_compiled_schematrons_are_cached_outside_the_kit(
    validator: Validator, kit_cache: Path
) -> None:
    validator.validate(build_document(make_document()), layers=("schematron",))
    compiled = sorted(kit_cache.glob("*.xsl"))
    assert {p.name.split("-")[0] for p in compiled} >= {"ASIP", "CI"}
    mtimes = {p: p.stat().st_mtime_ns for p in compiled}
    validator.validate(build_document(make_document()), layers=("schematron",))
    assert {p: p.stat().st_mtime_ns for p in compiled} == mtimes
    kit = shared_path("cisis-kit")
    assert not list(kit.rglob("*.xsl.tmp"))
    assert not (
        kit
        / "schematrons"
        / "profils"
        / "structurationMinimale"
        / "include"
        / "voc-1.2.250.1.213.1.1.5.471-DYNAMIC.xml"
    ).exists()
