"""pytest fixtures of the ROR mock (enabled from :mod:`segurlink_mocks.pytest_plugin`).

* ``ror_mock_session`` (session): one :class:`~segurlink_mocks.ror.RorMock` for the run
  (its dataset is generated once, ~0.5 s).
* ``ror_mock`` (function): that server with no pending fault, an empty request log and
  no issued token; an exception inside the mock fails the test at teardown. The data is
  not regenerated: tests that PATCH capacities should use their own indicator (e.g. a
  distinct temporality) or call ``ror_mock.reset()``.
* ``ror_settings`` (function): :class:`segurlink.config.Settings` whose ``[ror]`` table
  points at the mock (client id + secret), trusting the test CA.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from .._core.fixtures import mock_fixtures

if TYPE_CHECKING:
    from segurlink.config import Settings

    from ..pki import TestPki
    from .server import RorMock


def _without_faults_log_or_tokens(mock: RorMock) -> None:
    # Not reset(): regenerating the offer for every test would cost ~0.5 s each.
    mock.server.reset()
    mock.expire_tokens()


ror_mock_session, ror_mock = mock_fixtures(
    "ror_mock",
    "segurlink_mocks.ror.server:RorMock",
    prepare=_without_faults_log_or_tokens,
    doc="The ROR mock without pending faults, request log or tokens (data kept).",
)


@pytest.fixture
def ror_settings(ror_mock: RorMock, segurlink_pki: TestPki) -> Settings:
    """Settings for a client of the ROR mock (secret authentication)."""
    from segurlink.config import Settings

    return Settings.from_mapping(
        {
            "tls": {"ca_bundle": str(segurlink_pki.ca)},
            "timeouts": {"connect": 5.0, "read": 20.0},
            "ror": ror_mock.settings_table(),
        }
    )
