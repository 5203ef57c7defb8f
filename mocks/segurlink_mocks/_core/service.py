"""The base of a service mock: its behaviour, served by the :class:`MockServer` it owns.

A mock (``InsiMock``...) writes behaviour only: its routes (a routing map), what a route
answers, its error formats, its own faults (a :class:`~.faults.FaultCatalog`), its test
data and :meth:`MockService.reset`. Lifecycle, TLS, HTTP, faults, the request log, the
control endpoint and handler errors are the server's (:mod:`.server`); the methods below
that speak of them hand over to it, so that ``InsiMock(pki).start()`` still reads as one
object.

>>> class EchoMock(MockService):                     # doctest: +SKIP
...     name = "echo"
...     def routes(self):
...         return [Route("/echo", "echo", self._echo, methods=("POST",))]
...     def _echo(self, request, exchange):
...         return Response(request.get_data())
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Self, Unpack

from werkzeug.wrappers import Request, Response

from .faults import HTTP_FAULTS, Fault, FaultCatalog
from .server import MockServer, ServerOptions

if TYPE_CHECKING:
    from ..pki import TestPki
    from .exchange import Exchange, RequestRecord
    from .routing import Route

__all__ = ["MockService"]


class MockService:
    """One national service's behaviour, and the server that serves it on loopback."""

    #: Short name used in thread names, logs and ``segurlink mock serve``.
    name: ClassVar[str] = "mock"
    #: The faults :meth:`inject` accepts (the generic HTTP ones unless a mock says more).
    fault_catalog: ClassVar[FaultCatalog] = HTTP_FAULTS

    def __init__(self, pki: TestPki, **options: Unpack[ServerOptions]) -> None:
        self.pki = pki
        self.server = MockServer(self, pki, **options)

    # -- behaviour (what a mock writes) --------------------------------------------------

    def routes(self) -> Sequence[Route]:
        """The service's routing map (read once, at start)."""
        return ()

    def control_routes(self) -> Sequence[Route]:
        """Extra routes under ``/_mock/`` (paths relative to it); handlers take the request."""
        return ()

    def respond(
        self, route: Route, request: Request, exchange: Exchange, arguments: Mapping[str, Any]
    ) -> Response:
        """Run ``route``'s handler; a mock maps its own errors to its answers here."""
        return route.handler(request, exchange, **arguments)

    def not_found(self, request: Request) -> Response:
        return Response("Not Found\n", status=404, content_type="text/plain")

    def method_not_allowed(self, request: Request, allowed: Sequence[str]) -> Response:
        return Response(
            "Method Not Allowed\n",
            status=405,
            content_type="text/plain",
            headers={"Allow": ", ".join(allowed)},
        )

    def payload_too_large(self, request: Request, limit: int) -> Response:
        """The 413 answer to a body over ``limit`` bytes, in the service's error format."""
        return Response(
            f"Request body larger than {limit} bytes\n",
            status=413,
            content_type="text/plain; charset=utf-8",
        )

    def reset(self) -> None:
        """Back to the start state between tests: no fault, empty log (mocks: their data).

        Requests still in flight from before (e.g. sleeping in a latency fault whose client
        gave up) are dropped and never reach the new log.
        """
        self.server.reset()

    # -- lifecycle (the server's) --------------------------------------------------------

    def start(self) -> Self:
        """Bind, then serve in a daemon thread; returns ``self``."""
        self.server.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop serving; returns quickly even with requests sleeping in a fault."""
        self.server.stop(timeout)

    def __enter__(self) -> Self:
        return self.start() if not self.running else self

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        self.stop()
        if exc_type is None:  # a crash in a handler fails the block that caused it
            self.check_handler_errors()

    @property
    def running(self) -> bool:
        return self.server.running

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def url(self) -> str:
        """Base URL, e.g. ``https://127.0.0.1:43127`` (no trailing slash)."""
        return self.server.url

    # -- faults --------------------------------------------------------------------------

    @property
    def known_faults(self) -> frozenset[str]:
        return self.fault_catalog.names

    def inject(self, fault: str | Fault, count: int | None = 1) -> None:
        """Apply ``fault`` to the next ``count`` requests (``None``: until cleared).

        ``fault`` is a value (``Latency(1.5)``) or its text (``"latency:1.5"``,
        ``"latency:1+truncated"``), one of :attr:`known_faults`; anything else raises
        :class:`~.faults.UnknownFault` (a ``ValueError``).
        """
        self.server.faults.push(self.fault_catalog.parse(fault), count)

    def clear_faults(self) -> None:
        self.server.faults.clear()

    @property
    def faults(self) -> list[tuple[str, int | None]]:
        """Pending faults for any request, oldest first: ``(fault, remaining)``."""
        return [(p.fault.spec, p.remaining) for p in self.server.faults.pending() if not p.target]

    # -- request log and handler errors --------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """The last served requests (metadata only), oldest first."""
        return self.server.requests

    @property
    def request_count(self) -> int:
        """Requests served since the last :meth:`clear_requests` (beyond the log size too)."""
        return self.server.request_count

    @property
    def handshake_failures(self) -> int:
        """TLS handshakes that failed (e.g. a client certificate from an unknown CA)."""
        return self.server.handshake_failures

    def clear_requests(self) -> None:
        self.server.clear_requests()

    @property
    def handler_errors(self) -> list[Exception]:
        """Exceptions raised inside this mock's handlers since the last reset."""
        return self.server.handler_errors

    def check_handler_errors(self) -> None:
        """Raise the first exception a handler raised, if any (the fixtures call it)."""
        self.server.check_handler_errors()
