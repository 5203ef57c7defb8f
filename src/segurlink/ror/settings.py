"""Settings of the ROR client, from the ``[ror]`` table (and ``[tls]``, ``[timeouts]``,
``[limits]``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Self

from ..config import Limits, Secret, Settings, Timeouts, TlsConfig, as_secret, check_url
from ..errors import ConfigurationError

__all__ = ["DEFAULT_MAX_RETRY_WAIT", "MAX_PAGE_SIZE", "RorSettings", "Validation"]

#: ``validation="full"``: every resource checked by its fhir.resources model;
#: ``"fast"``: typed values built straight from the JSON.
Validation = Literal["full", "fast"]
#: The largest ``_count`` the ROR serves in one page.
MAX_PAGE_SIZE = 1000
#: The longest ``Retry-After`` (seconds) a 429/503 answer is waited for by default.
DEFAULT_MAX_RETRY_WAIT = 30.0


@dataclass(frozen=True, slots=True)
class RorSettings:
    """Settings of the ROR FHIR API, from the ``[ror]`` table.

    ``endpoint`` is the FHIR base (``.../ws-diffusion-fhir``); ``capacity_endpoint`` the
    capacity synchronisation base, by default the sibling ``ws-synchro-dispo-lits-fhir``.
    Authentication: ``client_secret`` (public data, "profil 0") or, without a secret, the
    mutual-TLS identity of ``tls`` (IGC-Santé ORG AUTH_CLI certificate, profiles 1-4).
    The four ``Ror-*`` header values are given at onboarding; the defaults are the
    examples of the ANS documentation.

    >>> s = Settings.from_mapping({"ror": {"endpoint": "https://h/ws-diffusion-fhir",
    ...     "token_url": "https://h/token", "client_id": "dui", "client_secret": "s"}})
    >>> RorSettings.from_settings(s).capacity_endpoint
    'https://h/ws-synchro-dispo-lits-fhir'
    """

    endpoint: str
    token_url: str
    client_id: str
    client_secret: Secret | None = None
    tls: TlsConfig = field(default_factory=TlsConfig)
    timeouts: Timeouts = field(default_factory=Timeouts)
    limits: Limits = field(default_factory=Limits)
    capacity_endpoint: str = ""
    profile_code: str = "CU22"
    profile_system: str = "1.2.250.1.213.1.6.1.66"
    role_code: str = "AUTOMATE"
    role_system: str = "1.2.250.1.213.1.1.4.6"
    page_size: int | None = None
    max_pages: int | None = None
    validation: Validation = "full"
    max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT

    def __post_init__(self) -> None:
        for name in ("endpoint", "token_url"):
            check_url(f"ror.{name}", getattr(self, name))
        if not self.client_id:
            raise ConfigurationError("ror.client_id is not set")
        if self.client_secret is None and not self.tls.has_client_identity:
            raise ConfigurationError(
                "ror needs ror.client_secret or a client certificate (mTLS) to get a token"
            )
        if not self.capacity_endpoint:
            base = self.endpoint.rstrip("/").rsplit("/", 1)[0]
            object.__setattr__(self, "capacity_endpoint", base + "/ws-synchro-dispo-lits-fhir")
        check_url("ror.capacity_endpoint", self.capacity_endpoint)
        if self.validation not in ("full", "fast"):
            raise ConfigurationError(f"ror.validation must be full or fast: {self.validation!r}")
        if self.page_size is not None and not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise ConfigurationError(f"ror.page_size must be between 1 and {MAX_PAGE_SIZE}")

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """Typed settings from the ``[ror]`` table of ``settings``."""
        section = settings.section("ror")
        missing = [k for k in ("endpoint", "token_url", "client_id") if not section.get(k)]
        if missing:
            raise ConfigurationError(
                f"[ror] lacks {', '.join(missing)} (TOML [ror] or SEGURLINK_ROR__<KEY>)"
            )
        secret = section.get("client_secret")
        optional: dict[str, Any] = {}
        for key in ("profile_code", "profile_system", "role_code", "role_system", "validation"):
            if section.get(key):
                optional[key] = str(section[key])
        if section.get("capacity_endpoint"):
            optional["capacity_endpoint"] = str(section["capacity_endpoint"])
        try:
            for key in ("page_size", "max_pages"):
                if section.get(key) not in (None, ""):
                    optional[key] = int(section[key])
            if section.get("max_retry_wait") not in (None, ""):
                optional["max_retry_wait"] = float(section["max_retry_wait"])
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"invalid [ror] number: {exc}") from exc
        return cls(
            endpoint=str(section["endpoint"]),
            token_url=str(section["token_url"]),
            client_id=str(section["client_id"]),
            client_secret=as_secret(secret),
            tls=settings.tls_for("ror"),
            timeouts=settings.timeouts,
            limits=settings.limits,
            **optional,
        )

    @property
    def ror_headers(self) -> dict[str, str]:
        """The four ``Ror-*`` headers of every FHIR read call."""
        return {
            "Ror-Profil-Utilisateur-Code": self.profile_code,
            "Ror-Profil-Utilisateur-System": self.profile_system,
            "Ror-Role-Metier-Code": self.role_code,
            "Ror-Role-Metier-System": self.role_system,
        }
