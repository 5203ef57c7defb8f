"""The ``cda build`` description format: the shipped example builds, every key is documented,
and what the format refuses is refused with a one-line error (exit 2)."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from segurlink.cda import CdaSettings, InstanceId, Validator, parse_header
from segurlink.cda._description import DESCRIPTION_KEYS, document_from_description
from segurlink.cli import main
from segurlink.errors import InputError

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "docs" / "examples" / "ppa-description.toml"
BODY = REPO / "docs" / "examples" / "ppa.pdf"
PAGE = REPO / "docs" / "cda.md"


def example() -> dict[str, Any]:
    return tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))


def build(tmp_path: Path, description: Path = EXAMPLE) -> bytes:
    out = tmp_path / "ppa.xml"
    assert main(["cda", "build", str(description), str(BODY), "-o", str(out)]) == 0
    return out.read_bytes()


def test_the_shipped_example_builds_and_passes_the_rules(tmp_path: Path) -> None:
    xml = build(tmp_path)
    report = Validator(CdaSettings()).validate(xml)
    assert report.layers == ("rules",) and report.issues == ()
    header = parse_header(xml)
    assert header.id == InstanceId("1.2.250.1.71.4.2.7.99.3", "PPA-2024-0001")
    assert header.set_id == InstanceId("1.2.250.1.71.4.2.7.99.4", "PPA-ADRUN")
    assert header.version == 1
    assert header.type_code is not None and header.type_code.code == "80788-3"
    assert header.title == "Projet personnalisé d'accompagnement 2024"
    assert header.patient.ins is not None and header.patient.ins.oid == "1.2.250.1.213.1.4.10"
    assert (header.patient.birth_name, header.patient.used_name) == ("ADRUN", "MARTIN")
    assert header.custodian is not None and header.custodian.id.extension == "1010000016"
    assert header.media_type == "application/pdf"
    assert BODY.read_bytes().startswith(b"%PDF-")


def test_the_example_in_the_docs_is_the_shipped_file() -> None:
    page = PAGE.read_text(encoding="utf-8")
    blocks = re.findall(r"^```toml\n(.*?)^```", page, re.M | re.S)
    assert EXAMPLE.read_text(encoding="utf-8") in blocks


def test_every_key_of_the_format_is_documented() -> None:
    page = PAGE.read_text(encoding="utf-8")
    section = page[page.index("## Description file") : page.index("## Header facts")]
    documented = set(re.findall(r"`([a-z_]+)`", section))
    for table, keys in DESCRIPTION_KEYS.items():
        missing = sorted(keys - documented)
        assert not missing, (table, missing)


def test_a_second_version_as_the_docs_describe_it(tmp_path: Path) -> None:
    page = PAGE.read_text(encoding="utf-8")
    snippet = re.findall(r"^```toml\n(\[replaces\].*?)^```", page, re.M | re.S)[0]
    v2 = example()
    v2.update(tomllib.loads(snippet))
    v2["id"] = {"root": "1.2.250.1.71.4.2.7.99.3", "extension": "PPA-2024-0002"}
    v2["effective_time"] = "2024-03-08T16:00:00+01:00"
    document = document_from_description(v2, BODY.read_bytes())
    assert document.version == 2
    assert document.set_id == InstanceId("1.2.250.1.71.4.2.7.99.4", "PPA-ADRUN")
    assert document.replaces is not None
    assert document.replaces.id == InstanceId("1.2.250.1.71.4.2.7.99.3", "PPA-2024-0001")
    description = tmp_path / "v2.json"
    description.write_text(json.dumps(v2, default=str), encoding="utf-8")  # JSON: same keys
    xml = build(tmp_path, description)
    assert Validator(CdaSettings()).validate(xml).issues == ()
    header = parse_header(xml)
    assert (header.version, header.relation) == (2, "RPLC")
    assert header.authors[0].time is not None and header.authors[0].time.day == 8


def _without(table: str, key: str) -> dict[str, Any]:
    data = example()
    del (data if table == "" else data[table])[key]
    return data


def _with(table: str, key: str, value: Any) -> dict[str, Any]:
    data = example()
    (data if table == "" else data[table])[key] = value
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_with("", "efective_time", "2024-03-01T10:30:00+01:00"), "unknown key(s) efective_time"),
        (_with("patient", "birthname", "X"), "unknown key(s) birthname in [patient]"),
        (_with("author", "profession", {"code": "G15_60", "label": "x"}), "unknown key(s) label"),
        (_with("", "id", {"root": "1.2.3", "ext": "x"}), "unknown key(s) ext in id"),
        (_without("", "type"), "unknown document type ''"),
        (_without("", "structure"), "[structure] must be a table"),
        (_without("structure", "finess"), "[structure] needs finess"),
        (_with("structure", "finess", "01A000000"), "character 3 is 'A'"),
        (_without("patient", "birth_name"), "[patient] needs birth_name"),
        (_with("patient", "status", "QUALIFIED"), "patient.status must be one of PROV"),
        (_with("patient", "id_document", "PERMIS"), "patient.id_document must be one of"),
        (_with("patient", "ins", "275126322074975"), "NIR key mismatch"),
        (_without("author", "profession"), "[author] needs profession"),
        (_with("author", "profession", "G15_60"), "[author] profession must be {code"),
        (_without("legal_authenticator", "rpps"), "[legal_authenticator] needs rpps"),
        (_with("author", "given", {"a": 1}), "given must be a string or a list"),
        (_with("", "title", ["a"]), "title must be a string"),
        (_with("", "effective_time", "2024-03-01T10:30:00"), "needs a time zone offset"),
        (_with("", "confidentiality", "X"), "unknown confidentiality code 'X'"),
        (_with("", "facility_type", "SA99"), "unknown healthcare facility type"),
        (_with("", "version", "２"), "version must be a whole number"),
        (_with("", "replaces", {"version": 1}), "replaces.id must be"),
    ],
)
def test_what_the_format_refuses(data: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        document_from_description(data, BODY.read_bytes())


def test_the_command_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    description = tmp_path / "bad.json"
    bad = _with("patient", "status", "QUALIFIED")
    description.write_text(json.dumps(bad, default=str), encoding="utf-8")
    code = main(["cda", "build", str(description), str(BODY)])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("segurlink: InputError: description:")
