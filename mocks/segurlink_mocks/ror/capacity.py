"""The capacity PATCH of the ROR mock (``ws-synchro-dispo-lits-fhir``), apart from the client.

:func:`patch_operations` reads a FHIRPath Patch ``Parameters`` (replace or add of one
``ror-location-supported-capacity``), :func:`indicator_problems` applies the business rules
the ANS guide describes (a 400 ``business-rule``), :func:`stored_indicator` is what the ROR
keeps of an accepted indicator.

**What the ROR keeps.** The indicator a client sends is not stored as sent: the mock keeps
the indicator's qualifiers and count with the ROR's own coding of them (each code with its
TRE system and display, whatever the client wrote beside the code), the
``capacityUpdateDate`` sent, and a ``capacitySourceType``: the one sent, or, when the
client sent none, ``04`` "Dossier patient informatisé (DPI)" (the publication comes from
the structure's care record through the API: an assumption of this mock, the guide does
not say which source the ROR records). Sub-extensions are stored in the order of the IG's
example Location, so the read-back of a publication looks like any other indicator.
"""

from __future__ import annotations

import re
from typing import Any

from .data import CAPACITY, coded
from .search import BadRequest

__all__ = [
    "INDICATOR_URLS",
    "describe",
    "indicator_keys",
    "indicator_problems",
    "patch_operations",
    "path_criteria",
    "stored_indicator",
]

#: Qualifiers that identify an indicator (count, date and source do not).
INDICATOR_URLS = (
    "capacityType",
    "capacityStatus",
    "temporalityCapacity",
    "genderCapacityAvailable",
    "capacityClosingType",
    "additionalBedType",
    "crisisType",
    "temporaryAssignement",
)
#: The mock's code tables for capacity qualifiers: url → (TRE table, {code: display}).
CODES: dict[str, tuple[str, dict[str, str]]] = {
    "capacityType": ("TRE_R329-NatureCapacite", {"01": "Lit", "02": "Place"}),
    "capacityStatus": (
        "TRE_R330-TypeStatutCapacite",
        {
            "01": "Installé",
            "02": "Disponible",
            "03": "Occupé",
            "04": "Réservé",
            "05": "Fermé",
            "06": "Supplémentaire",
        },
    ),
    "temporalityCapacity": (
        "TRE_R331-TemporaliteCapacite",
        {"01": "Courant", "02": "Prévisionnel", "03": "Programmé"},
    ),
    "genderCapacityAvailable": (
        "TRE_R332-GenreCapacite",
        {"01": "Femme", "02": "Homme", "03": "Indifférencié"},
    ),
    "capacityClosingType": (
        "TRE_R333-TypeFermetureCapacite",
        {
            "01": "Fermeture pour travaux",
            "02": "Fermeture pour manque de personnel",
            "03": "Fermeture pour raison sanitaire",
        },
    ),
    "additionalBedType": (
        "TRE_R334-TypeLitSupplementaire",
        {
            "01": "Mobilisable sans ressources humaines supplémentaires",
            "02": "Mobilisable avec matériel",
            "03": "Mobilisable avec ressources humaines",
        },
    ),
    "crisisType": (
        "TRE_R336-TypeCrise",
        {
            "01": "Tension hospitalière",
            "02": "Situation sanitaire Exceptionnelle (SSE) (Plan blanc)",
        },
    ),
    "temporaryAssignement": (
        "TRE_R337-AffectationTemporaire",
        {"01": "Aucune", "02": "Covid +", "03": "Covid -"},
    ),
    "capacitySourceType": (
        "TRE_R335-TypeSourceCapacite",
        {
            "01": "Saisie manuelle",
            "02": "Bed management",
            "03": "Gestion administrative du malade (GAM)",
            "04": "Dossier patient informatisé (DPI)",
        },
    ),
}
#: Order of the sub-extensions in the stored indicator (as in the IG's example Location).
_STORED_ORDER = (
    "additionalBedType",
    "crisisType",
    "capacityClosingType",
    "nbCapacity",
    "capacityUpdateDate",
    "capacityStatus",
    "capacityType",
    "temporalityCapacity",
    "capacitySourceType",
    "genderCapacityAvailable",
    "temporaryAssignement",
)
_DEFAULT_SOURCE = "04"
_CRITERION = re.compile(
    r"extension\.where\(url='(?P<url>[A-Za-z]+)' and "
    r"valueCodeableConcept\.coding\[0\]\.code='(?P<code>[^']*)'\)"
)


def _sub(extension: dict[str, Any], url: str) -> dict[str, Any] | None:
    return next((e for e in extension.get("extension") or () if e.get("url") == url), None)


def _code(extension: dict[str, Any], url: str) -> str | None:
    sub = _sub(extension, url)
    codings = ((sub or {}).get("valueCodeableConcept") or {}).get("coding") or []
    return str(codings[0].get("code")) if codings and codings[0].get("code") else None


def patch_operations(body: Any) -> list[tuple[str, str, dict[str, Any]]]:
    """The ``(type, path, extension)`` operations of a capacity patch, or :class:`BadRequest`."""
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise BadRequest("The body must be a FHIR Parameters resource")
    out = []
    for parameter in body.get("parameter") or ():
        if not isinstance(parameter, dict) or parameter.get("name") != "operation":
            raise BadRequest("Unexpected parameter: only 'operation' parts are accepted")
        parts = {p.get("name"): p for p in parameter.get("part") or () if isinstance(p, dict)}
        type_part = parts.get("type") or {}
        op_type = type_part.get("valueCode") or type_part.get("valueString")
        path = (parts.get("path") or {}).get("valueString", "")
        if op_type not in ("replace", "add"):
            raise BadRequest(f"Unsupported patch operation type {op_type!r}")
        if op_type == "add" and (
            path != "Location" or (parts.get("name") or {}).get("valueString") != "extension"
        ):
            raise BadRequest("add must target path 'Location' with name 'extension'")
        if op_type == "replace" and not path.startswith(
            f"Location.extension.where(url='{CAPACITY}'"
        ):
            raise BadRequest(f"replace path must target the capacity extension: {path!r}")
        value = parts.get("value") or {}
        extensions = [
            ext
            for part in value.get("part") or ()
            if isinstance(part, dict)
            for ext in part.get("extension") or ()
            if isinstance(ext, dict)
        ]
        if len(extensions) != 1 or extensions[0].get("url") != CAPACITY:
            raise BadRequest("value must carry exactly one ror-location-supported-capacity")
        out.append((str(op_type), str(path), extensions[0]))
    if not out:
        raise BadRequest("No operation in the Parameters")
    return out


def indicator_keys(extension: dict[str, Any]) -> dict[str, str]:
    """The qualifiers of an indicator, url → code (absent ones left out)."""
    keys = {}
    for url in INDICATOR_URLS:
        code = _code(extension, url)
        if code:
            keys[url] = code
    return keys


def describe(keys: dict[str, str]) -> str:
    return " / ".join(f"{url}: {keys.get(url, 'null')}" for url in INDICATOR_URLS[1:])


def path_criteria(path: str) -> dict[str, str]:
    """The qualifiers a replace FHIRPath targets."""
    return {m.group("url"): m.group("code") for m in _CRITERION.finditer(path)}


def indicator_problems(extension: dict[str, Any]) -> str | None:
    """Why the ROR refuses this indicator (a 400 ``business-rule``), or ``None``."""
    count = (_sub(extension, "nbCapacity") or {}).get("valueInteger")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        return "nbCapacity doit être un entier positif ou nul"
    keys = indicator_keys(extension)
    for url, code in keys.items():
        if code not in CODES[url][1]:
            return f"Indicateur INDICATEUR_INCONNU : L'attribut '{url}' a un code inconnu"
    source = _code(extension, "capacitySourceType")
    if source is not None and source not in CODES["capacitySourceType"][1]:
        return "Indicateur INDICATEUR_INCONNU : L'attribut 'capacitySourceType' a un code inconnu"
    if "capacityType" not in keys or "capacityStatus" not in keys:
        return "capacityType et capacityStatus sont obligatoires"
    status = keys["capacityStatus"]
    invalid = (
        "Les valeurs du nouvel objet ne correspondent pas à un indicateur valide : "
        + describe(keys)
    )
    if "genderCapacityAvailable" in keys and status != "02":
        return invalid
    if ("additionalBedType" in keys or "crisisType" in keys) != (status == "06"):
        return invalid
    if ("capacityClosingType" in keys) != (status == "05"):
        return invalid
    if not _sub(extension, "capacityUpdateDate"):
        return "capacityUpdateDate est obligatoire"
    return None


def stored_indicator(extension: dict[str, Any]) -> dict[str, Any]:
    """What the ROR keeps of an accepted indicator (see the module docstring)."""
    parts: dict[str, dict[str, Any]] = {}
    for url, (table, labels) in CODES.items():
        code = _code(extension, url)
        if code:
            parts[url] = coded(url, table, code, labels[code])
    if "capacitySourceType" not in parts:
        table, labels = CODES["capacitySourceType"]
        parts["capacitySourceType"] = coded(
            "capacitySourceType", table, _DEFAULT_SOURCE, labels[_DEFAULT_SOURCE]
        )
    count = _sub(extension, "nbCapacity")
    date = _sub(extension, "capacityUpdateDate")
    parts["nbCapacity"] = {"url": "nbCapacity", "valueInteger": (count or {}).get("valueInteger")}
    parts["capacityUpdateDate"] = {
        "url": "capacityUpdateDate",
        "valueDateTime": (date or {}).get("valueDateTime"),
    }
    return {"url": CAPACITY, "extension": [parts[u] for u in _STORED_ORDER if u in parts]}
