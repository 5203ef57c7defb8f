"""pytest fixtures of the DMP mock (enabled from :mod:`segurlink_mocks.pytest_plugin`).

* ``dmp_mock_session`` (session): one :class:`~segurlink_mocks.dmp.DmpMock` for the run
  (it issues the RSA ``dmp-auth`` / ``dmp-sign`` / ``dmp-sign-other`` certificates in the
  test PKI on first use).
* ``dmp_mock`` (function): that mock reset — no fault, empty request log, the default
  patients, no document; an exception inside the mock fails the test at teardown.
* ``dmp_settings`` (function): :class:`segurlink.config.Settings` with ``[software]``,
  ``[structure]`` (FINESS 010000016), ``[tls] ca_bundle``, ``[timeouts]`` and the ``[dmp]``
  table of the contract pointing at the mock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from .._core.fixtures import mock_fixtures

if TYPE_CHECKING:
    from segurlink.config import Settings

    from ..pki import TestPki
    from .server import DmpMock


dmp_mock_session, dmp_mock = mock_fixtures(
    "dmp_mock",
    "segurlink_mocks.dmp.server:DmpMock",
    doc="The DMP mock back to its start state (patients, no document, no fault, empty log).",
)


@pytest.fixture
def dmp_settings(dmp_mock: DmpMock, segurlink_pki: TestPki) -> Settings:
    """Settings for a DMP client of the mock (indirect mode, structure 1010000016)."""
    from segurlink.config import Settings

    from .._core.installation import base_tables

    tables: dict[str, dict[str, str | float]] = base_tables(segurlink_pki)
    tables["dmp"] = dict(dmp_mock.settings_table())
    return Settings.from_mapping(tables)
