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
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal, Self

from ..config import Settings, SoftwareIdentity, Timeouts, TlsConfig
from ..errors import ConfigurationError

__all__ = ["DEFAULT_MAX_MESSAGE_SIZE", "MssSettings"]

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
