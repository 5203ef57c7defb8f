"""The Pro Santé Connect client: the I/O shell around :mod:`segurlink.psc.messages`.

It moves bytes (discovery, JWKS, token, userinfo, introspection, logout, CIBA, token
exchange) over a session built by :func:`segurlink._http.build_session`, caches the
discovery document and the key set, and turns every failure into a segurlink error.

>>> client = PscClient.from_settings(settings)                  # doctest: +SKIP
>>> login = client.authorization_request()                     # doctest: +SKIP
>>> # redirect the browser to login.url; keep `login` in the server-side session
>>> result = client.finish_login(callback_url, login)           # doctest: +SKIP
>>> result.identity.rpps                                       # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Protocol, Self, cast
from urllib.parse import urlencode, urlsplit

import requests
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey

from .._audit import ExchangeLog
from .._http import build_session, request_errors
from ..config import Limits, Secret, Settings, Timeouts, TlsConfig
from ..errors import ConfigurationError, HttpStatusError, MalformedResponse, OidcError
from . import messages
from .models import (
    AuthorizationRequest,
    CibaRequest,
    IdTokenClaims,
    Introspection,
    ProfessionalIdentity,
    ProviderMetadata,
    PscLogin,
    Rejection,
    TokenSet,
)

__all__ = [
    "AccessTokenSource",
    "PscClient",
    "PscSettings",
    "PscTokenProvider",
    "tokens_from_json",
    "tokens_to_json",
]

logger = logging.getLogger(__name__)

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
    leeway: int = 30
    cache_seconds: float = 3600.0
    id_token_signed_response_alg: str = ""
    ciba_max_expires_in: float = messages.CIBA_MAX_EXPIRES_IN
    ciba_max_interval: float = messages.CIBA_MAX_INTERVAL

    def __post_init__(self) -> None:
        if not self.issuer.startswith(("https://", "http://")):
            raise ConfigurationError(
                f"psc.issuer must be an URL or one of {sorted(messages.PRESETS)}: {self.issuer!r}"
            )
        if self.issuer.startswith("http://") and urlsplit(self.issuer).hostname not in (
            "127.0.0.1",
            "localhost",
            "::1",
        ):
            # Tokens and the client secret would travel in clear: http only for loopback tests.
            raise ConfigurationError(f"psc.issuer must be an https URL, not {self.issuer!r}")
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
                client_secret=secret
                if isinstance(secret, Secret)
                else (Secret(str(secret)) if secret else None),
                auth_method=cast(
                    AuthMethod, str(section.get("auth_method", "client_secret_basic"))
                ),
                redirect_uri=str(section.get("redirect_uri") or ""),
                scope=str(scope),
                acr_values=str(section.get("acr_values", messages.DEFAULT_ACR)),
                accepted_acr=tuple(str(a) for a in accepted),
                private_key=_path(key, settings.base_dir) if key else None,
                tls=settings.tls_for("psc"),
                token_exchange_endpoint=str(section.get("token_exchange_endpoint") or ""),
                leeway=int(section.get("leeway", 30)),
                cache_seconds=float(section.get("cache_seconds", 3600.0)),
                id_token_signed_response_alg=str(section.get("id_token_signed_response_alg") or ""),
                ciba_max_expires_in=float(
                    section.get("ciba_max_expires_in", messages.CIBA_MAX_EXPIRES_IN)
                ),
                ciba_max_interval=float(
                    section.get("ciba_max_interval", messages.CIBA_MAX_INTERVAL)
                ),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"invalid [psc] setting: {exc}") from exc


def _path(value: Any, base_dir: Path | None) -> Path:
    path = Path(str(value)).expanduser()
    return base_dir / path if not path.is_absolute() and base_dir is not None else path


class AccessTokenSource(Protocol):
    """Anything that hands out a currently valid access token (e.g. for SASL XOAUTH2)."""

    def access_token(self) -> str: ...


@dataclass(slots=True)
class _Cached:
    value: Any
    fetched_at: float


class PscClient:
    """Pro Santé Connect relying party: login, id_token checks, userinfo, CIBA, exchange.

    Thread-safe: one instance can serve a whole web back end (the caches are locked).
    ``clock`` and ``sleep`` are injectable so CIBA polling can be tested without waiting.
    """

    def __init__(
        self,
        settings: PscSettings,
        *,
        session: requests.Session | None = None,
        timeouts: Timeouts | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        log: ExchangeLog | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.settings = settings
        self._own_session = session is None
        self._session = session or build_session(settings.tls, timeouts, limits=limits)
        self._clock = clock
        self._sleep = sleep
        self._log = log or ExchangeLog()
        self._lock = threading.Lock()
        self._metadata: _Cached | None = None
        self._jwks: _Cached | None = None
        self._private_key: RSAKey | ECKey | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> Self:
        """A client for the ``[psc]`` table of ``settings`` (timeouts from ``[timeouts]``)."""
        kwargs.setdefault("timeouts", settings.timeouts)
        kwargs.setdefault("limits", settings.limits)
        return cls(PscSettings.from_settings(settings), **kwargs)

    def close(self) -> None:
        if self._own_session:
            self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- HTTP --------------------------------------------------------------------------

    def _send(
        self,
        operation: str,
        method: str,
        url: str,
        *,
        body: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        if not url:
            raise OidcError(f"the provider has no endpoint for {operation}", error="unsupported")
        with self._log.exchange("psc", operation, url=url) as record, request_errors(url):
            response = self._session.request(method, url, data=body, headers=dict(headers or {}))
            record.http_status = response.status_code
            return response

    def _json(self, operation: str, response: requests.Response) -> Any:
        """The JSON of an answer; OAuth errors become :class:`OidcError`."""
        try:
            payload = response.json()
        except (ValueError, RecursionError):  # RecursionError: absurdly nested JSON
            payload = None
        if response.status_code >= 400:
            error = messages.provider_error(payload, status=response.status_code)
            if error is not None and response.status_code < 500:
                raise error
            raise HttpStatusError(
                f"{operation}: HTTP {response.status_code} from {response.url}",
                status=response.status_code,
                url=response.url,
                body_excerpt=response.text[:200],
            )
        if payload is None:
            raise MalformedResponse(f"{operation}: the answer is not JSON", url=response.url)
        return payload

    def _post_authenticated(
        self, operation: str, url: str, body: str, *, accept_empty: bool = False
    ) -> Any:
        headers, body = messages.apply_client_auth(
            self.settings.auth_method,
            client_id=self.settings.client_id,
            endpoint=url,
            body=body,
            client_secret=self.settings.client_secret,
            private_key=self._load_private_key(),
        )
        response = self._send(operation, "POST", url, body=body, headers=headers)
        if accept_empty and response.status_code in (200, 204) and not response.content:
            return None
        return self._json(operation, response)

    def _load_private_key(self) -> RSAKey | ECKey | None:
        if self.settings.auth_method != "private_key_jwt" or self.settings.private_key is None:
            return None
        if self._private_key is None:
            try:
                pem = self.settings.private_key.read_bytes()
            except OSError as exc:
                raise ConfigurationError(f"cannot read psc.private_key: {exc}") from exc
            for key_type in (RSAKey, ECKey):
                try:
                    self._private_key = key_type.import_key(pem)
                    break
                except (JoseError, ValueError, TypeError):
                    continue
            else:
                raise ConfigurationError("psc.private_key is not an RSA or EC private key (PEM)")
        return self._private_key

    # -- discovery and keys ------------------------------------------------------------

    def metadata(self, *, refresh: bool = False) -> ProviderMetadata:
        """The provider metadata, from the cache or its discovery document.

        PSC's ``/.well-known/wallet-openid-configuration`` is tried first; a 404 there
        falls back to the standard ``/.well-known/openid-configuration``.
        """
        with self._lock:
            cached = self._metadata
            if (
                cached is not None
                and not refresh
                and self._clock() - cached.fetched_at < self.settings.cache_seconds
            ):
                return cast(ProviderMetadata, cached.value)
        document: Any = None
        urls = messages.discovery_urls(self.settings.issuer)
        for index, url in enumerate(urls):
            response = self._send("discovery", "GET", url)
            if response.status_code == 404 and index + 1 < len(urls):
                continue
            document = self._json("discovery", response)
            break
        metadata = messages.parse_discovery(document, expected_issuer=self.settings.issuer)
        with self._lock:
            self._metadata = _Cached(metadata, self._clock())
        return metadata

    def _fetch_jwks(self) -> KeySet:
        payload = self._json("jwks", self._send("jwks", "GET", self.metadata().jwks_uri))
        if not isinstance(payload, Mapping) or not isinstance(payload.get("keys"), list):
            raise MalformedResponse("the JWKS has no 'keys' array")
        keys = []
        for jwk in payload["keys"]:
            # Keycloak also publishes encryption keys (use=enc); only signing keys verify.
            if not isinstance(jwk, Mapping) or jwk.get("use", "sig") != "sig":
                continue
            try:
                keys.append(KeySet.import_key_set({"keys": [dict(jwk)]}).keys[0])
            except (JoseError, ValueError, TypeError, KeyError):
                logger.warning("skipping an unusable JWK (kid %r)", jwk.get("kid"))
        key_set = KeySet(keys)
        with self._lock:
            self._jwks = _Cached(key_set, self._clock())
        return key_set

    def _key_set(self) -> tuple[KeySet, bool]:
        """The cached key set (and False), or a freshly fetched one (and True)."""
        with self._lock:
            cached = self._jwks
        if cached is not None and self._clock() - cached.fetched_at < self.settings.cache_seconds:
            return cast(KeySet, cached.value), False
        return self._fetch_jwks(), True

    def _with_keys(self, check: Callable[[KeySet], Any]) -> Any:
        """Run ``check`` with the cached keys; on an unknown kid re-fetch the JWKS once."""
        keys, fresh = self._key_set()
        try:
            return check(keys)
        except OidcError as exc:
            if exc.error != Rejection.UNKNOWN_KID or fresh:
                raise
        logger.info("psc: unknown kid, re-fetching the provider keys once")
        return check(self._fetch_jwks())

    def validate_id_token(
        self,
        id_token: str,
        *,
        nonce: str | None,
        access_token: Secret | None = None,
        max_age: int | None = None,
    ) -> IdTokenClaims:
        """Check an id_token against the provider keys (see :func:`messages.validate_id_token`).

        Only the signature algorithms the provider publishes (and the client's registered
        one, if configured) are accepted.
        """
        metadata = self.metadata()
        issuer = metadata.issuer
        algorithms = messages.accepted_algorithms(
            metadata.id_token_signing_algs, self.settings.id_token_signed_response_alg
        )

        def check(keys: KeySet) -> IdTokenClaims:
            return messages.validate_id_token(
                id_token,
                keys=keys,
                issuer=issuer,
                client_id=self.settings.client_id,
                nonce=nonce,
                access_token=access_token,
                client_secret=self.settings.client_secret,
                accepted_acr=self.settings.accepted_acr,
                leeway=self.settings.leeway,
                now=lambda: int(self._clock()),
                algorithms=algorithms,
                max_age=max_age,
            )

        return cast(IdTokenClaims, self._with_keys(check))

    # -- authorization code flow -------------------------------------------------------

    def authorization_request(
        self,
        *,
        redirect_uri: str | None = None,
        extra: Mapping[str, str] | None = None,
        max_age: int | None = None,
    ) -> AuthorizationRequest:
        """A new login (state, nonce, PKCE S256) and the URL to send the browser to.

        ``extra`` adds parameters (e.g. ``login_hint``); it cannot replace the ones this
        method sets (:class:`~segurlink.errors.InputError`). ``max_age`` (seconds) asks
        for a recent authentication, checked on the id_token's ``auth_time``.
        """
        redirect = redirect_uri or self.settings.redirect_uri
        if not redirect:
            raise ConfigurationError("psc.redirect_uri is not set")
        return messages.new_authorization_request(
            self.metadata(),
            client_id=self.settings.client_id,
            redirect_uri=redirect,
            scope=self.settings.scope,
            acr_values=self.settings.acr_values,
            extra=extra,
            max_age=max_age,
        )

    def exchange_code(self, code: str, request: AuthorizationRequest) -> TokenSet:
        """Exchange an authorization code for tokens (client authentication per settings)."""
        metadata = self.metadata()
        payload = self._post_authenticated(
            "token", self._token_endpoint(metadata), messages.authorization_code_body(code, request)
        )
        return messages.parse_token_response(payload, now=self._clock())

    def finish_login(
        self,
        callback: str | Mapping[str, str],
        request: AuthorizationRequest,
        *,
        fetch_userinfo: bool = True,
    ) -> PscLogin:
        """Complete a login from its callback: checks, code exchange, id_token, userinfo."""
        metadata = self.metadata()
        code = messages.parse_callback(
            callback,
            request,
            issuer=metadata.issuer,
            iss_required=metadata.iss_parameter_supported,
        )
        tokens = self.exchange_code(code, request)
        if not tokens.id_token:
            raise OidcError("the token answer has no id_token", error=Rejection.MISSING_CLAIM)
        claims = self.validate_id_token(
            tokens.id_token,
            nonce=request.nonce,
            access_token=tokens.access_token,
            max_age=request.max_age,
        )
        identity = self.userinfo(tokens) if fetch_userinfo else None
        if identity is not None and identity.subject and identity.subject != claims.subject:
            raise OidcError("userinfo sub differs from the id_token sub", error="sub_mismatch")
        return PscLogin(tokens=tokens, claims=claims, identity=identity)

    def refresh(self, tokens: TokenSet) -> TokenSet:
        """New tokens from the refresh token (the old refresh token is kept if none is sent)."""
        if tokens.refresh_token is None:
            raise OidcError("no refresh token: log in again", error=Rejection.SESSION_EXPIRED)
        payload = self._post_authenticated(
            "refresh",
            self._token_endpoint(self.metadata()),
            messages.refresh_body(tokens.refresh_token),
        )
        new = messages.parse_token_response(payload, now=self._clock())
        if new.id_token:
            self.validate_id_token(new.id_token, nonce=None, access_token=new.access_token)
        if new.refresh_token is None:
            new = replace(
                new,
                refresh_token=tokens.refresh_token,
                refresh_expires_at=tokens.refresh_expires_at,
            )
        return new

    def _token_endpoint(self, metadata: ProviderMetadata) -> str:
        # With a client certificate, Keycloak wants the mTLS alias (certificate-bound tokens).
        if self.settings.auth_method == "tls_client_auth":
            return metadata.mtls_endpoint("token_endpoint")
        return metadata.token_endpoint

    # -- userinfo, introspection, logout -----------------------------------------------

    def userinfo(self, tokens: TokenSet | Secret) -> ProfessionalIdentity:
        """The professional identity from the UserInfo endpoint (JSON or signed JWT)."""
        access = tokens.access_token if isinstance(tokens, TokenSet) else tokens
        metadata = self.metadata()
        response = self._send(
            "userinfo",
            "GET",
            metadata.userinfo_endpoint,
            headers={"Authorization": f"Bearer {access.reveal()}", "Accept": "application/json"},
        )
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if response.status_code < 400 and content_type == "application/jwt":

            def check(keys: KeySet) -> dict[str, Any]:
                return messages.verify_signed_userinfo(
                    response.text.strip(),
                    keys=keys,
                    issuer=metadata.issuer,
                    client_id=self.settings.client_id,
                    client_secret=self.settings.client_secret,
                    algorithms=[a for a in _ID_TOKEN_ALGS if a in metadata.userinfo_signing_algs]
                    if metadata.userinfo_signing_algs
                    else _ID_TOKEN_ALGS,
                )

            return messages.parse_userinfo(self._with_keys(check))
        if response.status_code == 401:
            raise OidcError(
                "the access token was refused by userinfo",
                error=_www_authenticate_error(response) or "invalid_token",
            )
        if response.status_code >= 400:
            self._json("userinfo", response)
        try:
            return messages.parse_userinfo(response.content)
        except MalformedResponse as exc:
            raise MalformedResponse(exc.message, url=response.url) from exc

    def introspect(self, token: Secret | TokenSet, *, hint: str = "access_token") -> Introspection:
        """RFC 7662 introspection of an access (or refresh) token."""
        secret = token.access_token if isinstance(token, TokenSet) else token
        payload = self._post_authenticated(
            "introspect",
            self.metadata().introspection_endpoint,
            messages.introspection_body(secret, hint),
        )
        return messages.parse_introspection(payload)

    def logout_url(
        self,
        tokens: TokenSet,
        *,
        post_logout_redirect_uri: str | None = None,
        state: str | None = None,
    ) -> str:
        """The URL ending the professional's PSC session (browser redirect, explicit logout)."""
        return messages.end_session_url(
            self.metadata(),
            id_token_hint=tokens.id_token,
            post_logout_redirect_uri=post_logout_redirect_uri,
            state=state,
        )

    def logout(self, tokens: TokenSet) -> None:
        """End the session from the back end (Keycloak: POST refresh_token to logout)."""
        if tokens.refresh_token is None:
            raise OidcError(
                "no refresh token to end the session with", error=Rejection.SESSION_EXPIRED
            )
        body = urlencode({"refresh_token": tokens.refresh_token.reveal()})
        self._post_authenticated(
            "logout", self.metadata().end_session_endpoint, body, accept_empty=True
        )

    # -- CIBA ----------------------------------------------------------------------------

    def start_ciba(
        self, login_hint: str, *, binding_message: str = "", channel: str = ""
    ) -> CibaRequest:
        """Start a backchannel authentication; the professional approves on e-CPS or card."""
        try:
            body = messages.ciba_auth_body(
                login_hint=login_hint,
                binding_message=binding_message,
                channel=channel,
                scope=self.settings.scope,
                acr_values=self.settings.acr_values,
            )
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from exc
        payload = self._post_authenticated(
            "ciba", self.metadata().backchannel_authentication_endpoint, body
        )
        return messages.parse_ciba_start(
            payload,
            now=self._clock(),
            max_expires_in=self.settings.ciba_max_expires_in,
            max_interval=self.settings.ciba_max_interval,
        )

    def poll_ciba(self, request: CibaRequest) -> TokenSet:
        """Poll until the professional decides, honouring ``interval`` and ``slow_down``.

        The wait is bounded by the settings whatever the provider says: the request dies
        ``ciba_max_expires_in`` seconds after it started at most, and no wait between
        polls exceeds ``ciba_max_interval``. Raises :class:`OidcError` ``expired_token``
        once the request expires, or the provider's error (``access_denied``...).
        """
        maximum = self.settings.ciba_max_interval
        # A provider announcing interval 0 (or none) must not make us hammer its token
        # endpoint until the request expires: poll at most once a second.
        interval = min(max(request.interval, MIN_CIBA_INTERVAL), maximum)
        token_endpoint = self._token_endpoint(self.metadata())
        while True:
            remaining = request.expires_at - self._clock()
            if remaining <= 0:
                raise OidcError(
                    "the CIBA request expired before the professional approved it",
                    error=Rejection.CIBA_EXPIRED,
                )
            self._sleep(min(interval, remaining))
            try:
                payload = self._post_authenticated(
                    "ciba-poll", token_endpoint, messages.ciba_poll_body(request)
                )
            except OidcError as exc:
                if exc.error in ("authorization_pending", "slow_down"):
                    interval = max(
                        messages.next_poll_interval(interval, exc.error, maximum=maximum),
                        MIN_CIBA_INTERVAL,
                    )
                    continue
                raise
            tokens = messages.parse_token_response(payload, now=self._clock())
            if tokens.id_token:
                self.validate_id_token(
                    tokens.id_token, nonce=None, access_token=tokens.access_token
                )
            return tokens

    def ciba_login(
        self, login_hint: str, *, binding_message: str = "", channel: str = ""
    ) -> PscLogin:
        """Start CIBA, poll it, check the id_token and fetch the professional identity."""
        request = self.start_ciba(login_hint, binding_message=binding_message, channel=channel)
        tokens = self.poll_ciba(request)
        if not tokens.id_token:
            raise OidcError("the CIBA answer has no id_token", error=Rejection.MISSING_CLAIM)
        claims = self.validate_id_token(
            tokens.id_token, nonce=None, access_token=tokens.access_token
        )
        return PscLogin(tokens=tokens, claims=claims, identity=self.userinfo(tokens))

    # -- token exchange ------------------------------------------------------------------

    def exchange_token(
        self,
        subject_token: Secret | TokenSet,
        *,
        audience: str | None = None,
        resource: str | None = None,
        scope: str | None = None,
    ) -> TokenSet:
        """RFC 8693: trade a PSC access token for one towards a PSC-protected API, over mTLS."""
        if not self.settings.tls.has_client_identity:
            raise ConfigurationError(
                "token exchange needs the structure's certificate (psc.cert/psc.key or [tls])"
            )
        secret = (
            subject_token.access_token if isinstance(subject_token, TokenSet) else subject_token
        )
        endpoint = self.settings.token_exchange_endpoint or self.metadata().mtls_endpoint(
            "token_endpoint"
        )
        payload = self._post_authenticated(
            "token-exchange",
            endpoint,
            messages.token_exchange_body(secret, audience=audience, resource=resource, scope=scope),
        )
        return messages.parse_token_response(payload, now=self._clock())

    def token_provider(self, tokens: TokenSet, *, margin: float = 15.0) -> PscTokenProvider:
        """A :class:`PscTokenProvider` keeping ``tokens`` fresh for other services."""
        return PscTokenProvider(self, tokens, margin=margin)


def _www_authenticate_error(response: requests.Response) -> str:
    header = response.headers.get("WWW-Authenticate", "")
    marker = 'error="'
    start = header.find(marker)
    if start < 0:
        return ""
    end = header.find('"', start + len(marker))
    return header[start + len(marker) : end] if end > 0 else ""


class PscTokenProvider:
    """Hands a currently valid PSC access token to other services, refreshing as needed.

    The MSSanté SASL XOAUTH2/OAUTHBEARER login and RFC 8693 exchanges take it as an
    :class:`AccessTokenSource`. When the refresh token has expired too, it raises
    :class:`OidcError` ``session_expired``: the professional must log in again.

    >>> provider = client.token_provider(login.tokens)          # doctest: +SKIP
    >>> imap.authenticate("XOAUTH2", lambda _: sasl(provider.access_token()))  # doctest: +SKIP
    """

    def __init__(self, client: PscClient, tokens: TokenSet, *, margin: float = 15.0) -> None:
        self._client = client
        self._tokens = tokens
        self._margin = margin
        self._lock = threading.Lock()

    @property
    def tokens(self) -> TokenSet:
        """The current token set (after any refresh)."""
        return self._tokens

    def access_token(self) -> str:
        """A valid access token, refreshed when it expires within the margin."""
        with self._lock:
            now = self._client._clock()
            if self._tokens.access_token_expired(now=now, margin=self._margin):
                if not self._tokens.refresh_token_usable(now=now):
                    raise OidcError(
                        "the PSC session has expired: the professional must log in again",
                        error=Rejection.SESSION_EXPIRED,
                    )
                self._tokens = self._client.refresh(self._tokens)
            return self._tokens.access_token.reveal()

    def __repr__(self) -> str:
        return f"PscTokenProvider(expires_at={self._tokens.expires_at})"


def tokens_to_json(tokens: TokenSet) -> str:
    """Serialise tokens for a private file (used by the CLI; contains secrets)."""
    return json.dumps(
        {
            "access_token": tokens.access_token.reveal(),
            "token_type": tokens.token_type,
            "id_token": tokens.id_token,
            "refresh_token": tokens.refresh_token.reveal() if tokens.refresh_token else None,
            "expires_at": tokens.expires_at,
            "refresh_expires_at": tokens.refresh_expires_at,
            "scope": tokens.scope,
        }
    )


def tokens_from_json(text: str) -> TokenSet:
    """The inverse of :func:`tokens_to_json`."""
    try:
        data = json.loads(text)
        refresh = data.get("refresh_token")
        return TokenSet(
            access_token=Secret(str(data["access_token"])),
            token_type=str(data.get("token_type") or "Bearer"),
            id_token=str(data.get("id_token") or ""),
            refresh_token=Secret(refresh) if refresh else None,
            expires_at=data.get("expires_at"),
            refresh_expires_at=data.get("refresh_expires_at"),
            scope=str(data.get("scope") or ""),
        )
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise ConfigurationError(f"not a segurlink token file: {exc}") from exc
