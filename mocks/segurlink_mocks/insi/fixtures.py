"""pytest fixtures of the INSi mock (enabled by the segurlink pytest plugin).

* ``insi_mock_session`` (session): one INSi mock server for the whole run.
* ``insi_mock`` (function): that server, reset first (no fault, empty request log,
  initial persons, IDAMs and fault style; requests still sleeping from an earlier test
  are dropped); an exception inside the mock fails the test at teardown.
* ``segurlink_mock_settings`` (function): a :class:`segurlink.config.Settings` pointing at
  the INSi mock with the INSI-AUTO certificate and the software IDAM the mock knows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from .._core.fixtures import mock_fixtures

if TYPE_CHECKING:
    from segurlink.config import Settings

    from ..pki import TestPki
    from .server import InsiMock


insi_mock_session, insi_mock = mock_fixtures(
    "insi_mock",
    "segurlink_mocks.insi.server:InsiMock",
    doc="The INSi mock, reset for this test (faults, log, persons, IDAMs, fault style).",
)


@pytest.fixture
def segurlink_mock_settings(insi_mock: InsiMock, segurlink_pki: TestPki) -> Settings:
    """Settings pointing at the INSi mock (INSI-AUTO certificate, known software IDAM)."""
    from segurlink.config import Settings

    from .._core.installation import base_tables

    client = segurlink_pki.client("insi-auto")
    tables: dict[str, dict[str, str | float]] = base_tables(segurlink_pki)
    tables["insi"] = {
        "endpoint": insi_mock.endpoint,
        "cert": str(client.cert),
        "key": str(client.key),
    }
    return Settings.from_mapping(tables)
