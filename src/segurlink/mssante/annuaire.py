"""The Annuaire Santé client: MSSanté addresses of professionals and organisations.

Only bytes move here: what to ask and how to read the answers is
:mod:`segurlink.mssante.directory` (the lookup is a pure flow the client drives). Every
request goes through the core transport (finite timeouts, exchange log without the
criteria nor the answers, size limit of ``[limits]``) with the ``ESANTE-API-KEY`` header;
redirects are not followed and ``next`` links to another origin are refused, so the key
never leaves for another server. HTTP 429 and 503 are waited for as the server asks
(``Retry-After``, else backoff with jitter) within ``retry_deadline``.
"""

from __future__ import annotations

import logging
import time
from typing import Unpack

import requests

from .._audit import ExchangeLog
from .._clock import Clock, Sleep
from .._flow import drive
from .._retry import RetryPolicy, parse_retry_after
from .._transport import EXCERPT_CHARS, Answer, HttpClient, HttpTransport, Shape
from ..config import Settings
from ..errors import FhirError, HttpStatusError, InputError, MalformedResponse
from .directory import (
    Fetch,
    MailboxCriteria,
    MailboxLookup,
    MailboxQuery,
    Page,
    lookup_flow,
    outcome_issues,
    parse_page,
)
from .settings import AnnuaireSettings

__all__ = ["AnnuaireClient"]

logger = logging.getLogger(__name__)

_FHIR_JSON = "application/fhir+json"
#: Statuses that say "not now": waited for, then asked again (a search is idempotent).
RETRY_STATUSES = frozenset({429, 503})
#: Attempts of one page answered 429/503 (the first included), and their backoff.
RETRY_ATTEMPTS = 4
RETRY_INITIAL = 1.0
RETRY_MAXIMUM = 8.0


class AnnuaireClient(HttpClient):
    """Client of the Annuaire Santé FHIR API, for the MSSanté addresses it publishes.

    >>> with AnnuaireClient.from_settings(settings) as annuaire:     # doctest: +SKIP
    ...     found = annuaire.lookup(name="MEDECIN-TEST", first_name="Paul", kinds={"PER"})
    ...     [m.address for m in found]
    ['paul.medecin-test@segurlink-test.mssante.fr']
    """

    def __init__(
        self,
        settings: AnnuaireSettings,
        *,
        session: requests.Session | None = None,
        log: ExchangeLog | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        self.settings = settings
        self._transport = HttpTransport.for_service(
            "annuaire", "the Annuaire Santé", settings, session=session, log=log
        )
        self._clock = clock or time.time
        self._sleep = sleep or time.sleep
        self._retry = RetryPolicy(
            initial=RETRY_INITIAL,
            maximum=RETRY_MAXIMUM,
            max_attempts=RETRY_ATTEMPTS,
            deadline=settings.retry_deadline,
            max_retry_after=settings.max_retry_wait,
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        session: requests.Session | None = None,
        log: ExchangeLog | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
    ) -> AnnuaireClient:
        """A client for the ``[annuaire]`` table of ``settings``."""
        return cls(
            AnnuaireSettings.from_settings(settings),
            session=session,
            log=log,
            clock=clock,
            sleep=sleep,
        )

    @property
    def session(self) -> requests.Session:
        """The HTTP session of the client (built from the settings, or the caller's)."""
        return self._transport.session

    def lookup(
        self,
        query: MailboxQuery | None = None,
        /,
        *,
        max_pages: int | None = None,
        **criteria: Unpack[MailboxCriteria],
    ) -> MailboxLookup:
        """The MSSanté mailboxes of a person, an organisation or an address.

        Give a :class:`~segurlink.mssante.MailboxQuery` or its keywords (``name``,
        ``first_name``, ``rpps``, ``adeli``, ``finess``, ``organization``, ``address``,
        ``exact``, ``kinds``). Every page of every search is read (up to ``max_pages``
        per search, ``[annuaire] max_pages`` by default); red-listed mailboxes are never
        returned (``withheld`` counts them), each address comes once.

        Bad criteria raise :class:`~segurlink.errors.InputError` before anything is sent;
        the service's refusals :class:`~segurlink.errors.FhirError` (an OperationOutcome)
        or :class:`~segurlink.errors.HttpStatusError`; answers that are not a FHIR
        searchset :class:`~segurlink.errors.MalformedResponse`; no answer within the
        timeouts :class:`~segurlink.errors.TransportTimeout`.
        """
        if query is None:
            query = MailboxQuery(**criteria)  # type: ignore[arg-type]  # kinds normalised there
        elif criteria:
            raise InputError("give a MailboxQuery or its keywords, not both")
        if max_pages is not None and (isinstance(max_pages, bool) or max_pages < 1):
            raise InputError(f"max_pages must be at least 1, not {max_pages}")
        flow = lookup_flow(
            query,
            base_url=self.settings.endpoint,
            page_size=self.settings.page_size,
            max_pages=max_pages if max_pages is not None else self.settings.max_pages,
        )
        return drive(flow, self._fetch)

    # -- transport -----------------------------------------------------------------------

    def _fetch(self, step: Fetch) -> Page:
        resource_type = step.url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        if resource_type not in ("Practitioner", "PractitionerRole", "Organization"):
            resource_type = "page"  # a HAPI paging link on the base URL
        answer = self._get(step.url, operation=f"search {resource_type}")
        return parse_page(answer.json(), step.url)

    def _get(self, url: str, *, operation: str) -> Answer:
        """One GET with the API key; 429/503 waited for (``Retry-After``, else backoff
        with jitter) while the policy allows, then the service's error."""
        headers = {"Accept": _FHIR_JSON, "ESANTE-API-KEY": self.settings.api_key.reveal()}
        attempt = 0
        started = self._clock()
        while True:
            attempt += 1
            answer = self._transport.send(
                operation, "GET", url, headers=headers, shape=Shape.JSON, follow_redirects=False
            )
            if 200 <= answer.status < 300:
                return answer
            if answer.status in RETRY_STATUSES:
                wait = self._retry.next_delay(
                    attempt,
                    self._clock() - started,
                    retry_after=parse_retry_after(answer.headers.get("Retry-After")),
                )
                if wait is not None:
                    answer.close()
                    logger.info(
                        "the Annuaire Santé answered %s; retrying in %.1f s", answer.status, wait
                    )
                    self._sleep(wait)
                    continue
            raise self._error(answer, url, attempt)

    def _error(self, answer: Answer, url: str, attempts: int) -> Exception:
        status = answer.status
        if 300 <= status < 400:
            return HttpStatusError(
                f"the Annuaire Santé redirected to {answer.headers.get('Location', '?')} "
                f"(HTTP {status}): not followed, the API key goes to the endpoint only",
                status=status,
                url=url,
            )
        try:
            payload = answer.json()
        except MalformedResponse:
            payload = None
        tried = f" after {attempts} attempts" if attempts > 1 else ""
        issues = outcome_issues(payload)
        if issues:
            first = issues[0]
            return FhirError(
                f"the Annuaire Santé answered HTTP {status}{tried}: "
                f"{first.rule} {first.message}".strip(),
                status=status,
                issues=issues,
            )
        if status in (401, 403):
            return HttpStatusError(
                f"the Annuaire Santé refused the API key (HTTP {status}): check "
                "[annuaire] api_key (ESANTE-API-KEY)",
                status=status,
                url=url,
            )
        return HttpStatusError(
            f"the Annuaire Santé answered HTTP {status}{tried} without an OperationOutcome",
            status=status,
            url=url,
            body_excerpt=answer.text[:EXCERPT_CHARS],
        )
