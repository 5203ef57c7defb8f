"""Values of Pro Santé Connect: provider metadata, tokens, claims, professional identity.

Everything here is a frozen dataclass. Values that carry personal data (names, national
ids) or secrets (tokens) have masked reprs, so they can be logged or shown in a traceback
without leaking them.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .._ascii import is_ascii_digits
from .._audit import mask_identifier
from ..config import Secret

__all__ = [
    "AuthorizationRequest",
    "CibaRequest",
    "IdTokenClaims",
    "Introspection",
    "OtherId",
    "ProfessionalIdentity",
    "ProviderMetadata",
    "PscActivity",
    "PscAddress",
    "PscExercice",
    "PscLogin",
    "Rejection",
    "TokenSet",
]


class Rejection(enum.StrEnum):
    """The ``error`` of an :class:`~segurlink.errors.OidcError` raised by a local check.

    Each forged or mismatched token or callback is refused with its own value, so a caller
    (and a test) can tell a wrong nonce from an expired token.
    """

    MALFORMED_TOKEN = "malformed_token"  # noqa: S105 - an error code
    UNSUPPORTED_ALG = "unsupported_alg"
    UNKNOWN_KID = "unknown_kid"
    INVALID_SIGNATURE = "invalid_signature"
    INVALID_ISSUER = "invalid_issuer"
    INVALID_AUDIENCE = "invalid_audience"
    INVALID_AZP = "invalid_azp"
    EXPIRED = "token_expired"
    ISSUED_IN_FUTURE = "issued_in_future"
    MISSING_CLAIM = "missing_claim"
    NONCE_MISMATCH = "nonce_mismatch"
    AT_HASH_MISMATCH = "at_hash_mismatch"
    ACR_NOT_ACCEPTED = "acr_not_accepted"
    STATE_MISMATCH = "state_mismatch"
    ISS_MISMATCH = "iss_mismatch"
    MISSING_CODE = "missing_code"
    DISCOVERY_ISSUER_MISMATCH = "discovery_issuer_mismatch"
    INVALID_AUTH_TIME = "invalid_auth_time"
    LOGIN_TOO_OLD = "login_too_old"
    INVALID_SID = "invalid_sid"
    CIBA_EXPIRED = "expired_token"
    SESSION_EXPIRED = "session_expired"


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    """The endpoints of the OpenID Provider, from its discovery document.

    ``raw`` keeps the whole document (read-only) for the keys not mapped here.
    """

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str = ""
    introspection_endpoint: str = ""
    end_session_endpoint: str = ""
    revocation_endpoint: str = ""
    backchannel_authentication_endpoint: str = ""
    code_challenge_methods: tuple[str, ...] = ()
    token_endpoint_auth_methods: tuple[str, ...] = ()
    id_token_signing_algs: tuple[str, ...] = ()
    userinfo_signing_algs: tuple[str, ...] = ()
    iss_parameter_supported: bool = False
    mtls_endpoint_aliases: Mapping[str, str] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "mtls_endpoint_aliases", MappingProxyType(dict(self.mtls_endpoint_aliases))
        )
        object.__setattr__(self, "raw", MappingProxyType(dict(self.raw)))

    def mtls_endpoint(self, name: str) -> str:
        """The mutual-TLS alias of endpoint ``name`` (e.g. ``token_endpoint``), else itself."""
        alias = self.mtls_endpoint_aliases.get(name)
        return alias or str(getattr(self, name, "") or "")


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """One login attempt: the URL to send the browser to and what the callback must match.

    A web back end keeps it in the user's server-side session between the redirect and
    the callback. ``code_verifier`` is the PKCE secret; it never goes to the browser.
    ``max_age`` is the freshness asked of the authentication (checked on the id_token).
    """

    url: str
    state: str
    nonce: str
    code_verifier: Secret
    redirect_uri: str
    created_at: float = field(default_factory=time.time)
    max_age: int | None = None


@dataclass(frozen=True, slots=True)
class TokenSet:
    """Tokens from the token endpoint. Reprs never show them.

    ``expires_at`` / ``refresh_expires_at`` are epoch seconds computed from ``expires_in``
    when the answer arrived (``None`` when the provider gave no lifetime).
    """

    access_token: Secret
    token_type: str = "Bearer"  # noqa: S105 - the token type, not a secret
    id_token: str = field(default="", repr=False)
    refresh_token: Secret | None = None
    expires_at: float | None = None
    refresh_expires_at: float | None = None
    scope: str = ""
    issued_token_type: str = ""

    def access_token_expired(self, *, now: float | None = None, margin: float = 0.0) -> bool:
        """True when the access token expires within ``margin`` seconds."""
        if self.expires_at is None:
            return False
        return (time.time() if now is None else now) + margin >= self.expires_at

    def refresh_token_usable(self, *, now: float | None = None, margin: float = 0.0) -> bool:
        """True when a refresh token is present and not (about to be) expired."""
        if self.refresh_token is None:
            return False
        if self.refresh_expires_at is None:
            return True
        return (time.time() if now is None else now) + margin < self.refresh_expires_at


@dataclass(frozen=True, slots=True)
class IdTokenClaims:
    """The claims of an id_token that passed every check.

    ``acr`` is ``eidas1`` for an e-CPS login and ``eidas3`` for a CPS card login as seen
    on the real service (``auth_mode`` then is ``CARD``). ``claims`` holds the whole
    payload (read-only).
    """

    subject: str
    issuer: str
    acr: str
    issued_at: int
    expires_at: int
    auth_time: int | None = None
    national_id: str = ""
    auth_mode: str = ""
    session_id: str = ""
    claims: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "claims", MappingProxyType(dict(self.claims)))

    def __repr__(self) -> str:
        return (
            f"IdTokenClaims(subject={mask_identifier(self.subject)!r}, acr={self.acr!r}, "
            f"auth_mode={self.auth_mode!r}, expires_at={self.expires_at})"
        )


@dataclass(frozen=True, slots=True)
class PscAddress:
    """Postal address of an activity site (RPPS structure fields)."""

    street_number: str | None = None
    repetition_index: str | None = None
    street_type: str | None = None
    street_name: str | None = None
    additional_recipient: str | None = None
    additional_location: str | None = None
    distribution_mention: str | None = None
    cedex_office: str | None = None
    postal_code: str | None = None
    commune_code: str | None = None
    department_code: str | None = None
    country_code: str | None = None

    @property
    def street_line(self) -> str:
        """``2 R LIBERTA``-style line from the parts that are present."""
        parts = (self.street_number, self.repetition_index, self.street_type, self.street_name)
        return " ".join(p for p in parts if p)


@dataclass(frozen=True, slots=True)
class PscActivity:
    """One activity of an exercice: the structure where it takes place and the role.

    ``finess_site`` / ``finess_legal_entity`` are the FINESS numbers of the site (ET) and
    of its legal entity (EJ); absent values are ``None`` (PSC sends empty strings).
    """

    mode: str | None = None
    sector: str | None = None
    role: str | None = None
    genre: str | None = None
    pharmacist_section: str | None = None
    finess_site: str | None = None
    finess_legal_entity: str | None = None
    siret: str | None = None
    siren: str | None = None
    structure_technical_id: str | None = None
    former_structure_id: str | None = None
    registration_authority: str | None = None
    name: str | None = None
    trade_name: str | None = None
    address: PscAddress = field(default_factory=PscAddress)
    phone: str | None = None
    phone2: str | None = None
    fax: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class PscExercice:
    """One exercice (professional practice): profession, category, speciality, activities."""

    profession: str | None = None
    category: str | None = None
    civility: str | None = None
    last_name: str | None = None
    first_name: str | None = None
    speciality_type: str | None = None
    speciality: str | None = None
    activities: tuple[PscActivity, ...] = ()

    def __repr__(self) -> str:
        return (
            f"PscExercice(profession={self.profession!r}, category={self.category!r}, "
            f"speciality={self.speciality!r}, activities={len(self.activities)})"
        )


@dataclass(frozen=True, slots=True)
class OtherId:
    """Another identifier of the professional (``otherIds``: ADELI, EDIT, RPPS...)."""

    identifier: str
    origin: str | None = None
    quality: int | None = None


@dataclass(frozen=True, slots=True)
class ProfessionalIdentity:
    """Who the professional is, from the PSC UserInfo.

    ``national_id`` is ``preferred_username`` (``8`` + RPPS for RPPS professionals);
    :attr:`rpps` derives the RPPS number from it when it has that shape.

    >>> ProfessionalIdentity(national_id="810001234567").rpps
    '10001234567'
    """

    national_id: str
    subject: str = ""
    subject_name_id: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    civility: str | None = None
    sector: str | None = None
    organization: str | None = None
    organization_id: str | None = None
    roles: tuple[str, ...] = ()
    auth_level: str | None = None
    other_ids: tuple[OtherId, ...] = ()
    exercices: tuple[PscExercice, ...] = ()
    claims: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "claims", MappingProxyType(dict(self.claims)))

    @property
    def rpps(self) -> str | None:
        """The 11-digit RPPS number when ``national_id`` is ``8`` + RPPS, else ``None``."""
        nid = self.national_id
        if len(nid) == 12 and nid.startswith("8") and is_ascii_digits(nid):
            return nid[1:]
        return None

    @property
    def activities(self) -> tuple[PscActivity, ...]:
        """Every activity of every exercice, in order."""
        return tuple(a for e in self.exercices for a in e.activities)

    def __repr__(self) -> str:
        return (
            f"ProfessionalIdentity(national_id={mask_identifier(self.national_id)!r}, "
            f"exercices={len(self.exercices)}, activities={len(self.activities)})"
        )


@dataclass(frozen=True, slots=True)
class PscLogin:
    """The outcome of a completed login: tokens, checked id_token claims, identity."""

    tokens: TokenSet
    claims: IdTokenClaims
    identity: ProfessionalIdentity | None = None


@dataclass(frozen=True, slots=True)
class CibaRequest:
    """A started CIBA (backchannel) authentication, to be polled.

    ``interval`` is the minimum number of seconds between polls; ``expires_at`` the epoch
    second after which the request is dead.
    """

    auth_req_id: str = field(repr=False)
    expires_at: float
    interval: float = 5.0


@dataclass(frozen=True, slots=True)
class Introspection:
    """An RFC 7662 introspection answer. An inactive token only has ``active=False``."""

    active: bool
    subject: str = ""
    national_id: str = ""
    client_id: str = ""
    scope: str = ""
    acr: str = ""
    expires_at: int | None = None
    issued_at: int | None = None
    claims: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "claims", MappingProxyType(dict(self.claims)))

    def __repr__(self) -> str:
        return (
            f"Introspection(active={self.active}, national_id="
            f"{mask_identifier(self.national_id)!r}, acr={self.acr!r}, exp={self.expires_at})"
        )
