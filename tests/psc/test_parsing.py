"""What PSC sends, read field by field: UserInfo, discovery, introspection, token answers.

Each document below gives every field a value of its own, so a field read from the wrong
key, dropped or swapped with another shows as a difference with the expected value.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from segurlink.config import Secret
from segurlink.errors import InputError, MalformedResponse, OidcError
from segurlink.psc import (
    Introspection,
    OtherId,
    ProfessionalIdentity,
    ProviderMetadata,
    PscActivity,
    PscAddress,
    PscExercice,
    Rejection,
    messages,
    parse_userinfo,
)

ISSUER = "https://idp.test/auth/realms/esante-wallet"

# -- UserInfo ---------------------------------------------------------------------------------

ACTIVITY = {
    "codeModeExercice": "S",
    "codeSecteurDactivite": "SA07",
    "codeRole": "FON-05",
    "codeGenreActivite": "GENR01",
    "codeSectionPharmacien": "G",
    "numeroFinessSite": "010000024",
    "numeroFinessetablissementJuridique": "010000016",
    "numeroSiretSite": "26010004500012",
    "numeroSirenSite": "260100045",
    "identifiantTechniqueDeLaStructure": "R10000000123456",
    "ancienIdentifiantDeLaStructure": "1010000024",
    "autoriteDenregistrement": "ARS/ARS/ARS",
    "raisonSocialeSite": "CENTRE HOSPITALIER",
    "enseigneCommercialeSite": "CH DE BOURG",
    "numeroVoie": "900",
    "indiceRepetitionVoie": "B",
    "codeTypeDeVoie": "R",
    "libelleVoie": "DU CHAMP DE FOIRE",
    "complementDestinataire": "SERVICE 4",
    "complementPointGeographique": "BATIMENT C",
    "mentionDistribution": "BP 401",
    "bureauCedex": "01012 BOURG CEDEX",
    "codePostal": "01012",
    "codeCommune": "01053",
    "codeDepartement": "01",
    "codePays": "99000",
    "telephone": "0474454647",
    "telephone2": "0474454648",
    "telecopie": "0474454649",
    "adresseEMail": "contact@ch-bourg.test",
}

EXPECTED_ACTIVITY = PscActivity(
    mode="S",
    sector="SA07",
    role="FON-05",
    genre="GENR01",
    pharmacist_section="G",
    finess_site="010000024",
    finess_legal_entity="010000016",
    siret="26010004500012",
    siren="260100045",
    structure_technical_id="R10000000123456",
    former_structure_id="1010000024",
    registration_authority="ARS/ARS/ARS",
    name="CENTRE HOSPITALIER",
    trade_name="CH DE BOURG",
    address=PscAddress(
        street_number="900",
        repetition_index="B",
        street_type="R",
        street_name="DU CHAMP DE FOIRE",
        additional_recipient="SERVICE 4",
        additional_location="BATIMENT C",
        distribution_mention="BP 401",
        cedex_office="01012 BOURG CEDEX",
        postal_code="01012",
        commune_code="01053",
        department_code="01",
        country_code="99000",
    ),
    phone="0474454647",
    phone2="0474454648",
    fax="0474454649",
    email="contact@ch-bourg.test",
)


def _userinfo(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "sub": "f:550dc1c8-d97b-4b1e-ac8c-8eb4471cf9dd:810001234567",
        "preferred_username": "810001234567",
        "SubjectNameID": "810001234567-NID",
        "given_name": "Paul",
        "family_name": "Lebon",
        "Secteur_Activite": "SA07^1.2.250.1.71.4.2.4",
        "SubjectOrganization": "CENTRE HOSPITALIER",
        "SubjectOrganizationID": "1010000024",
        "SubjectRole": ["10^1.2.250.1.213.1.1.5.5", "", "21^1.2.250.1.213.1.1.5.5"],
        "Palier_Authentification": "APPPRIP3^Access Health Pro eIDAS",
        "otherIds": [
            {"identifiant": "10001234567", "origine": "RPPS", "qualite": 1},
            {"identifiant": "", "origine": "ADELI", "qualite": 2},
            {"identifiant": "011234567", "origine": "ADELI", "qualite": True},
        ],
        "SubjectRefPro": {
            "codeCivilite": "DR",
            "exercices": [
                {
                    "codeProfession": "10",
                    "codeCategorieProfessionnelle": "C",
                    "codeCiviliteDexercice": "DR",
                    "nomDexercice": "LEBON",
                    "prenomDexercice": "PAUL",
                    "codeTypeSavoirFaire": "S",
                    "codeSavoirFaire": "SM54",
                    "activities": [ACTIVITY, {}],
                },
                {"codeProfession": "60", "activities": ""},
            ],
        },
    }
    data.update(changes)
    return data


def test_every_userinfo_field_lands_in_its_place() -> None:
    identity = parse_userinfo(json.dumps(_userinfo()))
    assert identity == ProfessionalIdentity(
        national_id="810001234567",
        subject="f:550dc1c8-d97b-4b1e-ac8c-8eb4471cf9dd:810001234567",
        subject_name_id="810001234567-NID",
        given_name="Paul",
        family_name="Lebon",
        civility="DR",
        sector="SA07^1.2.250.1.71.4.2.4",
        organization="CENTRE HOSPITALIER",
        organization_id="1010000024",
        roles=("10^1.2.250.1.213.1.1.5.5", "21^1.2.250.1.213.1.1.5.5"),
        auth_level="APPPRIP3^Access Health Pro eIDAS",
        # an entry without identifier is skipped; a boolean quality is no quality
        other_ids=(
            OtherId("10001234567", "RPPS", 1),
            OtherId("011234567", "ADELI", None),
        ),
        exercices=(
            PscExercice(
                profession="10",
                category="C",
                civility="DR",
                last_name="LEBON",
                first_name="PAUL",
                speciality_type="S",
                speciality="SM54",
                activities=(EXPECTED_ACTIVITY, PscActivity()),
            ),
            PscExercice(profession="60"),
        ),
    )
    assert identity.claims["Palier_Authentification"] == "APPPRIP3^Access Health Pro eIDAS"
    assert identity.activities == (EXPECTED_ACTIVITY, PscActivity())


def test_userinfo_bytes_and_claims_read_the_same() -> None:
    data = _userinfo()
    assert parse_userinfo(json.dumps(data).encode()) == parse_userinfo(data)


def test_userinfo_values_are_trimmed_and_numbers_read_as_text() -> None:
    identity = parse_userinfo(
        _userinfo(given_name="  Paul ", family_name=" ", SubjectOrganizationID=1010000024)
    )
    assert (identity.given_name, identity.family_name, identity.organization_id) == (
        "Paul",
        None,
        "1010000024",
    )


@pytest.mark.parametrize("absent", [None, "", "  "])
def test_subject_name_id_stands_in_for_a_missing_preferred_username(absent: str | None) -> None:
    data = _userinfo(preferred_username=absent)
    assert parse_userinfo(data).national_id == "810001234567-NID"
    assert parse_userinfo(_userinfo(sub=None)).subject == ""


@pytest.mark.parametrize("ref_pro", [None, ""])
def test_a_userinfo_without_professional_reference(ref_pro: str | None) -> None:
    identity = parse_userinfo(_userinfo(SubjectRefPro=ref_pro, SubjectRole="", otherIds=None))
    assert (identity.exercices, identity.civility, identity.roles, identity.other_ids) == (
        (),
        None,
        (),
        (),
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"preferred_username": None, "SubjectNameID": ""},
            "the userinfo has neither preferred_username nor SubjectNameID",
        ),
        ({"SubjectRefPro": ["x"]}, "userinfo SubjectRefPro is not a JSON object"),
        ({"SubjectRole": "10"}, "userinfo SubjectRole is not a JSON array"),
        ({"otherIds": {"identifiant": "1"}}, "userinfo otherIds is not a JSON array"),
        ({"otherIds": [{"identifiant": "1"}, "2"]}, "userinfo otherIds[1] is not a JSON object"),
        (
            {"SubjectRefPro": {"exercices": {"a": 1}}},
            "userinfo SubjectRefPro.exercices is not a JSON array",
        ),
        (
            {"SubjectRefPro": {"exercices": [{}, "x"]}},
            "userinfo exercices[1] is not a JSON object",
        ),
        (
            {"SubjectRefPro": {"exercices": [{}, {"activities": {"a": 1}}]}},
            "userinfo exercices[1].activities is not a JSON array",
        ),
        (
            {"SubjectRefPro": {"exercices": [{"activities": [{}, 7]}]}},
            "userinfo exercices[0].activities[1] is not a JSON object",
        ),
        ({"given_name": True}, "expected a string in the userinfo, got a boolean"),
        ({"given_name": ["Paul"]}, "expected a string in the userinfo, got list"),
    ],
)
def test_userinfo_refusals_say_where(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(MalformedResponse) as info:
        parse_userinfo(_userinfo(**changes))
    assert str(info.value) == message


def test_userinfo_that_is_not_json_says_so() -> None:
    with pytest.raises(MalformedResponse, match=r"^the userinfo is not valid JSON: "):
        parse_userinfo(b'{"preferred_username": ')
    with pytest.raises(MalformedResponse) as info:
        parse_userinfo("[1]")
    assert str(info.value) == "userinfo payload is not a JSON object"


# -- discovery --------------------------------------------------------------------------------

DISCOVERY: dict[str, Any] = {
    "issuer": ISSUER,
    "authorization_endpoint": "https://wallet.test/auth",
    "token_endpoint": ISSUER + "/token",
    "jwks_uri": ISSUER + "/certs",
    "userinfo_endpoint": ISSUER + "/userinfo",
    "introspection_endpoint": ISSUER + "/introspect",
    "end_session_endpoint": ISSUER + "/logout",
    "revocation_endpoint": ISSUER + "/revoke",
    "backchannel_authentication_endpoint": ISSUER + "/ciba",
    "code_challenge_methods_supported": ["plain", "S256"],
    "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
    "id_token_signing_alg_values_supported": ["RS256", "ES256"],
    "userinfo_signing_alg_values_supported": ["PS256"],
    "authorization_response_iss_parameter_supported": True,
    "mtls_endpoint_aliases": {"token_endpoint": "https://mtls.test/token", "bad": 3},
}


def test_every_discovery_field_lands_in_its_place() -> None:
    metadata = messages.parse_discovery(DISCOVERY, expected_issuer=ISSUER)
    assert metadata == ProviderMetadata(
        issuer=ISSUER,
        authorization_endpoint="https://wallet.test/auth",
        token_endpoint=ISSUER + "/token",
        jwks_uri=ISSUER + "/certs",
        userinfo_endpoint=ISSUER + "/userinfo",
        introspection_endpoint=ISSUER + "/introspect",
        end_session_endpoint=ISSUER + "/logout",
        revocation_endpoint=ISSUER + "/revoke",
        backchannel_authentication_endpoint=ISSUER + "/ciba",
        code_challenge_methods=("plain", "S256"),
        token_endpoint_auth_methods=("client_secret_basic", "private_key_jwt"),
        id_token_signing_algs=("RS256", "ES256"),
        userinfo_signing_algs=("PS256",),
        iss_parameter_supported=True,
        mtls_endpoint_aliases={"token_endpoint": "https://mtls.test/token"},
    )
    assert metadata.raw == DISCOVERY


def test_a_minimal_discovery_has_empty_optional_fields() -> None:
    minimal = {
        **{k: DISCOVERY[k] for k in ("issuer", "authorization_endpoint", "token_endpoint")},
        "jwks_uri": DISCOVERY["jwks_uri"],
        "userinfo_endpoint": 42,  # not text: absent
        "code_challenge_methods_supported": "S256",  # not a list: absent
        "authorization_response_iss_parameter_supported": "true",  # only JSON true counts
        "mtls_endpoint_aliases": ["https://mtls.test/token"],
    }
    metadata = messages.parse_discovery(minimal, expected_issuer=ISSUER)
    assert metadata == ProviderMetadata(
        issuer=ISSUER,
        authorization_endpoint="https://wallet.test/auth",
        token_endpoint=ISSUER + "/token",
        jwks_uri=ISSUER + "/certs",
    )


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (["not", "an", "object"], "the discovery document is not a JSON object"),
        (
            {**DISCOVERY, "token_endpoint": "", "jwks_uri": None},
            "the discovery document lacks token_endpoint, jwks_uri",
        ),
        (
            {"issuer": ISSUER},
            "the discovery document lacks authorization_endpoint, token_endpoint, jwks_uri",
        ),
    ],
)
def test_unusable_discovery_documents(document: Any, message: str) -> None:
    with pytest.raises(MalformedResponse) as info:
        messages.parse_discovery(document, expected_issuer=ISSUER)
    assert str(info.value) == message


def test_a_discovery_document_of_another_issuer_is_refused() -> None:
    with pytest.raises(OidcError) as info:
        messages.parse_discovery({**DISCOVERY, "issuer": ISSUER + "/"}, expected_issuer=ISSUER)
    assert info.value.error == Rejection.DISCOVERY_ISSUER_MISMATCH
    assert info.value.description == (
        f"discovery document names issuer {ISSUER + '/'!r}, expected {ISSUER!r}"
    )


def test_discovery_urls_try_psc_path_then_the_standard_one() -> None:
    assert messages.discovery_urls(ISSUER + "/") == (
        ISSUER + "/.well-known/wallet-openid-configuration",
        ISSUER + "/.well-known/openid-configuration",
    )
    # only slashes are trimmed, whatever the realm's name ends with
    assert messages.discovery_urls("https://idp.test/realms/PSX")[1] == (
        "https://idp.test/realms/PSX/.well-known/openid-configuration"
    )


# -- introspection ----------------------------------------------------------------------------


def test_every_introspection_field_lands_in_its_place() -> None:
    answer = {
        "active": True,
        "sub": "f:uuid:810001234567",
        "preferred_username": "810001234567",
        "client_id": "dui-client",
        "scope": "openid scope_all",
        "acr": "eidas3",
        "exp": 1_700_000_300.9,
        "iat": 1_700_000_000,
        "authMode": "CARD",
    }
    result = messages.parse_introspection(answer)
    assert result == Introspection(
        active=True,
        subject="f:uuid:810001234567",
        national_id="810001234567",
        client_id="dui-client",
        scope="openid scope_all",
        acr="eidas3",
        expires_at=1_700_000_300,
        issued_at=1_700_000_000,
    )
    assert result.claims["authMode"] == "CARD"


def test_an_inactive_token_has_only_active_false() -> None:
    result = messages.parse_introspection({"active": False, "exp": True, "iat": "1700000000"})
    assert result == Introspection(active=False)


@pytest.mark.parametrize("answer", [{"active": "true"}, {}, [True]])
def test_an_introspection_without_boolean_active_is_malformed(answer: Any) -> None:
    with pytest.raises(MalformedResponse) as info:
        messages.parse_introspection(answer)
    assert str(info.value) == "the introspection answer has no boolean 'active'"


# -- token answers ----------------------------------------------------------------------------


def test_every_token_answer_field_lands_in_its_place() -> None:
    tokens = messages.parse_token_response(
        {
            "access_token": "at",
            "token_type": "DPoP",
            "id_token": "h.p.s",
            "refresh_token": "rt",
            "expires_in": 60,
            "refresh_expires_in": 1800.5,
            "scope": "openid scope_all",
            "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
        },
        now=1000.0,
    )
    assert (tokens.access_token.reveal(), tokens.refresh_token.reveal()) == ("at", "rt")  # type: ignore[union-attr]
    assert (tokens.token_type, tokens.id_token, tokens.scope) == (
        "DPoP",
        "h.p.s",
        "openid scope_all",
    )
    assert (tokens.expires_at, tokens.refresh_expires_at) == (1060.0, 2800.5)
    assert tokens.issued_token_type == "urn:ietf:params:oauth:token-type:access_token"


def test_a_bare_token_answer_gets_the_defaults() -> None:
    tokens = messages.parse_token_response(
        {
            "access_token": "at",
            "id_token": 3,
            "refresh_token": "",
            "expires_in": True,
            "refresh_expires_in": 0,  # Keycloak's offline tokens: no known expiry
        },
        now=1000.0,
    )
    assert (tokens.token_type, tokens.id_token, tokens.refresh_token, tokens.scope) == (
        "Bearer",
        "",
        None,
        "",
    )
    assert (tokens.expires_at, tokens.refresh_expires_at, tokens.issued_token_type) == (
        None,
        None,
        "",
    )


def test_a_token_answer_without_time_is_dated_now() -> None:
    import time

    before = time.time()
    tokens = messages.parse_token_response({"access_token": "at", "expires_in": 60})
    assert tokens.expires_at is not None and before + 60 <= tokens.expires_at <= time.time() + 60


@pytest.mark.parametrize("answer", [{"access_token": 3}, ["access_token"], {}])
def test_a_token_answer_without_access_token_is_malformed(answer: Any) -> None:
    with pytest.raises(MalformedResponse) as info:
        messages.parse_token_response(answer)
    assert str(info.value) == "the token answer has no access_token"


# -- what the client sends: bodies and URLs, whole -------------------------------------------

METADATA = ProviderMetadata(
    ISSUER, "https://wallet.test/auth?realm=r", ISSUER + "/token", ISSUER + "/certs"
)


def _login(**kwargs: Any) -> Any:
    options: dict[str, Any] = {"client_id": "dui", "redirect_uri": "https://dui/cb"}
    options.update(kwargs)
    return messages.new_authorization_request(METADATA, **options)


def test_the_authorization_url_whole() -> None:
    request = _login(state="s1", nonce="n1", code_verifier="v" * 43, max_age=0)
    assert request.url == (
        "https://wallet.test/auth?realm=r&response_type=code&client_id=dui"
        "&redirect_uri=https%3A%2F%2Fdui%2Fcb&scope=openid+scope_all&state=s1&nonce=n1"
        "&acr_values=eidas1&code_challenge=7w_YNF9DSfIdPf_pRjSq646_kPr-2-o9NAl16JGghdM"
        "&code_challenge_method=S256&max_age=0"
    )
    assert (request.state, request.nonce, request.code_verifier.reveal()) == ("s1", "n1", "v" * 43)
    assert (request.redirect_uri, request.max_age) == ("https://dui/cb", 0)


def test_extra_parameters_that_clash_are_all_named() -> None:
    with pytest.raises(InputError) as info:
        _login(extra={"state": "x", "client_id": "y", "prompt": "login"})
    assert str(info.value) == "extra cannot set client_id, state"


@pytest.mark.parametrize("max_age", [-1, True, 1.5])
def test_max_age_is_a_whole_number_of_seconds(max_age: Any) -> None:
    with pytest.raises(InputError) as info:
        _login(max_age=max_age)
    assert str(info.value) == f"max_age must be a number of seconds >= 0, not {max_age!r}"


def test_token_request_bodies_whole() -> None:
    request = _login(code_verifier="v" * 43)
    assert messages.authorization_code_body("c1", request) == (
        "grant_type=authorization_code&redirect_uri=https%3A%2F%2Fdui%2Fcb&code=c1"
        "&code_verifier=" + "v" * 43
    )
    assert messages.refresh_body(Secret("rt")) == "grant_type=refresh_token&refresh_token=rt"
    assert messages.refresh_body(Secret("rt"), "openid") == (
        "grant_type=refresh_token&refresh_token=rt&scope=openid"
    )
    assert messages.introspection_body(Secret("t")) == "token=t&token_type_hint=access_token"
    assert messages.introspection_body(Secret("t"), "refresh_token") == (
        "token=t&token_type_hint=refresh_token"
    )
    assert messages.token_exchange_body(
        Secret("st"), audience="a", resource="r", scope="s", requested_token_type="t"
    ) == (
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=st"
        "&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token"
        "&audience=a&resource=r&scope=s&requested_token_type=t"
    )
    assert messages.ciba_auth_body(login_hint="8100", channel="MOBILE") == (
        "scope=openid+scope_all&acr_values=eidas1&login_hint=8100&channel=MOBILE"
    )
    assert messages.ciba_auth_body(login_hint="8100", scope="openid", acr_values="eidas2") == (
        "scope=openid&acr_values=eidas2&login_hint=8100"
    )


def test_a_ciba_channel_is_card_or_mobile() -> None:
    with pytest.raises(InputError) as info:
        messages.ciba_auth_body(login_hint="8100", channel="card")
    assert str(info.value) == "channel must be CARD or MOBILE, not 'card'"


def test_end_session_urls() -> None:
    with_query = ProviderMetadata(
        ISSUER, "", "", "", end_session_endpoint=ISSUER + "/logout?client=dui"
    )
    assert messages.end_session_url(with_query, id_token_hint="h.p.s") == (
        ISSUER + "/logout?client=dui&id_token_hint=h.p.s"
    )
    plain = ProviderMetadata(ISSUER, "", "", "", end_session_endpoint=ISSUER + "/logout")
    assert messages.end_session_url(plain, id_token_hint="h.p.s", state="s") == (
        ISSUER + "/logout?id_token_hint=h.p.s&state=s"
    )
    with pytest.raises(OidcError) as info:
        messages.end_session_url(METADATA, id_token_hint="h.p.s")
    assert (info.value.error, str(info.value)) == (
        "unsupported",
        "the provider has no end_session_endpoint",
    )


# -- the callback -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "form",
    [
        "https://dui/cb?code=c1&state={state}",
        "?code=c1&state={state}",
        "code=c1&state={state}",
        "dui://cb?code=c1&state={state}&iss=" + ISSUER,
    ],
)
def test_a_callback_is_read_from_a_url_or_its_query(form: str) -> None:
    request = _login()
    callback = form.format(state=request.state)
    assert messages.parse_callback(callback, request, issuer=ISSUER) == "c1"


def test_a_callback_is_read_from_its_parameters() -> None:
    request = _login()
    params = {"code": "c1", "state": request.state, "iss": ISSUER}
    assert messages.parse_callback(params, request, issuer=ISSUER, iss_required=True) == "c1"


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ({"code": "c1", "state": "x"}, "state_mismatch",
         "the callback state does not match the login (state_mismatch)"),
        ({"code": "c1", "iss": "https://evil.test"}, "iss_mismatch",
         "the callback comes from issuer 'https://evil.test' (iss_mismatch)"),
        ({"code": "c1"}, "iss_mismatch", "the callback lacks the iss parameter (iss_mismatch)"),
        ({"code": "", "iss": ISSUER}, "missing_code",
         "the callback carries no authorization code (missing_code)"),
        ({"error": "access_denied", "error_description": "refused", "iss": ISSUER},
         "access_denied", "login refused by the provider: access_denied"),
    ],
)  # fmt: skip
def test_callback_refusals_whole(params: dict[str, str], error: str, message: str) -> None:
    request = _login()
    params = {"state": request.state, **params}
    with pytest.raises(OidcError) as info:
        messages.parse_callback(params, request, issuer=ISSUER, iss_required=True)
    assert (info.value.error, str(info.value)) == (error, message)
    if error == "access_denied":
        assert info.value.description == "refused"


# -- client authentication --------------------------------------------------------------------


def test_client_secret_post_puts_the_secret_in_the_body() -> None:
    headers, body = messages.apply_client_auth(
        "client_secret_post",
        client_id="dui",
        endpoint="https://t",
        body="a=b",
        client_secret=Secret("s"),
        headers={"X-Trace": "1"},
    )
    assert headers == {"Content-Type": "application/x-www-form-urlencoded", "X-Trace": "1"}
    assert body == "a=b&client_id=dui&client_secret=s"


@pytest.mark.parametrize(("key", "alg"), [(RSAKey.generate_key(2048), "RS256"),
                                          (ECKey.generate_key("P-256"), "ES256")])  # fmt: skip
def test_private_key_jwt_signs_an_assertion_for_the_endpoint(key: Any, alg: str) -> None:
    headers, body = messages.apply_client_auth(
        "private_key_jwt", client_id="dui", endpoint="https://t/token", body="a=b", private_key=key
    )
    assert headers == {"Content-Type": "application/x-www-form-urlencoded"}
    form = parse_qs(body)
    assert form["client_assertion_type"] == [
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    ]
    assertion = jwt.decode(form["client_assertion"][0], key)
    assert assertion.header["alg"] == alg
    assert (assertion.claims["iss"], assertion.claims["sub"], assertion.claims["aud"]) == (
        "dui",
        "dui",
        "https://t/token",
    )


@pytest.mark.parametrize(
    ("method", "message"),
    [
        ("client_secret_basic", "client_secret_basic needs a client_secret"),
        ("client_secret_post", "client_secret_post needs a client_secret"),
        ("private_key_jwt", "private_key_jwt needs a private key"),
        ("client_secret_jwt", "unsupported client authentication 'client_secret_jwt'"),
    ],
)
def test_client_authentication_without_its_credential(method: str, message: str) -> None:
    with pytest.raises(OidcError) as info:
        messages.apply_client_auth(method, client_id="dui", endpoint="https://t", body="")
    assert (info.value.error, str(info.value)) == ("invalid_client", message)


# -- CIBA start -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("interval", "kept"),
    [(2, 2.0), (0, 0.0), (2.5, 2.5), (-1, 5.0), (True, 5.0), ("2", 5.0), (None, 5.0)],
)
def test_a_ciba_interval_that_is_no_number_is_five_seconds(interval: Any, kept: float) -> None:
    answer: dict[str, Any] = {"auth_req_id": "r", "expires_in": 120}
    if interval is not None:
        answer["interval"] = interval
    assert messages.parse_ciba_start(answer, now=0).interval == kept


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"expires_in": 120}, "the CIBA answer has no auth_req_id"),
        ({"auth_req_id": 7, "expires_in": 120}, "the CIBA answer has no auth_req_id"),
        ({"auth_req_id": "r"}, "the CIBA answer has no positive expires_in"),
        ({"auth_req_id": "r", "expires_in": 0}, "the CIBA answer has no positive expires_in"),
        ({"auth_req_id": "r", "expires_in": True}, "the CIBA answer has no positive expires_in"),
        ({"auth_req_id": "r", "expires_in": "120"}, "the CIBA answer has no positive expires_in"),
    ],
)
def test_unusable_ciba_answers(answer: dict[str, Any], message: str) -> None:
    with pytest.raises(MalformedResponse) as info:
        messages.parse_ciba_start(answer, now=0)
    assert str(info.value) == message


def test_a_ciba_request_keeps_its_id_and_is_dated_now() -> None:
    import time

    before = time.time()
    request = messages.parse_ciba_start({"auth_req_id": "r-1", "expires_in": 0.5})
    assert request.auth_req_id == "r-1"
    assert before + 0.5 <= request.expires_at <= time.time() + 0.5
