"""Settings of the INSi client, from the ``[insi]`` table (and ``[software]``, ``[tls]``,
``[timeouts]``, ``[limits]``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Self, cast

from ..config import Limits, Settings, SoftwareIdentity, Timeouts, TlsConfig, check_url
from ..errors import ConfigurationError

__all__ = ["InsiSettings"]

Mode = Literal["certificate", "card"]


@dataclass(frozen=True, slots=True)
class InsiSettings:
    """Settings of the INSi teleservice.

    ``mode`` is ``certificate`` (mutual TLS with an INSI-AUTO/INSI-MANU certificate, the
    default) or ``card`` (CPS / Pro Santé Connect assertion; reserved for a later version).
    ``emitter`` is the ``Emetteur`` of the SIRAM contexts: in certificate mode the OU of
    the client certificate; when empty it is read from the certificate. ``software`` is
    the DUI as the CNDA authorised it; ``wsdl`` another copy of the service contract
    (the one shipped with segurlink by default).

    >>> s = Settings.from_mapping({"insi": {"endpoint": "https://127.0.0.1:8443/lps"}})
    >>> InsiSettings.from_settings(s).endpoint
    'https://127.0.0.1:8443/lps'
    """

    endpoint: str
    tls: TlsConfig = field(default_factory=TlsConfig)
    mode: Mode = "certificate"
    emitter: str = ""
    software: SoftwareIdentity | None = None
    timeouts: Timeouts = field(default_factory=Timeouts)
    limits: Limits = field(default_factory=Limits)
    wsdl: Path | None = None

    def __post_init__(self) -> None:
        check_url("insi.endpoint", self.endpoint)
        if self.mode not in ("certificate", "card"):
            raise ConfigurationError(f"insi.mode must be certificate or card, not {self.mode!r}")

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """Typed settings from the ``[insi]`` table of ``settings`` (``[software]`` is
        read too: the client requires it)."""
        section = settings.section("insi")
        endpoint = section.get("endpoint")
        if not endpoint:
            raise ConfigurationError(
                "insi.endpoint is not set (TOML [insi] endpoint or SEGURLINK_INSI__ENDPOINT)"
            )
        return cls(
            endpoint=str(endpoint),
            tls=settings.tls_for("insi"),
            mode=cast(Mode, section.get("mode", "certificate")),
            emitter=str(section.get("emitter", "")),
            software=settings.software,
            timeouts=settings.timeouts,
            limits=settings.limits,
        )

    def require_software(self) -> SoftwareIdentity:
        if self.software is None:
            raise ConfigurationError(
                "[software] is required (name, version, idam, instance): "
                "set it in the TOML file or SEGURLINK_SOFTWARE__* variables"
            )
        return self.software
