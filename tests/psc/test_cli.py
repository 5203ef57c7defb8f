"""``segurlink psc login|ciba|userinfo|introspect`` against the PSC mock, headless."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from segurlink_mocks.psc import PscMock

from segurlink.cli import main
from segurlink.config import Settings
from segurlink.psc import PscClient


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
    assert answer.status_code == 200
    assert '<html lang="fr">' in answer.text
    assert "<title>Connexion réussie — segurlink</title>" in answer.text
    assert "connecté à Pro Santé Connect en tant que Paul MEDECIN-TEST (810001234567)" in (
        answer.text
    )
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


def _start_login(
    config: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[threading.Thread, dict[str, int], str]:
    """Run ``psc login`` in a thread; return it, its exit code holder and the login URL."""
    result: dict[str, int] = {}
    argv = ["--config", str(config), "psc", "login", "--json", "--timeout", "20", *extra]
    thread = threading.Thread(target=lambda: result.setdefault("rc", main(argv)))
    thread.start()
    err = ""
    deadline = time.monotonic() + 20
    while "https://" not in err and time.monotonic() < deadline:
        time.sleep(0.05)
        err += capsys.readouterr().err
    return thread, result, next(line for line in err.splitlines() if line.startswith("https://"))


def _login_id(page: str) -> str:
    match = re.search(r'name="login_id" value="([^"]+)"', page)
    assert match is not None, page
    return match.group(1)


def test_login_refused_on_the_provider_page_says_so_and_exits_1(
    config: Path,
    psc_mock_login_page: PscMock,
    segurlink_pki: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    thread, result, url = _start_login(config, capsys)
    page = requests.get(url, verify=str(segurlink_pki.ca), timeout=10)
    assert page.status_code == 200 and "Fournisseur de TEST" in page.text
    # The person presses "Annuler": the provider sends error=access_denied to the callback.
    answer = requests.post(
        psc_mock_login_page.url + "/auth/approve",
        data={"login_id": _login_id(page.text), "decision": "cancel"},
        verify=str(segurlink_pki.ca),
        timeout=10,
    )
    assert answer.status_code == 200
    assert "<title>Connexion refusée — segurlink</title>" in answer.text
    assert "annulée ou refusée sur Pro Santé Connect (access_denied)" in answer.text
    assert "login received" not in answer.text and "réussie" not in answer.text
    thread.join(20)
    assert result["rc"] == 1
    assert json.loads(capsys.readouterr().out)["error"] == "access_denied"


def test_login_whose_id_token_is_refused_says_so_and_exits_1(
    config: Path, psc_mock: PscMock, segurlink_pki: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    psc_mock.inject_id_token_fault("expired")
    thread, result, url = _start_login(config, capsys)
    answer = requests.get(url, verify=str(segurlink_pki.ca), timeout=10)
    assert "<title>Échec de la connexion — segurlink</title>" in answer.text
    assert "token_expired" in answer.text
    thread.join(20)
    assert result["rc"] == 1


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
        assert psc_mock.auto_approve  # without --psc-login-page
        assert stack.psc.client_registration()["login_page"] is False
        psc_mock.ciba_script = ["approve"]
        config = str(stack.config_path)
        assert main(["--config", config, "psc", "discover", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["issuer"] == psc_mock.issuer
        rc = main(["--config", config, "psc", "ciba", "--login-hint", "810001234567", "--json"])
        assert rc == 0
        assert json.loads(capsys.readouterr().out)["identity"]["rpps"] == "10001234567"


def test_mock_serve_psc_login_page_option_and_printed_client(tmp_path: Path) -> None:
    # The real program: a person (or a DUI front-end) sees the login page, and the
    # client credentials are printed with the other settings and in the --json line.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEGURLINK_")}
    env["SEGURLINK_MOCK_DIR"] = str(tmp_path / "state")
    server = subprocess.Popen(
        [sys.executable, "-m", "segurlink", "mock", "serve", "--json", "--psc-login-page"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None and server.stderr is not None
        ready = json.loads(server.stdout.readline())
        listing = ""
        while "Use it with" not in listing:
            listing += server.stderr.readline()
        assert ready["psc_client"] == {
            "client_id": "segurlink-test",
            "client_secret": "segurlink-test-secret",
            "redirect_uris": ["http://127.0.0.1/callback", "https://dui.example/psc/callback"],
            "login_page": True,
        }
        assert "client_id segurlink-test  client_secret segurlink-test-secret" in listing
        assert "PSC login   login page" in listing
        settings = Settings.from_toml(Path(ready["settings"]))
        with PscClient.from_settings(settings) as client:
            request = client.authorization_request()
            ca = settings.tls_for("psc").ca_bundle
            page = requests.get(request.url, verify=str(ca), timeout=10)
        assert page.status_code == 200 and "<legend>Professionnel de test</legend>" in page.text
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=20)  # waits and closes the pipes
    assert server.returncode == 0
