"""``segurlink dmp ...`` against the mock, through :func:`segurlink.cli.main`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from segurlink.cli import main
from segurlink.config import Settings
from tests.dmp import factory as f


@pytest.fixture
def env(dmp_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    for table, values in dmp_settings.to_mapping().items():
        for key, value in values.items():
            monkeypatch.setenv(f"SEGURLINK_{table.upper()}__{key.upper()}", str(value))


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code = main([*argv, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else None


def test_cli_check_deposit_find_get_hide_delete(
    env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ins = f.ZOE[0]
    code, data = _run(capsys, "dmp", "check", ins)
    assert code == 0 and data["authorisation"] == "VALIDE"
    assert _run(capsys, "dmp", "check", f.CATARINA[0])[0] == 1

    doc = tmp_path / "doc.xml"
    doc.write_bytes(f.cda(seed=21))
    code, data = _run(capsys, "dmp", "deposit", str(doc))
    assert code == 0 and not data["already_deposited"]
    unique_id = data["unique_id"]

    code, data = _run(capsys, "dmp", "find", ins)
    assert [e["unique_id"] for e in data] == [unique_id]

    out = tmp_path / "back.xml"
    code, data = _run(capsys, "dmp", "get", ins, unique_id, "-o", str(out))
    assert code == 0 and out.read_bytes() == doc.read_bytes()

    assert _run(capsys, "dmp", "hide", ins, unique_id)[0] == 0
    code, data = _run(capsys, "dmp", "find", ins)
    assert "MASQUE_PS" in data[0]["confidentiality"]
    assert _run(capsys, "dmp", "delete", ins, unique_id)[0] == 0
    assert _run(capsys, "dmp", "find", ins)[1] == []


def test_cli_deposit_error_exit_code(
    env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = tmp_path / "doc.xml"
    doc.write_bytes(f.cda(f.MICHELANGELO, seed=22))
    assert main(["dmp", "deposit", str(doc)]) == 1
    assert "XDSUnknownPatientId" in capsys.readouterr().err


PDF_DESCRIPTION = {
    "type": "PPA",
    "effective_time": "2024-03-01T10:30:00+01:00",
    "id": {"root": "1.2.250.1.999.1.1.3", "extension": "DOC-PDF-1"},
    "set_id": {"root": "1.2.250.1.999.1.1.3", "extension": "SET-PDF-1"},
    "structure": {"finess": f.FINESS, "name": "EHPAD SEGURLINK TEST"},
    "patient": {
        "status": "QUAL",
        "ins": f.ZOE[0],
        "birth_name": f.ZOE[1],
        "first_names": f.ZOE[2],
        "sex": f.ZOE[3],
        "birth_date": f.ZOE[4],
        "birth_place": f.ZOE[0][5:10],
        "id_document": "PASSPORT",
        "ipp": {"root": f.IPP_ROOT, "extension": "IPP-PDF"},
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


def test_cli_deposit_pdf_builds_the_cda_on_the_fly(
    env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    description = tmp_path / "doc.json"
    description.write_text(json.dumps(PDF_DESCRIPTION), encoding="utf-8")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(f.PDF)
    code, data = _run(capsys, "dmp", "deposit", str(description), "--pdf", str(pdf))
    assert code == 0 and data["unique_id"] == "1.2.250.1.999.1.1.3^DOC-PDF-1"
    code, found = _run(capsys, "dmp", "find", f.ZOE[0])
    assert [e["unique_id"] for e in found] == [data["unique_id"]]
    out = tmp_path / "back.xml"
    assert _run(capsys, "dmp", "get", f.ZOE[0], data["unique_id"], "-o", str(out))[0] == 0
    from segurlink.cda import read_header

    header = read_header(out.read_bytes())
    assert header.media_type == "application/pdf"
