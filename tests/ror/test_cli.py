"""``segurlink ror ...`` through the CLI entry point, against the mock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from segurlink_mocks.ror import RorMock

from segurlink.cli import main


@pytest.fixture
def config(ror_mock: RorMock, segurlink_pki: object, tmp_path: Path) -> str:
    lines = ["[tls]", f'ca_bundle = "{segurlink_pki.ca}"', "[ror]"]  # type: ignore[attr-defined]
    lines += [f'{k} = "{v}"' for k, v in ror_mock.settings_table().items()]
    path = tmp_path / "segurlink.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_search_services_json(config: str, ror_mock: RorMock, capsys: pytest.CaptureFixture[str]) -> None:
    finess = ror_mock.landmarks["ej_finess"]
    code = main(["--config", config, "ror", "search", "services", "--finess", finess,
                 "--hierarchy", "--json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["returned"] == data["total"] > 0
    assert all(row["organization"] for row in data["results"])


def test_search_locations_table(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--config", config, "ror", "search", "locations", "--commune", "45234",
                 "--count", "3", "--max-pages", "1"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[0].split()[:3] == ["ID", "NAME", "SYNC_ID"]
    assert "use --max-pages" in out


def test_capacity_exit_codes(config: str, ror_mock: RorMock,
                             capsys: pytest.CaptureFixture[str]) -> None:
    marks = ror_mock.landmarks
    assert main(["--config", config, "ror", "capacity", marks["location_sync_id"],
                 "--count", "4", "--gender", "03"]) == 0
    assert main(["--config", config, "ror", "capacity", marks["duplicate_sync_id"],
                 "--count", "4", "--json"]) == 1
    out = capsys.readouterr().out
    assert '"status": "ambiguous-location"' in out


def test_export_writes_files_and_draws_progress(
    config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "export"
    assert main(["--config", config, "ror", "export", "--out", str(out_dir),
                 "--type", "Organization"]) == 0
    captured = capsys.readouterr()
    assert sorted(p.name for p in out_dir.iterdir())[0] == "Organization-1.json"
    # stderr is not a terminal here: plain lines, one per phase, no carriage-return frames
    assert "\r" not in captured.err
    lines = captured.err.splitlines()
    assert lines[-1].startswith("export: done") and len(lines) == len(set(lines)) <= 5


def test_export_draws_a_bar_on_a_terminal(
    config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(["--config", config, "ror", "export", "--out", str(tmp_path / "x"),
                 "--type", "Organization"]) == 0
    err = capsys.readouterr().err
    assert "\r" in err and "[" in err and "done" in err
