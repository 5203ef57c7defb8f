"""A real headless Chromium driven by selenium, for the pages people look at.

Debian's ``chromium`` and ``chromium-driver`` packages provide the browser (``.ci/run``
installs them). Outside CI a machine without them skips these tests with the reason; in
CI (``CI`` set) a missing browser is a failure, never a skip.

The browser trusts the mocks' TLS server key (the session's test PKI) by its SPKI pin, as
a person does after following docs/mocks.md "Trusting the mocks in a browser"; every other
certificate is still verified.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from segurlink_mocks.pki import TestPki

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI must run the browser tests (.ci/run installs chromium)")
    pytest.skip(reason)


def _spki_pin(certificate: Path) -> str:
    """base64(SHA-256(SubjectPublicKeyInfo)): Chromium's ``--ignore-certificate-errors-spki-list``."""
    import base64
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    key = x509.load_pem_x509_certificate(certificate.read_bytes()).public_key()
    spki = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")


@pytest.fixture(scope="session")
def chromium(tmp_path_factory: pytest.TempPathFactory, segurlink_pki: TestPki) -> Iterator[Any]:
    """A headless Chromium WebDriver (one per session; pages share it)."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing("selenium is not installed")
    if CHROMIUM is None or CHROMEDRIVER is None:
        _missing("Debian's chromium and chromium-driver are not installed")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile: Path = tmp_path_factory.mktemp("chromium-profile")
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        # This machine's network is closed: no background calls to Google's hosts.
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        f"--user-data-dir={profile}",
        # Trust exactly the mocks' server key (needs --user-data-dir to take effect).
        f"--ignore-certificate-errors-spki-list={_spki_pin(segurlink_pki.server_cert)}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
