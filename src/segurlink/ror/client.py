"""The ROR client: OAuth2 token, ``Ror-*`` headers, lazy paging, capacity PATCH, ``$export``.

Only bytes move here; queries, bundles and patches are built and read by
:mod:`segurlink.ror.messages`. fhir.resources (R4B models, which accept the French R4
profiles) is used at the boundary: in ``validation="full"`` mode (the default) every
received resource is validated by its pydantic model before being decoded into segurlink's
typed values. :class:`~segurlink.ror._validation.ResourceValidator` gives the verdict of
``model_validate`` while checking each distinct element once (the same codings and
capacity qualifiers recur in every Location), several times faster than ``model_validate``
on each resource; ``validation="fast"`` skips pydantic altogether (typed values built
straight from the JSON). ``benchmarks/ror.py`` measures the three.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar, Unpack
from urllib.parse import quote, urlsplit

import requests

from .._audit import ExchangeLog
from .._clock import Clock, Sleep
from .._flow import drive
from .._http import bounded
from .._oauth import ClientCredentials
from .._retry import RetryPolicy, parse_retry_after
from .._transport import EXCERPT_CHARS, STREAM_CHUNK_BYTES, Answer, HttpClient, HttpTransport
from ..config import Settings
from ..errors import (
    ConfigurationError,
    FhirError,
    HttpStatusError,
    InputError,
    Issue,
    MalformedResponse,
    TransportTimeout,
    ValidationError,
)
from . import messages
from ._validation import ResourceValidator
from .flows import ExportStatus, Fetch, Poll, Report, Wait, export_polling, paging
from .messages import (
    DisabilityCriteria,
    HomeCareCriteria,
    Include,
    LocationCriteria,
    NursingHomeCriteria,
    OrganizationCriteria,
    ServiceCriteria,
)
from .models import (
    CapacityPublication,
    CapacityUpdate,
    ExportFile,
    ExportProgress,
    ExportResult,
    HealthcareService,
    Location,
    Organization,
    PractitionerRole,
    SearchPage,
)
from .settings import RorSettings, Validation

__all__ = ["RorClient", "RorSettings", "SearchResults", "to_fhir_model"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
ProgressCallback = Callable[[ExportProgress], None]

_FHIR_JSON = "application/fhir+json"
#: Attempts of one call answered 429/503 (the first included), and their backoff.
RETRY_ATTEMPTS = 4
RETRY_INITIAL = 1.0
RETRY_MAXIMUM = 8.0


def to_fhir_model(resource: Mapping[str, Any]) -> Any:
    """The fhir.resources (R4B) model of a FHIR JSON resource, validated.

    Raises :class:`~segurlink.errors.ValidationError` with one issue per pydantic error.

    >>> to_fhir_model({"resourceType": "Location", "id": "x", "status": "active"}).status
    'active'
    """
    import pydantic
    from fhir.resources.R4B import get_fhir_model_class

    kind = resource.get("resourceType")
    try:
        model = get_fhir_model_class(str(kind))
    except (ValueError, KeyError) as exc:
        raise ValidationError(f"unknown FHIR resource type {kind!r}") from exc
    try:
        return model.model_validate(resource)
    except pydantic.ValidationError as exc:
        issues = [
            Issue(
                "error",
                str(err.get("msg", "")),
                ".".join(str(p) for p in err.get("loc", ())),
                str(err.get("type", "")),
            )
            for err in exc.errors()[:20]
        ]
        raise ValidationError(
            f"{kind}/{resource.get('id', '?')} does not match the FHIR R4 model", issues
        ) from exc


class SearchResults(Generic[T]):
    """A lazy search: iterating fetches one page at a time (memory stays flat).

    ``total`` is known once the first page has been read (when the server gives it);
    ``truncated`` is True when iteration stopped on the page cap with more pages left.
    A check the server cannot make (``locations(min_capacity=N)``: a sum over indicators)
    is applied to the matches of each page: ``dropped`` counts those it left out, and
    ``total`` stays the server's count.

    >>> for service in client.services(specialty="022"):    # doctest: +SKIP
    ...     print(service.name, service.organization.name)
    """

    def __init__(
        self,
        client: RorClient,
        query: messages.SearchQuery,
        *,
        max_pages: int | None,
        validation: Validation,
        keep: Callable[[Any], bool] | None = None,
    ) -> None:
        self.query = query
        self.max_pages = max_pages
        self.total: int | None = None
        self.truncated = False
        self.pages_read = 0
        self.dropped = 0
        self._keep = keep
        self._client = client
        self._validation = validation

    def pages(self) -> Iterator[SearchPage[T]]:
        """Yield each page in turn, following the ``next`` links (:func:`.flows.paging`)."""
        self.pages_read = 0
        self.truncated = False
        self.dropped = 0
        flow = paging(self.query.url(self._client.settings.endpoint), max_pages=self.max_pages)
        try:
            step = next(flow)
            while True:
                page = self._fetch(step)
                self.pages_read += 1
                if page.total is not None:
                    self.total = page.total
                next_url = page.next_url
                if next_url is not None:
                    self._client._check_same_origin(next_url)
                if self._keep is not None:
                    kept = tuple(m for m in page.matches if self._keep(m))
                    self.dropped += len(page.matches) - len(kept)
                    page = replace(page, matches=kept)
                yield page
                del page  # hold no page while the next one is fetched and parsed
                step = flow.send(next_url)
        except StopIteration as stop:
            self.truncated = bool(stop.value)

    def _fetch(self, step: Fetch) -> SearchPage[T]:
        bundle = self._client._get_json(step.url, operation=f"search {self.query.resource_type}")
        if self._validation == "full":
            self._client._validate_entries(bundle)
        return _decoded(step.url, messages.parse_bundle, bundle, self.query.resource_type)

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            matches = page.matches
            del page
            yield from matches
            del matches  # same: memory holds one page at a time, not two

    def first(self) -> T | None:
        """The first match, fetching only the first page."""
        return next(iter(self), None)


class RorClient(HttpClient):
    """Client of the ROR FHIR API (consultation, capacity publication, bulk export).

    >>> with RorClient.from_settings(settings) as ror:       # doctest: +SKIP
    ...     org = ror.organizations(finess="450000088").first()
    ...     beds = ror.locations(commune="45234", capacity_status="02", min_capacity=1)
    ...     ror.publish_capacity("1450000088/UF1234", CapacityUpdate(count=3))
    """

    def __init__(
        self,
        settings: RorSettings,
        *,
        session: requests.Session | None = None,
        log: ExchangeLog | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        self.settings = settings
        self._transport = HttpTransport.for_service(
            "ror", "the ROR", settings, session=session, log=log
        )
        self._sleep = sleep or time.sleep
        self._clock = clock or time.time
        self._tokens = ClientCredentials(
            self._transport,
            token_url=settings.token_url,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            name="ROR",
            clock=self._clock,
        )
        self._retry = RetryPolicy(
            initial=RETRY_INITIAL,
            maximum=RETRY_MAXIMUM,
            max_attempts=RETRY_ATTEMPTS,
            max_retry_after=settings.max_retry_wait,
        )
        self._validator = ResourceValidator()
        self._origins = {
            (parts.scheme, parts.netloc)
            for parts in map(urlsplit, (settings.endpoint, settings.capacity_endpoint))
        }

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        session: requests.Session | None = None,
        log: ExchangeLog | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
    ) -> RorClient:
        """A client for the ``[ror]`` table of ``settings``."""
        return cls(
            RorSettings.from_settings(settings), session=session, log=log, clock=clock, sleep=sleep
        )

    @property
    def session(self) -> requests.Session:
        """The HTTP session of the client (built from the settings, or the caller's)."""
        return self._transport.session

    # -- token ---------------------------------------------------------------------------

    @property
    def tokens(self) -> ClientCredentials:
        """The client-credentials token source (an ``AccessTokenSource``)."""
        return self._tokens

    def token(self, *, refresh: bool = False) -> str:
        """A valid access token, fetched with ``client_credentials`` and cached.

        Renewed when less than 30 s (or a tenth of its lifetime) remain, or when
        ``refresh`` is set (the server said 401).
        """
        return self._tokens.refresh() if refresh else self._tokens.access_token()

    # -- transport -----------------------------------------------------------------------

    def _check_same_origin(self, url: str) -> None:
        # A paging or export link elsewhere would receive our bearer token: refuse it.
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) not in self._origins:
            raise MalformedResponse(f"the server sent a link to another origin: {url}", url=url)

    def _send(
        self,
        method: str,
        url: str,
        *,
        operation: str,
        ror_headers: bool = True,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        stream: bool = False,
        retry_statuses: Iterable[int] = (429, 503),
        expected: Iterable[int] = (200,),
    ) -> Answer:
        """One call with the token; 401 renews it once; 429/503 wait (``Retry-After``,
        else backoff with jitter: :class:`~segurlink._retry.RetryPolicy`)."""
        retry_statuses = frozenset(retry_statuses)
        expected = frozenset(expected)
        data = json.dumps(json_body).encode() if json_body is not None else None
        refreshed = False
        attempt = 0
        started = self._clock()
        while True:
            attempt += 1
            send_headers = {"Accept": _FHIR_JSON, "Authorization": f"Bearer {self.token()}"}
            if ror_headers:
                send_headers.update(self.settings.ror_headers)
            if headers:
                send_headers.update(headers)
            if data is not None:
                send_headers.setdefault("Content-Type", _FHIR_JSON)
            answer = self._transport.send(
                operation, method, url, content=data, headers=send_headers, stream=stream
            )
            status = answer.status
            if status == 401 and not refreshed:
                answer.close()
                refreshed = True
                self.token(refresh=True)
                continue
            if status in retry_statuses:
                wait = self._retry.next_delay(
                    attempt,
                    self._clock() - started,
                    retry_after=parse_retry_after(answer.headers.get("Retry-After")),
                )
                if wait is not None:
                    answer.close()
                    logger.info("ROR answered %s; retrying in %.1f s", status, wait)
                    self._sleep(wait)
                    continue
            if status in expected:
                return answer
            raise self._error(answer, url)

    def _error(self, answer: Answer, url: str) -> Exception:
        try:
            payload = answer.json()
        except MalformedResponse:
            payload = None
        issues = messages.outcome_issues(payload)
        status = answer.status
        if issues:
            first = issues[0]
            return FhirError(
                f"ROR answered HTTP {status}: {first.rule} {first.message}".strip(),
                status=status,
                issues=issues,
            )
        return HttpStatusError(
            f"ROR answered HTTP {status} without an OperationOutcome",
            status=status,
            url=url,
            body_excerpt=answer.text[:EXCERPT_CHARS],
        )

    def _get_json(self, url: str, *, operation: str) -> Any:
        self._check_same_origin(url)
        answer = self._send("GET", url, operation=operation)
        payload = answer.json()
        if payload is None:
            raise MalformedResponse(
                f"the ROR answer is not JSON ({answer.headers.get('Content-Type', '?')})",
                url=url,
            )
        return payload

    def _validate_entries(self, bundle: Any) -> None:
        if not isinstance(bundle, Mapping):
            return
        for entry in bundle.get("entry") or ():
            resource = entry.get("resource") if isinstance(entry, Mapping) else None
            if isinstance(resource, Mapping):
                self._validator.validate(resource)

    # -- searches ------------------------------------------------------------------------

    def search(
        self,
        query: messages.SearchQuery,
        *,
        max_pages: int | None = None,
        validation: Validation | None = None,
        keep: Callable[[Any], bool] | None = None,
    ) -> SearchResults[Any]:
        """A lazy search for ``query``; ``_count`` defaults to ``settings.page_size``.

        ``keep`` is a check of each match the server cannot make (see
        :class:`SearchResults`).
        """
        if max_pages is not None and max_pages < 1:
            raise InputError(f"max_pages must be at least 1, not {max_pages}")
        if self.settings.page_size and not any(k == "_count" for k, _ in query.params):
            query = query.with_params(("_count", str(self.settings.page_size)))
        return SearchResults(
            self,
            query,
            max_pages=max_pages if max_pages is not None else self.settings.max_pages,
            validation=validation or self.settings.validation,
            keep=keep,
        )

    def organizations(
        self,
        *,
        max_pages: int | None = None,
        validation: Validation | None = None,
        **criteria: Unpack[OrganizationCriteria],
    ) -> SearchResults[Organization]:
        """Organisations (see :func:`~segurlink.ror.messages.organization_query`)."""
        return self.search(
            messages.organization_query(**criteria), max_pages=max_pages, validation=validation
        )

    def services(
        self,
        *,
        max_pages: int | None = None,
        validation: Validation | None = None,
        **criteria: Unpack[ServiceCriteria],
    ) -> SearchResults[HealthcareService]:
        """Healthcare services (see :func:`~segurlink.ror.messages.service_query`)."""
        return self.search(
            messages.service_query(**criteria), max_pages=max_pages, validation=validation
        )

    def locations(
        self,
        *,
        max_pages: int | None = None,
        validation: Validation | None = None,
        **criteria: Unpack[LocationCriteria],
    ) -> SearchResults[Location]:
        """Locations with capacities (see :func:`~segurlink.ror.messages.location_query`).

        ``min_capacity=N``: at least N beds or places summed over the location's indicators
        that match ``capacity_type``, ``capacity_status`` and ``gender`` (the server finds
        the locations with one such indicator; the sum is checked here).
        """
        query = messages.location_query(**criteria)
        keep = None
        minimum = criteria.get("min_capacity") or 0
        if minimum:

            def keep(location: Location) -> bool:
                return (
                    messages.matching_capacity(
                        location,
                        capacity_type=criteria.get("capacity_type"),
                        status=criteria.get("capacity_status"),
                        gender=criteria.get("gender"),
                    )
                    >= minimum
                )

        return self.search(query, max_pages=max_pages, validation=validation, keep=keep)

    def home_care_services(
        self,
        commune: str,
        *,
        max_pages: int | None = None,
        validation: Validation | None = None,
        **criteria: Unpack[HomeCareCriteria],
    ) -> SearchResults[HealthcareService]:
        """Home-care services whose intervention zone covers ``commune`` (COG code).

        >>> for s in ror.home_care_services("45232", patient_type="01", age=84):  # doctest: +SKIP
        ...     print(s.name, s.organization.name, [c.telecoms for c in s.contacts])
        """
        return self.search(
            messages.home_care_query(commune, **criteria),
            max_pages=max_pages,
            validation=validation,
        )

    def disability_services(
        self,
        *,
        max_pages: int | None = None,
        validation: Validation | None = None,
        **criteria: Unpack[DisabilityCriteria],
    ) -> SearchResults[HealthcareService]:
        """Services for people with disabilities (IME, SESSAD, ESAT, MAS, FAM, foyers),
        for a person of ``age`` (see :func:`~segurlink.ror.messages.disability_service_query`)."""
        return self.search(
            messages.disability_service_query(**criteria),
            max_pages=max_pages,
            validation=validation,
        )

    def nursing_homes(
        self,
        *,
        max_pages: int | None = None,
        validation: Validation | None = None,
        **criteria: Unpack[NursingHomeCriteria],
    ) -> SearchResults[HealthcareService]:
        """EHPAD services with their entity and its prices (``service.organization.prices``),
        e.g. ``max_price=80`` for a daily accommodation price of at most 80 euros
        (see :func:`~segurlink.ror.messages.nursing_home_query`)."""
        return self.search(
            messages.nursing_home_query(**criteria), max_pages=max_pages, validation=validation
        )

    def practitioners(self, service_id: str) -> list[PractitionerRole]:
        """The practitioners of a service: its roles, each with its ``practitioner``."""
        query = messages.service_query(ids=[service_id], include={Include.PRACTITIONERS})
        service = self.search(query, max_pages=1).first()
        if service is None:
            raise FhirError(f"HealthcareService/{service_id} is not known", status=404)
        return list(service.roles)

    def read(self, resource_type: str, resource_id: str) -> Any:
        """One resource by id, decoded (Organization, HealthcareService, Location...)."""
        url = f"{self.settings.endpoint.rstrip('/')}/{resource_type}/{quote(resource_id, safe='')}"
        resource = self._get_json(url, operation=f"read {resource_type}")
        if self.settings.validation == "full" and isinstance(resource, Mapping):
            self._validator.validate(resource)
        bundle = {"resourceType": "Bundle", "entry": [{"resource": resource}]}
        page: SearchPage[Any] = _decoded(url, messages.parse_bundle, bundle, resource_type)
        if not page.matches:
            raise MalformedResponse(f"expected a {resource_type}, got something else", url=url)
        return page.matches[0]

    # -- capacity publication ------------------------------------------------------------

    def publish_capacity(
        self, location_identifier: str, update: CapacityUpdate
    ) -> CapacityPublication:
        """Publish one capacity indicator of the location ``<idNatStructEG>/<syncId>``.

        Tries ``replace``; on 404 targeting the capacity extension retries with ``add``.
        Unknown location (404), duplicates (412) and business errors (400) come back as
        a :class:`CapacityPublication` with that status and the OperationOutcome issues;
        other failures raise.
        """
        head, _, tail = location_identifier.partition("/")
        if not head.strip() or not tail.strip():
            raise InputError(
                f"the location identifier is '<idNatStructEG>/<externalSyncId>', "
                f"not {location_identifier!r}"
            )
        url = (
            f"{self.settings.capacity_endpoint.rstrip('/')}/Location"
            f"?identifier={quote(location_identifier, safe='/')}"
        )
        operation: Literal["replace", "add"] = "replace"
        while True:
            body = messages.capacity_patch(update, operation)
            answer = self._send(
                "PATCH",
                url,
                operation=f"capacity {operation}",
                ror_headers=False,  # the ANS guide: the Ror-* headers must not be sent here
                headers={"Content-Type": _FHIR_JSON},
                json_body=body,
                # an "add" answered 503 may have been applied: only 429 is safe to resend
                retry_statuses=(429, 503) if operation == "replace" else (429,),
                expected=range(100, 600),
            )
            try:
                outcome = answer.json()
            except MalformedResponse:
                outcome = None
            verdict = messages.classify_capacity_answer(answer.status, outcome, operation)
            if verdict == "retry-add":
                operation = "add"
                continue
            if verdict is None:
                raise self._error(answer, url)
            return CapacityPublication(
                status=verdict,
                location_identifier=location_identifier,
                update=update,
                http_status=answer.status,
                issues=messages.outcome_issues(outcome),
            )

    def publish_capacities(
        self, location_identifier: str, updates: Sequence[CapacityUpdate]
    ) -> list[CapacityPublication]:
        """Publish several indicators of one location, one PATCH each, in order."""
        return [self.publish_capacity(location_identifier, u) for u in updates]

    # -- bulk export ---------------------------------------------------------------------

    def export(
        self,
        out_dir: str | Path,
        *,
        types: Sequence[str] = ("HealthcareService",),
        since: dt.datetime | dt.date | str | None = None,
        progress: ProgressCallback | None = None,
        poll_interval: float = 2.0,
        timeout: float = 3600.0,
    ) -> ExportResult:
        """Run a system ``$export`` and write its output files into ``out_dir``.

        Kick-off (202 + ``Content-Location``), poll (202 with ``X-Progress`` /
        ``Retry-After`` until 200 and the manifest), then each output is streamed to
        ``<out_dir>/<Type>-<n>.json`` without being held in memory. ``progress`` is
        called at each step.

        ``timeout`` bounds the whole export, downloads included: however slowly the
        server sends, the call raises :class:`TransportTimeout` once it is spent. Each
        output may hold up to ``limits.max_download_mb`` (``MalformedResponse`` beyond).
        An ``out_dir`` that cannot be created or written is a :class:`ConfigurationError`.
        """
        report = progress or (lambda _p: None)
        if not timeout > 0:
            raise InputError(f"the export timeout must be positive, not {timeout}")
        out = Path(out_dir)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(f"cannot create the export directory {out}: {exc}") from exc
        params = [("_type", ",".join(types)), ("_outputFormat", _FHIR_JSON)]
        if since is not None:
            params.append(("_since", messages._date_param(since, prefix="")))
        kickoff = messages.SearchQuery("$export", tuple(params)).url(self.settings.endpoint)
        started = self._clock()
        # Every call of the export, downloads included, ends by the export's deadline.
        with bounded(
            until=time.monotonic() + timeout,
            max_stream_bytes=self.settings.limits.max_download_bytes,
        ):
            report(ExportProgress("kick-off", "requesting the export"))
            manifest, poll_url = self._export_manifest(
                kickoff, started, timeout, report, poll_interval
            )
            return self._export_download(manifest, poll_url, out, report, timeout)

    def _export_manifest(
        self,
        kickoff: str,
        started: float,
        timeout: float,
        report: ProgressCallback,
        poll_interval: float,
    ) -> tuple[Mapping[str, Any], str]:
        answer = self._send(
            "GET",
            kickoff,
            operation="export kick-off",
            headers={"Prefer": "respond-async"},
            expected=(202,),
        )
        poll_url = answer.headers.get("Content-Location")
        answer.close()
        if not poll_url:
            raise MalformedResponse("the $export kick-off has no Content-Location", url=kickoff)
        self._check_same_origin(poll_url)

        def perform(step: Poll | Report | Wait) -> ExportStatus | None:
            if isinstance(step, Report):
                report(step.progress)
                return None
            if isinstance(step, Wait):
                self._sleep(step.seconds)
                return None
            polled = self._send(
                "GET", step.url, operation="export poll", expected=(200, 202), retry_statuses=(429,)
            )
            try:
                if polled.status == 200:
                    manifest = polled.json()
                    if not isinstance(manifest, Mapping) or not isinstance(
                        manifest.get("output"), list
                    ):
                        raise MalformedResponse(
                            "the $export manifest has no output list", url=step.url
                        )
                    return ExportStatus(manifest)
                return ExportStatus(
                    None,
                    polled.headers.get("X-Progress", ""),
                    parse_retry_after(polled.headers.get("Retry-After")),
                )
            finally:
                polled.close()

        flow = export_polling(
            poll_url,
            poll_interval=poll_interval,
            timeout=timeout,
            started=started,
            clock=self._clock,
        )
        return drive(flow, perform), poll_url

    def _export_download(
        self,
        manifest: Mapping[str, Any],
        poll_url: str,
        out: Path,
        report: ProgressCallback,
        timeout: float,
    ) -> ExportResult:
        outputs = [o for o in manifest["output"] if isinstance(o, Mapping) and o.get("url")]
        files: list[ExportFile] = []
        total_bytes = 0
        counters: dict[str, int] = {}
        report(ExportProgress("fetching", "downloading", files_total=len(outputs)))
        for item in outputs:
            url = str(item["url"])
            self._check_same_origin(url)
            kind = str(item.get("type") or "Resource")
            counters[kind] = counters.get(kind, 0) + 1
            target = out / f"{_safe_name(kind)}-{counters[kind]}.json"
            answer = self._send("GET", url, operation="export fetch", stream=True)
            size = 0
            try:
                fh = target.open("wb")
            except OSError as exc:
                answer.close()
                raise ConfigurationError(f"cannot write {target}: {exc}") from exc
            try:
                with fh:
                    for chunk in answer.iter_bytes(STREAM_CHUNK_BYTES):
                        fh.write(chunk)
                        size += len(chunk)
                        report(
                            ExportProgress(
                                "fetching",
                                target.name,
                                files_done=len(files),
                                files_total=len(outputs),
                                bytes_done=total_bytes + size,
                            )
                        )
            except TransportTimeout as exc:
                raise TransportTimeout(
                    f"$export not downloaded within {timeout:g} s ({target.name})", url=url
                ) from exc
            except OSError as exc:  # the disk, not the network (requests errors are mapped)
                raise ConfigurationError(f"cannot write {target}: {exc}") from exc
            finally:
                answer.close()
            total_bytes += size
            files.append(ExportFile(kind, url, str(target), size))
        report(
            ExportProgress(
                "done",
                f"{len(files)} file(s)",
                percent=100.0,
                files_done=len(files),
                files_total=len(outputs),
                bytes_done=total_bytes,
            )
        )
        return ExportResult(str(manifest.get("transactionTime", "")), tuple(files))


def iter_export_resources(path: str | Path) -> Iterator[dict[str, Any]]:
    """The resources of one ``$export`` output file (a JSON Bundle, array, or NDJSON)."""
    import json

    text = Path(path).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        for line in text.splitlines():
            if line.strip():
                yield json.loads(line)
        return
    if isinstance(data, list):
        yield from (r for r in data if isinstance(r, dict))
    elif isinstance(data, dict) and data.get("resourceType") == "Bundle":
        for entry in data.get("entry") or ():
            if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                yield entry["resource"]
    elif isinstance(data, dict):
        yield data


def _safe_name(kind: str) -> str:
    return "".join(c for c in kind if c.isalnum()) or "Resource"


def _decoded(url: str, decode: Callable[..., T], *args: Any) -> T:
    """``decode(*args)``, with a JSON of the wrong shape (a list where FHIR has an object...)
    reported as the malformed answer it is (``validation="fast"`` does not check shapes)."""
    try:
        return decode(*args)
    except RecursionError as exc:
        raise MalformedResponse(f"the answer from {url} is nested too deeply", url=url) from exc
    except (AttributeError, TypeError, KeyError) as exc:
        raise MalformedResponse(
            f"the answer from {url} is not shaped like FHIR: {exc}", url=url
        ) from exc
