"""The Pro Santé Connect mock's login page and ``psc login``'s callback page, in Chromium.

A person runs ``segurlink psc login``, opens the printed URL, picks a test professional
on the mock's page (or cancels) and lands on the loopback callback page, which must say
what happened. Everything is driven through the real pages: clicks on labels and buttons.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from segurlink_mocks.pki import TestPki
from segurlink_mocks.psc import PscMock

from segurlink.cli import main

PAUL = "810001234567"
ROBERT = "810005555555"


@pytest.fixture
def config(psc_mock_login_page: PscMock, segurlink_pki: TestPki, tmp_path: Path) -> Path:
    lines = ["[tls]", f'ca_bundle = "{segurlink_pki.ca}"', "", "[psc]"]
    lines += [f'{k} = "{v}"' for k, v in psc_mock_login_page.settings_table().items()]
    path = tmp_path / "segurlink.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class LoginCommand:
    """``segurlink psc login --json`` running in a thread, as in a terminal."""

    def __init__(self, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys
        self.exit_code: int | None = None
        argv = ["--config", str(config), "psc", "login", "--json", "--timeout", "60"]
        self._thread = threading.Thread(target=self._run, args=(argv,), daemon=True)
        self._thread.start()
        err = ""
        deadline = time.monotonic() + 30
        while "https://" not in err and time.monotonic() < deadline:
            time.sleep(0.05)
            err += capsys.readouterr().err
        self.url = next(line for line in err.splitlines() if line.startswith("https://"))

    def _run(self, argv: list[str]) -> None:
        self.exit_code = main(argv)

    def result(self) -> tuple[int | None, Any]:
        self._thread.join(60)
        assert not self._thread.is_alive()
        return self.exit_code, json.loads(self._capsys.readouterr().out)


@pytest.fixture
def login(config: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[LoginCommand]:
    yield LoginCommand(config, capsys)


def _wait_for_callback_page(driver: Any) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 60).until(lambda d: d.title.endswith("— segurlink"))
    assert driver.current_url.startswith("http://127.0.0.1:")


def _text(driver: Any, css: str) -> str:
    return str(driver.find_element("css selector", css).text)


def test_login_through_the_page_then_the_callback_says_who_logged_in(
    chromium: Any, login: LoginCommand
) -> None:
    chromium.get(login.url)
    assert chromium.title == "Connexion Pro Santé Connect — fournisseur de TEST segurlink"
    assert chromium.find_element("tag name", "html").get_attribute("lang") == "fr"
    notice = _text(chromium, "p.test")
    assert notice.startswith("Fournisseur de TEST.") and "fictives" in notice
    legends = [e.text for e in chromium.find_elements("css selector", "fieldset > legend")]
    assert legends == ["Professionnel de test", "Moyen d'authentification"]
    # The browser's own accessibility tree names every radio button by its label.
    for radio in chromium.find_elements("css selector", "input[type=radio]"):
        assert radio.accessible_name, radio.get_attribute("id")
    assert chromium.find_element("id", f"pro-{PAUL}").accessible_name.startswith(
        "Paul MEDECIN-TEST"
    )
    # Readable on a phone: nothing wider than the screen.
    chromium.set_window_size(390, 844)
    try:
        overflow = chromium.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
    finally:
        chromium.set_window_size(1280, 900)

    chromium.find_element("css selector", f"label[for=pro-{PAUL}]").click()
    chromium.find_element("css selector", "button[value=approve]").click()
    _wait_for_callback_page(chromium)

    assert chromium.title == "Connexion réussie — segurlink"
    assert chromium.find_element("tag name", "html").get_attribute("lang") == "fr"
    assert _text(chromium, "h1") == "Connexion réussie"
    body = _text(chromium, "main")
    assert f"en tant que Paul MEDECIN-TEST ({PAUL})" in body
    assert "fermer cette fenêtre" in body
    code, out = login.result()
    assert code == 0
    assert (out["acr"], out["identity"]["national_id"]) == ("eidas1", PAUL)


def test_cancel_on_the_page_then_the_callback_says_refused(
    chromium: Any, login: LoginCommand
) -> None:
    chromium.get(login.url)
    # Cancel needs no choice: the required radio group does not block it.
    chromium.find_element("css selector", "button[value=cancel]").click()
    _wait_for_callback_page(chromium)

    assert chromium.title == "Connexion refusée — segurlink"
    assert chromium.find_element("tag name", "html").get_attribute("lang") == "fr"
    assert _text(chromium, "h1") == "Connexion refusée"
    body = _text(chromium, "main")
    assert "annulée ou refusée sur Pro Santé Connect (access_denied)" in body
    assert "réussie" not in body
    code, out = login.result()
    assert code == 1
    assert out["error"] == "access_denied"


def test_submitting_without_a_choice_is_blocked_by_the_browser(
    chromium: Any, login: LoginCommand, psc_mock_login_page: PscMock
) -> None:
    chromium.get(login.url)
    chromium.find_element("css selector", "button[value=approve]").click()
    time.sleep(0.3)
    # The required radio group keeps the person on the page; nothing reached the provider.
    assert chromium.title.startswith("Connexion Pro Santé Connect")
    assert psc_mock_login_page.hits.get("authorize") == 1
    chromium.find_element("css selector", "button[value=cancel]").click()
    _wait_for_callback_page(chromium)
    assert login.result()[0] == 1


def test_login_hint_preselects_but_the_click_wins(chromium: Any, login: LoginCommand) -> None:
    # The DUI hints Robert; the person clicks Paul and the card: Paul logs in by card.
    chromium.get(login.url + f"&login_hint={ROBERT}")
    assert chromium.find_element("id", f"pro-{ROBERT}").is_selected()
    assert not chromium.find_element("id", f"pro-{PAUL}").is_selected()
    chromium.find_element("css selector", f"label[for=pro-{PAUL}]").click()
    chromium.find_element("css selector", "label[for=method-card]").click()
    assert chromium.find_element("id", f"pro-{PAUL}").is_selected()
    chromium.find_element("css selector", "button[value=approve]").click()
    _wait_for_callback_page(chromium)

    assert chromium.title == "Connexion réussie — segurlink"
    assert f"en tant que Paul MEDECIN-TEST ({PAUL}) par carte CPS" in _text(chromium, "main")
    code, out = login.result()
    assert code == 0
    assert (out["acr"], out["auth_mode"], out["identity"]["national_id"]) == (
        "eidas3",
        "CARD",
        PAUL,
    )
