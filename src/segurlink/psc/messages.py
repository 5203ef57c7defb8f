"""Pure Pro Santé Connect messages: URLs, request bodies, token and claim checks, parsing.

No socket here: the functions build what the client sends and check what it receives,
with authlib (authorization URL, PKCE, token request bodies, client authentication) and
joserfc (JWS/JWT decoding and claims registry). :mod:`segurlink.psc.client` moves bytes.

Every local refusal raises :class:`~segurlink.errors.OidcError` whose ``error`` is a
:class:`~segurlink.psc.models.Rejection` value; an error sent by the provider keeps the
provider's own ``error`` (``invalid_grant``, ``authorization_pending``...).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlencode, urlsplit

from authlib.common.security import generate_token
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core.util import create_half_hash
from joserfc import jws, jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import ECKey, KeySet, OctKey, RSAKey

from .._oauth import oauth_error
from ..config import Secret
from ..errors import ConfigurationError, InputError, MalformedResponse, OidcError
from .models import (
    AuthorizationRequest,
    CibaRequest,
    IdTokenClaims,
    Introspection,
    OtherId,
    ProfessionalIdentity,
    ProviderMetadata,
    PscActivity,
    PscAddress,
    PscExercice,
    Rejection,
    TokenSet,
)

__all__ = [
    "ACCEPTED_ACR",
    "ASYMMETRIC_ALGS",
    "CIBA_GRANT",
    "CIBA_MAX_EXPIRES_IN",
    "CIBA_MAX_INTERVAL",
    "DEFAULT_ACR",
    "DEFAULT_SCOPE",
    "DISCOVERY_PATHS",
    "HMAC_ALGS",
    "PRESETS",
    "TOKEN_EXCHANGE_GRANT",
    "TOKEN_TYPE_ACCESS",
    "accepted_algorithms",
    "apply_client_auth",
    "authorization_code_body",
    "ciba_auth_body",
    "ciba_poll_body",
    "discovery_urls",
    "end_session_url",
    "introspection_body",
    "new_authorization_request",
    "next_poll_interval",
    "parse_callback",
    "parse_ciba_start",
    "parse_discovery",
    "parse_introspection",
    "parse_token_response",
    "parse_userinfo",
    "peek_header",
    "provider_error",
    "refresh_body",
    "token_exchange_body",
    "validate_id_token",
    "verify_signed_userinfo",
]

#: Named issuers (``[psc] issuer = "sandbox"``), from the PSC integrator documentation.
PRESETS: Mapping[str, str] = {
    "sandbox": "https://auth.bas.psc.esante.gouv.fr/auth/realms/esante-wallet",
    "production": "https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet",
}
#: PSC publishes its metadata at a non-standard path first; the standard one is the fallback.
DISCOVERY_PATHS = (
    "/.well-known/wallet-openid-configuration",
    "/.well-known/openid-configuration",
)
DEFAULT_SCOPE = "openid scope_all"
DEFAULT_ACR = "eidas1"
#: What comes back differs by login means and over time: e-CPS gives ``eidas1``, ``eidas2``
#: is documented, and real CPS card logins carry ``eidas3`` (``authMode: CARD``, the
#: introspection samples of specs/psc.md). All are at least "substantial"; requiring
#: exactly eidas1 would refuse card users.
ACCEPTED_ACR = ("eidas1", "eidas2", "eidas3")
CIBA_GRANT = "urn:openid:params:grant-type:ciba"
TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105 - a URN
TOKEN_TYPE_ACCESS = "urn:ietf:params:oauth:token-type:access_token"  # noqa: S105 - a URN
ASYMMETRIC_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
HMAC_ALGS = ("HS256", "HS384", "HS512")
#: CIBA: a ``slow_down`` answer adds this many seconds to the polling interval (CIBA §11).
SLOW_DOWN_STEP = 5.0
#: CIBA caps in seconds (PSC announces ``expires_in`` 120 and ``interval`` 1): a provider
#: announcing more is held to these, so a hostile or broken one cannot keep a caller
#: polling for hours. ``[psc] ciba_max_expires_in`` / ``ciba_max_interval`` change them.
CIBA_MAX_EXPIRES_IN = 300.0
CIBA_MAX_INTERVAL = 30.0
#: Clock skew tolerated on a token's ``exp``/``iat``/``nbf``/``auth_time`` (seconds).
DEFAULT_LEEWAY = 30


def _reject(rejection: Rejection, description: str) -> OidcError:
    return OidcError(
        f"{description} ({rejection.value})", error=rejection.value, description=description
    )


# -- discovery --------------------------------------------------------------------------


def discovery_urls(issuer: str) -> tuple[str, ...]:
    """The discovery URLs to try, PSC's own path first.

    >>> discovery_urls("https://idp/auth/realms/r")[0]
    'https://idp/auth/realms/r/.well-known/wallet-openid-configuration'
    """
    base = issuer.rstrip("/")
    return tuple(base + path for path in DISCOVERY_PATHS)


def _str_tuple(value: Any) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return ()


def parse_discovery(document: Mapping[str, Any], *, expected_issuer: str) -> ProviderMetadata:
    """Provider metadata from a discovery document, whose ``issuer`` must be ours.

    OpenID Connect Discovery §4.3: a document naming another issuer is refused, otherwise
    a tampered document could redirect every check to a foreign key set.
    """
    if not isinstance(document, Mapping):
        raise MalformedResponse("the discovery document is not a JSON object")
    issuer = document.get("issuer")
    if issuer != expected_issuer:
        raise _reject(
            Rejection.DISCOVERY_ISSUER_MISMATCH,
            f"discovery document names issuer {issuer!r}, expected {expected_issuer!r}",
        )
    missing = [
        k for k in ("authorization_endpoint", "token_endpoint", "jwks_uri") if not document.get(k)
    ]
    if missing:
        raise MalformedResponse(f"the discovery document lacks {', '.join(missing)}")
    aliases = document.get("mtls_endpoint_aliases")

    def text(key: str) -> str:
        value = document.get(key)
        return value if isinstance(value, str) else ""

    return ProviderMetadata(
        issuer=str(issuer),
        authorization_endpoint=text("authorization_endpoint"),
        token_endpoint=text("token_endpoint"),
        jwks_uri=text("jwks_uri"),
        userinfo_endpoint=text("userinfo_endpoint"),
        introspection_endpoint=text("introspection_endpoint"),
        end_session_endpoint=text("end_session_endpoint"),
        revocation_endpoint=text("revocation_endpoint"),
        backchannel_authentication_endpoint=text("backchannel_authentication_endpoint"),
        code_challenge_methods=_str_tuple(document.get("code_challenge_methods_supported")),
        token_endpoint_auth_methods=_str_tuple(
            document.get("token_endpoint_auth_methods_supported")
        ),
        id_token_signing_algs=_str_tuple(document.get("id_token_signing_alg_values_supported")),
        userinfo_signing_algs=_str_tuple(document.get("userinfo_signing_alg_values_supported")),
        iss_parameter_supported=document.get("authorization_response_iss_parameter_supported")
        is True,
        mtls_endpoint_aliases={str(k): str(v) for k, v in aliases.items() if isinstance(v, str)}
        if isinstance(aliases, Mapping)
        else {},
        raw=document,
    )


# -- authorization code flow ------------------------------------------------------------


_AUTHORIZATION_OWN_PARAMS = frozenset(
    {
        "client_id",
        "response_type",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "acr_values",
        "code_challenge",
        "code_challenge_method",
        "max_age",
    }
)


def new_authorization_request(
    metadata: ProviderMetadata,
    *,
    client_id: str,
    redirect_uri: str,
    scope: str = DEFAULT_SCOPE,
    acr_values: str = DEFAULT_ACR,
    state: str | None = None,
    nonce: str | None = None,
    code_verifier: str | None = None,
    extra: Mapping[str, str] | None = None,
    max_age: int | None = None,
) -> AuthorizationRequest:
    """A new login: random state, nonce and PKCE verifier, and the URL for the browser.

    PKCE is always S256 (PSC also advertises ``plain``, which protects nothing). ``extra``
    adds parameters but cannot replace the ones set here (:class:`InputError`).
    ``max_age`` (seconds) asks for a recent authentication; the id_token's ``auth_time``
    is then required and checked against it.

    >>> md = ProviderMetadata("https://idp", "https://idp/auth", "https://idp/token", "https://idp/certs")
    >>> req = new_authorization_request(md, client_id="dui", redirect_uri="https://dui/cb")
    >>> "code_challenge_method=S256" in req.url and "acr_values=eidas1" in req.url
    True
    """
    reserved = set(extra or ()) & _AUTHORIZATION_OWN_PARAMS
    if reserved:
        # The returned request must match the URL: these come from the arguments only.
        raise InputError(f"extra cannot set {', '.join(sorted(reserved))}")
    state = state or generate_token(32)
    nonce = nonce or generate_token(32)
    code_verifier = code_verifier or generate_token(64)
    params: dict[str, str] = {
        "nonce": nonce,
        "acr_values": acr_values,
        "code_challenge": create_s256_code_challenge(code_verifier),
        "code_challenge_method": "S256",
    }
    if max_age is not None:
        if isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0:
            raise InputError(f"max_age must be a number of seconds >= 0, not {max_age!r}")
        params["max_age"] = str(max_age)
    if extra:
        params.update(extra)
    url = prepare_grant_uri(
        metadata.authorization_endpoint,
        client_id=client_id,
        response_type="code",
        redirect_uri=redirect_uri,
        scope=scope,
        state=state,
        **params,
    )
    return AuthorizationRequest(
        url=str(url),
        state=state,
        nonce=nonce,
        code_verifier=Secret(code_verifier),
        redirect_uri=redirect_uri,
        max_age=max_age,
    )


def parse_callback(
    callback: str | Mapping[str, str],
    request: AuthorizationRequest,
    *,
    issuer: str,
    iss_required: bool = False,
) -> str:
    """The authorization code of a callback, after the ``state`` and ``iss`` checks.

    ``callback`` is the full callback URL, its query string, or the query parameters.
    An ``error`` answer (e.g. the professional refused) raises with the provider's error.
    ``iss`` (RFC 9207) must equal the issuer when present, and be present when
    ``iss_required`` (the provider advertises ``authorization_response_iss_parameter_supported``).
    """
    if isinstance(callback, Mapping):
        params = {str(k): str(v) for k, v in callback.items()}
    else:
        query = urlsplit(callback).query if "?" in callback or "://" in callback else callback
        params = dict(parse_qsl(query.lstrip("?"), keep_blank_values=True))
    if params.get("state") != request.state:
        raise _reject(Rejection.STATE_MISMATCH, "the callback state does not match the login")
    iss = params.get("iss")
    if iss is not None and iss != issuer:
        raise _reject(Rejection.ISS_MISMATCH, f"the callback comes from issuer {iss!r}")
    if iss is None and iss_required:
        raise _reject(Rejection.ISS_MISMATCH, "the callback lacks the iss parameter")
    if "error" in params:
        raise OidcError(
            f"login refused by the provider: {params['error']}",
            error=params["error"],
            description=params.get("error_description", ""),
        )
    code = params.get("code")
    if not code:
        raise _reject(Rejection.MISSING_CODE, "the callback carries no authorization code")
    return code


def authorization_code_body(code: str, request: AuthorizationRequest) -> str:
    """Form body exchanging ``code`` (with the PKCE verifier) at the token endpoint."""
    return str(
        prepare_token_request(
            "authorization_code",
            code=code,
            redirect_uri=request.redirect_uri,
            code_verifier=request.code_verifier.reveal(),
        )
    )


def refresh_body(refresh_token: Secret, scope: str | None = None) -> str:
    """Form body of a refresh-token grant."""
    kwargs: dict[str, str] = {"refresh_token": refresh_token.reveal()}
    if scope:
        kwargs["scope"] = scope
    return str(prepare_token_request("refresh_token", **kwargs))


def ciba_auth_body(
    *,
    login_hint: str,
    binding_message: str = "",
    channel: str = "",
    scope: str = DEFAULT_SCOPE,
    acr_values: str = DEFAULT_ACR,
) -> str:
    """Form body starting a CIBA authentication of the professional ``login_hint``.

    ``channel`` is PSC's ``CARD`` or ``MOBILE``; ``binding_message`` is shown to the
    professional on the authentication device.
    """
    if channel and channel not in ("CARD", "MOBILE"):
        raise InputError(f"channel must be CARD or MOBILE, not {channel!r}")
    params = {"scope": scope, "acr_values": acr_values, "login_hint": login_hint}
    if binding_message:
        params["binding_message"] = binding_message
    if channel:
        params["channel"] = channel
    return urlencode(params)


def ciba_poll_body(request: CibaRequest) -> str:
    """Form body polling the token endpoint for a CIBA request."""
    return str(prepare_token_request(CIBA_GRANT, auth_req_id=request.auth_req_id))


def next_poll_interval(interval: float, error: str, *, maximum: float = CIBA_MAX_INTERVAL) -> float:
    """The interval to wait before the next CIBA poll after the provider's ``error``.

    ``slow_down`` adds :data:`SLOW_DOWN_STEP` seconds, never beyond ``maximum``.

    >>> next_poll_interval(1, "authorization_pending"), next_poll_interval(1, "slow_down")
    (1, 6.0)
    >>> next_poll_interval(28, "slow_down", maximum=30)
    30
    """
    return min(interval + SLOW_DOWN_STEP, maximum) if error == "slow_down" else interval


def token_exchange_body(
    subject_token: Secret,
    *,
    audience: str | None = None,
    resource: str | None = None,
    scope: str | None = None,
    requested_token_type: str | None = None,
) -> str:
    """Form body of an RFC 8693 token exchange of a PSC access token."""
    params: dict[str, str] = {
        "subject_token": subject_token.reveal(),
        "subject_token_type": TOKEN_TYPE_ACCESS,
    }
    for key, value in (
        ("audience", audience),
        ("resource", resource),
        ("scope", scope),
        ("requested_token_type", requested_token_type),
    ):
        if value:
            params[key] = value
    return str(prepare_token_request(TOKEN_EXCHANGE_GRANT, **params))


def introspection_body(token: Secret, token_type_hint: str = "access_token") -> str:  # noqa: S107
    """Form body of an RFC 7662 introspection request."""
    return urlencode({"token": token.reveal(), "token_type_hint": token_type_hint})


def end_session_url(
    metadata: ProviderMetadata,
    *,
    id_token_hint: str,
    post_logout_redirect_uri: str | None = None,
    state: str | None = None,
) -> str:
    """The RP-initiated logout URL to send the browser to (only on an explicit logout)."""
    if not metadata.end_session_endpoint:
        raise OidcError("the provider has no end_session_endpoint", error="unsupported")
    params = {"id_token_hint": id_token_hint}
    if post_logout_redirect_uri:
        params["post_logout_redirect_uri"] = post_logout_redirect_uri
    if state:
        params["state"] = state
    sep = "&" if "?" in metadata.end_session_endpoint else "?"
    return metadata.end_session_endpoint + sep + urlencode(params)


# -- client authentication --------------------------------------------------------------

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "tls_client_auth")


def _encode_client_secret_basic(
    client: ClientAuth, method: str, uri: str, headers: dict[str, str], body: str
) -> tuple[str, dict[str, str], str]:
    # RFC 6749 §2.3.1: id and secret are form-urlencoded before base64. authlib sends them
    # raw (latin-1), which a server decoding per the RFC reads wrong for "+", "%" or "&".
    text = f"{quote_plus(client.client_id)}:{quote_plus(client.client_secret)}"
    headers["Authorization"] = "Basic " + base64.b64encode(text.encode("utf-8")).decode("ascii")
    return uri, headers, body


def apply_client_auth(
    method: str,
    *,
    client_id: str,
    endpoint: str,
    body: str,
    client_secret: Secret | None = None,
    private_key: RSAKey | ECKey | None = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], str]:
    """Headers and body of a request to ``endpoint`` authenticated with ``method``.

    ``client_secret_basic``/``client_secret_post`` use the secret; ``private_key_jwt``
    signs a client assertion (RFC 7523) with ``private_key`` (RS256 or ES256 by key type);
    ``tls_client_auth`` only names the client, the certificate does the rest.
    """
    out_headers = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
    auth: ClientAuth
    if method in ("client_secret_basic", "client_secret_post"):
        if client_secret is None:
            raise OidcError(f"{method} needs a client_secret", error="invalid_client")
        encoder = _encode_client_secret_basic if method == "client_secret_basic" else method
        auth = ClientAuth(client_id, client_secret.reveal(), encoder)
    elif method == "private_key_jwt":
        if private_key is None:
            raise OidcError("private_key_jwt needs a private key", error="invalid_client")
        alg = "ES256" if isinstance(private_key, ECKey) else "RS256"
        auth = ClientAuth(client_id, private_key, PrivateKeyJWT(endpoint, alg=alg))
    elif method == "tls_client_auth":
        auth = ClientAuth(client_id, None, "none")
    else:
        raise OidcError(f"unsupported client authentication {method!r}", error="invalid_client")
    _, new_headers, new_body = auth.prepare("POST", endpoint, out_headers, body)
    return dict(new_headers), str(new_body)


# -- tokens ------------------------------------------------------------------------------


def provider_error(payload: Any, *, status: int) -> OidcError | None:
    """The :class:`OidcError` of an OAuth error answer, or ``None`` when it is not one
    (:func:`segurlink._oauth.oauth_error`: OAuth errors are read in one place)."""
    return oauth_error(payload, status=status)


def parse_token_response(payload: Any, *, now: float | None = None) -> TokenSet:
    """A :class:`TokenSet` from a successful token endpoint answer."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("access_token"), str):
        raise MalformedResponse("the token answer has no access_token")
    now = time.time() if now is None else now

    def lifetime(key: str) -> float | None:
        value = payload.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        # Keycloak sends refresh_expires_in 0 for offline tokens: no known expiry.
        return now + float(value) if value > 0 else None

    refresh = payload.get("refresh_token")
    id_token = payload.get("id_token")
    return TokenSet(
        access_token=Secret(payload["access_token"]),
        token_type=str(payload.get("token_type") or "Bearer"),
        id_token=id_token if isinstance(id_token, str) else "",
        refresh_token=Secret(refresh) if isinstance(refresh, str) and refresh else None,
        expires_at=lifetime("expires_in"),
        refresh_expires_at=lifetime("refresh_expires_in"),
        scope=str(payload.get("scope") or ""),
        issued_token_type=str(payload.get("issued_token_type") or ""),
    )


def parse_ciba_start(
    payload: Any,
    *,
    now: float | None = None,
    max_expires_in: float = CIBA_MAX_EXPIRES_IN,
    max_interval: float = CIBA_MAX_INTERVAL,
) -> CibaRequest:
    """A :class:`CibaRequest` from the backchannel authentication answer.

    The provider's ``expires_in`` and ``interval`` are capped at ``max_expires_in`` and
    ``max_interval`` seconds: the caller decides how long it may be kept waiting.

    >>> parse_ciba_start({"auth_req_id": "r", "expires_in": 86400, "interval": 600}, now=0)
    CibaRequest(expires_at=300.0, interval=30.0)
    """
    if not isinstance(payload, Mapping) or not isinstance(payload.get("auth_req_id"), str):
        raise MalformedResponse("the CIBA answer has no auth_req_id")
    expires_in = payload.get("expires_in")
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float) or expires_in <= 0:
        raise MalformedResponse("the CIBA answer has no positive expires_in")
    interval = payload.get("interval", 5)
    if isinstance(interval, bool) or not isinstance(interval, int | float) or interval < 0:
        interval = 5
    now = time.time() if now is None else now
    return CibaRequest(
        auth_req_id=payload["auth_req_id"],
        expires_at=now + min(float(expires_in), max_expires_in),
        interval=min(float(interval), max_interval),
    )


def parse_introspection(payload: Any) -> Introspection:
    """An :class:`Introspection` from an RFC 7662 answer."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("active"), bool):
        raise MalformedResponse("the introspection answer has no boolean 'active'")

    def number(key: str) -> int | None:
        value = payload.get(key)
        return (
            int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        )

    return Introspection(
        active=payload["active"],
        subject=str(payload.get("sub") or ""),
        national_id=str(payload.get("preferred_username") or ""),
        client_id=str(payload.get("client_id") or ""),
        scope=str(payload.get("scope") or ""),
        acr=str(payload.get("acr") or ""),
        expires_at=number("exp"),
        issued_at=number("iat"),
        claims=payload,
    )


# -- JWT checks --------------------------------------------------------------------------


def accepted_algorithms(provider_algs: Sequence[str] = (), registered: str = "") -> tuple[str, ...]:
    """The id_token signature algorithms to accept from this provider for this client.

    The ones segurlink verifies, narrowed to what the provider publishes
    (``id_token_signing_alg_values_supported``; absent: no narrowing) and to the client's
    registered ``id_token_signed_response_alg`` when one is configured. Without this, an
    HS256 token signed with the client secret would pass for a provider that only ever
    signs with RS256 (whoever knows the secret could forge logins).

    >>> accepted_algorithms(["RS256", "none"])
    ('RS256',)
    >>> accepted_algorithms(["RS256", "HS256"], registered="RS256")
    ('RS256',)
    """
    ours = ASYMMETRIC_ALGS + HMAC_ALGS
    accepted = tuple(a for a in ours if a in provider_algs) if provider_algs else ours
    if registered:
        if registered not in accepted:
            raise ConfigurationError(
                f"psc.id_token_signed_response_alg {registered!r} is not among the id_token "
                f"algorithms of the provider that segurlink verifies ({', '.join(accepted)})"
            )
        return (registered,)
    if not accepted:
        raise _reject(
            Rejection.UNSUPPORTED_ALG,
            f"the provider signs id_tokens with {', '.join(provider_algs)} only; "
            f"segurlink verifies {', '.join(ours)}",
        )
    return accepted


def peek_header(token: str) -> Mapping[str, Any]:
    """The protected header of a compact JWS, without verifying anything."""
    if token.count(".") == 4:
        raise _reject(
            Rejection.MALFORMED_TOKEN,
            "the token is encrypted (JWE); configure the provider to send signed tokens",
        )
    try:
        return jws.extract_compact(token.encode("ascii")).headers()
    except (JoseError, ValueError, UnicodeError) as exc:
        raise _reject(Rejection.MALFORMED_TOKEN, f"not a compact JWS: {exc}") from exc


def _verify_signature(
    token: str,
    *,
    keys: KeySet | None,
    client_secret: Secret | None,
    algorithms: Collection[str],
) -> tuple[Mapping[str, Any], dict[str, Any]]:
    header = peek_header(token)
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in algorithms:
        raise _reject(Rejection.UNSUPPORTED_ALG, f"signature algorithm {alg!r} is not accepted")
    key: OctKey | RSAKey | ECKey | Any
    if alg in HMAC_ALGS:
        if client_secret is None:
            raise _reject(Rejection.UNSUPPORTED_ALG, f"{alg} needs the client secret")
        key = OctKey.import_key(client_secret.reveal())
    else:
        if keys is None:
            raise _reject(Rejection.UNKNOWN_KID, "no key set to verify the token")
        kid = header.get("kid")
        try:
            key = keys.get_by_kid(kid if isinstance(kid, str) else None)
        except (InvalidKeyIdError, ValueError) as exc:
            raise _reject(Rejection.UNKNOWN_KID, f"no published key has kid {kid!r}") from exc
    try:
        decoded = jwt.decode(token, key, algorithms=[alg])
    except BadSignatureError as exc:
        raise _reject(Rejection.INVALID_SIGNATURE, "the token signature is invalid") from exc
    except (JoseError, ValueError, TypeError) as exc:
        raise _reject(Rejection.MALFORMED_TOKEN, f"the token cannot be decoded: {exc}") from exc
    if not isinstance(decoded.claims, dict):
        raise _reject(Rejection.MALFORMED_TOKEN, "the token payload is not a JSON object")
    return header, decoded.claims


_CLAIM_REJECTIONS = {
    "iss": Rejection.INVALID_ISSUER,
    "aud": Rejection.INVALID_AUDIENCE,
    "iat": Rejection.ISSUED_IN_FUTURE,
    "nbf": Rejection.ISSUED_IN_FUTURE,
    "nonce": Rejection.NONCE_MISMATCH,
    "acr": Rejection.ACR_NOT_ACCEPTED,
    "exp": Rejection.MALFORMED_TOKEN,
    "sub": Rejection.MISSING_CLAIM,
}


def validate_id_token(
    id_token: str,
    *,
    keys: KeySet | None,
    issuer: str,
    client_id: str,
    nonce: str | None,
    access_token: Secret | None = None,
    client_secret: Secret | None = None,
    accepted_acr: Sequence[str] = ACCEPTED_ACR,
    leeway: int = DEFAULT_LEEWAY,
    now: int | Callable[[], int] | None = None,
    algorithms: Collection[str] = ASYMMETRIC_ALGS + HMAC_ALGS,
    max_age: int | None = None,
) -> IdTokenClaims:
    """Check an id_token (OpenID Connect Core §3.1.3.7) and return its claims.

    Signature through ``keys`` (JWKS, by ``kid``) or HS256/384/512 with ``client_secret``,
    with an ``alg`` among ``algorithms`` (see :func:`accepted_algorithms`); ``iss``,
    ``aud`` (and ``azp`` when present or with several audiences), ``exp`` and ``iat`` with
    ``leeway`` seconds, ``nonce`` (when one was sent), ``at_hash`` when present and the
    access token is given, and ``acr`` among ``accepted_acr`` (empty: any).

    ``auth_time``, when present, is a number not in the future; with ``max_age`` (the
    login asked for a recent authentication) it is required and at most ``max_age``
    seconds old. ``sid``, when present, is a string (the session id a back-channel logout
    names).

    Raises :class:`OidcError` with one :class:`Rejection` per failed rule.
    """
    header, claims = _verify_signature(
        id_token, keys=keys, client_secret=client_secret, algorithms=algorithms
    )
    current = int(now() if callable(now) else time.time() if now is None else now)
    options: dict[str, Any] = {
        "iss": {"essential": True, "value": issuer},
        "aud": {"essential": True, "value": client_id},
        "sub": {"essential": True},
        "exp": {"essential": True},
        "iat": {"essential": True},
    }
    if nonce is not None:
        options["nonce"] = {"essential": True, "value": nonce}
    if accepted_acr:
        options["acr"] = {"essential": True, "values": list(accepted_acr)}
    registry = jwt.JWTClaimsRegistry(now=current, leeway=leeway, **options)
    try:
        registry.validate(claims)
        # joserfc also accepts a list holding the expected value; nonce and acr are
        # strings (OIDC Core §2), so ["other", nonce] or ["eidas3", "eidas1"] must fail.
        for name in ("nonce", "acr"):
            if name in options and not isinstance(claims.get(name), str):
                raise InvalidClaimError(name)
    except ExpiredTokenError as exc:
        raise _reject(Rejection.EXPIRED, "the id_token has expired") from exc
    except MissingClaimError as exc:
        rejection = Rejection.NONCE_MISMATCH if exc.claim == "nonce" else Rejection.MISSING_CLAIM
        raise _reject(rejection, f"the id_token lacks {exc.claim}") from exc
    except ClaimError as exc:
        rejection = _CLAIM_REJECTIONS.get(exc.claim, Rejection.MALFORMED_TOKEN)
        raise _reject(rejection, f"id_token claim {exc.claim!r}: {exc.description}") from exc
    aud = claims["aud"]
    azp = claims.get("azp")
    if (isinstance(aud, list) and len(aud) > 1 and azp is None) or (
        azp is not None and azp != client_id
    ):
        raise _reject(Rejection.INVALID_AZP, f"the id_token azp is {azp!r}, not this client")
    auth_time = _check_auth_time(claims.get("auth_time"), current, leeway, max_age)
    sid = claims.get("sid")
    if sid is not None and not isinstance(sid, str):
        raise _reject(Rejection.INVALID_SID, "the id_token sid is not a string")
    at_hash = claims.get("at_hash")
    if at_hash is not None and access_token is not None:
        expected = create_half_hash(access_token.reveal(), str(header["alg"]))
        if expected is None or expected.decode("ascii") != at_hash:
            raise _reject(Rejection.AT_HASH_MISMATCH, "the id_token at_hash does not match")

    return IdTokenClaims(
        subject=str(claims["sub"]),
        issuer=str(claims["iss"]),
        acr=str(claims.get("acr") or ""),
        issued_at=int(claims["iat"]),
        expires_at=int(claims["exp"]),
        auth_time=auth_time,
        national_id=str(claims.get("preferred_username") or ""),
        auth_mode=str(claims.get("authMode") or ""),
        session_id=str(claims.get("sid") or claims.get("session_state") or ""),
        claims=claims,
    )


def _check_auth_time(value: Any, now: int, leeway: int, max_age: int | None) -> int | None:
    """``auth_time`` as an int, after its type, future and ``max_age`` checks."""
    if value is None:
        if max_age is not None:
            # OIDC Core §3.1.2.1: with max_age the provider MUST send auth_time.
            raise _reject(Rejection.MISSING_CLAIM, "the id_token lacks auth_time (max_age asked)")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _reject(Rejection.INVALID_AUTH_TIME, "the id_token auth_time is not a number")
    auth_time = int(value)
    if auth_time > now + leeway:
        raise _reject(Rejection.INVALID_AUTH_TIME, "the id_token auth_time is in the future")
    if max_age is not None and now - auth_time > max_age + leeway:
        raise _reject(
            Rejection.LOGIN_TOO_OLD,
            f"the professional authenticated {now - auth_time} s ago, more than max_age {max_age}",
        )
    return auth_time


def verify_signed_userinfo(
    token: str,
    *,
    keys: KeySet | None,
    issuer: str,
    client_id: str,
    client_secret: Secret | None = None,
    algorithms: Collection[str] = ASYMMETRIC_ALGS + HMAC_ALGS,
) -> dict[str, Any]:
    """The claims of a signed (``application/jwt``) UserInfo answer.

    Signature as for the id_token (``alg`` among ``algorithms``); ``iss`` and ``aud`` are
    checked when present (OpenID Connect Core §5.3.2).
    """
    _, claims = _verify_signature(
        token, keys=keys, client_secret=client_secret, algorithms=algorithms
    )
    if "iss" in claims and claims["iss"] != issuer:
        raise _reject(Rejection.INVALID_ISSUER, "the signed userinfo comes from another issuer")
    aud = claims.get("aud")
    if aud is not None and aud != client_id and not (isinstance(aud, list) and client_id in aud):
        raise _reject(Rejection.INVALID_AUDIENCE, "the signed userinfo is for another client")
    return claims


# -- UserInfo ----------------------------------------------------------------------------


def _opt(value: Any) -> str | None:
    """PSC sends absent values as empty strings: both become ``None``."""
    if value is None:
        return None
    if isinstance(value, bool):
        # A JSON true/false where PSC sends text would silently become "True".
        raise MalformedResponse("expected a string in the userinfo, got a boolean")
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str):
        raise MalformedResponse(f"expected a string in the userinfo, got {type(value).__name__}")
    value = value.strip()
    return value or None


def _obj(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MalformedResponse(f"userinfo {where} is not a JSON object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None or value == "":
        return []
    if not isinstance(value, list):
        raise MalformedResponse(f"userinfo {where} is not a JSON array")
    return value


def _activity(raw: Any, where: str) -> PscActivity:
    a = _obj(raw, where)
    return PscActivity(
        mode=_opt(a.get("codeModeExercice")),
        sector=_opt(a.get("codeSecteurDactivite")),
        role=_opt(a.get("codeRole")),
        genre=_opt(a.get("codeGenreActivite")),
        pharmacist_section=_opt(a.get("codeSectionPharmacien")),
        finess_site=_opt(a.get("numeroFinessSite")),
        finess_legal_entity=_opt(a.get("numeroFinessetablissementJuridique")),
        siret=_opt(a.get("numeroSiretSite")),
        siren=_opt(a.get("numeroSirenSite")),
        structure_technical_id=_opt(a.get("identifiantTechniqueDeLaStructure")),
        former_structure_id=_opt(a.get("ancienIdentifiantDeLaStructure")),
        registration_authority=_opt(a.get("autoriteDenregistrement")),
        name=_opt(a.get("raisonSocialeSite")),
        trade_name=_opt(a.get("enseigneCommercialeSite")),
        address=PscAddress(
            street_number=_opt(a.get("numeroVoie")),
            repetition_index=_opt(a.get("indiceRepetitionVoie")),
            street_type=_opt(a.get("codeTypeDeVoie")),
            street_name=_opt(a.get("libelleVoie")),
            additional_recipient=_opt(a.get("complementDestinataire")),
            additional_location=_opt(a.get("complementPointGeographique")),
            distribution_mention=_opt(a.get("mentionDistribution")),
            cedex_office=_opt(a.get("bureauCedex")),
            postal_code=_opt(a.get("codePostal")),
            commune_code=_opt(a.get("codeCommune")),
            department_code=_opt(a.get("codeDepartement")),
            country_code=_opt(a.get("codePays")),
        ),
        phone=_opt(a.get("telephone")),
        phone2=_opt(a.get("telephone2")),
        fax=_opt(a.get("telecopie")),
        email=_opt(a.get("adresseEMail")),
    )


def _exercice(raw: Any, where: str) -> PscExercice:
    e = _obj(raw, where)
    return PscExercice(
        profession=_opt(e.get("codeProfession")),
        category=_opt(e.get("codeCategorieProfessionnelle")),
        civility=_opt(e.get("codeCiviliteDexercice")),
        last_name=_opt(e.get("nomDexercice")),
        first_name=_opt(e.get("prenomDexercice")),
        speciality_type=_opt(e.get("codeTypeSavoirFaire")),
        speciality=_opt(e.get("codeSavoirFaire")),
        activities=tuple(
            _activity(a, f"{where}.activities[{i}]")
            for i, a in enumerate(_list(e.get("activities"), f"{where}.activities"))
        ),
    )


def parse_userinfo(payload: bytes | str | Mapping[str, Any]) -> ProfessionalIdentity:
    """The professional identity of a PSC UserInfo answer (JSON text or decoded claims).

    Empty strings mean absent (``None``); ``activities`` may be missing. Anything that is
    not the expected shape raises :class:`~segurlink.errors.MalformedResponse`.

    >>> identity = parse_userinfo('{"preferred_username": "810001234567", "given_name": ""}')
    >>> identity.given_name is None
    True
    """
    if isinstance(payload, bytes | str):
        try:
            data = json.loads(payload)
        except (ValueError, UnicodeError, RecursionError) as exc:
            raise MalformedResponse(f"the userinfo is not valid JSON: {exc}") from exc
    else:
        data = payload
    claims = _obj(data, "payload")
    national_id = _opt(claims.get("preferred_username")) or _opt(claims.get("SubjectNameID"))
    if national_id is None:
        raise MalformedResponse("the userinfo has neither preferred_username nor SubjectNameID")
    ref_pro = claims.get("SubjectRefPro")
    ref = _obj(ref_pro, "SubjectRefPro") if ref_pro not in (None, "") else {}
    roles = tuple(
        r for r in (_opt(v) for v in _list(claims.get("SubjectRole"), "SubjectRole")) if r
    )
    other_ids = []
    for i, raw in enumerate(_list(claims.get("otherIds"), "otherIds")):
        o = _obj(raw, f"otherIds[{i}]")
        identifier = _opt(o.get("identifiant"))
        if identifier is None:
            continue
        quality = o.get("qualite")
        other_ids.append(
            OtherId(
                identifier=identifier,
                origin=_opt(o.get("origine")),
                quality=quality
                if isinstance(quality, int) and not isinstance(quality, bool)
                else None,
            )
        )
    return ProfessionalIdentity(
        national_id=national_id,
        subject=_opt(claims.get("sub")) or "",
        subject_name_id=_opt(claims.get("SubjectNameID")),
        given_name=_opt(claims.get("given_name")),
        family_name=_opt(claims.get("family_name")),
        civility=_opt(ref.get("codeCivilite")),
        sector=_opt(claims.get("Secteur_Activite")),
        organization=_opt(claims.get("SubjectOrganization")),
        organization_id=_opt(claims.get("SubjectOrganizationID")),
        roles=roles,
        auth_level=_opt(claims.get("Palier_Authentification")),
        other_ids=tuple(other_ids),
        exercices=tuple(
            _exercice(e, f"exercices[{i}]")
            for i, e in enumerate(_list(ref.get("exercices"), "SubjectRefPro.exercices"))
        ),
        claims=claims,
    )
