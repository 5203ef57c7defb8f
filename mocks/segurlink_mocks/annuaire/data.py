"""The Annuaire Santé mock's directory: professionals, exercise situations, organisations.

Written from the Annuaire Santé implementation guide's examples (FHIR R4 JSON), not from
segurlink's reader. The named entries are the mocks' other test persons and structures,
so an address found here can then receive a message on the MSSanté mock:

* Paul MEDECIN-TEST (RPPS 10001234567, the PSC mock's default professional): PER
  ``paul.medecin-test@segurlink-test.mssante.fr`` and CAB ``cabinet.paix@...`` on his
  Practitioner, with an ordinary e-mail beside them; an exercise situation at HOPITAL
  SEGURLINK without a mailbox;
* Claire INFIRMIERE-TEST (RPPS 10009876543): PER ``claire.infirmiere-test@...`` on her
  Practitioner *and* on her exercise situation at EHPAD SEGURLINK TEST (one address,
  two holders);
* Robert PHARMACIEN-TEST (RPPS 10005555555): PER ``dr.destinataire@hopital-test...`` on
  his exercise situation at HOPITAL SEGURLINK;
* Louise KINE-TEST, known by ADELI 751234567: PER on her Practitioner;
* Jeanne DISCRET-TEST (RPPS 10007777777): her PER mailbox is on the red list;
* EHPAD SEGURLINK TEST (FINESS 010000016): ORG ``secretariat@``, APP ``dui-ehpad@``, a
  red-listed ORG ``direction@`` and an ordinary e-mail; HOPITAL SEGURLINK (FINESS
  010000024): APP ``integration@hopital-test...`` and an MSSanté address the directory
  gives no type for.

Generated beside them (deterministic): 64 practitioners named MARTIN (PER on the
Practitioner, every 7th also a CAB, every 8th red-listed, every 5th an exercise
situation with its own PER), and 55 more EHPADs (an ORG mailbox each, every 3rd an APP,
every 10th ORG red-listed): enough for every search of them to need paging at 50 a page.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "API_KEY",
    "APP_ADDRESS",
    "CAB_ADDRESS",
    "CLAIRE_ADDRESS",
    "CLAIRE_RPPS",
    "EHPAD_FINESS",
    "HOPITAL_FINESS",
    "INTEGRATION_ADDRESS",
    "JEANNE_RPPS",
    "LOUISE_ADELI",
    "MARTIN_COUNT",
    "ORG_ADDRESS",
    "PAUL_ADDRESS",
    "PAUL_RPPS",
    "RED_LISTED",
    "ROBERT_ADDRESS",
    "directory",
]

#: The ``ESANTE-API-KEY`` the mock accepts (a test credential).
API_KEY = "segurlink-annuaire-test-key"

LOCAL = "segurlink-test.mssante.fr"
REMOTE = "hopital-test.mssante.fr"
PAUL_RPPS = "10001234567"
CLAIRE_RPPS = "10009876543"
ROBERT_RPPS = "10005555555"
JEANNE_RPPS = "10007777777"
LOUISE_ADELI = "751234567"
EHPAD_FINESS = "010000016"
HOPITAL_FINESS = "010000024"
PAUL_ADDRESS = f"paul.medecin-test@{LOCAL}"
CAB_ADDRESS = f"cabinet.paix@{LOCAL}"
CLAIRE_ADDRESS = f"claire.infirmiere-test@{LOCAL}"
ORG_ADDRESS = f"secretariat@{LOCAL}"
APP_ADDRESS = f"dui-ehpad@{LOCAL}"
ROBERT_ADDRESS = f"dr.destinataire@{REMOTE}"
INTEGRATION_ADDRESS = f"integration@{REMOTE}"
MARTIN_COUNT = 64

_EMAIL_TYPE = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-contact-point-email-type"
_METADATA = "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-ext-mailbox-mss-metadata"
_TRE_R256 = "https://mos.esante.gouv.fr/NOS/TRE_R256-TypeMessagerie/FHIR/TRE-R256-TypeMessagerie"
_TRE_R257 = "https://mos.esante.gouv.fr/NOS/TRE_R257-TypeBAL/FHIR/TRE-R257-TypeBAL"
_ID_NAT_PS = "urn:oid:1.2.250.1.71.4.2.1"
_ID_NAT_STRUCT = "urn:oid:1.2.250.1.71.4.2.2"
_RPPS = "https://rpps.esante.gouv.fr"
_FINESS = "https://finess.esante.gouv.fr"
_V2_0203 = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203"
_PROFILE = "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/"
_UPDATED = "2025-10-17T14:30:00.000+02:00"
_GIVEN = ("Anne", "Bruno", "Chloé", "Denis", "Élise", "Fabrice", "Gaëlle", "Hugo")
_PLACES = ("LES JARDINS", "LE VERGER", "LES TILLEULS", "BEL AIR", "LA SOURCE")


def _luhn_key(digits: str) -> str:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


def _mss(
    address: str,
    kind: str | None,
    *,
    red_list: bool = False,
    description: str = "",
    service: str = "",
    metadata: bool = True,
) -> dict[str, Any]:
    """An MSSanté telecom as the Annuaire Santé shapes it (profile as-mailbox-mss)."""
    extensions: list[dict[str, Any]] = [
        {"url": _EMAIL_TYPE, "valueCoding": {"system": _TRE_R256, "code": "MSSANTE"}}
    ]
    if metadata:
        sub: list[dict[str, Any]] = []
        if kind is not None:
            sub.append(
                {
                    "url": "type",
                    "valueCodeableConcept": {"coding": [{"system": _TRE_R257, "code": kind}]},
                }
            )
        if description:
            sub.append({"url": "description", "valueString": description})
        if service:
            sub.append({"url": "service", "valueString": service})
        sub.append({"url": "digitization", "valueBoolean": kind in ("PER", "APP")})
        sub.append({"url": "listeRouge", "valueBoolean": red_list})
        extensions.append({"url": _METADATA, "extension": sub})
    return {"extension": extensions, "system": "email", "value": address}


def _plain_email(address: str) -> dict[str, Any]:
    return {"system": "email", "value": address}


def _meta(profile: str) -> dict[str, Any]:
    return {"lastUpdated": _UPDATED, "profile": [_PROFILE + profile]}


def _practitioner(
    resource_id: str,
    family: str,
    given: str,
    *,
    rpps: str = "",
    adeli: str = "",
    telecom: Iterable[dict[str, Any]] = (),
) -> dict[str, Any]:
    identifiers = [
        {
            "use": "official",
            "type": {"coding": [{"system": _V2_0203, "code": "IDNPS"}]},
            "system": _ID_NAT_PS,
            "value": "8" + rpps if rpps else "0" + adeli,
        }
    ]
    if rpps:
        identifiers.append(
            {
                "use": "official",
                "type": {"coding": [{"system": _V2_0203, "code": "RPPS"}]},
                "system": _RPPS,
                "value": rpps,
            }
        )
    resource: dict[str, Any] = {
        "resourceType": "Practitioner",
        "id": resource_id,
        "meta": _meta("as-practitioner"),
        "identifier": identifiers,
        "active": True,
        "name": [{"use": "official", "family": family, "given": [given]}],
    }
    telecom = list(telecom)
    if telecom:
        resource["telecom"] = telecom
    return resource


def _organization(
    resource_id: str, finess: str, name: str, *, telecom: Iterable[dict[str, Any]] = ()
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Organization",
        "id": resource_id,
        "meta": _meta("as-organization"),
        "identifier": [
            {
                "use": "official",
                "type": {"coding": [{"system": _V2_0203, "code": "FINEG"}]},
                "system": _FINESS,
                "value": finess,
            },
            {
                "use": "official",
                "type": {"coding": [{"system": _V2_0203, "code": "IDNST"}]},
                "system": _ID_NAT_STRUCT,
                "value": "1" + finess,
            },
        ],
        "active": True,
        "name": name,
    }
    telecom = list(telecom)
    if telecom:
        resource["telecom"] = telecom
    return resource


def _role(
    resource_id: str,
    practitioner: str,
    organization: str,
    *,
    telecom: Iterable[dict[str, Any]] = (),
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "PractitionerRole",
        "id": resource_id,
        "meta": _meta("as-practitionerrole"),
        "active": True,
        "practitioner": {"reference": f"Practitioner/{practitioner}"},
        "organization": {"reference": f"Organization/{organization}"},
    }
    telecom = list(telecom)
    if telecom:
        resource["telecom"] = telecom
    return resource


def _named() -> list[dict[str, Any]]:
    return [
        _practitioner(
            "pp-paul",
            "MEDECIN-TEST",
            "Paul",
            rpps=PAUL_RPPS,
            telecom=[
                _mss(PAUL_ADDRESS, "PER"),
                _mss(CAB_ADDRESS, "CAB", description="Cabinet médical de la Paix"),
                _plain_email("paul.medecin-test@example.org"),
            ],
        ),
        _role("ps-paul-hopital", "pp-paul", "org-hopital"),
        _practitioner(
            "pp-claire",
            "INFIRMIERE-TEST",
            "Claire",
            rpps=CLAIRE_RPPS,
            telecom=[_mss(CLAIRE_ADDRESS, "PER")],
        ),
        _role("ps-claire-ehpad", "pp-claire", "org-ehpad", telecom=[_mss(CLAIRE_ADDRESS, "PER")]),
        _practitioner("pp-robert", "PHARMACIEN-TEST", "Robert", rpps=ROBERT_RPPS),
        _role(
            "ps-robert-hopital",
            "pp-robert",
            "org-hopital",
            telecom=[_mss(ROBERT_ADDRESS, "PER")],
        ),
        _practitioner(
            "pp-louise",
            "KINE-TEST",
            "Louise",
            adeli=LOUISE_ADELI,
            telecom=[_mss(f"louise.kine-test@{REMOTE}", "PER")],
        ),
        _practitioner(
            "pp-jeanne",
            "DISCRET-TEST",
            "Jeanne",
            rpps=JEANNE_RPPS,
            telecom=[_mss(f"jeanne.discret-test@{REMOTE}", "PER", red_list=True)],
        ),
        _organization(
            "org-ehpad",
            EHPAD_FINESS,
            "EHPAD SEGURLINK TEST",
            telecom=[
                _mss(ORG_ADDRESS, "ORG", description="Secrétariat médical", service="Accueil"),
                _mss(APP_ADDRESS, "APP", description="Logiciel de soins (DUI)"),
                _mss(f"direction@{LOCAL}", "ORG", red_list=True, description="Direction"),
                _plain_email("contact@ehpad-segurlink.example"),
                {"system": "phone", "value": "0100000016"},
            ],
        ),
        _organization(
            "org-hopital",
            HOPITAL_FINESS,
            "HOPITAL SEGURLINK",
            telecom=[
                _mss(INTEGRATION_ADDRESS, "APP", description="Intégration des documents"),
                _mss(f"archives@{REMOTE}", None, metadata=False),
            ],
        ),
    ]


def _generated() -> list[dict[str, Any]]:
    resources: list[dict[str, Any]] = []
    for n in range(1, 56):
        finess = f"45{100000 + n:06d}"
        finess += _luhn_key(finess)
        slug = f"ehpad{n:02d}"
        telecom = [_mss(f"accueil.{slug}@{REMOTE}", "ORG", red_list=n % 10 == 0)]
        if n % 3 == 0:
            telecom.append(_mss(f"dui.{slug}@{REMOTE}", "APP"))
        place = _PLACES[n % len(_PLACES)]
        resources.append(
            _organization(f"org-{slug}", finess, f"EHPAD {place} {n:02d}", telecom=telecom)
        )
    for n in range(1, MARTIN_COUNT + 1):
        given = _GIVEN[n % len(_GIVEN)]
        rpps = f"1{30000000 + n:010d}"
        local = f"{given.lower().replace('é', 'e').replace('ë', 'e')}.martin{n:02d}"
        telecom = [_mss(f"{local}@{REMOTE}", "PER", red_list=n % 8 == 0)]
        if n % 7 == 0:
            telecom.append(_mss(f"cabinet.martin{n:02d}@{REMOTE}", "CAB"))
        resources.append(
            _practitioner(f"pp-martin{n:02d}", "MARTIN", given, rpps=rpps, telecom=telecom)
        )
        if n % 5 == 0:
            organization = f"org-ehpad{n % 55 + 1:02d}"
            resources.append(
                _role(
                    f"ps-martin{n:02d}",
                    f"pp-martin{n:02d}",
                    organization,
                    telecom=[_mss(f"{local}.ehpad@{REMOTE}", "PER")],
                )
            )
    return resources


def directory() -> dict[str, dict[str, Any]]:
    """Every resource of the mock's directory, by ``Type/id`` (a fresh copy)."""
    return {f"{r['resourceType']}/{r['id']}": r for r in copy.deepcopy(_named() + _generated())}


def _red_listed(resources: Mapping[str, Mapping[str, Any]]) -> frozenset[str]:
    """The addresses the directory puts on the red list."""
    found = set()
    for resource in resources.values():
        for telecom in resource.get("telecom", ()):
            for extension in telecom.get("extension", ()):
                if extension["url"] != _METADATA:
                    continue
                if any(
                    sub["url"] == "listeRouge" and sub["valueBoolean"]
                    for sub in extension["extension"]
                ):
                    found.add(telecom["value"])
    return frozenset(found)


#: The red-listed addresses of :func:`directory`.
RED_LISTED = _red_listed(directory())
