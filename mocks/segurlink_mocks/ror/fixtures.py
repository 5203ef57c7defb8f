"""pytest fixtures of the ROR mock (enabled from :mod:`segurlink_mocks.pytest_plugin`).

* ``ror_mock_session`` (session): one :class:`~segurlink_mocks.ror.RorMock` for the run
  (its dataset is generated once, ~0.5 s).
* ``ror_mock`` (function): that server with no pending fault, an empty request log and
  no issued token. The data is not regenerated: tests that PATCH capacities should use
  their own indicator (e.g. a distinct temporality) or call ``ror_mock.reset()``.
* ``ror_settings`` (function): :class:`segurlink.config.Settings` whose ``[ror]`` table
  points at the mock (client id + secret), trusting the test CA.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from segurlink.config import Settings

    from ..pki import TestPki
    from .server import RorMock


@pytest.fixture(scope="session")
def ror_mock_session(segurlink_pki: TestPki) -> Iterator[RorMock]:
    """The ROR mock of the session, not reset between tests."""
    from .server import RorMock

    with RorMock(segurlink_pki) as mock:
        yield mock


@pytest.fixture
def ror_mock(ror_mock_session: RorMock) -> RorMock:
    """The ROR mock without pending faults, request log or tokens (data kept)."""
    ror_mock_session.clear_faults()
    ror_mock_session.clear_requests()
    ror_mock_session.expire_tokens()
    return ror_mock_session


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
