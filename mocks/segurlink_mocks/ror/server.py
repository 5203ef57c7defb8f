"""A ROR FHIR R4 server on loopback: token endpoint, searches, capacity PATCH, ``$export``.

:class:`RorMock` holds a generated but realistic offer (legal entities → geographic
entities → internal units, healthcare services, locations with capacities,
practitioner roles) in six regions, built deterministically from ``seed`` at startup
(about 5 000 resources in well under a second). It speaks the ROR wire format:

* ``POST /auth/realms/ror/protocol/openid-connect/token``: ``client_credentials`` with
  :data:`CLIENT_ID` / :data:`CLIENT_SECRET`, or any client certificate of the test CA
  (mTLS, client id :data:`MTLS_CLIENT_ID`); tokens live ``token_lifetime`` seconds;
* ``/ws-diffusion-fhir``: ``metadata``, reads, searches of Organization,
  HealthcareService, Location, PractitionerRole with the parameters of the ROR
  CapabilityStatement (see :data:`SEARCH_PARAMS`), chained ``location.*`` and
  ``organization.*[:above]``, ``_include`` / ``_include:iterate`` / ``_revinclude``,
  ``_count`` (default 200, max 1000), ``_sort``, HAPI paging links
  (``?_getpages=<id>&_getpagesoffset=N&_count=N&_bundletype=searchset``) and ``total``.
  Unknown parameters are refused (400) as HAPI does. The four ``Ror-*`` headers and a
  valid bearer token are required (403 / 401 with an OperationOutcome);
* ``PATCH /ws-synchro-dispo-lits-fhir/Location?identifier=<idNatStructEG>/<syncId>``:
  FHIRPath Patch ``Parameters`` (replace or add of a ``ror-location-supported-capacity``
  indicator) with the 404 / 412 / 400 answers of the ANS guide; the ``Ror-*`` headers
  must be absent;
* ``GET /ws-diffusion-fhir/$export`` (``Prefer: respond-async``) → 202 +
  ``Content-Location``; the poll answers 202 (``X-Progress``, ``Retry-After``)
  ``export_polls`` times, then the manifest; outputs are JSON Bundles (not NDJSON).

Capacity search parameters (``capacity-status``, ``nb-capacity``...) are evaluated
together against the same capacity indicator, so ``capacity-status=02&nb-capacity=ge1``
means "an available-capacity indicator of at least 1".

Faults (``inject``): the generic ones of :class:`MockServer` (``latency:<s>`` gives slow
pages) and ``http429`` / ``http503`` (with ``Retry-After: retry_after``), ``http500``
(an OperationOutcome), ``expired_token`` (the token of the next FHIR call is treated
as expired: 401). Token requests never consume a fault.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import random
import re
import secrets
import threading
import time
import unicodedata
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from .._core.server import Exchange, MockServer
from ..pki import TestPki

__all__ = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "FHIR_PATH",
    "MTLS_CLIENT_ID",
    "SEARCH_PARAMS",
    "SYNC_PATH",
    "TOKEN_PATH",
    "RorDataset",
    "RorMock",
    "generate_dataset",
]

TOKEN_PATH = "/auth/realms/ror/protocol/openid-connect/token"  # noqa: S105 - a URL path
FHIR_PATH = "/ws-diffusion-fhir"
SYNC_PATH = "/ws-synchro-dispo-lits-fhir"
CLIENT_ID = "segurlink-dui"
CLIENT_SECRET = "segurlink-ror-secret"  # noqa: S105 - test credential of the mock
MTLS_CLIENT_ID = "segurlink-dui-mtls"
ROR_HEADERS = (
    "Ror-Profil-Utilisateur-Code",
    "Ror-Profil-Utilisateur-System",
    "Ror-Role-Metier-Code",
    "Ror-Role-Metier-System",
)

_SD = "https://interop.esante.gouv.fr/ig/fhir/ror/StructureDefinition/"
_CAP = _SD + "ror-location-supported-capacity"
_REGION = "https://mos.esante.gouv.fr/NOS/TRE_R30-RegionOM/FHIR/TRE-R30-RegionOM"
_FINESS = "https://finess.esante.gouv.fr"
_IDNST = "urn:oid:1.2.250.1.71.4.2.2"


def _nos(table: str) -> str:
    return f"https://mos.esante.gouv.fr/NOS/{table}/FHIR/{table.replace('_', '-')}"


def _cc(table: str, code: str, display: str = "") -> dict[str, Any]:
    coding: dict[str, Any] = {"system": _nos(table), "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


# -- reference tables of the generated offer ------------------------------------------------

#: region code → (name, communes: (COG, name, postal code, latitude, longitude)).
REGIONS: dict[str, tuple[str, tuple[tuple[str, str, str, float, float], ...]]] = {
    "11": ("Île-de-France", (
        ("75056", "Paris", "75001", 48.8566, 2.3522),
        ("78646", "Versailles", "78000", 48.8049, 2.1204),
        ("92050", "Nanterre", "92000", 48.8924, 2.2071),
        ("93066", "Saint-Denis", "93200", 48.9362, 2.3574),
    )),
    "24": ("Centre-Val de Loire", (
        ("45234", "Orléans", "45000", 47.9029, 1.9093),
        ("37261", "Tours", "37000", 47.3941, 0.6848),
        ("18033", "Bourges", "18000", 47.0810, 2.3988),
        ("28085", "Chartres", "28000", 48.4439, 1.4890),
    )),
    "84": ("Auvergne-Rhône-Alpes", (
        ("69123", "Lyon", "69001", 45.7640, 4.8357),
        ("38185", "Grenoble", "38000", 45.1885, 5.7245),
        ("63113", "Clermont-Ferrand", "63000", 45.7772, 3.0870),
        ("42218", "Saint-Étienne", "42000", 45.4397, 4.3872),
    )),
    "93": ("Provence-Alpes-Côte d'Azur", (
        ("13055", "Marseille", "13001", 43.2965, 5.3698),
        ("06088", "Nice", "06000", 43.7102, 7.2620),
        ("83137", "Toulon", "83000", 43.1242, 5.9280),
        ("84007", "Avignon", "84000", 43.9493, 4.8055),
    )),
    "53": ("Bretagne", (
        ("35238", "Rennes", "35000", 48.1173, -1.6778),
        ("29019", "Brest", "29200", 48.3904, -4.4861),
        ("56260", "Vannes", "56000", 47.6582, -2.7608),
        ("22278", "Saint-Brieuc", "22000", 48.5136, -2.7603),
    )),
    "06": ("Mayotte", (("97611", "Mamoudzou", "97600", -12.7806, 45.2279),)),
}

#: Geographic entity categories (TRE_R66): code, label, name prefix, medico-social?
_EG_CATEGORIES = (
    ("355", "Centre Hospitalier (C.H.)", "CENTRE HOSPITALIER", False),
    ("101", "Centre Hospitalier Régional (C.H.R.)", "CHR", False),
    ("365", "Etablissement de Soins Pluridisciplinaire", "CLINIQUE", False),
    ("500", "Etablissement d'hébergement pour personnes âgées dépendantes", "EHPAD", True),
)
#: Offers: specialty (TRE_R211), label, champ (TRE_R227), category (TRE_R244), age range,
#: capacity type (TRE_R329: 01 bed, 02 place), medico-social?
_OFFERS = (
    ("022", "Chirurgie gynécologique", "01", "157", "Unité hospitalière de gynécologie",
     15, 150, "01", False),
    ("105", "Médecine gériatrique", "01", "110", "Unité de médecine", 75, 150, "01", False),
    ("010", "Chirurgie orthopédique", "01", "120", "Unité de chirurgie", 16, 150, "01", False),
    ("210", "Pédiatrie", "01", "160", "Unité de pédiatrie", 0, 18, "01", False),
    ("301", "Psychiatrie générale", "02", "210", "Unité de psychiatrie", 16, 150, "01", False),
    ("401", "Soins médicaux et de réadaptation polyvalents", "03", "310",
     "Unité de soins de suite", 18, 150, "01", False),
    ("510", "Hébergement permanent", "04", "521", "Hébergement pour personnes âgées",
     60, 150, "02", True),
    ("511", "Accueil de jour", "04", "522", "Accueil de jour personnes âgées",
     60, 150, "02", True),
)
_MODES = (("01", "Hospitalisation complète"), ("02", "Hospitalisation de jour"))
_UNITS = ("UF", "SERVICE", "UNITE")


@dataclass(slots=True)
class RorDataset:
    """The generated offer: resources by ``Type/id`` in a stable order, plus landmarks.

    ``landmarks`` name resources tests can rely on: ``ej_finess``, ``eg_finess``,
    ``eg_id_nat_struct``, ``location_sync_id`` (unique), ``duplicate_sync_id`` (shared by
    two locations), ``commune`` (COG with services), ``region``...
    """

    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    landmarks: dict[str, str] = field(default_factory=dict)

    def of_type(self, kind: str) -> Iterator[dict[str, Any]]:
        prefix = kind + "/"
        return (r for k, r in self.resources.items() if k.startswith(prefix))

    def count(self, kind: str | None = None) -> int:
        if kind is None:
            return len(self.resources)
        return sum(1 for _ in self.of_type(kind))


def _luhn_key(digits: str) -> str:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


def generate_dataset(seed: int = 6, *, scale: int = 60) -> RorDataset:
    """Generate the offer: ``scale`` legal entities per region (≈ 125 resources each)."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    data = RorDataset()
    start = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
    span = int((dt.datetime(2025, 6, 30, tzinfo=dt.UTC) - start).total_seconds())
    counters = {"org": 0, "hcs": 0, "loc": 0, "role": 0}

    def stamp() -> str:
        moment = start + dt.timedelta(seconds=rng.randrange(span))
        return moment.isoformat(timespec="milliseconds")

    def meta(profile: str, region: str) -> dict[str, Any]:
        return {
            "lastUpdated": stamp(),
            "profile": [_SD + profile],
            "tag": [{"system": _REGION, "code": region}],
        }

    def add(resource: dict[str, Any]) -> dict[str, Any]:
        data.resources[f"{resource['resourceType']}/{resource['id']}"] = resource
        return resource

    def finess(dept: str) -> str:
        body = dept[:2] + f"{rng.randrange(10**6):06d}"
        return body + _luhn_key(body)

    def organization(name: str, region: str, idents: list[dict[str, Any]],
                     types: list[dict[str, Any]], part_of: str | None) -> dict[str, Any]:
        counters["org"] += 1
        org: dict[str, Any] = {
            "resourceType": "Organization",
            "id": str(100000 + counters["org"]),
            "meta": meta("ror-organization", region),
            "identifier": idents,
            "active": True,
            "type": types,
            "name": name,
        }
        if part_of:
            org["partOf"] = {"reference": part_of}
        return add(org)

    duplicate_done = False
    for region, (_region_name, communes) in REGIONS.items():
        per_region = max(1, scale // 8) if region == "06" else scale
        for n in range(per_region):
            commune = communes[n % len(communes)]
            cog, city = commune[0], commune[1]
            dept = cog[:2] if not cog.startswith("97") else "97"
            category = _EG_CATEGORIES[rng.randrange(len(_EG_CATEGORIES))]
            ej_finess = finess(dept)
            ej_name = f"{category[2]} {city.upper()} {n + 1}"
            ej = organization(
                ej_name if category[3] else f"GROUPEMENT {ej_name}",
                region,
                [
                    {"system": _FINESS, "value": ej_finess},
                    {"system": _IDNST, "value": "1" + ej_finess},
                ],
                [_cc("TRE_R72-FinessStatutJuridique", "13" if not category[3] else "60")],
                None,
            )
            for g in range(1 + rng.randrange(2)):
                eg_finess = finess(dept)
                eg_id = "1" + eg_finess
                eg = organization(
                    f"{ej_name} - SITE {g + 1}",
                    region,
                    [
                        {"system": _FINESS, "value": eg_finess},
                        {"system": _IDNST, "value": eg_id},
                    ],
                    [_cc("TRE_R66-CategorieEtablissement", category[0], category[1])],
                    f"Organization/{ej['id']}",
                )
                units: list[dict[str, Any]] = [eg]
                if not category[3]:
                    units.append(
                        organization(
                            f"PÔLE {g + 1} {ej_name}",
                            region,
                            [{"system": _IDNST, "value": f"{eg_id}-P{g + 1}"}],
                            [_cc("TRE_R68-TypeOrganisationInterne", "01", "Pôle")],
                            f"Organization/{eg['id']}",
                        )
                    )
                offers = [o for o in _OFFERS if o[8] == category[3]]
                for s in range(2 + rng.randrange(4)):
                    offer = offers[rng.randrange(len(offers))]
                    mode = _MODES[rng.randrange(len(_MODES))] if not offer[8] else _MODES[0]
                    counters["loc"] += 1
                    loc_n = counters["loc"]
                    unit_code = f"{_UNITS[s % len(_UNITS)]}{loc_n:05d}"
                    sync_id = f"{eg_id}/{unit_code}"
                    if not duplicate_done and region == "24" and loc_n > 20:
                        # Two locations sharing one synchronisation id (a 412 for the PATCH).
                        previous = data.resources[f"Location/{700000 + loc_n - 1}"]
                        sync_id = previous["identifier"][1]["value"]
                        data.landmarks["duplicate_sync_id"] = sync_id
                        duplicate_done = True
                    location = add(
                        _location(rng, loc_n, region, commune, offer, sync_id, stamp, meta)
                    )
                    counters["hcs"] += 1
                    hcs_id = str(1000000 + counters["hcs"])
                    provider = units[rng.randrange(len(units))]
                    add(
                        _service(
                            hcs_id, region, offer, mode, provider, location, meta,
                            f"{region}/{counters['hcs']:07d}",
                        )
                    )
                    if counters["hcs"] % 3 == 0:
                        counters["role"] += 1
                        add(
                            {
                                "resourceType": "PractitionerRole",
                                "id": str(900000 + counters["role"]),
                                "meta": meta("ror-practitionerrole", region),
                                "active": True,
                                "practitioner": {
                                    "reference": f"Practitioner/{800000 + counters['role']}"
                                },
                                "organization": {"reference": f"Organization/{provider['id']}"},
                                "healthcareService": [{"reference": f"HealthcareService/{hcs_id}"}],
                                "code": [_cc("TRE_G15-ProfessionSante", "10", "Médecin")],
                            }
                        )
                if n == 0 and region == "24" and g == 0:
                    data.landmarks.update(
                        ej_finess=ej_finess,
                        eg_finess=eg_finess,
                        eg_id_nat_struct=eg_id,
                        ej_id=ej["id"],
                        eg_id=eg["id"],
                        commune=cog,
                        region=region,
                    )
    first_loc = next(
        r for r in data.of_type("Location")
        if r["meta"]["tag"][0]["code"] == "24"
        and r["identifier"][1]["value"] != data.landmarks.get("duplicate_sync_id")
    )
    data.landmarks["location_sync_id"] = first_loc["identifier"][1]["value"]
    data.landmarks["location_id"] = first_loc["id"]
    return data


def _location(
    rng: random.Random,
    n: int,
    region: str,
    commune: tuple[str, str, str, float, float],
    offer: tuple[Any, ...],
    sync_id: str,
    stamp: Callable[[], str],
    meta: Callable[[str, str], dict[str, Any]],
) -> dict[str, Any]:
    cog, city, postal, lat, lon = commune
    installed = 5 + rng.randrange(40)
    cap_type = offer[7]
    when = stamp()

    def capacity(status: str, count: int, *extra: dict[str, Any]) -> dict[str, Any]:
        subs: list[dict[str, Any]] = [
            {"url": "nbCapacity", "valueInteger": count},
            {"url": "capacityUpdateDate", "valueDateTime": when},
            {"url": "capacityStatus", "valueCodeableConcept": _cc(
                "TRE_R330-TypeStatutCapacite", status,
                {"01": "Installé", "02": "Disponible", "06": "Supplémentaire"}[status])},
            {"url": "capacityType", "valueCodeableConcept": _cc(
                "TRE_R329-NatureCapacite", cap_type, "Lit" if cap_type == "01" else "Place")},
            {"url": "temporalityCapacity", "valueCodeableConcept": _cc(
                "TRE_R331-TemporaliteCapacite", "01", "Courant")},
            {"url": "capacitySourceType", "valueCodeableConcept": _cc(
                "TRE_R335-TypeSourceCapacite", "01", "Saisie manuelle")},
            # Like every indicator of the IG example: "no temporary assignment" is a code.
            {"url": "temporaryAssignement", "valueCodeableConcept": _cc(
                "TRE_R337-AffectationTemporaire", "01", "Aucune")},
            *extra,
        ]
        return {"url": _CAP, "extension": subs}

    capacities = [capacity("01", installed)]
    free = rng.randrange(0, max(1, installed // 3))
    for gender, label in (("01", "Femme"), ("02", "Homme"), ("03", "Indifférencié")):
        share = free if gender == "03" else rng.randrange(0, 3)
        capacities.append(
            capacity("02", share, {"url": "genderCapacityAvailable", "valueCodeableConcept": _cc(
                "TRE_R332-GenreCapacite", gender, label)})
        )
    if offer[7] == "01" and rng.random() < 0.5:
        capacities.append(
            capacity("06", rng.randrange(0, 4), {
                "url": "additionalBedType",
                "valueCodeableConcept": _cc("TRE_R334-TypeLitSupplementaire", "03",
                                            "Mobilisable avec ressources humaines"),
            })
        )
    return {
        "resourceType": "Location",
        "id": str(700000 + n),
        "meta": meta("ror-location", region),
        "extension": [
            {"url": _SD + "ror-commune-cog", "valueCodeableConcept": _cc(
                "TRE_R13-CommuneOM", cog, city)},
            *capacities,
            {"url": _SD + "ror-meta-creation-date", "valueDateTime": "2020-01-01T00:00:00Z"},
        ],
        "identifier": [
            {
                "type": _cc("TRE_R354-TypeIdentifiantRessourceOperationnelle", "25",
                            "Identifiant du lieu de réalisation de l'offre connu par "
                            "l'instance ROR"),
                "value": f"{region}/{n}",
            },
            {
                "type": _cc("TRE_R354-TypeIdentifiantRessourceOperationnelle", "26",
                            "Identifiant externe de synchronisation"),
                "value": sync_id,
            },
        ],
        "status": "active",
        "name": f"{offer[1].upper()} - {offer[4].upper()}",
        "type": [_cc("TRE_R343-FonctionLieu", "001", "Hébergement")],
        "address": {
            "line": [f"{1 + rng.randrange(120)} RUE DE L'HOPITAL", f"{postal} {city.upper()}"],
            "city": city.upper(),
            "postalCode": postal,
        },
        "position": {
            "longitude": round(lon + rng.uniform(-0.05, 0.05), 6),
            "latitude": round(lat + rng.uniform(-0.05, 0.05), 6),
        },
    }


def _service(
    hcs_id: str,
    region: str,
    offer: tuple[Any, ...],
    mode: tuple[str, str],
    provider: dict[str, Any],
    location: dict[str, Any],
    meta: Callable[[str, str], dict[str, Any]],
    functional_id: str,
) -> dict[str, Any]:
    specialty, label, champ, category, category_label, low, high = offer[:7]
    return {
        "resourceType": "HealthcareService",
        "id": hcs_id,
        "meta": meta("ror-healthcareservice", region),
        "extension": [
            {"url": _SD + "ror-healthcareservice-sensitive-unit", "valueBoolean": False},
            {
                "url": _SD + "ror-healthcareservice-patient-type",
                "extension": [
                    {"url": "patientType", "valueCodeableConcept": _cc(
                        "TRE_R239-PublicPrisEnCharge", "05" if low >= 60 else "01",
                        "Personnes âgées" if low >= 60 else "Tous publics")},
                    {"url": "ageRange", "valueRange": {
                        "low": {"value": low, "system": _nos("TRE_R247-UcumUniteMesure"),
                                "code": "a"},
                        "high": {"value": high, "system": _nos("TRE_R247-UcumUniteMesure"),
                                 "code": "a"},
                    }},
                ],
            },
        ],
        "identifier": [
            {
                "type": _cc("TRE_R355-TypeIdentifiantOffre", "35",
                            "Identifiant fonctionnel de l'offre connu par l'instance ROR"),
                "value": functional_id,
            }
        ],
        "providedBy": {"reference": f"Organization/{provider['id']}"},
        "category": [_cc("TRE_R244-CategorieOrganisation", category, category_label)],
        "type": [_cc("TRE_R227-ChampActivite", champ)],
        "specialty": [_cc("TRE_R211-ActiviteOperationnelle", specialty, label)],
        "location": [{"reference": f"Location/{location['id']}"}],
        "name": f"{label} - {mode[1].upper()}",
        "characteristic": [_cc("TRE_R213-ModePriseEnCharge", mode[0], mode[1])],
    }


# -- search evaluation ----------------------------------------------------------------------

_COMMON_PARAMS = {"_id", "_lastUpdated", "_tag"}
#: Search parameters the mock evaluates, per resource type.
SEARCH_PARAMS: dict[str, frozenset[str]] = {
    "Organization": frozenset(_COMMON_PARAMS | {"identifier", "name", "type"}),
    "HealthcareService": frozenset(
        _COMMON_PARAMS
        | {
            "identifier", "name", "service-category", "service-type", "specialty",
            "characteristic", "patient-type", "age-range-low", "age-range-high",
        }
    ),
    "Location": frozenset(
        _COMMON_PARAMS
        | {
            "identifier", "address-city", "address-postalcode", "commune-cog", "near",
            "near-insee-code", "type", "status", "capacity-type", "capacity-status",
            "nb-capacity", "capacity-update-date", "gender-capacity-available",
            "temporality-capacity", "additional-bed-type", "crisis-type",
            "capacity-closing-type", "temporary-assignement",
        }
    ),
    "PractitionerRole": frozenset(_COMMON_PARAMS | {"identifier"}),
}
_CAPACITY_PARAMS = {
    "capacity-type": "capacityType",
    "capacity-status": "capacityStatus",
    "gender-capacity-available": "genderCapacityAvailable",
    "temporality-capacity": "temporalityCapacity",
    "additional-bed-type": "additionalBedType",
    "crisis-type": "crisisType",
    "capacity-closing-type": "capacityClosingType",
    "temporary-assignement": "temporaryAssignement",
}
_RESULT_PARAMS = {"_count", "_sort", "_elements", "_total", "_pretty", "_format", "_summary"}
_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le")


class _BadRequest(Exception):
    def __init__(self, message: str, code: str = "invalid", status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _tokens(concepts: Iterable[Any]) -> list[tuple[str, str]]:
    out = []
    for concept in concepts:
        for coding in (concept or {}).get("coding") or ():
            out.append((coding.get("system", ""), coding.get("code", "")))
    return out


def _token_match(value: str, tokens: Iterable[tuple[str, str]]) -> bool:
    tokens = list(tokens)
    for alternative in value.split(","):
        if "|" in alternative:
            system, _, code = alternative.partition("|")
            if any((not system or s == system) and c == code for s, c in tokens):
                return True
        elif any(c == alternative for _, c in tokens):
            return True
    return False


def _prefixed(value: str) -> tuple[str, str]:
    if value[:2] in _PREFIXES and len(value) > 2 and not value[2].isalpha():
        return value[:2], value[2:]
    return "eq", value


def _compare(prefix: str, actual: Any, expected: Any) -> bool:
    if actual is None:
        return False
    outcome = {
        "eq": actual == expected,
        "ne": actual != expected,
        "gt": actual > expected,
        "lt": actual < expected,
        "ge": actual >= expected,
        "le": actual <= expected,
    }[prefix]
    return bool(outcome)


def _parse_date(text: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise _BadRequest(f"Invalid date/time format: '{text}'") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _date_match(value: str, actual_text: str | None) -> bool:
    if not actual_text:
        return False
    prefix, text = _prefixed(value)
    return _compare(prefix, _parse_date(actual_text), _parse_date(text))


def _number(text: str) -> float:
    try:
        return float(text.split("|", 1)[0])
    except ValueError as exc:
        raise _BadRequest(f"Invalid number: '{text}'") from exc


def _distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(a))


def _ext(resource: dict[str, Any], url: str) -> list[dict[str, Any]]:
    return [e for e in resource.get("extension") or () if e.get("url") == url]


def _sub(extension: dict[str, Any], url: str) -> dict[str, Any] | None:
    return next((e for e in extension.get("extension") or () if e.get("url") == url), None)


def _sub_code(extension: dict[str, Any], url: str) -> str | None:
    sub = _sub(extension, url)
    if sub is None:
        return None
    tokens = _tokens([sub.get("valueCodeableConcept")])
    return tokens[0][1] if tokens else None


class _Search:
    """Evaluates one search request against the dataset."""

    def __init__(self, data: RorDataset) -> None:
        self.data = data
        self._children: dict[str, list[str]] | None = None

    # org hierarchy for :above
    def descendants(self, org_keys: set[str]) -> set[str]:
        if self._children is None:
            self._children = {}
            for org in self.data.of_type("Organization"):
                parent = (org.get("partOf") or {}).get("reference")
                if parent:
                    self._children.setdefault(parent, []).append(f"Organization/{org['id']}")
        out = set(org_keys)
        stack = list(org_keys)
        while stack:
            for child in self._children.get(stack.pop(), ()):
                if child not in out:
                    out.add(child)
                    stack.append(child)
        return out

    def run(self, kind: str, params: list[tuple[str, str]]) -> list[dict[str, Any]]:
        if kind not in SEARCH_PARAMS:
            raise _BadRequest(f"Unknown resource type '{kind}'", "not-supported", 404)
        filters: list[Callable[[dict[str, Any]], bool]] = []
        capacity_criteria: list[tuple[str, str]] = []
        for name, value in params:
            if name in _RESULT_PARAMS or name.startswith(("_include", "_revinclude")):
                continue
            base, _, modifier = name.partition(":")
            if "." in base:
                filters.append(self._chain(kind, base, modifier, value))
                continue
            if base not in SEARCH_PARAMS[kind] or modifier:
                raise _BadRequest(
                    f"Unknown search parameter \"{name}\" for resource type \"{kind}\". "
                    f"Valid search parameters for this search are: "
                    f"{sorted(SEARCH_PARAMS[kind])}",
                    "not-supported",
                )
            if kind == "Location" and (base in _CAPACITY_PARAMS or base in (
                "nb-capacity", "capacity-update-date"
            )):
                capacity_criteria.append((base, value))
                continue
            filters.append(self._filter(kind, base, value))
        if capacity_criteria:
            filters.append(self._capacity_filter(capacity_criteria))
        return [r for r in self.data.of_type(kind) if all(f(r) for f in filters)]

    def _chain(
        self, kind: str, base: str, modifier: str, value: str
    ) -> Callable[[dict[str, Any]], bool]:
        link, _, target_param = base.partition(".")
        if kind == "HealthcareService" and link == "location":
            keys = {f"Location/{r['id']}" for r in self.run("Location", [(target_param, value)])}
            return lambda r: any(
                ref.get("reference") in keys for ref in r.get("location") or ()
            )
        if kind == "HealthcareService" and link == "organization":
            matched = {
                f"Organization/{r['id']}" for r in self.run("Organization", [(target_param, value)])
            }
            if modifier == "above":
                matched = self.descendants(matched)
            elif modifier:
                raise _BadRequest(f"Unsupported modifier ':{modifier}'", "not-supported")
            return lambda r: (r.get("providedBy") or {}).get("reference") in matched
        raise _BadRequest(f"Unsupported chain '{base}' on {kind}", "not-supported")

    def _filter(self, kind: str, name: str, value: str) -> Callable[[dict[str, Any]], bool]:
        if name == "_id":
            ids = set(value.split(","))
            return lambda r: r["id"] in ids
        if name == "_lastUpdated":
            return lambda r: _date_match(value, r["meta"].get("lastUpdated"))
        if name == "_tag":
            return lambda r: _token_match(
                value, [(t.get("system", ""), t.get("code", "")) for t in r["meta"].get("tag", [])]
            )
        if name == "identifier":
            return lambda r: _token_match(
                value, [(i.get("system", ""), i.get("value", "")) for i in r.get("identifier", [])]
            )
        if name in ("name", "address-city"):
            wanted = _fold(value)
            if name == "name":
                return lambda r: any(
                    _fold(word).startswith(wanted) for word in [r.get("name", "")]
                ) or wanted in _fold(r.get("name", ""))
            return lambda r: _fold((r.get("address") or {}).get("city", "")).startswith(wanted)
        if name == "address-postalcode":
            return lambda r: (r.get("address") or {}).get("postalCode", "").startswith(value)
        if name == "status":
            return lambda r: r.get("status") in value.split(",")
        if name == "commune-cog":
            return lambda r: _token_match(
                value,
                _tokens(e.get("valueCodeableConcept") for e in _ext(r, _SD + "ror-commune-cog")),
            )
        if name in ("near", "near-insee-code"):
            return self._near(name, value)
        element = {
            "type": "type",
            "service-category": "category",
            "service-type": "type",
            "specialty": "specialty",
            "characteristic": "characteristic",
        }.get(name)
        if element:
            return lambda r: _token_match(value, _tokens(r.get(element) or ()))
        if name == "patient-type":
            return lambda r: _token_match(
                value,
                _tokens(
                    (_sub(e, "patientType") or {}).get("valueCodeableConcept")
                    for e in _ext(r, _SD + "ror-healthcareservice-patient-type")
                ),
            )
        if name in ("age-range-low", "age-range-high"):
            prefix, number = _prefixed(value)
            bound = "low" if name.endswith("low") else "high"
            expected = _number(number)

            def age(r: dict[str, Any]) -> bool:
                for ext in _ext(r, _SD + "ror-healthcareservice-patient-type"):
                    rng = (_sub(ext, "ageRange") or {}).get("valueRange") or {}
                    actual = (rng.get(bound) or {}).get("value")
                    if actual is not None and _compare(prefix, float(actual), expected):
                        return True
                return False

            return age
        raise _BadRequest(f"Search parameter '{name}' is not supported", "not-supported")

    def _near(self, name: str, value: str) -> Callable[[dict[str, Any]], bool]:
        parts = value.split("|")
        try:
            if name == "near":
                lat, lon = float(parts[0]), float(parts[1])
                dist = float(parts[2]) if len(parts) > 2 and parts[2] else 50.0
            else:
                commune = next(
                    c for _, (_, cs) in REGIONS.items() for c in cs if c[0] == parts[0]
                )
                lat, lon = commune[3], commune[4]
                dist = float(parts[1]) if len(parts) > 1 and parts[1] else 50.0
        except (ValueError, IndexError, StopIteration) as exc:
            raise _BadRequest(f"Invalid {name} value '{value}'") from exc
        if not 0 <= dist <= 1000:
            raise _BadRequest("The distance must be between 0 and 1000 km")

        def near(r: dict[str, Any]) -> bool:
            pos = r.get("position") or {}
            if "latitude" not in pos:
                return False
            return _distance_km(lat, lon, pos["latitude"], pos["longitude"]) <= dist

        return near

    def _capacity_filter(
        self, criteria: list[tuple[str, str]]
    ) -> Callable[[dict[str, Any]], bool]:
        def entry_matches(ext: dict[str, Any]) -> bool:
            for name, value in criteria:
                if name == "nb-capacity":
                    prefix, number = _prefixed(value)
                    actual = (_sub(ext, "nbCapacity") or {}).get("valueInteger")
                    if not _compare(prefix, actual, _number(number)):
                        return False
                elif name == "capacity-update-date":
                    if not _date_match(value, (_sub(ext, "capacityUpdateDate") or {}).get(
                        "valueDateTime"
                    )):
                        return False
                else:
                    code = _sub_code(ext, _CAPACITY_PARAMS[name])
                    if code is None or code not in value.split(","):
                        if not ("|" in value and _token_match(value, [("", code or "")])):
                            return False
            return True

        return lambda r: any(entry_matches(e) for e in _ext(r, _CAP))


# -- the server -----------------------------------------------------------------------------


@dataclass(slots=True)
class _StoredSearch:
    keys: list[str]
    includes: list[tuple[str, str]]
    created: float


@dataclass(slots=True)
class _ExportJob:
    types: list[str]
    since: dt.datetime | None
    polls_left: int
    created: str


class RorMock(MockServer):
    """The ROR FHIR server emulator (see the module docstring).

    >>> with RorMock(TestPki.create(tmp)) as ror:               # doctest: +SKIP
    ...     ror.fhir_base, ror.token_url
    """

    name: ClassVar[str] = "ror"
    service_faults: ClassVar[frozenset[str]] = frozenset(
        {"http429", "http503", "http500", "expired_token"}
    )

    def __init__(
        self,
        pki: TestPki,
        *,
        seed: int = 6,
        scale: int = 60,
        token_lifetime: int = 300,
        retry_after: int = 1,
        export_polls: int = 2,
        export_chunk: int = 1000,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("require_client_cert", False)
        super().__init__(pki, **kwargs)
        self.seed = seed
        self.scale = scale
        self.token_lifetime = token_lifetime
        self.retry_after = retry_after
        self.export_polls = export_polls
        self.export_chunk = export_chunk
        self._data_lock = threading.RLock()
        self._local = threading.local()
        self.data = generate_dataset(seed, scale=scale)
        self._search = _Search(self.data)
        self._tokens: dict[str, tuple[str, float]] = {}
        self._searches: OrderedDict[str, _StoredSearch] = OrderedDict()
        self._exports: dict[str, _ExportJob] = {}
        self.patches: list[dict[str, Any]] = []  # received capacity PATCH bodies, newest last

    # -- public helpers ------------------------------------------------------------------

    @property
    def fhir_base(self) -> str:
        return self.url + FHIR_PATH

    @property
    def token_url(self) -> str:
        return self.url + TOKEN_PATH

    @property
    def landmarks(self) -> dict[str, str]:
        return dict(self.data.landmarks)

    def resource(self, key: str) -> dict[str, Any] | None:
        """A copy of the stored resource ``Type/id``."""
        with self._data_lock:
            found = self.data.resources.get(key)
            return copy.deepcopy(found) if found else None

    def expire_tokens(self) -> None:
        """Every issued token is now expired (the next FHIR call gets 401)."""
        with self._lock:
            self._tokens = {t: (c, 0.0) for t, (c, _) in self._tokens.items()}

    def reset(self) -> None:
        super().reset()
        with self._data_lock:
            self.data = generate_dataset(self.seed, scale=self.scale)
            self._search = _Search(self.data)
            self._searches.clear()
            self._exports.clear()
            self.patches.clear()
        with self._lock:
            self._tokens.clear()

    def settings_table(self) -> dict[str, str]:
        """The ``[ror]`` TOML table a client needs to talk to this mock."""
        return {
            "endpoint": self.fhir_base,
            "token_url": self.token_url,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        }

    def payload_too_large(self, request: Request, limit: int) -> Response:
        return _outcome(413, "too-long", f"Le corps de la requête dépasse {limit} octets")

    # -- fault routing -------------------------------------------------------------------

    def _wsgi(self, environ: Any, start_response: Any) -> Any:
        self._local.path = environ.get("PATH_INFO", "")
        return super()._wsgi(environ, start_response)

    def _take_fault(self) -> str | None:
        # Token requests never consume a fault: a fault aims at the FHIR call after it.
        if getattr(self._local, "path", "") == TOKEN_PATH:
            return None
        return super()._take_fault()

    # -- dispatch ------------------------------------------------------------------------

    def handle(self, request: Request, exchange: Exchange) -> Response:
        path = request.path
        try:
            if path == TOKEN_PATH:
                exchange.details["operation"] = "token"
                return self._token(request, exchange)
            if path.startswith(SYNC_PATH + "/"):
                exchange.details["operation"] = "capacity-patch"
                self._authorise(request, exchange, ror_headers=False)
                return self._capacity_patch(request, exchange)
            if path == FHIR_PATH + "/metadata":
                return _fhir_json(self._capability())
            if path == FHIR_PATH or path.startswith(FHIR_PATH + "/"):
                self._authorise(request, exchange, ror_headers=True)
                return self._fhir(request, exchange)
            raise _BadRequest(f"No route for {path}", "not-found", 404)
        except _BadRequest as exc:
            exchange.details["error"] = exc.code
            return _outcome(exc.status, exc.code, str(exc))

    def _authorise(self, request: Request, exchange: Exchange, *, ror_headers: bool) -> None:
        fault = exchange.fault
        if fault == "http429":
            raise _RetryLater(429)
        if fault == "http503":
            raise _RetryLater(503)
        if fault == "http500":
            raise _BadRequest("Erreur interne du serveur (simulée)", "exception", 500)
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        with self._lock:
            known = self._tokens.get(token)
        if not token or known is None:
            raise _BadRequest("Jeton d'accès absent ou inconnu", "login", 401)
        if fault == "expired_token" or known[1] < time.monotonic():
            raise _BadRequest("Jeton d'accès expiré", "expired", 401)
        exchange.details["client"] = known[0]
        present = [h for h in ROR_HEADERS if request.headers.get(h)]
        if ror_headers and len(present) != len(ROR_HEADERS):
            missing = [h for h in ROR_HEADERS if h not in present]
            raise _BadRequest(f"Header(s) manquant(s) : {', '.join(missing)}", "security", 403)
        if not ror_headers and present:
            raise _BadRequest(
                f"Les headers {', '.join(present)} ne doivent pas être présents sur cet appel",
                "invalid",
            )

    # -- token ---------------------------------------------------------------------------

    def _token(self, request: Request, exchange: Exchange) -> Response:
        if request.method != "POST":
            return _oauth_error(405, "invalid_request", "POST only")
        form = request.form
        if form.get("grant_type") != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", "client_credentials only")
        client_id = form.get("client_id", "")
        secret = form.get("client_secret")
        auth = request.authorization
        if auth is not None and auth.type == "basic":
            client_id, secret = auth.username or "", auth.password
        if secret is not None:
            if client_id != CLIENT_ID or not secrets.compare_digest(secret, CLIENT_SECRET):
                return _oauth_error(401, "invalid_client", "Invalid client credentials")
        elif exchange.client is None or client_id != MTLS_CLIENT_ID:
            # mTLS: a certificate of the test CA (verified by the TLS layer) and the id.
            return _oauth_error(401, "unauthorized_client", "Client certificate required")
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = (client_id, time.monotonic() + self.token_lifetime)
        return Response(
            json.dumps(
                {
                    "access_token": token,
                    "expires_in": self.token_lifetime,
                    "refresh_expires_in": 0,
                    "token_type": "Bearer",
                    "not-before-policy": 0,
                    "scope": "profile email",
                }
            ),
            content_type="application/json",
            headers={"Cache-Control": "no-store"},
        )

    # -- FHIR reads and searches ---------------------------------------------------------

    def _fhir(self, request: Request, exchange: Exchange) -> Response:
        rest = request.path[len(FHIR_PATH) :].strip("/")
        if request.method != "GET":
            raise _BadRequest(f"Method {request.method} not allowed here", "not-supported", 405)
        params = list(request.args.items(multi=True))
        if rest == "" and request.args.get("_getpages"):
            exchange.details["operation"] = "page"
            return self._page(request)
        if rest == "$export":
            exchange.details["operation"] = "export"
            return self._export_kickoff(request)
        if rest == "$export-poll-status":
            return self._export_poll(request)
        if rest.startswith("$export-output/"):
            return self._export_output(rest)
        parts = rest.split("/")
        if len(parts) == 1 and parts[0]:
            exchange.details["operation"] = f"search {parts[0]}"
            return self._new_search(request, parts[0], params)
        if len(parts) == 2:
            exchange.details["operation"] = f"read {parts[0]}"
            found = self.resource(f"{parts[0]}/{parts[1]}")
            if found is None:
                raise _BadRequest(
                    f"Resource {parts[0]}/{parts[1]} is not known", "not-found", 404
                )
            return _fhir_json(found)
        raise _BadRequest(f"Unknown path {request.path}", "not-found", 404)

    def _new_search(self, request: Request, kind: str, params: list[tuple[str, str]]) -> Response:
        count = _count(request.args.get("_count"))
        with self._data_lock:
            matches = self._search.run(kind, params)
            sort = request.args.get("_sort")
            if sort:
                matches = _sorted(matches, sort)
            keys = [f"{r['resourceType']}/{r['id']}" for r in matches]
        includes = [(k, v) for k, v in params if k.startswith(("_include", "_revinclude"))]
        for name, value in includes:
            if value not in _SUPPORTED_INCLUDES:
                raise _BadRequest(f"Invalid {name} value '{value}'", "not-supported")
        search_id = str(uuid.uuid4())
        with self._lock:
            self._searches[search_id] = _StoredSearch(keys, includes, time.monotonic())
            while len(self._searches) > 200:
                self._searches.popitem(last=False)
        self_url = request.url
        return self._bundle(search_id, 0, count, self_url)

    def _page(self, request: Request) -> Response:
        search_id = request.args.get("_getpages", "")
        with self._lock:
            stored = self._searches.get(search_id)
        if stored is None:
            raise _BadRequest(
                f"Search ID \"{search_id}\" does not exist and may have expired", "not-found", 410
            )
        try:
            offset = int(request.args.get("_getpagesoffset", "0"))
        except ValueError as exc:
            raise _BadRequest("Invalid _getpagesoffset") from exc
        return self._bundle(search_id, max(0, offset), _count(request.args.get("_count")),
                            request.url)

    def _page_url(self, search_id: str, offset: int, count: int) -> str:
        query = urlencode(
            {
                "_getpages": search_id,
                "_getpagesoffset": offset,
                "_count": count,
                "_pretty": "true",
                "_bundletype": "searchset",
            }
        )
        return f"{self.fhir_base}?{query}"

    def _bundle(self, search_id: str, offset: int, count: int, self_url: str) -> Response:
        with self._lock:
            stored = self._searches[search_id]
        page_keys = stored.keys[offset : offset + count]
        with self._data_lock:
            entries = []
            seen = set(page_keys)
            for key in page_keys:
                entries.append(self._entry(key, "match"))
            for key in self._included(page_keys, stored.includes):
                if key not in seen:
                    seen.add(key)
                    entries.append(self._entry(key, "include"))
        links = [{"relation": "self", "url": self_url}]
        if offset + count < len(stored.keys):
            next_url = self._page_url(search_id, offset + count, count)
            links.append({"relation": "next", "url": next_url})
        if offset > 0:
            links.append(
                {"relation": "previous",
                 "url": self._page_url(search_id, max(0, offset - count), count)}
            )
        bundle = {
            "resourceType": "Bundle",
            "id": search_id,
            "meta": {"lastUpdated": _now()},
            "type": "searchset",
            "total": len(stored.keys),
            "link": links,
            "entry": [e for e in entries if e is not None],
        }
        return _fhir_json(bundle)

    def _entry(self, key: str, mode: str) -> dict[str, Any] | None:
        resource = self.data.resources.get(key)
        if resource is None:
            return None
        return {
            "fullUrl": f"{self.fhir_base}/{key}",
            "resource": resource,
            "search": {"mode": mode},
        }

    def _included(self, keys: list[str], includes: list[tuple[str, str]]) -> list[str]:
        out: list[str] = []
        current = [self.data.resources[k] for k in keys if k in self.data.resources]
        iterate_partof = any(
            name == "_include:iterate" and value == "Organization:partof"
            for name, value in includes
        )
        orgs: list[dict[str, Any]] = []
        for name, value in includes:
            if name.startswith("_include"):
                source, _, element = value.partition(":")
                ref_element = {"organization": "providedBy", "location": "location",
                               "partof": "partOf"}[element]
                for resource in current:
                    if resource["resourceType"] != source:
                        continue
                    refs = resource.get(ref_element)
                    for ref in refs if isinstance(refs, list) else [refs] if refs else []:
                        target = ref.get("reference")
                        if target in self.data.resources:
                            out.append(target)
                            if target.startswith("Organization/"):
                                orgs.append(self.data.resources[target])
            else:  # _revinclude
                source, _, element = value.partition(":")
                wanted = {f"{r['resourceType']}/{r['id']}" for r in current}
                ref_element = {"location": "location", "service": "healthcareService"}[element]
                for resource in self.data.of_type(source):
                    refs = resource.get(ref_element) or []
                    if any(ref.get("reference") in wanted for ref in refs):
                        out.append(f"{source}/{resource['id']}")
        if iterate_partof:
            pending = orgs + [r for r in current if r["resourceType"] == "Organization"]
            while pending:
                parent = (pending.pop().get("partOf") or {}).get("reference")
                if parent and parent in self.data.resources and parent not in out:
                    out.append(parent)
                    pending.append(self.data.resources[parent])
        return out

    # -- capacity PATCH ------------------------------------------------------------------

    def _capacity_patch(self, request: Request, exchange: Exchange) -> Response:
        if request.method != "PATCH" or request.path != SYNC_PATH + "/Location":
            raise _BadRequest("Only PATCH Location?identifier=... is served here",
                              "not-supported", 405)
        content_type = (request.mimetype or "").lower()
        if content_type != "application/fhir+json":
            raise _BadRequest(f"Content-Type {content_type!r} is not application/fhir+json",
                              "not-supported", 415)
        identifier = request.args.get("identifier", "")
        if "/" not in identifier:
            raise _BadRequest("identifier must be '<IdNatStructEtab>/<id externe>'")
        try:
            body = json.loads(request.get_data())
        except ValueError as exc:
            raise _BadRequest("The body is not JSON") from exc
        operations = _patch_operations(body)
        with self._data_lock:
            self.patches.append(body)
            matches = [
                r for r in self.data.of_type("Location")
                if any(i.get("value") == identifier for i in r.get("identifier", [])
                       if _tokens([i.get("type")]) and _tokens([i.get("type")])[0][1] == "26")
            ]
            if not matches:
                return _outcome(404, "not-found",
                                "La Location avec l'identifiant externe de synchro OU "
                                f"l'identifiant unique de saisie : '{identifier}' n'a pas été "
                                "trouvée.", expression=["Location"])
            if len(matches) > 1:
                return _outcome(412, "multiple-matches",
                                f"La Location recherchée n'est pas unique, il y a "
                                f"'{len(matches)}' résultats", expression=["Location"])
            location = matches[0]
            updated = copy.deepcopy(location)
            for op_type, path, extension in operations:
                exchange.details["patch"] = op_type
                problem = _indicator_problems(extension)
                if problem:
                    return _business_rule(problem)
                keys = _indicator_keys(extension)
                existing = [
                    i for i, e in enumerate(updated.get("extension", []))
                    if e.get("url") == _CAP and _indicator_keys(e) == keys
                ]
                if op_type == "replace":
                    criteria = _path_criteria(path)
                    if criteria != keys:
                        return _business_rule(
                            "Les critères du FhirPath ne correspondent pas à un indicateur "
                            "valide : " + _describe(criteria)
                        )
                    if not existing:
                        return _outcome(
                            404, "not-found",
                            "Les données fournies ne permettent pas de déterminer l'indicateur "
                            "à mettre à jour: Aucun indicateur présent en base ne correspond",
                            expression=f"Location.extension.where(url='{_CAP}')",
                        )
                    updated["extension"][existing[0]] = extension
                else:
                    if existing:
                        return _business_rule(
                            "L'indicateur existe déjà : " + _describe(keys), code="duplicate"
                        )
                    updated.setdefault("extension", []).append(extension)
            updated["meta"]["lastUpdated"] = _now()
            self.data.resources[f"Location/{location['id']}"] = updated
        return _fhir_json(updated)

    # -- $export -------------------------------------------------------------------------

    def _export_kickoff(self, request: Request) -> Response:
        if request.headers.get("Prefer", "").lower() != "respond-async":
            raise _BadRequest("$export requires the header Prefer: respond-async")
        output_format = request.args.get("_outputFormat", "application/fhir+json")
        if output_format not in ("application/fhir+json", "application/json"):
            raise _BadRequest(f"_outputFormat {output_format!r} is not supported "
                              "(application/fhir+json only)", "not-supported")
        types = [t for t in request.args.get("_type", "").split(",") if t] or list(SEARCH_PARAMS)
        unknown = [t for t in types if t not in SEARCH_PARAMS]
        if unknown:
            raise _BadRequest(f"Unknown _type {unknown}", "not-supported")
        since = request.args.get("_since")
        job_id = uuid.uuid4().hex
        with self._lock:
            self._exports[job_id] = _ExportJob(
                types, _parse_date(since) if since else None, self.export_polls, _now()
            )
        return Response(
            status=202,
            headers={
                "Content-Location": f"{self.fhir_base}/$export-poll-status?_jobId={job_id}"
            },
        )

    def _export_poll(self, request: Request) -> Response:
        job_id = request.args.get("_jobId", "")
        with self._lock:
            job = self._exports.get(job_id)
            if job is None:
                raise _BadRequest(f"Unknown export job {job_id}", "not-found", 404)
            polls_left = job.polls_left
            job.polls_left -= 1
        if polls_left > 0:
            done = int(100 * (self.export_polls - polls_left) / max(1, self.export_polls))
            return Response(
                status=202,
                headers={"X-Progress": f"{done}%", "Retry-After": str(self.retry_after)},
            )
        output = []
        with self._data_lock:
            for kind in job.types:
                n = len(self._export_keys(job, kind))
                for part in range(math.ceil(n / self.export_chunk)):
                    output.append(
                        {
                            "type": kind,
                            "url": f"{self.fhir_base}/$export-output/{job_id}/{kind}/{part + 1}",
                        }
                    )
        manifest = {
            "transactionTime": job.created,
            "request": f"{self.fhir_base}/$export?_type={','.join(job.types)}",
            "requiresAccessToken": True,
            "output": output,
            "error": [],
        }
        return Response(json.dumps(manifest), content_type="application/json")

    def _export_keys(self, job: _ExportJob, kind: str) -> list[str]:
        return [
            f"{kind}/{r['id']}" for r in self.data.of_type(kind)
            if job.since is None or _parse_date(r["meta"]["lastUpdated"]) >= job.since
        ]

    def _export_output(self, rest: str) -> Response:
        try:
            _, job_id, kind, part_text = rest.split("/")
            part = int(part_text)
        except ValueError as exc:
            raise _BadRequest("Unknown export output", "not-found", 404) from exc
        with self._lock:
            job = self._exports.get(job_id)
        if job is None or kind not in job.types:
            raise _BadRequest("Unknown export output", "not-found", 404)
        with self._data_lock:
            keys = self._export_keys(job, kind)
            chunk = keys[(part - 1) * self.export_chunk : part * self.export_chunk]
            bundle = {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": self.data.resources[k]} for k in chunk],
            }
            body = json.dumps(bundle, ensure_ascii=False)
        return Response(body, content_type="application/fhir+json; charset=utf-8")

    def _capability(self) -> dict[str, Any]:
        return {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": "2025-01-01",
            "kind": "instance",
            "fhirVersion": "4.0.1",
            "format": ["application/fhir+json"],
            "software": {"name": "segurlink ROR mock"},
            "rest": [
                {
                    "mode": "server",
                    "resource": [
                        {
                            "type": kind,
                            "interaction": [{"code": "read"}, {"code": "search-type"}],
                            "searchParam": [
                                {"name": p, "type": "token"} for p in sorted(params)
                            ],
                        }
                        for kind, params in SEARCH_PARAMS.items()
                    ],
                    "operation": [
                        {
                            "name": "export",
                            "definition": (
                                "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"
                            ),
                        }
                    ],
                }
            ],
        }

    def _respond(self, request: Request, exchange: Exchange, fault: str | None) -> Response:
        try:
            return super()._respond(request, exchange, fault)
        except _RetryLater as exc:
            exchange.details["error"] = str(exc.status)
            response = _outcome(exc.status, "throttled" if exc.status == 429 else "transient",
                                "Trop de requêtes" if exc.status == 429 else
                                "Service temporairement indisponible")
            response.headers["Retry-After"] = str(self.retry_after)
            return response


class _RetryLater(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


_SUPPORTED_INCLUDES = {
    "HealthcareService:organization",
    "HealthcareService:location",
    "Organization:partof",
    "PractitionerRole:service",
}


def _count(value: str | None) -> int:
    if value is None or value == "":
        return 200
    try:
        count = int(value)
    except ValueError as exc:
        raise _BadRequest(f"Invalid _count '{value}'") from exc
    return max(1, min(count, 1000))


def _sorted(resources: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    for key in reversed(sort.split(",")):
        reverse = key.startswith("-")
        key = key.lstrip("-")
        getter: Callable[[dict[str, Any]], Any]
        if key == "_lastUpdated":
            def getter(r: dict[str, Any]) -> Any:
                return _parse_date(r["meta"]["lastUpdated"])
        elif key == "_id":
            def getter(r: dict[str, Any]) -> Any:
                return r["id"]
        elif key == "name":
            def getter(r: dict[str, Any]) -> Any:
                return _fold(r.get("name", ""))
        else:
            raise _BadRequest(f"Unsupported _sort '{key}'", "not-supported")
        resources = sorted(resources, key=getter, reverse=reverse)
    return resources


# -- capacity patch checks (independent of the client's code) -------------------------------

_INDICATOR_URLS = (
    "capacityType", "capacityStatus", "temporalityCapacity", "genderCapacityAvailable",
    "capacityClosingType", "additionalBedType", "crisisType", "temporaryAssignement",
)
_VALID_CODES = {
    "capacityType": {"01", "02"},
    "capacityStatus": {"01", "02", "03", "04", "05", "06"},
    "temporalityCapacity": {"01", "02", "03"},
    "genderCapacityAvailable": {"01", "02", "03"},
}
_CRITERION = re.compile(
    r"extension\.where\(url='(?P<url>[A-Za-z]+)' and "
    r"valueCodeableConcept\.coding\[0\]\.code='(?P<code>[^']*)'\)"
)


def _patch_operations(body: Any) -> list[tuple[str, str, dict[str, Any]]]:
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise _BadRequest("The body must be a FHIR Parameters resource")
    out = []
    for parameter in body.get("parameter") or ():
        if parameter.get("name") != "operation":
            raise _BadRequest(f"Unexpected parameter {parameter.get('name')!r}")
        parts = {p.get("name"): p for p in parameter.get("part") or ()}
        type_part = parts.get("type") or {}
        op_type = type_part.get("valueCode") or type_part.get("valueString")
        path = (parts.get("path") or {}).get("valueString", "")
        if op_type not in ("replace", "add"):
            raise _BadRequest(f"Unsupported patch operation type {op_type!r}")
        if op_type == "add" and (
            path != "Location" or (parts.get("name") or {}).get("valueString") != "extension"
        ):
            raise _BadRequest("add must target path 'Location' with name 'extension'")
        if op_type == "replace" and not path.startswith(f"Location.extension.where(url='{_CAP}'"):
            raise _BadRequest(f"replace path must target the capacity extension: {path!r}")
        value = parts.get("value") or {}
        extensions = [
            ext for part in value.get("part") or () for ext in part.get("extension") or ()
        ]
        if len(extensions) != 1 or extensions[0].get("url") != _CAP:
            raise _BadRequest("value must carry exactly one ror-location-supported-capacity")
        out.append((str(op_type), str(path), extensions[0]))
    if not out:
        raise _BadRequest("No operation in the Parameters")
    return out


def _indicator_keys(extension: dict[str, Any]) -> dict[str, str]:
    keys = {}
    for url in _INDICATOR_URLS:
        code = _sub_code(extension, url)
        if code:
            keys[url] = code
    return keys


def _describe(keys: dict[str, str]) -> str:
    return " / ".join(f"{url}: {keys.get(url, 'null')}" for url in _INDICATOR_URLS[1:])


def _path_criteria(path: str) -> dict[str, str]:
    return {m.group("url"): m.group("code") for m in _CRITERION.finditer(path)}


def _indicator_problems(extension: dict[str, Any]) -> str | None:
    count = (_sub(extension, "nbCapacity") or {}).get("valueInteger")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        return "nbCapacity doit être un entier positif ou nul"
    keys = _indicator_keys(extension)
    for url, valid in _VALID_CODES.items():
        if url in keys and keys[url] not in valid:
            return f"Indicateur INDICATEUR_INCONNU : L'attribut '{url}' a un code inconnu"
    if "capacityType" not in keys or "capacityStatus" not in keys:
        return "capacityType et capacityStatus sont obligatoires"
    status = keys["capacityStatus"]
    if "genderCapacityAvailable" in keys and status != "02":
        return ("Les valeurs du nouvel objet ne correspondent pas à un indicateur valide : "
                + _describe(keys))
    if ("additionalBedType" in keys or "crisisType" in keys) != (status == "06"):
        return ("Les valeurs du nouvel objet ne correspondent pas à un indicateur valide : "
                + _describe(keys))
    if not _sub(extension, "capacityUpdateDate"):
        return "capacityUpdateDate est obligatoire"
    return None


def _business_rule(message: str, code: str = "business-rule") -> Response:
    return _outcome(400, code, message,
                    expression=[f"Location.extension('{_CAP}')"])


# -- answers --------------------------------------------------------------------------------


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def _fhir_json(resource: dict[str, Any], status: int = 200) -> Response:
    return Response(
        json.dumps(resource, ensure_ascii=False),
        status=status,
        content_type="application/fhir+json; charset=utf-8",
    )


def _outcome(
    status: int, code: str, diagnostics: str, *, expression: str | list[str] | None = None
) -> Response:
    issue: dict[str, Any] = {"severity": "error", "code": code, "diagnostics": diagnostics}
    if expression is not None:
        issue["expression"] = expression  # the ROR sends a string or a list: so do we
    response = _fhir_json({"resourceType": "OperationOutcome", "issue": [issue]}, status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response


def _oauth_error(status: int, error: str, description: str) -> Response:
    return Response(
        json.dumps({"error": error, "error_description": description}),
        status=status,
        content_type="application/json",
    )
