"""pytest fixtures of the MSSanté mock (enabled by the segurlink pytest plugin).

* ``mss_mock_session`` (session): one :class:`~segurlink_mocks.mssante.MssMock` for the run.
* ``mss_mock`` (function): that mock, reset (mailboxes, tokens, faults, log); an
  exception inside the mock (HTTP, SMTP or IMAP side) fails the test at teardown.
* ``mss_settings`` (function): :class:`segurlink.config.Settings` with an ``[mssante]``
  table for the APP mailbox of the mock (``EXTERNAL`` with the structure's certificate),
  ``[software]`` and the test CA.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from .._core.fixtures import mock_fixtures

if TYPE_CHECKING:
    from segurlink.config import Settings

    from .server import MssMock


mss_mock_session, mss_mock = mock_fixtures(
    "mss_mock",
    "segurlink_mocks.mssante.server:MssMock",
    doc="The MSSanté mock, back to its start state for this test.",
)


@pytest.fixture
def mss_settings(mss_mock: MssMock) -> Settings:
    """Settings of a DUI on the mock's APP mailbox (certificate, EXTERNAL)."""
    from segurlink.config import Settings

    from .._core.installation import (
        DEFAULT_IDAM,
        MOCK_SOFTWARE_INSTANCE,
        SOFTWARE_NAME,
        SOFTWARE_VERSION,
    )

    return Settings.from_mapping(
        {
            "software": {
                "name": SOFTWARE_NAME,
                "version": SOFTWARE_VERSION,
                "idam": DEFAULT_IDAM,
                "instance": MOCK_SOFTWARE_INSTANCE,
            },
            "timeouts": {"connect": 5.0, "read": 10.0},
            "mssante": mss_mock.settings_table(),
        }
    )
