"""``segurlink psc login|ciba|userinfo|introspect`` against the PSC mock, headless."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from segurlink_mocks.psc import PscMock

from segurlink.cli import main


@pytest.fixture
def config(psc_mock: PscMock, segurlink_pki: Any, tmp_path: Path) -> Path:
    table = psc_mock.settings_table()
    lines = ["[tls]", f'ca_bundle = "{segurlink_pki.ca}"', "", "[psc]"]
    lines += [f'{k} = "{v}"' for k, v in table.items()]
    path = tmp_path / "segurlink.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_login_prints_the_url_and_completes_on_the_loopback_callback(
    config: Path, segurlink_pki: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tokens = tmp_path / "tokens.json"
    result: dict[str, int] = {}
    thread = threading.Thread(
        target=lambda: result.setdefault(
            "rc",
            main(
                [
                    "--config",
                    str(config),
                    "psc",
                    "login",
                    "--json",
                    "--timeout",
                    "20",
                    "--save-tokens",
                    str(tokens),
                ]
            ),
        )
    )
    thread.start()
    err = ""
    deadline = time.monotonic() + 20
    while "https://" not in err and time.monotonic() < deadline:
        time.sleep(0.05)
        err += capsys.readouterr().err
    url = next(line for line in err.splitlines() if line.startswith("https://"))
    # A stray or forged callback (another state) is turned away; the login keeps waiting.
    redirect_uri = dict(parse_qsl(urlsplit(url).query))["redirect_uri"]
    stray = requests.get(redirect_uri + "?code=forged&state=forged", timeout=10)
    assert stray.status_code == 400
    # The "browser": the mock auto-approves and redirects to the loopback callback.
    answer = requests.get(url, verify=str(segurlink_pki.ca), timeout=10)
    assert answer.status_code == 200 and "login received" in answer.text
    thread.join(20)
    assert result["rc"] == 0
    data = json.loads(capsys.readouterr().out)
    assert data["acr"] == "eidas1"
    assert data["identity"]["rpps"] == "10001234567"
    assert data["identity"]["exercices"][0]["activities"][1]["finess_site"] == "010000024"
    assert tokens.stat().st_mode & 0o777 == 0o600

    # Reuse the saved session.
    assert main(["--config", str(config), "psc", "userinfo", "--tokens", str(tokens)]) == 0
    assert "RPPS 10001234567" in capsys.readouterr().out
    assert main(["--config", str(config), "psc", "introspect", "--tokens", str(tokens)]) == 0
    assert capsys.readouterr().out.startswith("active")


def test_ciba_command(config: Path, psc_mock: PscMock, capsys: pytest.CaptureFixture[str]) -> None:
    psc_mock.ciba_script = ["approve"]
    rc = main(
        [
            "--config",
            str(config),
            "psc",
            "ciba",
            "--login-hint",
            "810009876543",
            "--channel",
            "CARD",
            "--binding-message",
            "DUI-7",
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out
    assert "acr eidas3" in out and "INFIRMIERE-TEST" in out and "FINESS ET 010000032" in out


def test_ciba_unknown_professional_exits_1(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["--config", str(config), "psc", "ciba", "--login-hint", "899999999999", "--json"])
    assert rc == 1
    assert json.loads(capsys.readouterr().out)["error"] == "unknown_user_id"


def test_login_needs_a_loopback_redirect(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = config.read_text().replace(
        "http://127.0.0.1/callback", "https://dui.example/psc/callback"
    )
    config.write_text(text)
    assert main(["--config", str(config), "psc", "login"]) == 2


def test_mock_serve_stack_settings_drive_the_psc_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # What `segurlink mock serve` runs: the PSC mock and a [psc] table in segurlink.toml.
    from segurlink_mocks.stack import MockStack

    with MockStack(tmp_path / "stack") as stack:
        psc_mock = stack.mocks["psc"]
        assert isinstance(psc_mock, PscMock)
        psc_mock.ciba_script = ["approve"]
        config = str(stack.config_path)
        assert main(["--config", config, "psc", "discover", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["issuer"] == psc_mock.issuer
        rc = main(["--config", config, "psc", "ciba", "--login-hint", "810001234567", "--json"])
        assert rc == 0
        assert json.loads(capsys.readouterr().out)["identity"]["rpps"] == "10001234567"
