"""A ROR FHIR R4 server on loopback: token endpoint, searches, capacity PATCH, ``$export``.

:class:`RorMock` serves the offer of :mod:`segurlink_mocks.ror.data` (generated from a
seed at start: EJ → EG → internal units, healthcare services of hospitals, nursing homes,
home care and disability services, their locations and capacities, practitioners) and
speaks the ROR wire format:

* ``POST /auth/realms/ror/protocol/openid-connect/token``: ``client_credentials`` with
  :data:`CLIENT_ID` / :data:`CLIENT_SECRET`, or any client certificate of the test CA
  (mTLS, client id :data:`MTLS_CLIENT_ID`); tokens live ``token_lifetime`` seconds;
* ``/ws-diffusion-fhir``: ``metadata`` (this server's CapabilityStatement), reads and
  searches of Organization, HealthcareService, Location, Practitioner, PractitionerRole
  with the parameters of the consumer CapabilityStatement (rules in
  :mod:`segurlink_mocks.ror.search`), ``_include`` / ``_include:iterate`` /
  ``_revinclude`` (:data:`INCLUDES`), ``_count`` (200 by default, at most 1000; ``0``
  gives the total only, like ``_summary=count``), ``_elements`` (the matches keep only the
  listed elements, tagged ``SUBSETTED``), ``_sort`` (``_id``, ``_lastUpdated``, ``name``),
  HAPI paging links (``?_getpages=<id>&_getpagesoffset=N&_count=N&_bundletype=searchset``)
  and ``total``. Unknown parameters are refused (400) as HAPI does. The four ``Ror-*``
  headers and a valid bearer token are required (403 / 401 with an OperationOutcome);
* ``PATCH /ws-synchro-dispo-lits-fhir/Location?identifier=<idNatStructEG>/<syncId>``:
  FHIRPath Patch ``Parameters`` (replace or add of a ``ror-location-supported-capacity``
  indicator) with the 404 / 412 / 400 answers of the ANS guide; the ``Ror-*`` headers
  must be absent; what is stored is described in :mod:`segurlink_mocks.ror.capacity`;
* ``GET /ws-diffusion-fhir/$export`` (``Prefer: respond-async``) → 202 +
  ``Content-Location``; the poll answers 202 (``X-Progress``, ``Retry-After``)
  ``export_polls`` times, then the manifest; outputs are JSON Bundles (not NDJSON).

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
import secrets
import threading
import time
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
from . import capacity
from .data import CAPACITY, RorDataset, generate_dataset
from .search import REFUSED, SEARCH_PARAMS, BadRequest, Search, date_range, fold

__all__ = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "FHIR_PATH",
    "INCLUDES",
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
#: ``_include`` / ``_revinclude`` values served: value → (source type, element, target).
INCLUDES: dict[str, tuple[str, str, str]] = {
    "HealthcareService:organization": ("HealthcareService", "providedBy", "Organization"),
    "HealthcareService:location": ("HealthcareService", "location", "Location"),
    "Organization:partof": ("Organization", "partOf", "Organization"),
    "PractitionerRole:practitioner": ("PractitionerRole", "practitioner", "Practitioner"),
    "PractitionerRole:service": ("PractitionerRole", "healthcareService", "HealthcareService"),
}
_SUBSETTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "SUBSETTED",
}
_IDENTIFYING = ("resourceType", "id", "meta")


@dataclass(slots=True)
class _StoredSearch:
    keys: list[str]
    includes: list[tuple[str, str]]
    elements: frozenset[str] | None
    created: float


@dataclass(slots=True)
class _ExportJob:
    types: list[str]
    since: dt.datetime | None
    polls_left: int
    created: str


class RorMock(MockService):
    """The ROR FHIR server emulator (see the module docstring).

    >>> with RorMock(TestPki.create(tmp)) as ror:               # doctest: +SKIP
    ...     ror.fhir_base, ror.token_url
    """

    name: ClassVar[str] = "ror"
    fault_catalog: ClassVar[FaultCatalog] = HTTP_FAULTS.with_service(
        "http429", "http503", "http500", "expired_token"
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
        **options: Unpack[ServerOptions],
    ) -> None:
        options.setdefault("require_client_cert", False)  # tokens, or mTLS when presented
        super().__init__(pki, **options)
        self.seed = seed
        self.scale = scale
        self.token_lifetime = token_lifetime
        self.retry_after = retry_after
        self.export_polls = export_polls
        self.export_chunk = export_chunk
        self._data_lock = threading.RLock()
        self._lock = threading.Lock()  # tokens, stored searches, export jobs
        self.data = generate_dataset(seed, scale=scale)
        self._search = Search(self.data.resources)
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
            self._search = Search(self.data.resources)
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

    # -- dispatch ------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        fhir, get = FHIR_PATH, ("GET",)
        return [
            # Token requests never consume a fault: a fault aims at the FHIR call after it.
            Route(TOKEN_PATH, "token", self._token, takes_faults=False),
            Route(SYNC_PATH + "/Location", "capacity-patch", self._capacity_patch, ("PATCH",)),
            Route(fhir + "/metadata", "metadata", self._metadata, get),
            Route(fhir, "page", self._page, get),
            Route(fhir + "/$export", "export", self._export_kickoff, get),
            Route(fhir + "/$export-poll-status", "export-poll", self._export_poll, get),
            Route(
                fhir + "/$export-output/<job_id>/<kind>/<part>",
                "export-output",
                self._export_output,
                get,
            ),
            Route(fhir + "/<kind>", "search", self._new_search, get),
            Route(fhir + "/<kind>/<resource_id>", "read", self._read, get),
        ]

    def respond(
        self, route: Route, request: Request, exchange: Exchange, arguments: Mapping[str, Any]
    ) -> Response:
        exchange.details["operation"] = route.name
        try:
            if route.name not in ("token", "metadata"):
                # The Ror-* headers go with the diffusion API, never with the PATCH.
                self._authorise(request, exchange, ror_headers=route.name != "capacity-patch")
            return route.handler(request, exchange, **arguments)
        except BadRequest as exc:
            exchange.details["error"] = exc.code
            return _outcome(exc.status, exc.code, str(exc))
        except _RetryLater as exc:
            exchange.details["error"] = str(exc.status)
            response = _outcome(
                exc.status,
                "throttled" if exc.status == 429 else "transient",
                "Trop de requêtes" if exc.status == 429 else "Service temporairement indisponible",
            )
            response.headers["Retry-After"] = str(self.retry_after)
            return response

    def not_found(self, request: Request) -> Response:
        return _outcome(404, "not-found", f"No route for {request.path}")

    def method_not_allowed(self, request: Request, allowed: Sequence[str]) -> Response:
        response = _outcome(405, "not-supported", f"Method {request.method} not allowed here")
        response.headers["Allow"] = ", ".join(allowed)
        return response

    def _authorise(self, request: Request, exchange: Exchange, *, ror_headers: bool) -> None:
        if exchange.has_fault("http429"):
            raise _RetryLater(429)
        if exchange.has_fault("http503"):
            raise _RetryLater(503)
        if exchange.has_fault("http500"):
            raise BadRequest("Erreur interne du serveur (simulée)", "exception", 500)
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        with self._lock:
            known = self._tokens.get(token)
        if not token or known is None:
            raise BadRequest("Jeton d'accès absent ou inconnu", "login", 401)
        if exchange.has_fault("expired_token") or known[1] < time.monotonic():
            raise BadRequest("Jeton d'accès expiré", "expired", 401)
        exchange.details["client"] = known[0]
        present = [h for h in ROR_HEADERS if request.headers.get(h)]
        if ror_headers and len(present) != len(ROR_HEADERS):
            missing = [h for h in ROR_HEADERS if h not in present]
            raise BadRequest(f"Header(s) manquant(s) : {', '.join(missing)}", "security", 403)
        if not ror_headers and present:
            raise BadRequest(
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

    def _metadata(self, request: Request, exchange: Exchange) -> Response:
        return _fhir_json(self.capability_statement())

    def _read(self, request: Request, exchange: Exchange, kind: str, resource_id: str) -> Response:
        exchange.details["operation"] = f"read {kind}"
        if kind not in SEARCH_PARAMS:
            raise BadRequest(f"Unknown resource type '{kind}'", "not-supported", 404)
        found = self.resource(f"{kind}/{resource_id}")
        if found is None:
            raise BadRequest(f"Resource {kind}/{resource_id} is not known", "not-found", 404)
        return _fhir_json(found)

    def _new_search(self, request: Request, exchange: Exchange, kind: str) -> Response:
        exchange.details["operation"] = f"search {kind}"
        params = list(request.args.items(multi=True))
        count = _count(request.args.get("_count"))
        summary = request.args.get("_summary")
        if summary not in (None, "count", "false"):
            raise BadRequest(
                f"_summary={summary} is not supported by this mock (count and false are)",
                "not-supported",
            )
        total_mode = request.args.get("_total")
        if total_mode not in (None, "none", "estimate", "accurate"):
            raise BadRequest(f"Invalid _total '{total_mode}'")
        elements = _elements(request.args.getlist("_elements"))
        includes = [(k, v) for k, v in params if k.split(":")[0] in ("_include", "_revinclude")]
        for name, value in includes:
            base, _, modifier = name.partition(":")
            if value == "Task:focus" and base == "_revinclude":
                raise BadRequest("_revinclude=Task:focus: the mock holds no Task", "not-supported")
            if value not in INCLUDES or modifier not in ("", "iterate"):
                raise BadRequest(f"Invalid {name} value '{value}'", "not-supported")
        with self._data_lock:
            matches = self._search.run(kind, params)
            sort = request.args.get("_sort")
            if sort:
                matches = _sorted(matches, sort)
            keys = [f"{r['resourceType']}/{r['id']}" for r in matches]
        if summary == "count" or count == 0:
            return _fhir_json(
                {
                    "resourceType": "Bundle",
                    "id": str(uuid.uuid4()),
                    "meta": {"lastUpdated": _now()},
                    "type": "searchset",
                    "total": len(keys),
                    "link": [{"relation": "self", "url": request.url}],
                }
            )
        search_id = str(uuid.uuid4())
        with self._lock:
            self._searches[search_id] = _StoredSearch(keys, includes, elements, time.monotonic())
            while len(self._searches) > 200:
                self._searches.popitem(last=False)
        return self._bundle(search_id, 0, count, request.url)

    def _page(self, request: Request, exchange: Exchange) -> Response:
        search_id = request.args.get("_getpages", "")
        if not search_id:
            raise BadRequest(f"Unknown path {request.path}", "not-found", 404)
        with self._lock:
            stored = self._searches.get(search_id)
        if stored is None:
            raise BadRequest(
                f'Search ID "{search_id}" does not exist and may have expired', "not-found", 410
            )
        try:
            offset = int(request.args.get("_getpagesoffset", "0"))
        except ValueError as exc:
            raise BadRequest("Invalid _getpagesoffset") from exc
        count = _count(request.args.get("_count")) or 200
        return self._bundle(search_id, max(0, offset), count, request.url)

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
                entries.append(self._entry(key, "match", stored.elements))
            for key in self._included(page_keys, stored.includes):
                if key not in seen:
                    seen.add(key)
                    entries.append(self._entry(key, "include", None))
        links = [{"relation": "self", "url": self_url}]
        if offset + count < len(stored.keys):
            links.append(
                {"relation": "next", "url": self._page_url(search_id, offset + count, count)}
            )
        if offset > 0:
            links.append(
                {
                    "relation": "previous",
                    "url": self._page_url(search_id, max(0, offset - count), count),
                }
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

    def _entry(self, key: str, mode: str, elements: frozenset[str] | None) -> dict[str, Any] | None:
        resource = self.data.resources.get(key)
        if resource is None:
            return None
        if elements is not None:
            resource = _subset(resource, elements)
        return {
            "fullUrl": f"{self.fhir_base}/{key}",
            "resource": resource,
            "search": {"mode": mode},
        }

    def _included(self, keys: list[str], includes: list[tuple[str, str]]) -> list[str]:
        """``_include`` / ``_revinclude`` of one page: each once, ``:iterate`` to a fixpoint."""
        resources = self.data.resources
        out: list[str] = []
        seen = set(keys)

        def apply(name: str, value: str, sources: list[str]) -> list[str]:
            source_type, element, target = INCLUDES[value]
            found: list[str] = []
            if name.startswith("_include"):
                for key in sources:
                    resource = resources.get(key)
                    if resource is None or resource["resourceType"] != source_type:
                        continue
                    for ref in _refs(resource, element):
                        found.append(ref)
            else:
                wanted = {k for k in sources if k.startswith(target + "/")}
                if wanted:
                    for resource in self._search.of_type(source_type):
                        if any(ref in wanted for ref in _refs(resource, element)):
                            found.append(f"{source_type}/{resource['id']}")
            return [k for k in found if k in resources]

        def add(found: list[str]) -> list[str]:
            new = [k for k in dict.fromkeys(found) if k not in seen]
            seen.update(new)
            out.extend(new)
            return new

        for name, value in includes:
            if not name.endswith(":iterate"):
                add(apply(name, value, keys))
        iterating = [(n, v) for n, v in includes if n.endswith(":iterate")]
        frontier = list(keys) + out
        while iterating and frontier:
            found: list[str] = []
            for name, value in iterating:
                found.extend(apply(name, value, frontier))
            frontier = add(found)
        return out

    # -- capacity PATCH ------------------------------------------------------------------

    def _capacity_patch(self, request: Request, exchange: Exchange) -> Response:
        content_type = (request.mimetype or "").lower()
        if content_type != "application/fhir+json":
            raise BadRequest(
                f"Content-Type {content_type!r} is not application/fhir+json", "not-supported", 415
            )
        identifier = request.args.get("identifier", "")
        if "/" not in identifier:
            raise BadRequest("identifier must be '<IdNatStructEtab>/<id externe>'")
        try:
            body = json.loads(request.get_data())
        except (ValueError, RecursionError) as exc:
            raise BadRequest("The body is not JSON") from exc
        operations = capacity.patch_operations(body)
        with self._data_lock:
            self.patches.append(body)
            matches = [
                r
                for r in self.data.of_type("Location")
                if any(
                    i.get("value") == identifier and _type_code(i) == "26"
                    for i in r.get("identifier", [])
                )
            ]
            if not matches:
                return _outcome(
                    404,
                    "not-found",
                    "La Location avec l'identifiant externe de synchro OU "
                    f"l'identifiant unique de saisie : '{identifier}' n'a pas été "
                    "trouvée.",
                    expression=["Location"],
                )
            if len(matches) > 1:
                return _outcome(
                    412,
                    "multiple-matches",
                    f"La Location recherchée n'est pas unique, il y a '{len(matches)}' résultats",
                    expression=["Location"],
                )
            location = matches[0]
            updated = copy.deepcopy(location)
            for op_type, path, extension in operations:
                exchange.details["patch"] = op_type
                problem = capacity.indicator_problems(extension)
                if problem:
                    return _business_rule(problem)
                keys = capacity.indicator_keys(extension)
                existing = [
                    i
                    for i, e in enumerate(updated.get("extension", []))
                    if e.get("url") == CAPACITY and capacity.indicator_keys(e) == keys
                ]
                stored = capacity.stored_indicator(extension)
                if op_type == "replace":
                    criteria = capacity.path_criteria(path)
                    if criteria != keys:
                        return _business_rule(
                            "Les critères du FhirPath ne correspondent pas à un indicateur "
                            "valide : " + capacity.describe(criteria)
                        )
                    if not existing:
                        return _outcome(
                            404,
                            "not-found",
                            "Les données fournies ne permettent pas de déterminer l'indicateur "
                            "à mettre à jour: Aucun indicateur présent en base ne correspond",
                            expression=f"Location.extension.where(url='{CAPACITY}')",
                        )
                    updated["extension"][existing[0]] = stored
                else:
                    if existing:
                        return _business_rule(
                            "L'indicateur existe déjà : " + capacity.describe(keys),
                            code="duplicate",
                        )
                    _insert_indicator(updated, stored)
            updated["meta"] = {**updated["meta"], "lastUpdated": _now()}
            self.data.resources[f"Location/{location['id']}"] = updated
        return _fhir_json(updated)

    # -- $export -------------------------------------------------------------------------

    def _export_kickoff(self, request: Request, exchange: Exchange) -> Response:
        if request.headers.get("Prefer", "").lower() != "respond-async":
            raise BadRequest("$export requires the header Prefer: respond-async")
        output_format = request.args.get("_outputFormat", "application/fhir+json")
        if output_format not in ("application/fhir+json", "application/json"):
            raise BadRequest(
                f"_outputFormat {output_format!r} is not supported (application/fhir+json only)",
                "not-supported",
            )
        types = [t for t in request.args.get("_type", "").split(",") if t] or list(SEARCH_PARAMS)
        unknown = [t for t in types if t not in SEARCH_PARAMS]
        if unknown:
            raise BadRequest(f"Unknown _type {unknown}", "not-supported")
        since = request.args.get("_since")
        try:
            since_at = date_range(since)[0] if since else None
        except ValueError as exc:
            raise BadRequest(f"Invalid _since '{since}'") from exc
        job_id = uuid.uuid4().hex
        with self._lock:
            self._exports[job_id] = _ExportJob(types, since_at, self.export_polls, _now())
        return Response(
            status=202,
            headers={"Content-Location": f"{self.fhir_base}/$export-poll-status?_jobId={job_id}"},
        )

    def _export_poll(self, request: Request, exchange: Exchange) -> Response:
        job_id = request.args.get("_jobId", "")
        with self._lock:
            job = self._exports.get(job_id)
            if job is None:
                raise BadRequest(f"Unknown export job {job_id}", "not-found", 404)
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
            f"{kind}/{r['id']}"
            for r in self.data.of_type(kind)
            if job.since is None or date_range(r["meta"]["lastUpdated"])[0] >= job.since
        ]

    def _export_output(
        self, request: Request, exchange: Exchange, job_id: str, kind: str, part: str
    ) -> Response:
        if not part.isdigit():
            raise BadRequest("Unknown export output", "not-found", 404)
        with self._lock:
            job = self._exports.get(job_id)
        if job is None or kind not in job.types:
            raise BadRequest("Unknown export output", "not-found", 404)
        with self._data_lock:
            keys = self._export_keys(job, kind)
            number = int(part)
            chunk = keys[(number - 1) * self.export_chunk : number * self.export_chunk]
            bundle = {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": self.data.resources[k]} for k in chunk],
            }
            body = json.dumps(bundle, ensure_ascii=False)
        return Response(body, content_type="application/fhir+json; charset=utf-8")

    # -- CapabilityStatement -------------------------------------------------------------

    def capability_statement(self) -> dict[str, Any]:
        """This server's CapabilityStatement: what it evaluates and what it refuses."""
        resources = []
        for kind, params in SEARCH_PARAMS.items():
            search_params = []
            for name, param in sorted(params.items()):
                doc = param.doc
                if param.group:
                    doc = (doc + "; " if doc else "") + (
                        f"evaluated with the other {param.group} parameters on one and the "
                        f"same {param.group} instance"
                    )
                entry: dict[str, Any] = {"name": name, "type": param.type}
                if doc:
                    entry["documentation"] = doc
                search_params.append(entry)
            resources.append(
                {
                    "type": kind,
                    "interaction": [{"code": "read"}, {"code": "search-type"}],
                    "searchInclude": sorted(k for k, v in INCLUDES.items() if v[0] == kind),
                    "searchRevInclude": sorted(k for k, v in INCLUDES.items() if v[2] == kind),
                    "searchParam": search_params,
                }
            )
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
                    "documentation": "Refused with a 400: "
                    + "; ".join(
                        f"{kind} {name} ({why})"
                        for kind, names in REFUSED.items()
                        for name, why in names.items()
                    ),
                    "resource": resources,
                    "searchParam": [
                        {"name": n, "type": "special"}
                        for n in (
                            "_count",
                            "_sort",
                            "_include",
                            "_revinclude",
                            "_elements",
                            "_summary",
                        )
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


class _RetryLater(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def _type_code(identifier: dict[str, Any]) -> str:
    codings = (identifier.get("type") or {}).get("coding") or [{}]
    return str(codings[0].get("code", ""))


def _refs(resource: dict[str, Any], element: str) -> list[str]:
    value = resource.get(element)
    items = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
    return [str(v.get("reference")) for v in items if isinstance(v, dict) and v.get("reference")]


def _insert_indicator(location: dict[str, Any], indicator: dict[str, Any]) -> None:
    """Add an indicator after the last one (before the creation date, as the ROR orders)."""
    extensions = location.setdefault("extension", [])
    last = max((i for i, e in enumerate(extensions) if e.get("url") == CAPACITY), default=-1)
    extensions.insert(last + 1 if last >= 0 else len(extensions), indicator)


def _count(value: str | None) -> int:
    if value is None or value == "":
        return 200
    try:
        count = int(value)
    except ValueError as exc:
        raise BadRequest(f"Invalid _count '{value}'") from exc
    if count < 0:
        raise BadRequest(f"Invalid _count '{value}'")
    return min(count, 1000)


def _elements(values: list[str]) -> frozenset[str] | None:
    if not values:
        return None
    names = {n.strip() for v in values for n in v.split(",") if n.strip()}
    return frozenset(n.split(".", 1)[-1] if "." in n else n for n in names)


def _subset(resource: dict[str, Any], elements: frozenset[str]) -> dict[str, Any]:
    kept = {k: v for k, v in resource.items() if k in elements or k in _IDENTIFYING}
    meta = dict(kept.get("meta") or {})
    meta["tag"] = [*meta.get("tag", []), _SUBSETTED]
    kept["meta"] = meta
    return kept


def _sorted(resources: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    for key in reversed(sort.split(",")):
        reverse = key.startswith("-")
        key = key.lstrip("-")
        getter: Callable[[dict[str, Any]], Any]
        if key == "_lastUpdated":

            def getter(r: dict[str, Any]) -> Any:
                return date_range(r["meta"]["lastUpdated"])[0]
        elif key == "_id":

            def getter(r: dict[str, Any]) -> Any:
                return r["id"]
        elif key == "name":

            def getter(r: dict[str, Any]) -> Any:
                return fold(r.get("name", ""))
        else:
            raise BadRequest(f"Unsupported _sort '{key}'", "not-supported")
        resources = sorted(resources, key=getter, reverse=reverse)
    return resources


def _business_rule(message: str, code: str = "business-rule") -> Response:
    return _outcome(400, code, message, expression=[f"Location.extension('{CAPACITY}')"])


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
