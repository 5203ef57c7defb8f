"""Settings of the MSSanté client, from the ``[mssante]`` table.

::

    [mssante]
    address = "ehpad-tilleuls@segurlink-test.mssante.fr"   # the mailbox that sends and reads
    auth = "EXTERNAL"            # XOAUTH2 / OAUTHBEARER (PER, ORG: PSC token) or EXTERNAL (APP)
    smtp_host = "smtp.operateur.mssante.fr"
    smtp_port = 587              # 587 STARTTLS (default) or 465 implicit TLS
    smtp_security = "starttls"   # or "tls"
    imap_host = "imap.operateur.mssante.fr"
    imap_port = 143              # 143 STARTTLS (default) or 993 implicit TLS
    imap_security = "starttls"   # or "tls"
    ca_bundle = "igc-sante-ca.pem"   # REQUIRED: the IGC-Santé chain, loaded explicitly
    cert = "org-auth.pem"        # EXTERNAL: the structure's ORG AUTH_CLI certificate
    key = "org-auth.key"
    max_message_size = 26214400  # bytes (25 MB, Mon espace santé's limit)
    product_reference = "R1234567"   # X-MSS-NIL (default: [software] idam)
    source_oid = "1.2.250.1.999.1.1"     # METADATA.XML sourceId (default: [dmp] source_oid)

Timeouts come from ``[timeouts]``: every socket operation is bounded by ``read``.

The Annuaire Santé (lookup of MSSanté addresses) has its own table::

    [annuaire]
    endpoint = "https://gateway.api.esante.gouv.fr/fhir/v2"
    api_key = "..."              # ESANTE-API-KEY (redacted in reprs and logs)
    ca_bundle = "/etc/ssl/certs/ca-certificates.crt"  # the gateway has a public certificate
    page_size = 50               # resources per page (at most 50)
    max_pages = 20               # pages read per search
    max_retry_wait = 30          # the longest Retry-After (seconds) a 429/503 is waited for
    retry_deadline = 60          # the time budget (seconds) of the retries of one page
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal, Self

from ..config import (
    Limits,
    Secret,
    Settings,
    SoftwareIdentity,
    Timeouts,
    TlsConfig,
    as_secret,
    check_url,
)
from ..errors import ConfigurationError

__all__ = ["ANNUAIRE_ENDPOINT", "DEFAULT_MAX_MESSAGE_SIZE", "AnnuaireSettings", "MssSettings"]

#: The Annuaire Santé FHIR API (production; there is no test platform with fictitious data).
ANNUAIRE_ENDPOINT = "https://gateway.api.esante.gouv.fr/fhir/v2"
#: The most resources the Annuaire Santé serves in one page.
_ANNUAIRE_MAX_PAGE = 50

#: Mon espace santé refuses messages over 25 MB; operators may have lower caps.
DEFAULT_MAX_MESSAGE_SIZE = 25 * 1024 * 1024

AuthMechanism = Literal["XOAUTH2", "OAUTHBEARER", "EXTERNAL"]
Security = Literal["starttls", "tls"]
_MECHANISMS = ("XOAUTH2", "OAUTHBEARER", "EXTERNAL")
_SECURITY = ("starttls", "tls")
_OID = re.compile(r"[0-2](\.(0|[1-9][0-9]*))+")


@dataclass(frozen=True, slots=True)
class MssSettings:
    """Typed settings of :class:`segurlink.mssante.MssClient`.

    ``tls.ca_bundle`` is required: IGC-Santé roots are in no public bundle and
    verification is never disabled. ``auth`` ``EXTERNAL`` needs ``tls.cert`` (the
    structure's certificate of an APP mailbox); ``XOAUTH2``/``OAUTHBEARER`` need an
    access-token source given to the client.

    >>> from pathlib import Path
    >>> s = MssSettings(address="a@x.mssante.fr", smtp_host="127.0.0.1",
    ...     tls=TlsConfig(ca_bundle=Path("ca.pem")), product_reference="R1")
    >>> s.smtp_port, s.smtp_security, s.auth
    (587, 'starttls', 'XOAUTH2')
    """

    address: str
    smtp_host: str
    tls: TlsConfig
    product_reference: str
    smtp_port: int = 587
    smtp_security: Security = "starttls"
    imap_host: str = ""
    imap_port: int = 143
    imap_security: Security = "starttls"
    auth: AuthMechanism = "XOAUTH2"
    timeouts: Timeouts = field(default_factory=Timeouts)
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    software: SoftwareIdentity | None = None
    source_oid: str = "1.2.250.1.999.1.1"

    def __post_init__(self) -> None:
        if "@" not in self.address or not self.address.strip():
            raise ConfigurationError(f"mssante.address is not an address: {self.address!r}")
        if not self.smtp_host.strip():
            raise ConfigurationError("mssante.smtp_host is not set")
        if self.auth not in _MECHANISMS:
            raise ConfigurationError(f"mssante.auth must be one of {', '.join(_MECHANISMS)}")
        for name in ("smtp_security", "imap_security"):
            if getattr(self, name) not in _SECURITY:
                raise ConfigurationError(f"mssante.{name} must be starttls or tls")
        for name in ("smtp_port", "imap_port"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
                raise ConfigurationError(f"mssante.{name} must be a TCP port, not {value!r}")
        if self.tls.ca_bundle is None:
            raise ConfigurationError(
                "mssante.ca_bundle (or tls.ca_bundle) is required: the IGC-Santé CA chain is "
                "loaded explicitly, never the system store"
            )
        if self.auth == "EXTERNAL" and not self.tls.has_client_identity:
            raise ConfigurationError(
                "mssante.auth EXTERNAL (APP mailbox) needs the structure's certificate: "
                "mssante.cert/key"
            )
        size = self.max_message_size
        if isinstance(size, bool) or not isinstance(size, int) or size < 1024:
            raise ConfigurationError(f"mssante.max_message_size must be >= 1024 bytes: {size!r}")
        if not self.product_reference.strip():
            raise ConfigurationError("mssante.product_reference (X-MSS-NIL) is empty")
        if not _OID.fullmatch(self.source_oid):
            raise ConfigurationError(f"mssante.source_oid must be an OID: {self.source_oid!r}")

    @property
    def imap_server(self) -> str:
        return self.imap_host or self.smtp_host

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """Typed settings from ``[mssante]`` (+ ``[tls]``, ``[timeouts]``, ``[software]``)."""
        section = settings.section("mssante")

        def need(key: str) -> str:
            value = section.get(key)
            if value in (None, ""):
                raise ConfigurationError(
                    f"mssante.{key} is not set (TOML [mssante] {key} or "
                    f"SEGURLINK_MSSANTE__{key.upper()})"
                )
            return str(value)

        def number(key: str, default: int) -> int:
            value = section.get(key, default)
            try:
                return int(str(value))
            except ValueError:
                raise ConfigurationError(
                    f"mssante.{key} must be a whole number: {value!r}"
                ) from None

        software = settings.software
        reference = str(section.get("product_reference") or (software.idam if software else ""))
        if not reference:
            raise ConfigurationError(
                "mssante.product_reference (X-MSS-NIL) is not set, and no [software] idam"
            )
        smtp_security = str(section.get("smtp_security", "starttls"))
        imap_security = str(section.get("imap_security", "starttls"))
        source_oid = section.get("source_oid") or settings.section("dmp").get("source_oid")
        return cls(
            address=need("address"),
            smtp_host=need("smtp_host"),
            smtp_port=number("smtp_port", 465 if smtp_security == "tls" else 587),
            smtp_security=smtp_security,  # type: ignore[arg-type]  # checked in __post_init__
            imap_host=str(section.get("imap_host", "")),
            imap_port=number("imap_port", 993 if imap_security == "tls" else 143),
            imap_security=imap_security,  # type: ignore[arg-type]
            auth=str(section.get("auth", "XOAUTH2")).upper(),  # type: ignore[arg-type]
            tls=settings.tls_for("mssante"),
            timeouts=settings.timeouts,
            max_message_size=number("max_message_size", DEFAULT_MAX_MESSAGE_SIZE),
            product_reference=reference,
            software=software,
            source_oid=str(source_oid or "1.2.250.1.999.1.1"),
        )


@dataclass(frozen=True, slots=True)
class AnnuaireSettings:
    """Settings of :class:`segurlink.mssante.AnnuaireClient`, from the ``[annuaire]`` table.

    ``api_key`` is the ``ESANTE-API-KEY`` given by the ANS API portal (a
    :class:`~segurlink.config.Secret`). ``tls`` is the global ``[tls]`` with the table's
    overrides: the gateway's certificate is from a public CA, so a ``[tls] ca_bundle``
    holding only the IGC-Santé chain needs ``[annuaire] ca_bundle`` (the system bundle).
    ``page_size`` (at most 50) and ``max_pages`` bound each search; a 429 or 503 is
    waited for when its ``Retry-After`` is at most ``max_retry_wait`` seconds, within
    ``retry_deadline`` seconds per page.

    >>> s = Settings.from_mapping({"annuaire": {"api_key": "k"}})
    >>> annuaire = AnnuaireSettings.from_settings(s)
    >>> annuaire.endpoint, annuaire.api_key
    ('https://gateway.api.esante.gouv.fr/fhir/v2', Secret('***'))
    """

    api_key: Secret
    endpoint: str = ANNUAIRE_ENDPOINT
    tls: TlsConfig = field(default_factory=TlsConfig)
    timeouts: Timeouts = field(default_factory=Timeouts)
    limits: Limits = field(default_factory=Limits)
    page_size: int = _ANNUAIRE_MAX_PAGE
    max_pages: int = 20
    max_retry_wait: float = 30.0
    retry_deadline: float = 60.0

    def __post_init__(self) -> None:
        check_url("annuaire.endpoint", self.endpoint)
        if not isinstance(self.api_key, Secret) or not self.api_key.reveal().strip():
            raise ConfigurationError("annuaire.api_key (ESANTE-API-KEY) is not set")
        for name, low, high in (("page_size", 1, _ANNUAIRE_MAX_PAGE), ("max_pages", 1, 1000)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ConfigurationError(
                    f"annuaire.{name} must be a whole number from {low} to {high}, not {value!r}"
                )
        for seconds, least in (("max_retry_wait", 0.0), ("retry_deadline", 1.0)):
            wait = getattr(self, seconds)
            if (
                isinstance(wait, bool)
                or not isinstance(wait, int | float)
                or not (least <= wait <= 3600)
            ):
                raise ConfigurationError(
                    f"annuaire.{seconds} must be a number of seconds from {least:g} to 3600, "
                    f"not {wait!r}"
                )

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """Typed settings from ``[annuaire]`` (+ ``[tls]``, ``[timeouts]``, ``[limits]``)."""
        section = settings.section("annuaire")
        key = as_secret(section.get("api_key"))
        if key is None:
            raise ConfigurationError(
                "annuaire.api_key (ESANTE-API-KEY) is not set (TOML [annuaire] api_key or "
                "SEGURLINK_ANNUAIRE__API_KEY)"
            )
        optional: dict[str, Any] = {}
        if section.get("endpoint"):
            optional["endpoint"] = str(section["endpoint"])
        for name, kind in (
            ("page_size", int),
            ("max_pages", int),
            ("max_retry_wait", float),
            ("retry_deadline", float),
        ):
            value = section.get(name)
            if value in (None, ""):
                continue
            try:
                optional[name] = kind(str(value))
            except ValueError:
                raise ConfigurationError(
                    f"annuaire.{name} must be a number, not {value!r}"
                ) from None
        return cls(
            api_key=key,
            tls=settings.tls_for("annuaire"),
            timeouts=settings.timeouts,
            limits=settings.limits,
            **optional,
        )
