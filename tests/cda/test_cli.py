"""``segurlink cda build|validate|types`` through the CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from segurlink.cda import CdaSettings, parse_header
from segurlink.cli import main
from segurlink.errors import ConfigurationError

from .factory import PDF

DESCRIPTION = {
    "type": "PPA",
    "effective_time": "2024-03-01T10:30:00+01:00",
    "id": {"root": "1.2.250.1.71.4.2.7.99.3", "extension": "DOC-1"},
    "set_id": {"root": "1.2.250.1.71.4.2.7.99.3", "extension": "SET-1"},
    "structure": {"finess": "010000016", "name": "EHPAD Les Tilleuls"},
    "patient": {
        "status": "PROV",
        "birth_name": "Pat-Trois",
        "first_names": "Dominique",
        "sex": "F",
        "birth_date": "1979-03-28",
        "ipp": {"root": "1.2.250.1.71.4.2.7.99.1", "extension": "IPP0001"},
    },
    "author": {
        "rpps": "10001234567",
        "family": "BLEEDER",
        "given": "Roberta",
        "profession": {"code": "G15_60", "display": "Infirmier"},
    },
    "legal_authenticator": {
        "rpps": "10009876543",
        "family": "CAMPARINI",
        "given": "Marcel",
        "profession": {"code": "G15_10"},
    },
}


def _files(tmp_path: Path) -> tuple[Path, Path]:
    description = tmp_path / "doc.json"
    description.write_text(json.dumps(DESCRIPTION), encoding="utf-8")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(PDF)
    return description, pdf


def test_build_then_validate_rules_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    description, pdf = _files(tmp_path)
    out = tmp_path / "doc.xml"
    assert main(["cda", "build", str(description), str(pdf), "-o", str(out)]) == 0
    header = parse_header(out.read_bytes())
    assert header.id.extension == "DOC-1"
    assert header.patient.ins is None
    capsys.readouterr()
    assert main(["cda", "validate", str(out), "--rules-only", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result[0]["ok"] is True and result[0]["layers"] == ["rules"]


def test_validate_exits_1_on_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    description, pdf = _files(tmp_path)
    out = tmp_path / "doc.xml"
    assert main(["cda", "build", str(description), str(pdf), "-o", str(out)]) == 0
    out.write_bytes(out.read_bytes().replace(b'code="N"', b'code="Z"'))
    capsys.readouterr()
    assert main(["cda", "validate", str(out), "--rules-only"]) == 1
    assert "segurlink:confidentiality" in capsys.readouterr().out


def test_build_refuses_a_naive_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    description, pdf = _files(tmp_path)
    description.write_text(
        json.dumps({**DESCRIPTION, "effective_time": "2024-03-01T10:30:00"}), encoding="utf-8"
    )
    assert main(["cda", "build", str(description), str(pdf)]) == 2
    assert "time zone" in capsys.readouterr().err


def test_validate_without_kit_is_a_configuration_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    description, pdf = _files(tmp_path)
    out = tmp_path / "doc.xml"
    main(["cda", "build", str(description), str(pdf), "-o", str(out)])
    assert main(["cda", "validate", str(out), "--kit", str(tmp_path / "nokit")]) == 2


def test_validate_with_the_kit(
    tmp_path: Path, cisis_kit: Path, schematron_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    description, pdf = _files(tmp_path)
    out = tmp_path / "doc.xml"
    main(["cda", "build", str(description), str(pdf), "-o", str(out)])
    capsys.readouterr()
    code = main(
        [
            "cda",
            "validate",
            str(out),
            "--kit",
            str(cisis_kit),
            "--cache-dir",
            str(schematron_cache),
            "--json",
            "--schematron",
            "CI-SIS_ModelesDeContenusCDA.sch",
        ]
    )
    result = json.loads(capsys.readouterr().out)
    assert code == 0, result
    assert result[0]["schematrons"] == ["CI-SIS_ModelesDeContenusCDA.sch"]


def test_types_lists_the_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cda", "types", "--json"]) == 0
    codes = {t["code"] for t in json.loads(capsys.readouterr().out)}
    assert {"80788-3", "74207-2", "83981-1"} <= codes


def test_settings_from_env_and_settings(tmp_path: Path) -> None:
    from segurlink.config import Settings

    assert CdaSettings.from_env({}).kit is None
    assert CdaSettings.from_env({"SEGURLINK_CISIS_KIT": str(tmp_path)}).kit == tmp_path
    settings = Settings.from_mapping({"cda": {"kit": str(tmp_path), "cache_dir": "c"}})
    cda = CdaSettings.from_settings(settings)
    assert cda.kit == tmp_path and cda.cache_dir == Path("c")
    with pytest.raises(ConfigurationError):
        CdaSettings.from_env({"SEGURLINK_CISIS_KIT": str(tmp_path / "missing")})


def test_build_from_toml(tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(PDF)
    description = tmp_path / "doc.toml"
    description.write_text(
        """
type = "83981-1"
effective_time = 2024-03-01T10:30:00+01:00
facility_type = "SA16"
practice_setting = "ESSMS"
id = { root = "1.2.250.1.71.4.2.7.99.3", extension = "DOC-9" }
structure = { finess = "010000016", name = "MAS Les Pins" }
[patient]
status = "PROV"
birth_name = "Pat-Trois"
first_names = "Dominique"
sex = "F"
birth_date = "1979-03-28"
ipp = { root = "1.2.250.1.71.4.2.7.99.1", extension = "IPP0001" }
[author]
software = "MonDUI 4.2"
[legal_authenticator]
rpps = "10009876543"
family = "CAMPARINI"
given = ["Marcel"]
profession = { code = "G15_10/SM26" }
""",
        encoding="utf-8",
    )
    out = tmp_path / "doc.xml"
    assert main(["cda", "build", str(description), str(pdf), "-o", str(out)]) == 0
    header = parse_header(out.read_bytes())
    assert header.id.extension == "DOC-9"
    assert header.type_code is not None and header.type_code.code == "83981-1"
    assert header.facility_type is not None and header.facility_type.code == "SA16"
    assert header.authors[0].software_name == "MonDUI 4.2"


def test_validate_reports_a_non_xml_file_and_checks_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    description, pdf = _files(tmp_path)
    good = tmp_path / "doc.xml"
    main(["cda", "build", str(description), str(pdf), "-o", str(good)])
    broken = tmp_path / "broken.xml"
    broken.write_bytes(b"<ClinicalDocument><unclosed>")
    capsys.readouterr()
    code = main(["cda", "validate", str(broken), str(good), "--rules-only", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [r["ok"] for r in result] == [False, True]
    assert result[0]["issues"][0]["rule"] == "segurlink:xml"


def test_validate_takes_the_kit_from_the_config_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    description, pdf = _files(tmp_path)
    out = tmp_path / "doc.xml"
    main(["cda", "build", str(description), str(pdf), "-o", str(out)])
    config = tmp_path / "segurlink.toml"
    config.write_text('[cda]\nkit = "missing-kit"\n', encoding="utf-8")
    capsys.readouterr()
    # The configured kit is used (and, being absent, is a configuration error: exit 2).
    assert main(["--config", str(config), "cda", "validate", str(out)]) == 2
    assert "missing-kit" in capsys.readouterr().err


def test_validate_without_any_kit_says_only_the_rules_ran(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SEGURLINK_CISIS_KIT", raising=False)
    monkeypatch.delenv("SEGURLINK_CDA__KIT", raising=False)
    description, pdf = _files(tmp_path)
    out = tmp_path / "doc.xml"
    main(["cda", "build", str(description), str(pdf), "-o", str(out)])
    capsys.readouterr()
    assert main(["cda", "validate", str(out)]) == 0
    assert "only segurlink's header rules ran" in capsys.readouterr().err
    # Asking for a schematron without a kit is a configuration error, not a silent skip.
    assert main(["cda", "validate", str(out), "--schematron", "CI-SIS_VSM"]) == 2


def test_validate_reports_a_missing_file_and_checks_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    description, pdf = _files(tmp_path)
    first, second = tmp_path / "a.xml", tmp_path / "b.xml"
    main(["cda", "build", str(description), str(pdf), "-o", str(first)])
    second.write_bytes(first.read_bytes())
    missing = tmp_path / "missing.xml"
    capsys.readouterr()
    code = main(["cda", "validate", str(first), str(missing), str(second), "--rules-only"])
    out, err = capsys.readouterr()
    assert code == 1  # a file could not be validated: the batch says no, after checking all
    lines = out.splitlines()
    assert lines[0].startswith(f"OK {first}")
    assert lines[1].startswith(f"ERROR {missing}: cannot read it")
    assert "No such file" in lines[1]
    assert lines[2].startswith(f"OK {second}")
    assert "Traceback" not in err


def test_validate_batch_json_keeps_every_file_in_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    description, pdf = _files(tmp_path)
    good = tmp_path / "good.xml"
    main(["cda", "build", str(description), str(pdf), "-o", str(good)])
    bad = tmp_path / "bad.xml"
    bad.write_bytes(good.read_bytes().replace(b'code="N"', b'code="Z"'))
    folder = tmp_path / "a-directory.xml"
    folder.mkdir()
    files = [good, tmp_path / "missing.xml", bad, folder, good]
    capsys.readouterr()
    code = main(["cda", "validate", *map(str, files), "--rules-only", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [r["file"] for r in result] == [str(f) for f in files]
    assert [r["ok"] for r in result] == [True, False, False, False, True]
    assert result[1]["issues"][0]["rule"] == "segurlink:file"
    assert result[3]["issues"][0]["rule"] == "segurlink:file"
    assert "segurlink:confidentiality" in {i["rule"] for i in result[2]["issues"]}


def test_validate_only_good_files_exits_0_and_a_bad_option_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    description, pdf = _files(tmp_path)
    good = tmp_path / "good.xml"
    main(["cda", "build", str(description), str(pdf), "-o", str(good)])
    assert main(["cda", "validate", str(good), str(good), "--rules-only"]) == 0
    capsys.readouterr()
    # Usage errors stay 2, missing files or not.
    assert main(["cda", "validate", str(tmp_path / "missing.xml"), "--no-such-option"]) == 2
