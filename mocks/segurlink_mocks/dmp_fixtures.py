"""pytest fixtures of the DMP mock (enabled from :mod:`segurlink_mocks.pytest_plugin`).

* ``dmp_mock_session`` (session): one :class:`~segurlink_mocks.dmp.DmpMock` for the run
  (it issues the RSA ``dmp-auth`` / ``dmp-sign`` / ``dmp-sign-other`` certificates in the
  test PKI on first use).
* ``dmp_mock`` (function): that mock reset — no fault, empty request log, the default
  patients, no document.
* ``dmp_settings`` (function): :class:`segurlink.config.Settings` with ``[software]``,
  ``[structure]`` (FINESS 010000016), ``[tls] ca_bundle``, ``[timeouts]`` and the ``[dmp]``
  table of the contract pointing at the mock.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from segurlink.config import Settings

    from .dmp import DmpMock
    from .pki import TestPki


@pytest.fixture(scope="session")
def dmp_mock_session(segurlink_pki: TestPki) -> Iterator[DmpMock]:
    """The DMP mock of the session, not reset between tests."""
    from .dmp import DmpMock

    with DmpMock(segurlink_pki) as mock:
        yield mock


@pytest.fixture
def dmp_mock(dmp_mock_session: DmpMock) -> DmpMock:
    """The DMP mock back to its start state (patients, no document, no fault, empty log)."""
    dmp_mock_session.reset()
    return dmp_mock_session


@pytest.fixture
def dmp_settings(dmp_mock: DmpMock, segurlink_pki: TestPki) -> Settings:
    """Settings for a DMP client of the mock (indirect mode, structure 1010000016)."""
    from segurlink.config import Settings

    from .insi import DEFAULT_IDAM
    from .pki import STRUCTURE_NAME
    from .pytest_plugin import MOCK_SOFTWARE_INSTANCE
    from .stack import SOFTWARE_NAME, SOFTWARE_VERSION, STRUCTURE_FINESS

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
            "dmp": dmp_mock.settings_table(),
        }
    )
