"""The fictitious installation the mocks know: software, structure, state directory.

A DUI talking to the mocks presents this software (name, version, IDAM) and this structure
(FINESS, name on the test certificates). Fixtures and ``segurlink mock serve`` build their
settings from :func:`base_tables`, so the two never drift apart.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..pki import TestPki

__all__ = [
    "DEFAULT_IDAM",
    "MOCK_SOFTWARE_INSTANCE",
    "SOFTWARE_NAME",
    "SOFTWARE_VERSION",
    "STRUCTURE_FINESS",
    "base_tables",
    "default_state_dir",
]

SOFTWARE_NAME = "segurlink-demo"
SOFTWARE_VERSION = "0.1.0"
#: The IDAM (CNDA authorisation number) the mocks know by default.
DEFAULT_IDAM = "SEGURLINK-DEMO-IDAM"
STRUCTURE_FINESS = "010000016"
#: The software instance UUID of the pytest fixtures (fixed per "installation").
MOCK_SOFTWARE_INSTANCE = "6f1c1b1e-3a52-4f57-9c1d-5e6b2f0a7d31"


def default_state_dir() -> Path:
    """``$SEGURLINK_MOCK_DIR``, else ``~/.cache/segurlink/mock``."""
    configured = os.environ.get("SEGURLINK_MOCK_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "segurlink" / "mock"


def base_tables(
    pki: TestPki, *, instance: str = MOCK_SOFTWARE_INSTANCE, read_timeout: float = 10.0
) -> dict[str, dict[str, str | float]]:
    """The ``[software]``, ``[structure]``, ``[tls]`` and ``[timeouts]`` settings tables."""
    from ..pki import STRUCTURE_NAME

    return {
        "software": {
            "name": SOFTWARE_NAME,
            "version": SOFTWARE_VERSION,
            "idam": DEFAULT_IDAM,
            "instance": instance,
        },
        "structure": {"finess": STRUCTURE_FINESS, "name": STRUCTURE_NAME},
        "tls": {"ca_bundle": str(pki.ca)},
        "timeouts": {"connect": 5.0, "read": read_timeout},
    }
