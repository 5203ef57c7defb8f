"""pytest fixtures of the Pro Santé Connect mock (enabled by the segurlink pytest plugin).

* ``psc_mock_session`` (session): one :class:`~segurlink_mocks.psc.PscMock` for the run.
* ``psc_mock`` (function): that mock, reset (keys, clients, grants, faults, settings); an
  exception inside the mock fails the test at teardown.
* ``psc_mock_login_page`` (function): the same mock showing its login page instead of
  auto-approving (for browser tests of a DUI front-end).
* ``psc_settings`` (function): :class:`segurlink.config.Settings` with a ``[psc]`` table
  for the mock's default client (``client_secret_basic``) and the test CA as trust store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from .._core.fixtures import mock_fixtures

if TYPE_CHECKING:
    from segurlink.config import Settings

    from ..pki import TestPki
    from .server import PscMock


psc_mock_session, psc_mock = mock_fixtures(
    "psc_mock",
    "segurlink_mocks.psc.server:PscMock",
    doc="The PSC mock, back to its start state for this test.",
)


@pytest.fixture
def psc_mock_login_page(psc_mock: PscMock) -> PscMock:
    """The PSC mock, reset, showing its login page: a person picks the professional."""
    psc_mock.auto_approve = False
    return psc_mock


@pytest.fixture
def psc_settings(psc_mock: PscMock, segurlink_pki: TestPki) -> Settings:
    """Settings pointing at the PSC mock (default client, test CA bundle)."""
    from segurlink.config import Settings

    return Settings.from_mapping(
        {
            "tls": {"ca_bundle": str(segurlink_pki.ca)},
            "timeouts": {"connect": 5.0, "read": 10.0},
            "psc": psc_mock.settings_table(),
        }
    )
