"""The Pro Santé Connect mock driven with raw ``requests`` and joserfc, as any OIDC client.

These tests do not use segurlink's PSC client: the mock is an independent witness, held
here against OpenID Connect, PKCE, RFC 6749 and what ``psc-samples`` show of the real
provider (discovery keys, claims, acr values).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.errors import ExpiredTokenError
from joserfc.jwk import KeySet
from segurlink_mocks import TestPki
from segurlink_mocks.psc import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, REALM_PATH, PscMock

REDIRECT = "http://127.0.0.1:8765/callback"  # loopback: any port is accepted
DISCOVERY = "/.well-known/wallet-openid-configuration"


@pytest.fixture
def http(segurlink_pki: TestPki) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        session.verify = str(segurlink_pki.ca)
        yield session


@pytest.fixture
def control(segurlink_pki: TestPki) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        session.verify = str(segurlink_pki.ca)
        session.cert = segurlink_pki.client("insi-auto").as_requests_cert()
        yield session


@dataclass
class Login:
    """One authorization request, as a browser and a relying party make it."""

    state: str
    nonce: str
    verifier: str

    @classmethod
    def new(cls) -> Login:
        return cls(secrets.token_urlsafe(8), secrets.token_urlsafe(8), secrets.token_urlsafe(48))

    def params(self, **extra: str) -> dict[str, str]:
        challenge = base64.urlsafe_b64encode(hashlib.sha256(self.verifier.encode()).digest())
        return {
            "response_type": "code",
            "client_id": DEFAULT_CLIENT_ID,
            "redirect_uri": REDIRECT,
            "scope": "openid scope_all",
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
            **extra,
        }


def _authorize(mock: PscMock, http: requests.Session, login: Login, **extra: str) -> dict[str, str]:
    answer = http.get(mock.url + "/auth", params=login.params(**extra), allow_redirects=False)
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _token(mock: PscMock, http: requests.Session, **form: str) -> requests.Response:
    return http.post(
        mock.issuer + "/protocol/openid-connect/token",
        data=form,
        auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
    )


def _code_tokens(mock: PscMock, http: requests.Session, **extra: str) -> tuple[Login, Any]:
    login = Login.new()
    code = _authorize(mock, http, login, **extra)["code"]
    answer = _token(
        mock,
        http,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT,
        code_verifier=login.verifier,
    )
    assert answer.status_code == 200, answer.text
    return login, answer.json()


def _claims(mock: PscMock, http: requests.Session, token: str) -> dict[str, Any]:
    jwks = http.get(mock.issuer + "/protocol/openid-connect/certs").json()
    signing = {"keys": [k for k in jwks["keys"] if k.get("use") == "sig"]}
    return dict(jwt.decode(token, KeySet.import_key_set(signing), algorithms=["RS256"]).claims)


# -- discovery ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [DISCOVERY, "/.well-known/openid-configuration"])
def test_discovery_has_the_shape_of_the_real_document(
    psc_mock: PscMock, http: requests.Session, path: str
) -> None:
    document = http.get(psc_mock.issuer + path).json()
    oidc = psc_mock.issuer + "/protocol/openid-connect"
    assert document["issuer"] == psc_mock.url + REALM_PATH
    assert document["authorization_endpoint"] == psc_mock.url + "/auth"  # the wallet front
    assert document["token_endpoint"] == oidc + "/token"
    assert document["jwks_uri"] == oidc + "/certs"
    assert document["backchannel_authentication_endpoint"] == oidc + "/ext/ciba/auth"
    assert document["acr_values_supported"] == ["eidas1", "eidas2", "eidas3"]
    assert "S256" in document["code_challenge_methods_supported"]
    assert {"RS256", "HS256"} <= set(document["id_token_signing_alg_values_supported"])
    assert "poll" in document["backchannel_token_delivery_modes_supported"]
    assert {"client_secret_basic", "private_key_jwt", "tls_client_auth"} <= set(
        document["token_endpoint_auth_methods_supported"]
    )
    assert set(document["mtls_endpoint_aliases"]) >= {"token_endpoint", "userinfo_endpoint"}


def test_published_algorithms_follow_the_mock_setting(
    psc_mock: PscMock, http: requests.Session
) -> None:
    psc_mock.id_token_signing_algs = ["RS256"]
    document = http.get(psc_mock.issuer + DISCOVERY).json()
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    psc_mock.reset()
    assert (
        "HS256"
        in http.get(psc_mock.issuer + DISCOVERY).json()["id_token_signing_alg_values_supported"]
    )


# -- code flow and the token endpoint ------------------------------------------------------------


def test_code_flow_gives_verifiable_tokens_for_the_chosen_professional(
    psc_mock: PscMock, http: requests.Session
) -> None:
    psc_mock.login_as("810009876543", "card")
    login, tokens = _code_tokens(psc_mock, http)
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 120
    claims = _claims(psc_mock, http, tokens["id_token"])
    assert claims["iss"] == psc_mock.issuer and claims["aud"] == DEFAULT_CLIENT_ID
    assert claims["nonce"] == login.nonce
    assert (claims["preferred_username"], claims["acr"], claims["authMode"]) == (
        "810009876543",
        "eidas3",
        "CARD",
    )
    at_hash = base64.urlsafe_b64encode(
        hashlib.sha256(tokens["access_token"].encode()).digest()[:16]
    )
    assert claims["at_hash"] == at_hash.rstrip(b"=").decode()
    userinfo = http.get(
        psc_mock.issuer + "/protocol/openid-connect/userinfo",
        headers={"Authorization": "Bearer " + tokens["access_token"]},
    ).json()
    assert userinfo["SubjectNameID"] == "810009876543"
    assert userinfo["SubjectRefPro"]["exercices"][0]["codeProfession"] == "60"


def test_the_redirect_carries_state_issuer_and_session(
    psc_mock: PscMock, http: requests.Session
) -> None:
    login = Login.new()
    query = _authorize(psc_mock, http, login, login_hint="810005555555", mock_method="ecps")
    assert query["state"] == login.state and query["iss"] == psc_mock.issuer
    assert set(query) == {"state", "session_state", "code", "iss"}


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"nonce": ""}, "invalid_request"),
        ({"scope": "profile"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"acr_values": "eidas9"}, "invalid_request"),
        ({"login_hint": "899999999999"}, "access_denied"),
    ],
)
def test_a_bad_authorization_request_comes_back_as_an_error(
    psc_mock: PscMock, http: requests.Session, change: dict[str, str], error: str
) -> None:
    login = Login.new()
    query = _authorize(psc_mock, http, login, **change)
    assert query["error"] == error and query["state"] == login.state
    assert "code" not in query


def test_an_unregistered_redirect_is_an_error_page_never_a_redirect(
    psc_mock: PscMock, http: requests.Session
) -> None:
    params = Login.new().params(redirect_uri="https://evil.example/callback")
    page = http.get(psc_mock.url + "/auth", params=params, allow_redirects=False)
    assert page.status_code == 400 and "Location" not in page.headers
    assert "redirect_uri" in page.text


def test_token_endpoint_errors(psc_mock: PscMock, http: requests.Session) -> None:
    login = Login.new()
    code = _authorize(psc_mock, http, login)["code"]
    good = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": login.verifier,
    }
    url = psc_mock.issuer + "/protocol/openid-connect/token"
    bad_secret = http.post(url, data=good, auth=(DEFAULT_CLIENT_ID, "wrong"))
    assert (bad_secret.status_code, bad_secret.json()["error"]) == (401, "invalid_client")
    assert bad_secret.headers["WWW-Authenticate"] == 'Bearer error="invalid_client"'
    assert bad_secret.headers["Cache-Control"] == "no-store"
    unsupported = _token(psc_mock, http, grant_type="password")
    assert (unsupported.status_code, unsupported.json()["error"]) == (400, "unsupported_grant_type")
    assert _token(psc_mock, http, **good).status_code == 200
    replayed = _token(psc_mock, http, **good)
    assert (replayed.status_code, replayed.json()) == (
        400,
        {"error": "invalid_grant", "error_description": "Code already used"},
    )
    assert http.get(url).status_code == 405


@pytest.mark.parametrize(
    ("change", "description"),
    [
        ({"code_verifier": "not-the-verifier"}, "PKCE verification failed"),
        ({"code_verifier": ""}, "PKCE verification failed"),
        ({"redirect_uri": "http://127.0.0.1:9999/other"}, "Incorrect redirect_uri"),
        ({"code": "forged"}, "Code not valid"),
    ],
)
def test_a_code_is_redeemed_only_with_its_verifier_and_redirect(
    psc_mock: PscMock, http: requests.Session, change: dict[str, str], description: str
) -> None:
    login = Login.new()
    code = _authorize(psc_mock, http, login)["code"]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": login.verifier,
        **change,
    }
    answer = _token(psc_mock, http, **form)
    assert (answer.status_code, answer.json()["error_description"]) == (400, description)


def test_refresh_tokens_rotate_and_revocation_ends_them(
    psc_mock: PscMock, http: requests.Session
) -> None:
    _, tokens = _code_tokens(psc_mock, http)
    first = tokens["refresh_token"]
    renewed = _token(psc_mock, http, grant_type="refresh_token", refresh_token=first)
    assert renewed.status_code == 200
    assert (
        _token(psc_mock, http, grant_type="refresh_token", refresh_token=first).json()["error"]
        == "invalid_grant"
    )  # used once
    introspect = psc_mock.issuer + "/protocol/openid-connect/token/introspect"
    access = renewed.json()["access_token"]
    auth = (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
    assert http.post(introspect, data={"token": access}, auth=auth).json()["active"] is True
    revoke = psc_mock.issuer + "/protocol/openid-connect/revoke"
    assert http.post(revoke, data={"token": access}, auth=auth).status_code == 200
    assert http.post(introspect, data={"token": access}, auth=auth).json() == {"active": False}
    userinfo = http.get(
        psc_mock.issuer + "/protocol/openid-connect/userinfo",
        headers={"Authorization": "Bearer " + access},
    )
    assert userinfo.status_code == 401
    assert userinfo.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_tokens_expire_on_the_mock_clock(psc_mock: PscMock, http: requests.Session) -> None:
    _, tokens = _code_tokens(psc_mock, http)
    psc_mock.advance_clock(121)
    userinfo = http.get(
        psc_mock.issuer + "/protocol/openid-connect/userinfo",
        headers={"Authorization": "Bearer " + tokens["access_token"]},
    )
    assert userinfo.status_code == 401


# -- faults ------------------------------------------------------------------------------------


def test_id_token_faults_forge_the_next_answers(psc_mock: PscMock, http: requests.Session) -> None:
    psc_mock.inject_id_token_fault("wrong_nonce")
    psc_mock.inject_id_token_fault("expired")
    login, tokens = _code_tokens(psc_mock, http)
    assert _claims(psc_mock, http, tokens["id_token"])["nonce"] == "not-" + login.nonce
    _, tokens = _code_tokens(psc_mock, http)
    with pytest.raises(ExpiredTokenError):
        jwt.JWTClaimsRegistry(exp={"essential": True}).validate(
            _claims(psc_mock, http, tokens["id_token"])
        )
    login, tokens = _code_tokens(psc_mock, http)  # count 1 each: a normal answer again
    assert _claims(psc_mock, http, tokens["id_token"])["nonce"] == login.nonce
    with pytest.raises(ValueError, match=r"unknown fault 'expird'; known: .*alg_none"):
        psc_mock.inject_id_token_fault("expird")


def test_endpoint_faults_hit_their_endpoint_only(psc_mock: PscMock, http: requests.Session) -> None:
    psc_mock.inject_endpoint_fault("token", "http503", count=2)
    psc_mock.inject_endpoint_fault("certs", "latency:1")
    discovery = http.get(psc_mock.issuer + DISCOVERY)  # another endpoint: untouched
    assert discovery.status_code == 200
    login = Login.new()
    code = _authorize(psc_mock, http, login)["code"]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": login.verifier,
    }
    busy = _token(psc_mock, http, **form)
    assert (busy.status_code, busy.headers["Content-Type"]) == (
        503,
        "text/html; charset=iso-8859-1",
    )
    assert _token(psc_mock, http, **form).status_code == 503
    assert _token(psc_mock, http, **form).status_code == 200  # the code was never consumed
    with pytest.raises(requests.Timeout):
        http.get(psc_mock.issuer + "/protocol/openid-connect/certs", timeout=0.3)
    deadline = time.monotonic() + 5
    while len([r for r in psc_mock.requests if r.fault]) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)  # the slow answer is logged once the mock has sent it
    assert [r.fault for r in psc_mock.requests if r.fault] == ["http503", "http503", "latency:1"]
    with pytest.raises(ValueError, match="unknown endpoint"):
        psc_mock.inject_endpoint_fault("jwks", "http500")
    with pytest.raises(ValueError, match="unknown fault 'reset'"):
        psc_mock.inject_endpoint_fault("token", "reset")


def test_generic_faults_apply_to_any_endpoint(psc_mock: PscMock, http: requests.Session) -> None:
    psc_mock.inject("http500_html")
    assert http.get(psc_mock.issuer + DISCOVERY).status_code == 500
    assert http.get(psc_mock.issuer + DISCOVERY).status_code == 200
    assert psc_mock.hits["discovery"] == 1  # the front answered the first one


# -- control endpoint ----------------------------------------------------------------------------


def test_control_endpoint_injects_lists_and_clears_psc_faults(
    psc_mock: PscMock, http: requests.Session, control: requests.Session
) -> None:
    faults = psc_mock.url + "/_mock/psc/faults"
    assert control.post(faults, json={"id_token": "tampered", "count": None}).status_code == 201
    assert (
        control.post(faults, json={"endpoint": "userinfo", "fault": "http500"}).status_code == 201
    )
    listing = control.get(psc_mock.url + "/_mock/faults").json()["faults"]
    assert listing == [
        {"fault": "tampered", "remaining": None, "target": "id_token"},
        {"fault": "http500", "remaining": 1, "target": "userinfo"},
    ]
    refused = control.post(faults, json={"endpoint": "token", "fault": "http418"})
    assert refused.status_code == 400 and "http503" in refused.json()["error"]
    assert control.post(faults, json={"id_token": "expired", "count": 0}).status_code == 400
    assert control.delete(faults).json() == {"cleared": True}
    assert control.get(psc_mock.url + "/_mock/faults").json() == {"faults": []}
    assert requests.post(faults, json={}, verify=http.verify, timeout=5).status_code == 403


def test_control_endpoint_rotates_keys(
    psc_mock: PscMock, http: requests.Session, control: requests.Session
) -> None:
    certs = psc_mock.issuer + "/protocol/openid-connect/certs"
    before = [k["kid"] for k in http.get(certs).json()["keys"] if k["use"] == "sig"]
    kid = control.post(psc_mock.url + "/_mock/psc/rotate-keys", json={}).json()["kid"]
    after = [k["kid"] for k in http.get(certs).json()["keys"] if k["use"] == "sig"]
    assert after == [*before, kid]  # the previous key stays published
    _, tokens = _code_tokens(psc_mock, http)
    header = jwt.decode(tokens["id_token"], KeySet.import_key_set(http.get(certs).json())).header
    assert header["kid"] == kid
    alone = control.post(psc_mock.url + "/_mock/psc/rotate-keys", json={"keep_previous": False})
    assert [k["kid"] for k in http.get(certs).json()["keys"] if k["use"] == "sig"] == [
        alone.json()["kid"]
    ]
    encryption = [k for k in http.get(certs).json()["keys"] if k["use"] == "enc"]
    assert [k["alg"] for k in encryption] == ["RSA-OAEP"]  # to be skipped by a client
    psc_mock.reset()
    assert [k["kid"] for k in http.get(certs).json()["keys"] if k["use"] == "sig"] == before


def test_control_endpoint_switches_the_login_page_and_logs_in_as(
    psc_mock: PscMock, http: requests.Session, control: requests.Session
) -> None:
    page_switch = psc_mock.url + "/_mock/psc/login-page"
    assert control.get(page_switch).json() == {"enabled": False}
    assert control.post(page_switch, json={"enabled": True}).json() == {"enabled": True}
    page = http.get(psc_mock.url + "/auth", params=Login.new().params())
    assert page.status_code == 200 and "Fournisseur de TEST" in page.text
    assert control.post(page_switch, json={"enabled": "oui"}).status_code == 400
    assert control.post(page_switch, json={"enabled": False}).json() == {"enabled": False}
    who = control.post(psc_mock.url + "/_mock/psc/login-as", json={"national_id": "810005555555"})
    assert who.json() == {"login_as": "810005555555"}
    _, tokens = _code_tokens(psc_mock, http)
    assert _claims(psc_mock, http, tokens["id_token"])["preferred_username"] == "810005555555"
    unknown = control.post(psc_mock.url + "/_mock/psc/login-as", json={"national_id": "1"})
    assert unknown.status_code == 400 and "unknown test professional" in unknown.json()["error"]


# -- the login page ------------------------------------------------------------------------------


def _page(mock: PscMock, http: requests.Session, login: Login) -> str:
    page = http.get(mock.url + "/auth", params=login.params())
    assert page.status_code == 200
    match = re.search(r'name="login_id" value="([^"]+)"', page.text)
    assert match is not None
    return match.group(1)


def test_the_login_page_logs_in_the_chosen_professional_once(
    psc_mock_login_page: PscMock, http: requests.Session
) -> None:
    mock = psc_mock_login_page
    login = Login.new()
    login_id = _page(mock, http, login)
    form = {"login_id": login_id, "professional": "810001234567", "method": "card"}
    answer = http.post(mock.url + "/auth/approve", data=form, allow_redirects=False)
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["state"] == [login.state] and "code" in query
    again = http.post(mock.url + "/auth/approve", data=form, allow_redirects=False)
    assert again.status_code == 400 and "Location" not in again.headers  # single use


def test_the_login_page_cancel_and_missing_choice(
    psc_mock_login_page: PscMock, http: requests.Session
) -> None:
    mock = psc_mock_login_page
    login_id = _page(mock, http, Login.new())
    missing = http.post(mock.url + "/auth/approve", data={"login_id": login_id})
    assert missing.status_code == 400 and "Choisissez un professionnel" in missing.text
    cancel = http.post(
        mock.url + "/auth/approve",
        data={"login_id": login_id, "decision": "cancel"},
        allow_redirects=False,
    )
    assert parse_qs(urlsplit(cancel.headers["Location"]).query)["error"] == ["access_denied"]
    assert [r.details.get("error") for r in mock.requests[-2:]] == [
        "no_professional_chosen",
        "access_denied",
    ]


def test_the_login_page_expires(psc_mock_login_page: PscMock, http: requests.Session) -> None:
    mock = psc_mock_login_page
    login_id = _page(mock, http, Login.new())
    mock.advance_clock(1801)
    late = http.post(
        mock.url + "/auth/approve", data={"login_id": login_id, "professional": "810001234567"}
    )
    assert late.status_code == 400 and "expirée" in late.text


# -- logs ----------------------------------------------------------------------------------------


def test_the_request_log_names_endpoints_without_tokens(
    psc_mock: PscMock, http: requests.Session
) -> None:
    _, tokens = _code_tokens(psc_mock, http)
    records = psc_mock.requests
    assert [r.details["endpoint"] for r in records] == ["authorize", "token"]
    assert records[1].details["client_auth"] == "client_secret_basic"
    text = repr(records)
    assert tokens["access_token"] not in text and tokens["refresh_token"] not in text
    assert "code=" not in text
