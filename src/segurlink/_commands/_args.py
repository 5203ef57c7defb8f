"""Argument types shared by the command groups: a bad value is a one-line usage error
(exit 2) before anything runs, never a traceback from deep inside a command."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "bounded_int",
    "existing_file",
    "finess",
    "new_file",
    "non_empty",
    "non_empty_path",
    "port",
    "positive_float",
]


def bounded_int(low: int, high: int | None = None) -> Callable[[str], int]:
    """An ``int`` type accepting ``low <= value (<= high)``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < low or (high is not None and value > high):
            limit = f"from {low} to {high}" if high is not None else f"{low} or more"
            raise argparse.ArgumentTypeError(f"must be {limit}, not {value}")
        return value

    parse.__name__ = "integer"  # argparse names the type in its messages
    return parse


def port(text: str) -> int:
    """A TCP port, 0 meaning any free one."""
    return bounded_int(0, 65535)(text)


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


def non_empty(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def non_empty_path(text: str) -> Path:
    """A path, checked later by the command (e.g. one bad file in a batch)."""
    return Path(non_empty(text)).expanduser()


def existing_file(text: str) -> Path:
    """A file to read: it must exist and be a regular file."""
    path = Path(non_empty(text)).expanduser()
    if not path.exists():
        raise argparse.ArgumentTypeError(f"no such file: {text}")
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"not a regular file: {text}")
    return path


def new_file(text: str) -> Path:
    """A file to write: its directory must exist (checked before any exchange, so that
    a result is not lost after the service did the work)."""
    path = Path(non_empty(text)).expanduser()
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"is a directory: {text}")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"no such directory: {path.parent}")
    return path


def finess(text: str) -> str:
    """A FINESS number (9 characters, département first, Luhn key)."""
    from .._finess import check_finess
    from ..errors import InputError

    try:
        return check_finess(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None
