"""CDA test fixtures: the official kit (skips when absent) and one schematron cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from segurlink.cda import CdaSettings, Validator
from tests.conftest import shared_path


@pytest.fixture(scope="session")
def schematron_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One compiled-schematron cache per test session (never inside the kit)."""
    return tmp_path_factory.getbasetemp() / "schematron-cache"


@pytest.fixture
def cisis_kit() -> Path:
    return shared_path("cisis-kit")


@pytest.fixture
def kit_validator(cisis_kit: Path, schematron_cache: Path) -> Validator:
    return Validator(CdaSettings(kit=cisis_kit, cache_dir=schematron_cache))
