"""The HTTPS server every segurlink mock runs on: lifecycle and TLS, apart from behaviour.

:class:`MockServer` is to a mock what aiosmtpd's ``Controller`` is to its handler: it is
given a *handler* (the service's behaviour: routes, error formats, its own faults) and
runs it on a werkzeug threaded server in a daemon thread (127.0.0.1, port 0 by default),
over mutual TLS with the test PKI. It owns, in one place for every mock:

* start / stop / context manager; :meth:`MockServer.stop` returns quickly even with
  requests sleeping in a fault, and closes the idle keep-alive connections;
* the TLS handshake in each connection's own thread (a silent client blocks nobody);
* HTTP/1.1 keep-alive: answers carry their length and the connection stays open, so a
  pooled client pays one TLS handshake per connection, not one per request;
* dispatch by the handler's routing map, and the pending faults (:mod:`.faults`),
  applied around the route handler;
* a request log of metadata (never bodies: they carry health data);
* the control endpoint under ``/_mock/`` (:mod:`.control`);
* the 413 answer for a body over :data:`MAX_REQUEST_BODY` (in the service's format);
* handler errors: an exception in a handler answers a plain 500 and is kept, and
  :meth:`MockServer.check_handler_errors` raises it in the test (the fixtures call it at
  teardown), as pytest-httpserver does.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import selectors
import socket
import ssl
import struct
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, Self, TypedDict

from werkzeug.exceptions import (
    ClientDisconnected,
    HTTPException,
    MethodNotAllowed,
    RequestEntityTooLarge,
)
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wrappers import Request, Response

from .control import CONTROL_PREFIX, ControlEndpoint
from .exchange import DropConnection, Exchange, PeerCertificate, RequestRecord
from .faults import FaultCatalog, FaultQueue
from .routing import Route, Routes

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from ..pki import TestPki

__all__ = ["MAX_REQUEST_BODY", "MockHandler", "MockServer", "ServerOptions"]

logger = logging.getLogger("segurlink_mocks")

#: The largest request body a mock reads (bytes); beyond, the answer is a 413.
MAX_REQUEST_BODY = 16 * 1024 * 1024
_IDLE_TIMEOUT = 30.0  # seconds a silent client (or an idle keep-alive one) holds a thread
_UNREAD_BODY = "segurlink_mocks.unread_body"
_DRAIN_LIMIT = 64 * 1024 * 1024  # bytes of a refused body read before closing anyway
_DRAIN_SECONDS = 5.0


class MockHandler(Protocol):
    """The behaviour a :class:`MockServer` serves (a :class:`~.service.MockService`)."""

    @property
    def name(self) -> str: ...

    @property
    def fault_catalog(self) -> FaultCatalog: ...

    def routes(self) -> Sequence[Route]: ...

    def control_routes(self) -> Sequence[Route]: ...

    def respond(
        self, route: Route, request: Request, exchange: Exchange, arguments: Mapping[str, Any]
    ) -> Response: ...

    def not_found(self, request: Request) -> Response: ...

    def method_not_allowed(self, request: Request, allowed: Sequence[str]) -> Response: ...

    def payload_too_large(self, request: Request, limit: int) -> Response: ...

    def reset(self) -> None: ...


class ServerOptions(TypedDict, total=False):
    """How a :class:`MockServer` listens (a mock's constructor passes them on)."""

    host: str  # default 127.0.0.1
    port: int  # default 0: any free port
    require_client_cert: bool  # default True: mutual TLS
    log_size: int  # default 200 request records
    keep_alive: bool  # default True: HTTP/1.1 persistent connections


class MockServer:
    """A threaded HTTPS (mutual TLS) server for one mock handler, in a daemon thread.

    >>> with MockServer(handler, pki) as server:          # doctest: +SKIP
    ...     requests.get(server.url + "/", ...)
    """

    def __init__(
        self,
        handler: MockHandler,
        pki: TestPki,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        require_client_cert: bool = True,
        log_size: int = 200,
        keep_alive: bool = True,
    ) -> None:
        self.handler = handler
        self.pki = pki
        self.host = host
        self.keep_alive = keep_alive
        self.faults = FaultQueue()
        self._requested_port = port
        self._require_client_cert = require_client_cert
        self._lock = threading.Lock()
        self._log: deque[RequestRecord] = deque(maxlen=log_size)
        self._request_count = 0
        self._handshake_failures = 0
        self._handler_errors: list[Exception] = []
        # Set on stop() and on reset(): wakes requests sleeping in a fault, which then drop
        # their connection. reset() swaps in a fresh event.
        self._stopping = threading.Event()
        self._generation = 0  # reset count: requests of an earlier test are not logged
        self._routes = Routes(())
        self._control: ControlEndpoint | None = None
        self._httpd: _TlsWsgiServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def name(self) -> str:
        return self.handler.name

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> Self:
        """Bind, then serve in a daemon thread."""
        if self._httpd is not None:
            raise RuntimeError(f"{self.name} mock already started")
        self._routes = Routes(self.handler.routes())
        self._control = ControlEndpoint(self, self.handler.control_routes())
        context = self.pki.server_ssl_context(require_client_cert=self._require_client_cert)
        self._stopping = threading.Event()
        self._httpd = _TlsWsgiServer(self.host, self._requested_port, self._wsgi, context, self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"segurlink-mock-{self.name}",
            daemon=True,
        )
        self._thread.start()
        logger.info("%s mock listening on %s", self.name, self.url)
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop serving: wake sleeping requests, close idle connections, join the thread."""
        httpd, thread = self._httpd, self._thread
        if httpd is None or thread is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        httpd.close_connections()
        thread.join(timeout)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start() if self._httpd is None else self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError(f"{self.name} mock is not started")
        return int(self._httpd.server_address[1])

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

    # -- state ---------------------------------------------------------------------------

    def reset(self) -> None:
        """No fault, empty log, no handler error; requests in flight are dropped."""
        with self._lock:
            self._generation += 1
            previous, self._stopping = self._stopping, threading.Event()
            self._handler_errors.clear()
        previous.set()
        self.faults.clear()
        self.clear_requests()

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

    def record(
        self,
        method: str,
        path: str,
        status: int,
        started: float,
        *,
        peer: PeerCertificate | None = None,
        fault: str | None = None,
        details: Mapping[str, str] | None = None,
        generation: int | None = None,
    ) -> None:
        """Add one exchange to the request log (``started``: its ``time.monotonic()``).

        A request of an earlier generation (before the last :meth:`reset`) is not logged.
        """
        entry = RequestRecord(
            time=dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            method=method,
            path=path,
            status=status,
            duration_ms=int((time.monotonic() - started) * 1000),
            client_cn=peer.cn if peer else "",
            client_ou=peer.ou if peer else "",
            fault=fault,
            details=dict(details or {}),
        )
        with self._lock:
            if generation is not None and generation != self._generation:
                return
            self._log.append(entry)
            self._request_count += 1

    def _note_handshake_failure(self) -> None:
        with self._lock:
            self._handshake_failures += 1

    # -- handler errors ------------------------------------------------------------------

    @property
    def handler_errors(self) -> list[Exception]:
        """Exceptions raised inside the handler since the last reset, oldest first."""
        with self._lock:
            return list(self._handler_errors)

    def capture_error(self, error: Exception, generation: int | None = None) -> None:
        """Keep ``error`` for :meth:`check_handler_errors` (a late request's is dropped)."""
        with self._lock:
            if generation is None or generation == self._generation:
                self._handler_errors.append(error)
        # The type only: an exception's text may quote what the client sent.
        logger.warning("%s mock: handler error %s", self.name, type(error).__name__)

    @contextlib.contextmanager
    def capturing(self) -> Iterator[None]:
        """Capture (then re-raise) an exception of the block: for non-HTTP handlers."""
        try:
            yield
        except Exception as exc:
            self.capture_error(exc)
            raise

    def check_handler_errors(self) -> None:
        """Raise the first exception a handler raised (and forget it), if any."""
        with self._lock:
            error = self._handler_errors.pop(0) if self._handler_errors else None
        if error is not None:
            raise error

    # -- WSGI ----------------------------------------------------------------------------

    def _wsgi(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        # One byte over the limit is read from a chunked body to know it is too large.
        request.max_content_length = MAX_REQUEST_BODY + 1
        peer = _peer_certificate(environ)
        with self._lock:
            generation, stopping = self._generation, self._stopping
        if request.path.startswith(CONTROL_PREFIX) and self._control is not None:
            try:
                response = self._control.respond(request, peer)
            except Exception as exc:  # noqa: BLE001 - kept, raised in the test
                self.capture_error(exc, generation)
                response = _handler_error()
            return response(environ, start_response)
        started = time.monotonic()
        exchange = Exchange(
            client=peer,
            stopping=stopping,
            current=lambda: generation == self._generation,
        )
        status = 0
        try:
            try:
                response = self._serve(request, exchange)
            except DropConnection:
                raise
            except Exception as exc:  # noqa: BLE001 - kept, raised in the test
                self.capture_error(exc, generation)
                response = _handler_error()
            status = response.status_code
            return response(environ, start_response)
        finally:
            self.record(
                request.method,
                request.path,
                status,
                started,
                peer=peer,
                fault=exchange.applied,
                details=exchange.details,
                generation=generation,
            )

    def _serve(self, request: Request, exchange: Exchange) -> Response:
        """The answer to one service request: route, then the pending fault around it."""
        if self._body_too_large(request):
            return self._too_large(request, exchange)
        try:
            route, arguments = self._routes.match(request)
        except MethodNotAllowed as exc:
            return self.handler.method_not_allowed(request, list(exc.valid_methods or ()))
        except HTTPException:
            return self.handler.not_found(request)
        exchange.route = route.name
        fault = self.faults.take(None, route.name) if route.takes_faults else None

        def serve() -> Response:
            return self.handler.respond(route, request, exchange, arguments)

        if fault is None:
            return serve()
        exchange.applied = fault.spec
        return fault.apply(serve, exchange)

    @staticmethod
    def _body_too_large(request: Request) -> bool:
        declared = request.content_length
        if declared is not None and declared > MAX_REQUEST_BODY:
            return True
        # Read the whole body now, whatever the route does with it: the next request on
        # this kept-alive connection starts right after it. werkzeug cuts a chunked body
        # at max_content_length without a word: one byte past the limit means too large.
        try:
            return len(request.get_data(cache=True)) > MAX_REQUEST_BODY
        except RequestEntityTooLarge:
            return True
        except (ClientDisconnected, OSError) as exc:  # the client left mid-body
            raise DropConnection("request body cut short") from exc

    def _too_large(self, request: Request, exchange: Exchange) -> Response:
        exchange.details["error"] = "payload-too-large"
        response = self.handler.payload_too_large(request, MAX_REQUEST_BODY)
        response.status_code = 413
        response.headers["Connection"] = "close"
        request.environ[_UNREAD_BODY] = True  # drained, then the connection closes
        return response


def _handler_error() -> Response:
    return Response(
        "mock handler error (raised in the test by check_handler_errors())\n",
        status=500,
        content_type="text/plain; charset=utf-8",
    )


def _peer_certificate(environ: WSGIEnvironment) -> PeerCertificate | None:
    sock = environ.get("werkzeug.socket")
    if not isinstance(sock, ssl.SSLSocket):
        return None
    try:
        der = sock.getpeercert(binary_form=True)
    except ValueError:  # handshake not done
        return None
    return PeerCertificate.from_der(der) if der else None


class _Handler(WSGIRequestHandler):
    """werkzeug's request handler with the TLS handshake in the connection's thread and
    HTTP/1.1 keep-alive.

    werkzeug handshakes in ``accept()``, i.e. in the serving loop (one silent client would
    block every other one and ``stop()``), and closes every connection after one answer:
    its ``run_wsgi`` cannot tell where a request body ends, so it drains the socket. The
    mock reads each body whole before answering (:meth:`MockServer._body_too_large`), so
    this ``run_wsgi`` keeps the connection whenever the answer's length is known.
    """

    server: _TlsWsgiServer
    protocol_version = "HTTP/1.1"
    timeout = _IDLE_TIMEOUT

    def handle(self) -> None:
        conn = self.connection
        # Status line, headers and body are separate writes: without NODELAY, Nagle holds
        # the body until the client's delayed ACK (~40 ms per call on a kept connection).
        with contextlib.suppress(OSError):
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if isinstance(conn, ssl.SSLSocket):
            try:
                conn.do_handshake()
            except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
                self.close_connection = True
                self.server.mock._note_handshake_failure()
                logger.debug("%s mock: TLS handshake failed: %s", self.server.mock.name, exc)
                return
        self.server.track(conn)
        try:
            super().handle()
        finally:
            self.server.untrack(conn)

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        started: list[Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            started[:] = [status, headers]
            return self._no_write

        try:
            body = self.server.app(environ, start_response)
            try:
                self._send(started[0], started[1], body)
            finally:
                close = getattr(body, "close", None)
                if close is not None:
                    close()
        except DropConnection:
            self._reset()
        except (ConnectionError, TimeoutError, ssl.SSLError):
            self.close_connection = True

    @staticmethod
    def _no_write(data: bytes) -> None:
        raise NotImplementedError("the mocks' WSGI apps return their body")

    def _send(self, status: str, headers: list[tuple[str, str]], body: Iterable[bytes]) -> None:
        code_text, _, reason = status.partition(" ")
        code = int(code_text)
        if not self.server.mock.keep_alive or self.request_version != "HTTP/1.1":
            self.close_connection = True
        self.send_response(code, reason)
        names = set()
        for key, value in headers:
            self.send_header(key, value)  # "Connection: close" sets close_connection
            names.add(key.lower())
        length = next((int(v) for k, v in headers if k.lower() == "content-length"), None)
        bodiless = self.command == "HEAD" or 100 <= code < 200 or code in (204, 304)
        chunked = length is None and not bodiless and not self.close_connection
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        if self.close_connection and "connection" not in names:
            self.send_header("Connection", "close")
        self.end_headers()
        sent = 0
        for data in body:
            if not data or bodiless:
                continue
            if chunked:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            else:
                self.wfile.write(data)
            sent += len(data)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        if length is not None and sent != length and not bodiless:
            self.close_connection = True  # cut short (a trickle stopped): no next request
        if self.environ.get(_UNREAD_BODY):
            self._drain()

    def _drain(self) -> None:
        """Read what the client still sends of a refused body (a 413), so that it gets to
        read the answer instead of a reset; bounded in size and time."""
        conn = self.connection
        deadline = time.monotonic() + _DRAIN_SECONDS
        drained = 0
        with selectors.DefaultSelector() as selector:
            selector.register(conn, selectors.EVENT_READ)
            while drained < _DRAIN_LIMIT and time.monotonic() < deadline:
                buffered = isinstance(conn, ssl.SSLSocket) and conn.pending() > 0
                if not buffered and not selector.select(timeout=0.05):
                    return
                data = self.rfile.read1(1024 * 1024)
                if not data:
                    return
                drained += len(data)

    def _reset(self) -> None:
        # SO_LINGER(on, 0) then close: the kernel sends RST instead of FIN. The buffered
        # reader holds a reference to the socket: close it first so close() is real.
        self.close_connection = True
        try:
            self.rfile.close()
            self.wfile.close()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
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
    """``werkzeug.serving.make_server(threaded=True)`` with a lazily handshaking TLS socket
    and the list of its open connections (closed by ``stop()``)."""

    def __init__(
        self,
        host: str,
        port: int,
        app: Any,
        ssl_context: ssl.SSLContext,
        mock: MockServer,
    ) -> None:
        self.mock = mock
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        try:
            super().__init__(host, port, app, handler=_Handler)
        except SystemExit as exc:  # werkzeug exits the process when the port is taken
            raise OSError(f"cannot listen on {host}:{port}") from exc
        self.socket = ssl_context.wrap_socket(
            self.socket, server_side=True, do_handshake_on_connect=False
        )
        self.ssl_context = ssl_context

    def track(self, conn: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(conn)

    def untrack(self, conn: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(conn)

    def close_connections(self) -> None:
        """Wake every connection thread blocked on a read (idle keep-alive connections)."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            # The plain socket's shutdown: SSLSocket.shutdown would drop its SSL object
            # under the feet of the thread reading it.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(conn, socket.SHUT_RDWR)

    def log(self, type: str, message: str, *args: Any) -> None:
        level = logging.WARNING if type == "error" else logging.DEBUG
        logger.log(level, message, *args)

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("%s mock: error serving %s", self.mock.name, client_address, exc_info=True)
