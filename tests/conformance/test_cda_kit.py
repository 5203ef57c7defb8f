"""The CDA builder and validator held against the official ANS TestContenuCDA kit.

Skips (with the reason) when ../shared/cisis-kit is absent. Compiled schematrons go to
one session-wide cache directory, so the big "structuration minimale" schematron is
compiled once per test session.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path

import pytest
from lxml import etree

from segurlink.cda import (
    DOCUMENT_TYPES,
    Attachment,
    Author,
    CdaSettings,
    ClinicalDocument,
    InstanceId,
    ParentDocument,
    Validator,
    build_document,
    parse_header,
)
from segurlink.cda._schematron import Kit
from tests.cda.factory import DOCTOR, EHPAD, PDF, T0, make_document, provisional_patient
from tests.conftest import SHARED, shared_path

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
    folder = SHARED / "cisis-kit" / "ExemplesCDA"
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


@pytest.mark.parametrize("key", sorted(DOCUMENT_TYPES))
def test_built_document_by_a_software_author_passes_xsd_and_schematrons(
    validator: Validator, key: str
) -> None:
    # The professional-author version 1 of each type is validated in the chains below.
    xml = build_document(make_document(key, software_author=True))
    report = validator.validate(xml)
    assert report.layers == ("rules", "xsd", "schematron")
    # Level 1: the profiles apply; model schematrons check structured bodies only.
    assert report.schematrons == PROFILES
    assert report.errors == (), report.errors[:5]


@pytest.fixture(scope="module")
def chain_validator(kit_cache: Path) -> Validator:
    """One validator for every chain: each document is validated once, by every layer."""
    return Validator(CdaSettings(kit=shared_path("cisis-kit"), cache_dir=kit_cache))


def _version_chain(key: str) -> list[ClinicalDocument]:
    """v1, then v2 (new body, times from its own effectiveTime), then v3 by another author."""
    ids = iter(uuid.UUID(int=0xC4A1 * 100 + n) for n in range(4))
    v1 = make_document(key)
    v2 = v1.replacement(
        id=InstanceId.new(uuid_factory=lambda: next(ids)),
        effective_time=T0 + dt.timedelta(days=7),
        body=Attachment(PDF.replace(b"%%EOF", b"% v2\n%%EOF")),
    )
    moment = T0 + dt.timedelta(days=9)
    v3 = v2.replacement(
        id=InstanceId("1.2.250.1.71.4.2.7.99.3", f"{key}-3"),
        effective_time=moment,
        authors=(Author(moment, EHPAD, professional=DOCTOR),),
        title=f"{v1.display_title} (révisé)",
    )
    return [v1, v2, v3]


@pytest.mark.parametrize("key", sorted(DOCUMENT_TYPES))
def test_every_version_of_a_replacement_chain_passes_the_kit_xsd_and_strucmin(
    chain_validator: Validator, key: str
) -> None:
    """v1 → v2 → v3 of each catalogued type: XSD, StrucMin and the CI-SIS profile, clean.

    Not even a warning: StrucMin reports a parentDocument/setId as a warning only.
    """
    chain = _version_chain(key)
    for number, document in enumerate(chain, start=1):
        xml = build_document(document)
        report = chain_validator.validate(xml)
        assert report.layers == ("rules", "xsd", "schematron")
        assert report.schematrons == PROFILES
        assert report.issues == (), (f"v{number}", report.issues[:5])
        header = parse_header(xml)
        assert header.version == number
        assert header.set_id == chain[0].set_id
        if number > 1:
            assert header.relation == "RPLC"
            assert header.parent_document == ParentDocument(chain[number - 2].id, None, number - 1)


def test_built_document_for_provisional_identity_passes(validator: Validator) -> None:
    xml = build_document(make_document(patient=provisional_patient()))
    report = validator.validate(xml)
    assert report.errors == (), report.errors[:5]


def test_catalogue_codes_are_in_the_xds_type_code_value_set() -> None:
    kit = Kit(shared_path("cisis-kit"))
    allowed = set(kit.value_set_codes("1.2.250.1.213.1.1.5.471"))
    for doc_type in DOCUMENT_TYPES.values():
        code = doc_type.code
        # Code, code system and display name exactly as JDV_J07 states them.
        assert (code.code, code.code_system, code.display_name) in allowed, doc_type.key


@pytest.mark.parametrize(
    ("table", "value_set"),
    [
        ("PRACTICE_SETTINGS", "1.2.250.1.213.1.1.5.467"),  # JDV_J04
        ("HEALTHCARE_FACILITY_TYPES", "1.2.250.1.213.1.1.5.466"),  # JDV_J02
    ],
)
def test_context_code_tables_are_in_their_value_sets(table: str, value_set: str) -> None:
    from segurlink.cda import codes

    kit = Kit(shared_path("cisis-kit"))
    allowed = set(kit.value_set_codes(value_set))
    assert allowed, f"value set {value_set} not found in the kit"
    for code in getattr(codes, table).values():
        assert (code.code, code.code_system, code.display_name) in allowed, code


#: The model schematron automatic selection must find for each structured example.
EXPECTED_MODEL = {
    "DLU-EHPAD-DLU_2022.01.xml": "CI-SIS_DLU-EHPAD-DLU_2022.01.sch",
    "DLU-EHPAD-FLUDR_2022.01.xml": "CI-SIS_DLU-EHPAD-FLUDR_2022.01.sch",
    "DLU-EHPAD-FLUDT_2022.01.xml": "CI-SIS_DLU-EHPAD-FLUDT_2022.01.sch",
    "IPS-FR_2024.01_DLU.xml": "CI-SIS_IPS-FR_2024.01.sch",
    "LDL-EES_2022.01.xml": "CI-SIS_LDL-EES_2022.01.sch",
    "LDL-SES_2022.01.xml": "CI-SIS_LDL-SES_2022.01.sch",
    # Same templateId as CI-SIS_VSM_1.4_2022.01.sch: the latest version is chosen.
    "VSM_1.4_2022.01.xml": "CI-SIS_VSM_2023.01.sch",
}


@pytest.mark.parametrize("name", _examples())
def test_official_example_passes_with_schematrons_chosen_from_template_ids(
    validator: Validator, name: str
) -> None:
    data = shared_path("cisis-kit", "ExemplesCDA", name).read_bytes()
    report = validator.validate(data)
    assert report.layers == ("rules", "xsd", "schematron")
    expected = (EXPECTED_MODEL[name],) if name in EXPECTED_MODEL else ()
    assert report.schematrons == (*PROFILES, *expected)
    assert report.errors == (), report.errors[:5]


@pytest.mark.parametrize(
    ("models", "expected"),
    [
        (("22",), ["CI-SIS_DLU-EHPAD-DLU_2022.01.sch"]),
        # CS8, CS9 and CS24 all assert ".5": only the one whose every templateId is declared.
        (("5", "5.1"), ["CI-SIS_CSE-CS8_2025.01.sch"]),
        (("5", "5.2"), ["CI-SIS_CSE-CS9_2025.01.sch"]),
        (("5",), []),
        (("99",), []),
    ],
)
def test_model_schematron_is_chosen_from_template_ids(
    models: tuple[str, ...], expected: list[str]
) -> None:
    kit = Kit(shared_path("cisis-kit"))
    templates = ("1.2.250.1.213.1.1.1.1", *(f"1.2.250.1.213.1.1.1.{m}" for m in models))
    assert [p.name for p in kit.schematrons_for(templates)] == [*PROFILES, *expected]
    # Level 1 (XDS-SD): the model schematrons check structured bodies, so none applies.
    level1 = (*templates, "1.3.6.1.4.1.19376.1.2.20")
    assert [p.name for p in kit.schematrons_for(level1)] == list(PROFILES)


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
    elif mutate == "ins-root":
        node = root.xpath("//h:patientRole/h:id[1]", namespaces=NS)[0]
        del node.attrib["root"]
    elif mutate == "type-code-system":
        # A SNOMED system with the right code: the kit checks only @code, our rules the system.
        node = root.xpath("/h:ClinicalDocument/h:code", namespaces=NS)[0]
        node.set("codeSystem", "2.16.840.1.113883.6.96")
    elif mutate == "type-code-not-in-jdv-j07":
        node = root.xpath("/h:ClinicalDocument/h:code", namespaces=NS)[0]
        node.set("code", "11111-1")
    return etree.tostring(root)


@pytest.mark.parametrize(
    ("mutation", "layer"),
    [
        ("xsd", "xsd"),
        ("value-set", "schematron"),
        ("author-specialty", "schematron"),
        ("time-zone", "rules"),
        ("ins-root", "rules"),
        ("type-code-system", "rules"),
        ("type-code-not-in-jdv-j07", "schematron"),
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


def test_the_shipped_description_example_builds_a_document_the_kit_accepts(
    chain_validator: Validator, tmp_path: Path
) -> None:
    """docs/examples/ppa-description.toml through `segurlink cda build`, then every layer."""
    from segurlink.cli import main

    examples = Path(__file__).resolve().parents[2] / "docs" / "examples"
    out = tmp_path / "ppa.xml"
    argv = ["cda", "build", str(examples / "ppa-description.toml"), str(examples / "ppa.pdf")]
    assert main([*argv, "-o", str(out)]) == 0
    report = chain_validator.validate(out.read_bytes())
    assert report.layers == ("rules", "xsd", "schematron")
    assert report.schematrons == PROFILES
    assert report.issues == (), report.issues[:5]


def test_a_document_for_a_male_patient_born_in_corsica_passes(chain_validator: Validator) -> None:
    from tests.cda.test_header_rules import male_document

    report = chain_validator.validate(etree.tostring(male_document()))
    assert report.schematrons == PROFILES
    assert report.issues == (), report.issues[:5]
