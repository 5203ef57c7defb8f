"""Mock of Pro Santé Connect: a real OpenID Provider on loopback (Keycloak-shaped).

:class:`PscMock` serves the PSC realm ``esante-wallet`` over TLS (the test PKI's server
certificate; a client certificate is requested but optional, and checked where PSC
requires one: ``tls_client_auth`` and token exchange):

* discovery at ``{issuer}/.well-known/wallet-openid-configuration`` (PSC's path) and at
  the standard ``/.well-known/openid-configuration``, with the keys of the real document;
* ``/auth`` (the "wallet" login front): auto-approve for tests (or the HTML login page)
  with a choice of :data:`TEST_PROFESSIONALS` and of the method: e-CPS (``acr=eidas1``) or
  CPS card (``acr=eidas3``, ``authMode=CARD``, as in the real introspection samples); PKCE
  S256 is required;
* token endpoint: ``authorization_code`` (single use, PKCE, redirect_uri), refresh with
  rotation, CIBA poll grant, RFC 8693 token exchange (client certificate required);
  client authentication ``client_secret_basic``/``_post``, ``private_key_jwt``,
  ``tls_client_auth``;
* userinfo (JSON built like the real samples, or signed JWT), JWKS with RS256 key
  rotation, introspection, revocation, logout (browser and back-channel), CIBA poll mode.

It is an independent witness: it uses joserfc to sign and verify, never segurlink's PSC
client code.

Faults (besides the generic ones of :class:`~segurlink_mocks.MockService`):
:meth:`PscMock.inject_id_token_fault` (:data:`ID_TOKEN_FAULTS`: expired, tampered, wrong
nonce, unknown kid...) for the next token answers, and :meth:`PscMock.inject_endpoint_fault`
(``http500``, ``http503``, ``latency:<s>``) for one endpoint. Control endpoint (client
certificate of the test CA required)::

    POST   /_mock/psc/faults  {"id_token": "expired", "count": 1}
    POST   /_mock/psc/faults  {"endpoint": "token", "fault": "http503", "count": 1}
    DELETE /_mock/psc/faults
    POST   /_mock/psc/rotate-keys
    POST   /_mock/psc/login-as  {"national_id": "810001234567", "method": "card"}
    POST   /_mock/psc/clients  {"client_id": "my-dui", "client_secret": "...",
                                "redirect_uris": ["https://localhost:8443/psc/callback"]}
    GET    /_mock/psc/login-page
    POST   /_mock/psc/login-page  {"enabled": true}   (false: auto-approve again)

The login page (``auto_approve=False``, ``segurlink mock serve --psc-login-page``, the
``psc_mock_login_page`` fixture) is French, states that it is a TEST provider with
fictitious identities, and offers the test professionals, e-CPS or card, and a cancel
button that returns ``error=access_denied``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import html
import json
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Unpack
from urllib.parse import unquote_plus, urlencode, urlsplit

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OctKey, RSAKey
from werkzeug.wrappers import Request, Response

from .._core.exchange import Exchange
from .._core.faults import HTTP_FAULTS, FaultCatalog, FaultKind, HtmlError, ServiceFault
from .._core.routing import Route
from .._core.server import ServerOptions
from .._core.service import MockService

if TYPE_CHECKING:
    from ..pki import TestPki

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "ENDPOINT_NAMES",
    "ID_TOKEN_FAULTS",
    "REALM_PATH",
    "TEST_PROFESSIONALS",
    "MockClient",
    "PscMock",
    "TestProfessional",
    "discovery_document",
]

REALM_PATH = "/auth/realms/esante-wallet"
DEFAULT_CLIENT_ID = "segurlink-test"
DEFAULT_CLIENT_SECRET = "segurlink-test-secret"  # noqa: S105 - a test credential of the mock
LoginMethod = Literal["ecps", "card"]

#: id_token faults for :meth:`PscMock.inject_id_token_fault`.
ID_TOKEN_FAULTS: frozenset[str] = frozenset(
    {
        "expired",  # exp and iat in the past
        "tampered",  # payload changed after signing
        "wrong_nonce",
        "unknown_kid",  # signed by a key never published
        "wrong_issuer",
        "wrong_audience",
        "bad_at_hash",
        "future_iat",
        "wrong_acr",  # acr "0": Keycloak's level of an SSO-cookie login, not an eIDAS level
        "alg_none",  # unsigned
        "hs256",  # HS256 with the client secret: valid, the other signature PSC may use
        "missing_nonce",
        "wrong_azp",
        "stale_auth_time",  # auth_time an hour ago, as if max_age were ignored
    }
)
#: Endpoints an endpoint fault can target.
ENDPOINT_NAMES: frozenset[str] = frozenset(
    {
        "discovery",
        "authorize",
        "token",
        "userinfo",
        "certs",
        "introspect",
        "logout",
        "ciba",
        "revoke",
    }
)
_UNAVAILABLE_PAGE = "<html><body><h1>Service Unavailable</h1></body></html>"
#: Faults of one endpoint (``inject_endpoint_fault``): a front's error page, or latency.
ENDPOINT_FAULTS = HTTP_FAULTS.only("latency") | FaultCatalog(
    [
        FaultKind.constant(HtmlError(500, "http500", _UNAVAILABLE_PAGE)),
        FaultKind.constant(HtmlError(503, "http503", _UNAVAILABLE_PAGE)),
    ]
)
_ID_TOKEN_CATALOG = FaultCatalog([]).with_service(*sorted(ID_TOKEN_FAULTS))
_ID_TOKEN = "id_token"  # noqa: S105 - the fault queue's target for id_token forgeries

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CIBA_GRANT = "urn:openid:params:grant-type:ciba"
TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105 - a URN
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"  # noqa: S105 - a URN


# -- test professionals -------------------------------------------------------------------


_ACTIVITY_KEYS = (
    "codeModeExercice",
    "codeSecteurDactivite",
    "codeSectionPharmacien",
    "codeRole",
    "codeGenreActivite",
    "numeroSiretSite",
    "numeroSirenSite",
    "numeroFinessSite",
    "numeroFinessetablissementJuridique",
    "identifiantTechniqueDeLaStructure",
    "raisonSocialeSite",
    "enseigneCommercialeSite",
    "complementDestinataire",
    "complementPointGeographique",
    "numeroVoie",
    "indiceRepetitionVoie",
    "codeTypeDeVoie",
    "libelleVoie",
    "mentionDistribution",
    "bureauCedex",
    "codePostal",
    "codeCommune",
    "codePays",
    "telephone",
    "telephone2",
    "telecopie",
    "adresseEMail",
    "codeDepartement",
    "ancienIdentifiantDeLaStructure",
    "autoriteDenregistrement",
)


def _activity(**values: str) -> dict[str, str]:
    """An activity with every key of the real samples; absent values are empty strings."""
    unknown = set(values) - set(_ACTIVITY_KEYS)
    if unknown:
        raise ValueError(f"unknown activity keys {sorted(unknown)}")
    return {key: values.get(key, "") for key in _ACTIVITY_KEYS}


@dataclass(frozen=True, slots=True)
class TestProfessional:
    """A professional the mock can log in; :meth:`userinfo` is shaped like the samples."""

    __test__ = False

    national_id: str
    given_name: str
    family_name: str
    civility: str
    profession: str
    category: str = "C"
    speciality_type: str = ""
    speciality: str = ""
    sector: str = "SA07^1.2.250.1.71.4.2.4"
    role: str = "10^1.2.250.1.213.1.1.5.5"
    activities: tuple[Mapping[str, str], ...] | None = ()

    @property
    def subject(self) -> str:
        # Keycloak federated subject, as in the samples: f:<provider uuid>:<national id>
        return f"f:550dc1c8-d97b-4b1e-ac8c-8eb4471cf9dd:{self.national_id}"

    def userinfo(self) -> dict[str, Any]:
        exercice: dict[str, Any] = {
            "codeProfession": self.profession,
            "codeCategorieProfessionnelle": self.category,
            "codeCiviliteDexercice": self.civility,
            "nomDexercice": self.family_name,
            "prenomDexercice": self.given_name,
            "codeTypeSavoirFaire": self.speciality_type,
            "codeSavoirFaire": self.speciality,
        }
        if self.activities is not None:  # None: the key is absent, as in some answers
            exercice["activities"] = [dict(a) for a in self.activities]
        first_site = self.activities[0]["raisonSocialeSite"] if self.activities else ""
        return {
            "Secteur_Activite": self.sector,
            "sub": self.subject,
            "email_verified": False,
            "SubjectOrganization": first_site,
            "Mode_Acces_Raison": "",
            "preferred_username": self.national_id,
            "given_name": self.given_name,
            "Acces_Regulation_Medicale": "FAUX",
            "UITVersion": "1.0",
            "Palier_Authentification": "APPPRIP3^1.2.250.1.213.1.5.1.1.1",
            "SubjectRefPro": {"codeCivilite": self.civility, "exercices": [exercice]},
            "SubjectOrganizationID": "",
            "SubjectRole": [self.role],
            "PSI_Locale": "1.2.250.1.213.1.3.1.1",
            "otherIds": [{"identifiant": self.national_id, "origine": "RPPS", "qualite": 1}],
            "SubjectNameID": self.national_id,
            "family_name": self.family_name,
        }


#: The professionals of the mock, by national id ("8" + RPPS).
TEST_PROFESSIONALS: Mapping[str, TestProfessional] = {
    p.national_id: p
    for p in (
        TestProfessional(
            national_id="810001234567",
            given_name="Paul",
            family_name="MEDECIN-TEST",
            civility="M",
            profession="10",
            speciality_type="S",
            speciality="SM54",
            activities=(
                _activity(
                    codeModeExercice="L",
                    codeSecteurDactivite="SA07",
                    codeGenreActivite="GENR01",
                    raisonSocialeSite="CABINET MEDICAL SEGURLINK",
                    numeroVoie="2",
                    codeTypeDeVoie="R",
                    libelleVoie="DE LA PAIX",
                    codePostal="75009",
                    codeCommune="75109",
                    codeDepartement="75",
                ),
                _activity(
                    codeModeExercice="S",
                    codeSecteurDactivite="SA01",
                    codeRole="FON-03",
                    codeGenreActivite="GENR01",
                    numeroSiretSite="00000000016972",
                    numeroSirenSite="000000000",
                    numeroFinessSite="010000024",
                    numeroFinessetablissementJuridique="010000016",
                    identifiantTechniqueDeLaStructure="R10100000001",
                    raisonSocialeSite="HOPITAL SEGURLINK",
                    numeroVoie="20",
                    codeTypeDeVoie="R",
                    libelleVoie="DE PARIS",
                    codePostal="75020",
                    codeCommune="75120",
                    codeDepartement="75",
                    telephone="0100000000",
                ),
            ),
        ),
        TestProfessional(
            national_id="810009876543",
            given_name="Claire",
            family_name="INFIRMIERE-TEST",
            civility="MME",
            profession="60",
            sector="SA17^1.2.250.1.71.4.2.4",
            role="60^1.2.250.1.213.1.1.5.5",
            activities=(
                _activity(
                    codeModeExercice="S",
                    codeSecteurDactivite="SA17",
                    codeGenreActivite="GENR01",
                    numeroFinessSite="010000032",
                    numeroFinessetablissementJuridique="010000016",
                    raisonSocialeSite="EHPAD SEGURLINK TEST",
                    codePostal="01000",
                    codeCommune="01053",
                    codeDepartement="01",
                ),
            ),
        ),
        TestProfessional(
            national_id="810005555555",
            given_name="Robert",
            family_name="PHARMACIEN-TEST",
            civility="M",
            profession="21",
            category="C",
            role="21^1.2.250.1.213.1.1.5.5",
            activities=None,
        ),
    )
}
DEFAULT_PROFESSIONAL = "810001234567"


# -- discovery ----------------------------------------------------------------------------

_ALGS = [
    "PS384",
    "RS384",
    "EdDSA",
    "ES384",
    "HS256",
    "HS512",
    "ES256",
    "RS256",
    "HS384",
    "ES512",
    "PS256",
    "PS512",
    "RS512",
]
_ENC_ALGS = ["RSA-OAEP", "RSA-OAEP-256", "RSA1_5"]
#: e-CPS logins are eidas1, card logins eidas3 (the real samples); eidas2 is documented.
_ACR_VALUES = ("eidas1", "eidas2", "eidas3")
_ENC_ENCS = ["A256GCM", "A192GCM", "A128GCM", "A128CBC-HS256", "A192CBC-HS384", "A256CBC-HS512"]
_AUTH_METHODS = [
    "private_key_jwt",
    "client_secret_basic",
    "client_secret_post",
    "tls_client_auth",
    "client_secret_jwt",
]


def discovery_document(
    base_url: str, *, id_token_algs: Sequence[str] | None = None
) -> dict[str, Any]:
    """The discovery document of a PSC-shaped provider at ``base_url``.

    Same keys and value shapes as the real ``esante-wallet`` document; the authorization
    endpoint is the "wallet" front (``/auth``), the rest lives under the realm.
    ``id_token_algs`` replaces the published id_token signature algorithms (default: the
    real document's list, HS256 included).
    """
    issuer = base_url + REALM_PATH
    oidc = issuer + "/protocol/openid-connect"
    endpoints = {
        "token_endpoint": oidc + "/token",
        "revocation_endpoint": oidc + "/revoke",
        "introspection_endpoint": oidc + "/token/introspect",
        "device_authorization_endpoint": oidc + "/auth/device",
        "registration_endpoint": issuer + "/clients-registrations/openid-connect",
        "userinfo_endpoint": oidc + "/userinfo",
        "pushed_authorization_request_endpoint": oidc + "/ext/par/request",
        "backchannel_authentication_endpoint": oidc + "/ext/ciba/auth",
    }
    return {
        "issuer": issuer,
        "authorization_endpoint": base_url + "/auth",
        "token_endpoint": endpoints["token_endpoint"],
        "introspection_endpoint": endpoints["introspection_endpoint"],
        "userinfo_endpoint": endpoints["userinfo_endpoint"],
        "end_session_endpoint": oidc + "/logout",
        "frontchannel_logout_session_supported": True,
        "frontchannel_logout_supported": True,
        "jwks_uri": oidc + "/certs",
        "check_session_iframe": oidc + "/login-status-iframe.html",
        "grant_types_supported": [
            "authorization_code",
            "implicit",
            "refresh_token",
            "password",
            "client_credentials",
            CIBA_GRANT,
            "urn:ietf:params:oauth:grant-type:device_code",
        ],
        "acr_values_supported": list(_ACR_VALUES),
        "response_types_supported": [
            "code",
            "none",
            "id_token",
            "token",
            "id_token token",
            "code id_token",
            "code token",
            "code id_token token",
        ],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": list(id_token_algs or _ALGS),
        "id_token_encryption_alg_values_supported": list(_ENC_ALGS),
        "id_token_encryption_enc_values_supported": list(_ENC_ENCS),
        "userinfo_signing_alg_values_supported": [*_ALGS, "none"],
        "userinfo_encryption_alg_values_supported": list(_ENC_ALGS),
        "userinfo_encryption_enc_values_supported": list(_ENC_ENCS),
        "request_object_signing_alg_values_supported": [*_ALGS, "none"],
        "request_object_encryption_alg_values_supported": list(_ENC_ALGS),
        "request_object_encryption_enc_values_supported": list(_ENC_ENCS),
        "response_modes_supported": [
            "query",
            "fragment",
            "form_post",
            "query.jwt",
            "fragment.jwt",
            "form_post.jwt",
            "jwt",
        ],
        "registration_endpoint": endpoints["registration_endpoint"],
        "token_endpoint_auth_methods_supported": list(_AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": list(_ALGS),
        "introspection_endpoint_auth_methods_supported": list(_AUTH_METHODS),
        "introspection_endpoint_auth_signing_alg_values_supported": list(_ALGS),
        "authorization_signing_alg_values_supported": list(_ALGS),
        "authorization_encryption_alg_values_supported": list(_ENC_ALGS),
        "authorization_encryption_enc_values_supported": list(_ENC_ENCS),
        "claims_supported": [
            "aud",
            "sub",
            "iss",
            "auth_time",
            "name",
            "given_name",
            "family_name",
            "preferred_username",
            "email",
            "acr",
        ],
        "claim_types_supported": ["normal"],
        "claims_parameter_supported": True,
        "scopes_supported": [
            "openid",
            "microprofile-jwt",
            "rpps",
            "referentiel",
            "web-origins",
            "basic",
            "identity",
            "acr",
            "offline_access",
            "eidas1",
            "profile",
            "roles",
            "email",
            "scope_all",
            "phone",
            "interop",
            "scope_1",
            "address",
            "scope_2",
            "eidas2",
        ],
        "request_parameter_supported": True,
        "request_uri_parameter_supported": True,
        "require_request_uri_registration": True,
        "code_challenge_methods_supported": ["plain", "S256"],
        "tls_client_certificate_bound_access_tokens": True,
        "revocation_endpoint": endpoints["revocation_endpoint"],
        "revocation_endpoint_auth_methods_supported": list(_AUTH_METHODS),
        "revocation_endpoint_auth_signing_alg_values_supported": list(_ALGS),
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "device_authorization_endpoint": endpoints["device_authorization_endpoint"],
        "backchannel_token_delivery_modes_supported": ["poll", "ping"],
        "backchannel_authentication_endpoint": endpoints["backchannel_authentication_endpoint"],
        "backchannel_authentication_request_signing_alg_values_supported": [
            "PS384",
            "RS384",
            "EdDSA",
            "ES384",
            "ES256",
            "RS256",
            "ES512",
            "PS256",
            "PS512",
            "RS512",
        ],
        "require_pushed_authorization_requests": False,
        "pushed_authorization_request_endpoint": endpoints["pushed_authorization_request_endpoint"],
        "mtls_endpoint_aliases": dict(endpoints),
        "authorization_response_iss_parameter_supported": True,
    }


# -- state --------------------------------------------------------------------------------


@dataclass(slots=True)
class MockClient:
    """A client registered at the mock.

    ``jwks`` holds the public keys of ``private_key_jwt``; ``tls_cn`` the CN required of
    the client certificate for ``tls_client_auth`` (any test-CA certificate when empty).
    Redirect URIs match exactly, except loopback ones (``http://127.0.0.1/...``) whose
    port may vary (RFC 8252 §7.3) when ``loopback_any_port``.
    """

    client_id: str
    secret: str | None = None
    redirect_uris: tuple[str, ...] = ()
    auth_methods: tuple[str, ...] = ("client_secret_basic", "client_secret_post")
    jwks: Mapping[str, Any] | None = None
    tls_cn: str = ""
    loopback_any_port: bool = True

    def allows_redirect(self, uri: str) -> bool:
        if uri in self.redirect_uris:
            return True
        if not self.loopback_any_port:
            return False
        given = urlsplit(uri)
        if given.scheme != "http" or given.hostname not in ("127.0.0.1", "localhost", "::1"):
            return False
        for registered in self.redirect_uris:
            reg = urlsplit(registered)
            if reg.scheme == "http" and reg.hostname == given.hostname and reg.path == given.path:
                return True
        return False


@dataclass(slots=True)
class _Session:
    sid: str
    professional: TestProfessional
    method: LoginMethod
    client_id: str
    auth_time: int
    active: bool = True


@dataclass(slots=True)
class _Code:
    client_id: str
    redirect_uri: str
    nonce: str | None
    code_challenge: str
    code_challenge_method: str
    session: _Session
    scope: str
    expires_at: float
    used: bool = False


@dataclass(slots=True)
class _Grant:
    """An access or refresh token the mock issued."""

    kind: Literal["access", "refresh"]
    client_id: str
    session: _Session
    scope: str
    expires_at: float
    audience: str = ""
    active: bool = True


@dataclass(slots=True)
class _Ciba:
    client_id: str
    professional: TestProfessional
    channel: str
    scope: str
    expires_at: float
    interval: int
    script: list[str]
    last_poll: float | None = None
    done: bool = False


@dataclass(frozen=True, slots=True)
class _PendingLogin:
    """An authorization request waiting on the login page (kept server-side)."""

    params: Mapping[str, str]
    client_id: str
    expires_at: float


class _OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str = "") -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.description = description


# -- the mock -----------------------------------------------------------------------------


class PscMock(MockService):
    """The Pro Santé Connect mock; :attr:`issuer` is the realm URL.

    ``access_token_lifetime`` / ``refresh_token_lifetime`` (seconds) are short by default
    like PSC's (1-2 minutes, 30 minutes). ``auto_approve`` logs in without a page, as the
    professional chosen with :meth:`login_as` (default: the first of
    :data:`TEST_PROFESSIONALS`) unless the request carries ``login_hint``.
    ``ciba_script`` decides the CIBA polls: ``pending``, ``slow_down``, ``approve``,
    ``deny``; one entry per poll, the last one repeating. ``ciba_expires_in`` and
    ``ciba_interval`` are what the CIBA answer announces (a hostile provider announces
    hours). ``id_token_signing_algs`` is the discovery's
    ``id_token_signing_alg_values_supported`` (default: the real list, HS256 included).
    """

    name: ClassVar[str] = "psc"

    def __init__(
        self,
        pki: TestPki,
        *,
        auto_approve: bool = True,
        access_token_lifetime: int = 120,
        refresh_token_lifetime: int = 1800,
        ciba_expires_in: int = 120,
        ciba_interval: int = 1,
        ciba_script: Sequence[str] = ("pending", "approve"),
        ciba_enforce_interval: bool = True,
        userinfo_signed: bool = False,
        id_token_signing_algs: Sequence[str] = tuple(_ALGS),
        clients: Sequence[MockClient] | None = None,
        **options: Unpack[ServerOptions],
    ) -> None:
        # A client certificate is asked for, checked where PSC wants one (tls_client_auth).
        options.setdefault("require_client_cert", False)
        super().__init__(pki, **options)
        self._initial: dict[str, Any] = {
            "auto_approve": auto_approve,
            "access_token_lifetime": access_token_lifetime,
            "refresh_token_lifetime": refresh_token_lifetime,
            "ciba_expires_in": ciba_expires_in,
            "ciba_interval": ciba_interval,
            "ciba_script": tuple(ciba_script),
            "ciba_enforce_interval": ciba_enforce_interval,
            "userinfo_signed": userinfo_signed,
            "id_token_signing_algs": tuple(id_token_signing_algs),
        }
        self._initial_clients = tuple(clients) if clients is not None else None
        self._state = threading.RLock()
        self._key_pool: list[RSAKey] = []
        self._initial_key = self._new_key()
        self._rogue_key = self._new_key()
        self._restore()

    # -- configuration -----------------------------------------------------------------

    def _restore(self) -> None:
        with self._state:
            init = self._initial
            self.auto_approve = bool(init["auto_approve"])
            self.access_token_lifetime = int(init["access_token_lifetime"])
            self.refresh_token_lifetime = int(init["refresh_token_lifetime"])
            self.ciba_expires_in = int(init["ciba_expires_in"])
            self.ciba_interval = int(init["ciba_interval"])
            self.ciba_script: list[str] = list(init["ciba_script"])
            self.ciba_enforce_interval = bool(init["ciba_enforce_interval"])
            self.userinfo_signed = bool(init["userinfo_signed"])
            self.id_token_signing_algs: list[str] = list(init["id_token_signing_algs"])
            self.professionals: dict[str, TestProfessional] = dict(TEST_PROFESSIONALS)
            self.clients: dict[str, MockClient] = {
                c.client_id: copy.copy(c)
                for c in (self._initial_clients or (self.default_client(),))
            }
            self._keys: list[RSAKey] = [self._initial_key]
            self._login_as: tuple[str, LoginMethod] = (DEFAULT_PROFESSIONAL, "ecps")
            self._codes: dict[str, _Code] = {}
            self._grants: dict[str, _Grant] = {}
            self._sessions: dict[str, _Session] = {}
            self._ciba: dict[str, _Ciba] = {}
            self._pending_logins: dict[str, _PendingLogin] = {}
            self._assertion_jtis: set[str] = set()
            self.clock_offset = 0.0
            self.hits: dict[str, int] = {}
            self.last_authorization: dict[str, str] = {}
            self.last_ciba: dict[str, str] = {}
            self.last_token_exchange: dict[str, str] = {}

    @staticmethod
    def default_client() -> MockClient:
        """The client of the settings the mock hands out (secret + loopback redirects)."""
        return MockClient(
            client_id=DEFAULT_CLIENT_ID,
            secret=DEFAULT_CLIENT_SECRET,
            redirect_uris=("http://127.0.0.1/callback", "https://dui.example/psc/callback"),
            auth_methods=(
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt",
                "tls_client_auth",
            ),
        )

    def reset(self) -> None:
        """Start state: initial key, clients, professionals, no grant, no fault."""
        super().reset()
        self._restore()

    def register_client(self, client: MockClient) -> None:
        with self._state:
            self.clients[client.client_id] = client

    def login_as(self, national_id: str, method: LoginMethod = "ecps") -> None:
        """Who auto-approved logins log in as, and how (``ecps`` or ``card``)."""
        if national_id not in self.professionals:
            raise ValueError(f"unknown test professional {national_id!r}")
        if method not in ("ecps", "card"):
            raise ValueError("method must be ecps or card")
        with self._state:
            self._login_as = (national_id, method)

    def advance_clock(self, seconds: float) -> None:
        """Move the mock's clock forward (token expiry without waiting)."""
        with self._state:
            self.clock_offset += seconds

    def now(self) -> float:
        return time.time() + self.clock_offset

    # -- keys ----------------------------------------------------------------------------

    def _new_key(self) -> RSAKey:
        kid = secrets.token_urlsafe(12)
        return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})

    @property
    def signing_key(self) -> RSAKey:
        with self._state:
            return self._keys[-1]

    def rotate_keys(self, *, keep_previous: bool = True) -> str:
        """Sign with a new RS256 key from now on; returns its kid.

        The previous key stays published (``keep_previous``), as Keycloak keeps passive
        keys, so tokens already issued still verify.
        """
        key = self._new_key()
        with self._state:
            self._keys = [*self._keys, key] if keep_previous else [key]
        return str(key.kid)

    def jwks(self) -> dict[str, Any]:
        with self._state:
            keys = list(self._keys)
        published = [k.as_dict(private=False) for k in keys]
        # Keycloak also publishes an encryption key; clients must skip it for signatures.
        published.append(
            {
                **self._rogue_key.as_dict(private=False),
                "use": "enc",
                "alg": "RSA-OAEP",
                "kid": "enc-1",
            }
        )
        return {"keys": published}

    # -- faults --------------------------------------------------------------------------

    def inject_id_token_fault(self, fault: str, count: int | None = 1) -> None:
        """Forge the id_token of the next ``count`` token answers (``None``: until cleared).

        ``fault`` is one of :data:`ID_TOKEN_FAULTS`.
        """
        self.server.faults.push(_ID_TOKEN_CATALOG.parse(fault), count, target=_ID_TOKEN)

    def inject_endpoint_fault(self, endpoint: str, fault: str, count: int | None = 1) -> None:
        """Make ``endpoint`` answer ``http500``/``http503`` or wait (``latency:<seconds>``)."""
        if endpoint not in ENDPOINT_NAMES:
            raise ValueError(f"unknown endpoint {endpoint!r}; known: {sorted(ENDPOINT_NAMES)}")
        self.server.faults.push(ENDPOINT_FAULTS.parse(fault), count, target=endpoint)

    def _take_id_token_fault(self) -> str | None:
        fault = self.server.faults.take(_ID_TOKEN)
        return fault.name if isinstance(fault, ServiceFault) else None

    # -- settings for clients ------------------------------------------------------------

    @property
    def issuer(self) -> str:
        return self.url + REALM_PATH

    def client_registration(self) -> dict[str, Any]:
        """The default client as a DUI developer registers it (printed by ``mock serve``).

        Loopback redirect URIs (``http://127.0.0.1/callback``) accept any port.
        """
        client = self.default_client()
        return {
            "client_id": client.client_id,
            "client_secret": client.secret,
            "redirect_uris": list(client.redirect_uris),
            "login_page": not self.auto_approve,
        }

    def settings_table(self) -> dict[str, str]:
        """The ``[psc]`` table of segurlink settings for the default client."""
        return {
            "issuer": self.issuer,
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
            "auth_method": "client_secret_basic",
            "redirect_uri": "http://127.0.0.1/callback",
        }

    # -- dispatch ------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        oidc = REALM_PATH + "/protocol/openid-connect"
        return [
            Route(
                REALM_PATH + "/.well-known/wallet-openid-configuration",
                "discovery",
                self._discovery,
            ),
            Route(REALM_PATH + "/.well-known/openid-configuration", "discovery", self._discovery),
            Route("/auth", "authorize", self._authorize),
            Route("/auth/approve", "authorize", self._approve),
            Route(oidc + "/token", "token", self._token),
            Route(oidc + "/userinfo", "userinfo", self._userinfo),
            Route(oidc + "/certs", "certs", self._certs),
            Route(oidc + "/token/introspect", "introspect", self._introspect),
            Route(oidc + "/revoke", "revoke", self._revoke),
            Route(oidc + "/logout", "logout", self._logout),
            Route(oidc + "/ext/ciba/auth", "ciba", self._ciba_auth),
        ]

    def respond(
        self, route: Route, request: Request, exchange: Exchange, arguments: Mapping[str, Any]
    ) -> Response:
        exchange.details["endpoint"] = route.name
        with self._state:
            self.hits[route.name] = self.hits.get(route.name, 0) + 1
        try:
            return route.handler(request, exchange)
        except _OAuthError as exc:
            exchange.details["error"] = exc.error
            body: dict[str, str] = {"error": exc.error}
            if exc.description:
                body["error_description"] = exc.description
            headers = {"Cache-Control": "no-store"}
            if exc.status == 401:
                headers["WWW-Authenticate"] = f'Bearer error="{exc.error}"'
            return _json(body, exc.status, headers)

    def payload_too_large(self, request: Request, limit: int) -> Response:
        body = {"error": "invalid_request", "error_description": f"body over {limit} bytes"}
        return _json(body, 413, {"Cache-Control": "no-store"})

    # -- control endpoint (/_mock/psc/...) -----------------------------------------------

    def control_routes(self) -> list[Route]:
        return [
            Route("/psc/faults", "psc-faults", self._control_inject, ("POST",)),
            Route("/psc/faults", "psc-faults", self._control_clear_faults, ("DELETE",)),
            Route("/psc/rotate-keys", "rotate-keys", self._control_rotate_keys, ("POST",)),
            Route("/psc/login-as", "login-as", self._control_login_as, ("POST",)),
            Route("/psc/clients", "clients", self._control_register_client, ("POST",)),
            Route("/psc/login-page", "login-page", self._control_login_page, ("GET", "POST")),
        ]

    def _control_inject(self, request: Request) -> Response:
        data = _json_object(request)
        count = data.get("count", 1)
        if "id_token" in data:
            self.inject_id_token_fault(str(data["id_token"]), count)
        else:
            self.inject_endpoint_fault(str(data.get("endpoint")), str(data.get("fault")), count)
        return _json({"injected": True}, 201)

    def _control_clear_faults(self, request: Request) -> Response:
        self.clear_faults()
        return _json({"cleared": True})

    def _control_rotate_keys(self, request: Request) -> Response:
        keep = _json_object(request).get("keep_previous", True)
        return _json({"kid": self.rotate_keys(keep_previous=keep)})

    def _control_login_as(self, request: Request) -> Response:
        data = _json_object(request)
        self.login_as(str(data.get("national_id")), data.get("method", "ecps"))
        return _json({"login_as": data.get("national_id")})

    def _control_register_client(self, request: Request) -> Response:
        client = _client_from_json(_json_object(request))
        self.register_client(client)
        return _json({"registered": client.client_id}, 201)

    def _control_login_page(self, request: Request) -> Response:
        if request.method == "POST":
            enabled = _json_object(request).get("enabled")
            if not isinstance(enabled, bool):
                raise ValueError('login-page takes {"enabled": true|false}')
            self.auto_approve = not enabled
        return _json({"enabled": not self.auto_approve})

    # -- discovery and keys --------------------------------------------------------------

    def _discovery(self, request: Request, exchange: Exchange) -> Response:
        with self._state:
            algs = list(self.id_token_signing_algs)
        return _json(discovery_document(self.url, id_token_algs=algs))

    def _certs(self, request: Request, exchange: Exchange) -> Response:
        return _json(self.jwks())

    # -- authorization -------------------------------------------------------------------

    def _authorize(self, request: Request, exchange: Exchange) -> Response:
        params = {k: v for k, v in request.values.items()}
        with self._state:
            self.last_authorization = dict(params)
        client = self.clients.get(params.get("client_id", ""))
        redirect_uri = params.get("redirect_uri", "")
        if client is None or not client.allows_redirect(redirect_uri):
            # Never redirect to an unverified URI (RFC 6749 §4.1.2.1): show the error.
            return _html_page(
                400,
                "Application ou adresse de retour inconnue",
                "Le client_id n'est pas enregistré ou la redirect_uri n'est pas la sienne : "
                "la connexion ne peut pas revenir à l'application.",
            )
        state = params.get("state", "")
        problem = self._authorization_problem(params)
        if problem is not None:
            return self._redirect_error(redirect_uri, state, *problem)
        if not self.auto_approve:
            login_id = secrets.token_urlsafe(24)
            pending = _PendingLogin(
                dict(params), client.client_id, self.now() + _LOGIN_PAGE_LIFETIME
            )
            with self._state:
                self._pending_logins[login_id] = pending
            return self._login_page(login_id, pending)
        national_id, method = self._login_as
        hint = params.get("login_hint")
        if hint:
            if hint not in self.professionals:
                return self._redirect_error(
                    redirect_uri, state, "access_denied", "unknown login_hint"
                )
            national_id = hint
        method_param = params.get("mock_method")
        if method_param in ("ecps", "card"):
            method = method_param  # type: ignore[assignment]
        return self._issue_code(params, client, national_id, method)

    def _authorization_problem(self, params: Mapping[str, str]) -> tuple[str, str] | None:
        if params.get("response_type") != "code":
            return "unsupported_response_type", "only the code flow is served"
        if "openid" not in params.get("scope", "").split():
            return "invalid_scope", "scope must contain openid"
        if not params.get("state"):
            return "invalid_request", "state is required"
        if not params.get("nonce"):
            return "invalid_request", "nonce is required"
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            return "invalid_request", "PKCE with S256 is required"
        acr = params.get("acr_values", "")
        if acr and not set(acr.split()) & set(_ACR_VALUES):
            return "invalid_request", f"unsupported acr_values {acr!r}"
        return None

    def _login_page(
        self, login_id: str, pending: _PendingLogin, *, problem: str = "", status: int = 200
    ) -> Response:
        """The "wallet" page: pick a test professional and a login means, or cancel.

        The authorization parameters stay on the server (``login_id``): the form only
        carries the choice, so nothing in the query (e.g. ``login_hint``) can override it.
        ``login_hint`` and ``mock_method`` only pre-select.
        """
        params = pending.params
        hint = params.get("login_hint", "")
        chosen_method = "card" if params.get("mock_method") == "card" else "ecps"
        professionals = "".join(
            '<div class="choice"><input type="radio" name="professional" required'
            f' id="pro-{p.national_id}" value="{p.national_id}"'
            f"{' checked' if p.national_id == hint else ''}>"
            f'<label for="pro-{p.national_id}">{html.escape(p.given_name)} '
            f"{html.escape(p.family_name)} — {_PROFESSIONS.get(p.profession, 'professionnel')}"
            f' <span class="id">({p.national_id})</span></label></div>'
            for p in self.professionals.values()
        )
        methods = "".join(
            f'<div class="choice"><input type="radio" name="method" id="method-{value}"'
            f' value="{value}"{" checked" if value == chosen_method else ""}>'
            f'<label for="method-{value}">{label}</label></div>'
            for value, label in (
                ("ecps", "e-CPS (application mobile), niveau eidas1"),
                ("card", "Carte CPS, niveau eidas3"),
            )
        )
        alert = f'<p class="problem" role="alert">{html.escape(problem)}</p>' if problem else ""
        page = (
            '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<title>Connexion Pro Santé Connect — fournisseur de TEST segurlink</title>"
            f"<style>{_PAGE_CSS}</style></head><body><main>"
            "<h1>Connexion Pro Santé Connect</h1>"
            '<p class="test" role="note"><strong>Fournisseur de TEST.</strong> Cette page est '
            "celle du simulateur segurlink, pas le vrai Pro Santé Connect. Les identités "
            "proposées sont fictives : n'utilisez ni carte ni donnée réelle.</p>"
            f"<p>L'application <strong>{html.escape(pending.client_id)}</strong> demande à "
            "vous connecter.</p>"
            f'{alert}<form method="post" action="/auth/approve">'
            f'<input type="hidden" name="login_id" value="{html.escape(login_id)}">'
            f"<fieldset><legend>Professionnel de test</legend>{professionals}</fieldset>"
            f"<fieldset><legend>Moyen d'authentification</legend>{methods}</fieldset>"
            '<div class="actions">'
            '<button type="submit" name="decision" value="approve">Se connecter</button>'
            '<button type="submit" name="decision" value="cancel" formnovalidate '
            'class="secondary">Annuler</button>'
            "</div></form></main></body></html>"
        )
        return Response(page, status=status, content_type="text/html; charset=utf-8")

    def _approve(self, request: Request, exchange: Exchange) -> Response:
        if request.method != "POST":
            return Response("Method Not Allowed\n", status=405)
        form = request.form
        login_id = form.get("login_id", "")
        with self._state:
            pending = self._pending_logins.get(login_id)
            if pending is not None and self.now() > pending.expires_at:
                del self._pending_logins[login_id]
                pending = None
        if pending is None:
            return _html_page(
                400,
                "Demande de connexion inconnue ou expirée",
                "Cette demande de connexion est inconnue, déjà utilisée ou expirée. "
                "Recommencez la connexion depuis l'application.",
            )
        params = pending.params
        client = self.clients.get(pending.client_id)
        if client is None:  # unregistered since the page was shown
            return _html_page(400, "Client inconnu", "L'application n'est plus enregistrée.")
        decision = form.get("decision", "approve")
        national_id = form.get("professional", "")
        if decision == "approve" and national_id not in self.professionals:
            exchange.details["error"] = "no_professional_chosen"
            return self._login_page(
                login_id, pending, problem="Choisissez un professionnel de test.", status=400
            )
        with self._state:
            self._pending_logins.pop(login_id, None)  # single use
        if decision != "approve":
            exchange.details["error"] = "access_denied"
            return self._redirect_error(
                params["redirect_uri"],
                params.get("state", ""),
                "access_denied",
                "the professional cancelled the login",
            )
        method: LoginMethod = "card" if form.get("method") == "card" else "ecps"
        return self._issue_code(params, client, national_id, method)

    def _issue_code(
        self, params: Mapping[str, str], client: MockClient, national_id: str, method: LoginMethod
    ) -> Response:
        now = self.now()
        session = _Session(
            sid=secrets.token_urlsafe(16),
            professional=self.professionals[national_id],
            method=method,
            client_id=client.client_id,
            auth_time=int(now),
        )
        code = secrets.token_urlsafe(32)
        with self._state:
            self._sessions[session.sid] = session
            self._codes[code] = _Code(
                client_id=client.client_id,
                redirect_uri=params["redirect_uri"],
                nonce=params.get("nonce"),
                code_challenge=params["code_challenge"],
                code_challenge_method=params["code_challenge_method"],
                session=session,
                scope=params.get("scope", "openid"),
                expires_at=now + 60,
            )
        query = {
            "state": params.get("state", ""),
            "session_state": session.sid,
            "code": code,
            "iss": self.issuer,
        }
        return _redirect(params["redirect_uri"], query)

    def _redirect_error(
        self, redirect_uri: str, state: str, error: str, description: str
    ) -> Response:
        query = {
            "error": error,
            "error_description": description,
            "state": state,
            "iss": self.issuer,
        }
        return _redirect(redirect_uri, query)

    # -- client authentication -----------------------------------------------------------

    def _authenticate(self, request: Request, exchange: Exchange, endpoint_url: str) -> MockClient:
        form = request.form
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                raw = base64.b64decode(header[6:], validate=True).decode("utf-8")
            except (ValueError, UnicodeError) as exc:
                raise _OAuthError(401, "invalid_client", "malformed Basic credentials") from exc
            user, sep, password = raw.partition(":")
            if not sep:
                raise _OAuthError(401, "invalid_client", "malformed Basic credentials")
            # RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
            return self._check_secret(
                unquote_plus(user), unquote_plus(password), "client_secret_basic", exchange
            )
        if "client_secret" in form:
            return self._check_secret(
                form.get("client_id", ""), form["client_secret"], "client_secret_post", exchange
            )
        if form.get("client_assertion_type") == CLIENT_ASSERTION_TYPE:
            return self._check_assertion(form.get("client_assertion", ""), endpoint_url, exchange)
        client = self.clients.get(form.get("client_id", ""))
        if client is None:
            raise _OAuthError(401, "invalid_client", "unknown client")
        if "tls_client_auth" not in client.auth_methods:
            raise _OAuthError(401, "invalid_client", "no client authentication")
        if exchange.client is None:
            raise _OAuthError(401, "invalid_client", "tls_client_auth needs a client certificate")
        if client.tls_cn and exchange.client.cn != client.tls_cn:
            raise _OAuthError(401, "invalid_client", "client certificate subject not registered")
        exchange.details["client_auth"] = "tls_client_auth"
        return client

    def _check_secret(
        self, client_id: str, secret: str, method: str, exchange: Exchange
    ) -> MockClient:
        client = self.clients.get(client_id)
        if (
            client is None
            or client.secret is None
            or method not in client.auth_methods
            or not hmac.compare_digest(client.secret.encode(), secret.encode())
        ):
            raise _OAuthError(401, "invalid_client", "invalid client credentials")
        exchange.details["client_auth"] = method
        return client

    def _check_assertion(self, assertion: str, endpoint_url: str, exchange: Exchange) -> MockClient:
        try:
            # Read the claims first to find the client, then verify with its keys.
            unverified_claims = json.loads(jws.extract_compact(assertion.encode("ascii")).payload)
            if not isinstance(unverified_claims, dict):
                raise ValueError("not an object")
        except (JoseError, ValueError, TypeError, UnicodeError) as exc:
            raise _OAuthError(401, "invalid_client", "malformed client assertion") from exc
        client = self.clients.get(str(unverified_claims.get("iss", "")))
        if client is None or client.jwks is None or "private_key_jwt" not in client.auth_methods:
            raise _OAuthError(401, "invalid_client", "client not registered for private_key_jwt")
        try:
            token = jwt.decode(
                assertion,
                KeySet.import_key_set(dict(client.jwks)),  # type: ignore[arg-type]
                algorithms=["RS256", "PS256", "ES256"],
            )
            jwt.JWTClaimsRegistry(
                now=int(self.now()),
                leeway=5,
                iss={"essential": True, "value": client.client_id},
                sub={"essential": True, "value": client.client_id},
                aud={"essential": True, "values": [endpoint_url, self.issuer]},
                exp={"essential": True},
                jti={"essential": True},
            ).validate(token.claims)
        except (JoseError, ValueError, TypeError) as exc:
            raise _OAuthError(401, "invalid_client", f"client assertion refused: {exc}") from exc
        jti = str(token.claims["jti"])
        with self._state:
            if jti in self._assertion_jtis:
                raise _OAuthError(401, "invalid_client", "client assertion replayed")
            self._assertion_jtis.add(jti)
        exchange.details["client_auth"] = "private_key_jwt"
        return client

    # -- tokens --------------------------------------------------------------------------

    def _oidc_url(self, suffix: str) -> str:
        return self.issuer + "/protocol/openid-connect" + suffix

    def _token(self, request: Request, exchange: Exchange) -> Response:
        if request.method != "POST":
            raise _OAuthError(405, "invalid_request", "POST only")
        client = self._authenticate(request, exchange, self._oidc_url("/token"))
        form = request.form
        grant_type = form.get("grant_type", "")
        exchange.details["grant_type"] = grant_type
        if grant_type == "authorization_code":
            return self._grant_code(form, client)
        if grant_type == "refresh_token":
            return self._grant_refresh(form, client)
        if grant_type == CIBA_GRANT:
            return self._grant_ciba(form, client)
        if grant_type == TOKEN_EXCHANGE_GRANT:
            return self._grant_exchange(form, client, exchange)
        raise _OAuthError(400, "unsupported_grant_type", grant_type)

    def _grant_code(self, form: Mapping[str, str], client: MockClient) -> Response:
        with self._state:
            code = self._codes.get(form.get("code", ""))
            if code is None or code.client_id != client.client_id:
                raise _OAuthError(400, "invalid_grant", "Code not valid")
            if code.used:
                # A replayed code revokes what it gave (RFC 6749 §4.1.2).
                code.session.active = False
                raise _OAuthError(400, "invalid_grant", "Code already used")
            code.used = True
        if self.now() > code.expires_at:
            raise _OAuthError(400, "invalid_grant", "Code expired")
        if form.get("redirect_uri") != code.redirect_uri:
            raise _OAuthError(400, "invalid_grant", "Incorrect redirect_uri")
        verifier = form.get("code_verifier", "")
        challenge = _b64url(hashlib.sha256(verifier.encode("ascii", "replace")).digest())
        if not verifier or not hmac.compare_digest(challenge, code.code_challenge):
            raise _OAuthError(400, "invalid_grant", "PKCE verification failed")
        return self._token_answer(client, code.session, code.scope, nonce=code.nonce)

    def _grant_refresh(self, form: Mapping[str, str], client: MockClient) -> Response:
        with self._state:
            grant = self._grants.get(form.get("refresh_token", ""))
            if (
                grant is None
                or grant.kind != "refresh"
                or not grant.active
                or grant.client_id != client.client_id
            ):
                raise _OAuthError(400, "invalid_grant", "Invalid refresh token")
            if not grant.session.active:
                raise _OAuthError(400, "invalid_grant", "Session not active")
            if self.now() >= grant.expires_at:
                raise _OAuthError(400, "invalid_grant", "Token is not active")
            grant.active = False  # rotation: a refresh token is used once
        return self._token_answer(client, grant.session, grant.scope, nonce=None)

    def _token_answer(
        self, client: MockClient, session: _Session, scope: str, *, nonce: str | None
    ) -> Response:
        now = self.now()
        access = self._access_token(client, session, scope, now)
        refresh = secrets.token_urlsafe(48)
        with self._state:
            self._grants[refresh] = _Grant(
                "refresh", client.client_id, session, scope, now + self.refresh_token_lifetime
            )
        body = {
            "access_token": access,
            "expires_in": self.access_token_lifetime,
            "refresh_expires_in": self.refresh_token_lifetime,
            "refresh_token": refresh,
            "token_type": "Bearer",
            "id_token": self._id_token(client, session, access, nonce, now),
            "not-before-policy": 0,
            "session_state": session.sid,
            "scope": scope,
        }
        return _json(body, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _access_token(
        self,
        client: MockClient,
        session: _Session,
        scope: str,
        now: float,
        audience: str = "account",
    ) -> str:
        professional = session.professional
        expires_at = int(now) + self.access_token_lifetime
        claims = {
            "exp": expires_at,
            "iat": int(now),
            "auth_time": session.auth_time,
            "jti": secrets.token_urlsafe(16),
            "iss": self.issuer,
            "aud": audience,
            "sub": professional.subject,
            "typ": "Bearer",
            "azp": client.client_id,
            "session_state": session.sid,
            "acr": _acr(session.method),
            "scope": scope,
            "preferred_username": professional.national_id,
        }
        token = jwt.encode(
            {"alg": "RS256", "typ": "JWT", "kid": self.signing_key.kid}, claims, self.signing_key
        )
        with self._state:
            self._grants[token] = _Grant(
                "access", client.client_id, session, scope, expires_at, audience=audience
            )
        return token

    def _id_token(
        self,
        client: MockClient,
        session: _Session,
        access_token: str,
        nonce: str | None,
        now: float,
    ) -> str:
        fault = self._take_id_token_fault()
        professional = session.professional
        claims: dict[str, Any] = {
            "exp": int(now) + self.access_token_lifetime,
            "iat": int(now),
            "auth_time": session.auth_time,
            "jti": secrets.token_urlsafe(16),
            "iss": self.issuer,
            "aud": client.client_id,
            "sub": professional.subject,
            "typ": "ID",
            "azp": client.client_id,
            "session_state": session.sid,
            "sid": session.sid,
            "at_hash": _b64url(hashlib.sha256(access_token.encode()).digest()[:16]),
            "acr": _acr(session.method),
            "preferred_username": professional.national_id,
            "given_name": professional.given_name,
            "family_name": professional.family_name,
        }
        if session.method == "card":
            claims["authMode"] = "CARD"
        if nonce is not None:
            claims["nonce"] = nonce
        key: RSAKey | OctKey = self.signing_key
        header: dict[str, Any] = {"alg": "RS256", "typ": "JWT", "kid": key.kid}
        if fault == "expired":
            claims["iat"] = int(now) - 900
            claims["exp"] = int(now) - 600
        elif fault == "wrong_nonce":
            claims["nonce"] = "not-" + str(nonce)
        elif fault == "missing_nonce":
            claims.pop("nonce", None)
        elif fault == "wrong_issuer":
            claims["iss"] = self.url + "/auth/realms/another-realm"
        elif fault == "wrong_audience":
            claims["aud"] = "another-client"
            claims["azp"] = "another-client"
        elif fault == "wrong_azp":
            claims["aud"] = [client.client_id, "another-client"]
            claims["azp"] = "another-client"
        elif fault == "bad_at_hash":
            claims["at_hash"] = _b64url(hashlib.sha256(b"another token").digest()[:16])
        elif fault == "future_iat":
            claims["iat"] = int(now) + 3600
            claims["exp"] = int(now) + 7200
        elif fault == "wrong_acr":
            claims["acr"] = "0"
        elif fault == "stale_auth_time":
            claims["auth_time"] = int(now) - 3600
        elif fault == "unknown_kid":
            key = self._rogue_key
            header["kid"] = "rogue-" + str(key.kid)
        elif fault == "hs256" and client.secret is not None:
            key = OctKey.import_key(client.secret)
            header = {"alg": "HS256", "typ": "JWT"}
        if fault == "alg_none":
            head = _b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
            return f"{head}.{_b64url(json.dumps(claims).encode())}."
        token = jwt.encode(header, claims, key, algorithms=[header["alg"]])
        if fault == "tampered":
            head, _, rest = token.partition(".")
            _, _, signature = rest.partition(".")
            claims["preferred_username"] = "899999999999"
            token = f"{head}.{_b64url(json.dumps(claims).encode())}.{signature}"
        return token

    # -- CIBA ----------------------------------------------------------------------------

    def _ciba_auth(self, request: Request, exchange: Exchange) -> Response:
        if request.method != "POST":
            raise _OAuthError(405, "invalid_request", "POST only")
        client = self._authenticate(request, exchange, self._oidc_url("/ext/ciba/auth"))
        form = request.form
        with self._state:
            self.last_ciba = {
                k: v for k, v in form.items() if k not in ("client_secret", "client_assertion")
            }
        if "openid" not in form.get("scope", "").split():
            raise _OAuthError(400, "invalid_scope", "scope must contain openid")
        login_hint = form.get("login_hint", "")
        professional = self.professionals.get(login_hint)
        if professional is None:
            raise _OAuthError(400, "unknown_user_id", "login_hint is not a known professional")
        channel = form.get("channel", "MOBILE")
        if channel not in ("CARD", "MOBILE"):
            raise _OAuthError(400, "invalid_request", "channel must be CARD or MOBILE")
        if len(form.get("binding_message", "")) > 100:
            raise _OAuthError(400, "invalid_binding_message", "binding_message too long")
        auth_req_id = secrets.token_urlsafe(32)
        with self._state:
            self._ciba[auth_req_id] = _Ciba(
                client_id=client.client_id,
                professional=professional,
                channel=channel,
                scope=form.get("scope", "openid"),
                expires_at=self.now() + self.ciba_expires_in,
                interval=self.ciba_interval,
                script=list(self.ciba_script),
            )
        return _json(
            {
                "auth_req_id": auth_req_id,
                "expires_in": self.ciba_expires_in,
                "interval": self.ciba_interval,
            }
        )

    def _grant_ciba(self, form: Mapping[str, str], client: MockClient) -> Response:
        now = self.now()
        with self._state:
            pending = self._ciba.get(form.get("auth_req_id", ""))
            if pending is None or pending.client_id != client.client_id or pending.done:
                raise _OAuthError(400, "invalid_grant", "unknown auth_req_id")
            if now >= pending.expires_at:
                raise _OAuthError(400, "expired_token", "the authentication request expired")
            too_fast = (
                self.ciba_enforce_interval
                and pending.last_poll is not None
                and now - pending.last_poll < pending.interval - 0.25
            )
            pending.last_poll = now
            if too_fast:
                pending.interval += 5
                raise _OAuthError(400, "slow_down", "polling faster than the interval")
            step = pending.script.pop(0) if len(pending.script) > 1 else pending.script[0]
            if step == "pending":
                raise _OAuthError(400, "authorization_pending", "")
            if step == "slow_down":
                pending.interval += 5
                raise _OAuthError(400, "slow_down", "")
            if step == "deny":
                pending.done = True
                raise _OAuthError(400, "access_denied", "the professional refused")
            pending.done = True
            session = _Session(
                sid=secrets.token_urlsafe(16),
                professional=pending.professional,
                method="card" if pending.channel == "CARD" else "ecps",
                client_id=client.client_id,
                auth_time=int(now),
            )
            self._sessions[session.sid] = session
        return self._token_answer(client, session, pending.scope, nonce=None)

    # -- token exchange ------------------------------------------------------------------

    def _grant_exchange(
        self, form: Mapping[str, str], client: MockClient, exchange: Exchange
    ) -> Response:
        if exchange.client is None:
            raise _OAuthError(401, "invalid_client", "token exchange requires mutual TLS")
        with self._state:
            self.last_token_exchange = {
                "client_cn": exchange.client.cn,
                **{k: v for k, v in form.items() if k not in ("subject_token", "client_secret")},
            }
        if form.get("subject_token_type") != ACCESS_TOKEN_TYPE:
            raise _OAuthError(400, "invalid_request", "subject_token_type must be access_token")
        grant = self._active_grant(form.get("subject_token", ""), "access")
        if grant is None:
            raise _OAuthError(400, "invalid_grant", "subject_token is not active")
        audience = form.get("audience") or "account"
        access = self._access_token(
            client, grant.session, grant.scope, self.now(), audience=audience
        )
        return _json(
            {
                "access_token": access,
                "issued_token_type": ACCESS_TOKEN_TYPE,
                "token_type": "Bearer",
                "expires_in": self.access_token_lifetime,
            },
            200,
            {"Cache-Control": "no-store"},
        )

    def _active_grant(self, token: str, kind: str | None = None) -> _Grant | None:
        with self._state:
            grant = self._grants.get(token)
            if grant is None or not grant.active or not grant.session.active:
                return None
            if kind is not None and grant.kind != kind:
                return None
            if self.now() >= grant.expires_at:
                return None
            return grant

    # -- userinfo, introspection, revocation, logout -------------------------------------

    def _userinfo(self, request: Request, exchange: Exchange) -> Response:
        header = request.headers.get("Authorization", "")
        token = (
            header[7:].strip()
            if header.startswith("Bearer ")
            else request.form.get("access_token", "")
        )
        grant = self._active_grant(token, "access")
        if grant is None:
            raise _OAuthError(401, "invalid_token", "Token verification failed")
        claims = grant.session.professional.userinfo()
        if self.userinfo_signed:
            signed = dict(claims, iss=self.issuer, aud=grant.client_id)
            key = self.signing_key
            body = jwt.encode({"alg": "RS256", "kid": key.kid}, signed, key)
            return Response(body, content_type="application/jwt")
        return Response(json.dumps(claims, ensure_ascii=False), content_type="application/json")

    def _introspect(self, request: Request, exchange: Exchange) -> Response:
        client = self._authenticate(request, exchange, self._oidc_url("/token/introspect"))
        token = request.form.get("token", "")
        grant = self._active_grant(token)
        if grant is None:
            return _json({"active": False})
        session = grant.session
        now = int(self.now())
        return _json(
            {
                "exp": int(grant.expires_at),
                "iat": now,
                "auth_time": session.auth_time,
                "jti": secrets.token_urlsafe(12),
                "iss": self.issuer,
                "sub": session.professional.subject,
                "typ": "Bearer" if grant.kind == "access" else "Refresh",
                "azp": grant.client_id,
                "nonce": "",
                "session_state": session.sid,
                "preferred_username": session.professional.national_id,
                "email_verified": False,
                "acr": _acr(session.method),
                "scope": grant.scope,
                "client_id": client.client_id,
                "username": session.professional.national_id,
                "active": True,
            }
        )

    def _revoke(self, request: Request, exchange: Exchange) -> Response:
        self._authenticate(request, exchange, self._oidc_url("/revoke"))
        with self._state:
            grant = self._grants.get(request.form.get("token", ""))
            if grant is not None:
                grant.active = False
        return Response(status=200)

    def _logout(self, request: Request, exchange: Exchange) -> Response:
        if request.method == "POST" and "refresh_token" in request.form:
            client = self._authenticate(request, exchange, self._oidc_url("/logout"))
            grant = self._active_grant(request.form["refresh_token"], "refresh")
            if grant is None or grant.client_id != client.client_id:
                raise _OAuthError(400, "invalid_grant", "Invalid refresh token")
            self._end_session(grant.session)
            return Response(status=204)
        hint = request.values.get("id_token_hint", "")
        try:
            claims = jwt.decode(hint, KeySet(list(self._keys)), algorithms=["RS256"]).claims
        except (JoseError, ValueError, TypeError) as exc:
            raise _OAuthError(400, "invalid_request", "invalid id_token_hint") from exc
        with self._state:
            session = self._sessions.get(str(claims.get("sid", "")))
        if session is not None:
            self._end_session(session)
        target = request.values.get("post_logout_redirect_uri")
        if target:
            registered = self.clients.get(str(claims.get("aud", "")))
            if registered is None or not registered.allows_redirect(target):
                raise _OAuthError(400, "invalid_request", "post_logout_redirect_uri not registered")
            state = request.values.get("state")
            return _redirect(target, {"state": state} if state else {})
        return Response("<html><body>Vous êtes déconnecté.</body></html>", content_type="text/html")

    def _end_session(self, session: _Session) -> None:
        with self._state:
            session.active = False


# -- helpers ------------------------------------------------------------------------------

#: Seconds a login page stays usable (Keycloak's default login timeout is 30 minutes).
_LOGIN_PAGE_LIFETIME = 1800.0
_PROFESSIONS = {"10": "médecin", "21": "pharmacien", "60": "infirmière"}
_PAGE_CSS = (
    "body{font-family:system-ui,sans-serif;margin:0;background:#f4f6f9;color:#1a1a1a}"
    "main{max-width:34rem;margin:2rem auto;padding:1.5rem;background:#fff;"
    "border-radius:.5rem;box-shadow:0 1px 4px #0002}"
    "h1{font-size:1.4rem;margin-top:0}"
    ".test{background:#fff4ce;border-left:.3rem solid #b58100;padding:.6rem .8rem}"
    ".problem{background:#fde7e9;border-left:.3rem solid #c4001a;padding:.6rem .8rem}"
    "fieldset{border:1px solid #ccd;border-radius:.4rem;margin:1rem 0;padding:.6rem 1rem}"
    "legend{font-weight:600;padding:0 .3rem}.choice{margin:.4rem 0}"
    ".id{color:#555}label{cursor:pointer}"
    ".actions{display:flex;gap:.8rem;flex-wrap:wrap}"
    "button{font-size:1rem;padding:.55rem 1.2rem;border-radius:.3rem;border:1px solid #000091;"
    "background:#000091;color:#fff;cursor:pointer}"
    "button.secondary{background:#fff;color:#000091}"
    "button:focus-visible,input:focus-visible{outline:3px solid #0a76f6;outline-offset:2px}"
)


def _json_object(request: Request) -> dict[str, Any]:
    payload = request.get_json(silent=True)
    return payload if isinstance(payload, dict) else {}


def _client_from_json(data: Mapping[str, Any]) -> MockClient:
    """A client registration from the control endpoint (secret auth, exact redirect URIs)."""
    client_id, secret, uris = (
        data.get("client_id"),
        data.get("client_secret"),
        data.get("redirect_uris"),
    )
    if not isinstance(client_id, str) or not client_id:
        raise ValueError("client_id must be a non-empty string")
    if not isinstance(secret, str) or not secret:
        raise ValueError("client_secret must be a non-empty string")
    if not isinstance(uris, list) or not uris or not all(isinstance(u, str) for u in uris):
        raise ValueError("redirect_uris must be a non-empty list of URLs")
    for uri in uris:
        if urlsplit(uri).scheme not in ("https", "http") or not urlsplit(uri).hostname:
            raise ValueError(f"redirect URI {uri!r} is not an absolute http(s) URL")
    return MockClient(client_id=client_id, secret=secret, redirect_uris=tuple(uris))


def _html_page(status: int, title: str, text: str) -> Response:
    page = (
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)} — fournisseur de TEST segurlink</title>"
        f"<style>{_PAGE_CSS}</style></head><body><main><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(text)}</p></main></body></html>"
    )
    return Response(page, status=status, content_type="text/html; charset=utf-8")


def _acr(method: LoginMethod) -> str:
    # Real card logins carry eidas3 (psc-samples introspection, authMode CARD).
    return "eidas3" if method == "card" else "eidas1"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _json(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        json.dumps(data, ensure_ascii=False),
        status=status,
        content_type="application/json",
        headers=dict(headers or {}),
    )


def _redirect(uri: str, query: Mapping[str, str]) -> Response:
    sep = "&" if "?" in uri else "?"
    target = uri + (sep + urlencode(query) if query else "")
    return Response("", status=302, headers={"Location": target})
