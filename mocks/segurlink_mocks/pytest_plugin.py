"""pytest fixtures of the segurlink mocks (registered as the ``segurlink`` pytest11 plugin).

* ``segurlink_pki`` (session): the test PKI in a temporary directory.
* the fixtures of each mock, from its own sub-package: ``insi_mock`` and
  ``segurlink_mock_settings`` (:mod:`segurlink_mocks.insi.fixtures`), ``dmp_mock`` and
  ``dmp_settings``, ``psc_mock`` and ``psc_settings``, ``ror_mock`` and ``ror_settings``,
  ``mss_mock`` and ``mss_settings``, ``annuaire_mock`` and ``annuaire_settings``.

Heavy modules (cryptography, lxml, werkzeug) are imported inside the fixtures, so that
loading the plugin costs nothing to test runs that do not use it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from ._core.installation import MOCK_SOFTWARE_INSTANCE

if TYPE_CHECKING:
    from .pki import TestPki

__all__ = ["MOCK_SOFTWARE_INSTANCE", "segurlink_pki"]

pytest_plugins = [
    "segurlink_mocks.insi.fixtures",
    "segurlink_mocks.dmp.fixtures",
    "segurlink_mocks.psc.fixtures",
    "segurlink_mocks.ror.fixtures",
    "segurlink_mocks.mssante.fixtures",
    "segurlink_mocks.annuaire.fixtures",
]


@pytest.fixture(scope="session")
def segurlink_pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    """The test PKI (CA, server and client certificates) for the session."""
    from .pki import TestPki

    return TestPki.create(tmp_path_factory.mktemp("segurlink-pki"))
