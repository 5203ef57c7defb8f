"""Pure PSC messages: authorization URL, callback, id_token rules, userinfo, bodies."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from segurlink.config import Secret, Settings
from segurlink.errors import ConfigurationError, InputError, MalformedResponse, OidcError
from segurlink.psc import (
    PRESETS,
    ProviderMetadata,
    PscSettings,
    Rejection,
    messages,
    new_authorization_request,
    parse_callback,
    parse_userinfo,
    validate_id_token,
)

ISSUER = "https://idp.test/auth/realms/esante-wallet"
CLIENT = "dui-client"
METADATA = ProviderMetadata(
    issuer=ISSUER,
    authorization_endpoint="https://wallet.test/auth",
    token_endpoint=ISSUER + "/protocol/openid-connect/token",
    jwks_uri=ISSUER + "/protocol/openid-connect/certs",
    end_session_endpoint=ISSUER + "/protocol/openid-connect/logout",
)
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
KEYS = KeySet([RSAKey.import_key(KEY.as_dict(private=False))])
ACCESS = Secret("the-access-token")
NOW = int(time.time())


def _at_hash(token: str) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(token.encode()).digest()[:16]).rstrip(b"=").decode()
    )


def _claims(**changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": CLIENT,
        "azp": CLIENT,
        "sub": "f:uuid:810001234567",
        "exp": NOW + 120,
        "iat": NOW,
        "nonce": "n-1",
        "acr": "eidas1",
        "at_hash": _at_hash(ACCESS.reveal()),
        "preferred_username": "810001234567",
    }
    for key, value in changes.items():
        if value is None:
            claims.pop(key, None)
        else:
            claims[key] = value
    return claims


def _sign(claims: dict[str, Any], key: Any = KEY, header: dict[str, Any] | None = None) -> str:
    return jwt.encode(header or {"alg": "RS256", "kid": "k1"}, claims, key)


def _validate(token: str, **kwargs: Any) -> Any:
    options: dict[str, Any] = {
        "keys": KEYS,
        "issuer": ISSUER,
        "client_id": CLIENT,
        "nonce": "n-1",
        "access_token": ACCESS,
        "now": NOW,
    }
    options.update(kwargs)
    return validate_id_token(token, **options)


# -- authorization URL and callback ---------------------------------------------------------


def test_authorization_url_carries_psc_parameters_and_pkce_s256() -> None:
    request = new_authorization_request(METADATA, client_id=CLIENT, redirect_uri="https://dui/cb")
    url = urlsplit(request.url)
    params = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}{url.path}" == METADATA.authorization_endpoint
    assert params["response_type"] == "code"
    assert params["scope"] == "openid scope_all"
    assert params["acr_values"] == "eidas1"
    assert params["state"] == request.state and params["nonce"] == request.nonce
    assert params["code_challenge_method"] == "S256"
    digest = hashlib.sha256(request.code_verifier.reveal().encode()).digest()
    assert params["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert request.code_verifier.reveal() not in request.url


@pytest.mark.parametrize("key", ["nonce", "state", "code_challenge_method", "scope"])
def test_extra_parameters_cannot_override_the_checked_ones(key: str) -> None:
    with pytest.raises(InputError, match=key):
        new_authorization_request(
            METADATA, client_id=CLIENT, redirect_uri="https://dui/cb", extra={key: "x"}
        )
    request = new_authorization_request(
        METADATA, client_id=CLIENT, redirect_uri="https://dui/cb", extra={"login_hint": "8100"}
    )
    assert "login_hint=8100" in request.url


def test_each_login_gets_fresh_state_nonce_and_verifier() -> None:
    a = new_authorization_request(METADATA, client_id=CLIENT, redirect_uri="https://dui/cb")
    b = new_authorization_request(METADATA, client_id=CLIENT, redirect_uri="https://dui/cb")
    assert len({a.state, b.state, a.nonce, b.nonce}) == 4
    assert a.code_verifier.reveal() != b.code_verifier.reveal()


@pytest.fixture
def login_request() -> Any:
    return new_authorization_request(METADATA, client_id=CLIENT, redirect_uri="https://dui/cb")


def test_callback_gives_the_code(login_request: Any) -> None:
    url = f"https://dui/cb?code=abc&state={login_request.state}&iss={ISSUER}"
    assert parse_callback(url, login_request, issuer=ISSUER, iss_required=True) == "abc"


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("code=abc&state=forged", Rejection.STATE_MISMATCH),
        ("code=abc", Rejection.STATE_MISMATCH),
        ("code=abc&state={state}&iss=https://evil.test/realm", Rejection.ISS_MISMATCH),
        ("code=abc&state={state}", Rejection.ISS_MISMATCH),  # iss required by the provider
        ("state={state}&iss={iss}", Rejection.MISSING_CODE),
        ("error=access_denied&state={state}&iss={iss}", "access_denied"),
    ],
)
def test_callback_refusals(login_request: Any, query: str, error: str) -> None:
    query = query.format(state=login_request.state, iss=ISSUER)
    with pytest.raises(OidcError) as info:
        parse_callback("https://dui/cb?" + query, login_request, issuer=ISSUER, iss_required=True)
    assert info.value.error == error


def test_end_session_url() -> None:
    url = messages.end_session_url(
        METADATA, id_token_hint="t.o.k", post_logout_redirect_uri="https://dui/bye", state="s"
    )
    params = parse_qs(urlsplit(url).query)
    assert params == {
        "id_token_hint": ["t.o.k"],
        "post_logout_redirect_uri": ["https://dui/bye"],
        "state": ["s"],
    }


# -- id_token rules ---------------------------------------------------------------------------


def test_valid_id_token_gives_claims() -> None:
    claims = _validate(_sign(_claims()))
    assert claims.acr == "eidas1"
    assert claims.national_id == "810001234567"
    assert "810001234567" not in repr(claims)


@pytest.mark.parametrize("acr", ["eidas1", "eidas2", "eidas3"])
def test_every_substantial_login_level_is_accepted_by_default(acr: str) -> None:
    # eidas3 with authMode CARD is what real card logins carry (psc-samples introspection).
    claims = _validate(_sign(_claims(acr=acr, authMode="CARD")))
    assert (claims.acr, claims.auth_mode) == (acr, "CARD")


def test_accepted_login_levels_are_configurable() -> None:
    card = _sign(_claims(acr="eidas3"))
    with pytest.raises(OidcError) as info:
        _validate(card, accepted_acr=["eidas1"])
    assert info.value.error == Rejection.ACR_NOT_ACCEPTED
    assert _validate(_sign(_claims(acr="0")), accepted_acr=()).acr == "0"  # empty: any
    settings = Settings.from_mapping(
        {
            "psc": {
                "issuer": "sandbox",
                "client_id": "c",
                "client_secret": "s",
                "accepted_acr": "eidas1, eidas3",
            }
        }
    )
    assert PscSettings.from_settings(settings).accepted_acr == ("eidas1", "eidas3")
    default = Settings.from_mapping(
        {"psc": {"issuer": "sandbox", "client_id": "c", "client_secret": "s"}}
    )
    assert PscSettings.from_settings(default).accepted_acr == ("eidas1", "eidas2", "eidas3")


def test_hs256_with_the_client_secret_is_accepted() -> None:
    secret = Secret("a-client-secret-long-enough-for-hs256!")
    token = jwt.encode({"alg": "HS256"}, _claims(), OctKey.import_key(secret.reveal()))
    assert _validate(token, client_secret=secret).acr == "eidas1"


def _none_token() -> str:
    def b64(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{b64({'alg': 'none'})}.{b64(_claims())}."


def _tampered() -> str:
    head, _, rest = _sign(_claims()).partition(".")
    signature = rest.partition(".")[2]
    payload = base64.urlsafe_b64encode(json.dumps(_claims(sub="someone-else")).encode()).rstrip(
        b"="
    )
    return f"{head}.{payload.decode()}.{signature}"


FORGERIES = [
    ("not a token", lambda: "garbage", Rejection.MALFORMED_TOKEN),
    ("encrypted", lambda: "a.b.c.d.e", Rejection.MALFORMED_TOKEN),
    ("alg none", _none_token, Rejection.UNSUPPORTED_ALG),
    (
        "HS256 without secret",
        lambda: jwt.encode({"alg": "HS256"}, _claims(), OctKey.import_key("x" * 32)),
        Rejection.UNSUPPORTED_ALG,
    ),
    (
        "unknown kid",
        lambda: _sign(_claims(), header={"alg": "RS256", "kid": "k2"}),
        Rejection.UNKNOWN_KID,
    ),
    ("other key same kid", lambda: _sign(_claims(), OTHER_KEY), Rejection.INVALID_SIGNATURE),
    ("tampered payload", _tampered, Rejection.INVALID_SIGNATURE),
    ("wrong issuer", lambda: _sign(_claims(iss="https://evil.test")), Rejection.INVALID_ISSUER),
    ("wrong audience", lambda: _sign(_claims(aud="other", azp=None)), Rejection.INVALID_AUDIENCE),
    (
        "foreign azp",
        lambda: _sign(_claims(aud=[CLIENT, "other"], azp="other")),
        Rejection.INVALID_AZP,
    ),
    (
        "several aud no azp",
        lambda: _sign(_claims(aud=[CLIENT, "other"], azp=None)),
        Rejection.INVALID_AZP,
    ),
    ("expired", lambda: _sign(_claims(exp=NOW - 120, iat=NOW - 400)), Rejection.EXPIRED),
    (
        "issued in the future",
        lambda: _sign(_claims(iat=NOW + 600, exp=NOW + 900)),
        Rejection.ISSUED_IN_FUTURE,
    ),
    ("no sub", lambda: _sign(_claims(sub=None)), Rejection.MISSING_CLAIM),
    ("no exp", lambda: _sign(_claims(exp=None)), Rejection.MISSING_CLAIM),
    ("no iss", lambda: _sign(_claims(iss=None)), Rejection.MISSING_CLAIM),
    ("no aud", lambda: _sign(_claims(aud=None, azp=None)), Rejection.MISSING_CLAIM),
    ("no aud but our azp", lambda: _sign(_claims(aud=None)), Rejection.MISSING_CLAIM),
    ("no iat", lambda: _sign(_claims(iat=None)), Rejection.MISSING_CLAIM),
    ("our aud, foreign azp", lambda: _sign(_claims(azp="other")), Rejection.INVALID_AZP),
    ("auth_time text", lambda: _sign(_claims(auth_time="1700000000")), Rejection.INVALID_AUTH_TIME),
    ("auth_time boolean", lambda: _sign(_claims(auth_time=True)), Rejection.INVALID_AUTH_TIME),
    (
        "auth_time in the future",
        lambda: _sign(_claims(auth_time=NOW + 600)),
        Rejection.INVALID_AUTH_TIME,
    ),
    ("sid not a string", lambda: _sign(_claims(sid=42)), Rejection.INVALID_SID),
    ("sid a list", lambda: _sign(_claims(sid=["a"])), Rejection.INVALID_SID),
    ("wrong nonce", lambda: _sign(_claims(nonce="n-2")), Rejection.NONCE_MISMATCH),
    ("no nonce", lambda: _sign(_claims(nonce=None)), Rejection.NONCE_MISMATCH),
    (
        "wrong at_hash",
        lambda: _sign(_claims(at_hash=_at_hash("other"))),
        Rejection.AT_HASH_MISMATCH,
    ),
    ("acr outside the set", lambda: _sign(_claims(acr="0")), Rejection.ACR_NOT_ACCEPTED),
    ("acr eidas4", lambda: _sign(_claims(acr="eidas4")), Rejection.ACR_NOT_ACCEPTED),
    (
        "nonce list holding ours",
        lambda: _sign(_claims(nonce=["n-2", "n-1"])),
        Rejection.NONCE_MISMATCH,
    ),
    (
        "acr list holding eidas1",
        lambda: _sign(_claims(acr=["0", "eidas1"])),
        Rejection.ACR_NOT_ACCEPTED,
    ),
    ("nbf in the future", lambda: _sign(_claims(nbf=NOW + 600)), Rejection.ISSUED_IN_FUTURE),
    ("no acr", lambda: _sign(_claims(acr=None)), Rejection.MISSING_CLAIM),
]


@pytest.mark.parametrize(("case", "make", "error"), FORGERIES, ids=[f[0] for f in FORGERIES])
def test_each_forged_or_mismatched_id_token_has_its_own_error(
    case: str, make: Any, error: str
) -> None:
    with pytest.raises(OidcError) as info:
        _validate(make())
    assert info.value.error == error


def test_forgery_errors_are_distinct_per_rule() -> None:
    # One value per rule (a few cases share a rule: encrypted/garbage, no sub/no exp...).
    rules = {error for _, _, error in FORGERIES}
    assert len(rules) >= 15


def test_missing_claims_are_named_not_key_errors() -> None:
    for claim in ("aud", "iat", "iss", "sub", "exp"):
        with pytest.raises(OidcError) as info:
            _validate(_sign(_claims(**{claim: None})))
        assert info.value.error == Rejection.MISSING_CLAIM
        assert info.value.description == f"the id_token lacks {claim}"


def test_auth_time_and_sid_when_valid() -> None:
    claims = _validate(_sign(_claims(auth_time=NOW - 5, sid="s-1")))
    assert (claims.auth_time, claims.session_id) == (NOW - 5, "s-1")
    # within the leeway a provider clock slightly ahead is tolerated
    assert _validate(_sign(_claims(auth_time=NOW + 20)), leeway=30).auth_time == NOW + 20
    with pytest.raises(OidcError) as info:
        _validate(_sign(_claims(auth_time=NOW + 20)), leeway=0)
    assert info.value.error == Rejection.INVALID_AUTH_TIME
    # neither is required when no max_age was asked
    bare = _validate(_sign(_claims(auth_time=None, sid=None)))
    assert (bare.auth_time, bare.session_id) == (None, "")
    fractional = _validate(_sign(_claims(auth_time=NOW - 10.5))).auth_time
    assert fractional == NOW - 11 and isinstance(fractional, int)


def test_max_age_requires_a_recent_auth_time() -> None:
    recent = _sign(_claims(auth_time=NOW - 290))
    assert _validate(recent, max_age=300, leeway=0).auth_time == NOW - 290
    with pytest.raises(OidcError) as info:
        _validate(_sign(_claims(auth_time=NOW - 301)), max_age=300, leeway=0)
    assert info.value.error == Rejection.LOGIN_TOO_OLD
    assert _validate(_sign(_claims(auth_time=NOW - 301)), max_age=300, leeway=1).subject
    with pytest.raises(OidcError) as info:
        _validate(_sign(_claims(auth_time=None)), max_age=300)
    assert info.value.error == Rejection.MISSING_CLAIM
    assert "auth_time" in info.value.description


def test_max_age_goes_into_the_authorization_request() -> None:
    request = new_authorization_request(
        METADATA, client_id=CLIENT, redirect_uri="https://dui/cb", max_age=600
    )
    assert parse_qs(urlsplit(request.url).query)["max_age"] == ["600"]
    assert request.max_age == 600
    plain = new_authorization_request(METADATA, client_id=CLIENT, redirect_uri="https://dui/cb")
    assert "max_age" not in parse_qs(urlsplit(plain.url).query) and plain.max_age is None
    for bad in (-1, True, "600"):
        with pytest.raises(InputError):
            new_authorization_request(
                METADATA,
                client_id=CLIENT,
                redirect_uri="https://dui/cb",
                max_age=bad,  # type: ignore[arg-type]
            )
    with pytest.raises(InputError):  # extra cannot slip in an unchecked max_age
        new_authorization_request(
            METADATA, client_id=CLIENT, redirect_uri="https://dui/cb", extra={"max_age": "1"}
        )


def test_signature_algorithm_must_be_among_the_accepted_ones() -> None:
    secret = Secret("a-client-secret-long-enough-for-hs256!")
    hs256 = jwt.encode({"alg": "HS256"}, _claims(), OctKey.import_key(secret.reveal()))
    with pytest.raises(OidcError) as info:
        _validate(hs256, client_secret=secret, algorithms=("RS256",))
    assert info.value.error == Rejection.UNSUPPORTED_ALG
    assert _validate(_sign(_claims()), algorithms=("RS256",)).subject
    with pytest.raises(OidcError) as info:
        _validate(_sign(_claims()), algorithms=("HS256",))
    assert info.value.error == Rejection.UNSUPPORTED_ALG


def test_accepted_algorithms_follow_the_provider_and_the_registration() -> None:
    every = messages.ASYMMETRIC_ALGS + messages.HMAC_ALGS
    assert messages.accepted_algorithms() == every  # no published list: no narrowing
    assert messages.accepted_algorithms(["RS256"]) == ("RS256",)
    assert messages.accepted_algorithms(["HS256", "RS256", "EdDSA", "none"]) == (
        "RS256",
        "HS256",
    )
    assert messages.accepted_algorithms(["RS256", "HS256"], registered="HS256") == ("HS256",)
    assert messages.accepted_algorithms((), registered="PS256") == ("PS256",)
    with pytest.raises(ConfigurationError, match="'HS256'"):
        messages.accepted_algorithms(["RS256"], registered="HS256")
    with pytest.raises(OidcError) as info:
        messages.accepted_algorithms(["EdDSA", "none"])
    assert info.value.error == Rejection.UNSUPPORTED_ALG


def test_leeway_tolerates_small_clock_skew() -> None:
    token = _sign(_claims(exp=NOW - 10, iat=NOW + 10))
    assert _validate(token, leeway=30).subject
    with pytest.raises(OidcError, match="token_expired"):
        _validate(token, leeway=0)


def test_at_hash_is_only_checked_when_the_access_token_is_known() -> None:
    assert _validate(_sign(_claims(at_hash=_at_hash("other"))), access_token=None).subject


def test_nonce_not_checked_for_backchannel_tokens() -> None:
    assert _validate(_sign(_claims(nonce=None)), nonce=None).subject


# -- userinfo -------------------------------------------------------------------------------


def _userinfo(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "sub": "f:x:810001234567",
        "preferred_username": "810001234567",
        "given_name": "Paul",
        "family_name": "",
        "SubjectRole": ["10^1.2.250.1.213.1.1.5.5"],
        "SubjectRefPro": {
            "codeCivilite": "M",
            "exercices": [
                {
                    "codeProfession": "10",
                    "codeCategorieProfessionnelle": "C",
                    "codeSavoirFaire": "",
                    "activities": [
                        {
                            "numeroFinessSite": "010000024",
                            "numeroFinessetablissementJuridique": "010000016",
                            "numeroSiretSite": "",
                            "raisonSocialeSite": "HOPITAL",
                            "codeRole": "",
                            "numeroVoie": "20",
                            "codeTypeDeVoie": "R",
                            "libelleVoie": "DE PARIS",
                        }
                    ],
                }
            ],
        },
    }
    data.update(changes)
    return data


def test_userinfo_parses_and_empty_strings_are_absent() -> None:
    identity = parse_userinfo(json.dumps(_userinfo()))
    assert identity.rpps == "10001234567"
    assert identity.family_name is None
    exercice = identity.exercices[0]
    assert (exercice.profession, exercice.category, exercice.speciality) == ("10", "C", None)
    activity = exercice.activities[0]
    assert (activity.finess_site, activity.finess_legal_entity) == ("010000024", "010000016")
    assert activity.siret is None and activity.role is None
    assert activity.address.street_line == "20 R DE PARIS"
    assert "Paul" not in repr(identity) and "810001234567" not in repr(identity)


def test_userinfo_without_activities() -> None:
    data = _userinfo()
    del data["SubjectRefPro"]["exercices"][0]["activities"]
    assert parse_userinfo(data).exercices[0].activities == ()


def test_non_rpps_national_id_has_no_rpps() -> None:
    assert parse_userinfo(_userinfo(preferred_username="ANS20210107161422")).rpps is None


@pytest.mark.parametrize(
    "payload",
    [
        b'{"preferred_username": "8100", ',
        b"[1, 2]",
        json.dumps(_userinfo(SubjectRefPro=["x"])).encode(),
        json.dumps(_userinfo(SubjectRefPro={"exercices": {"a": 1}})).encode(),
        json.dumps(_userinfo(SubjectRefPro={"exercices": [{"activities": ["x"]}]})).encode(),
        json.dumps(_userinfo(given_name={"x": 1})).encode(),
        json.dumps({"given_name": "Paul"}).encode(),
        json.dumps(_userinfo(preferred_username=True)).encode(),
        b"\xff\xfe",
        b"[" * 100_000,  # nested past the recursion limit
    ],
    ids=lambda p: repr(p[:40]),
)
def test_malformed_userinfo_is_a_typed_error(payload: bytes) -> None:
    with pytest.raises(MalformedResponse):
        parse_userinfo(payload)


def _signed_userinfo(**claims: Any) -> dict[str, Any]:
    token = _sign({**_userinfo(), **claims})
    return messages.verify_signed_userinfo(token, keys=KEYS, issuer=ISSUER, client_id=CLIENT)


def test_signed_userinfo_is_verified() -> None:
    claims = _signed_userinfo(iss=ISSUER, aud=CLIENT)
    assert parse_userinfo(claims).national_id == "810001234567"
    with pytest.raises(OidcError) as info:
        messages.verify_signed_userinfo(
            _sign({**_userinfo(), "iss": ISSUER}, OTHER_KEY),
            keys=KEYS,
            issuer=ISSUER,
            client_id=CLIENT,
        )
    assert info.value.error == Rejection.INVALID_SIGNATURE


@pytest.mark.parametrize(
    ("claims", "error"),
    [
        (
            {"iss": "https://evil.test/auth/realms/esante-wallet", "aud": CLIENT},
            Rejection.INVALID_ISSUER,
        ),
        ({"iss": ISSUER + "/", "aud": CLIENT}, Rejection.INVALID_ISSUER),
        ({"iss": ISSUER, "aud": "other"}, Rejection.INVALID_AUDIENCE),
        ({"iss": ISSUER, "aud": ["other", "another"]}, Rejection.INVALID_AUDIENCE),
        ({"aud": CLIENT + "-2"}, Rejection.INVALID_AUDIENCE),
    ],
)
def test_signed_userinfo_of_another_issuer_or_client_is_refused(
    claims: dict[str, Any], error: Rejection
) -> None:
    with pytest.raises(OidcError) as info:
        _signed_userinfo(**claims)
    assert info.value.error == error


def test_signed_userinfo_iss_and_aud_are_checked_only_when_present() -> None:
    # OIDC Core §5.3.2: "if signed, SHOULD contain iss and aud": absent is not a refusal.
    assert _signed_userinfo()["preferred_username"] == "810001234567"
    assert _signed_userinfo(aud=["other", CLIENT])["aud"] == ["other", CLIENT]
    with pytest.raises(OidcError) as info:
        messages.verify_signed_userinfo(
            _sign(_userinfo()), keys=KEYS, issuer=ISSUER, client_id=CLIENT, algorithms=("PS256",)
        )
    assert info.value.error == Rejection.UNSUPPORTED_ALG


# -- token endpoint messages -------------------------------------------------------------------


def test_token_response_and_error() -> None:
    tokens = messages.parse_token_response(
        {
            "access_token": "a",
            "expires_in": 60,
            "refresh_token": "r",
            "refresh_expires_in": 1800,
            "id_token": "i",
            "token_type": "Bearer",
        },
        now=1000.0,
    )
    assert tokens.expires_at == 1060.0 and tokens.refresh_expires_at == 2800.0
    assert "'a'" not in repr(tokens) and "'r'" not in repr(tokens)
    assert tokens.access_token_expired(now=1050.0, margin=15)
    error = messages.provider_error(
        {"error": "invalid_grant", "error_description": "Code not valid"}, status=400
    )
    assert (
        error is not None
        and error.error == "invalid_grant"
        and error.description == "Code not valid"
    )
    with pytest.raises(MalformedResponse):
        messages.parse_token_response({"token_type": "Bearer"})


def test_ciba_bodies_and_polling_interval() -> None:
    body = parse_qs(
        messages.ciba_auth_body(login_hint="810001234567", binding_message="DUI-42", channel="CARD")
    )
    assert body == {
        "scope": ["openid scope_all"],
        "acr_values": ["eidas1"],
        "login_hint": ["810001234567"],
        "binding_message": ["DUI-42"],
        "channel": ["CARD"],
    }
    with pytest.raises(ValueError):
        messages.ciba_auth_body(login_hint="x", channel="SMS")
    request = messages.parse_ciba_start(
        {"auth_req_id": "id", "expires_in": 120, "interval": 1}, now=0.0
    )
    assert (request.expires_at, request.interval) == (120.0, 1.0)
    assert parse_qs(messages.ciba_poll_body(request)) == {
        "grant_type": ["urn:openid:params:grant-type:ciba"],
        "auth_req_id": ["id"],
    }
    assert messages.next_poll_interval(1.0, "slow_down") == 6.0
    assert messages.next_poll_interval(1.0, "authorization_pending") == 1.0


def test_ciba_caps_the_provider_lifetime_and_interval() -> None:
    hostile = {"auth_req_id": "id", "expires_in": 86_400, "interval": 3_600}
    request = messages.parse_ciba_start(hostile, now=1000.0)
    assert (request.expires_at, request.interval) == (1300.0, 30.0)  # documented defaults
    assert (messages.CIBA_MAX_EXPIRES_IN, messages.CIBA_MAX_INTERVAL) == (300.0, 30.0)
    custom = messages.parse_ciba_start(hostile, now=0.0, max_expires_in=60, max_interval=2)
    assert (custom.expires_at, custom.interval) == (60.0, 2.0)
    # below the caps, the provider's values are kept
    fair = messages.parse_ciba_start({"auth_req_id": "id", "expires_in": 120, "interval": 1}, now=0)
    assert (fair.expires_at, fair.interval) == (120.0, 1.0)
    assert messages.next_poll_interval(28.0, "slow_down") == 30.0
    assert messages.next_poll_interval(8.0, "slow_down", maximum=10.0) == 10.0
    assert messages.next_poll_interval(40.0, "authorization_pending") == 40.0


def test_token_exchange_body() -> None:
    body = parse_qs(messages.token_exchange_body(Secret("psc-at"), audience="api-x"))
    assert body == {
        "grant_type": ["urn:ietf:params:oauth:grant-type:token-exchange"],
        "subject_token": ["psc-at"],
        "subject_token_type": ["urn:ietf:params:oauth:token-type:access_token"],
        "audience": ["api-x"],
    }


def test_client_secret_basic_is_form_encoded_then_base64() -> None:
    headers, body = messages.apply_client_auth(
        "client_secret_basic",
        client_id="dui:1",
        endpoint="https://t",
        body="a=b",
        client_secret=Secret("s&é"),
    )
    raw = base64.b64decode(headers["Authorization"].removeprefix("Basic ")).decode()
    assert raw == "dui%3A1:s%26%C3%A9"
    assert body == "a=b"


def test_tls_client_auth_names_the_client_only() -> None:
    headers, body = messages.apply_client_auth(
        "tls_client_auth", client_id="dui", endpoint="https://t", body="a=b"
    )
    assert "Authorization" not in headers
    assert parse_qs(body) == {"a": ["b"], "client_id": ["dui"]}


# -- settings ---------------------------------------------------------------------------------


def test_settings_presets_and_secret() -> None:
    settings = Settings.from_mapping(
        {"psc": {"issuer": "production", "client_id": "dui", "client_secret": "s3cret"}}
    )
    psc = PscSettings.from_settings(settings)
    assert psc.issuer == PRESETS["production"]
    assert "s3cret" not in repr(psc)
    assert psc.scope == "openid scope_all"


@pytest.mark.parametrize(
    "table",
    [
        {"client_id": "dui", "client_secret": "s"},
        {"issuer": "nowhere", "client_id": "dui", "client_secret": "s"},
        {"issuer": "sandbox", "client_secret": "s"},
        {"issuer": "sandbox", "client_id": "dui"},
        {"issuer": "sandbox", "client_id": "dui", "auth_method": "private_key_jwt"},
        {"issuer": "sandbox", "client_id": "dui", "auth_method": "tls_client_auth"},
        {"issuer": "sandbox", "client_id": "dui", "client_secret": "s", "auth_method": "magic"},
        # plain http would carry the secret and tokens in clear: loopback test servers only
        {"issuer": "http://auth.example/realms/r", "client_id": "dui", "client_secret": "s"},
    ],
)
def test_bad_settings_are_configuration_errors(table: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError):
        PscSettings.from_settings(Settings.from_mapping({"psc": table}))


# -- what each refusal says (the description a log or a support person reads) -----------------

#: The description of each forgery case; library wording (joserfc) is held by its prefix.
FORGERY_DESCRIPTIONS = {
    "not a token": "not a compact JWS: ",
    "encrypted": "the token is encrypted (JWE); configure the provider to send signed tokens",
    "alg none": "signature algorithm 'none' is not accepted",
    "HS256 without secret": "HS256 needs the client secret",
    "unknown kid": "no published key has kid 'k2'",
    "other key same kid": "the token signature is invalid",
    "tampered payload": "the token signature is invalid",
    "wrong issuer": "id_token claim 'iss': ",
    "wrong audience": "id_token claim 'aud': ",
    "foreign azp": "the id_token azp is 'other', not this client",
    "several aud no azp": "the id_token azp is None, not this client",
    "expired": "the id_token has expired",
    "issued in the future": "id_token claim 'iat': ",
    "no sub": "the id_token lacks sub",
    "no exp": "the id_token lacks exp",
    "no iss": "the id_token lacks iss",
    "no aud": "the id_token lacks aud",
    "no aud but our azp": "the id_token lacks aud",
    "no iat": "the id_token lacks iat",
    "our aud, foreign azp": "the id_token azp is 'other', not this client",
    "auth_time text": "the id_token auth_time is not a number",
    "auth_time boolean": "the id_token auth_time is not a number",
    "auth_time in the future": "the id_token auth_time is in the future",
    "sid not a string": "the id_token sid is not a string",
    "sid a list": "the id_token sid is not a string",
    "wrong nonce": "id_token claim 'nonce': ",
    "no nonce": "the id_token lacks nonce",
    "wrong at_hash": "the id_token at_hash does not match",
    "acr outside the set": "id_token claim 'acr': ",
    "acr eidas4": "id_token claim 'acr': ",
    "nonce list holding ours": "id_token claim 'nonce': ",
    "acr list holding eidas1": "id_token claim 'acr': ",
    "nbf in the future": "id_token claim 'nbf': ",
    "no acr": "the id_token lacks acr",
}


@pytest.mark.parametrize(("case", "make", "error"), FORGERIES, ids=[f[0] for f in FORGERIES])
def test_each_refusal_says_what_failed(case: str, make: Any, error: str) -> None:
    with pytest.raises(OidcError) as info:
        _validate(make())
    expected = FORGERY_DESCRIPTIONS[case]
    description = info.value.description
    assert (
        description == expected
        if not expected.endswith(": ")
        else (description.startswith(expected) and len(description) > len(expected))
    )
    assert str(info.value) == f"{description} ({error})"


def test_every_forgery_case_has_its_description() -> None:
    assert set(FORGERY_DESCRIPTIONS) == {case for case, _, _ in FORGERIES}


def test_the_claims_read_from_an_id_token() -> None:
    token = _sign(_claims(auth_time=NOW - 5, sid="s-1", authMode="CARD"))
    claims = _validate(token)
    assert (claims.subject, claims.issuer, claims.acr) == ("f:uuid:810001234567", ISSUER, "eidas1")
    assert (claims.issued_at, claims.expires_at, claims.auth_time) == (NOW, NOW + 120, NOW - 5)
    assert (claims.national_id, claims.auth_mode, claims.session_id) == (
        "810001234567",
        "CARD",
        "s-1",
    )
    assert claims.claims["at_hash"] == _at_hash(ACCESS.reveal())
    # Keycloak names the session session_state; the optional claims default to ""
    bare = _validate(
        _sign(_claims(acr=None, preferred_username=None, session_state="ks-1")), accepted_acr=()
    )
    assert (bare.acr, bare.national_id, bare.auth_mode, bare.session_id) == ("", "", "", "ks-1")


@pytest.mark.parametrize(
    ("aud", "azp"),
    [(CLIENT, None), ([CLIENT], None), ([CLIENT], CLIENT), ([CLIENT, "other"], CLIENT)],
)
def test_azp_is_needed_only_with_several_audiences(aud: Any, azp: str | None) -> None:
    assert _validate(_sign(_claims(aud=aud, azp=azp))).subject == "f:uuid:810001234567"


def test_the_time_comes_from_the_caller_or_the_clock() -> None:
    token = _sign(_claims())
    assert _validate(token, now=lambda: NOW).issued_at == NOW
    with pytest.raises(OidcError) as info:
        _validate(token, now=lambda: NOW + 3600)
    assert info.value.error == Rejection.EXPIRED
    fresh = _sign(_claims(iat=int(time.time()), exp=int(time.time()) + 120))
    assert _validate(fresh, now=None).subject


def test_auth_time_at_the_edge_of_the_leeway_and_max_age() -> None:
    assert _validate(_sign(_claims(auth_time=NOW + 30)), leeway=30).auth_time == NOW + 30
    with pytest.raises(OidcError) as info:
        _validate(_sign(_claims(auth_time=NOW - 301)), max_age=300, leeway=0)
    assert info.value.description == (
        "the professional authenticated 301 s ago, more than max_age 300"
    )
    with pytest.raises(OidcError) as info:
        _validate(_sign(_claims(auth_time=None)), max_age=300)
    assert info.value.description == "the id_token lacks auth_time (max_age asked)"


@pytest.mark.parametrize("alg", ["RS384", "RS512", "PS256", "PS512", "ES384", "ES512"])
def test_every_listed_algorithm_verifies(alg: str) -> None:
    from joserfc.jwk import ECKey

    curve = {"ES384": "P-384", "ES512": "P-521"}.get(alg)
    key = ECKey.generate_key(curve, parameters={"kid": "e1"}) if curve else KEY
    keys = KeySet([key]) if curve else KEYS
    header = {"alg": alg, "kid": "e1" if curve else "k1"}
    token = jwt.encode(header, _claims(at_hash=None), key, algorithms=[alg])
    assert _validate(token, keys=keys).subject == "f:uuid:810001234567"


def test_a_kid_that_is_not_text_makes_a_malformed_token() -> None:
    # joserfc cannot write such a header: sign "header.payload" with the key directly.
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    def b64(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    signing_input = f"{b64({'alg': 'RS256', 'kid': 1})}.{b64(_claims())}"
    signature = KEY.private_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr]
    token = signing_input + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
    with pytest.raises(OidcError) as info:
        _validate(token)
    assert info.value.error == Rejection.MALFORMED_TOKEN
    assert info.value.description.startswith("the token cannot be decoded: ")


def _jws(payload: bytes) -> str:
    from joserfc import jws

    return jws.serialize_compact({"alg": "RS256", "kid": "k1"}, payload, KEY)


@pytest.mark.parametrize(
    ("payload", "description"),
    [(b"not json", "the token cannot be decoded: "), (b"[1, 2]", "the token cannot be decoded: ")],
    ids=["not-json", "a-list"],
)
def test_a_signed_payload_that_is_not_claims_is_malformed(payload: bytes, description: str) -> None:
    with pytest.raises(OidcError) as info:
        _validate(_jws(payload))
    assert info.value.error == Rejection.MALFORMED_TOKEN
    assert info.value.description.startswith(description)


def test_without_a_key_set_an_asymmetric_token_cannot_be_checked() -> None:
    with pytest.raises(OidcError) as info:
        _validate(_sign(_claims()), keys=None)
    assert (info.value.error, info.value.description) == (
        Rejection.UNKNOWN_KID,
        "no key set to verify the token",
    )


def test_signed_userinfo_refusals_say_why() -> None:
    cases = [
        ({"iss": "https://evil.test"}, "the signed userinfo comes from another issuer"),
        ({"aud": "other"}, "the signed userinfo is for another client"),
    ]
    for claims, description in cases:
        with pytest.raises(OidcError) as info:
            _signed_userinfo(**claims)
        assert info.value.description == description


def test_signed_userinfo_with_the_client_secret() -> None:
    secret = Secret("a-client-secret-long-enough-for-hs256!")
    token = jwt.encode(
        {"alg": "HS256"}, {**_userinfo(), "iss": ISSUER}, OctKey.import_key(secret.reveal())
    )
    claims = messages.verify_signed_userinfo(
        token, keys=None, issuer=ISSUER, client_id=CLIENT, client_secret=secret
    )
    assert claims["preferred_username"] == "810001234567"


def test_algorithm_refusals_name_the_algorithms() -> None:
    with pytest.raises(ConfigurationError) as info:
        messages.accepted_algorithms(["RS256", "ES256"], registered="HS256")
    assert str(info.value) == (
        "psc.id_token_signed_response_alg 'HS256' is not among the id_token algorithms of the "
        "provider that segurlink verifies (RS256, ES256)"
    )
    with pytest.raises(OidcError) as info2:
        messages.accepted_algorithms(["EdDSA", "none"])
    assert info2.value.description == (
        "the provider signs id_tokens with EdDSA, none only; segurlink verifies "
        + ", ".join(messages.ASYMMETRIC_ALGS + messages.HMAC_ALGS)
    )


def test_a_provider_error_keeps_the_status() -> None:
    error = messages.provider_error({"error": "invalid_grant"}, status=400)
    assert error is not None
    assert str(error) == "the provider refused (HTTP 400): invalid_grant"
    assert messages.provider_error({"access_token": "a"}, status=200) is None
