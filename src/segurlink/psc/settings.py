"""Settings of the Pro Santé Connect client, from the ``[psc]`` table (and ``[tls]``,
``[timeouts]``, ``[limits]``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Self, cast

from ..config import (
    Limits,
    Secret,
    Settings,
    Timeouts,
    TlsConfig,
    as_secret,
    check_url,
    resolve_path,
)
from ..errors import ConfigurationError
from . import messages

__all__ = ["MIN_CIBA_INTERVAL", "AuthMethod", "PscSettings"]

#: Lowest CIBA polling interval in seconds, whatever the provider announces.
MIN_CIBA_INTERVAL = 1.0
_ID_TOKEN_ALGS = messages.ASYMMETRIC_ALGS + messages.HMAC_ALGS

AuthMethod = Literal[
    "client_secret_basic", "client_secret_post", "private_key_jwt", "tls_client_auth"
]


@dataclass(frozen=True, slots=True)
class PscSettings:
    """Settings of the Pro Santé Connect client, from the ``[psc]`` table.

    ``issuer`` is a URL or a preset name (``sandbox``, ``production``). ``auth_method``
    is how the client authenticates at the token endpoint; ``private_key`` is the PEM key
    of ``private_key_jwt``; ``tls`` (``[tls]`` with the ``[psc]`` overrides) is the mTLS
    identity for ``tls_client_auth`` and token exchange.

    ``accepted_acr`` are the login levels accepted in id_tokens (default eidas1, eidas2,
    eidas3). ``id_token_signed_response_alg`` is the algorithm registered for the client
    (e.g. ``RS256``): when set, id_tokens signed otherwise are refused; the provider's
    published list is always enforced. ``ciba_max_expires_in`` / ``ciba_max_interval``
    (seconds, default 300 and 30) cap what the provider announces for a CIBA request.

    >>> s = Settings.from_mapping({"psc": {"issuer": "sandbox", "client_id": "dui",
    ...     "client_secret": "s3cret", "redirect_uri": "https://dui.example/cb"}})
    >>> PscSettings.from_settings(s).issuer
    'https://auth.bas.psc.esante.gouv.fr/auth/realms/esante-wallet'
    """

    issuer: str
    client_id: str
    client_secret: Secret | None = None
    auth_method: AuthMethod = "client_secret_basic"
    redirect_uri: str = ""
    scope: str = messages.DEFAULT_SCOPE
    acr_values: str = messages.DEFAULT_ACR
    accepted_acr: tuple[str, ...] = messages.ACCEPTED_ACR
    private_key: Path | None = None
    tls: TlsConfig = field(default_factory=TlsConfig)
    token_exchange_endpoint: str = ""
    leeway: int = messages.DEFAULT_LEEWAY
    cache_seconds: float = 3600.0
    id_token_signed_response_alg: str = ""
    ciba_max_expires_in: float = messages.CIBA_MAX_EXPIRES_IN
    ciba_max_interval: float = messages.CIBA_MAX_INTERVAL
    timeouts: Timeouts = field(default_factory=Timeouts)
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        if not self.issuer.startswith(("https://", "http://")):
            raise ConfigurationError(
                f"psc.issuer must be an URL or one of {sorted(messages.PRESETS)}: {self.issuer!r}"
            )
        # Tokens and the client secret would travel in clear: http only for loopback tests.
        check_url("psc.issuer", self.issuer)
        if self.token_exchange_endpoint:
            check_url("psc.token_exchange_endpoint", self.token_exchange_endpoint)
        if not self.client_id:
            raise ConfigurationError("psc.client_id is not set")
        if self.auth_method not in messages.AUTH_METHODS:
            raise ConfigurationError(
                f"psc.auth_method must be one of {', '.join(messages.AUTH_METHODS)}"
            )
        if self.auth_method.startswith("client_secret") and self.client_secret is None:
            raise ConfigurationError(f"psc.client_secret is required by {self.auth_method}")
        if self.auth_method == "private_key_jwt" and self.private_key is None:
            raise ConfigurationError("psc.private_key is required by private_key_jwt")
        if self.auth_method == "tls_client_auth" and not self.tls.has_client_identity:
            raise ConfigurationError("tls_client_auth needs a client certificate (psc.cert/key)")
        alg = self.id_token_signed_response_alg
        if alg and alg not in _ID_TOKEN_ALGS:
            raise ConfigurationError(
                f"psc.id_token_signed_response_alg must be one of {', '.join(_ID_TOKEN_ALGS)}"
            )
        if alg in messages.HMAC_ALGS and self.client_secret is None:
            raise ConfigurationError(f"psc.id_token_signed_response_alg {alg} needs client_secret")
        if not self.ciba_max_expires_in > 0 or not self.ciba_max_interval >= MIN_CIBA_INTERVAL:
            raise ConfigurationError(
                "psc.ciba_max_expires_in must be > 0 and psc.ciba_max_interval >= "
                f"{MIN_CIBA_INTERVAL:g} (seconds)"
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """Typed settings from ``settings.section("psc")`` and ``settings.tls_for("psc")``."""
        section = settings.section("psc")
        issuer = str(section.get("issuer") or "")
        if not issuer:
            raise ConfigurationError(
                "psc.issuer is not set (TOML [psc] issuer, or SEGURLINK_PSC__ISSUER; "
                "presets: sandbox, production)"
            )
        issuer = messages.PRESETS.get(issuer, issuer)
        secret = section.get("client_secret")
        scope = section.get("scopes", section.get("scope", messages.DEFAULT_SCOPE))
        if isinstance(scope, list):
            scope = " ".join(str(s) for s in scope)
        accepted = section.get("accepted_acr", list(messages.ACCEPTED_ACR))
        if isinstance(accepted, str):
            accepted = accepted.replace(",", " ").split()
        key = section.get("private_key")
        try:
            return cls(
                issuer=issuer.rstrip("/"),
                client_id=str(section.get("client_id") or ""),
                client_secret=as_secret(secret),
                auth_method=cast(
                    AuthMethod, str(section.get("auth_method", "client_secret_basic"))
                ),
                redirect_uri=str(section.get("redirect_uri") or ""),
                scope=str(scope),
                acr_values=str(section.get("acr_values", messages.DEFAULT_ACR)),
                accepted_acr=tuple(str(a) for a in accepted),
                private_key=resolve_path(key, settings.base_dir) if key else None,
                tls=settings.tls_for("psc"),
                token_exchange_endpoint=str(section.get("token_exchange_endpoint") or ""),
                leeway=int(section.get("leeway", messages.DEFAULT_LEEWAY)),
                cache_seconds=float(section.get("cache_seconds", 3600.0)),
                id_token_signed_response_alg=str(section.get("id_token_signed_response_alg") or ""),
                ciba_max_expires_in=float(
                    section.get("ciba_max_expires_in", messages.CIBA_MAX_EXPIRES_IN)
                ),
                ciba_max_interval=float(
                    section.get("ciba_max_interval", messages.CIBA_MAX_INTERVAL)
                ),
                timeouts=settings.timeouts,
                limits=settings.limits,
            )
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"invalid [psc] setting: {exc}") from exc
