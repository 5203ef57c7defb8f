"""Where the project's own schemas live: inside the wheel, or at the repository root."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from .errors import ConfigurationError

__all__ = ["schemas_dir"]


@cache
def schemas_dir() -> Path:
    """The ``schemas/`` folder (``segurlink/schemas`` in a wheel, ``./schemas`` in a checkout)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "schemas", here.parent.parent / "schemas"):
        if candidate.is_dir():
            return candidate
    raise ConfigurationError("segurlink's schemas/ folder is missing from this installation")
