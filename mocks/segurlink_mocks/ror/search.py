"""Search evaluation of the ROR mock: the parameters of the consumer CapabilityStatement.

Each parameter of :data:`SEARCH_PARAMS` says where its values are in a resource and how
they compare, with the FHIR search rules:

* string (``name``, ``address-city``, ``psychiatric-sector``...): starts-with, case- and
  accent-insensitive; ``:contains`` anywhere; ``:exact`` the whole value, as written;
* token: ``code``, ``system|code``, ``|code`` (no system), ``system|``; ``:not``,
  ``:text`` (display starts-with); booleans are the tokens ``true`` / ``false``;
* number, quantity (``[prefix]value[|system|code]``) and date with the prefixes ``eq ne gt
  lt ge le`` (and ``sa eb`` for dates); a date matches on its precision (``2025`` is the
  whole year, as the FHIR rules for ranges say);
* ``value1,value2`` is OR, a repeated parameter is AND; ``:missing=true|false`` on any
  parameter;
* chained ``location.<param>`` and ``organization.<param>`` on HealthcareService
  (``organization.identifier:above`` for every service under an entity), and ``_has``
  (reverse chaining, ``_has:PractitionerRole:service:identifier=...``).

**Repeated structures are matched one instance at a time.** The parameters that describe
parts of one capacity indicator (``capacity-*``, ``nb-capacity``, ``gender-capacity-
available``, ``crisis-type``...), of one residential capacity (``residential-*``), of one
equipment limit (``equipment-*``, ``limit-value``) or of one price (``price-*``,
``special-price``) must all hold for one and the same instance:
``capacity-status=02&nb-capacity=ge1`` is "an available-capacity indicator of at least 1",
never "some indicator available and some (other) indicator at least 1". Neither the ROR
specification nor its CapabilityStatement says it; it is the reading that makes such a
query mean something, and the one segurlink's client relies on.

Parameters of the CapabilityStatement the mock does not evaluate are answered 400 with
their name (:data:`REFUSED`): ``_filter`` and every Task parameter (the mock holds no
Task). Unknown parameters and modifiers are 400 too, as HAPI answers them.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .data import REGIONS, SD, distance_km

__all__ = [
    "REFUSED",
    "RESULT_PARAMS",
    "SEARCH_PARAMS",
    "BadRequest",
    "Param",
    "Search",
    "fold",
]


class BadRequest(Exception):
    """A search the server refuses: an OperationOutcome with this code and HTTP status."""

    def __init__(self, message: str, code: str = "invalid", status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def fold(text: str) -> str:
    """Case- and accent-insensitive form of a string (FHIR string search)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


# -- where values are --------------------------------------------------------------------------


def _ext(node: Any, url: str) -> list[dict[str, Any]]:
    if not isinstance(node, dict):
        return []
    return [e for e in node.get("extension") or () if isinstance(e, dict) and e.get("url") == url]


def _sub(node: Any, url: str) -> Any:
    found = _ext(node, url)
    if not found:
        return None
    value = found[0]
    for key, item in value.items():
        if key.startswith("value"):
            return item
    return None


def _codings(concepts: Iterable[Any]) -> list[tuple[str, str, str]]:
    out = []
    for concept in concepts:
        if not isinstance(concept, dict):
            continue
        codings = concept.get("coding") if "coding" in concept else [concept]
        for coding in codings or ():
            if isinstance(coding, dict):
                out.append(
                    (
                        coding.get("system", ""),
                        str(coding.get("code", "")),
                        coding.get("display", ""),
                    )
                )
    return out


def _concepts(path: str) -> Callable[[dict[str, Any]], list[Any]]:
    def get(resource: dict[str, Any]) -> list[Any]:
        value = resource.get(path)
        return value if isinstance(value, list) else [value] if value is not None else []

    return get


def _sub_coded(url: str) -> Callable[[Any], list[Any]]:
    return lambda node: [_sub(node, url)]


def _top_coded(url: str) -> Callable[[dict[str, Any]], list[Any]]:
    return lambda r: [e.get("valueCodeableConcept") for e in _ext(r, url)]


def _patient_type(r: dict[str, Any]) -> list[Any]:
    return [
        _sub_list(e, "supportedPatientInfo")
        for e in _ext(r, SD + "ror-healthcareservice-patient-type")
    ]


def _sub_list(node: dict[str, Any], url: str) -> Any:
    return {
        "coding": [
            c
            for e in _ext(node, url)
            for c in (e.get("valueCodeableConcept") or {}).get("coding") or ()
        ]
    }


def _age(bound: str) -> Callable[[dict[str, Any]], list[Any]]:
    def get(r: dict[str, Any]) -> list[Any]:
        out = []
        for ext in _ext(r, SD + "ror-healthcareservice-patient-type"):
            quantity = (_sub(ext, "ageRange") or {}).get(bound)
            if isinstance(quantity, dict) and isinstance(quantity.get("value"), int | float):
                out.append(
                    (float(quantity["value"]), quantity.get("system", ""), quantity.get("code", ""))
                )
        return out

    return get


# Repeated structures, one instance at a time (see the module docstring).


def _capacities(r: dict[str, Any]) -> list[Any]:
    return _ext(r, SD + "ror-location-supported-capacity")


def _residential(r: dict[str, Any]) -> list[Any]:
    return _ext(r, SD + "ror-location-residential-capacity")


def _equipment_limits(r: dict[str, Any]) -> list[Any]:
    out = []
    for equipment in _ext(r, SD + "ror-location-equipment"):
        found: list[Any] = _ext(equipment, SD + "ror-location-equipment-limit")
        limits = found if found else [None]
        for limit in limits:
            out.append(
                {
                    "type": _sub(equipment, "equipmentType"),
                    "feature": _sub(limit, "equipmentFeature") if limit else None,
                    "limit": _sub(limit, "limitValue") if limit else None,
                }
            )
    return out


def _prices(r: dict[str, Any]) -> list[Any]:
    return _ext(r, SD + "ror-organization-price")


# -- parameters ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Param:
    """One search parameter: its FHIR type and where its values are.

    ``group`` names a repeated structure (see the module docstring): ``values`` then reads
    one instance of it, and all the group's criteria must hold for the same instance.
    """

    type: str  # token | string | number | quantity | date | special
    values: Callable[[Any], list[Any]]
    group: str | None = None
    doc: str = ""


_GROUPS: dict[str, Callable[[dict[str, Any]], list[Any]]] = {
    "capacity": _capacities,
    "residential": _residential,
    "equipment": _equipment_limits,
    "price": _prices,
}


def _tokens_of(getter: Callable[[Any], list[Any]]) -> Callable[[Any], list[Any]]:
    return lambda node: _codings(getter(node))


def _identifier(r: dict[str, Any]) -> list[Any]:
    return [(i.get("system", ""), str(i.get("value", "")), "") for i in r.get("identifier") or ()]


def _dates(getter: Callable[[Any], list[Any]]) -> Callable[[Any], list[Any]]:
    return lambda node: [v for v in getter(node) if v]


def _common() -> dict[str, Param]:
    return {
        "_id": Param("token", lambda r: [("", r["id"], "")], doc="logical id"),
        "_lastUpdated": Param(
            "date", lambda r: [r["meta"].get("lastUpdated")], doc="meta.lastUpdated"
        ),
        "_tag": Param(
            "token",
            lambda r: [
                (t.get("system", ""), t.get("code", ""), "") for t in r["meta"].get("tag", [])
            ],
            doc="meta.tag (region TRE_R30)",
        ),
        "_has": Param("special", lambda r: [], doc="reverse chaining"),
    }


def _hcs_params() -> dict[str, Param]:
    return {
        **_common(),
        "identifier": Param("token", _identifier),
        "name": Param("string", lambda r: [r.get("name", "")]),
        "service-category": Param("token", _tokens_of(_concepts("category"))),
        "service-type": Param("token", _tokens_of(_concepts("type"))),
        "characteristic": Param("token", _tokens_of(_concepts("characteristic"))),
        "specialty": Param("token", _tokens_of(_concepts("specialty"))),
        "age-range-low": Param("quantity", _age("low"), doc="patient-type ageRange.low"),
        "age-range-high": Param("quantity", _age("high"), doc="patient-type ageRange.high"),
        "intervention-zone": Param(
            "token",
            lambda r: _codings(
                _sub(e, "codeTerritorialDivision") for e in _ext(r, SD + "ror-territorial-division")
            ),
            doc="ror-territorial-division.codeTerritorialDivision (commune COG)",
        ),
        "patient-type": Param(
            "token",
            lambda r: _codings(_patient_type(r)),
            doc="patient-type.supportedPatientInfo (TRE_R239)",
        ),
        "psychiatric-sector": Param(
            "string",
            lambda r: [
                e.get("valueString", "")
                for e in _ext(r, SD + "ror-healthcareservice-psychiatric-sector")
            ],
        ),
        "notavailable-closing-reopeningdate": Param(
            "date",
            lambda r: [
                n.get("during")
                for n in r.get("notAvailable") or ()
                if n.get("id") == "closingReopeningDate"
            ],
            doc="notAvailable.where(id='closingReopeningDate').during",
        ),
    }


def _location_params() -> dict[str, Param]:
    capacity = {
        "capacity-status": "capacityStatus",
        "capacity-type": "capacityType",
        "additional-bed-type": "additionalBedType",
        "capacity-closing-type": "capacityClosingType",
        "crisis-type": "crisisType",
        "gender-capacity-available": "genderCapacityAvailable",
        "temporality-capacity": "temporalityCapacity",
        "temporary-assignement": "temporaryAssignement",
    }
    params: dict[str, Param] = {
        **_common(),
        "identifier": Param("token", _identifier),
        "type": Param("token", _tokens_of(_concepts("type"))),
        "status": Param("token", lambda r: [("", r.get("status", ""), "")]),
        "operational-status": Param("token", _tokens_of(_concepts("operationalStatus"))),
        "address-postalcode": Param(
            "string", lambda r: [(r.get("address") or {}).get("postalCode", "")]
        ),
        "address-city": Param("string", lambda r: [(r.get("address") or {}).get("city", "")]),
        "commune-cog": Param("token", _tokens_of(_top_coded(SD + "ror-commune-cog"))),
        "near": Param("special", lambda r: [], doc="lat|long|distance|km (0-1000 km)"),
        "near-insee-code": Param("special", lambda r: [], doc="COG|distance (km)"),
        "nb-capacity": Param("number", lambda e: [_sub(e, "nbCapacity")], "capacity"),
        "capacity-update-date": Param(
            "date", lambda e: [_sub(e, "capacityUpdateDate")], "capacity"
        ),
        "residential-type": Param(
            "token", _tokens_of(_sub_coded("residentialType")), "residential"
        ),
        "residential-number": Param(
            "number", lambda e: [_sub(e, "residentialNumber")], "residential"
        ),
        "equipment-type": Param("token", lambda e: _codings([e["type"]]), "equipment"),
        "equipment-feature": Param("token", lambda e: _codings([e["feature"]]), "equipment"),
        "limit-value": Param(
            "quantity",
            lambda e: [
                (float(q["value"]), q.get("system", ""), q.get("code", ""))
                for q in [e["limit"]]
                if isinstance(q, dict) and isinstance(q.get("value"), int | float)
            ],
            "equipment",
        ),
    }
    for name, url in capacity.items():
        params[name] = Param("token", _tokens_of(_sub_coded(url)), "capacity")
    return params


def _organization_params() -> dict[str, Param]:
    price = {
        "price-dependency-level": "dependencyLevel",
        "price-residential-type": "residentialType",
        "price-type": "priceType",
        "price-unit": "priceUnit",
        "price-welcome-type": "welcomeType",
        "special-price": "specialPrice",
    }
    params: dict[str, Param] = {
        **{k: v for k, v in _common().items() if k != "_has"},
        "_content": Param(
            "text",
            lambda r: [" ".join(_strings(r))],
            doc="full text: every word of the value appears (case and accents ignored)",
        ),
        "identifier": Param("token", _identifier),
        "name": Param("string", lambda r: [r.get("name", ""), *(r.get("alias") or ())]),
        "type": Param("token", _tokens_of(_concepts("type"))),
        "closing-type": Param(
            "token", _tokens_of(_top_coded(SD + "ror-organization-closing-type"))
        ),
        "drop-zone": Param(
            "token",
            lambda r: [
                ("", str(e.get("valueBoolean")).lower(), "")
                for e in _ext(r, SD + "ror-organization-drop-zone")
            ],
        ),
        "period-end": Param(
            "date",
            lambda r: [
                (_sub(e, "period") or {}).get("end")
                for e in _ext(r, SD + "ror-organization-period")
            ],
            doc="ror-organization-period.period.end",
        ),
        "price-amount-value": Param(
            "number", lambda e: [(_sub(e, "amount") or {}).get("value")], "price"
        ),
        "price-validity-start-date": Param("date", lambda e: [_sub(e, "startDate")], "price"),
    }
    for name, url in price.items():
        params[name] = Param("token", _tokens_of(_sub_coded(url)), "price")
    return params


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def _small() -> dict[str, Param]:
    return {
        **{k: v for k, v in _common().items() if k != "_has"},
        "identifier": Param("token", _identifier),
    }


#: Search parameters the mock evaluates, per resource type.
SEARCH_PARAMS: dict[str, dict[str, Param]] = {
    "Organization": _organization_params(),
    "HealthcareService": _hcs_params(),
    "Location": _location_params(),
    "Practitioner": _small(),
    "PractitionerRole": _small(),
}
#: Parameters of the consumer CapabilityStatement answered 400 (type → name → why).
REFUSED: dict[str, dict[str, str]] = {
    "Location": {"_filter": "_filter is not supported by this mock"},
    "HealthcareService": {"_filter": "_filter is not supported by this mock"},
    "Task": {"_id": "the mock holds no Task", "_content": "the mock holds no Task"},
}
#: Result parameters (they shape the answer, they do not select).
RESULT_PARAMS = frozenset(
    {
        "_count",
        "_sort",
        "_elements",
        "_summary",
        "_total",
        "_format",
        "_pretty",
        "_include",
        "_revinclude",
    }
)
_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
#: Reference search parameters for chains and _has: (source type, name) → element.
REFERENCES: dict[tuple[str, str], tuple[str, str]] = {
    ("HealthcareService", "organization"): ("providedBy", "Organization"),
    ("HealthcareService", "location"): ("location", "Location"),
    ("PractitionerRole", "service"): ("healthcareService", "HealthcareService"),
    ("PractitionerRole", "practitioner"): ("practitioner", "Practitioner"),
    ("PractitionerRole", "organization"): ("organization", "Organization"),
    ("Organization", "partof"): ("partOf", "Organization"),
}


# -- comparisons --------------------------------------------------------------------------------


def _prefixed(value: str) -> tuple[str, str]:
    if value[:2] in _PREFIXES and len(value) > 2 and not value[2].isalpha():
        return value[:2], value[2:]
    return "eq", value


def _number(text: str, name: str) -> float:
    try:
        number = float(text)
    except ValueError as exc:
        raise BadRequest(f"Invalid number for {name}: '{text}'") from exc
    if math.isnan(number) or math.isinf(number):
        raise BadRequest(f"Invalid number for {name}: '{text}'")
    return number


def _compare_number(prefix: str, actual: float, expected: float, name: str) -> bool:
    if prefix == "ap":
        return abs(actual - expected) <= abs(expected) * 0.1
    if prefix in ("sa", "eb"):
        raise BadRequest(f"Prefix '{prefix}' is not valid for the number parameter {name}")
    return {
        "eq": actual == expected,
        "ne": actual != expected,
        "gt": actual > expected,
        "lt": actual < expected,
        "ge": actual >= expected,
        "le": actual <= expected,
    }[prefix]


_DATE = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?"
    r"(Z|[+-]\d{2}:\d{2})?)?)?)?"
)
_FAR_PAST = dt.datetime(1, 1, 2, tzinfo=dt.UTC)
_FAR_FUTURE = dt.datetime(9999, 12, 30, tzinfo=dt.UTC)


def date_range(text: str) -> tuple[dt.datetime, dt.datetime]:
    """The instants a FHIR date, dateTime or instant covers, at its precision."""
    match = _DATE.fullmatch(text.strip())
    if not match:
        raise ValueError(text)
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    tz = dt.UTC
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        tz = dt.timezone(sign * dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    if hour is not None:
        start = dt.datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            int(float(fraction or 0) * 1e6),
            tzinfo=tz,
        )
        step = (
            dt.timedelta(minutes=1)
            if second is None
            else dt.timedelta(seconds=1 if not fraction else 0, microseconds=1 if fraction else 0)
        )
        return start, start + step - dt.timedelta(microseconds=1)
    start = dt.datetime(int(year), int(month or 1), int(day or 1), tzinfo=dt.UTC)
    if day is not None:
        end = start + dt.timedelta(days=1)
    elif month is not None:
        end = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    else:
        end = start.replace(year=start.year + 1)
    return start, end - dt.timedelta(microseconds=1)


def _target_range(value: Any) -> tuple[dt.datetime, dt.datetime] | None:
    if isinstance(value, str):
        return date_range(value)
    if isinstance(value, dict):  # a Period: open bounds are unbounded
        low = date_range(value["start"])[0] if value.get("start") else _FAR_PAST
        high = date_range(value["end"])[1] if value.get("end") else _FAR_FUTURE
        return low, high
    return None


def _compare_dates(
    prefix: str, target: tuple[dt.datetime, dt.datetime], search: tuple[dt.datetime, dt.datetime]
) -> bool:
    (tl, th), (sl, sh) = target, search
    within = sl <= tl and th <= sh
    return {
        "eq": within,
        "ne": not within,
        "gt": th > sh,
        "lt": tl < sl,
        "ge": th > sh or within,
        "le": tl < sl or within,
        "sa": tl > sh,
        "eb": th < sl,
        "ap": tl <= sh and th >= sl,
    }[prefix]


def _token_matches(value: str, tokens: list[tuple[str, str, str]], modifier: str) -> bool:
    if modifier == "text":
        wanted = fold(value)
        return any(fold(display).startswith(wanted) for _, _, display in tokens)
    if "|" in value:
        system, _, code = value.partition("|")
        if code == "":
            hit = any(s == system for s, _, _ in tokens)
        elif system == "":
            hit = any(not s and c == code for s, c, _ in tokens)
        else:
            hit = any(s == system and c == code for s, c, _ in tokens)
    else:
        hit = any(c == value for _, c, _ in tokens)
    return hit


def _string_matches(value: str, strings: list[str], modifier: str) -> bool:
    if modifier == "exact":
        return value in strings
    wanted = fold(value)
    if modifier == "contains":
        return any(wanted in fold(s) for s in strings)
    return any(fold(s).startswith(wanted) for s in strings)


_MODIFIERS = {
    "token": {"", "not", "text"},
    "string": {"", "contains", "exact"},
    "number": {""},
    "quantity": {""},
    "date": {""},
    "special": {""},
    "text": {""},
}


def _value_test(name: str, param: Param, modifier: str, value: str) -> Callable[[Any], bool]:
    """A test of one node (a resource or a group instance) for ``name[:modifier]=value``."""
    if modifier not in _MODIFIERS[param.type]:
        raise BadRequest(
            f"Unsupported modifier ':{modifier}' for the {param.type} parameter {name}",
            "not-supported",
        )
    alternatives = [v for v in value.split(",")]
    if any(a == "" for a in alternatives) and param.type != "token":
        raise BadRequest(f"Empty value for {name}")
    kind = param.type
    if kind == "token":

        def test(node: Any) -> bool:
            tokens = param.values(node)
            hit = any(_token_matches(a, tokens, modifier) for a in alternatives)
            return not hit if modifier == "not" else hit

        return test
    if kind == "text":
        return lambda node: any(
            all(word in fold(" ".join(param.values(node))) for word in fold(a).split())
            for a in alternatives
        )
    if kind == "string":
        return lambda node: any(
            _string_matches(a, [s for s in param.values(node) if s], modifier) for a in alternatives
        )
    if kind in ("number", "quantity"):
        criteria = []
        for alternative in alternatives:
            prefix, rest = _prefixed(alternative)
            number_text, _, unit = rest.partition("|")
            number = _number(number_text, name)
            system, _, code = unit.partition("|") if unit else ("", "", "")
            criteria.append((prefix, number, system, code))

        def numeric(node: Any) -> bool:
            for actual in param.values(node):
                if actual is None:
                    continue
                if isinstance(actual, tuple):
                    amount, a_system, a_code = actual
                else:
                    amount, a_system, a_code = float(actual), "", ""
                for prefix, number, system, code in criteria:
                    if (system and system != a_system) or (code and code != a_code):
                        continue
                    if _compare_number(prefix, float(amount), number, name):
                        return True
            return False

        return numeric
    if kind == "date":
        ranges = []
        for alternative in alternatives:
            prefix, rest = _prefixed(alternative)
            try:
                ranges.append((prefix, date_range(rest)))
            except (ValueError, OverflowError) as exc:
                raise BadRequest(f"Invalid date/time format for {name}: '{alternative}'") from exc

        def dates(node: Any) -> bool:
            for actual in param.values(node):
                target = _target_range(actual)
                if target and any(_compare_dates(p, target, r) for p, r in ranges):
                    return True
            return False

        return dates
    raise BadRequest(f"Search parameter '{name}' is special")  # pragma: no cover


# -- the search -------------------------------------------------------------------------------


class Search:
    """Evaluates searches against one dataset (resources by ``Type/id``)."""

    def __init__(self, resources: dict[str, dict[str, Any]]) -> None:
        self.resources = resources
        self._children: dict[str, list[str]] | None = None

    def of_type(self, kind: str) -> Iterator[dict[str, Any]]:
        prefix = kind + "/"
        return (r for k, r in self.resources.items() if k.startswith(prefix))

    def descendants(self, org_keys: set[str]) -> set[str]:
        """The organisations under those of ``org_keys`` (``partOf``), them included."""
        if self._children is None:
            self._children = {}
            for org in self.of_type("Organization"):
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
        """The resources of ``kind`` matching every criterion of ``params``."""
        if kind in REFUSED and kind not in SEARCH_PARAMS:
            names = sorted({n for n, _ in params if n not in RESULT_PARAMS} or {"(none)"})
            raise BadRequest(
                f"{kind} is not served by this mock (the mock holds no {kind}); "
                f"parameters: {', '.join(names)}",
                "not-supported",
            )
        if kind not in SEARCH_PARAMS:
            raise BadRequest(f"Unknown resource type '{kind}'", "not-supported", 404)
        known = SEARCH_PARAMS[kind]
        filters: list[Callable[[dict[str, Any]], bool]] = []
        groups: dict[str, list[Callable[[Any], bool]]] = {}
        # Chained parameters through one link are one search of the target, so that
        # organization.price-type=02&organization.price-amount-value=le80 keeps its
        # one-price-at-a-time meaning.
        chains: dict[str, list[tuple[str, str]]] = {}
        for name, value in params:
            base_name = name.split(":", 1)[0]
            if base_name in RESULT_PARAMS:
                continue
            if base_name == "_has" or name.startswith("_has:"):
                filters.append(self._has(kind, name, value))
                continue
            base, _, modifier = name.partition(":")
            if "." in base:
                link, _, target_param = base.partition(".")
                if modifier == "above":
                    filters.append(self._chain(kind, link, [(target_param, value)], above=True))
                else:
                    target_name = f"{target_param}:{modifier}" if modifier else target_param
                    chains.setdefault(link, []).append((target_name, value))
                continue
            refused = REFUSED.get(kind, {}).get(base)
            if refused:
                raise BadRequest(
                    f'Search parameter "{base}" is not supported by this mock: {refused}',
                    "not-supported",
                )
            param = known.get(base)
            if param is None:
                raise BadRequest(
                    f'Unknown search parameter "{name}" for resource type "{kind}". '
                    f"Valid search parameters for this search are: {sorted(known)}",
                    "not-supported",
                )
            if modifier == "missing":
                filters.append(self._missing(base, param, value))
            elif param.type == "special":
                filters.append(self._near(base, value))
            elif param.group is not None:
                groups.setdefault(param.group, []).append(_value_test(base, param, modifier, value))
            else:
                filters.append(_value_test(base, param, modifier, value))
        for link, target_params in chains.items():
            filters.append(self._chain(kind, link, target_params, above=False))
        for group, tests in groups.items():
            filters.append(_group_filter(_GROUPS[group], tests))
        return [r for r in self.of_type(kind) if all(f(r) for f in filters)]

    def _missing(self, name: str, param: Param, value: str) -> Callable[[dict[str, Any]], bool]:
        if value not in ("true", "false"):
            raise BadRequest(f"{name}:missing takes true or false, not '{value}'")
        wanted = value == "true"
        if param.group is not None:
            instances = _GROUPS[param.group]
            return lambda r: (
                (not any(v is not None and v != [] for i in instances(r) for v in param.values(i)))
                == wanted
            )
        return lambda r: (not [v for v in param.values(r) if v not in (None, "", [])]) == wanted

    def _chain(
        self, kind: str, link: str, target_params: list[tuple[str, str]], *, above: bool
    ) -> Callable[[dict[str, Any]], bool]:
        reference = REFERENCES.get((kind, link))
        if reference is None or kind != "HealthcareService":
            raise BadRequest(f"Unsupported chain '{link}.' on {kind}", "not-supported")
        element, target = reference
        if above and link != "organization":
            raise BadRequest(f"Unsupported modifier ':above' on '{link}.'", "not-supported")
        keys = {f"{target}/{r['id']}" for r in self.run(target, target_params)}
        if above:
            keys = self.descendants(keys)
        return lambda r: any(ref.get("reference") in keys for ref in _refs(r, element))

    def _has(self, kind: str, name: str, value: str) -> Callable[[dict[str, Any]], bool]:
        parts = name.split(":")
        if len(parts) != 4 or parts[0] != "_has":
            raise BadRequest(f"Invalid _has parameter '{name}' (_has:Type:reference:param)")
        _, source, ref_param, param = parts
        reference = REFERENCES.get((source, ref_param))
        if reference is None or reference[1] != kind:
            raise BadRequest(f"Unsupported _has chain '{name}' on {kind}", "not-supported")
        element = reference[0]
        keys = {
            ref.get("reference")
            for r in self.run(source, [(param, value)])
            for ref in _refs(r, element)
        }
        return lambda r: f"{kind}/{r['id']}" in keys

    def _near(self, name: str, value: str) -> Callable[[dict[str, Any]], bool]:
        parts = value.split("|")
        try:
            if name == "near":
                lat, lon = float(parts[0]), float(parts[1])
                dist = float(parts[2]) if len(parts) > 2 and parts[2] else 50.0
                if len(parts) > 3 and parts[3] not in ("", "km"):
                    raise BadRequest(f"near: only km distances are served, not '{parts[3]}'")
            else:
                commune = next(c for _, cs in REGIONS.values() for c in cs if c.cog == parts[0])
                lat, lon = commune.latitude, commune.longitude
                dist = float(parts[1]) if len(parts) > 1 and parts[1] else 50.0
        except (ValueError, IndexError, StopIteration) as exc:
            raise BadRequest(f"Invalid {name} value '{value}'") from exc
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise BadRequest(f"Invalid coordinates in {name}: '{value}'")
        if not 0 <= dist <= 1000:
            raise BadRequest("The distance must be between 0 and 1000 km")

        def near(r: dict[str, Any]) -> bool:
            pos = r.get("position") or {}
            if "latitude" not in pos:
                return False
            return distance_km(lat, lon, pos["latitude"], pos["longitude"]) <= dist

        return near


def _refs(resource: dict[str, Any], element: str) -> list[dict[str, Any]]:
    value = resource.get(element)
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    return [value] if isinstance(value, dict) else []


def _group_filter(
    instances: Callable[[dict[str, Any]], list[Any]], tests: list[Callable[[Any], bool]]
) -> Callable[[dict[str, Any]], bool]:
    return lambda r: any(all(t(i) for t in tests) for i in instances(r))
