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
