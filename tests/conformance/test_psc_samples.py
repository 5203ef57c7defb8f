"""The real PSC samples of ../shared/psc-samples against segurlink's parsers and the mock."""

from __future__ import annotations

import json
import time

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from segurlink_mocks.pki import TestPki
from segurlink_mocks.psc import PscMock, discovery_document

from segurlink.config import Settings
from segurlink.errors import MalformedResponse
from segurlink.psc import (
    PscClient,
    parse_discovery,
    parse_introspection,
    parse_userinfo,
    validate_id_token,
)
from tests.conftest import shared_path

pytestmark = pytest.mark.conformance


def _load(name: str) -> object:
    return json.loads(shared_path("psc-samples", name).read_text(encoding="utf-8"))


def test_userinfo_site_sample() -> None:
    identity = parse_userinfo(shared_path("psc-samples", "userinfo_site.json").read_bytes())
    assert identity.national_id == "ANS20210107161422"
    assert identity.rpps is None  # not an RPPS-shaped national id
    assert (identity.given_name, identity.family_name, identity.civility) == ("Paul", "NOM", "M")
    assert identity.roles == ("10^1.2.250.1.213.1.1.5.5",)
    exercice = identity.exercices[0]
    assert (exercice.profession, exercice.category, exercice.speciality) == ("10", "C", "SM54")
    assert len(exercice.activities) == 5
    first = exercice.activities[0]
    assert first.name == "CAB MED BIS TOUBIB0023550"
    assert first.finess_site is None and first.role is None  # "" means absent
    assert first.address.postal_code == "75009"
    assert exercice.activities[3].siret == "00000000016972"
    assert identity.other_ids[0].origin == "EDIT"


def test_userinfo_short_sample_without_activities() -> None:
    identity = parse_userinfo(shared_path("psc-samples", "userinfo_short.json").read_bytes())
    assert identity.rpps == "99700218896"
    assert identity.exercices[0].activities == ()
    assert identity.exercices[0].speciality_type is None


def test_malformed_sample_fails_cleanly() -> None:
    with pytest.raises(MalformedResponse):
        parse_userinfo(shared_path("psc-samples", "userinfo_medecin_MALFORMED.json").read_bytes())


def test_token_introspection_userinfo_sample() -> None:
    data = _load("token_introspection_userinfo.json")
    assert isinstance(data, dict)
    introspection = parse_introspection(data["IntrospectionResponse"])
    assert introspection.active and introspection.national_id == "899700218896"
    assert parse_userinfo(data["UserInfo"]).exercices[0].activities[2].name == "HOPITAL GENERIQUE"


def test_introspection_sample() -> None:
    result = parse_introspection(_load("introspection_active.json"))
    assert (result.active, result.client_id, result.expires_at) == (
        True,
        "ans-poc-bas-psc",
        1628250495,
    )


def test_discovery_sample_parses() -> None:
    document = _load("discovery.json")
    assert isinstance(document, dict)
    metadata = parse_discovery(document, expected_issuer=document["issuer"])
    assert metadata.iss_parameter_supported
    assert "S256" in metadata.code_challenge_methods
    assert metadata.backchannel_authentication_endpoint.endswith("/ext/ciba/auth")
    assert metadata.mtls_endpoint("token_endpoint").endswith("/protocol/openid-connect/token")


def test_mock_discovery_has_the_shape_of_the_real_one() -> None:
    real = _load("discovery.json")
    assert isinstance(real, dict)
    mock = discovery_document("https://127.0.0.1:8443")
    assert set(mock) == set(real)
    for key, value in real.items():
        assert type(mock[key]) is type(value), key
    assert set(mock["mtls_endpoint_aliases"]) == set(real["mtls_endpoint_aliases"])
    assert mock["issuer"].endswith("/auth/realms/esante-wallet")


def _real_acr_values() -> set[str]:
    found = set()
    for name in ("introspection_active.json", "token_introspection_userinfo.json"):
        data = _load(name)
        assert isinstance(data, dict)
        answer = data.get("IntrospectionResponse", data)
        found.add(answer["acr"])
    return found


def test_login_levels_of_the_real_samples_are_accepted_by_default() -> None:
    # Real card logins carry eidas3: a client accepting only eidas1/eidas2 refuses them.
    real = _real_acr_values()
    assert real == {"eidas3"}
    key = RSAKey.generate_key(2048, parameters={"kid": "k"})
    now = int(time.time())
    for acr in real:
        claims = {
            "iss": "https://idp",
            "aud": "dui",
            "sub": "f:x:899700218896",
            "exp": now + 60,
            "iat": now,
            "acr": acr,
            "authMode": "CARD",
        }
        token = jwt.encode({"alg": "RS256", "kid": "k"}, claims, key)
        checked = validate_id_token(
            token, keys=KeySet([key]), issuer="https://idp", client_id="dui", nonce=None
        )
        assert checked.acr == acr


def test_the_mock_card_login_carries_the_real_login_level(
    psc_mock: PscMock, psc_settings: Settings, segurlink_pki: TestPki
) -> None:
    psc_mock.login_as("810009876543", "card")
    with PscClient.from_settings(psc_settings) as client:
        request = client.authorization_request()
        browser = requests.get(
            request.url, verify=str(segurlink_pki.ca), allow_redirects=False, timeout=10
        )
        login = client.finish_login(browser.headers["Location"], request)
        introspection = client.introspect(login.tokens)
    assert {login.claims.acr, introspection.acr} == _real_acr_values()
    assert login.claims.auth_mode == "CARD"
