"""The one HTTP transport every service sends through (INSi, DMP, PSC, ROR, the Annuaire).

segurlink's equivalent of httpx's ``_send_single_request``: :meth:`HttpTransport.send` is
the only place where a client's request leaves. It

- always passes the finite timeouts of the settings, also on a session the caller built
  (``requests`` has no default timeout: a session without our adapter would wait for ever);
- logs the exchange once (:class:`~segurlink._audit.ExchangeLog`: facts at INFO, masked
  bodies at DEBUG), the service's outcome included when the caller's reader sets it;
- turns ``requests``/``urllib3`` failures into segurlink errors
  (:func:`~segurlink._http.request_errors`);
- checks the shape of the answer before handing it back (:class:`Shape`: a SOAP envelope,
  SOAP or MTOM, JSON), so a front page, a proxy's error page or a cut answer never reaches
  a service parser as if it were the protocol.

Clients hold one transport (built from their settings, or around an injected session) and
only move bytes through it; the protocol state machines live in pure flows.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, Self, TypeVar

import requests

from ._audit import Exchange, ExchangeLog, mask_xml
from ._http import build_session, request_errors
from .config import Limits, Timeouts, TlsConfig
from .errors import HttpStatusError, MalformedResponse

__all__ = ["EXCERPT_BYTES", "Answer", "HttpClient", "HttpTransport", "ServiceSettings", "Shape"]

T = TypeVar("T")

#: Bytes of an unexpected answer quoted (masked) in an :class:`HttpStatusError`.
EXCERPT_BYTES = 300
#: Characters of a JSON error answer quoted in an :class:`HttpStatusError`.
EXCERPT_CHARS = 200
#: Size of the chunks a streamed body is read by (a download to disk).
STREAM_CHUNK_BYTES = 256 * 1024


_UNREAD: Any = object()


class Shape(enum.Enum):
    """What an answer must look like to be handed back."""

    #: Anything: the caller reads the status and body itself.
    ANY = "any"
    #: A SOAP envelope (an XML content type), HTTP 200 or 500 (a SOAP fault).
    SOAP = "soap"
    #: A SOAP envelope or an MTOM package (``multipart/related``), HTTP 200 or 500.
    MTOM = "mtom"
    #: A JSON document when the status is a success (2xx); errors are the caller's to read.
    JSON = "json"


@dataclass(slots=True)
class Answer:
    """One answer, as the transport hands it back.

    ``record`` is the exchange being logged: a reader sets ``record.outcome`` to the
    service's own code (a CR code, a fault subcode), which the log line then shows.
    """

    status: int
    headers: Mapping[str, str]
    url: str
    record: Exchange
    _response: requests.Response = field(repr=False)
    _json: Any = field(default=_UNREAD, repr=False)

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    @property
    def media_type(self) -> str:
        """The content type without its parameters, lower case (``application/json``)."""
        return self.content_type.split(";")[0].strip().lower()

    @property
    def content(self) -> bytes:
        """The body (read under the call's deadline and size limit)."""
        with request_errors(self.url):
            return self._response.content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        """The JSON of the body, ``None`` when it is not JSON.

        JSON nested deeper than Python can parse is a :class:`MalformedResponse`.
        """
        if self._json is _UNREAD:
            try:
                self._json = json.loads(self.content)
            except RecursionError as exc:
                raise MalformedResponse(
                    f"the answer from {self.url} is nested too deeply", url=self.url
                ) from exc
            except ValueError:
                self._json = None
        return self._json

    def iter_bytes(self, chunk_size: int = STREAM_CHUNK_BYTES) -> Iterator[bytes]:
        """The body a chunk at a time (``stream=True``), transport errors mapped."""
        with request_errors(self.url):
            yield from self._response.iter_content(chunk_size=chunk_size)

    def close(self) -> None:
        self._response.close()


class ServiceSettings(Protocol):
    """What the transport reads of a service's settings (``InsiSettings``, ``RorSettings``...)."""

    @property
    def tls(self) -> TlsConfig: ...

    @property
    def timeouts(self) -> Timeouts: ...

    @property
    def limits(self) -> Limits: ...


class HttpTransport:
    """Sends every HTTP request of one service: timeouts, log, error mapping, shape checks.

    ``service`` names the service in the exchange log (``insi``), ``label`` in error
    messages (``INSi``, ``the DMP``). A session built here (mutual TLS, deadlines, size
    limits: :func:`~segurlink._http.build_session`) is closed by :meth:`close`; an injected
    one belongs to the caller and is left open (zeep's rule).

    >>> from segurlink.testing import MockTransport, Response
    >>> fake = MockTransport(lambda request: Response(200, json={"ok": True}))
    >>> transport = HttpTransport("demo", "the demo", session=fake.session())
    >>> transport.send("ping", "GET", "https://demo.invalid/ping", shape=Shape.JSON).json()
    {'ok': True}
    >>> fake.requests[0].timeout
    (5.0, 30.0)
    """

    def __init__(
        self,
        service: str,
        label: str,
        *,
        session: requests.Session | None = None,
        tls: TlsConfig | None = None,
        timeouts: Timeouts | None = None,
        limits: Limits | None = None,
        log: ExchangeLog | None = None,
        pool_maxsize: int = 10,
    ) -> None:
        self.service = service
        self.label = label
        self.timeouts = timeouts or Timeouts()
        self.log = log or ExchangeLog()
        self.owns_session = session is None
        self.session = session or build_session(
            tls or TlsConfig(), self.timeouts, limits=limits, pool_maxsize=pool_maxsize
        )

    @classmethod
    def for_service(
        cls,
        service: str,
        label: str,
        settings: ServiceSettings,
        *,
        session: requests.Session | None,
        log: ExchangeLog | None,
        pool_maxsize: int = 10,
    ) -> Self:
        """The transport of a client: its settings' TLS, timeouts and limits."""
        return cls(
            service,
            label,
            session=session,
            tls=settings.tls,
            timeouts=settings.timeouts,
            limits=settings.limits,
            log=log,
            pool_maxsize=pool_maxsize,
        )

    def close(self) -> None:
        """Close the session if this transport built it."""
        if self.owns_session:
            self.session.close()

    def send(
        self,
        operation: str,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        shape: Shape = Shape.ANY,
        message_id: str = "",
        log_content: bytes | None = None,
        stream: bool = False,
        follow_redirects: bool = True,
    ) -> Answer:
        """Send one request and return its answer once its shape is checked.

        ``content`` is the body (or ``form``, url-encoded); ``log_content`` what the DEBUG
        log shows of it (the SOAP envelope of an MTOM package; nothing when ``None``, so
        forms carrying secrets are never logged). ``stream``: the body is left unread for
        :meth:`Answer.iter_bytes`. ``follow_redirects=False``: a 3xx answer is handed back
        as it is (a client whose headers carry a key must not send them elsewhere).
        """
        return self.call(
            operation,
            method,
            url,
            _identity,
            content=content,
            form=form,
            headers=headers,
            shape=shape,
            message_id=message_id,
            log_content=log_content,
            stream=stream,
            follow_redirects=follow_redirects,
        )

    def call(
        self,
        operation: str,
        method: str,
        url: str,
        read: Callable[[Answer], T],
        *,
        content: bytes | None = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        shape: Shape = Shape.ANY,
        message_id: str = "",
        log_content: bytes | None = None,
        stream: bool = False,
        follow_redirects: bool = True,
    ) -> T:
        """:meth:`send`, then ``read(answer)`` inside the same logged exchange.

        An error ``read`` raises (a SOAP fault, an XDS failure) is the exchange's error in
        the log line, and ``read`` may set ``answer.record.outcome``.
        """
        with self.log.exchange(self.service, operation, url=url) as record:
            record.message_id = message_id
            if log_content is not None:
                self.log.body(record, "request", log_content)
            with request_errors(url):
                response = self.session.request(
                    method,
                    url,
                    data=content if form is None else dict(form),
                    headers=dict(headers or {}),
                    # Always a finite timeout: a caller's session has no default one.
                    timeout=self.timeouts.as_tuple,
                    stream=stream,
                    allow_redirects=follow_redirects,
                )
            record.http_status = response.status_code
            answer = Answer(
                response.status_code, response.headers, response.url or url, record, response
            )
            if not stream and shape in (Shape.SOAP, Shape.MTOM):
                # Only SOAP bodies are logged (masked): JSON answers carry tokens.
                self.log.body(record, "response", answer.content, answer.content_type)
            self._check_shape(answer, shape)
            return read(answer)

    def _check_shape(self, answer: Answer, shape: Shape) -> None:
        if shape is Shape.SOAP or shape is Shape.MTOM:
            media = answer.media_type
            soap = "xml" in media or (shape is Shape.MTOM and media == "multipart/related")
            if answer.status in (200, 500) and soap:
                return
            described = answer.content_type or "no content type"
            if answer.status == 200:
                raise MalformedResponse(
                    f"{self.label} answered 200 with {described}, not SOAP", url=answer.url
                )
            raise HttpStatusError(
                f"{self.label} answered HTTP {answer.status} ({described})",
                status=answer.status,
                url=answer.url,
                body_excerpt=mask_xml(answer.content, max_bytes=EXCERPT_BYTES),
            )
        if shape is Shape.JSON and 200 <= answer.status < 300 and answer.json() is None:
            raise MalformedResponse(
                f"{self.label} answered HTTP {answer.status} without JSON "
                f"({answer.content_type or 'no content type'}, {len(answer.content)} bytes)",
                url=answer.url,
            )


class HttpClient:
    """Base of the HTTP clients: one transport, closed with the client (a context manager).

    :meth:`close` closes the session only if the client built it: a session the caller
    gave stays the caller's.
    """

    _transport: HttpTransport

    def close(self) -> None:
        """Close the session if the client built it."""
        self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _identity(answer: Answer) -> Answer:
    return answer
