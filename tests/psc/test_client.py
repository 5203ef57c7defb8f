"""The PSC client against the PSC mock: code flow, id_token faults, keys, CIBA, exchange."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from joserfc.jwk import RSAKey
from segurlink_mocks.psc import MockClient, PscMock

from segurlink.config import Secret, Settings
from segurlink.errors import (
    ConfigurationError,
    HttpStatusError,
    MalformedResponse,
    OidcError,
    TransportTimeout,
)
from segurlink.psc import PscClient, PscSettings, Rejection


@pytest.fixture
def client(psc_settings: Settings) -> Iterator[PscClient]:
    with PscClient.from_settings(psc_settings) as c:
        yield c


def _browser_login(client: PscClient, pki: Any, **extra: str) -> Any:
    """What the browser does: follow the URL to the mock; return the callback URL."""
    request = client.authorization_request(extra=extra or None)
    answer = requests.get(request.url, verify=str(pki.ca), allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    return request, answer.headers["Location"]


def _login(client: PscClient, pki: Any, **extra: str) -> Any:
    request, callback = _browser_login(client, pki, **extra)
    return client.finish_login(callback, request)


# -- code flow -----------------------------------------------------------------------------


def test_full_code_flow_gives_the_professional_identity(
    client: PscClient, psc_mock: PscMock, segurlink_pki: Any
) -> None:
    login = _login(client, segurlink_pki)
    assert login.claims.acr == "eidas1"
    identity = login.identity
    assert identity.rpps == "10001234567"
    assert (identity.given_name, identity.family_name, identity.civility) == (
        "Paul",
        "MEDECIN-TEST",
        "M",
    )
    hospital = identity.exercices[0].activities[1]
    assert (hospital.finess_site, hospital.finess_legal_entity, hospital.siret) == (
        "010000024",
        "010000016",
        "00000000016972",
    )
    assert identity.exercices[0].activities[0].finess_site is None
    # The mock saw PKCE S256 and PSC's parameters.
    sent = psc_mock.last_authorization
    assert (sent["code_challenge_method"], sent["acr_values"], sent["scope"]) == (
        "S256",
        "eidas1",
        "openid scope_all",
    )


def test_card_login_is_eidas3_and_accepted_by_default(
    client: PscClient, psc_mock: PscMock, segurlink_pki: Any
) -> None:
    # What real card logins carry (psc-samples introspection: acr eidas3).
    psc_mock.login_as("810009876543", "card")
    login = _login(client, segurlink_pki)
    assert (login.claims.acr, login.claims.auth_mode) == ("eidas3", "CARD")
    assert login.identity.exercices[0].profession == "60"


def test_a_client_requiring_eidas1_only_refuses_card_logins(
    psc_mock: PscMock, segurlink_pki: Any
) -> None:
    settings = _settings(psc_mock, segurlink_pki, accepted_acr=["eidas1"])
    psc_mock.login_as("810009876543", "card")
    with PscClient.from_settings(settings) as strict:
        with pytest.raises(OidcError) as info:
            _login(strict, segurlink_pki)
        assert info.value.error == Rejection.ACR_NOT_ACCEPTED
        psc_mock.login_as("810009876543", "ecps")
        assert _login(strict, segurlink_pki).claims.acr == "eidas1"


def _settings(psc_mock: PscMock, pki: Any, **psc: Any) -> Settings:
    return Settings.from_mapping(
        {"tls": {"ca_bundle": str(pki.ca)}, "psc": {**psc_mock.settings_table(), **psc}}
    )


def test_professional_without_activities(client: PscClient, segurlink_pki: Any) -> None:
    login = _login(client, segurlink_pki, login_hint="810005555555")
    assert login.identity.exercices[0].activities == ()


def test_code_cannot_be_used_twice(client: PscClient, segurlink_pki: Any) -> None:
    request, callback = _browser_login(client, segurlink_pki)
    client.finish_login(callback, request)
    with pytest.raises(OidcError) as info:
        client.finish_login(callback, request)
    assert info.value.error == "invalid_grant"


def test_wrong_pkce_verifier_is_refused_by_the_provider(
    client: PscClient, segurlink_pki: Any
) -> None:
    request, callback = _browser_login(client, segurlink_pki)
    forged = replace(request, code_verifier=Secret("x" * 64))
    with pytest.raises(OidcError) as info:
        client.finish_login(callback, forged)
    assert info.value.error == "invalid_grant"


def test_callback_of_another_login_is_refused(client: PscClient, segurlink_pki: Any) -> None:
    _, callback = _browser_login(client, segurlink_pki)
    other = client.authorization_request()
    with pytest.raises(OidcError) as info:
        client.finish_login(callback, other)
    assert info.value.error == Rejection.STATE_MISMATCH


MOCK_FAULTS = [
    ("expired", Rejection.EXPIRED),
    ("tampered", Rejection.INVALID_SIGNATURE),
    ("wrong_nonce", Rejection.NONCE_MISMATCH),
    ("missing_nonce", Rejection.NONCE_MISMATCH),
    ("unknown_kid", Rejection.UNKNOWN_KID),
    ("wrong_issuer", Rejection.INVALID_ISSUER),
    ("wrong_audience", Rejection.INVALID_AUDIENCE),
    ("wrong_azp", Rejection.INVALID_AZP),
    ("bad_at_hash", Rejection.AT_HASH_MISMATCH),
    ("future_iat", Rejection.ISSUED_IN_FUTURE),
    ("wrong_acr", Rejection.ACR_NOT_ACCEPTED),
    ("alg_none", Rejection.UNSUPPORTED_ALG),
]


@pytest.mark.parametrize(("fault", "error"), MOCK_FAULTS, ids=[f for f, _ in MOCK_FAULTS])
def test_forged_id_tokens_from_the_provider_are_refused(
    client: PscClient, psc_mock: PscMock, segurlink_pki: Any, fault: str, error: str
) -> None:
    psc_mock.inject_id_token_fault(fault)
    with pytest.raises(OidcError) as info:
        _login(client, segurlink_pki)
    assert info.value.error == error


def test_hs256_id_token_signed_with_the_secret_is_accepted(
    client: PscClient, psc_mock: PscMock, segurlink_pki: Any
) -> None:
    # The real discovery document lists HS256: the secret-signed id_token is valid.
    assert "HS256" in psc_mock.id_token_signing_algs
    psc_mock.inject_id_token_fault("hs256")
    assert _login(client, segurlink_pki).claims.acr == "eidas1"


def test_hs256_id_token_refused_when_the_provider_publishes_rs256_only(
    psc_settings: Settings, psc_mock: PscMock, segurlink_pki: Any
) -> None:
    psc_mock.id_token_signing_algs = ["RS256"]
    with PscClient.from_settings(psc_settings) as client:
        assert client.metadata().id_token_signing_algs == ("RS256",)
        psc_mock.inject_id_token_fault("hs256")
        with pytest.raises(OidcError) as info:
            _login(client, segurlink_pki)
        assert info.value.error == Rejection.UNSUPPORTED_ALG
        assert "'HS256'" in info.value.message
        assert _login(client, segurlink_pki).claims.acr == "eidas1"  # RS256 still passes


def test_hs256_id_token_refused_when_the_client_registered_rs256(
    psc_mock: PscMock, segurlink_pki: Any
) -> None:
    settings = _settings(psc_mock, segurlink_pki, id_token_signed_response_alg="RS256")
    with PscClient.from_settings(settings) as client:
        psc_mock.inject_id_token_fault("hs256")
        with pytest.raises(OidcError) as info:
            _login(client, segurlink_pki)
        assert info.value.error == Rejection.UNSUPPORTED_ALG
        assert _login(client, segurlink_pki).claims.acr == "eidas1"
    # A client registered for HS256 accepts it, and then only it.
    settings = _settings(psc_mock, segurlink_pki, id_token_signed_response_alg="HS256")
    with PscClient.from_settings(settings) as client:
        psc_mock.inject_id_token_fault("hs256")
        assert _login(client, segurlink_pki).claims.acr == "eidas1"
        with pytest.raises(OidcError) as info:
            _login(client, segurlink_pki)  # the mock's usual RS256
        assert info.value.error == Rejection.UNSUPPORTED_ALG


def test_registered_algorithm_the_provider_does_not_publish_is_a_configuration_error(
    psc_mock: PscMock, segurlink_pki: Any
) -> None:
    psc_mock.id_token_signing_algs = ["RS256"]
    settings = _settings(psc_mock, segurlink_pki, id_token_signed_response_alg="PS256")
    with PscClient.from_settings(settings) as client:
        request, callback = _browser_login(client, segurlink_pki)
        with pytest.raises(ConfigurationError, match="PS256"):
            client.finish_login(callback, request)


# -- keys -----------------------------------------------------------------------------------


def test_max_age_refuses_a_provider_that_sends_a_stale_authentication(
    client: PscClient, psc_mock: PscMock, segurlink_pki: Any
) -> None:
    # The provider ignores max_age and reports a login an hour old: refused.
    psc_mock.inject_id_token_fault("stale_auth_time", count=2)
    request = client.authorization_request(max_age=300)
    answer = requests.get(
        request.url, verify=str(segurlink_pki.ca), allow_redirects=False, timeout=10
    )
    assert psc_mock.last_authorization["max_age"] == "300"
    with pytest.raises(OidcError) as info:
        client.finish_login(answer.headers["Location"], request)
    assert info.value.error == Rejection.LOGIN_TOO_OLD
    # without max_age the same token is fine; a fresh login passes max_age
    assert _login(client, segurlink_pki).claims.auth_time is not None
    request = client.authorization_request(max_age=300)
    answer = requests.get(
        request.url, verify=str(segurlink_pki.ca), allow_redirects=False, timeout=10
    )
    assert client.finish_login(answer.headers["Location"], request).claims.acr == "eidas1"


def test_key_rotation_refetches_the_jwks_once(
    client: PscClient, psc_mock: PscMock, segurlink_pki: Any
) -> None:
    _login(client, segurlink_pki)
    assert psc_mock.hits["certs"] == 1
    _login(client, segurlink_pki)
    assert psc_mock.hits["certs"] == 1  # cached
    psc_mock.rotate_keys(keep_previous=False)
    _login(client, segurlink_pki)
    assert psc_mock.hits["certs"] == 2  # one re-fetch for the new kid


def test_unknown_kid_refetches_once_then_refuses(
    client: PscClient, psc_mock: PscMock, segurlink_pki: Any
) -> None:
    _login(client, segurlink_pki)
    psc_mock.inject_id_token_fault("unknown_kid")
    with pytest.raises(OidcError, match="unknown_kid"):
        _login(client, segurlink_pki)
    assert psc_mock.hits["certs"] == 2
    assert psc_mock.hits["discovery"] == 1


def test_discovery_and_keys_are_cached_for_cache_seconds(
    psc_settings: Settings, psc_mock: PscMock, segurlink_pki: Any
) -> None:
    fake = FakeTime()

    def later(seconds: float) -> None:  # the client's and the provider's clocks together
        fake.now += seconds
        psc_mock.advance_clock(seconds)

    with PscClient.from_settings(psc_settings, clock=fake.clock) as client:
        _login(client, segurlink_pki)
        later(3000)  # within the default hour: nothing fetched again
        _login(client, segurlink_pki)
        assert (psc_mock.hits["discovery"], psc_mock.hits["certs"]) == (1, 1)
        later(700)  # past the hour: both are read again
        _login(client, segurlink_pki)
        assert (psc_mock.hits["discovery"], psc_mock.hits["certs"]) == (2, 2)


# -- session reuse ---------------------------------------------------------------------------


def test_refresh_rotates_tokens(client: PscClient, psc_mock: PscMock, segurlink_pki: Any) -> None:
    login = _login(client, segurlink_pki)
    fresh = client.refresh(login.tokens)
    assert fresh.access_token.reveal() != login.tokens.access_token.reveal()
    with pytest.raises(OidcError) as info:  # the old refresh token was rotated out
        client.refresh(login.tokens)
    assert info.value.error == "invalid_grant"


def test_token_provider_refreshes_an_expiring_access_token(
    psc_settings: Settings, psc_mock: PscMock, segurlink_pki: Any
) -> None:
    now = [0.0]
    import time as _time

    now[0] = _time.time()
    with PscClient.from_settings(psc_settings, clock=lambda: now[0]) as client:
        login = _login(client, segurlink_pki)
        provider = client.token_provider(login.tokens)
        first = provider.access_token()
        assert provider.access_token() == first  # still fresh: no refresh
        now[0] += 110  # access token (120 s) within the 15 s margin
        second = provider.access_token()
        assert second != first
        assert client.userinfo(Secret(second)).national_id == "810001234567"
        now[0] += 4000  # refresh token (30 min) gone too
        with pytest.raises(OidcError) as info:
            provider.access_token()
        assert info.value.error == Rejection.SESSION_EXPIRED


def test_expired_access_token_is_refused_by_userinfo(
    client: PscClient, psc_mock: PscMock, segurlink_pki: Any
) -> None:
    login = _login(client, segurlink_pki)
    psc_mock.advance_clock(600)
    with pytest.raises(OidcError) as info:
        client.userinfo(login.tokens)
    assert info.value.error == "invalid_token"


def test_signed_userinfo(client: PscClient, psc_mock: PscMock, segurlink_pki: Any) -> None:
    psc_mock.userinfo_signed = True
    assert _login(client, segurlink_pki).identity.rpps == "10001234567"


def test_introspection_and_backchannel_logout(client: PscClient, segurlink_pki: Any) -> None:
    login = _login(client, segurlink_pki)
    active = client.introspect(login.tokens)
    assert (active.active, active.national_id, active.acr) == (True, "810001234567", "eidas1")
    client.logout(login.tokens)
    assert client.introspect(login.tokens).active is False


def test_browser_logout_url_ends_the_session(client: PscClient, segurlink_pki: Any) -> None:
    login = _login(client, segurlink_pki)
    url = client.logout_url(
        login.tokens, post_logout_redirect_uri="https://dui.example/psc/callback", state="bye"
    )
    answer = requests.get(url, verify=str(segurlink_pki.ca), allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    assert answer.headers["Location"] == "https://dui.example/psc/callback?state=bye"
    assert client.introspect(login.tokens).active is False


# -- client authentication methods -------------------------------------------------------------


def test_private_key_jwt(
    psc_settings: Settings, psc_mock: PscMock, segurlink_pki: Any, tmp_path: Path
) -> None:
    key = RSAKey.generate_key(2048)
    pem = tmp_path / "client.key"
    pem.write_bytes(key.as_pem(private=True))
    psc_mock.register_client(
        MockClient(
            "dui-pkjwt",
            redirect_uris=("http://127.0.0.1/callback",),
            auth_methods=("private_key_jwt",),
            jwks={"keys": [key.as_dict(private=False)]},
        )
    )
    settings = Settings.from_mapping(
        {
            "tls": {"ca_bundle": str(segurlink_pki.ca)},
            "psc": {
                "issuer": psc_mock.issuer,
                "client_id": "dui-pkjwt",
                "auth_method": "private_key_jwt",
                "private_key": str(pem),
                "redirect_uri": "http://127.0.0.1/callback",
            },
        }
    )
    with PscClient.from_settings(settings) as client:
        assert _login(client, segurlink_pki).identity.rpps == "10001234567"


def test_tls_client_auth(psc_mock: PscMock, segurlink_pki: Any) -> None:
    cert = segurlink_pki.issue_client("psc-org-auth", "ORG-AUTH-PSC")
    psc_mock.register_client(
        MockClient(
            "dui-mtls",
            redirect_uris=("http://127.0.0.1/callback",),
            auth_methods=("tls_client_auth",),
            tls_cn="ORG-AUTH-PSC",
        )
    )
    table = {
        "issuer": psc_mock.issuer,
        "client_id": "dui-mtls",
        "auth_method": "tls_client_auth",
        "redirect_uri": "http://127.0.0.1/callback",
        "cert": str(cert.cert),
        "key": str(cert.key),
    }
    settings = Settings.from_mapping({"tls": {"ca_bundle": str(segurlink_pki.ca)}, "psc": table})
    with PscClient.from_settings(settings) as client:
        assert _login(client, segurlink_pki).claims.acr == "eidas1"
        token_calls = [r for r in psc_mock.requests if r.details.get("endpoint") == "token"]
        assert token_calls[-1].details["client_auth"] == "tls_client_auth"


def test_wrong_secret_is_invalid_client(psc_mock: PscMock, segurlink_pki: Any) -> None:
    table = {**psc_mock.settings_table(), "client_secret": "wrong"}
    settings = Settings.from_mapping({"tls": {"ca_bundle": str(segurlink_pki.ca)}, "psc": table})
    with PscClient.from_settings(settings) as client, pytest.raises(OidcError) as info:
        _login(client, segurlink_pki)
    assert info.value.error == "invalid_client"


# -- token exchange -----------------------------------------------------------------------------


def test_token_exchange_over_mtls(psc_mock: PscMock, segurlink_pki: Any) -> None:
    cert = segurlink_pki.issue_client("psc-org-auth", "ORG-AUTH-PSC")
    table = {**psc_mock.settings_table(), "cert": str(cert.cert), "key": str(cert.key)}
    settings = Settings.from_mapping({"tls": {"ca_bundle": str(segurlink_pki.ca)}, "psc": table})
    with PscClient.from_settings(settings) as client:
        login = _login(client, segurlink_pki)
        exchanged = client.exchange_token(login.tokens, audience="psc-protected-api")
    assert exchanged.issued_token_type == "urn:ietf:params:oauth:token-type:access_token"
    assert psc_mock.last_token_exchange["client_cn"] == "ORG-AUTH-PSC"
    assert psc_mock.last_token_exchange["audience"] == "psc-protected-api"


def test_token_exchange_needs_a_certificate(client: PscClient, segurlink_pki: Any) -> None:
    login = _login(client, segurlink_pki)
    with pytest.raises(ConfigurationError):
        client.exchange_token(login.tokens)


# -- CIBA -------------------------------------------------------------------------------------


def test_ciba_poll_against_the_mock(client: PscClient, psc_mock: PscMock) -> None:
    # Real waiting: interval 1 s, one authorization_pending, then the tokens.
    login = client.ciba_login("810009876543", binding_message="DUI-1234", channel="CARD")
    assert (login.claims.acr, login.claims.auth_mode) == ("eidas3", "CARD")
    assert login.identity is not None and login.identity.national_id == "810009876543"
    assert psc_mock.last_ciba["binding_message"] == "DUI-1234"
    assert psc_mock.last_ciba["login_hint"] == "810009876543"


class FakeTime:
    def __init__(self) -> None:
        import time

        self.now = time.time()
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_ciba_honours_slow_down(psc_settings: Settings, psc_mock: PscMock) -> None:
    psc_mock.ciba_enforce_interval = False
    psc_mock.ciba_script = ["pending", "slow_down", "pending", "approve"]
    fake = FakeTime()
    with PscClient.from_settings(psc_settings, clock=fake.clock, sleep=fake.sleep) as client:
        tokens = client.poll_ciba(client.start_ciba("810001234567"))
    assert tokens.id_token
    assert fake.sleeps == [1.0, 1.0, 6.0, 6.0]


def test_ciba_interval_zero_is_raised_to_one_second(
    psc_settings: Settings, psc_mock: PscMock
) -> None:
    import dataclasses

    psc_mock.ciba_enforce_interval = False
    psc_mock.ciba_script = ["pending", "pending", "approve"]
    fake = FakeTime()
    with PscClient.from_settings(psc_settings, clock=fake.clock, sleep=fake.sleep) as client:
        request = dataclasses.replace(client.start_ciba("810001234567"), interval=0.0)
        assert client.poll_ciba(request).id_token
    assert fake.sleeps == [1.0, 1.0, 1.0]


def test_ciba_stops_at_expiry(psc_settings: Settings, psc_mock: PscMock) -> None:
    psc_mock.ciba_enforce_interval = False
    psc_mock.ciba_script = ["pending"]
    psc_mock.ciba_expires_in = 5
    fake = FakeTime()
    with PscClient.from_settings(psc_settings, clock=fake.clock, sleep=fake.sleep) as client:
        with pytest.raises(OidcError) as info:
            client.poll_ciba(client.start_ciba("810001234567"))
    assert info.value.error == "expired_token"
    assert sum(fake.sleeps) == pytest.approx(5.0)


def test_ciba_caps_what_a_hostile_provider_announces(
    psc_settings: Settings, psc_mock: PscMock
) -> None:
    # The provider says: valid for ten hours, poll once an hour, and never decides.
    psc_mock.ciba_expires_in = 36_000
    psc_mock.ciba_interval = 3_600
    psc_mock.ciba_enforce_interval = False
    psc_mock.ciba_script = ["pending"]
    fake = FakeTime()
    started = fake.now
    with PscClient.from_settings(psc_settings, clock=fake.clock, sleep=fake.sleep) as client:
        request = client.start_ciba("810001234567")
        assert (request.expires_at - started, request.interval) == (300.0, 30.0)
        with pytest.raises(OidcError) as info:
            client.poll_ciba(request)
    assert info.value.error == "expired_token"
    assert fake.now - started == pytest.approx(300.0)  # the documented default cap
    assert fake.sleeps == [30.0] * 10


def test_ciba_caps_are_configurable_and_bound_slow_down(
    psc_mock: PscMock, segurlink_pki: Any
) -> None:
    psc_mock.ciba_enforce_interval = False
    psc_mock.ciba_script = ["slow_down"]  # slows the caller down at every poll, forever
    settings = _settings(psc_mock, segurlink_pki, ciba_max_expires_in=60, ciba_max_interval=12)
    fake = FakeTime()
    started = fake.now
    with PscClient.from_settings(settings, clock=fake.clock, sleep=fake.sleep) as client:
        with pytest.raises(OidcError) as info:
            client.poll_ciba(client.start_ciba("810001234567"))
    assert info.value.error == "expired_token"
    assert fake.now - started == pytest.approx(60.0)
    # 1 s announced, +5 s per slow_down, never more than the configured 12 s
    assert fake.sleeps[:4] == [1.0, 6.0, 11.0, 12.0]
    assert max(fake.sleeps) == 12.0


def test_ciba_configured_interval_cap_holds_for_announced_and_given_requests(
    psc_mock: PscMock, segurlink_pki: Any
) -> None:
    psc_mock.ciba_interval = 3_600
    psc_mock.ciba_enforce_interval = False
    psc_mock.ciba_script = ["pending", "approve"]
    settings = _settings(psc_mock, segurlink_pki, ciba_max_interval=12)
    fake = FakeTime()
    with PscClient.from_settings(settings, clock=fake.clock, sleep=fake.sleep) as client:
        request = client.start_ciba("810001234567")
        assert request.interval == 12.0
        # a request built or kept by the caller is held to the cap as well
        assert client.poll_ciba(replace(request, interval=3_600.0)).id_token
    assert fake.sleeps == [12.0, 12.0]


@pytest.mark.parametrize(
    "table",
    [
        {"ciba_max_expires_in": 0},
        {"ciba_max_interval": 0.5},
        {"id_token_signed_response_alg": "none"},
    ],
)
def test_bad_psc_limits_are_configuration_errors(
    psc_mock: PscMock, segurlink_pki: Any, table: dict[str, Any]
) -> None:
    with pytest.raises(ConfigurationError):
        PscSettings.from_settings(_settings(psc_mock, segurlink_pki, **table))
    # HS256 is signed with the client secret: registering it without one is an error.
    with pytest.raises(ConfigurationError, match="needs client_secret"):
        PscSettings(
            issuer=psc_mock.issuer,
            client_id="c",
            auth_method="private_key_jwt",
            private_key=Path("k.pem"),
            id_token_signed_response_alg="HS256",
        )


def test_ciba_denied_and_unknown_user(client: PscClient, psc_mock: PscMock) -> None:
    psc_mock.ciba_enforce_interval = False
    psc_mock.ciba_script = ["deny"]
    with pytest.raises(OidcError) as info:
        client.ciba_login("810001234567")
    assert info.value.error == "access_denied"
    with pytest.raises(OidcError) as info:
        client.start_ciba("899999999999")
    assert info.value.error == "unknown_user_id"


def test_mock_answers_slow_down_to_a_too_eager_poller(
    psc_settings: Settings, psc_mock: PscMock
) -> None:
    fake = FakeTime()  # fake sleep: the client polls at once, faster than the real interval
    psc_mock.ciba_script = ["pending", "pending", "approve"]
    with PscClient.from_settings(psc_settings, clock=fake.clock, sleep=fake.sleep) as client:
        request = client.start_ciba("810001234567")
        with pytest.raises(OidcError):
            # after slow_down the fake clock keeps going, the mock keeps refusing: expiry
            client.poll_ciba(replace(request, expires_at=fake.now + 20))
    assert 6.0 in fake.sleeps


# -- transport faults ------------------------------------------------------------------------


def test_token_endpoint_503_is_an_http_status_error(
    client: PscClient, psc_mock: PscMock, segurlink_pki: Any
) -> None:
    psc_mock.inject_endpoint_fault("token", "http503")
    with pytest.raises(HttpStatusError) as info:
        _login(client, segurlink_pki)
    assert info.value.status == 503


def test_slow_userinfo_times_out(psc_mock: PscMock, segurlink_pki: Any) -> None:
    settings = Settings.from_mapping(
        {
            "tls": {"ca_bundle": str(segurlink_pki.ca)},
            "timeouts": {"connect": 2.0, "read": 0.5},
            "psc": psc_mock.settings_table(),
        }
    )
    with PscClient.from_settings(settings) as client:
        request, callback = _browser_login(client, segurlink_pki)
        psc_mock.inject_endpoint_fault("userinfo", "latency:1.5")
        with pytest.raises(TransportTimeout):
            client.finish_login(callback, request)


def test_discovery_falls_back_to_the_standard_path(httpserver: Any) -> None:
    issuer = httpserver.url_for("/realm").rstrip("/")
    httpserver.expect_request("/realm/.well-known/wallet-openid-configuration").respond_with_data(
        "", status=404
    )
    httpserver.expect_request("/realm/.well-known/openid-configuration").respond_with_json(
        {
            "issuer": issuer,
            "authorization_endpoint": issuer + "/auth",
            "token_endpoint": issuer + "/token",
            "jwks_uri": issuer + "/certs",
        }
    )
    settings = PscSettings(issuer=issuer, client_id="dui", client_secret=Secret("s"))
    with PscClient(settings) as client:
        assert client.metadata().token_endpoint == issuer + "/token"


def test_discovery_of_another_issuer_is_refused(httpserver: Any) -> None:
    issuer = httpserver.url_for("/realm").rstrip("/")
    httpserver.expect_request("/realm/.well-known/wallet-openid-configuration").respond_with_json(
        {
            "issuer": "https://evil.test/realm",
            "authorization_endpoint": "x",
            "token_endpoint": "y",
            "jwks_uri": "z",
        }
    )
    with PscClient(
        PscSettings(issuer=issuer, client_id="dui", client_secret=Secret("s"))
    ) as client:
        with pytest.raises(OidcError) as info:
            client.metadata()
    assert info.value.error == Rejection.DISCOVERY_ISSUER_MISMATCH


def _login_page(client: PscClient, pki: Any, **extra: str) -> tuple[Any, str]:
    request = client.authorization_request(extra=extra or None)
    page = requests.get(request.url, verify=str(pki.ca), timeout=10)
    assert page.status_code == 200, page.text
    return request, page.text


def _login_id(page: str) -> str:
    match = re.search(r'name="login_id" value="([^"]+)"', page)
    assert match is not None, page
    return match.group(1)


def _submit(mock: PscMock, pki: Any, form: dict[str, str]) -> requests.Response:
    return requests.post(
        mock.url + "/auth/approve",
        data=form,
        verify=str(pki.ca),
        allow_redirects=False,
        timeout=10,
    )


def test_login_page_when_not_auto_approving(
    client: PscClient, psc_mock_login_page: PscMock, segurlink_pki: Any
) -> None:
    request, page = _login_page(client, segurlink_pki)
    assert "810009876543" in page and "Fournisseur de TEST" in page
    # The professional picks a test identity and the card, then submits the form.
    answer = _submit(
        psc_mock_login_page,
        segurlink_pki,
        {"login_id": _login_id(page), "professional": "810009876543", "method": "card"},
    )
    login = client.finish_login(answer.headers["Location"], request)
    assert login.identity is not None
    assert (login.claims.acr, login.identity.national_id) == ("eidas3", "810009876543")
    # a login page is used once
    again = _submit(
        psc_mock_login_page,
        segurlink_pki,
        {"login_id": _login_id(page), "professional": "810009876543"},
    )
    assert again.status_code == 400 and "inconnue ou expirée" in again.text


def test_login_hint_preselects_but_the_choice_wins(
    client: PscClient, psc_mock_login_page: PscMock, segurlink_pki: Any
) -> None:
    # Robert is hinted; the person clicks Paul: the login is Paul's.
    request, page = _login_page(client, segurlink_pki, login_hint="810005555555")
    assert re.search(r'value="810005555555" checked', page)
    assert not re.search(r'value="810001234567" checked', page)
    assert 'name="login_hint"' not in page  # the hint is not a form field
    answer = _submit(
        psc_mock_login_page,
        segurlink_pki,
        {"login_id": _login_id(page), "professional": "810001234567", "login_hint": "810005555555"},
    )
    login = client.finish_login(answer.headers["Location"], request)
    assert login.identity is not None and login.identity.national_id == "810001234567"
    # Without a click on another one, the hinted professional logs in.
    request, page = _login_page(client, segurlink_pki, login_hint="810005555555")
    answer = _submit(
        psc_mock_login_page,
        segurlink_pki,
        {"login_id": _login_id(page), "professional": "810005555555"},
    )
    assert client.finish_login(answer.headers["Location"], request).claims.national_id == (
        "810005555555"
    )


def test_login_page_cancel_returns_access_denied(
    client: PscClient, psc_mock_login_page: PscMock, segurlink_pki: Any
) -> None:
    request, page = _login_page(client, segurlink_pki)
    answer = _submit(
        psc_mock_login_page, segurlink_pki, {"login_id": _login_id(page), "decision": "cancel"}
    )
    assert answer.status_code == 302
    with pytest.raises(OidcError) as info:
        client.finish_login(answer.headers["Location"], request)
    assert info.value.error == "access_denied"


def test_login_page_without_a_choice_is_shown_again(
    client: PscClient, psc_mock_login_page: PscMock, segurlink_pki: Any
) -> None:
    request, page = _login_page(client, segurlink_pki)
    login_id = _login_id(page)
    for choice in ({}, {"professional": "899999999999"}):
        answer = _submit(psc_mock_login_page, segurlink_pki, {"login_id": login_id, **choice})
        assert answer.status_code == 400
        assert "Choisissez un professionnel de test." in answer.text
        assert _login_id(answer.text) == login_id
    # the page is still usable after the mistake
    answer = _submit(
        psc_mock_login_page, segurlink_pki, {"login_id": login_id, "professional": "810001234567"}
    )
    assert client.finish_login(answer.headers["Location"], request).claims.acr == "eidas1"


def test_login_page_is_labelled_accessible_and_says_it_is_a_test(
    client: PscClient, psc_mock_login_page: PscMock, segurlink_pki: Any
) -> None:
    _, page = _login_page(client, segurlink_pki)
    assert page.startswith('<!DOCTYPE html><html lang="fr">')
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "<title>Connexion Pro Santé Connect — fournisseur de TEST segurlink</title>" in page
    assert page.count("<fieldset>") == 2
    assert "<legend>Professionnel de test</legend>" in page
    assert "<legend>Moyen d'authentification</legend>" in page
    assert "Les identités proposées sont fictives" in page
    # every radio button has its label
    for radio in re.findall(r'<input type="radio"[^>]*id="([^"]+)"', page):
        assert f'<label for="{radio}">' in page
    assert 'value="cancel" formnovalidate' in page


def test_the_login_page_expires(
    client: PscClient, psc_mock_login_page: PscMock, segurlink_pki: Any
) -> None:
    _, page = _login_page(client, segurlink_pki)
    psc_mock_login_page.advance_clock(1801)
    answer = _submit(
        psc_mock_login_page,
        segurlink_pki,
        {"login_id": _login_id(page), "professional": "810001234567"},
    )
    assert answer.status_code == 400 and "expirée" in answer.text


def test_control_endpoint_registers_a_dui_client(psc_mock: PscMock, segurlink_pki: Any) -> None:
    # A DUI front-end with its own callback URL registers itself, then logs in.
    registration = {
        "client_id": "mon-dui",
        "client_secret": "mon-secret",
        "redirect_uris": ["https://localhost:8443/psc/callback"],
    }
    cert = segurlink_pki.client("insi-auto").as_requests_cert()
    url = psc_mock.url + "/_mock/psc/clients"
    answer = requests.post(
        url, json=registration, cert=cert, verify=str(segurlink_pki.ca), timeout=10
    )
    assert answer.status_code == 201
    for bad in ({**registration, "redirect_uris": []}, {**registration, "client_secret": 1}):
        refused = requests.post(url, json=bad, cert=cert, verify=str(segurlink_pki.ca), timeout=10)
        assert refused.status_code == 400
    settings = _settings(
        psc_mock,
        segurlink_pki,
        client_id="mon-dui",
        client_secret="mon-secret",
        redirect_uri="https://localhost:8443/psc/callback",
    )
    with PscClient.from_settings(settings) as dui:
        request, callback = _browser_login(dui, segurlink_pki)
        assert callback.startswith("https://localhost:8443/psc/callback?")
        assert dui.finish_login(callback, request).claims.acr == "eidas1"
        # another callback URL is not registered: the mock shows an error, no redirect
        request = dui.authorization_request(redirect_uri="https://localhost:8443/other")
        page = requests.get(request.url, verify=str(segurlink_pki.ca), timeout=10)
        assert page.status_code == 400 and "redirect_uri" in page.text


def test_control_endpoint_switches_the_login_page(
    client: PscClient, psc_mock: PscMock, segurlink_pki: Any
) -> None:
    cert = segurlink_pki.client("insi-auto").as_requests_cert()

    def control(method: str, body: Any = None) -> requests.Response:
        return requests.request(
            method,
            psc_mock.url + "/_mock/psc/login-page",
            json=body,
            cert=cert,
            verify=str(segurlink_pki.ca),
            timeout=10,
        )

    assert control("GET").json() == {"enabled": False}
    assert control("POST", {"enabled": True}).json() == {"enabled": True}
    assert _login_page(client, segurlink_pki)[1].count("<fieldset>") == 2
    assert control("POST", {"enabled": "yes"}).status_code == 400
    assert control("POST", {"enabled": False}).status_code == 200
    request, callback = _browser_login(client, segurlink_pki)  # auto-approved again
    assert client.finish_login(callback, request).claims.acr == "eidas1"


def test_control_endpoint_injects_psc_faults(
    client: PscClient, psc_mock: PscMock, segurlink_pki: Any
) -> None:
    cert = segurlink_pki.client("insi-auto").as_requests_cert()
    answer = requests.post(
        psc_mock.url + "/_mock/psc/faults",
        json={"id_token": "wrong_nonce"},
        cert=cert,
        verify=str(segurlink_pki.ca),
        timeout=10,
    )
    assert answer.status_code == 201
    with pytest.raises(OidcError) as info:
        _login(client, segurlink_pki)
    assert info.value.error == Rejection.NONCE_MISMATCH
    assert _login(client, segurlink_pki).claims.acr == "eidas1"  # count 1: gone


def test_absurdly_nested_json_is_a_malformed_response(httpserver: Any) -> None:
    issuer = httpserver.url_for("/realm").rstrip("/")
    httpserver.expect_request("/realm/.well-known/wallet-openid-configuration").respond_with_data(
        "[" * 100_000, content_type="application/json"
    )
    with PscClient(
        PscSettings(issuer=issuer, client_id="dui", client_secret=Secret("s"))
    ) as client:
        with pytest.raises(MalformedResponse):
            client.metadata()


# -- secrets and health data stay out of logs and reprs ----------------------------------------


def test_no_token_secret_or_identity_in_logs_or_reprs(
    client: PscClient,
    psc_mock: PscMock,
    segurlink_pki: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    request, callback = _browser_login(client, segurlink_pki)
    login = client.finish_login(callback, request)
    fresh = client.refresh(login.tokens)
    client.introspect(fresh)
    client.userinfo(fresh)
    client.logout(fresh)
    code = dict(parse_qsl(urlsplit(callback).query))["code"]
    identity = login.identity
    assert identity is not None
    secrets = {
        "client secret": client.settings.client_secret.reveal(),  # type: ignore[union-attr]
        "code": code,
        "code verifier": request.code_verifier.reveal(),
        "access token": login.tokens.access_token.reveal(),
        "refreshed access token": fresh.access_token.reveal(),
        "refresh token": login.tokens.refresh_token.reveal(),  # type: ignore[union-attr]
        "id_token": login.tokens.id_token,
        "national id": identity.national_id,
        "given name": "Paul",
        "family name": "MEDECIN-TEST",
    }
    # The client's own records (the mock's are the provider's, not the DUI's).
    ours = "\n".join(
        record.getMessage()
        for record in caplog.records
        if record.name == "segurlink"
        or record.name.startswith(("segurlink.", "urllib3", "requests"))
    )
    assert "psc token" in ours  # the exchange log did record the calls
    shown = "\n".join(
        repr(value) for value in (login, fresh, request, client.settings, identity, login.claims)
    )
    for label, value in secrets.items():
        assert value not in ours, f"{label} in the logs"
        assert value not in shown, f"{label} in a repr"
