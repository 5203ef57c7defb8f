"""pytest fixtures of the Annuaire Santé mock (enabled by the segurlink pytest plugin).

* ``annuaire_mock_session`` (session): one :class:`~segurlink_mocks.annuaire.AnnuaireMock`
  for the run.
* ``annuaire_mock`` (function): that mock back to its start state (directory, no pending
  fault, empty request log); an exception inside the mock fails the test at teardown.
* ``annuaire_settings`` (function): :class:`segurlink.config.Settings` whose
  ``[annuaire]`` table points at the mock (endpoint, API key), trusting the test CA.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from .._core.fixtures import mock_fixtures

if TYPE_CHECKING:
    from segurlink.config import Settings

    from ..pki import TestPki
    from .server import AnnuaireMock


annuaire_mock_session, annuaire_mock = mock_fixtures(
    "annuaire_mock",
    "segurlink_mocks.annuaire.server:AnnuaireMock",
    doc="The Annuaire Santé mock, back to its start state for this test.",
)


@pytest.fixture
def annuaire_settings(annuaire_mock: AnnuaireMock, segurlink_pki: TestPki) -> Settings:
    """Settings for a client of the Annuaire Santé mock (API key, test CA)."""
    from segurlink.config import Settings

    return Settings.from_mapping(
        {
            "tls": {"ca_bundle": str(segurlink_pki.ca)},
            "timeouts": {"connect": 5.0, "read": 10.0},
            "annuaire": annuaire_mock.settings_table(),
        }
    )
