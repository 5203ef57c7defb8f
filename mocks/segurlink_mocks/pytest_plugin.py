"""pytest fixtures of the segurlink mocks (registered as the ``segurlink`` pytest11 plugin).

* ``segurlink_pki`` (session): the test PKI in a temporary directory.
* ``insi_mock_session`` (session): one INSi mock server for the whole run.
* ``insi_mock`` (function): that server, reset first (no fault, empty request log,
  initial persons, IDAMs and fault style; requests still sleeping from an earlier test
  are dropped).
* ``segurlink_mock_settings`` (function): a :class:`segurlink.config.Settings` pointing at
  the INSi mock with the INSI-AUTO certificate and the software IDAM the mock knows.

Heavy modules (cryptography, lxml, werkzeug) are imported inside the fixtures, so that
loading the plugin costs nothing to test runs that do not use it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from segurlink.config import Settings

    from .insi import InsiMock
    from .pki import TestPki

pytest_plugins = [
    "segurlink_mocks.dmp_fixtures",
    "segurlink_mocks.psc_fixtures",
    "segurlink_mocks.ror_fixtures",
]

#: The software instance UUID of the settings fixture (fixed per "installation").
MOCK_SOFTWARE_INSTANCE = "6f1c1b1e-3a52-4f57-9c1d-5e6b2f0a7d31"


@pytest.fixture(scope="session")
def segurlink_pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    """The test PKI (CA, server and client certificates) for the session."""
    from .pki import TestPki

    return TestPki.create(tmp_path_factory.mktemp("segurlink-pki"))


@pytest.fixture(scope="session")
def insi_mock_session(segurlink_pki: TestPki) -> Iterator[InsiMock]:
    """The INSi mock server of the session, not reset between tests."""
    from .insi import InsiMock

    with InsiMock(segurlink_pki) as mock:
        yield mock


@pytest.fixture
def insi_mock(insi_mock_session: InsiMock) -> InsiMock:
    """The INSi mock, reset for this test (faults, log, persons, IDAMs, fault style)."""
    insi_mock_session.reset()
    return insi_mock_session


@pytest.fixture
def segurlink_mock_settings(insi_mock: InsiMock, segurlink_pki: TestPki) -> Settings:
    """Settings pointing at the INSi mock (INSI-AUTO certificate, known software IDAM)."""
    from segurlink.config import Settings

    from .insi import DEFAULT_IDAM
    from .pki import STRUCTURE_NAME
    from .stack import SOFTWARE_NAME, SOFTWARE_VERSION, STRUCTURE_FINESS

    client = segurlink_pki.client("insi-auto")
    return Settings.from_mapping(
        {
            "software": {
                "name": SOFTWARE_NAME,
                "version": SOFTWARE_VERSION,
                "idam": DEFAULT_IDAM,
                "instance": MOCK_SOFTWARE_INSTANCE,
            },
            "structure": {"finess": STRUCTURE_FINESS, "name": STRUCTURE_NAME},
            "tls": {"ca_bundle": str(segurlink_pki.ca)},
            "timeouts": {"connect": 5.0, "read": 10.0},
            "insi": {
                "endpoint": insi_mock.endpoint,
                "cert": str(client.cert),
                "key": str(client.key),
            },
        }
    )
