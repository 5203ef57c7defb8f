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
from dataclasses import dataclass, replace
from typing import Any, Self, cast
from urllib.parse import urlencode

import requests
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey

from .._audit import ExchangeLog
from .._clock import Clock, Sleep
from .._flow import drive
from .._oauth import AccessTokenSource, bearer_error
from .._transport import EXCERPT_CHARS, Answer, HttpClient, HttpTransport
from ..config import Secret, Settings
from ..errors import (
    ConfigurationError,
    HttpStatusError,
    InputError,
    MalformedResponse,
    OidcError,
)
from . import messages
from .flows import Poll, Wait, ciba_polling
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
from .settings import MIN_CIBA_INTERVAL, PscSettings

__all__ = [
    "MIN_CIBA_INTERVAL",
    "AccessTokenSource",
    "PscClient",
    "PscSettings",
    "PscTokenProvider",
    "tokens_from_json",
    "tokens_to_json",
]

_ID_TOKEN_ALGS = messages.ASYMMETRIC_ALGS + messages.HMAC_ALGS

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class _Cached:
    value: Any
    fetched_at: float


class PscClient(HttpClient):
    """Pro Santé Connect relying party: login, id_token checks, userinfo, CIBA, exchange.

    Thread-safe: one instance can serve a whole web back end (the caches are locked).
    ``clock`` and ``sleep`` are injectable so CIBA polling can be tested without waiting.
    """

    def __init__(
        self,
        settings: PscSettings,
        *,
        session: requests.Session | None = None,
        log: ExchangeLog | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        self.settings = settings
        self._transport = HttpTransport.for_service(
            "psc", "Pro Santé Connect", settings, session=session, log=log
        )
        self._clock = clock or time.time
        self._sleep = sleep or time.sleep
        self._lock = threading.Lock()
        self._metadata: _Cached | None = None
        self._jwks: _Cached | None = None
        self._private_key: RSAKey | ECKey | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        session: requests.Session | None = None,
        log: ExchangeLog | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
    ) -> Self:
        """A client for the ``[psc]`` table of ``settings`` (timeouts from ``[timeouts]``)."""
        return cls(
            PscSettings.from_settings(settings), session=session, log=log, clock=clock, sleep=sleep
        )

    # -- HTTP --------------------------------------------------------------------------

    def _send(
        self,
        operation: str,
        method: str,
        url: str,
        *,
        body: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        if not url:
            raise OidcError(f"the provider has no endpoint for {operation}", error="unsupported")
        return self._transport.send(
            operation,
            method,
            url,
            content=body.encode() if body is not None else None,
            headers=headers,
        )

    def _json(self, operation: str, answer: Answer) -> Any:
        """The JSON of an answer; OAuth errors become :class:`OidcError`."""
        payload = answer.json()
        if answer.status >= 400:
            error = messages.provider_error(payload, status=answer.status)
            if error is not None and answer.status < 500:
                raise error
            raise HttpStatusError(
                f"{operation}: HTTP {answer.status} from {answer.url}",
                status=answer.status,
                url=answer.url,
                body_excerpt=answer.text[:EXCERPT_CHARS],
            )
        if payload is None:
            raise MalformedResponse(f"{operation}: the answer is not JSON", url=answer.url)
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
        answer = self._send(operation, "POST", url, body=body, headers=headers)
        if accept_empty and answer.status in (200, 204) and not answer.content:
            return None
        return self._json(operation, answer)

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
            answer = self._send("discovery", "GET", url)
            if answer.status == 404 and index + 1 < len(urls):
                continue
            document = self._json("discovery", answer)
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
        answer = self._send(
            "userinfo",
            "GET",
            metadata.userinfo_endpoint,
            headers={"Authorization": f"Bearer {access.reveal()}", "Accept": "application/json"},
        )
        if answer.status < 400 and answer.media_type == "application/jwt":

            def check(keys: KeySet) -> dict[str, Any]:
                return messages.verify_signed_userinfo(
                    answer.text.strip(),
                    keys=keys,
                    issuer=metadata.issuer,
                    client_id=self.settings.client_id,
                    client_secret=self.settings.client_secret,
                    algorithms=[a for a in _ID_TOKEN_ALGS if a in metadata.userinfo_signing_algs]
                    if metadata.userinfo_signing_algs
                    else _ID_TOKEN_ALGS,
                )

            return messages.parse_userinfo(self._with_keys(check))
        if answer.status == 401:
            raise OidcError(
                "the access token was refused by userinfo",
                error=bearer_error(answer.headers) or "invalid_token",
            )
        if answer.status >= 400:
            self._json("userinfo", answer)
        try:
            return messages.parse_userinfo(answer.content)
        except MalformedResponse as exc:
            raise MalformedResponse(exc.message, url=answer.url) from exc

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
        except InputError as exc:
            raise ConfigurationError(exc.message) from exc
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
        token_endpoint = self._token_endpoint(self.metadata())

        def perform(step: Wait | Poll) -> object:
            if isinstance(step, Wait):
                self._sleep(step.seconds)
                return None
            return self._post_authenticated(
                "ciba-poll", token_endpoint, messages.ciba_poll_body(request)
            )

        payload = drive(
            ciba_polling(request, maximum=self.settings.ciba_max_interval, clock=self._clock),
            perform,
        )
        tokens = messages.parse_token_response(payload, now=self._clock())
        if tokens.id_token:
            self.validate_id_token(tokens.id_token, nonce=None, access_token=tokens.access_token)
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
