"""Settings of the document gateway, from the ``[gateway]`` table.

::

    [gateway]
    application = "SEGURLINK"      # MSH-3 of the ACKs, ZAMs and MDMs the gateway sends
    facility = ""                  # MSH-4
    dui_application = "DUI"        # MSH-5/6 of the MDMs sent for received mails
    dui_facility = ""
    sender_profession = "10"       # VIHF role of PRT senders (1.2.250.1.71.1.2.7): the
                                   # message does not carry it
    workers = 2                    # outbox workers of `segurlink gateway serve`
    mailbox_poll = 10.0            # seconds between two reads of the APP mailbox
    max_message_bytes = 33554432   # largest MLLP frame taken (a CDA with its PDF)
    max_connections = 32
    idle_timeout = 60.0            # seconds a silent producer connection is kept

The outbox (store, lease, retry policy) is the ``[outbox]`` table; the structure
(FINESS) is ``[structure]``; the DMP and MSSanté are their own tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

from ..config import Settings
from ..errors import ConfigurationError

__all__ = ["GatewaySettings"]

_KEYS = frozenset(
    {
        "application",
        "facility",
        "dui_application",
        "dui_facility",
        "sender_profession",
        "workers",
        "mailbox_poll",
        "max_message_bytes",
        "max_connections",
        "idle_timeout",
    }
)


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    """Typed ``[gateway]`` settings (see the module docstring for the keys)."""

    application: str = "SEGURLINK"
    facility: str = ""
    dui_application: str = "DUI"
    dui_facility: str = ""
    sender_profession: str = "10"
    workers: int = 2
    mailbox_poll: float = 10.0
    max_message_bytes: int = 32 * 1024 * 1024
    max_connections: int = 32
    idle_timeout: float = 60.0

    def __post_init__(self) -> None:
        if not self.application.strip():
            raise ConfigurationError("gateway.application (MSH-3) is empty")
        if not self.sender_profession.strip():
            raise ConfigurationError("gateway.sender_profession is empty")
        for name in ("workers", "max_message_bytes", "max_connections"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"gateway.{name} must be a whole number >= 1")
        for name in ("mailbox_poll", "idle_timeout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value:
                raise ConfigurationError(f"gateway.{name} must be a number of seconds > 0")

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """Typed settings from ``[gateway]`` (unknown keys and bad values refused)."""
        section: Mapping[str, Any] = settings.section("gateway")
        unknown = sorted(set(section) - _KEYS)
        if unknown:
            raise ConfigurationError(f"unknown [gateway] key(s): {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for key, kind in (
            ("application", str),
            ("facility", str),
            ("dui_application", str),
            ("dui_facility", str),
            ("sender_profession", str),
            ("workers", int),
            ("mailbox_poll", float),
            ("max_message_bytes", int),
            ("max_connections", int),
            ("idle_timeout", float),
        ):
            if key not in section:
                continue
            raw = section[key]
            try:
                values[key] = kind(raw) if not isinstance(raw, bool) else None
            except (TypeError, ValueError):
                values[key] = None
            if values[key] is None:
                raise ConfigurationError(f"gateway.{key}: {raw!r} is not a {kind.__name__}")
        return cls(**values)
