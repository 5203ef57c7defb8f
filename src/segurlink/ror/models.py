"""Typed values of the ROR offer: organisations, services, locations and capacities.

They are built from the FHIR JSON by :mod:`segurlink.ror.messages` (pure functions) and
carry the decoded fields a DUI needs; the untouched FHIR resource stays available as
``raw`` for anything not decoded here. Linked objects (``Organization.parent``,
``HealthcareService.organization`` / ``locations`` / ``roles``) are filled when the search
asked for them with ``_include`` / ``_revinclude`` and the server returned them.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from ..errors import Issue

__all__ = [
    "Capacity",
    "CapacityPublication",
    "CapacityUpdate",
    "Coding",
    "Contact",
    "ExportFile",
    "ExportProgress",
    "ExportResult",
    "HealthcareService",
    "Identifier",
    "Location",
    "OpeningHours",
    "Organization",
    "Practitioner",
    "PractitionerRole",
    "Price",
    "PublicationStatus",
    "SearchPage",
    "Telecom",
]

T = TypeVar("T")

#: ``TRE_R330-TypeStatutCapacite`` codes used in this module's helpers.
STATUS_INSTALLED = "01"
STATUS_AVAILABLE = "02"
STATUS_ADDITIONAL = "06"
#: ``TRE_R329-NatureCapacite``: bed / place.
TYPE_BED = "01"
TYPE_PLACE = "02"


@dataclass(frozen=True, slots=True)
class Coding:
    """One FHIR coding: ``system`` (a MOS/NOS URL), ``code`` and optional ``display``."""

    system: str
    code: str
    display: str = ""

    def __str__(self) -> str:
        return f"{self.code} {self.display}".strip()


@dataclass(frozen=True, slots=True)
class Identifier:
    """A FHIR identifier; ``type_code`` is the TRE_R354/R355 type when given (25, 26, 35)."""

    system: str
    value: str
    type_code: str = ""


@dataclass(frozen=True, slots=True)
class Capacity:
    """One decoded ``ror-location-supported-capacity`` extension (an "indicator").

    An indicator is identified by its qualifiers (type, status, temporality, gender,
    closing type, additional bed type, crisis type, temporary assignment); ``count`` is
    its ``nbCapacity``.

    >>> c = Capacity(count=3, capacity_type=Coding("s", "01", "Lit"),
    ...              status=Coding("s", "02", "Disponible"))
    >>> c.is_available, c.is_bed
    (True, True)
    """

    count: int | None = None
    capacity_type: Coding | None = None
    status: Coding | None = None
    temporality: Coding | None = None
    source_type: Coding | None = None
    updated: dt.datetime | None = None
    gender: Coding | None = None
    closing_type: Coding | None = None
    additional_bed_type: Coding | None = None
    crisis_type: Coding | None = None
    temporary_assignment: Coding | None = None

    @property
    def is_available(self) -> bool:
        """True for the "available" status (TRE_R330 code 02)."""
        return self.status is not None and self.status.code == STATUS_AVAILABLE

    @property
    def is_bed(self) -> bool:
        """True for beds (TRE_R329 code 01), False for places or unknown."""
        return self.capacity_type is not None and self.capacity_type.code == TYPE_BED


@dataclass(frozen=True, slots=True)
class Price:
    """One price of a geographic entity (``ror-organization-price``), e.g. an EHPAD's
    daily accommodation ("forfait socle hébergement", TRE_R246 ``02``) for a single room
    (``residential_type``, TRE_R242) in permanent stay (``welcome_type``, TRE_R240), or
    its dependency price (TRE_R246 ``03``) for a GIR group (``dependency_level``).
    """

    price_type: Coding | None
    amount: float | None
    currency: str = "EUR"
    unit: Coding | None = None
    valid_from: str = ""
    residential_type: Coding | None = None
    welcome_type: Coding | None = None
    dependency_level: Coding | None = None
    special_price: Coding | None = None


@dataclass(frozen=True, slots=True)
class Telecom:
    """A phone number or address, its channel (TRE_R200) and confidentiality (TRE_R283)."""

    value: str
    channel: Coding | None = None
    confidentiality: Coding | None = None


@dataclass(frozen=True, slots=True)
class Contact:
    """A contact of a service (``ror-healthcareservice-contact``): what for (TRE_R287),
    who, its confidentiality level (TRE_R283: 1 public, 2 restricted) and its telecoms."""

    purpose: Coding | None = None
    name: str = ""
    description: str = ""
    confidentiality: Coding | None = None
    telecoms: tuple[Telecom, ...] = ()


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """One ``availableTime`` of a service: days (``mon``...), hours, the kind of hours
    (TRE_R252: 01 opening, 02 operating) and the period they apply to.

    >>> OpeningHours(("mon", "tue"), "08:30", "18:00").label
    'mon-tue 08:30-18:00'
    """

    days: tuple[str, ...]
    start: str = ""
    end: str = ""
    all_day: bool = False
    kind: Coding | None = None
    effective_from: str = ""
    effective_until: str = ""

    @property
    def label(self) -> str:
        days = "-".join((self.days[0], self.days[-1])) if len(self.days) > 1 else "".join(self.days)
        hours = "all day" if self.all_day else f"{self.start[:5]}-{self.end[:5]}"
        return f"{days} {hours}".strip()


@dataclass(frozen=True, slots=True)
class Organization:
    """A legal (EJ) or geographic (EG) entity, or an internal unit (``part_of``).

    ``parent`` is the ``partOf`` organisation when it was included in the answer;
    ``prices`` the EG's prices (nursing homes).
    """

    id: str
    name: str
    identifiers: tuple[Identifier, ...] = ()
    types: tuple[Coding, ...] = ()
    part_of_ref: str | None = None
    region: str = ""
    last_updated: dt.datetime | None = None
    parent: Organization | None = None
    prices: tuple[Price, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def finess(self) -> str | None:
        """The FINESS number, when the organisation has one."""
        return _identifier_value(self.identifiers, "https://finess.esante.gouv.fr")

    @property
    def id_nat_struct(self) -> str | None:
        """The national structure identifier (``urn:oid:1.2.250.1.71.4.2.2``)."""
        return _identifier_value(self.identifiers, "urn:oid:1.2.250.1.71.4.2.2")

    @property
    def hierarchy(self) -> tuple[Organization, ...]:
        """This organisation then its included ancestors, nearest first."""
        chain: list[Organization] = []
        node: Organization | None = self
        while node is not None and node not in chain:
            chain.append(node)
            node = node.parent
        return tuple(chain)


@dataclass(frozen=True, slots=True)
class Location:
    """A place where the offer is delivered, with its decoded capacities.

    ``services`` are the healthcare services delivered here when a location search asked
    for them (``_revinclude=HealthcareService:location``); their own ``locations`` hold
    this place without the back-link.
    """

    id: str
    name: str
    identifiers: tuple[Identifier, ...] = ()
    status: str = ""
    types: tuple[Coding, ...] = ()
    city: str = ""
    postal_code: str = ""
    commune_cog: Coding | None = None
    latitude: float | None = None
    longitude: float | None = None
    region: str = ""
    last_updated: dt.datetime | None = None
    capacities: tuple[Capacity, ...] = ()
    services: tuple[HealthcareService, ...] = ()
    operational_status: Coding | None = None
    address_lines: tuple[str, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def ror_id(self) -> str | None:
        """The ROR location identifier (TRE_R354 type 25), e.g. ``24/1073``."""
        return next((i.value for i in self.identifiers if i.type_code == "25"), None)

    @property
    def sync_id(self) -> str | None:
        """The external synchronisation identifier (TRE_R354 type 26)."""
        return next((i.value for i in self.identifiers if i.type_code == "26"), None)

    def available_beds(self) -> int | None:
        """Sum of the "available" bed indicators, ``None`` when none is published."""
        counts = [
            c.count for c in self.capacities if c.is_available and c.is_bed and c.count is not None
        ]
        return sum(counts) if counts else None


@dataclass(frozen=True, slots=True)
class Practitioner:
    """A professional: national id (idNatPs, ``urn:oid:1.2.250.1.71.4.2.1``), name, telecoms."""

    id: str
    id_nat_ps: str | None = None
    family: str = ""
    given: str = ""
    telecoms: tuple[Telecom, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class PractitionerRole:
    """A professional's role in a service (``_revinclude=PractitionerRole:service``).

    ``practitioner`` is filled when the search included it
    (``_include:iterate=PractitionerRole:practitioner``); ``codes`` are the professions
    (TRE_G15), ``exercise_name`` the name used in that role.
    """

    id: str
    practitioner_ref: str | None = None
    service_refs: tuple[str, ...] = ()
    codes: tuple[Coding, ...] = ()
    identifiers: tuple[Identifier, ...] = ()
    exercise_name: str = ""
    practitioner: Practitioner | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class HealthcareService:
    """An operational offer: what is offered (category, type, specialty), to whom, where.

    ``organization``, ``locations`` and ``roles`` are the linked resources when the
    search included them; the references are always kept. ``patient_types`` (TRE_R239),
    ``intervention_zone`` (communes a home-care service covers), ``psychiatric_sector``,
    ``opening_hours``, ``contacts`` and ``closed`` (closure periods, start and planned
    reopening) are decoded from the ROR extensions.
    """

    id: str
    name: str
    identifiers: tuple[Identifier, ...] = ()
    categories: tuple[Coding, ...] = ()
    types: tuple[Coding, ...] = ()
    specialties: tuple[Coding, ...] = ()
    characteristics: tuple[Coding, ...] = ()
    age_low: float | None = None
    age_high: float | None = None
    region: str = ""
    last_updated: dt.datetime | None = None
    organization_ref: str | None = None
    location_refs: tuple[str, ...] = ()
    organization: Organization | None = None
    locations: tuple[Location, ...] = ()
    roles: tuple[PractitionerRole, ...] = ()
    patient_types: tuple[Coding, ...] = ()
    intervention_zone: tuple[Coding, ...] = ()
    psychiatric_sector: str = ""
    opening_hours: tuple[OpeningHours, ...] = ()
    contacts: tuple[Contact, ...] = ()
    closed: tuple[tuple[str, str], ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def covers(self, commune_cog: str) -> bool:
        """True when the service's intervention zone lists this commune (home care)."""
        return any(c.code == commune_cog for c in self.intervention_zone)


@dataclass(frozen=True, slots=True)
class SearchPage(Generic[T]):
    """One page of a search: the matches (linked objects resolved), paging facts.

    ``total`` is the server's ``Bundle.total`` when given; ``next_url`` the ``next`` link;
    ``included`` the decoded ``_include`` / ``_revinclude`` resources of this page.
    """

    matches: tuple[T, ...]
    total: int | None = None
    next_url: str | None = None
    included: tuple[
        Organization | Location | HealthcareService | PractitionerRole | Practitioner, ...
    ] = ()


@dataclass(frozen=True, slots=True)
class CapacityUpdate:
    """A capacity indicator to publish: its qualifiers and the new ``count``.

    Codes are the TRE codes (``capacity_type`` TRE_R329, ``status`` TRE_R330,
    ``temporality`` TRE_R331, ``gender`` TRE_R332, ``closing_type`` TRE_R333,
    ``additional_bed_type`` TRE_R334, ``crisis_type`` TRE_R336, ``temporary_assignment``
    TRE_R337). Qualifiers left empty are not part of the indicator's key. The defaults
    are those of an ordinary indicator in the ROR (and in the IG's example Location): a
    current (01) available (02) bed (01) count, temporary assignment "01 Aucune".

    >>> CapacityUpdate(count=4, status="02", gender="03")
    CapacityUpdate(count=4, capacity_type='01', status='02', temporality='01', ...)
    """

    count: int
    capacity_type: str = TYPE_BED
    status: str = STATUS_AVAILABLE
    temporality: str = "01"
    gender: str = ""
    closing_type: str = ""
    additional_bed_type: str = ""
    crisis_type: str = ""
    temporary_assignment: str = "01"
    source_type: str = ""  # TRE_R335 (01 = manual entry); empty: left to the server
    updated: dt.datetime | None = None

    def __repr__(self) -> str:
        return (
            f"CapacityUpdate(count={self.count}, capacity_type={self.capacity_type!r}, "
            f"status={self.status!r}, temporality={self.temporality!r}, ...)"
        )


class PublicationStatus(enum.Enum):
    """How a capacity PATCH ended (see :class:`CapacityPublication`)."""

    REPLACED = "replaced"
    """The indicator existed and was updated."""
    ADDED = "added"
    """The indicator did not exist (404 on the extension): it was added."""
    UNKNOWN_LOCATION = "unknown-location"
    """404 on ``Location``: no location has this synchronisation identifier."""
    AMBIGUOUS_LOCATION = "ambiguous-location"
    """412: several locations share the identifier (duplicates to fix with the GRADeS)."""
    REJECTED = "rejected"
    """400 ``business-rule``: invalid indicator combination or value."""


@dataclass(frozen=True, slots=True)
class CapacityPublication:
    """The outcome of publishing one capacity indicator; ``issues`` from the OperationOutcome."""

    status: PublicationStatus
    location_identifier: str
    update: CapacityUpdate
    http_status: int
    issues: tuple[Issue, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status in (PublicationStatus.REPLACED, PublicationStatus.ADDED)


@dataclass(frozen=True, slots=True)
class ExportProgress:
    """Progress of a ``$export``: ``phase`` is ``kick-off``, ``waiting``, ``fetching``, ``done``.

    ``percent`` comes from the server's ``X-Progress`` while waiting when it is a number;
    while fetching, ``files_done`` / ``files_total`` and ``bytes_done`` advance.
    """

    phase: str
    message: str = ""
    percent: float | None = None
    files_done: int = 0
    files_total: int = 0
    bytes_done: int = 0


@dataclass(frozen=True, slots=True)
class ExportFile:
    """One downloaded ``$export`` output: resource type, source URL, local path, size."""

    resource_type: str
    url: str
    path: str
    size: int


@dataclass(frozen=True, slots=True)
class ExportResult:
    """A finished ``$export``: its transaction time and the files written."""

    transaction_time: str
    files: tuple[ExportFile, ...]


def _identifier_value(identifiers: tuple[Identifier, ...], system: str) -> str | None:
    return next((i.value for i in identifiers if i.system == system), None)
