"""``segurlink mss lookup`` against the Annuaire Santé mock: text and JSON, exit codes.

Bad values (exit 2, one line, no traceback) are in tests/test_cli_sweep.py.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from segurlink_mocks.annuaire import (
    CAB_ADDRESS,
    CLAIRE_ADDRESS,
    EHPAD_FINESS,
    PAUL_ADDRESS,
    PAUL_RPPS,
    AnnuaireMock,
)
from segurlink_mocks.pki import TestPki

from segurlink.cli import main


@pytest.fixture
def config(tmp_path: Path, annuaire_mock: AnnuaireMock, segurlink_pki: TestPki) -> Path:
    table = annuaire_mock.settings_table()
    path = tmp_path / "segurlink.toml"
    path.write_text(
        f'[tls]\nca_bundle = "{segurlink_pki.ca}"\n\n'
        f'[annuaire]\nendpoint = "{table["endpoint"]}"\napi_key = "{table["api_key"]}"\n',
        encoding="utf-8",
    )
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["mss", "lookup", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_professional_in_text(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "MEDECIN-TEST", "--first-name", "Paul", "--config", str(config))
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"PER  {PAUL_ADDRESS}  MEDECIN-TEST Paul (RPPS {PAUL_RPPS})",
        f"CAB  {CAB_ADDRESS}  MEDECIN-TEST Paul (RPPS {PAUL_RPPS}) [Cabinet médical de la Paix]",
    ]


def test_an_organisation_in_json(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "--finess", EHPAD_FINESS, "--type", "per", "--json", "--config", str(config)
    )
    data = json.loads(out)
    assert code == 0 and data["withheld"] == 0 and data["truncated"] is False
    (claire,) = data["mailboxes"]
    assert claire["address"] == CLAIRE_ADDRESS and claire["type"] == "PER"
    assert claire["organization"] == "EHPAD SEGURLINK TEST" and claire["finess"] == EHPAD_FINESS


def test_red_listed_only_is_not_found(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "DISCRET-TEST", "--config", str(config))
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        "no MSSanté mailbox found",
        "(1 red-listed mailbox(es) not shown)",
    ]


def test_a_truncated_lookup_warns(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "MARTIN", "--type", "CAB", "--max-pages", "1", "--config", str(config)
    )
    assert code == 0 and out.count("\n") >= 1
    assert err.startswith("warning: more results than the pages read")


def test_a_service_failure_exits_1_without_traceback(
    config: Path, annuaire_mock: AnnuaireMock, capsys: pytest.CaptureFixture[str]
) -> None:
    annuaire_mock.inject("http500")
    code, out, err = run(capsys, "MEDECIN-TEST", "--config", str(config))
    assert code == 1 and out == "" and "Traceback" not in err
    assert err.startswith("segurlink: FhirError: the Annuaire Santé answered HTTP 500")


def test_verbose_logs_hold_no_name_address_nor_key(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from segurlink_mocks.annuaire import API_KEY

    from segurlink import cli

    root = logging.getLogger()
    level = root.level
    try:
        code, out, err = run(capsys, "-vv", "INFIRMIERE-TEST", "--config", str(config))
    finally:  # the handler writes to this test's captured stderr: not after it
        if cli._handler is not None:
            root.removeHandler(cli._handler)
            cli._handler = None
        root.setLevel(level)
    assert code == 0 and CLAIRE_ADDRESS in out  # the answer is on stdout...
    assert "annuaire search Practitioner" in err  # ...the exchanges on stderr, without it
    for secret in ("INFIRMIERE", "Claire", "claire.infirmiere", "EHPAD SEGURLINK", API_KEY):
        assert secret.lower() not in err.lower(), secret
