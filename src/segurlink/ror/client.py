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
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Generic, Literal, Self, TypeVar
from urllib.parse import quote, urlsplit

import requests

from .._ascii import is_ascii_digits
from .._audit import ExchangeLog
from .._http import bounded, build_session, request_errors
from ..config import Limits, Secret, Settings, Timeouts, TlsConfig
from ..errors import (
    ConfigurationError,
    FhirError,
    HttpStatusError,
    InputError,
    Issue,
    MalformedResponse,
    OidcError,
    TransportTimeout,
    ValidationError,
)
from . import messages
from ._validation import ResourceValidator
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

__all__ = ["RorClient", "RorSettings", "SearchResults", "to_fhir_model"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
Validation = Literal["full", "fast"]
ProgressCallback = Callable[[ExportProgress], None]

_FHIR_JSON = "application/fhir+json"
_TOKEN_MARGIN = 30.0  # seconds before expiry when a cached token is renewed


@dataclass(frozen=True, slots=True)
class RorSettings:
    """Settings of the ROR FHIR API, from the ``[ror]`` table.

    ``endpoint`` is the FHIR base (``.../ws-diffusion-fhir``); ``capacity_endpoint`` the
    capacity synchronisation base, by default the sibling ``ws-synchro-dispo-lits-fhir``.
    Authentication: ``client_secret`` (public data, "profil 0") or, without a secret, the
    mutual-TLS identity of ``tls`` (IGC-Santé ORG AUTH_CLI certificate, profiles 1-4).
    The four ``Ror-*`` header values are given at onboarding; the defaults are the
    examples of the ANS documentation.

    >>> s = Settings.from_mapping({"ror": {"endpoint": "https://h/ws-diffusion-fhir",
    ...     "token_url": "https://h/token", "client_id": "dui", "client_secret": "s"}})
    >>> RorSettings.from_settings(s).capacity_endpoint
    'https://h/ws-synchro-dispo-lits-fhir'
    """

    endpoint: str
    token_url: str
    client_id: str
    client_secret: Secret | None = None
    tls: TlsConfig = field(default_factory=TlsConfig)
    timeouts: Timeouts = field(default_factory=Timeouts)
    limits: Limits = field(default_factory=Limits)
    capacity_endpoint: str = ""
    profile_code: str = "CU22"
    profile_system: str = "1.2.250.1.213.1.6.1.66"
    role_code: str = "AUTOMATE"
    role_system: str = "1.2.250.1.213.1.1.4.6"
    page_size: int | None = None
    max_pages: int | None = None
    validation: Validation = "full"
    max_retry_wait: float = 30.0

    def __post_init__(self) -> None:
        for name in ("endpoint", "token_url"):
            value = getattr(self, name)
            if not value.startswith(("https://", "http://")):
                raise ConfigurationError(f"ror.{name} must be an http(s) URL: {value!r}")
        if not self.client_id:
            raise ConfigurationError("ror.client_id is not set")
        if self.client_secret is None and not self.tls.has_client_identity:
            raise ConfigurationError(
                "ror needs ror.client_secret or a client certificate (mTLS) to get a token"
            )
        if not self.capacity_endpoint:
            base = self.endpoint.rstrip("/").rsplit("/", 1)[0]
            object.__setattr__(self, "capacity_endpoint", base + "/ws-synchro-dispo-lits-fhir")
        if self.validation not in ("full", "fast"):
            raise ConfigurationError(f"ror.validation must be full or fast: {self.validation!r}")
        if self.page_size is not None and not 1 <= self.page_size <= 1000:
            raise ConfigurationError("ror.page_size must be between 1 and 1000")

    @classmethod
    def from_settings(cls, settings: Settings) -> RorSettings:
        """Typed settings from the ``[ror]`` table of ``settings``."""
        section = settings.section("ror")
        missing = [k for k in ("endpoint", "token_url", "client_id") if not section.get(k)]
        if missing:
            raise ConfigurationError(
                f"[ror] lacks {', '.join(missing)} (TOML [ror] or SEGURLINK_ROR__<KEY>)"
            )
        secret = section.get("client_secret")
        optional: dict[str, Any] = {}
        for key in ("profile_code", "profile_system", "role_code", "role_system", "validation"):
            if section.get(key):
                optional[key] = str(section[key])
        if section.get("capacity_endpoint"):
            optional["capacity_endpoint"] = str(section["capacity_endpoint"])
        try:
            for key in ("page_size", "max_pages"):
                if section.get(key) not in (None, ""):
                    optional[key] = int(section[key])
            if section.get("max_retry_wait") not in (None, ""):
                optional["max_retry_wait"] = float(section["max_retry_wait"])
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"invalid [ror] number: {exc}") from exc
        return cls(
            endpoint=str(section["endpoint"]),
            token_url=str(section["token_url"]),
            client_id=str(section["client_id"]),
            client_secret=(
                secret if isinstance(secret, Secret) else Secret(str(secret)) if secret else None
            ),
            tls=settings.tls_for("ror"),
            timeouts=settings.timeouts,
            limits=settings.limits,
            **optional,
        )

    @property
    def ror_headers(self) -> dict[str, str]:
        """The four ``Ror-*`` headers of every FHIR read call."""
        return {
            "Ror-Profil-Utilisateur-Code": self.profile_code,
            "Ror-Profil-Utilisateur-System": self.profile_system,
            "Ror-Role-Metier-Code": self.role_code,
            "Ror-Role-Metier-System": self.role_system,
        }


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
        """Yield each page in turn, following the ``next`` links."""
        self.pages_read = 0
        self.truncated = False
        self.dropped = 0
        url: str | None = self.query.url(self._client.settings.endpoint)
        while url is not None:
            if self.max_pages is not None and self.pages_read >= self.max_pages:
                self.truncated = True
                return
            bundle = self._client._get_json(url, operation=f"search {self.query.resource_type}")
            if self._validation == "full":
                self._client._validate_entries(bundle)
            page: SearchPage[T] = _decoded(
                str(url), messages.read_bundle, bundle, self.query.resource_type
            )
            del bundle
            self.pages_read += 1
            if page.total is not None:
                self.total = page.total
            url = page.next_url
            if url is not None:
                self._client._check_same_origin(url)
            if self._keep is not None:
                kept = tuple(m for m in page.matches if self._keep(m))
                self.dropped += len(page.matches) - len(kept)
                page = replace(page, matches=kept)
            yield page
            del page  # hold no page while the next one is fetched and parsed

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            matches = page.matches
            del page
            yield from matches
            del matches  # same: memory holds one page at a time, not two

    def first(self) -> T | None:
        """The first match, fetching only the first page."""
        return next(iter(self), None)


class RorClient:
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
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        exchange_log: ExchangeLog | None = None,
    ) -> None:
        self.settings = settings
        self.session = session or build_session(
            settings.tls, settings.timeouts, limits=settings.limits
        )
        self._owns_session = session is None
        self._sleep = sleep
        self._clock = clock
        self._log = exchange_log or ExchangeLog()
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = threading.Lock()
        self._validator = ResourceValidator()
        self._origins = {
            (parts.scheme, parts.netloc)
            for parts in map(urlsplit, (settings.endpoint, settings.capacity_endpoint))
        }

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> RorClient:
        return cls(RorSettings.from_settings(settings), **kwargs)

    def close(self) -> None:
        if self._owns_session:
            self.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- token ---------------------------------------------------------------------------

    def token(self, *, refresh: bool = False) -> str:
        """A valid access token, fetched with ``client_credentials`` and cached.

        Renewed when less than 30 s (or a tenth of its lifetime) remain, or when
        ``refresh`` is set (the server said 401).
        """
        with self._token_lock:
            if not refresh and self._token is not None and self._clock() < self._token_expires:
                return self._token
            form = {"grant_type": "client_credentials", "client_id": self.settings.client_id}
            if self.settings.client_secret is not None:
                form["client_secret"] = self.settings.client_secret.reveal()
            url = self.settings.token_url
            with self._log.exchange("ror", "token", url=url) as record, request_errors(url):
                response = self.session.post(url, data=form, headers={"Accept": "application/json"})
                record.http_status = response.status_code
            payload = _json_or_none(response, url)
            if response.status_code == 200 and not isinstance(payload, dict):
                # A front page, an empty or cut answer: the protocol was not followed.
                raise MalformedResponse(
                    "the ROR token endpoint answered HTTP 200 without a JSON token "
                    f"({response.headers.get('Content-Type') or 'no content type'}, "
                    f"{len(response.content)} bytes)",
                    url=url,
                )
            if response.status_code != 200 or not isinstance(payload, dict):
                error = payload.get("error", "") if isinstance(payload, dict) else ""
                if error:
                    raise OidcError(
                        f"ROR token refused: {error}",
                        error=str(error),
                        description=str(payload.get("error_description", "")) if payload else "",
                    )
                raise HttpStatusError(
                    f"ROR token endpoint answered HTTP {response.status_code}",
                    status=response.status_code,
                    url=url,
                    body_excerpt=response.text[:200],
                )
            token = payload.get("access_token")
            if not isinstance(token, str) or not token:
                raise MalformedResponse("the token answer has no access_token", url=url)
            lifetime = payload.get("expires_in", 300)
            lifetime = float(lifetime) if isinstance(lifetime, int | float) else 300.0
            margin = min(_TOKEN_MARGIN, lifetime / 10)
            self._token = token
            self._token_expires = self._clock() + lifetime - margin
            return token

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
    ) -> requests.Response:
        """One call with the token; 401 renews it once; 429/503 wait ``Retry-After``."""
        retry_statuses = frozenset(retry_statuses)
        expected = frozenset(expected)
        refreshed = False
        attempts = 0
        while True:
            attempts += 1
            send_headers = {"Accept": _FHIR_JSON, "Authorization": f"Bearer {self.token()}"}
            if ror_headers:
                send_headers.update(self.settings.ror_headers)
            if headers:
                send_headers.update(headers)
            data = None
            if json_body is not None:
                import json

                data = json.dumps(json_body).encode()
                send_headers.setdefault("Content-Type", _FHIR_JSON)
            with self._log.exchange("ror", operation, url=url) as record, request_errors(url):
                response = self.session.request(
                    method, url, headers=send_headers, data=data, stream=stream
                )
                record.http_status = response.status_code
            status = response.status_code
            if status == 401 and not refreshed:
                response.close()
                refreshed = True
                self.token(refresh=True)
                continue
            if status in retry_statuses and attempts < 4:
                wait = _retry_after(response.headers.get("Retry-After"), attempts)
                if wait <= self.settings.max_retry_wait:
                    response.close()
                    logger.info("ROR answered %s; retrying in %.1f s", status, wait)
                    self._sleep(wait)
                    continue
            if status in expected:
                return response
            raise self._error(response, url)

    def _error(self, response: requests.Response, url: str) -> Exception:
        try:
            payload = _json_or_none(response, url)
        except MalformedResponse:
            payload = None
        issues = messages.outcome_issues(payload)
        status = response.status_code
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
            body_excerpt=response.text[:200],
        )

    def _get_json(self, url: str, *, operation: str) -> Any:
        self._check_same_origin(url)
        response = self._send("GET", url, operation=operation)
        payload = _json_or_none(response, url)
        if payload is None:
            raise MalformedResponse(
                f"the ROR answer is not JSON ({response.headers.get('Content-Type', '?')})",
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
        self, *, max_pages: int | None = None, validation: Validation | None = None, **criteria: Any
    ) -> SearchResults[Organization]:
        """Organisations (see :func:`~segurlink.ror.messages.organization_query`)."""
        return self.search(
            messages.organization_query(**criteria), max_pages=max_pages, validation=validation
        )

    def services(
        self, *, max_pages: int | None = None, validation: Validation | None = None, **criteria: Any
    ) -> SearchResults[HealthcareService]:
        """Healthcare services (see :func:`~segurlink.ror.messages.service_query`)."""
        return self.search(
            messages.service_query(**criteria), max_pages=max_pages, validation=validation
        )

    def locations(
        self, *, max_pages: int | None = None, validation: Validation | None = None, **criteria: Any
    ) -> SearchResults[Location]:
        """Locations with capacities (see :func:`~segurlink.ror.messages.location_query`).

        ``min_capacity=N``: at least N beds or places summed over the location's indicators
        that match ``capacity_type``, ``capacity_status`` and ``gender`` (the server finds
        the locations with one such indicator; the sum is checked here).
        """
        query = messages.location_query(**criteria)
        keep = None
        minimum: int = criteria.get("min_capacity") or 0
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
        **criteria: Any,
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
        age: int | None = None,
        max_pages: int | None = None,
        validation: Validation | None = None,
        **criteria: Any,
    ) -> SearchResults[HealthcareService]:
        """Services for people with disabilities (IME, SESSAD, ESAT, MAS, FAM, foyers),
        for a person of ``age`` (see :func:`~segurlink.ror.messages.disability_service_query`)."""
        return self.search(
            messages.disability_service_query(age=age, **criteria),
            max_pages=max_pages,
            validation=validation,
        )

    def nursing_homes(
        self,
        *,
        max_pages: int | None = None,
        validation: Validation | None = None,
        **criteria: Any,
    ) -> SearchResults[HealthcareService]:
        """EHPAD services with their entity and its prices (``service.organization.prices``),
        e.g. ``max_price=80`` for a daily accommodation price of at most 80 euros
        (see :func:`~segurlink.ror.messages.nursing_home_query`)."""
        return self.search(
            messages.nursing_home_query(**criteria), max_pages=max_pages, validation=validation
        )

    def practitioners(self, service_id: str) -> list[PractitionerRole]:
        """The practitioners of a service: its roles, each with its ``practitioner``."""
        query = messages.service_query(
            ids=[service_id],
            include_organization=False,
            include_locations=False,
            include_practitioners=True,
        )
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
        page: SearchPage[Any] = _decoded(url, messages.read_bundle, bundle, resource_type)
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
            response = self._send(
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
                outcome = _json_or_none(response, url)
            except MalformedResponse:
                outcome = None
            verdict = messages.classify_capacity_answer(response.status_code, outcome, operation)
            if verdict == "retry-add":
                operation = "add"
                continue
            if verdict is None:
                raise self._error(response, url)
            return CapacityPublication(
                status=verdict,
                location_identifier=location_identifier,
                update=update,
                http_status=response.status_code,
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
        deadline = self._clock() + timeout
        # Every call of the export, downloads included, ends by the export's deadline.
        with bounded(
            until=time.monotonic() + timeout,
            max_stream_bytes=self.settings.limits.max_download_bytes,
        ):
            report(ExportProgress("kick-off", "requesting the export"))
            manifest, poll_url = self._export_manifest(
                kickoff, deadline, timeout, report, poll_interval
            )
            return self._export_download(manifest, poll_url, out, report, timeout)

    def _export_manifest(
        self,
        kickoff: str,
        deadline: float,
        timeout: float,
        report: ProgressCallback,
        poll_interval: float,
    ) -> tuple[Mapping[str, Any], str]:
        response = self._send(
            "GET",
            kickoff,
            operation="export kick-off",
            headers={"Prefer": "respond-async"},
            expected=(202,),
        )
        poll_url = response.headers.get("Content-Location")
        response.close()
        if not poll_url:
            raise MalformedResponse("the $export kick-off has no Content-Location", url=kickoff)
        self._check_same_origin(poll_url)
        attempt = 0
        while True:
            response = self._send(
                "GET", poll_url, operation="export poll", expected=(200, 202), retry_statuses=(429,)
            )
            if response.status_code == 200:
                manifest = _json_or_none(response, poll_url)
                break
            attempt += 1
            label = response.headers.get("X-Progress", "")
            report(ExportProgress("waiting", label, percent=_percent(label)))
            wait = min(_retry_after(response.headers.get("Retry-After"), 0) or poll_interval, 60.0)
            response.close()
            if self._clock() + wait > deadline:
                raise TransportTimeout(f"$export not ready after {timeout:g} s", url=poll_url)
            self._sleep(wait)
        if not isinstance(manifest, Mapping) or not isinstance(manifest.get("output"), list):
            raise MalformedResponse("the $export manifest has no output list", url=poll_url)
        return manifest, poll_url

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
            response = self._send("GET", url, operation="export fetch", stream=True)
            size = 0
            try:
                fh = target.open("wb")
            except OSError as exc:
                response.close()
                raise ConfigurationError(f"cannot write {target}: {exc}") from exc
            try:
                with request_errors(url), fh:
                    for chunk in response.iter_content(chunk_size=256 * 1024):
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
                response.close()
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


def _percent(label: str) -> float | None:
    digits = label.strip().rstrip("%").strip()
    try:
        value = float(digits)
    except ValueError:
        return None
    return value if 0 <= value <= 100 else None


def _retry_after(value: str | None, attempt: int) -> float:
    """Seconds to wait from a ``Retry-After`` (seconds or HTTP date), else a backoff."""
    if value:
        value = value.strip()
        if is_ascii_digits(value):
            return float(value)
        try:
            from email.utils import parsedate_to_datetime

            when = parsedate_to_datetime(value)
            return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())
        except (TypeError, ValueError):
            pass
    return 0.0 if attempt == 0 else min(2.0 ** (attempt - 1), 8.0)


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


def _json_or_none(response: requests.Response, url: str) -> Any:
    """The JSON of an answer, ``None`` when it is not JSON.

    Raises :class:`MalformedResponse` for JSON nested deeper than Python can parse (the
    parser's ``RecursionError``): no FHIR resource is nested that deep.
    """
    import json

    try:
        return json.loads(response.content)
    except RecursionError as exc:
        raise MalformedResponse(f"the answer from {url} is nested too deeply", url=url) from exc
    except ValueError:
        return None
