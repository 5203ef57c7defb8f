"""Settings of the outbox, from the ``[outbox]`` table.

::

    [outbox]
    store = "outbox.sqlite3"     # a file (relative to the settings file), or a
                                 # postgresql:// URL; default: segurlink-outbox.sqlite3
    # password = "..."           # PostgreSQL password, kept apart from the URL (a Secret)
    workers = 2                  # default of `segurlink outbox work --workers`
    lease = 60                   # seconds a claimed job is held without news of its worker
    poll_interval = 1.0          # seconds an idle worker waits before looking again
    retry_initial = 2.0          # backoff: first ceiling (s), doubled up to retry_maximum
    retry_maximum = 600.0
    max_attempts = 50            # then dead; and no retry after retry_deadline hours
    retry_deadline_hours = 72

    [outbox.structures]          # other structures this installation serves:
    "020000022" = "ehpad-b.toml" # FINESS = their settings file (certificates, [dmp]...)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._retry import RetryPolicy
from ..config import Secret, Settings, as_secret
from ..config import resolve_path as _path
from ..errors import ConfigurationError, InputError
from .models import _FINESS
from .worker import DEFAULT_POLICY

__all__ = ["DEFAULT_STORE", "OutboxSettings"]

DEFAULT_STORE = "segurlink-outbox.sqlite3"
_KEYS = frozenset(
    {
        "store",
        "password",
        "workers",
        "lease",
        "poll_interval",
        "retry_initial",
        "retry_maximum",
        "max_attempts",
        "retry_deadline_hours",
        "structures",
    }
)


@dataclass(frozen=True, slots=True)
class OutboxSettings:
    """Typed ``[outbox]`` settings (see the module docstring for the keys)."""

    store: str
    password: Secret | None = None
    workers: int = 1
    lease: float = 60.0
    poll_interval: float = 1.0
    policy: RetryPolicy = DEFAULT_POLICY
    structures: Mapping[str, Path] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> OutboxSettings:
        section: Mapping[str, Any] = settings.section("outbox")
        unknown = sorted(set(section) - _KEYS)
        if unknown:
            raise ConfigurationError(f"unknown [outbox] key(s): {', '.join(unknown)}")
        store = str(section.get("store") or DEFAULT_STORE)
        if not store.startswith(("postgresql://", "postgres://", "sqlite:")):
            store = str(_path(store, settings.base_dir))
        password = section.get("password")
        structures = section.get("structures") or {}
        if not isinstance(structures, Mapping):
            raise ConfigurationError("[outbox.structures] is a table: FINESS = settings file")
        for finess in structures:
            if not _FINESS.fullmatch(str(finess)):
                raise ConfigurationError(f"[outbox.structures]: {finess!r} is not a FINESS")
        try:
            policy = RetryPolicy(
                initial=_number(section, "retry_initial", DEFAULT_POLICY.initial),
                maximum=_number(section, "retry_maximum", DEFAULT_POLICY.maximum),
                multiplier=DEFAULT_POLICY.multiplier,
                max_attempts=int(_number(section, "max_attempts", 50)),
                deadline=_number(section, "retry_deadline_hours", 72) * 3600,
            )
            workers = int(_number(section, "workers", 1))
            lease = _number(section, "lease", 60.0)
            poll = _number(section, "poll_interval", 1.0)
        except ValueError as exc:
            raise ConfigurationError(f"[outbox]: {exc}") from exc
        if workers < 1 or lease <= 0 or poll <= 0:
            raise ConfigurationError("[outbox] workers, lease and poll_interval must be > 0")
        return cls(
            store=store,
            password=as_secret(password),
            workers=workers,
            lease=lease,
            poll_interval=poll,
            policy=policy,
            structures={str(k): _path(v, settings.base_dir) for k, v in dict(structures).items()},
        )

    def structure_settings(self, settings: Settings) -> dict[str, Settings]:
        """FINESS → settings: this file's structure and those of ``[outbox.structures]``."""
        served: dict[str, Settings] = {}
        if settings.structure is not None:
            served[settings.structure.finess] = settings
        for finess, path in self.structures.items():
            other = Settings.from_toml(path)
            if other.structure is None or other.structure.finess != finess:
                raise ConfigurationError(f"{path} is not the settings of structure {finess}")
            served[finess] = other
        return served


def _number(section: Mapping[str, Any], key: str, default: float) -> float:
    value = section.get(key, default)
    if isinstance(value, bool):
        raise InputError(f"{key} must be a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(f"{key} must be a number, not {value!r}") from None
