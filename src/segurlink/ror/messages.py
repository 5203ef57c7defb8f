"""ROR FHIR messages, without sockets: search queries, bundle reading, capacity patches.

Everything here is a pure function of its arguments, so the client only moves bytes and
the tests can check each rule without a server:

* :class:`SearchQuery` and the builders :func:`organization_query`, :func:`service_query`,
  :func:`location_query` (the search parameters of the ROR CapabilityStatement);
* :func:`parse_bundle`: a ``searchset`` Bundle to a :class:`~segurlink.ror.models.SearchPage`
  with the ``_include`` / ``_revinclude`` resources resolved into linked objects;
* :func:`parse_organization`, :func:`parse_service`, :func:`parse_location`,
  :func:`parse_capacity`: FHIR JSON to typed values;
* :func:`capacity_patch` (FHIRPath Patch ``Parameters`` for ``ws-synchro-dispo-lits-fhir``),
  :func:`classify_capacity_answer` (the replace-then-add rule and the 404/412/400 outcomes);
* :func:`outcome_issues`: an OperationOutcome to :class:`~segurlink.errors.Issue` values.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, TypedDict, Unpack
from urllib.parse import urlencode, urlsplit

from ..errors import InputError, Issue, MalformedResponse
from .models import (
    Capacity,
    CapacityUpdate,
    Coding,
    Contact,
    HealthcareService,
    Identifier,
    Location,
    OpeningHours,
    Organization,
    Practitioner,
    PractitionerRole,
    Price,
    PublicationStatus,
    SearchPage,
    Telecom,
)

__all__ = [
    "CAPACITY_EXTENSION",
    "DEFAULT_SERVICE_INCLUDE",
    "FINESS_SYSTEM",
    "ID_NAT_STRUCT_SYSTEM",
    "REGION_SYSTEM",
    "DisabilityCriteria",
    "HomeCareCriteria",
    "Include",
    "LocationCriteria",
    "Near",
    "NursingHomeCriteria",
    "OrganizationCriteria",
    "SearchQuery",
    "ServiceCriteria",
    "capacity_indicator_path",
    "capacity_patch",
    "classify_capacity_answer",
    "disability_service_query",
    "home_care_query",
    "location_query",
    "matching_capacity",
    "nursing_home_query",
    "organization_query",
    "outcome_issues",
    "parse_bundle",
    "parse_capacity",
    "parse_location",
    "parse_organization",
    "parse_practitioner",
    "parse_service",
    "service_query",
]

SD = "https://interop.esante.gouv.fr/ig/fhir/ror/StructureDefinition/"
CAPACITY_EXTENSION = SD + "ror-location-supported-capacity"
COMMUNE_EXTENSION = SD + "ror-commune-cog"
PATIENT_TYPE_EXTENSION = SD + "ror-healthcareservice-patient-type"
TERRITORIAL_DIVISION_EXTENSION = SD + "ror-territorial-division"
PRICE_EXTENSION = SD + "ror-organization-price"
CONTACT_EXTENSION = SD + "ror-healthcareservice-contact"
#: Geographic-entity categories (TRE_R66) of home care: SSIAD, services autonomie à
#: domicile "aide" (ex-SAAD) and "aide et soins" (ex-SPASAD).
HOME_CARE_CATEGORIES = ("354", "460", "209")
#: Categories of disability services: IME, SESSAD, ESAT, MAS, FAM, foyers de vie and
#: d'hébergement.
DISABILITY_CATEGORIES = ("183", "182", "246", "255", "437", "382", "252")
NURSING_HOME_CATEGORY = "500"
FINESS_SYSTEM = "https://finess.esante.gouv.fr"
ID_NAT_STRUCT_SYSTEM = "urn:oid:1.2.250.1.71.4.2.2"
REGION_SYSTEM = "https://mos.esante.gouv.fr/NOS/TRE_R30-RegionOM/FHIR/TRE-R30-RegionOM"


def nos_system(table: str) -> str:
    """The MOS/NOS code system URL of a TRE table, e.g. ``TRE_R330-TypeStatutCapacite``."""
    return f"https://mos.esante.gouv.fr/NOS/{table}/FHIR/{table.replace('_', '-')}"


# Sub-extensions of ror-location-supported-capacity: (url, field of Capacity, TRE table).
_CAPACITY_CODED: tuple[tuple[str, str, str], ...] = (
    ("capacityType", "capacity_type", "TRE_R329-NatureCapacite"),
    ("capacityStatus", "status", "TRE_R330-TypeStatutCapacite"),
    ("temporalityCapacity", "temporality", "TRE_R331-TemporaliteCapacite"),
    ("genderCapacityAvailable", "gender", "TRE_R332-GenreCapacite"),
    ("capacityClosingType", "closing_type", "TRE_R333-TypeFermeture"),
    ("additionalBedType", "additional_bed_type", "TRE_R334-TypeLitSupplementaire"),
    ("capacitySourceType", "source_type", "TRE_R335-TypeSourceCapacite"),
    ("crisisType", "crisis_type", "TRE_R336-TypeCrise"),
    ("temporaryAssignement", "temporary_assignment", "TRE_R337-AffectationTemporaire"),
)
# Qualifiers that identify an indicator (the source type and date do not).
_INDICATOR_KEYS = tuple(entry for entry in _CAPACITY_CODED if entry[0] != "capacitySourceType")


# -- search queries --------------------------------------------------------------------------


class Include(enum.StrEnum):
    """Linked resources a search brings along (``_include`` / ``_revinclude``).

    ``ORGANIZATION`` and ``LOCATIONS`` (a service's entity and places: the default of
    :func:`service_query`), ``PARENTS`` (an entity's ``partOf`` chain, EG → EJ),
    ``ROLES`` (the practitioner roles of a service), ``PRACTITIONERS`` (the roles and
    their practitioners), ``SERVICES`` (the services of a location).
    """

    ORGANIZATION = "organization"
    LOCATIONS = "locations"
    PARENTS = "parents"
    ROLES = "roles"
    PRACTITIONERS = "practitioners"
    SERVICES = "services"


#: What :func:`service_query` includes when ``include`` is not given.
DEFAULT_SERVICE_INCLUDE = frozenset({Include.ORGANIZATION, Include.LOCATIONS})


def _includes(include: Collection[Include | str], allowed: frozenset[Include]) -> set[Include]:
    try:
        wanted = {Include(value) for value in include}
    except ValueError as exc:
        raise InputError(f"unknown include: {exc}") from exc
    if wanted - allowed:
        names = ", ".join(sorted(i.value for i in wanted - allowed))
        raise InputError(f"this search cannot include {names}")
    return wanted


@dataclass(frozen=True, slots=True)
class Near:
    """A ``near`` criterion: within ``km`` kilometres (0-1000) of a point."""

    latitude: float
    longitude: float
    km: float = 10.0

    def __post_init__(self) -> None:
        if not (-90 <= self.latitude <= 90 and -180 <= self.longitude <= 180):
            raise InputError(f"invalid coordinates {self.latitude}, {self.longitude}")
        if not 0 <= self.km <= 1000:
            raise InputError(f"near distance must be between 0 and 1000 km, not {self.km:g}")

    @property
    def value(self) -> str:
        return f"{self.latitude:g}|{self.longitude:g}|{self.km:g}|km"


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A FHIR search: the resource type and the ordered query parameters.

    >>> q = organization_query(finess="450000088")
    >>> q.url("https://ror.example/ws-diffusion-fhir")
    'https://ror.example/ws-diffusion-fhir/Organization?identifier=https%3A%2F%2Ffiness.esante.gouv.fr%7C450000088'
    """

    resource_type: str
    params: tuple[tuple[str, str], ...] = ()

    def with_params(self, *params: tuple[str, str]) -> SearchQuery:
        return SearchQuery(self.resource_type, self.params + tuple(params))

    def url(self, base: str) -> str:
        query = urlencode(self.params)
        return f"{base.rstrip('/')}/{self.resource_type}" + (f"?{query}" if query else "")


_FHIR_DATE = re.compile(
    r"(?:eq|ne|gt|lt|ge|le|sa|eb|ap)?\d{4}(?:-\d{2}(?:-\d{2}"
    r"(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?)?)?"
)


def _is_fhir_date(text: str) -> bool:
    if not _FHIR_DATE.fullmatch(text):
        return False
    bare = text[2:] if text[:2].isalpha() else text
    padded = bare + "-01-01"[len(bare) - 4 :] if len(bare) < 10 else bare
    try:
        (dt.datetime if "T" in padded else dt.date).fromisoformat(padded.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _date_param(value: dt.date | dt.datetime | str, prefix: str = "ge") -> str:
    """A FHIR date search value; strings must be FHIR dates (``2025``, ``2025-06-01``,
    ``2025-06-01T08:00:00Z``), optionally prefixed (``ge2025-06-01``)."""
    if isinstance(value, str) and not _is_fhir_date(value.strip()):
        raise InputError(
            f"not a date: {value!r} (expected YYYY, YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)"
        )
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        text = value.isoformat(timespec="seconds").replace("+00:00", "Z")
    elif isinstance(value, dt.date):
        text = value.isoformat()
    else:
        text = value.strip()
    return text if text[:2].isalpha() else prefix + text


def _common(
    params: list[tuple[str, str]],
    *,
    region: str | None,
    updated_since: dt.date | dt.datetime | str | None,
    count: int | None,
    sort: str | None,
    extra: Iterable[tuple[str, str]],
) -> None:
    if region:
        params.append(("_tag", f"{REGION_SYSTEM}|{region}"))
    if updated_since is not None:
        params.append(("_lastUpdated", _date_param(updated_since)))
    if sort:
        params.append(("_sort", sort))
    if count is not None:
        if not 1 <= count <= 1000:
            raise InputError(f"the page size (_count) must be between 1 and 1000, not {count}")
        params.append(("_count", str(count)))
    params.extend(extra)


NameMatch = Literal["starts-with", "contains", "exact"]


# The criteria of each search, typed: the ``**criteria`` of the client's search methods.
DateParam = dt.date | dt.datetime | str


class OrganizationCriteria(TypedDict, total=False):
    """The criteria of :func:`organization_query`."""

    finess: str | None
    id_nat_struct: str | None
    name: str | None
    name_match: NameMatch
    type: str | None
    price_type: str | None
    max_price: float | None
    residential_type: str | None
    welcome_type: str | None
    dependency_level: str | None
    region: str | None
    updated_since: DateParam | None
    include: Collection[Include | str]
    count: int | None
    sort: str | None
    extra: Iterable[tuple[str, str]]


class _ServiceBase(TypedDict, total=False):
    identifier: str | None
    ids: Sequence[str]
    name: str | None
    name_match: NameMatch
    category: str | None
    type: str | None
    specialty: str | None
    characteristic: str | None
    patient_type: str | None
    age: int | None
    psychiatric_sector: str | None
    near: Near | None
    organization_finess: str | None
    organization_hierarchy: bool
    region: str | None
    updated_since: DateParam | None
    include: Collection[Include | str]
    count: int | None
    sort: str | None
    extra: Iterable[tuple[str, str]]


class HomeCareCriteria(_ServiceBase, total=False):
    """The criteria of :func:`home_care_query` (besides the commune it covers)."""


class _ServiceCommon(_ServiceBase, total=False):
    commune: str | None
    intervention_zone: str | None


class DisabilityCriteria(_ServiceCommon, total=False):
    """The criteria of :func:`disability_service_query`."""

    categories: Sequence[str]


class NursingHomeCriteria(_ServiceCommon, total=False):
    """The criteria of :func:`nursing_home_query`."""

    max_price: float | None
    price_type: str
    residential_type: str | None
    welcome_type: str | None
    dependency_level: str | None


class ServiceCriteria(_ServiceCommon, total=False):
    """The criteria of :func:`service_query`."""

    organization_type: str | Sequence[str] | None
    organization_price: Sequence[tuple[str, str]]


class LocationCriteria(TypedDict, total=False):
    """The criteria of :func:`location_query`."""

    identifier: str | None
    city: str | None
    operational_status: str | None
    postal_code: str | None
    commune: str | None
    near: Near | None
    type: str | None
    status: str | None
    capacity_type: str | None
    capacity_status: str | None
    min_capacity: int | None
    gender: str | None
    capacity_updated_since: DateParam | None
    region: str | None
    updated_since: DateParam | None
    include: Collection[Include | str]
    count: int | None
    sort: str | None
    extra: Iterable[tuple[str, str]]


def _name_param(name: str, match: NameMatch) -> tuple[str, str]:
    """FHIR string search: starts-with by default (case and accents ignored)."""
    if match not in ("starts-with", "contains", "exact"):
        raise InputError(f"name matching is starts-with, contains or exact, not {match!r}")
    return ("name" if match == "starts-with" else f"name:{match}", name)


def _price_params(
    prefix: str,
    *,
    price_type: str | None,
    max_price: float | None,
    residential_type: str | None,
    welcome_type: str | None,
    dependency_level: str | None,
) -> list[tuple[str, str]]:
    if max_price is not None and not max_price >= 0:
        raise InputError(f"a maximum price cannot be negative: {max_price}")
    params = [
        (prefix + key, value)
        for key, value in (
            ("price-type", price_type),
            ("price-residential-type", residential_type),
            ("price-welcome-type", welcome_type),
            ("price-dependency-level", dependency_level),
        )
        if value
    ]
    if max_price is not None:
        params.append((prefix + "price-amount-value", f"le{max_price:g}"))
    return params


def organization_query(
    *,
    finess: str | None = None,
    id_nat_struct: str | None = None,
    name: str | None = None,
    name_match: NameMatch = "starts-with",
    type: str | None = None,
    price_type: str | None = None,
    max_price: float | None = None,
    residential_type: str | None = None,
    welcome_type: str | None = None,
    dependency_level: str | None = None,
    region: str | None = None,
    updated_since: dt.date | dt.datetime | str | None = None,
    include: Collection[Include | str] = (),
    count: int | None = None,
    sort: str | None = None,
    extra: Iterable[tuple[str, str]] = (),
) -> SearchQuery:
    """Organisations by FINESS, idNatStruct, name, type (TRE_R66 category...), region.

    ``name`` matches the start of the name, ignoring case and accents (FHIR string
    search); ``name_match="contains"`` or ``"exact"`` for the other modes. The price
    criteria (``price_type`` TRE_R246, ``max_price`` in euros, ``residential_type``
    TRE_R242, ``welcome_type`` TRE_R240, ``dependency_level`` TRE_R237) must all hold for
    one and the same price of the entity. ``include={Include.PARENTS}`` adds
    ``_include:iterate=Organization:partof`` so each match's ``parent`` chain (EG → EJ) is
    filled. ``updated_since`` gives a ``_lastUpdated=ge`` delta for synchronisation.

    >>> organization_query(price_type="02", max_price=80).params
    (('price-type', '02'), ('price-amount-value', 'le80'))
    """
    params: list[tuple[str, str]] = []
    if finess:
        params.append(("identifier", f"{FINESS_SYSTEM}|{finess}"))
    if id_nat_struct:
        params.append(("identifier", f"{ID_NAT_STRUCT_SYSTEM}|{id_nat_struct}"))
    if name:
        params.append(_name_param(name, name_match))
    if type:
        params.append(("type", type))
    params.extend(
        _price_params(
            "",
            price_type=price_type,
            max_price=max_price,
            residential_type=residential_type,
            welcome_type=welcome_type,
            dependency_level=dependency_level,
        )
    )
    if Include.PARENTS in _includes(include, frozenset({Include.PARENTS})):
        params.append(("_include:iterate", "Organization:partof"))
    _common(params, region=region, updated_since=updated_since, count=count, sort=sort, extra=extra)
    return SearchQuery("Organization", tuple(params))


def service_query(
    *,
    identifier: str | None = None,
    ids: Sequence[str] = (),
    name: str | None = None,
    name_match: NameMatch = "starts-with",
    category: str | None = None,
    type: str | None = None,
    specialty: str | None = None,
    characteristic: str | None = None,
    patient_type: str | None = None,
    age: int | None = None,
    commune: str | None = None,
    intervention_zone: str | None = None,
    psychiatric_sector: str | None = None,
    near: Near | None = None,
    organization_finess: str | None = None,
    organization_hierarchy: bool = False,
    organization_type: str | Sequence[str] | None = None,
    organization_price: Sequence[tuple[str, str]] = (),
    region: str | None = None,
    updated_since: dt.date | dt.datetime | str | None = None,
    include: Collection[Include | str] = DEFAULT_SERVICE_INCLUDE,
    count: int | None = None,
    sort: str | None = None,
    extra: Iterable[tuple[str, str]] = (),
) -> SearchQuery:
    """Healthcare services for an orientation: what, for whom, where.

    ``category`` (TRE_R244), ``type`` (TRE_R227 champ d'activité), ``specialty`` (TRE_R211
    activité opérationnelle), ``patient_type`` (TRE_R239: 01 elderly, 02 disabled...),
    ``age`` (a person's age in years: services whose age range contains it), ``commune``
    (COG code of the service's location), ``intervention_zone`` (COG code of a commune
    the service covers: home care comes to the person), ``psychiatric_sector``,
    ``near`` (distance from a point), ``organization_finess`` (with
    ``organization_hierarchy``: every service under that entity, ``:above``),
    ``organization_type`` (TRE_R66 category of the providing entity, one or several).
    ``name`` matches the start of the name, ignoring case and accents; ``name_match``
    gives ``contains`` or ``exact``. ``include`` names the linked resources brought along
    (:class:`Include`; the entity and the locations by default): ``PRACTITIONERS`` adds
    the roles (``_revinclude=PractitionerRole:service``) and their practitioners.

    >>> q = service_query(specialty="022", age=40, include={Include.ORGANIZATION})
    >>> dict(q.params)["age-range-low"], dict(q.params)["age-range-high"]
    ('le40', 'ge40')
    """
    params: list[tuple[str, str]] = []
    if ids:
        params.append(("_id", ",".join(ids)))
    if name:
        params.append(_name_param(name, name_match))
    if intervention_zone:
        params.append(("intervention-zone", intervention_zone))
    if psychiatric_sector:
        params.append(("psychiatric-sector", psychiatric_sector))
    for key, value in (
        ("identifier", identifier),
        ("service-category", category),
        ("service-type", type),
        ("specialty", specialty),
        ("characteristic", characteristic),
        ("patient-type", patient_type),
    ):
        if value:
            params.append((key, value))
    if age is not None:
        if not 0 <= age <= 150:
            raise InputError(f"age must be between 0 and 150 years, not {age}")
        params.append(("age-range-low", f"le{age}"))
        params.append(("age-range-high", f"ge{age}"))
    if commune:
        params.append(("location.commune-cog", commune))
    if near is not None:
        params.append(("location.near", near.value))
    if organization_finess:
        key = "organization.identifier" + (":above" if organization_hierarchy else "")
        params.append((key, f"{FINESS_SYSTEM}|{organization_finess}"))
    if organization_type:
        types = [organization_type] if isinstance(organization_type, str) else organization_type
        params.append(("organization.type", ",".join(types)))
    params.extend(organization_price)
    wanted = _includes(include, frozenset(Include) - {Include.SERVICES})
    if Include.ORGANIZATION in wanted:
        params.append(("_include", "HealthcareService:organization"))
    if Include.LOCATIONS in wanted:
        params.append(("_include", "HealthcareService:location"))
    if Include.PARENTS in wanted:
        params.append(("_include:iterate", "Organization:partof"))
    if Include.ROLES in wanted or Include.PRACTITIONERS in wanted:
        params.append(("_revinclude", "PractitionerRole:service"))
    if Include.PRACTITIONERS in wanted:
        params.append(("_include:iterate", "PractitionerRole:practitioner"))
    _common(params, region=region, updated_since=updated_since, count=count, sort=sort, extra=extra)
    return SearchQuery("HealthcareService", tuple(params))


def home_care_query(commune: str, **criteria: Unpack[HomeCareCriteria]) -> SearchQuery:
    """Home-care services (SSIAD, services autonomie à domicile) whose intervention zone
    covers ``commune`` (COG code), for ``patient_type`` and ``age`` when given.

    >>> dict(home_care_query("45232").params)["intervention-zone"]
    '45232'
    """
    return service_query(
        intervention_zone=commune, organization_type=HOME_CARE_CATEGORIES, **criteria
    )


def disability_service_query(
    *, categories: Sequence[str] = DISABILITY_CATEGORIES, **criteria: Unpack[_ServiceCommon]
) -> SearchQuery:
    """Services for people with disabilities (public TRE_R239 ``02``) of the disability
    ``categories`` (IME, SESSAD, ESAT, MAS, FAM, foyers by default), for a person of
    ``age``."""
    criteria.setdefault("patient_type", "02")
    return service_query(organization_type=tuple(categories), **criteria)


def nursing_home_query(
    *,
    max_price: float | None = None,
    price_type: str = "02",
    residential_type: str | None = None,
    welcome_type: str | None = None,
    dependency_level: str | None = None,
    **criteria: Unpack[_ServiceCommon],
) -> SearchQuery:
    """Nursing-home (EHPAD) services with the entity and its prices included.

    The price criteria apply to one and the same price of the EHPAD (``price_type`` 02:
    the daily accommodation price; 03: the dependency price of a GIR group,
    ``dependency_level``), chained from the service as in the ROR guide
    (``organization.price-type=...&organization.price-amount-value=le...``).
    """
    prices = _price_params(
        "organization.",
        price_type=price_type,
        max_price=max_price,
        residential_type=residential_type,
        welcome_type=welcome_type,
        dependency_level=dependency_level,
    )
    return service_query(
        organization_type=NURSING_HOME_CATEGORY, organization_price=prices, **criteria
    )


def location_query(
    *,
    identifier: str | None = None,
    city: str | None = None,
    operational_status: str | None = None,
    postal_code: str | None = None,
    commune: str | None = None,
    near: Near | None = None,
    type: str | None = None,
    status: str | None = None,
    capacity_type: str | None = None,
    capacity_status: str | None = None,
    min_capacity: int | None = None,
    gender: str | None = None,
    capacity_updated_since: dt.date | dt.datetime | str | None = None,
    region: str | None = None,
    updated_since: dt.date | dt.datetime | str | None = None,
    include: Collection[Include | str] = (),
    count: int | None = None,
    sort: str | None = None,
    extra: Iterable[tuple[str, str]] = (),
) -> SearchQuery:
    """Locations and their capacities, e.g. available beds near a point.

    The capacity criteria hold for one and the same indicator (the ROR mock's documented
    reading). ``min_capacity`` is a sum: at least N beds or places over the indicators of
    the location that match the other criteria (available beds are published per gender);
    the server is asked for a matching indicator of at least 1 and
    :func:`matching_capacity` completes the check on the client.

    >>> q = location_query(capacity_status="02", capacity_type="01", min_capacity=3)
    >>> q.params
    (('capacity-type', '01'), ('capacity-status', '02'), ('nb-capacity', 'ge1'))
    """
    params: list[tuple[str, str]] = []
    for key, value in (
        ("identifier", identifier),
        ("address-city", city),
        ("address-postalcode", postal_code),
        ("commune-cog", commune),
        ("near", near.value if near is not None else None),
        ("type", type),
        ("status", status),
        ("operational-status", operational_status),
        ("capacity-type", capacity_type),
        ("capacity-status", capacity_status),
        ("gender-capacity-available", gender),
    ):
        if value:
            params.append((key, value))
    if min_capacity is not None:
        if min_capacity < 0:
            raise InputError(f"a minimum capacity cannot be negative: {min_capacity}")
        if min_capacity > 0:
            params.append(("nb-capacity", "ge1"))
    if capacity_updated_since is not None:
        params.append(("capacity-update-date", _date_param(capacity_updated_since)))
    if Include.SERVICES in _includes(include, frozenset({Include.SERVICES})):
        params.append(("_revinclude", "HealthcareService:location"))
    _common(params, region=region, updated_since=updated_since, count=count, sort=sort, extra=extra)
    return SearchQuery("Location", tuple(params))


# -- decoding ----------------------------------------------------------------------------


def _datetime(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _codings(concepts: Any) -> tuple[Coding, ...]:
    out: list[Coding] = []
    for concept in concepts or ():
        for coding in concept.get("coding") or ():
            out.append(
                Coding(coding.get("system", ""), coding.get("code", ""), coding.get("display", ""))
            )
    return tuple(out)


def _first_coding(concept: Any) -> Coding | None:
    if not isinstance(concept, Mapping):
        return None
    codings = _codings([concept])
    return codings[0] if codings else None


def _identifiers(resource: Mapping[str, Any]) -> tuple[Identifier, ...]:
    out = []
    for ident in resource.get("identifier") or ():
        type_codes = _codings([ident["type"]]) if isinstance(ident.get("type"), Mapping) else ()
        out.append(
            Identifier(
                ident.get("system", ""),
                str(ident.get("value", "")),
                type_codes[0].code if type_codes else "",
            )
        )
    return tuple(out)


def _region(resource: Mapping[str, Any]) -> str:
    for tag in (resource.get("meta") or {}).get("tag") or ():
        if tag.get("system") == REGION_SYSTEM:
            return str(tag.get("code", ""))
    return ""


def _last_updated(resource: Mapping[str, Any]) -> dt.datetime | None:
    return _datetime((resource.get("meta") or {}).get("lastUpdated"))


def reference_key(reference: Any) -> str | None:
    """``Type/id`` of a FHIR reference (relative, absolute or versioned), else ``None``.

    >>> reference_key({"reference": "https://x/fhir/Organization/12/_history/3"})
    'Organization/12'
    """
    if isinstance(reference, Mapping):
        reference = reference.get("reference")
    if not isinstance(reference, str) or "/" not in reference:
        return None
    parts = [p for p in urlsplit(reference).path.split("/") if p]
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    return "/".join(parts[-2:]) if len(parts) >= 2 else None


def parse_capacity(extension: Mapping[str, Any]) -> Capacity:
    """One ``ror-location-supported-capacity`` extension to a :class:`Capacity`."""
    values: dict[str, Any] = {}
    by_url = {field_url: name for field_url, name, _ in _CAPACITY_CODED}
    for sub in extension.get("extension") or ():
        url = sub.get("url")
        if url == "nbCapacity":
            raw = sub.get("valueInteger")
            values["count"] = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
        elif url == "capacityUpdateDate":
            values["updated"] = _datetime(sub.get("valueDateTime"))
        elif url in by_url:
            values[by_url[url]] = _first_coding(sub.get("valueCodeableConcept"))
    return Capacity(**values)


def parse_location(resource: Mapping[str, Any]) -> Location:
    """A FHIR ``Location`` (ror-location) to a :class:`Location` with its capacities."""
    commune = None
    capacities = []
    for ext in resource.get("extension") or ():
        url = ext.get("url")
        if url == CAPACITY_EXTENSION:
            capacities.append(parse_capacity(ext))
        elif url == COMMUNE_EXTENSION:
            commune = _first_coding(ext.get("valueCodeableConcept"))
    address = resource.get("address") or {}
    position = resource.get("position") or {}
    status = resource.get("operationalStatus")
    return Location(
        id=str(resource.get("id", "")),
        name=str(resource.get("name", "")),
        identifiers=_identifiers(resource),
        status=str(resource.get("status", "")),
        types=_codings(resource.get("type")),
        city=str(address.get("city", "")),
        postal_code=str(address.get("postalCode", "")),
        commune_cog=commune,
        latitude=_float(position.get("latitude")),
        longitude=_float(position.get("longitude")),
        region=_region(resource),
        last_updated=_last_updated(resource),
        capacities=tuple(capacities),
        operational_status=_first_coding({"coding": [status]})
        if isinstance(status, Mapping)
        else None,
        address_lines=tuple(str(line) for line in address.get("line") or () if line),
        raw=resource,
    )


def matching_capacity(
    location: Location,
    *,
    capacity_type: str | None = None,
    status: str | None = None,
    gender: str | None = None,
    temporality: str | None = None,
) -> int:
    """The beds or places of ``location`` over the indicators matching the criteria.

    >>> loc = Location("1", "x", capacities=(
    ...     Capacity(1, status=Coding("s", "02"), gender=Coding("s", "01")),
    ...     Capacity(2, status=Coding("s", "02"), gender=Coding("s", "03")),
    ...     Capacity(30, status=Coding("s", "01"))))
    >>> matching_capacity(loc, status="02")
    3
    """
    total = 0
    for capacity in location.capacities:
        if capacity.count is None:
            continue
        checks = (
            (capacity_type, capacity.capacity_type),
            (status, capacity.status),
            (gender, capacity.gender),
            (temporality, capacity.temporality),
        )
        if all(
            not wanted or (c is not None and c.code in wanted.split(",")) for wanted, c in checks
        ):
            total += capacity.count
    return total


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def parse_organization(
    resource: Mapping[str, Any], parent: Organization | None = None
) -> Organization:
    """A FHIR ``Organization`` (ror-organization) to an :class:`Organization`."""
    return Organization(
        id=str(resource.get("id", "")),
        name=str(resource.get("name", "")),
        identifiers=_identifiers(resource),
        types=_codings(resource.get("type")),
        part_of_ref=reference_key(resource.get("partOf")),
        region=_region(resource),
        last_updated=_last_updated(resource),
        parent=parent,
        prices=tuple(_price(e) for e in _extensions(resource, PRICE_EXTENSION)),
        raw=resource,
    )


def _extensions(node: Any, url: str) -> list[Mapping[str, Any]]:
    if not isinstance(node, Mapping):
        return []
    return [
        e for e in node.get("extension") or () if isinstance(e, Mapping) and e.get("url") == url
    ]


def _value(node: Any, url: str, kind: str) -> Any:
    found = _extensions(node, url)
    return found[0].get(kind) if found else None


def _coding_of(node: Any, url: str) -> Coding | None:
    return _first_coding(_value(node, url, "valueCodeableConcept"))


def _price(extension: Mapping[str, Any]) -> Price:
    money = _value(extension, "amount", "valueMoney") or {}
    return Price(
        price_type=_coding_of(extension, "priceType"),
        amount=_float(money.get("value")),
        currency=str(money.get("currency", "EUR")),
        unit=_coding_of(extension, "priceUnit"),
        valid_from=str(_value(extension, "startDate", "valueDateTime") or ""),
        residential_type=_coding_of(extension, "residentialType"),
        welcome_type=_coding_of(extension, "welcomeType"),
        dependency_level=_coding_of(extension, "dependencyLevel"),
        special_price=_coding_of(extension, "specialPrice"),
    )


def _telecom(extension: Mapping[str, Any]) -> Telecom:
    return Telecom(
        value=str(_value(extension, "telecomAddress", "valueString") or ""),
        channel=_coding_of(extension, SD + "ror-telecom-communication-channel"),
        confidentiality=_coding_of(extension, SD + "ror-telecom-confidentiality-level"),
    )


def _contact(extension: Mapping[str, Any]) -> Contact:
    name = _value(extension, "name", "valueHumanName") or {}
    given = " ".join(str(g) for g in name.get("given") or ())
    return Contact(
        purpose=_coding_of(extension, "purposeContact"),
        name=" ".join(p for p in (given, str(name.get("family", ""))) if p),
        description=str(_value(extension, "description", "valueString") or ""),
        confidentiality=_coding_of(extension, SD + "ror-confidentiality-level"),
        telecoms=tuple(
            _telecom(t)
            for t in _extensions(extension, SD + "ror-healthcareservice-contact-telecom")
        ),
    )


def _opening_hours(available: Mapping[str, Any]) -> OpeningHours:
    period = (
        _value(available, SD + "ror-available-time-effective-opening-closing-date", "valuePeriod")
        or {}
    )
    return OpeningHours(
        days=tuple(str(d) for d in available.get("daysOfWeek") or ()),
        start=str(available.get("availableStartTime", "")),
        end=str(available.get("availableEndTime", "")),
        all_day=bool(available.get("allDay", False)),
        kind=_coding_of(available, SD + "ror-available-time-type-of-time"),
        effective_from=str(period.get("start", "")),
        effective_until=str(period.get("end", "")),
    )


def _contact_point(point: Mapping[str, Any]) -> Telecom:
    return Telecom(
        value=str(point.get("value", "")),
        channel=_coding_of(point, SD + "ror-telecom-communication-channel"),
        confidentiality=_coding_of(point, SD + "ror-telecom-confidentiality-level"),
    )


def parse_practitioner(resource: Mapping[str, Any]) -> Practitioner:
    """A FHIR ``Practitioner`` (ror-practitioner) to a :class:`Practitioner`."""
    names = resource.get("name") or [{}]
    name = names[0] if isinstance(names[0], Mapping) else {}
    return Practitioner(
        id=str(resource.get("id", "")),
        id_nat_ps=next(
            (i.value for i in _identifiers(resource) if i.system == "urn:oid:1.2.250.1.71.4.2.1"),
            None,
        ),
        family=str(name.get("family", "")),
        given=" ".join(str(g) for g in name.get("given") or ()),
        telecoms=tuple(
            _contact_point(t) for t in resource.get("telecom") or () if isinstance(t, Mapping)
        ),
        raw=resource,
    )


def _age_range(resource: Mapping[str, Any]) -> tuple[float | None, float | None]:
    for ext in resource.get("extension") or ():
        if ext.get("url") != PATIENT_TYPE_EXTENSION:
            continue
        for sub in ext.get("extension") or ():
            if sub.get("url") == "ageRange":
                rng = sub.get("valueRange") or {}
                return (
                    _float((rng.get("low") or {}).get("value")),
                    _float((rng.get("high") or {}).get("value")),
                )
    return None, None


def parse_service(
    resource: Mapping[str, Any],
    *,
    organization: Organization | None = None,
    locations: Sequence[Location] = (),
    roles: Sequence[PractitionerRole] = (),
) -> HealthcareService:
    """A FHIR ``HealthcareService`` (ror-healthcareservice) to a :class:`HealthcareService`."""
    low, high = _age_range(resource)
    location_refs = tuple(
        key for key in (reference_key(r) for r in resource.get("location") or ()) if key
    )
    patient_types: list[Coding] = []
    for ext in _extensions(resource, PATIENT_TYPE_EXTENSION):
        for sub in _extensions(ext, "supportedPatientInfo"):
            patient_types.extend(_codings([sub.get("valueCodeableConcept") or {}]))
    zone = [
        c
        for ext in _extensions(resource, TERRITORIAL_DIVISION_EXTENSION)
        for c in [_coding_of(ext, "codeTerritorialDivision")]
        if c is not None
    ]
    closed = tuple(
        (str((n.get("during") or {}).get("start", "")), str((n.get("during") or {}).get("end", "")))
        for n in resource.get("notAvailable") or ()
        if isinstance(n, Mapping) and isinstance(n.get("during"), Mapping)
    )
    return HealthcareService(
        id=str(resource.get("id", "")),
        name=str(resource.get("name", "")),
        identifiers=_identifiers(resource),
        categories=_codings(resource.get("category")),
        types=_codings(resource.get("type")),
        specialties=_codings(resource.get("specialty")),
        characteristics=_codings(resource.get("characteristic")),
        age_low=low,
        age_high=high,
        region=_region(resource),
        last_updated=_last_updated(resource),
        organization_ref=reference_key(resource.get("providedBy")),
        location_refs=location_refs,
        organization=organization,
        locations=tuple(locations),
        roles=tuple(roles),
        patient_types=tuple(patient_types),
        intervention_zone=tuple(zone),
        psychiatric_sector=str(
            _value(resource, SD + "ror-healthcareservice-psychiatric-sector", "valueString") or ""
        ),
        opening_hours=tuple(
            _opening_hours(a) for a in resource.get("availableTime") or () if isinstance(a, Mapping)
        ),
        contacts=tuple(_contact(c) for c in _extensions(resource, CONTACT_EXTENSION)),
        closed=closed,
        raw=resource,
    )


def parse_role(
    resource: Mapping[str, Any], practitioner: Practitioner | None = None
) -> PractitionerRole:
    """A FHIR ``PractitionerRole`` to a :class:`PractitionerRole`."""
    name = _extensions(resource, SD + "ror-practitionerrole-name")
    exercise = (
        " ".join(
            str(_value(name[0], part, "valueString") or "")
            for part in ("exerciseFirstName", "exerciseLastName")
        ).strip()
        if name
        else ""
    )
    return PractitionerRole(
        id=str(resource.get("id", "")),
        practitioner_ref=reference_key(resource.get("practitioner")),
        service_refs=tuple(
            key
            for key in (reference_key(r) for r in resource.get("healthcareService") or ())
            if key
        ),
        codes=_codings(resource.get("code")),
        identifiers=_identifiers(resource),
        exercise_name=exercise,
        practitioner=practitioner,
        raw=resource,
    )


# -- bundles ---------------------------------------------------------------------------------

Decoded = Organization | Location | HealthcareService | PractitionerRole | Practitioner


class _Linker:
    """Resolves references between the resources of one Bundle, decoding each once."""

    def __init__(self, resources: Mapping[str, Mapping[str, Any]]) -> None:
        self.resources = resources
        self._orgs: dict[str, Organization] = {}
        self._locations: dict[str, Location] = {}
        self._roles_by_service: dict[str, list[PractitionerRole]] | None = None
        self._services_by_location: dict[str, list[Mapping[str, Any]]] | None = None

    def organization(
        self, key: str | None, _seen: frozenset[str] = frozenset()
    ) -> Organization | None:
        if key is None or key in _seen:
            return None  # absent, or a partOf cycle: stop rather than loop
        if key in self._orgs:
            return self._orgs[key]
        resource = self.resources.get(key)
        if resource is None or resource.get("resourceType") != "Organization":
            return None
        parent = self.organization(reference_key(resource.get("partOf")), _seen | {key})
        org = parse_organization(resource, parent)
        self._orgs[key] = org
        return org

    def location(self, key: str) -> Location | None:
        if key not in self._locations:
            resource = self.resources.get(key)
            if resource is None or resource.get("resourceType") != "Location":
                return None
            self._locations[key] = parse_location(resource)
        return self._locations[key]

    def practitioner(self, key: str | None) -> Practitioner | None:
        resource = self.resources.get(key) if key else None
        if resource is None or resource.get("resourceType") != "Practitioner":
            return None
        return parse_practitioner(resource)

    def role(self, resource: Mapping[str, Any]) -> PractitionerRole:
        return parse_role(resource, self.practitioner(reference_key(resource.get("practitioner"))))

    def roles(self, service_key: str) -> list[PractitionerRole]:
        if self._roles_by_service is None:
            self._roles_by_service = {}
            for resource in self.resources.values():
                if resource.get("resourceType") == "PractitionerRole":
                    role = self.role(resource)
                    for ref in role.service_refs:
                        self._roles_by_service.setdefault(ref, []).append(role)
        return self._roles_by_service.get(service_key, [])

    def location_with_services(self, key: str) -> Location | None:
        """A matched Location with the services that reference it (``_revinclude``)."""
        location = self.location(key)
        if location is None:
            return None
        if self._services_by_location is None:
            self._services_by_location = {}
            for resource in self.resources.values():
                if resource.get("resourceType") == "HealthcareService":
                    for ref in resource.get("location") or ():
                        loc_key = reference_key(ref)
                        if loc_key:
                            self._services_by_location.setdefault(loc_key, []).append(resource)
        services = self._services_by_location.get(key)
        if not services:
            return location
        return replace(location, services=tuple(self.service(r) for r in services))

    def service(self, resource: Mapping[str, Any]) -> HealthcareService:
        key = f"HealthcareService/{resource.get('id', '')}"
        locations = []
        for ref in resource.get("location") or ():
            loc_key = reference_key(ref)
            loc = self.location(loc_key) if loc_key else None
            if loc is not None:
                locations.append(loc)
        return parse_service(
            resource,
            organization=self.organization(reference_key(resource.get("providedBy"))),
            locations=locations,
            roles=self.roles(key),
        )

    def decode(self, resource: Mapping[str, Any]) -> Decoded | None:
        kind = resource.get("resourceType")
        key = f"{kind}/{resource.get('id', '')}"
        if kind == "Organization":
            return self.organization(key)
        if kind == "Location":
            return self.location(key)
        if kind == "HealthcareService":
            return self.service(resource)
        if kind == "PractitionerRole":
            return self.role(resource)
        if kind == "Practitioner":
            return parse_practitioner(resource)
        return None


def parse_bundle(bundle: Mapping[str, Any], resource_type: str) -> SearchPage[Any]:
    """A ``searchset`` Bundle to a :class:`SearchPage` of decoded ``resource_type`` matches.

    Entries with ``search.mode = match`` (or, without a mode, of ``resource_type``) are the
    matches; the others (``include``) are used to fill the linked objects and returned
    decoded in ``SearchPage.included``. Raises :class:`MalformedResponse` when the JSON
    is not a Bundle.
    """
    if not isinstance(bundle, Mapping) or bundle.get("resourceType") != "Bundle":
        kind = bundle.get("resourceType") if isinstance(bundle, Mapping) else type(bundle).__name__
        raise MalformedResponse(f"expected a FHIR Bundle, got {kind!r}")
    resources: dict[str, Mapping[str, Any]] = {}
    matches: list[Mapping[str, Any]] = []
    included: list[Mapping[str, Any]] = []
    for entry in bundle.get("entry") or ():
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(resource, Mapping) or "resourceType" not in resource:
            continue
        key = f"{resource['resourceType']}/{resource.get('id', '')}"
        resources[key] = resource
        mode = (entry.get("search") or {}).get("mode")
        if mode == "match" or (mode is None and resource["resourceType"] == resource_type):
            matches.append(resource)
        elif mode != "outcome":
            included.append(resource)
    linker = _Linker(resources)
    decoded = [
        linker.location_with_services(f"Location/{r.get('id', '')}")
        if r["resourceType"] == "Location"
        else linker.decode(r)
        for r in matches
    ]
    extra = [linker.decode(r) for r in included]
    total = bundle.get("total")
    return SearchPage(
        matches=tuple(d for d in decoded if d is not None),
        total=total if isinstance(total, int) and not isinstance(total, bool) else None,
        next_url=next_link(bundle),
        included=tuple(d for d in extra if d is not None),
    )


def next_link(bundle: Mapping[str, Any]) -> str | None:
    """The ``next`` paging link of a Bundle, if any."""
    for link in bundle.get("link") or ():
        if link.get("relation") == "next" and link.get("url"):
            return str(link["url"])
    return None


# -- OperationOutcome ------------------------------------------------------------------------


def _expressions(issue: Mapping[str, Any]) -> list[str]:
    # The ROR sends ``expression`` as a list (FHIR) but also, in some answers, as a string.
    out: list[str] = []
    for key in ("expression", "location"):
        value = issue.get(key)
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, list):
            out.extend(str(v) for v in value)
    return out


def outcome_issues(outcome: Any) -> tuple[Issue, ...]:
    """The issues of an OperationOutcome (``()`` when it is not one).

    ``rule`` is the issue code (``not-found``, ``business-rule``...), ``location`` the
    FHIRPath expressions joined by ``", "``.
    """
    if not isinstance(outcome, Mapping) or outcome.get("resourceType") != "OperationOutcome":
        return ()
    issues = []
    for issue in outcome.get("issue") or ():
        if not isinstance(issue, Mapping):
            continue
        details = issue.get("details") or {}
        message = issue.get("diagnostics") or details.get("text") or ""
        if not message:
            codings = _codings([details]) if isinstance(details, Mapping) else ()
            message = codings[0].display if codings else ""
        issues.append(
            Issue(
                severity=str(issue.get("severity", "error")),
                message=str(message),
                location=", ".join(_expressions(issue)),
                rule=str(issue.get("code", "")),
            )
        )
    return tuple(issues)


# -- capacity publication --------------------------------------------------------------------


def _coded(name: str, table: str, code: str) -> dict[str, Any]:
    return {
        "url": name,
        "valueCodeableConcept": {"coding": [{"system": nos_system(table), "code": code}]},
    }


def capacity_extension(update: CapacityUpdate, now: dt.datetime) -> dict[str, Any]:
    """The ``ror-location-supported-capacity`` extension carrying ``update``."""
    if update.count < 0:
        raise InputError(f"a capacity count cannot be negative: {update.count}")
    subs: list[dict[str, Any]] = []
    for name, attr, table in _CAPACITY_CODED:
        code = getattr(update, attr)
        if code:
            subs.append(_coded(name, table, code))
    subs.append({"url": "nbCapacity", "valueInteger": update.count})
    stamp = (update.updated or now).astimezone(dt.UTC)
    subs.append(
        {
            "url": "capacityUpdateDate",
            "valueDateTime": stamp.isoformat(timespec="seconds").replace("+00:00", "Z"),
        }
    )
    return {"url": CAPACITY_EXTENSION, "extension": subs}


def capacity_indicator_path(update: CapacityUpdate) -> str:
    """The FHIRPath of the indicator ``update`` targets (its qualifiers, not its count).

    >>> path = capacity_indicator_path(CapacityUpdate(count=1, gender="03"))
    >>> "extension.where(url='genderCapacityAvailable' and valueCodeableConcept" in path
    True
    """
    criteria = [f"url='{CAPACITY_EXTENSION}'"]
    for name, attr, _ in _INDICATOR_KEYS:
        code = getattr(update, attr)
        if code:
            if "'" in code:
                raise InputError(f"invalid code {code!r}")
            criteria.append(
                f"extension.where(url='{name}' and valueCodeableConcept.coding[0].code='{code}')"
            )
    return "Location.extension.where(" + " and ".join(criteria) + ")"


def capacity_patch(
    update: CapacityUpdate,
    operation: Literal["replace", "add"],
    *,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The FHIRPath Patch ``Parameters`` publishing ``update`` on a Location.

    ``replace`` targets the existing indicator by its FHIRPath (its qualifiers) and puts
    the whole extension (new count, update date); ``add`` appends the extension to
    ``Location``. The value is carried as in the ANS guide (a ``value`` part holding the
    extension), with the part names FHIR R4 requires.
    """
    now = now or dt.datetime.now(dt.UTC)
    extension = capacity_extension(update, now)
    parts: list[dict[str, Any]] = [{"name": "type", "valueString": operation}]
    if operation == "replace":
        parts.append({"name": "path", "valueString": capacity_indicator_path(update)})
    elif operation == "add":
        parts.append({"name": "path", "valueString": "Location"})
        parts.append({"name": "name", "valueString": "extension"})
    else:
        raise InputError(f"unknown patch operation {operation!r}")
    parts.append({"name": "value", "part": [{"name": "extension", "extension": [extension]}]})
    return {"resourceType": "Parameters", "parameter": [{"name": "operation", "part": parts}]}


def _targets_capacity_extension(issues: Sequence[Issue]) -> bool:
    return any(
        issue.rule == "not-found" and CAPACITY_EXTENSION in issue.location for issue in issues
    )


def classify_capacity_answer(
    http_status: int, outcome: Any, operation: Literal["replace", "add"]
) -> PublicationStatus | Literal["retry-add"] | None:
    """What a capacity PATCH answer means.

    * 2xx: ``REPLACED`` / ``ADDED``;
    * 404 ``not-found`` whose expression is the capacity extension, after a ``replace``:
      ``"retry-add"`` (the indicator does not exist yet);
    * other 404: ``UNKNOWN_LOCATION``; 412: ``AMBIGUOUS_LOCATION``; 400: ``REJECTED``;
    * anything else: ``None`` (the caller raises a transport or FHIR error).
    """
    if 200 <= http_status < 300:
        return PublicationStatus.REPLACED if operation == "replace" else PublicationStatus.ADDED
    issues = outcome_issues(outcome)
    if http_status == 404:
        if operation == "replace" and _targets_capacity_extension(issues):
            return "retry-add"
        return PublicationStatus.UNKNOWN_LOCATION
    if http_status == 412:
        return PublicationStatus.AMBIGUOUS_LOCATION
    if http_status in (400, 422):
        return PublicationStatus.REJECTED
    return None


# -- former names -------------------------------------------------------------------------
# Parsers are named parse_* across segurlink; the names of 0.x stay importable.
read_bundle = parse_bundle
decode_capacity = parse_capacity
decode_location = parse_location
decode_organization = parse_organization
decode_practitioner = parse_practitioner
decode_service = parse_service
