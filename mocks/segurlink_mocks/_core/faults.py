"""Faults a mock injects: typed values, parsed once, applied around the route handler.

A fault is a hook (as pytest-httpserver's ``Delay`` or ``Chain``): ``apply(serve,
exchange)`` gets the handler's answer by calling ``serve()`` (or does not call it at all)
and returns what the client receives. The generic ones work on any HTTP mock:

==================  ===============================================================
``Latency(s)``      wait ``s`` seconds, then the normal answer
``Trickle(s)``      the normal answer sent in 20 pieces, ``s`` seconds apart
``Reset()``         TCP reset after the request, no answer
``HtmlError()``     HTTP 500, an Apache error page (``http500_html``)
``Truncate()``      HTTP 200, the normal answer cut in the middle (``truncated``)
``NonSoap200()``    HTTP 200 ``text/plain`` maintenance text
``ServiceFault``    a fault the service's handler serves itself (INSi ``technical``...)
``Chain(a, b)``     ``a`` around ``b``: ``latency:1+truncated`` is late *and* cut
==================  ===============================================================

Text specs (the CLI, the control endpoint, ``mock.inject("latency:2.5")``) go through a
:class:`FaultCatalog` once, at injection: an unknown name or a bad argument is an
:class:`UnknownFault` / :class:`FaultSpecError` there, never a surprise in a handler.

>>> HTTP_FAULTS.parse("latency:1.5+truncated")
Chain(faults=(Latency(seconds=1.5), Truncate()))
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from werkzeug.wrappers import Response

from .exchange import DropConnection, Exchange

__all__ = [
    "HTTP_FAULTS",
    "Chain",
    "Fault",
    "FaultCatalog",
    "FaultKind",
    "FaultQueue",
    "FaultSpecError",
    "HtmlError",
    "Latency",
    "NonSoap200",
    "PendingFault",
    "Reset",
    "ServiceFault",
    "Trickle",
    "Truncate",
    "UnknownFault",
]

_MAX_SECONDS = 3600.0
_TRICKLE_PIECES = 20

Serve = Callable[[], Response]


class FaultSpecError(ValueError):
    """A fault spec that cannot be read: a bad argument, a fault twice in a chain..."""


class UnknownFault(FaultSpecError):
    """A fault name this mock does not serve."""


@runtime_checkable
class Fault(Protocol):
    """A hook around one answer; ``spec`` is its text form (``"latency:2.5"``)."""

    @property
    def spec(self) -> str: ...

    def apply(self, serve: Serve, exchange: Exchange) -> Response: ...


def _seconds(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True, slots=True)
class Latency:
    """Wait, then answer normally (a short client read timeout expires first)."""

    seconds: float

    @property
    def spec(self) -> str:
        return f"latency:{_seconds(self.seconds)}"

    def apply(self, serve: Serve, exchange: Exchange) -> Response:
        exchange.pause(self.seconds)  # stop() and reset() drop the waiting request
        return serve()


@dataclass(frozen=True, slots=True)
class Trickle:
    """The normal answer in 20 pieces, ``seconds`` apart: every read of the client gets
    bytes before its socket timeout, so only an overall deadline stops the call."""

    seconds: float

    @property
    def spec(self) -> str:
        return f"trickle:{_seconds(self.seconds)}"

    def apply(self, serve: Serve, exchange: Exchange) -> Response:
        full = serve()
        body = full.get_data()
        size = max(1, -(-len(body) // _TRICKLE_PIECES))
        pieces = [body[i : i + size] for i in range(0, len(body), size)]
        interval = self.seconds

        def slowly() -> Iterator[bytes]:
            for piece in pieces:
                if exchange.interrupted(interval):
                    return  # short of Content-Length: the server closes the connection
                yield piece

        out = Response(slowly(), status=full.status_code)
        out.headers["Content-Type"] = full.headers.get("Content-Type", "text/xml")
        out.headers["Content-Length"] = str(len(body))
        return out


@dataclass(frozen=True, slots=True)
class Reset:
    """A TCP reset (RST) once the request is read: the client gets a connection error."""

    @property
    def spec(self) -> str:
        return "reset"

    def apply(self, serve: Serve, exchange: Exchange) -> Response:
        raise DropConnection("injected reset")


_APACHE_500 = (
    '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n'
    "<html><head>\n<title>500 Internal Server Error</title>\n</head><body>\n"
    "<h1>Internal Server Error</h1>\n"
    "<p>The server encountered an internal error or misconfiguration and was unable "
    "to complete your request.</p>\n"
    "<p>Please contact the server administrator to inform them of the time this error "
    "occurred, and the actions you performed just before this error.</p>\n"
    "<hr>\n<address>Apache Server at qualiflps-services-ps-tlsm.ameli.fr Port 443</address>\n"
    "</body></html>\n"
)


@dataclass(frozen=True, slots=True)
class HtmlError:
    """An HTML error page of a front server instead of the service's answer."""

    status: int = 500
    name: str = "http500_html"
    page: str = field(default=_APACHE_500, repr=False)

    @property
    def spec(self) -> str:
        return self.name

    def apply(self, serve: Serve, exchange: Exchange) -> Response:
        return Response(self.page, status=self.status, content_type="text/html; charset=iso-8859-1")


@dataclass(frozen=True, slots=True)
class Truncate:
    """HTTP 200 with the normal answer cut in the middle (Content-Length of the cut)."""

    @property
    def spec(self) -> str:
        return "truncated"

    def apply(self, serve: Serve, exchange: Exchange) -> Response:
        full = serve()
        body = full.get_data()
        cut = Response(body[: max(1, len(body) // 2)], status=200)
        cut.headers["Content-Type"] = full.headers.get("Content-Type", "text/xml")
        return cut


@dataclass(frozen=True, slots=True)
class NonSoap200:
    """HTTP 200 with a ``text/plain`` maintenance text (a front server's, not the service)."""

    @property
    def spec(self) -> str:
        return "non_soap_200"

    def apply(self, serve: Serve, exchange: Exchange) -> Response:
        return Response(
            "Service en maintenance. Merci de réessayer plus tard.\n",
            status=200,
            content_type="text/plain; charset=utf-8",
        )


@dataclass(frozen=True, slots=True)
class ServiceFault:
    """A fault of the service itself, served by its handler (``exchange.fault``)."""

    name: str
    seconds: float | None = None

    @property
    def spec(self) -> str:
        return self.name if self.seconds is None else f"{self.name}:{_seconds(self.seconds)}"

    def apply(self, serve: Serve, exchange: Exchange) -> Response:
        exchange.fault = self
        return serve()


@dataclass(frozen=True, slots=True)
class Chain:
    """Faults applied one around the next: the first is the outermost."""

    faults: tuple[Fault, ...]

    @property
    def spec(self) -> str:
        return "+".join(f.spec for f in self.faults)

    def apply(self, serve: Serve, exchange: Exchange) -> Response:
        for fault in reversed(self.faults):
            serve = _bound(fault, serve, exchange)
        return serve()


def _bound(fault: Fault, serve: Serve, exchange: Exchange) -> Serve:
    return lambda: fault.apply(serve, exchange)


# -- parsing ------------------------------------------------------------------------------

Argument = Literal["none", "seconds", "optional seconds"]


@dataclass(frozen=True, slots=True)
class FaultKind:
    """One name a catalog knows: what argument it takes and the fault it builds."""

    name: str
    build: Callable[[float | None], Fault]
    argument: Argument = "none"

    @classmethod
    def constant(cls, fault: Fault) -> FaultKind:
        """The kind whose only value is ``fault`` (named by its spec, no argument)."""
        return cls(fault.spec, _fixed(fault))

    def parse(self, argument: str) -> Fault:
        if not argument:
            if self.argument == "seconds":
                raise FaultSpecError(f"{self.name} needs seconds: '{self.name}:2.5'")
            return self.build(None)
        if self.argument == "none":
            raise FaultSpecError(f"fault {self.name!r} takes no argument")
        try:
            seconds = float(argument)
        except ValueError:
            raise FaultSpecError(f"{self.name} takes seconds: '{self.name}:2.5'") from None
        if not 0 <= seconds <= _MAX_SECONDS:
            raise FaultSpecError(f"{self.name} must be between 0 and {_MAX_SECONDS:g} seconds")
        return self.build(seconds)


def service_faults(
    *names: str, seconds: Iterable[str] = (), optional_seconds: Iterable[str] = ()
) -> list[FaultKind]:
    """Kinds building :class:`ServiceFault` values (``seconds``: names that need them)."""
    timed, optional = set(seconds), set(optional_seconds)
    kinds: list[FaultKind] = []
    for name in (*names, *sorted(timed), *sorted(optional)):
        argument: Argument = (
            "seconds" if name in timed else "optional seconds" if name in optional else "none"
        )
        kinds.append(FaultKind(name, _service_builder(name), argument))
    return kinds


def _service_builder(name: str) -> Callable[[float | None], Fault]:
    return lambda seconds: ServiceFault(name, seconds)


class FaultCatalog:
    """The fault names one mock (or one of its targets) understands, and their parser."""

    def __init__(self, kinds: Iterable[FaultKind]) -> None:
        self._kinds: Mapping[str, FaultKind] = {kind.name: kind for kind in kinds}

    def __or__(self, other: FaultCatalog) -> FaultCatalog:
        return FaultCatalog([*self._kinds.values(), *other._kinds.values()])

    def with_service(
        self, *names: str, seconds: Iterable[str] = (), optional_seconds: Iterable[str] = ()
    ) -> FaultCatalog:
        """This catalog and the service faults ``names`` (``seconds``: names needing them,
        ``optional_seconds``: names taking them if given)."""
        kinds = service_faults(*names, seconds=seconds, optional_seconds=optional_seconds)
        return self | FaultCatalog(kinds)

    def only(self, *names: str) -> FaultCatalog:
        """The part of this catalog with ``names`` (a mail mock keeps latency and reset)."""
        return FaultCatalog(self._kinds[name] for name in names)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._kinds)

    def parse(self, spec: str | Fault) -> Fault:
        """``spec`` as a fault value (``"a+b"`` chains); a :class:`Fault` is checked too."""
        if not isinstance(spec, str):
            text = spec.spec
            if self.parse(text) != spec:
                raise UnknownFault(f"{spec!r} is not a fault of this mock")
            return spec
        faults = [self._one(part.strip()) for part in spec.split("+")]
        if sum(isinstance(f, ServiceFault) for f in faults) > 1:
            raise FaultSpecError(f"{spec!r}: one service fault at a time")
        return faults[0] if len(faults) == 1 else Chain(tuple(faults))

    def _one(self, spec: str) -> Fault:
        name, _, argument = spec.partition(":")
        kind = self._kinds.get(name)
        if kind is None:
            raise UnknownFault(f"unknown fault {spec!r}; known: {', '.join(sorted(self._kinds))}")
        return kind.parse(argument)


def _fixed(fault: Fault) -> Callable[[float | None], Fault]:
    return lambda _seconds: fault


def _latency(seconds: float | None) -> Fault:
    return Latency(seconds or 0.0)


def _trickle(seconds: float | None) -> Fault:
    return Trickle(seconds or 0.0)


#: The generic faults every HTTP mock serves.
HTTP_FAULTS = FaultCatalog(
    [
        FaultKind("latency", _latency, "seconds"),
        FaultKind("trickle", _trickle, "seconds"),
        FaultKind.constant(Reset()),
        FaultKind.constant(HtmlError()),
        FaultKind.constant(Truncate()),
        FaultKind.constant(NonSoap200()),
    ]
)


# -- pending faults -----------------------------------------------------------------------


@dataclass(slots=True)
class PendingFault:
    """A fault waiting for requests; ``target`` limits it to one route (or a sub-queue)."""

    fault: Fault
    remaining: int | None  # None: until cleared
    target: str | None = None

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"fault": self.fault.spec, "remaining": self.remaining}
        if self.target is not None:
            data["target"] = self.target
        return data


class FaultQueue:
    """Injected faults, oldest first, shared by the request threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[PendingFault] = []

    def push(self, fault: Fault, count: int | None = 1, target: str | None = None) -> None:
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
            raise FaultSpecError("count must be an integer or null")
        if count is not None and count < 1:
            raise FaultSpecError(f"count must be >= 1 or None, not {count}")
        with self._lock:
            self._pending.append(PendingFault(fault, count, target))

    def take(self, *targets: str | None) -> Fault | None:
        """The oldest pending fault aimed at one of ``targets`` (``None``: untargeted)."""
        with self._lock:
            for pending in self._pending:
                if pending.target not in targets:
                    continue
                if pending.remaining is not None:
                    pending.remaining -= 1
                    if pending.remaining <= 0:
                        self._pending.remove(pending)
                return pending.fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()

    def pending(self) -> list[PendingFault]:
        with self._lock:
            return [PendingFault(p.fault, p.remaining, p.target) for p in self._pending]
