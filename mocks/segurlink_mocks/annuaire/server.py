"""An Annuaire Santé FHIR R4 server on loopback: the MSSanté addresses of the directory.

:class:`AnnuaireMock` serves the directory of :mod:`segurlink_mocks.annuaire.data` the way
the Annuaire Santé API (``/fhir/v2``, a HAPI server behind an API gateway) does:

* every call needs the ``ESANTE-API-KEY`` header (:data:`~.data.API_KEY`); without it, or
  with another key, the gateway answers 401 with its own JSON (no OperationOutcome);
* ``GET /fhir/v2/metadata``: this server's CapabilityStatement;
* searches of ``Practitioner``, ``PractitionerRole`` and ``Organization`` with the
  parameters of :data:`SEARCH_PARAMS`: strings match the start of a value, case and
  accents ignored (``:exact``, ``:contains``), ``mailbox-mss`` matches any e-mail of the
  resource (its expression is ``telecom.value``), tokens take ``system|value``, references
  ``Type/id`` or ``id``; a comma is OR, a repeated parameter AND. Any other parameter is
  refused as the live server does (``mailbox-mss-type`` included: "Parameter ... not
  found"), and so are ``_type`` and batches: one resource type per query;
* ``_include=PractitionerRole:organization`` / ``PractitionerRole:practitioner``;
* 50 resources a page at most (``_count`` above is served as 50), ``total``, and HAPI
  paging links (``/fhir/v2?_getpages=<id>&_getpagesoffset=N&_count=N``);
* reads ``GET /fhir/v2/<type>/<id>``.

Red-listed mailboxes are served as they are stored, flagged ``listeRouge`` in their
metadata: honouring the red list is the client's part.

Faults (``inject``, or ``POST /_mock/faults``): the generic ones (``latency:<s>``,
``trickle:<s>``, ``reset``, ``truncated``, ``http500_html``, ``non_soap_200``) and
``http429`` / ``http503`` (the gateway's answer with ``Retry-After: retry_after``),
``http500`` (an OperationOutcome), ``loop_next`` (the page's ``next`` link is the page
itself), ``foreign_next`` (a ``next`` link to another server), ``redirect`` (a 302 to
another server), ``not_a_bundle`` (200 with a FHIR resource that is not a Bundle).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import threading
import unicodedata
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Unpack
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from .._core.exchange import Exchange
from .._core.faults import HTTP_FAULTS, FaultCatalog
from .._core.routing import Route
from .._core.server import ServerOptions
from .._core.service import MockService
from ..pki import TestPki
from .data import API_KEY, directory

__all__ = ["API_HEADER", "FHIR_PATH", "MAX_PAGE", "SEARCH_PARAMS", "AnnuaireMock"]

FHIR_PATH = "/fhir/v2"
API_HEADER = "ESANTE-API-KEY"
#: The most resources a page holds (a larger ``_count`` is served as this).
MAX_PAGE = 50
FOREIGN_BASE = "https://annuaire.elsewhere.invalid/fhir/v2"

Kind = str  # "string" | "token" | "reference"
#: Search parameters per resource type: name -> (type, what it reads).
SEARCH_PARAMS: dict[str, dict[str, tuple[Kind, str]]] = {
    "Practitioner": {
        "_id": ("token", "id"),
        "identifier": ("token", "identifier"),
        "family": ("string", "name.family"),
        "given": ("string", "name.given"),
        "name": ("string", "name"),
        "mailbox-mss": ("string", "telecom.value"),
        "active": ("token", "active"),
    },
    "PractitionerRole": {
        "_id": ("token", "id"),
        "identifier": ("token", "identifier"),
        "practitioner": ("reference", "practitioner"),
        "organization": ("reference", "organization"),
        "mailbox-mss": ("string", "telecom.value"),
        "active": ("token", "active"),
    },
    "Organization": {
        "_id": ("token", "id"),
        "identifier": ("token", "identifier"),
        "name": ("string", "name"),
        "mailbox-mss": ("string", "telecom.value"),
        "active": ("token", "active"),
    },
}
#: ``_include`` values served: value -> (source type, element, target type).
INCLUDES = {
    "PractitionerRole:organization": ("PractitionerRole", "organization", "Organization"),
    "PractitionerRole:practitioner": ("PractitionerRole", "practitioner", "Practitioner"),
}
_MODIFIERS = {"string": ("", "exact", "contains"), "token": ("",), "reference": ("",)}


class _Refused(Exception):
    """A request the server refuses with an OperationOutcome."""

    def __init__(self, status: int, code: str, diagnostics: str) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.code = code


@dataclass(slots=True)
class _StoredSearch:
    keys: list[str]
    includes: list[str]


def fold(text: str) -> str:
    """Case and accents ignored, as HAPI normalises strings."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


class AnnuaireMock(MockService):
    """The Annuaire Santé FHIR API emulator (see the module docstring).

    >>> with AnnuaireMock(TestPki.create(tmp)) as annuaire:      # doctest: +SKIP
    ...     annuaire.endpoint, annuaire.settings_table()["api_key"]
    """

    name: ClassVar[str] = "annuaire"
    fault_catalog: ClassVar[FaultCatalog] = HTTP_FAULTS.with_service(
        "http429",
        "http503",
        "http500",
        "loop_next",
        "foreign_next",
        "redirect",
        "not_a_bundle",
    )

    def __init__(
        self, pki: TestPki, *, retry_after: int = 1, **options: Unpack[ServerOptions]
    ) -> None:
        options.setdefault("require_client_cert", False)  # an API key, not a certificate
        super().__init__(pki, **options)
        self.retry_after = retry_after
        self._lock = threading.Lock()
        self.resources: dict[str, dict[str, Any]] = directory()
        self._searches: OrderedDict[str, _StoredSearch] = OrderedDict()

    # -- public helpers ------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        """The FHIR base URL (``https://127.0.0.1:<port>/fhir/v2``)."""
        return self.url + FHIR_PATH

    def settings_table(self) -> dict[str, str]:
        """The ``[annuaire]`` TOML table a client needs to talk to this mock."""
        return {"endpoint": self.endpoint, "api_key": API_KEY}

    def resource(self, key: str) -> dict[str, Any] | None:
        """A copy of the stored resource ``Type/id``."""
        with self._lock:
            found = self.resources.get(key)
            return copy.deepcopy(found) if found else None

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self.resources = directory()
            self._searches.clear()

    # -- dispatch ------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        base, get = FHIR_PATH, ("GET",)
        return [
            Route(base + "/metadata", "metadata", self._metadata, get),
            Route(base, "base", self._base, ("GET", "POST")),
            Route(base + "/<kind>", "search", self._search, ("GET", "POST")),
            Route(base + "/<kind>/<resource_id>", "read", self._read, get),
        ]

    def respond(
        self, route: Route, request: Request, exchange: Exchange, arguments: Mapping[str, Any]
    ) -> Response:
        exchange.details["operation"] = route.name
        gateway = self._gateway(request, exchange)
        if gateway is not None:
            return gateway
        try:
            return route.handler(request, exchange, **arguments)
        except _Refused as exc:
            exchange.details["error"] = exc.code
            return _outcome(exc.status, exc.code, str(exc))

    def _gateway(self, request: Request, exchange: Exchange) -> Response | None:
        """What the API gateway answers before the FHIR server: limits, then the key."""
        for fault, status in (("http429", 429), ("http503", 503)):
            if exchange.has_fault(fault):
                exchange.details["error"] = str(status)
                response = _gateway_json(
                    status,
                    "Rate limit exceeded" if status == 429 else "Service Unavailable",
                )
                response.headers["Retry-After"] = str(self.retry_after)
                return response
        if exchange.has_fault("redirect"):
            return Response(status=302, headers={"Location": FOREIGN_BASE + "/Practitioner"})
        if request.headers.get(API_HEADER) != API_KEY:
            exchange.details["error"] = "api-key"
            return _gateway_json(401, "Unauthorized")
        if exchange.has_fault("http500"):
            return _outcome(500, "exception", "Erreur interne du serveur (simulée)")
        if exchange.has_fault("not_a_bundle"):
            return _fhir_json({"resourceType": "Parameters", "parameter": []})
        return None

    def not_found(self, request: Request) -> Response:
        return _outcome(404, "not-found", f"Unknown resource type or path {request.path}")

    def method_not_allowed(self, request: Request, allowed: Sequence[str]) -> Response:
        response = _outcome(405, "not-supported", f"HTTP {request.method} is not supported here")
        response.headers["Allow"] = ", ".join(allowed)
        return response

    # -- handlers ------------------------------------------------------------------------

    def _metadata(self, request: Request, exchange: Exchange) -> Response:
        return _fhir_json(self.capability_statement())

    def _read(self, request: Request, exchange: Exchange, kind: str, resource_id: str) -> Response:
        exchange.details["operation"] = f"read {kind}"
        if kind not in SEARCH_PARAMS:
            raise _Refused(404, "not-supported", f"Unknown resource type '{kind}'")
        found = self.resource(f"{kind}/{resource_id}")
        if found is None:
            raise _Refused(404, "not-found", f"Resource {kind}/{resource_id} is not known")
        return _fhir_json(found)

    def _base(self, request: Request, exchange: Exchange) -> Response:
        if request.method == "POST":
            raise _Refused(405, "not-supported", "Batch and transaction bundles are not supported")
        if "_type" in request.args:
            raise _Refused(400, "not-supported", "Parameter _type not found")
        search_id = request.args.get("_getpages", "")
        if not search_id:
            raise _Refused(400, "invalid", "A search names one resource type: [base]/<type>?...")
        exchange.details["operation"] = "page"
        with self._lock:
            stored = self._searches.get(search_id)
        if stored is None:
            raise _Refused(410, "not-found", f'Search ID "{search_id}" does not exist')
        try:
            offset = max(0, int(request.args.get("_getpagesoffset", "0")))
            count = _count(request.args.get("_count"))
        except ValueError as exc:
            raise _Refused(400, "invalid", "Invalid _getpagesoffset or _count") from exc
        return self._page(search_id, stored, offset, count, request.url, exchange)

    def _search(self, request: Request, exchange: Exchange, kind: str) -> Response:
        if kind not in SEARCH_PARAMS:
            raise _Refused(404, "not-supported", f"Unknown resource type '{kind}'")
        if request.method == "POST":
            raise _Refused(405, "not-supported", f"HTTP POST on {kind} is not supported")
        exchange.details["operation"] = f"search {kind}"
        count = MAX_PAGE
        includes: list[str] = []
        criteria: list[tuple[str, str, str, str]] = []  # (param, modifier, kind, value)
        for name, value in request.args.items(multi=True):
            if name == "_count":
                try:
                    count = _count(value)
                except ValueError as exc:
                    raise _Refused(400, "invalid", f"Invalid _count '{value}'") from exc
                continue
            if name == "_include":
                if value not in INCLUDES or INCLUDES[value][0] != kind:
                    raise _Refused(400, "not-supported", f"Invalid _include value '{value}'")
                includes.append(value)
                continue
            param, _, modifier = name.partition(":")
            known = SEARCH_PARAMS[kind].get(param)
            if known is None:
                raise _Refused(400, "not-supported", f"Parameter {param} not found")
            if modifier not in _MODIFIERS[known[0]]:
                raise _Refused(400, "not-supported", f"Invalid modifier :{modifier} on {param}")
            criteria.append((param, modifier, known[0], value))
        with self._lock:
            keys = sorted(
                key
                for key, resource in self.resources.items()
                if resource["resourceType"] == kind and all(_matches(resource, c) for c in criteria)
            )
            search_id = str(uuid.uuid4())
            stored = _StoredSearch(keys, includes)
            self._searches[search_id] = stored
            while len(self._searches) > 200:
                self._searches.popitem(last=False)
        return self._page(search_id, stored, 0, count, request.url, exchange)

    def _page(
        self,
        search_id: str,
        stored: _StoredSearch,
        offset: int,
        count: int,
        self_url: str,
        exchange: Exchange,
    ) -> Response:
        page_keys = stored.keys[offset : offset + count]
        entries: list[dict[str, Any]] = []
        with self._lock:
            seen = set(page_keys)
            for key in page_keys:
                entries.append(self._entry(key, "match"))
            for value in stored.includes:
                _source, element, target = INCLUDES[value]
                for key in page_keys:
                    reference = self.resources[key].get(element, {}).get("reference", "")
                    if reference.startswith(target + "/") and reference in self.resources:
                        if reference not in seen:
                            seen.add(reference)
                            entries.append(self._entry(reference, "include"))
        links = [{"relation": "self", "url": self_url}]
        if offset + count < len(stored.keys):
            next_url = self._page_url(search_id, offset + count, count)
            if exchange.has_fault("loop_next"):
                next_url = self_url
            elif exchange.has_fault("foreign_next"):
                next_url = next_url.replace(self.endpoint, FOREIGN_BASE)
            links.append({"relation": "next", "url": next_url})
        if offset > 0:
            previous = self._page_url(search_id, max(0, offset - count), count)
            links.append({"relation": "previous", "url": previous})
        return _fhir_json(
            {
                "resourceType": "Bundle",
                "id": search_id,
                "meta": {"lastUpdated": _now()},
                "type": "searchset",
                "total": len(stored.keys),
                "link": links,
                "entry": entries,
            }
        )

    def _entry(self, key: str, mode: str) -> dict[str, Any]:
        return {
            "fullUrl": f"{self.endpoint}/{key}",
            "resource": copy.deepcopy(self.resources[key]),
            "search": {"mode": mode},
        }

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
        return f"{self.endpoint}?{query}"

    # -- CapabilityStatement -------------------------------------------------------------

    def capability_statement(self) -> dict[str, Any]:
        """What this server answers: its resource types and their search parameters."""
        resources = [
            {
                "type": kind,
                "interaction": [{"code": "read"}, {"code": "search-type"}],
                "searchInclude": sorted(k for k, v in INCLUDES.items() if v[0] == kind),
                "searchParam": [
                    {"name": name, "type": param[0]} for name, param in sorted(params.items())
                ],
            }
            for kind, params in SEARCH_PARAMS.items()
        ]
        return {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": "2025-10-17",
            "kind": "instance",
            "fhirVersion": "4.0.1",
            "format": ["application/fhir+json", "json"],
            "software": {"name": "segurlink Annuaire Santé mock"},
            "rest": [
                {
                    "mode": "server",
                    "documentation": "One resource type per query (no _type, no batch); "
                    f"{MAX_PAGE} resources per page at most.",
                    "resource": resources,
                    "searchParam": [{"name": "_count", "type": "number"}],
                }
            ],
        }


# -- matching --------------------------------------------------------------------------------


def _values(resource: Mapping[str, Any], path: str) -> list[Any]:
    """The values at ``path`` (dotted, lists flattened)."""
    current: list[Any] = [resource]
    for step in path.split("."):
        following: list[Any] = []
        for item in current:
            value = item.get(step) if isinstance(item, Mapping) else None
            if isinstance(value, list):
                following.extend(value)
            elif value is not None:
                following.append(value)
        current = following
    return current


def _strings(resource: Mapping[str, Any], path: str) -> list[str]:
    if path == "name" and resource.get("resourceType") == "Practitioner":
        names = _values(resource, "name")
        return [
            " ".join([n.get("family", ""), *n.get("given", [])]).strip()
            for n in names
            if isinstance(n, Mapping)
        ]
    return [str(v) for v in _values(resource, path) if isinstance(v, str | int)]


def _string_match(candidates: list[str], modifier: str, wanted: str) -> bool:
    if modifier == "exact":
        return wanted in candidates
    wanted = fold(wanted)
    if modifier == "contains":
        return any(wanted in fold(c) for c in candidates)
    return any(fold(c).startswith(wanted) for c in candidates)


def _token_match(resource: Mapping[str, Any], path: str, wanted: str) -> bool:
    if path == "id":
        return str(resource.get("id")) == wanted
    if path == "active":
        return str(resource.get("active", True)).lower() == wanted.lower()
    system, bar, value = wanted.rpartition("|")
    for identifier in _values(resource, path):
        if not isinstance(identifier, Mapping) or identifier.get("value") != value:
            continue
        if not bar or identifier.get("system", "") == system:
            return True
    return False


def _reference_match(resource: Mapping[str, Any], element: str, target: str, wanted: str) -> bool:
    reference = _values(resource, element + ".reference")
    full = wanted if "/" in wanted else f"{target}/{wanted}"
    return full in reference


_TARGETS = {"practitioner": "Practitioner", "organization": "Organization"}


def _matches(resource: Mapping[str, Any], criterion: tuple[str, str, str, str]) -> bool:
    param, modifier, kind, value = criterion
    path = SEARCH_PARAMS[resource["resourceType"]][param][1]
    alternatives = [v for v in value.split(",") if v]  # a comma is OR
    tests: Callable[[str], bool]
    if kind == "string":

        def tests(one: str) -> bool:
            return _string_match(_strings(resource, path), modifier, one)
    elif kind == "token":

        def tests(one: str) -> bool:
            return _token_match(resource, path, one)
    else:

        def tests(one: str) -> bool:
            return _reference_match(resource, path, _TARGETS[param], one)

    return any(tests(one) for one in alternatives)


# -- answers ---------------------------------------------------------------------------------


def _count(value: str | None) -> int:
    if value is None or value == "":
        return MAX_PAGE
    count = int(value)
    if count < 1:
        raise ValueError(value)
    return min(count, MAX_PAGE)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def _fhir_json(resource: dict[str, Any], status: int = 200) -> Response:
    return Response(
        json.dumps(resource, ensure_ascii=False),
        status=status,
        content_type="application/fhir+json; charset=utf-8",
    )


def _outcome(status: int, code: str, diagnostics: str) -> Response:
    issue = {"severity": "error", "code": code, "diagnostics": diagnostics}
    return _fhir_json({"resourceType": "OperationOutcome", "issue": [issue]}, status)


def _gateway_json(status: int, message: str) -> Response:
    # The API gateway's own error format, not FHIR.
    return Response(
        json.dumps({"message": message, "http_status_code": status}),
        status=status,
        content_type="application/json",
    )
