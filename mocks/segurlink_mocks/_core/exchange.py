"""What one request carries through a mock: the peer certificate, the service fault to
serve, the details for the request log, and a stop-aware way to wait."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .faults import ServiceFault

__all__ = ["DropConnection", "Exchange", "PeerCertificate", "RequestRecord"]


class DropConnection(ConnectionError):
    """Raised by a handler or a fault: the server resets the TCP connection, no answer."""


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


def _always_current() -> bool:
    return True


@dataclass(slots=True)
class Exchange:
    """One request being served: what a route handler knows besides the request itself.

    ``fault`` is the service fault to serve (``None``: a normal answer; the generic faults
    never reach a handler, the server applies them around it). ``details`` go to the
    request log (operation, codes; never health data).
    """

    client: PeerCertificate | None
    fault: ServiceFault | None = None
    details: dict[str, str] = field(default_factory=dict)
    route: str = ""
    applied: str | None = None  # the spec of the fault taken by this request (for the log)
    stopping: threading.Event = field(default_factory=threading.Event, repr=False)
    current: Callable[[], bool] = field(default=_always_current, repr=False)

    def has_fault(self, name: str) -> bool:
        """Whether the service fault ``name`` applies to this request."""
        return self.fault is not None and self.fault.name == name

    def interrupted(self, seconds: float) -> bool:
        """Wait ``seconds``; True when the mock was stopped or reset meanwhile."""
        return self.stopping.wait(seconds)

    def pause(self, seconds: float) -> None:
        """Wait ``seconds``, or drop the connection if the mock is stopped or reset."""
        if self.interrupted(seconds):
            raise DropConnection("mock stopping or reset")

    def is_current(self) -> bool:
        """False for a request that arrived before the mock's last reset (an earlier test)."""
        return self.current()
