"""The generated offer of the ROR mock: seeded, realistic in shape, about a second to build.

:func:`generate_dataset` builds, per region, legal entities (EJ) and their geographic
entities (EG) of every kind a DUI meets: hospitals (with internal units, psychiatric
sectors and helicopter drop zones), nursing homes (EHPAD, with their prices), home-care
services (SSIAD, services autonomie à domicile "aide" and "aide et soins", ex-SAAD and
SPASAD, whose intervention zone lists the communes they cover), and disability services
(IME, SESSAD, ESAT, MAS, FAM, foyers de vie and d'hébergement). Each EG offers healthcare
services, each delivered at a Location with capacity indicators; some services have
practitioners (Practitioner + PractitionerRole).

Shapes follow the real resources of ``../shared/ror-samples`` and the ROR IG: profiles,
``ror-meta-creation-date``, displays on every coding, ``availableTime`` with the ROR
extensions (number of the day, effective dates, type of time), ``ror-healthcareservice-
contact`` with telecoms and confidentiality levels, ``ror-territorial-division``
(intervention zone), address lines with their ISO 21090 ADXP parts, ``position`` with
``ror-coordinate-reliability``, capacity indicators like ``ror-location-exemple-1``
(additional beds, status 06, with ``additionalBedType`` and ``crisisType``), residential
capacities, equipment with limits, EG prices (``ror-organization-price``), closures.

Codes come from the TRE tables named by their system. Where the samples and the IG show a
code (TRE_R239 01/02/07, TRE_R227 01/04, TRE_R213 28/32/59, TRE_R203 OP/FT/FD, TRE_R246
02/03, TRE_R335 01-04, TRE_R201 3...), it is used as shown; other codes of the offer
(some TRE_R211, R244, R213 medico-social codes) are plausible illustrations, labelled as
such in :data:`ILLUSTRATIVE_TABLES`. The mock is a witness of shapes and rules, not a
terminology server.

Landmarks (:attr:`RorDataset.landmarks`) are pinned, so documentation and CLI examples
can name them: the EHPAD "LES TILLEULS" of Orléans (EG FINESS ``450000088``, location
synchronisation id ``1450000088/UF1234``), an SSIAD of Orléans covering Olivet, an IME in
Tours, a duplicated synchronisation id...
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CATEGORIES",
    "ILLUSTRATIVE_TABLES",
    "REGIONS",
    "Commune",
    "RorDataset",
    "generate_dataset",
    "nos",
]

SD = "https://interop.esante.gouv.fr/ig/fhir/ror/StructureDefinition/"
CAPACITY = SD + "ror-location-supported-capacity"
REGION_SYSTEM = "https://mos.esante.gouv.fr/NOS/TRE_R30-RegionOM/FHIR/TRE-R30-RegionOM"
FINESS = "https://finess.esante.gouv.fr"
ID_NAT_STRUCT = "urn:oid:1.2.250.1.71.4.2.2"
ID_NAT_PS = "urn:oid:1.2.250.1.71.4.2.1"
ADXP = "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-"
UCUM = "http://unitsofmeasure.org"

#: Tables whose codes, beyond those of the samples and the IG, illustrate the shape only.
ILLUSTRATIVE_TABLES = (
    "TRE_R211-ActiviteOperationnelle",
    "TRE_R244-CategorieOrganisation",
    "TRE_R213-ModePriseEnCharge",
    "TRE_R343-FonctionLieu",
    "TRE_R212-Equipement",
    "TRE_R340-TypeCaracteristiqueEquipement",
    "TRE_R242-TypeHabitation",
    "TRE_R228-UnitePrix",
    "TRE_R237-NiveauDependance",
    "TRE_R240-TemporaliteAccueil",
    "TRE_R250-ConditionTarifaire",
    "TRE_R286-TypeFermeture",
)


def nos(table: str) -> str:
    """The MOS/NOS system URL of a TRE table, e.g. ``TRE_R13-CommuneOM``."""
    return f"https://mos.esante.gouv.fr/NOS/{table}/FHIR/{table.replace('_', '-')}"


@functools.cache
def cc(table: str, code: str, display: str) -> dict[str, Any]:
    """A CodeableConcept of one coding with its display (as the ROR sends them).

    Shared between resources (generation stays fast): stored resources are never
    changed in place (a capacity PATCH stores a changed copy).
    """
    return {"coding": [{"system": nos(table), "code": code, "display": display}]}


@functools.cache
def coded(url: str, table: str, code: str, display: str) -> dict[str, Any]:
    """A coded (sub-)extension, shared like :func:`cc`."""
    return {"url": url, "valueCodeableConcept": cc(table, code, display)}


# -- geography ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Commune:
    cog: str
    name: str
    postal_code: str
    latitude: float
    longitude: float


def _communes(*rows: tuple[str, str, str, float, float]) -> tuple[Commune, ...]:
    return tuple(Commune(*row) for row in rows)


#: Region code (TRE_R30) → (name, communes). The first commune of a region is its capital.
REGIONS: dict[str, tuple[str, tuple[Commune, ...]]] = {
    "11": (
        "Île-de-France",
        _communes(
            ("75056", "Paris", "75001", 48.8566, 2.3522),
            ("78646", "Versailles", "78000", 48.8049, 2.1204),
            ("92050", "Nanterre", "92000", 48.8924, 2.2071),
            ("93066", "Saint-Denis", "93200", 48.9362, 2.3574),
            ("92012", "Boulogne-Billancourt", "92100", 48.8352, 2.2410),
            ("93048", "Montreuil", "93100", 48.8638, 2.4485),
        ),
    ),
    "24": (
        "Centre-Val de Loire",
        _communes(
            ("45234", "Orléans", "45000", 47.9029, 1.9093),
            ("37261", "Tours", "37000", 47.3941, 0.6848),
            ("18033", "Bourges", "18000", 47.0810, 2.3988),
            ("28085", "Chartres", "28000", 48.4439, 1.4890),
            ("45232", "Olivet", "45160", 47.8633, 1.9006),
            ("45284", "Saint-Jean-de-Braye", "45800", 47.9128, 1.9719),
            ("45147", "Fleury-les-Aubrais", "45400", 47.9333, 1.9167),
            ("37122", "Joué-lès-Tours", "37300", 47.3522, 0.6631),
        ),
    ),
    "84": (
        "Auvergne-Rhône-Alpes",
        _communes(
            ("69123", "Lyon", "69001", 45.7640, 4.8357),
            ("38185", "Grenoble", "38000", 45.1885, 5.7245),
            ("63113", "Clermont-Ferrand", "63000", 45.7772, 3.0870),
            ("42218", "Saint-Étienne", "42000", 45.4397, 4.3872),
            ("69266", "Villeurbanne", "69100", 45.7667, 4.8803),
        ),
    ),
    "93": (
        "Provence-Alpes-Côte d'Azur",
        _communes(
            ("13055", "Marseille", "13001", 43.2965, 5.3698),
            ("06088", "Nice", "06000", 43.7102, 7.2620),
            ("83137", "Toulon", "83000", 43.1242, 5.9280),
            ("84007", "Avignon", "84000", 43.9493, 4.8055),
            ("13001", "Aix-en-Provence", "13090", 43.5297, 5.4474),
        ),
    ),
    "53": (
        "Bretagne",
        _communes(
            ("35238", "Rennes", "35000", 48.1173, -1.6778),
            ("29019", "Brest", "29200", 48.3904, -4.4861),
            ("56260", "Vannes", "56000", 47.6582, -2.7608),
            ("22278", "Saint-Brieuc", "22000", 48.5136, -2.7603),
            ("35051", "Cesson-Sévigné", "35510", 48.1211, -1.6031),
        ),
    ),
    "06": (
        "Mayotte",
        _communes(
            ("97611", "Mamoudzou", "97600", -12.7806, 45.2279),
            ("97610", "Koungou", "97690", -12.7336, 45.2042),
        ),
    ),
}


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine, km)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(a))


# -- the offer ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Offer:
    """A kind of operational offer and how it is described in the ROR."""

    specialty: tuple[str, str]  # TRE_R211 activité opérationnelle
    champ: tuple[str, str]  # TRE_R227 champ d'activité
    category: tuple[str, str]  # TRE_R244 catégorie d'organisation
    mode: tuple[str, str]  # TRE_R213 mode de prise en charge
    ages: tuple[int, int]
    publics: tuple[tuple[str, str], ...]  # TRE_R239 publics pris en charge
    capacity_type: str  # TRE_R329: 01 bed, 02 place
    hours: str  # "24/7", "weekdays", "daytime"
    home_care: bool = False  # intervention zone (communes covered)
    psychiatry: bool = False  # psychiatric sector
    residential: bool = False  # residential capacities (rooms)


MCO = ("01", "Médecine, Chirurgie, Obstétrique (MCO)")
PSY = ("02", "Psychiatrie")
SMR = ("03", "Soins médicaux et de réadaptation (SMR)")
MS = ("04", "Médico-social (MS)")
HC = ("28", "Hospitalisation complète (HC)")
CS = ("32", "Consultation (CS)")
MOBILE = ("59", "Equipe d'intervention mobile")
INTERNAT = ("37", "Hébergement complet internat")
DAY = ("38", "Accueil de jour")
HOME = ("40", "Prestation sur le lieu de vie")
ELDERLY = ("01", "Personnes âgées en perte d'autonomie (PA) et aidants")
DISABLED = ("02", "Personnes en situation de handicap (PH) et aidants")
EVERYONE = ("07", "Tout public")

_HOSPITAL_OFFERS = (
    Offer(
        ("022", "Chirurgie gynécologique"),
        MCO,
        ("157", "Unité hospitalière de gynécologie"),
        HC,
        (15, 150),
        (EVERYONE,),
        "01",
        "24/7",
    ),
    Offer(
        ("105", "Médecine gériatrique"),
        MCO,
        ("110", "Unité de médecine"),
        HC,
        (75, 150),
        (ELDERLY,),
        "01",
        "24/7",
    ),
    Offer(
        ("010", "Chirurgie orthopédique"),
        MCO,
        ("120", "Unité de chirurgie"),
        HC,
        (16, 150),
        (EVERYONE,),
        "01",
        "24/7",
    ),
    Offer(
        ("210", "Pédiatrie"),
        MCO,
        ("160", "Unité de pédiatrie"),
        HC,
        (0, 18),
        (EVERYONE,),
        "01",
        "24/7",
    ),
    Offer(
        ("157", "Urgences polyvalentes hospitalières"),
        MCO,
        ("170", "Service d'urgences"),
        ("33", "Accueil des urgences"),
        (0, 150),
        (EVERYONE,),
        "01",
        "24/7",
    ),
    Offer(
        ("437", "Médecine générale"),
        MCO,
        ("110", "Unité de médecine"),
        CS,
        (0, 150),
        (EVERYONE,),
        "02",
        "weekdays",
    ),
    Offer(
        ("301", "Psychiatrie générale"),
        PSY,
        ("210", "Unité de psychiatrie"),
        HC,
        (16, 150),
        (EVERYONE,),
        "01",
        "24/7",
        psychiatry=True,
    ),
    Offer(
        ("302", "Psychiatrie de l'enfant et de l'adolescent"),
        PSY,
        ("211", "Unité de pédopsychiatrie"),
        CS,
        (0, 16),
        (EVERYONE,),
        "02",
        "weekdays",
        psychiatry=True,
    ),
    Offer(
        ("401", "Soins médicaux et de réadaptation polyvalents"),
        SMR,
        ("310", "Unité de soins médicaux et de réadaptation"),
        HC,
        (18, 150),
        (EVERYONE,),
        "01",
        "24/7",
    ),
)
_EHPAD_OFFERS = (
    Offer(
        ("510", "Hébergement permanent"),
        MS,
        ("521", "Hébergement pour personnes âgées"),
        INTERNAT,
        (60, 150),
        (ELDERLY,),
        "02",
        "24/7",
        residential=True,
    ),
    Offer(
        ("512", "Hébergement temporaire"),
        MS,
        ("523", "Hébergement temporaire personnes âgées"),
        INTERNAT,
        (60, 150),
        (ELDERLY,),
        "02",
        "24/7",
        residential=True,
    ),
    Offer(
        ("511", "Accueil de jour"),
        MS,
        ("522", "Accueil de jour personnes âgées"),
        DAY,
        (60, 150),
        (ELDERLY,),
        "02",
        "daytime",
    ),
)
_SSIAD_OFFERS = (
    Offer(
        ("520", "Soins infirmiers à domicile"),
        MS,
        ("531", "Service de soins à domicile"),
        HOME,
        (60, 150),
        (ELDERLY, DISABLED),
        "02",
        "weekdays",
        home_care=True,
    ),
)
_SAD_AIDE_OFFERS = (
    Offer(
        ("298", "Accompagnements pour vivre dans un logement"),
        MS,
        ("30", "Service d'aide et d'accompagnement à domicile (SAAD)"),
        MOBILE,
        (18, 150),
        (ELDERLY, DISABLED),
        "02",
        "weekdays",
        home_care=True,
    ),
    Offer(
        ("299", "Accompagnements pour accomplir les activités domestiques"),
        MS,
        ("30", "Service d'aide et d'accompagnement à domicile (SAAD)"),
        MOBILE,
        (18, 150),
        (ELDERLY, DISABLED),
        "02",
        "weekdays",
        home_care=True,
    ),
)
_SAD_MIXTE_OFFERS = _SSIAD_OFFERS + _SAD_AIDE_OFFERS[:1]
_IME_OFFERS = (
    Offer(
        ("601", "Accompagnement éducatif et thérapeutique"),
        MS,
        ("610", "Institut médico-éducatif"),
        INTERNAT,
        (3, 20),
        (DISABLED,),
        "02",
        "weekdays",
        residential=True,
    ),
    Offer(
        ("601", "Accompagnement éducatif et thérapeutique"),
        MS,
        ("611", "Externat médico-éducatif"),
        DAY,
        (3, 20),
        (DISABLED,),
        "02",
        "daytime",
    ),
)
_SESSAD_OFFERS = (
    Offer(
        ("602", "Accompagnement en milieu ordinaire de vie"),
        MS,
        ("612", "Service d'éducation spéciale et de soins à domicile"),
        HOME,
        (0, 20),
        (DISABLED,),
        "02",
        "weekdays",
        home_care=True,
    ),
)
_ESAT_OFFERS = (
    Offer(
        ("302", "Accompagnements pour préparer sa vie professionnelle"),
        MS,
        ("620", "Travail protégé"),
        DAY,
        (18, 62),
        (DISABLED,),
        "02",
        "daytime",
    ),
)
_MAS_OFFERS = (
    Offer(
        ("630", "Accueil et soins de personnes lourdement handicapées"),
        MS,
        ("631", "Maison d'accueil spécialisée"),
        INTERNAT,
        (18, 150),
        (DISABLED,),
        "02",
        "24/7",
        residential=True,
    ),
)
_FAM_OFFERS = (
    Offer(
        ("632", "Hébergement médicalisé adultes handicapés"),
        MS,
        ("633", "Foyer d'accueil médicalisé"),
        INTERNAT,
        (18, 150),
        (DISABLED,),
        "02",
        "24/7",
        residential=True,
    ),
)
_FOYER_VIE_OFFERS = (
    Offer(
        ("640", "Hébergement et animation de la vie sociale"),
        MS,
        ("641", "Foyer de vie"),
        INTERNAT,
        (18, 150),
        (DISABLED,),
        "02",
        "24/7",
        residential=True,
    ),
)
_FOYER_HEB_OFFERS = (
    Offer(
        ("298", "Accompagnements pour vivre dans un logement"),
        MS,
        ("642", "Foyer d'hébergement"),
        INTERNAT,
        (18, 62),
        (DISABLED,),
        "02",
        "24/7",
        residential=True,
    ),
)


@dataclass(frozen=True, slots=True)
class Category:
    """A geographic-entity category (TRE_R66) and the offers such an entity has."""

    code: str
    label: str
    prefix: str  # name prefix
    kind: str  # hospital | ehpad | home-care | disability
    offers: tuple[Offer, ...]
    weight: int
    legal_status: tuple[str, str]  # TRE_R72 statut juridique of the EJ


_PUBLIC = ("13", "Etablissement Public Communal d'Hospitalisation")
_ASSOC = ("60", "Association Loi 1901 non Reconnue d'Utilité Publique")

#: Geographic-entity categories (TRE_R66-CategorieEtablissement) of the generated offer.
CATEGORIES: tuple[Category, ...] = (
    Category(
        "355",
        "Centre Hospitalier (C.H.)",
        "CENTRE HOSPITALIER",
        "hospital",
        _HOSPITAL_OFFERS,
        5,
        _PUBLIC,
    ),
    Category(
        "101",
        "Centre Hospitalier Régional (C.H.R.)",
        "CHR",
        "hospital",
        _HOSPITAL_OFFERS,
        1,
        _PUBLIC,
    ),
    Category(
        "365",
        "Etablissement de Soins Pluridisciplinaire",
        "CLINIQUE",
        "hospital",
        _HOSPITAL_OFFERS[:3] + _HOSPITAL_OFFERS[8:],
        2,
        ("73", "Société Anonyme (S.A.)"),
    ),
    Category(
        "500",
        "Etablissement d'hébergement pour personnes âgées dépendantes",
        "EHPAD",
        "ehpad",
        _EHPAD_OFFERS,
        6,
        _ASSOC,
    ),
    Category(
        "354",
        "Service de Soins Infirmiers A Domicile (S.S.I.A.D)",
        "SSIAD",
        "home-care",
        _SSIAD_OFFERS,
        3,
        _ASSOC,
    ),
    Category(
        "460",
        "Service autonomie à domicile aide (ex-SAAD)",
        "SERVICE AUTONOMIE AIDE",
        "home-care",
        _SAD_AIDE_OFFERS,
        3,
        _ASSOC,
    ),
    Category(
        "209",
        "Service autonomie à domicile aide et soins (ex-SPASAD)",
        "SERVICE AUTONOMIE AIDE ET SOINS",
        "home-care",
        _SAD_MIXTE_OFFERS,
        2,
        _ASSOC,
    ),
    Category(
        "183", "Institut Médico-Educatif (I.M.E.)", "IME", "disability", _IME_OFFERS, 2, _ASSOC
    ),
    Category(
        "182",
        "Service d'Éducation Spéciale et de Soins à Domicile",
        "SESSAD",
        "disability",
        _SESSAD_OFFERS,
        2,
        _ASSOC,
    ),
    Category(
        "246",
        "Etablissement et Service d'Aide par le Travail (E.S.A.T.)",
        "ESAT",
        "disability",
        _ESAT_OFFERS,
        1,
        _ASSOC,
    ),
    Category(
        "255", "Maison d'Accueil Spécialisée (M.A.S.)", "MAS", "disability", _MAS_OFFERS, 1, _ASSOC
    ),
    Category(
        "437",
        "Foyer d'Accueil Médicalisé pour Adultes Handicapés (F.A.M.)",
        "FAM",
        "disability",
        _FAM_OFFERS,
        1,
        _ASSOC,
    ),
    Category(
        "382",
        "Foyer de Vie pour Adultes Handicapés",
        "FOYER DE VIE",
        "disability",
        _FOYER_VIE_OFFERS,
        1,
        _ASSOC,
    ),
    Category(
        "252",
        "Foyer Hébergement Adultes Handicapés",
        "FOYER D'HEBERGEMENT",
        "disability",
        _FOYER_HEB_OFFERS,
        1,
        _ASSOC,
    ),
)
_BY_CODE = {c.code: c for c in CATEGORIES}
_WEIGHTED = [c for c in CATEGORIES for _ in range(c.weight)]

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_STREETS = (
    ("RUE", "DE L'HOPITAL"),
    ("AV", "DE LA REPUBLIQUE"),
    ("BD", "JEAN JAURES"),
    ("RUE", "PASTEUR"),
    ("ALL", "DES TILLEULS"),
    ("RUE", "VICTOR HUGO"),
    ("CHE", "DES VIGNES"),
    ("PL", "DU MARCHE"),
)
_FIRST = ("Camille", "Dominique", "Claude", "Alix", "Sacha", "Morgan", "Lou", "Charlie")
_LAST = (
    "MARTIN",
    "BERNARD",
    "DUBOIS",
    "THOMAS",
    "ROBERT",
    "RICHARD",
    "PETIT",
    "DURAND",
    "LEROY",
    "MOREAU",
    "SIMON",
    "LAURENT",
)
_PROFESSIONS = (
    ("10", "Médecin"),
    ("60", "Infirmier"),
    ("70", "Masseur-Kinésithérapeute"),
    ("96", "Psychomotricien"),
)


@dataclass(slots=True)
class RorDataset:
    """The generated offer: resources by ``Type/id`` in a stable order, plus landmarks.

    ``landmarks`` name resources tests and documentation rely on (see
    :func:`generate_dataset`).
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


def luhn_key(digits: str) -> str:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


#: Pinned entities: (region, commune index, EG category, EJ FINESS, EG FINESS, name).
_PINNED = (
    ("24", 0, "500", "450000070", "450000088", "EHPAD LES TILLEULS"),
    ("24", 0, "354", "450000120", "450000096", "SSIAD DE L'ORLEANAIS"),
    ("24", 1, "183", "370000127", "370000119", "IME LES CEDRES"),
)


class _Generator:
    def __init__(self, seed: int, scale: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
        self.scale = scale
        self.data = RorDataset()
        self.start = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
        self.span = int((dt.datetime(2025, 6, 30, tzinfo=dt.UTC) - self.start).total_seconds())
        self.counters = {"org": 0, "hcs": 0, "loc": 0, "role": 0, "pract": 0}
        self.used_finess: set[str] = {p[3] for p in _PINNED} | {p[4] for p in _PINNED}
        self.practitioners: list[dict[str, Any]] = []

    # -- small helpers --------------------------------------------------------------------

    def stamp(self, *, after: dt.datetime | None = None) -> str:
        start = after or self.start
        span = max(1, int((dt.datetime(2025, 6, 30, tzinfo=dt.UTC) - start).total_seconds()))
        moment = start + dt.timedelta(seconds=self.rng.randrange(span))
        return moment.isoformat(timespec="milliseconds")

    def created(self) -> dict[str, Any]:
        moment = dt.datetime(2016, 1, 1, tzinfo=dt.UTC) + dt.timedelta(
            seconds=self.rng.randrange(7 * 365 * 86400)
        )
        return {
            "url": SD + "ror-meta-creation-date",
            "valueDateTime": moment.isoformat(timespec="seconds"),
        }

    def meta(self, profile: str, region: str) -> dict[str, Any]:
        return {
            "lastUpdated": self.stamp(),
            "profile": [SD + profile],
            "tag": [{"system": REGION_SYSTEM, "code": region}],
        }

    def add(self, resource: dict[str, Any]) -> dict[str, Any]:
        self.data.resources[f"{resource['resourceType']}/{resource['id']}"] = resource
        return resource

    def finess(self, dept: str) -> str:
        while True:
            body = dept[:2] + f"{self.rng.randrange(10**6):06d}"
            number = body + luhn_key(body)
            if number not in self.used_finess:
                self.used_finess.add(number)
                return number

    def address(self, commune: Commune) -> dict[str, Any]:
        number = str(1 + self.rng.randrange(120))
        kind, base = _STREETS[self.rng.randrange(len(_STREETS))]
        return {
            "line": [f"{number} {kind} {base}", f"{commune.postal_code} {commune.name.upper()}"],
            "_line": [
                {
                    "extension": [
                        {"url": ADXP + "houseNumber", "valueString": number},
                        {"url": ADXP + "streetNameType", "valueString": kind},
                        {"url": ADXP + "streetNameBase", "valueString": base},
                    ]
                },
                None,
            ],
            "city": commune.name.upper(),
            "postalCode": commune.postal_code,
        }

    def phone(self) -> str:
        return (
            "0"
            + str(1 + self.rng.randrange(5))
            + "".join(str(self.rng.randrange(10)) for _ in range(8))
        )

    def telecom_ext(self, channel: tuple[str, str], level: tuple[str, str]) -> list[Any]:
        return [
            coded(
                SD + "ror-telecom-communication-channel", "TRE_R200-CanalCommunication", *channel
            ),
            coded(
                SD + "ror-telecom-confidentiality-level", "TRE_R283-NiveauConfidentialite", *level
            ),
        ]

    # -- organisations --------------------------------------------------------------------

    def organization(
        self,
        name: str,
        region: str,
        identifiers: list[dict[str, Any]],
        types: list[dict[str, Any]],
        part_of: str | None,
        *,
        extra: list[dict[str, Any]] = (),  # type: ignore[assignment]
        address: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        self.counters["org"] += 1
        org: dict[str, Any] = {
            "resourceType": "Organization",
            "id": str(100000 + self.counters["org"]),
            "meta": self.meta("ror-organization", region),
            "extension": [self.created(), *extra],
            "identifier": identifiers,
            "active": True,
            "type": types,
            "name": name,
        }
        if address is not None:
            org["address"] = [address]
        if part_of:
            org["partOf"] = {"reference": part_of}
        return self.add(org)

    def eg_extensions(self, category: Category, rng: random.Random) -> list[dict[str, Any]]:
        ext: list[dict[str, Any]] = []
        if category.kind == "hospital":
            ext.append(
                {"url": SD + "ror-organization-drop-zone", "valueBoolean": rng.random() < 0.4}
            )
        if category.kind == "ehpad":
            ext.extend(self.prices(rng))
        if rng.random() < 0.04:  # a closure: the EG is closed or will close
            end = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(900))
            kind = (
                ("01", "Fermeture définitive")
                if rng.random() < 0.5
                else ("02", "Fermeture provisoire")
            )
            ext.append(coded(SD + "ror-organization-closing-type", "TRE_R286-TypeFermeture", *kind))
            ext.append(
                {
                    "url": SD + "ror-organization-period",
                    "extension": [
                        {
                            "url": "period",
                            "valuePeriod": {"start": "2005-01-01", "end": end.isoformat()},
                        },
                        coded("closingType", "TRE_R286-TypeFermeture", *kind),
                    ],
                }
            )
        return ext

    def prices(self, rng: random.Random) -> list[dict[str, Any]]:
        """EHPAD prices: accommodation per room type and stay, dependency per GIR group."""
        start = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(120))
        base = 62 + rng.randrange(40) + rng.randrange(100) / 100

        def price(kind: tuple[str, str], amount: float, *parts: dict[str, Any]) -> dict[str, Any]:
            return {
                "url": SD + "ror-organization-price",
                "extension": [
                    coded("priceType", "TRE_R246-TypeTarif", *kind),
                    coded("priceUnit", "TRE_R228-UnitePrix", "01", "Par jour"),
                    {"url": "amount", "valueMoney": {"value": round(amount, 2), "currency": "EUR"}},
                    {"url": "startDate", "valueDateTime": start.isoformat()},
                    *parts,
                ],
            }

        out = []
        for room, extra in (
            (("01", "Chambre individuelle"), 0.0),
            (("02", "Chambre double"), -9.5),
        ):
            for welcome, plus in (
                (("01", "Hébergement permanent"), 0.0),
                (("02", "Hébergement temporaire"), 4.0),
            ):
                out.append(
                    price(
                        ("02", "Forfait socle hébergement"),
                        base + extra + plus,
                        coded("residentialType", "TRE_R242-TypeHabitation", *room),
                        coded("welcomeType", "TRE_R240-TemporaliteAccueil", *welcome),
                        coded(
                            "specialPrice",
                            "TRE_R250-ConditionTarifaire",
                            *(
                                ("01", "Habilité à l'aide sociale")
                                if rng.random() < 0.5
                                else ("02", "Non habilité à l'aide sociale")
                            ),
                        ),
                        {"url": "under60", "valueBoolean": False},
                    )
                )
        for gir, amount in (
            (("01", "GIR 1-2"), 21.0),
            (("02", "GIR 3-4"), 13.3),
            (("03", "GIR 5-6"), 5.7),
        ):
            out.append(
                price(
                    ("03", "Dépendance"),
                    amount + rng.randrange(300) / 100,
                    coded("dependencyLevel", "TRE_R237-NiveauDependance", *gir),
                    coded(
                        "welcomeType", "TRE_R240-TemporaliteAccueil", "01", "Hébergement permanent"
                    ),
                )
            )
        return out

    # -- services and locations -----------------------------------------------------------

    def available_time(self, offer: Offer, rng: random.Random) -> list[dict[str, Any]]:
        since = (dt.date(2020, 1, 1) + dt.timedelta(days=rng.randrange(1800))).isoformat()
        if offer.hours == "24/7":
            days, start, end, kind = 7, "00:00:00", "23:59:00", ("01", "Horaire d'ouverture")
        elif offer.hours == "weekdays":
            days, start, end, kind = 5, "08:30:00", "18:00:00", ("02", "Horaire de fonctionnement")
        else:
            days, start, end, kind = 5, "09:30:00", "17:00:00", ("01", "Horaire d'ouverture")
        out = []
        for number in range(1, days + 1):
            out.append(
                {
                    "extension": [
                        {
                            "url": SD + "ror-available-time-number-days-of-week",
                            "valueInteger": number,
                        },
                        {
                            "url": SD + "ror-available-time-effective-opening-closing-date",
                            "valuePeriod": {"start": since},
                        },
                        coded(
                            SD + "ror-available-time-type-of-time", "TRE_R252-TypeHoraire", *kind
                        ),
                    ],
                    "daysOfWeek": [_DAYS[number - 1]],
                    "availableStartTime": start,
                    "availableEndTime": end,
                }
            )
        return out

    def contacts(self, rng: random.Random) -> list[dict[str, Any]]:
        out = []
        for purpose, level in (
            (("06", "Standard"), ("1", "Accès libre")),
            (("01", "Accueil"), ("2", "Accès restreint")),
        ):
            if purpose[0] == "01" and rng.random() < 0.5:
                continue
            telecoms = [
                {
                    "url": SD + "ror-healthcareservice-contact-telecom",
                    "extension": [
                        *self.telecom_ext(("2", "Téléphone fixe"), level),
                        {"url": "telecomAddress", "valueString": self.phone()},
                    ],
                }
            ]
            if purpose[0] == "06" and rng.random() < 0.5:
                telecoms.append(
                    {
                        "url": SD + "ror-healthcareservice-contact-telecom",
                        "extension": [
                            *self.telecom_ext(("3", "Courrier électronique"), ("1", "Accès libre")),
                            {
                                "url": "telecomAddress",
                                "valueString": f"contact{rng.randrange(1000)}@structure.mssante.fr",
                            },
                        ],
                    }
                )
            parts: list[dict[str, Any]] = [
                coded("purposeContact", "TRE_R287-NatureContact", *purpose),
                coded(SD + "ror-confidentiality-level", "TRE_R283-NiveauConfidentialite", *level),
                *telecoms,
            ]
            if purpose[0] == "01":
                parts.insert(
                    0,
                    {
                        "url": "name",
                        "valueHumanName": {
                            "family": _LAST[rng.randrange(len(_LAST))],
                            "given": [_FIRST[rng.randrange(len(_FIRST))]],
                        },
                    },
                )
            out.append({"url": SD + "ror-healthcareservice-contact", "extension": parts})
        return out

    def zone(self, region: str, commune: Commune, rng: random.Random) -> list[dict[str, Any]]:
        """The communes a home-care service covers: its own and those within ~15 km."""
        near = [
            c
            for c in REGIONS[region][1]
            if c.cog != commune.cog
            and distance_km(c.latitude, c.longitude, commune.latitude, commune.longitude) < 15
        ]
        covered = [commune] + [c for c in near if rng.random() < 0.7]
        return [
            {
                "url": SD + "ror-territorial-division",
                "extension": [
                    coded(
                        "typeTerritorialDivision",
                        "TRE_R201-TypeDivisionTerritoriale",
                        "3",
                        "Commune",
                    ),
                    coded("codeTerritorialDivision", "TRE_R13-CommuneOM", c.cog, c.name),
                ],
            }
            for c in covered
        ]

    def location(
        self,
        region: str,
        commune: Commune,
        offer: Offer,
        sync_id: str,
        rng: random.Random,
    ) -> dict[str, Any]:
        self.counters["loc"] += 1
        n = self.counters["loc"]
        when = self.stamp()
        installed = 5 + rng.randrange(40)
        cap_type = offer.capacity_type
        nature = ("01", "Lit") if cap_type == "01" else ("02", "Place")

        def indicator(status: tuple[str, str], count: int, *extra: dict[str, Any]) -> Any:
            return {
                "url": CAPACITY,
                "extension": [
                    *extra,
                    {"url": "nbCapacity", "valueInteger": count},
                    {"url": "capacityUpdateDate", "valueDateTime": when},
                    coded("capacityStatus", "TRE_R330-TypeStatutCapacite", *status),
                    coded("capacityType", "TRE_R329-NatureCapacite", *nature),
                    coded("temporalityCapacity", "TRE_R331-TemporaliteCapacite", "01", "Courant"),
                    coded(
                        "capacitySourceType", "TRE_R335-TypeSourceCapacite", "01", "Saisie manuelle"
                    ),
                    coded("temporaryAssignement", "TRE_R337-AffectationTemporaire", "01", "Aucune"),
                ],
            }

        capacities = [indicator(("01", "Installé"), installed)]
        free = rng.randrange(0, max(1, installed // 3))
        genders: list[tuple[str, str]] = [("01", "Femme"), ("02", "Homme"), ("03", "Indifférencié")]
        for gender in genders:
            share = free if gender[0] == "03" else rng.randrange(0, 3)
            capacities.append(
                indicator(
                    ("02", "Disponible"),
                    share,
                    coded("genderCapacityAvailable", "TRE_R332-GenreCapacite", *gender),
                )
            )
        if cap_type == "01" and rng.random() < 0.5:
            crisis = (
                ("02", "Situation sanitaire Exceptionnelle (SSE) (Plan blanc)")
                if rng.random() < 0.6
                else ("01", "Tension hospitalière")
            )
            capacities.append(
                indicator(
                    ("06", "Supplémentaire"),
                    rng.randrange(0, 4),
                    coded(
                        "additionalBedType",
                        "TRE_R334-TypeLitSupplementaire",
                        "03",
                        "Mobilisable avec ressources humaines",
                    ),
                    coded("crisisType", "TRE_R336-TypeCrise", *crisis),
                )
            )
        if rng.random() < 0.08:
            capacities.append(
                indicator(
                    ("05", "Fermé"),
                    rng.randrange(1, 5),
                    coded(
                        "capacityClosingType",
                        "TRE_R333-TypeFermetureCapacite",
                        "01",
                        "Fermeture pour travaux",
                    ),
                )
            )
        extension: list[dict[str, Any]] = [
            coded(SD + "ror-commune-cog", "TRE_R13-CommuneOM", commune.cog, commune.name),
            *capacities,
        ]
        if offer.residential:
            for room, portion in (
                (("01", "Chambre individuelle"), 0.8),
                (("02", "Chambre double"), 0.2),
            ):
                extension.append(
                    {
                        "url": SD + "ror-location-residential-capacity",
                        "extension": [
                            coded("residentialType", "TRE_R242-TypeHabitation", *room),
                            {
                                "url": "residentialNumber",
                                "valueInteger": max(1, int(installed * portion)),
                            },
                        ],
                    }
                )
        if offer.champ in (MCO, SMR) and cap_type == "01" and rng.random() < 0.6:
            extension.append(
                {
                    "url": SD + "ror-location-equipment",
                    "extension": [
                        coded("equipmentType", "TRE_R212-Equipement", "45", "Lit bariatrique"),
                        {"url": "nbInService", "valueInteger": 1 + rng.randrange(4)},
                        {
                            "url": SD + "ror-location-equipment-limit",
                            "extension": [
                                coded(
                                    "equipmentFeature",
                                    "TRE_R340-TypeCaracteristiqueEquipement",
                                    "01",
                                    "Poids maximal",
                                ),
                                {
                                    "url": "limitValue",
                                    "valueQuantity": {
                                        "value": 150 + 25 * rng.randrange(8),
                                        "unit": "kg",
                                        "system": UCUM,
                                        "code": "kg",
                                    },
                                },
                            ],
                        },
                    ],
                }
            )
        extension.append(self.created())
        status = ("OP", "Opérationnel")
        roll = rng.random()
        if roll < 0.04:
            status = ("FT", "Fermé temporairement")
        elif roll < 0.06:
            status = ("FD", "Fermé définitivement")
        kind = (
            ("001", "Hébergement") if offer.residential or cap_type == "01" else ("002", "Accueil")
        )
        return self.add(
            {
                "resourceType": "Location",
                "id": str(700000 + n),
                "meta": self.meta("ror-location", region),
                "extension": extension,
                "identifier": [
                    {
                        "type": cc(
                            "TRE_R354-TypeIdentifiantRessourceOperationnelle",
                            "25",
                            "Identifiant du lieu de réalisation de l'offre connu par "
                            "l'instance ROR",
                        ),
                        "value": f"{region}/{n}",
                    },
                    {
                        "type": cc(
                            "TRE_R354-TypeIdentifiantRessourceOperationnelle",
                            "26",
                            "Identifiant externe de synchronisation",
                        ),
                        "value": sync_id,
                    },
                ],
                "status": "inactive" if status[0] == "FD" else "active",
                "operationalStatus": {
                    "system": nos("TRE_R203-StatutLieu"),
                    "code": status[0],
                    "display": status[1],
                },
                "name": f"{offer.specialty[1].upper()} - {offer.category[1].upper()}",
                "type": [cc("TRE_R343-FonctionLieu", *kind)],
                "address": self.address(commune),
                "position": {
                    "extension": [
                        {
                            "url": SD + "ror-coordinate-reliability",
                            "valueBoolean": rng.random() < 0.9,
                        }
                    ],
                    "longitude": round(commune.longitude + rng.uniform(-0.03, 0.03), 6),
                    "latitude": round(commune.latitude + rng.uniform(-0.03, 0.03), 6),
                },
            }
        )

    def service(
        self,
        region: str,
        commune: Commune,
        offer: Offer,
        provider: dict[str, Any],
        location: dict[str, Any],
        rng: random.Random,
        *,
        dept: str,
    ) -> dict[str, Any]:
        self.counters["hcs"] += 1
        hcs_id = str(1000000 + self.counters["hcs"])
        low, high = offer.ages
        extension: list[dict[str, Any]] = [
            {"url": SD + "ror-healthcareservice-sensitive-unit", "valueBoolean": False},
            {
                "url": SD + "ror-healthcareservice-patient-type",
                "extension": [
                    *(
                        coded("supportedPatientInfo", "TRE_R239-PublicPrisEnCharge", *public)
                        for public in offer.publics
                    ),
                    {
                        "url": "ageRange",
                        "valueRange": {
                            "low": {
                                "value": low,
                                "system": nos("TRE_R247-UcumUniteMesure"),
                                "code": "a",
                            },
                            "high": {
                                "value": high,
                                "system": nos("TRE_R247-UcumUniteMesure"),
                                "code": "a",
                            },
                        },
                    },
                ],
            },
            self.created(),
            *self.contacts(rng),
        ]
        if offer.home_care:
            extension.extend(self.zone(region, commune, rng))
        if offer.psychiatry:
            kind = "I" if offer.ages[1] <= 18 else "G"
            extension.append(
                {
                    "url": SD + "ror-healthcareservice-psychiatric-sector",
                    "valueString": f"{dept}{kind}{1 + rng.randrange(12):02d}",
                }
            )
        mode = offer.mode
        if offer.champ == MCO and mode == HC and rng.random() < 0.3:
            mode = ("29", "Hospitalisation de jour (HJ)")
        service: dict[str, Any] = {
            "resourceType": "HealthcareService",
            "id": hcs_id,
            "meta": self.meta("ror-healthcareservice", region),
            "extension": extension,
            "identifier": [
                {
                    "type": cc(
                        "TRE_R355-TypeIdentifiantOffre",
                        "35",
                        "Identifiant fonctionnel de l'offre connu par l'instance ROR",
                    ),
                    "value": f"{region}/{self.counters['hcs']:07d}",
                }
            ],
            "providedBy": {"reference": f"Organization/{provider['id']}"},
            "category": [cc("TRE_R244-CategorieOrganisation", *offer.category)],
            "type": [cc("TRE_R227-ChampActivite", *offer.champ)],
            "specialty": [cc("TRE_R211-ActiviteOperationnelle", *offer.specialty)],
            "location": [{"reference": f"Location/{location['id']}"}],
            "name": f"{offer.specialty[1]} - {mode[1].upper()}",
            "characteristic": [cc("TRE_R213-ModePriseEnCharge", *mode)],
            "availableTime": self.available_time(offer, rng),
        }
        if rng.random() < 0.05:  # closed for a while (works, summer)
            start = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(300))
            service["notAvailable"] = [
                {
                    "id": "closingReopeningDate",
                    "description": "Fermeture temporaire",
                    "during": {
                        "start": start.isoformat(),
                        "end": (start + dt.timedelta(days=14 + rng.randrange(60))).isoformat(),
                    },
                }
            ]
        return self.add(service)

    def roles(
        self, region: str, service: dict[str, Any], provider: dict[str, Any], rng: random.Random
    ) -> None:
        for _ in range(1 + rng.randrange(2)):
            if self.practitioners and rng.random() < 0.2:
                practitioner = self.practitioners[rng.randrange(len(self.practitioners))]
            else:
                practitioner = self.practitioner(region, rng)
            self.counters["role"] += 1
            profession = _PROFESSIONS[rng.randrange(len(_PROFESSIONS))]
            name = practitioner["name"][0]
            self.add(
                {
                    "resourceType": "PractitionerRole",
                    "id": str(900000 + self.counters["role"]),
                    "meta": self.meta("ror-practitionerrole", region),
                    "extension": [
                        self.created(),
                        {
                            "url": SD + "ror-practitionerrole-name",
                            "extension": [
                                {"url": "exerciseFirstName", "valueString": name["given"][0]},
                                {"url": "exerciseLastName", "valueString": name["family"]},
                            ],
                        },
                        coded(
                            SD + "ror-practitionerrole-unit-exercise-mode",
                            "TRE_R23-ModeExercice",
                            "S",
                            "Salarié",
                        ),
                    ],
                    "identifier": [{"value": f"1{rng.randrange(10**10):010d}"}],
                    "active": True,
                    "practitioner": {"reference": f"Practitioner/{practitioner['id']}"},
                    "organization": {"reference": f"Organization/{provider['id']}"},
                    "healthcareService": [{"reference": f"HealthcareService/{service['id']}"}],
                    "code": [cc("TRE_G15-ProfessionSante", *profession)],
                }
            )

    def practitioner(self, region: str, rng: random.Random) -> dict[str, Any]:
        self.counters["pract"] += 1
        n = self.counters["pract"]
        family = _LAST[rng.randrange(len(_LAST))]
        given = _FIRST[rng.randrange(len(_FIRST))]
        resource = self.add(
            {
                "resourceType": "Practitioner",
                "id": str(800000 + n),
                "meta": self.meta("ror-practitioner", region),
                "extension": [self.created()],
                "identifier": [{"system": ID_NAT_PS, "value": f"810{100000000 + n * 7:09d}"[:12]}],
                "active": True,
                "name": [{"family": family, "given": [given]}],
                "telecom": [
                    {
                        "system": "email",
                        "value": f"{given.lower()}.{family.lower()}{n}@structure.mssante.fr",
                        "extension": self.telecom_ext(
                            ("3", "Courrier électronique"), ("2", "Accès restreint")
                        ),
                    }
                ],
            }
        )
        self.practitioners.append(resource)
        return resource

    # -- one legal entity -----------------------------------------------------------------

    def entity(
        self,
        region: str,
        commune: Commune,
        category: Category,
        number: int,
        *,
        pinned: tuple[str, str, str] | None = None,
    ) -> dict[str, Any]:
        rng = self.rng
        dept = commune.cog[:2] if not commune.cog.startswith("97") else "97"
        ej_finess, eg_finess, pinned_name = pinned or (self.finess(dept), self.finess(dept), "")
        ej_name = pinned_name or f"{category.prefix} {commune.name.upper()} {number}"
        legal_name = ej_name if category.kind != "hospital" else f"GROUPEMENT {ej_name}"
        ej = self.organization(
            legal_name if not pinned else f"ASSOCIATION {ej_name}",
            region,
            [
                {"system": FINESS, "value": ej_finess},
                {"system": ID_NAT_STRUCT, "value": "1" + ej_finess},
            ],
            [cc("TRE_R72-FinessStatutJuridique", *category.legal_status)],
            None,
            address=self.address(commune),
        )
        sites = 1 if pinned or category.kind != "hospital" else 1 + rng.randrange(2)
        first_eg: dict[str, Any] = {}
        for g in range(sites):
            eg_number = eg_finess if g == 0 else self.finess(dept)
            eg_id = "1" + eg_number
            eg = self.organization(
                ej_name if sites == 1 else f"{ej_name} - SITE {g + 1}",
                region,
                [{"system": FINESS, "value": eg_number}, {"system": ID_NAT_STRUCT, "value": eg_id}],
                [cc("TRE_R66-CategorieEtablissement", category.code, category.label)],
                f"Organization/{ej['id']}",
                extra=self.eg_extensions(category, rng),
                address=self.address(commune),
            )
            eg["contact"] = [
                {
                    "extension": [
                        coded(
                            SD + "ror-contact-confidentiality-level",
                            "TRE_R283-NiveauConfidentialite",
                            "1",
                            "Accès libre",
                        )
                    ],
                    "purpose": cc("TRE_R287-NatureContact", "06", "Standard"),
                    "telecom": [
                        {
                            "system": "phone",
                            "value": self.phone(),
                            "extension": self.telecom_ext(
                                ("2", "Téléphone fixe"), ("1", "Accès libre")
                            ),
                        }
                    ],
                }
            ]
            first_eg = first_eg or eg
            units = [eg]
            if category.kind == "hospital":
                units.append(
                    self.organization(
                        f"PÔLE {g + 1} {ej_name}",
                        region,
                        [{"system": ID_NAT_STRUCT, "value": f"{eg_id}-P{g + 1}"}],
                        [cc("TRE_R207-TypeOrganisationInterne", "01", "Pôle")],
                        f"Organization/{eg['id']}",
                    )
                )
            offers = list(category.offers)
            rng.shuffle(offers)
            count = len(offers) if category.kind != "hospital" else 2 + rng.randrange(4)
            for s in range(min(count, len(offers)) if category.kind != "hospital" else count):
                offer = offers[s % len(offers)]
                unit_code = ("UF", "SERVICE", "UNITE")[s % 3]
                sync_id = f"{eg_id}/{unit_code}{self.counters['loc'] + 1:05d}"
                if pinned and s == 0 and category.code == "500":
                    sync_id = f"{eg_id}/UF1234"
                location = self.location(region, commune, offer, sync_id, rng)
                provider = units[rng.randrange(len(units))]
                service = self.service(region, commune, offer, provider, location, rng, dept=dept)
                if self.counters["hcs"] % 3 == 0 or (pinned and s == 0):
                    self.roles(region, service, provider, rng)
        return first_eg

    def run(self) -> RorDataset:
        for region, (_name, communes) in REGIONS.items():
            per_region = max(1, self.scale // 8) if region == "06" else self.scale
            for n in range(per_region):
                commune = communes[n % len(communes)]
                category = _WEIGHTED[self.rng.randrange(len(_WEIGHTED))]
                self.entity(region, commune, category, n + 1)
                if region == "24" and n == 0:
                    self.pinned(region, communes)
        self.duplicate_sync_id()
        self.find_landmarks()
        return self.data

    def pinned(self, region: str, communes: tuple[Commune, ...]) -> None:
        marks = self.data.landmarks
        for pin_region, index, code, ej_finess, eg_finess, name in _PINNED:
            if pin_region != region:
                continue
            eg = self.entity(
                region, communes[index], _BY_CODE[code], 0, pinned=(ej_finess, eg_finess, name)
            )
            key = {"500": "ehpad", "354": "ssiad", "183": "ime"}[code]
            marks[f"{key}_finess"] = eg_finess
            marks[f"{key}_id"] = eg["id"]
            marks[f"{key}_ej_finess"] = ej_finess
        marks.update(
            ej_finess="450000070",
            eg_finess="450000088",
            eg_id_nat_struct="1450000088",
            eg_id=marks["ehpad_id"],
            location_sync_id="1450000088/UF1234",
            commune="45234",
            region="24",
        )
        ehpad = self.data.resources[f"Organization/{marks['ehpad_id']}"]
        marks["ej_id"] = ehpad["partOf"]["reference"].split("/")[1]

    def duplicate_sync_id(self) -> None:
        """Two locations of region 24 share one synchronisation id (a 412 for the PATCH)."""
        locations = [
            r
            for r in self.data.of_type("Location")
            if r["meta"]["tag"][0]["code"] == "24"
            and not r["identifier"][1]["value"].endswith("/UF1234")
        ]
        index = min(20, len(locations) - 2)
        first, second = locations[index], locations[index + 1]
        second["identifier"][1]["value"] = first["identifier"][1]["value"]
        self.data.landmarks["duplicate_sync_id"] = first["identifier"][1]["value"]

    def find_landmarks(self) -> None:
        marks = self.data.landmarks
        [location] = [
            r
            for r in self.data.of_type("Location")
            if r["identifier"][1]["value"] == marks["location_sync_id"]
        ]
        marks["location_id"] = location["id"]
        services = [
            r
            for r in self.data.of_type("HealthcareService")
            if r["location"][0]["reference"] == f"Location/{location['id']}"
        ]
        marks["ehpad_service_id"] = services[0]["id"]
        ssiad = [
            r
            for r in self.data.of_type("HealthcareService")
            if r["providedBy"]["reference"] == f"Organization/{marks['ssiad_id']}"
        ]
        marks["ssiad_service_id"] = ssiad[0]["id"]
        marks["intervention_commune"] = "45232"  # Olivet, covered by the SSIAD of Orléans
        roles = [
            r
            for r in self.data.of_type("PractitionerRole")
            if r["healthcareService"][0]["reference"]
            == f"HealthcareService/{marks['ehpad_service_id']}"
        ]
        marks["service_with_roles"] = marks["ehpad_service_id"] if roles else ""
        marks["practitioner_id"] = roles[0]["practitioner"]["reference"].split("/")[1]
        marks["practitioner_role_identifier"] = roles[0]["identifier"][0]["value"]


def generate_dataset(seed: int = 6, *, scale: int = 60) -> RorDataset:
    """Generate the offer: ``scale`` legal entities per region (Mayotte: an eighth).

    Landmarks: ``ehpad_finess`` / ``eg_finess`` (``450000088``, EHPAD LES TILLEULS in
    Orléans) and its ``ej_finess`` (``450000070``), ``eg_id_nat_struct``,
    ``location_sync_id`` (``1450000088/UF1234``), ``location_id``, ``ehpad_service_id``
    (with practitioners: ``practitioner_id``, ``practitioner_role_identifier``),
    ``ssiad_finess`` (``450000096``) and ``ssiad_service_id`` (covers Orléans and
    ``intervention_commune`` Olivet), ``ime_finess`` (``370000119``, Tours),
    ``duplicate_sync_id`` (two locations), ``commune`` (45234), ``region`` (24).
    """
    return _Generator(seed, scale).run()
