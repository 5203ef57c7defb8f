"""The threaded TLS WSGI server every segurlink mock is built on.

:class:`MockServer` runs a werkzeug threaded server in a daemon thread (127.0.0.1, port 0
by default), over mutual TLS with the test PKI. A service mock subclasses it and writes
:meth:`MockServer.handle`; the base class gives it:

* the TLS client certificate of the peer, parsed (:class:`PeerCertificate`);
* fault injection: ``inject("latency:2.5")``, ``inject("reset", count=None)``... The
  generic faults are served here (:data:`GENERIC_FAULTS`); service faults (e.g. INSi's
  ``unavailable``) are passed to ``handle`` in ``exchange.fault``;
* a request log of metadata (never bodies: they carry health data);
* a JSON control endpoint on the same port, so a mock started by
  ``segurlink mock serve`` can be driven from another process (a client certificate from
  the test CA is required there too)::

      GET    /_mock/faults                     pending faults
      POST   /_mock/faults   {"fault": "technical", "count": 1}   (count null: until cleared)
      DELETE /_mock/faults                     clear faults
      GET    /_mock/requests[?limit=20]        {"count": n, "requests": [...]} newest last
      DELETE /_mock/requests                   clear the log
      POST   /_mock/reset                      faults, log and data back to the start state

Generic faults: ``latency:<seconds>`` (wait, then answer normally), ``reset`` (TCP reset,
no answer), ``http500_html`` (an HTML error page from a "front" server), ``truncated``
(the normal answer cut in the middle, status 200, Content-Length of the cut body),
``non_soap_200`` (status 200, ``text/plain``) and ``trickle:<seconds>`` (the normal
answer sent in 20 pieces, ``<seconds>`` apart: each read of the client gets bytes before
its socket timeout, so only an overall deadline stops the call). When several faults are
pending, the oldest one applies to the next request.

A request body over 16 MiB (:data:`MAX_REQUEST_BODY`) is answered 413 by
:meth:`MockServer.payload_too_large`, which each mock writes in its service's own error
format (SOAP fault, OAuth error, OperationOutcome), never a framework error page.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import ssl
import struct
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Self

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wrappers import Request, Response

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from ..pki import TestPki

__all__ = [
    "GENERIC_FAULTS",
    "MAX_REQUEST_BODY",
    "Exchange",
    "MockServer",
    "PeerCertificate",
    "RequestRecord",
]

logger = logging.getLogger("segurlink_mocks")

#: Faults every mock serves itself (``latency`` and ``trickle`` take ``:<seconds>``).
GENERIC_FAULTS: frozenset[str] = frozenset(
    {"latency", "reset", "http500_html", "truncated", "non_soap_200", "trickle"}
)
_TIMED_FAULTS = frozenset({"latency", "trickle"})
_TRICKLE_PIECES = 20

_CONTROL_PREFIX = "/_mock/"
#: The largest request body a mock reads (bytes); beyond, the answer is a 413.
MAX_REQUEST_BODY = 16 * 1024 * 1024
_HANDLER_TIMEOUT = 30.0  # seconds a silent client may hold a handler thread


@dataclass(frozen=True, slots=True)
class PeerCertificate:
    """The subject (and issuer CN) of the TLS client certificate of a request."""

    cn: str
    ou: str
    o: str
    issuer_cn: str
    serial: str

    @classmethod
    def from_der(cls, der: bytes) -> PeerCertificate:
        from cryptography import x509
        from cryptography.x509.oid import NameOID

        cert = x509.load_der_x509_certificate(der)

        def first(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
            values = name.get_attributes_for_oid(oid)
            return str(values[0].value) if values else ""

        return cls(
            cn=first(cert.subject, NameOID.COMMON_NAME),
            ou=first(cert.subject, NameOID.ORGANIZATIONAL_UNIT_NAME),
            o=first(cert.subject, NameOID.ORGANIZATION_NAME),
            issuer_cn=first(cert.issuer, NameOID.COMMON_NAME),
            serial=format(cert.serial_number, "x"),
        )


@dataclass(slots=True)
class Exchange:
    """One request being served: what ``handle`` knows besides the request itself.

    ``fault`` is the service-specific fault to apply (``None`` for a normal answer);
    ``details`` are metadata for the request log (operation, codes; no health data).
    """

    client: PeerCertificate | None
    fault: str | None = None
    details: dict[str, str] = field(default_factory=dict)
    generation: int = 0  # the mock's reset count when the request arrived


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """Metadata of one served request (no body: bodies carry health data)."""

    time: str
    method: str
    path: str
    status: int  # 0 when the connection was reset without an answer
    duration_ms: int
    client_cn: str
    client_ou: str
    fault: str | None
    details: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class _ResetConnection(ConnectionError):
    """Raised by the app to make the handler reset the TCP connection (no answer)."""


@dataclass(slots=True)
class _PendingFault:
    fault: str
    remaining: int | None  # None: until cleared


class MockServer:
    """Base of the mocks: a threaded HTTPS (mutual TLS) WSGI server in a daemon thread.

    >>> with MyMock(pki) as mock:                     # doctest: +SKIP
    ...     requests.post(mock.url + "/lps", ...)
    """

    #: Short name used in thread names and logs.
    name: ClassVar[str] = "mock"
    #: Faults the subclass serves itself in ``handle`` (besides :data:`GENERIC_FAULTS`).
    service_faults: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self,
        pki: TestPki,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        require_client_cert: bool = True,
        log_size: int = 200,
    ) -> None:
        self.pki = pki
        self.host = host
        self._requested_port = port
        self._require_client_cert = require_client_cert
        self._lock = threading.Lock()
        self._faults: list[_PendingFault] = []
        self._log: deque[RequestRecord] = deque(maxlen=log_size)
        self._request_count = 0
        self._handshake_failures = 0
        # Set on stop() and on reset(): wakes requests sleeping in a latency fault, which
        # then drop their connection. reset() swaps in a fresh event.
        self._stopping = threading.Event()
        self._generation = 0  # reset count: requests of an earlier test are not logged
        self._server: _TlsWsgiServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> Self:
        """Bind, then serve in a daemon thread; returns ``self``."""
        if self._server is not None:
            raise RuntimeError(f"{self.name} mock already started")
        context = self.pki.server_ssl_context(require_client_cert=self._require_client_cert)
        self._stopping = threading.Event()
        self._server = _TlsWsgiServer(self.host, self._requested_port, self._wsgi, context, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"segurlink-mock-{self.name}",
            daemon=True,
        )
        self._thread.start()
        logger.info("%s mock listening on %s", self.name, self.url)
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop serving: wake sleeping handlers, shut the loop down, close, join."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()  # latency faults wait on this event, not in time.sleep
        server.shutdown()
        server.server_close()
        thread.join(timeout)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start() if self._server is None else self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{self.name} mock is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. ``https://127.0.0.1:43127`` (no trailing slash)."""
        host = self.host
        if host in ("", "0.0.0.0"):  # noqa: S104 - display address, not a bind
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"https://{host}:{self.port}"

    # -- faults --------------------------------------------------------------------------

    @property
    def known_faults(self) -> frozenset[str]:
        return GENERIC_FAULTS | self.service_faults

    def inject(self, fault: str, count: int | None = 1) -> None:
        """Apply ``fault`` to the next ``count`` requests (``None``: until cleared).

        ``fault`` is one of :attr:`known_faults`; ``latency`` takes seconds:
        ``"latency:1.5"``. Raises :class:`ValueError` for an unknown fault.
        """
        self._check_fault(fault)
        if count is not None and count < 1:
            raise ValueError(f"count must be >= 1 or None, not {count}")
        with self._lock:
            self._faults.append(_PendingFault(fault, count))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def faults(self) -> list[tuple[str, int | None]]:
        """Pending faults, oldest first: ``(fault, remaining)``."""
        with self._lock:
            return [(f.fault, f.remaining) for f in self._faults]

    def _check_fault(self, fault: str) -> None:
        name, _, arg = fault.partition(":")
        if name not in self.known_faults:
            raise ValueError(
                f"unknown fault {fault!r}; known: {', '.join(sorted(self.known_faults))}"
            )
        if name in _TIMED_FAULTS:
            try:
                seconds = float(arg)
            except ValueError:
                raise ValueError(f"{name} needs seconds: '{name}:2.5'") from None
            if not 0 <= seconds <= 3600:
                raise ValueError(f"{name} must be between 0 and 3600 seconds")
        elif arg:
            raise ValueError(f"fault {name!r} takes no argument")

    def _take_fault(self) -> str | None:
        with self._lock:
            if not self._faults:
                return None
            pending = self._faults[0]
            if pending.remaining is not None:
                pending.remaining -= 1
                if pending.remaining <= 0:
                    self._faults.pop(0)
            return pending.fault

    # -- request log ---------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """The last served requests (metadata only), oldest first."""
        with self._lock:
            return list(self._log)

    @property
    def request_count(self) -> int:
        """Requests served since the last :meth:`clear_requests` (beyond the log size too)."""
        with self._lock:
            return self._request_count

    @property
    def handshake_failures(self) -> int:
        """TLS handshakes that failed (e.g. a client certificate from an unknown CA)."""
        with self._lock:
            return self._handshake_failures

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()
            self._request_count = 0
            self._handshake_failures = 0

    def reset(self) -> None:
        """Back to the start state between tests: no fault, empty log (subclasses: data).

        Requests still in flight from before (e.g. sleeping in a latency fault whose client
        gave up) are dropped and never reach the new log.
        """
        with self._lock:
            self._generation += 1
            previous, self._stopping = self._stopping, threading.Event()
        previous.set()
        self.clear_faults()
        self.clear_requests()

    def _is_current(self, exchange: Exchange) -> bool:
        """False for a request that arrived before the last :meth:`reset`."""
        return exchange.generation == self._generation

    def _record(self, record: RequestRecord, generation: int | None = None) -> None:
        with self._lock:
            if generation is not None and generation != self._generation:
                return
            self._log.append(record)
            self._request_count += 1

    def _note_handshake_failure(self) -> None:
        with self._lock:
            self._handshake_failures += 1

    # -- service -------------------------------------------------------------------------

    def handle(self, request: Request, exchange: Exchange) -> Response:
        """Answer one service request (subclasses). ``exchange.fault`` is a service fault."""
        raise NotImplementedError

    def payload_too_large(self, request: Request, limit: int) -> Response:
        """The 413 answer to a request whose body is over ``limit`` bytes.

        Subclasses answer in their service's error format; this default is plain text.
        """
        return Response(
            f"Request body larger than {limit} bytes\n",
            status=413,
            content_type="text/plain; charset=utf-8",
        )

    @staticmethod
    def _over_the_limit(request: Request) -> bool:
        declared = request.content_length
        if declared is not None:
            return declared > MAX_REQUEST_BODY
        if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
            # werkzeug cuts a chunked body at max_content_length without a word: read it
            # (cached for the handler) and look for the byte past the limit.
            return len(request.get_data(cache=True)) > MAX_REQUEST_BODY
        return False

    def _too_large(self, request: Request, exchange: Exchange) -> Response:
        exchange.details["error"] = "payload-too-large"
        response = self.payload_too_large(request, MAX_REQUEST_BODY)
        response.status_code = 413
        response.headers["Connection"] = "close"  # the unread rest of the body is dropped
        return response

    # -- WSGI ----------------------------------------------------------------------------

    def _wsgi(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        # One byte over the limit is read from a chunked body to know it is too large.
        request.max_content_length = MAX_REQUEST_BODY + 1
        peer = _peer_certificate(environ)
        if request.path.startswith(_CONTROL_PREFIX):
            return self._control(request, peer)(environ, start_response)
        started = time.monotonic()
        generation = self._generation
        fault = self._take_fault()
        exchange = Exchange(client=peer, fault=fault, generation=generation)
        status = 0
        try:
            if self._over_the_limit(request):
                response = self._too_large(request, exchange)
            else:
                try:
                    response = self._respond(request, exchange, fault)
                except RequestEntityTooLarge:
                    response = self._too_large(request, exchange)
            status = response.status_code
            return response(environ, start_response)
        finally:
            self._record(
                RequestRecord(
                    time=dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
                    method=request.method,
                    path=request.path,
                    status=status,
                    duration_ms=int((time.monotonic() - started) * 1000),
                    client_cn=peer.cn if peer else "",
                    client_ou=peer.ou if peer else "",
                    fault=fault,
                    details=dict(exchange.details),
                ),
                generation,
            )

    def _respond(self, request: Request, exchange: Exchange, fault: str | None) -> Response:
        name, _, arg = (fault or "").partition(":")
        if name == "latency":
            exchange.fault = None
            if self._stopping.wait(float(arg)):
                raise _ResetConnection("mock stopping or reset")
        elif name == "reset":
            raise _ResetConnection("injected reset")
        elif name == "http500_html":
            return Response(_HTML_500, status=500, content_type="text/html; charset=iso-8859-1")
        elif name == "non_soap_200":
            return Response(
                "Service en maintenance. Merci de réessayer plus tard.\n",
                status=200,
                content_type="text/plain; charset=utf-8",
            )
        elif name == "trickle":
            exchange.fault = None
            return self._trickled(self.handle(request, exchange), float(arg))
        elif name == "truncated":
            exchange.fault = None
            full = self.handle(request, exchange)
            body = full.get_data()
            cut = Response(body[: max(1, len(body) // 2)], status=200)
            cut.headers["Content-Type"] = full.headers.get("Content-Type", "text/xml")
            return cut
        return self.handle(request, exchange)

    def _trickled(self, full: Response, interval: float) -> Response:
        """``full`` with its body sent in pieces, ``interval`` seconds apart."""
        body = full.get_data()
        size = max(1, -(-len(body) // _TRICKLE_PIECES))
        pieces = [body[i : i + size] for i in range(0, len(body), size)]
        stopping = self._stopping

        def slowly() -> Iterable[bytes]:
            for piece in pieces:
                if stopping.wait(interval):
                    return
                yield piece

        out = Response(slowly(), status=full.status_code)
        out.headers["Content-Type"] = full.headers.get("Content-Type", "text/xml")
        out.headers["Content-Length"] = str(len(body))
        return out

    # -- control endpoint ----------------------------------------------------------------

    def _control(self, request: Request, peer: PeerCertificate | None) -> Response:
        if peer is None:
            return _json({"error": "a TLS client certificate from the test CA is required"}, 403)
        route = request.path[len(_CONTROL_PREFIX) :].rstrip("/")
        method = request.method
        if route == "faults":
            if method == "GET":
                return _json({"faults": self._faults_json()})
            if method == "DELETE":
                self.clear_faults()
                return _json({"faults": []})
            if method == "POST":
                payload = request.get_json(silent=True)
                if not isinstance(payload, dict) or not isinstance(payload.get("fault"), str):
                    return _json({"error": 'expected JSON {"fault": "...", "count": 1}'}, 400)
                count = payload.get("count", 1)
                if count is not None and (not isinstance(count, int) or isinstance(count, bool)):
                    return _json({"error": "count must be an integer or null"}, 400)
                try:
                    self.inject(payload["fault"], count)
                except ValueError as exc:
                    return _json({"error": str(exc)}, 400)
                return _json({"faults": self._faults_json()}, 201)
        elif route == "requests":
            if method == "GET":
                limit = request.args.get("limit", default=50, type=int) or 50
                records = self.requests[-max(1, min(limit, 1000)) :]
                return _json(
                    {
                        "count": self.request_count,
                        "handshake_failures": self.handshake_failures,
                        "requests": [r.to_json() for r in records],
                    }
                )
            if method == "DELETE":
                self.clear_requests()
                return _json({"count": 0, "requests": []})
        elif route == "reset" and method == "POST":
            self.reset()
            return _json({"reset": True})
        else:
            return _json({"error": f"no control route {request.path}"}, 404)
        return _json({"error": f"method {method} not allowed on {request.path}"}, 405)

    def _faults_json(self) -> list[dict[str, Any]]:
        return [{"fault": f, "remaining": n} for f, n in self.faults]


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, content_type="application/json")


def _peer_certificate(environ: WSGIEnvironment) -> PeerCertificate | None:
    sock = environ.get("werkzeug.socket")
    if not isinstance(sock, ssl.SSLSocket):
        return None
    try:
        der = sock.getpeercert(binary_form=True)
    except ValueError:  # handshake not done
        return None
    return PeerCertificate.from_der(der) if der else None


_HTML_500 = (
    "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n"
    "<html><head>\n<title>500 Internal Server Error</title>\n</head><body>\n"
    "<h1>Internal Server Error</h1>\n"
    "<p>The server encountered an internal error or misconfiguration and was unable "
    "to complete your request.</p>\n"
    "<p>Please contact the server administrator to inform them of the time this error "
    "occurred, and the actions you performed just before this error.</p>\n"
    "<hr>\n<address>Apache Server at qualiflps-services-ps-tlsm.ameli.fr Port 443</address>\n"
    "</body></html>\n"
)


class _Handler(WSGIRequestHandler):
    """werkzeug's handler, with the TLS handshake done in the handler thread.

    werkzeug wraps the listening socket so that the handshake runs in ``accept()``, i.e. in
    the serving loop: one client that connects and stays silent would block every other
    client and :meth:`MockServer.stop`. Here the handshake runs per connection thread.
    """

    server: _TlsWsgiServer
    protocol_version = "HTTP/1.1"
    timeout = _HANDLER_TIMEOUT

    def handle(self) -> None:
        conn = self.connection
        # werkzeug writes the status line, headers and body separately: without NODELAY,
        # Nagle holds the body until the client's delayed ACK (~20 ms per keep-alive call).
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # pragma: no cover - not a TCP socket
            pass
        if isinstance(conn, ssl.SSLSocket):
            try:
                conn.do_handshake()
            except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
                self.close_connection = True
                self.server.mock._note_handshake_failure()
                logger.debug("%s mock: TLS handshake failed: %s", self.server.mock.name, exc)
                return
        super().handle()

    def connection_dropped(
        self, error: BaseException, environ: WSGIEnvironment | None = None
    ) -> None:
        if isinstance(error, _ResetConnection):
            self._reset()

    def _reset(self) -> None:
        # SO_LINGER(on, 0) then close: the kernel sends RST instead of FIN. The buffered
        # reader holds a reference to the socket: close it first so close() is real.
        self.close_connection = True
        try:
            self.rfile.close()
            self.wfile.close()
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
            self.connection.close()
        except OSError:  # pragma: no cover - the peer went away first
            pass

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Query strings carry tokens (id_token_hint, code...): log the path only.
        line = self.requestline.split("?", 1)[0]
        logger.debug("%s mock: %s -> %s", self.server.mock.name, line, code)

    def log(self, type: str, message: str, *args: Any) -> None:
        level = logging.WARNING if type == "error" else logging.DEBUG
        logger.log(level, "%s mock: " + message, self.server.mock.name, *args)


class _TlsWsgiServer(ThreadedWSGIServer):
    """``werkzeug.serving.make_server(threaded=True)`` with a lazily handshaking TLS socket."""

    def __init__(
        self,
        host: str,
        port: int,
        app: Any,
        ssl_context: ssl.SSLContext,
        mock: MockServer,
    ) -> None:
        self.mock = mock
        try:
            super().__init__(host, port, app, handler=_Handler)
        except SystemExit as exc:  # werkzeug exits the process when the port is taken
            raise OSError(f"cannot listen on {host}:{port}") from exc
        self.socket = ssl_context.wrap_socket(
            self.socket, server_side=True, do_handshake_on_connect=False
        )
        self.ssl_context = ssl_context

    def log(self, type: str, message: str, *args: Any) -> None:
        level = logging.WARNING if type == "error" else logging.DEBUG
        logger.log(level, message, *args)

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("%s mock: error serving %s", self.mock.name, client_address, exc_info=True)
