"""Emulators of the French national e-health services, for tests, demos and CI.

Each mock is a real HTTPS server (mutual TLS with a test PKI) speaking the service's wire
format, validating what it receives against segurlink's schemas, and able to inject
faults. The same classes run under pytest (fixtures from :mod:`segurlink_mocks.pytest_plugin`)
and as a program (``segurlink mock serve`` / ``python -m segurlink_mocks``).

A mock is a :class:`MockService` (the service's behaviour: routes, answers, its faults)
served by a :class:`MockServer` (lifecycle, mutual TLS, HTTP/1.1 keep-alive, faults, request
log, the ``/_mock/`` control endpoint, handler errors). Faults are typed values
(:class:`Latency`, :class:`Reset`, :class:`ServiceFault`, :class:`Chain`...) or their text
(``"latency:2.5"``), parsed once.

Names are loaded lazily so that importing the pytest plugin stays cheap.

>>> from segurlink_mocks import InsiMock, TestPki            # doctest: +SKIP
>>> with InsiMock(TestPki.create(tmp)) as insi:               # doctest: +SKIP
...     print(insi.endpoint)
https://127.0.0.1:40551/lps
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from segurlink._lazy import lazy_exports

if TYPE_CHECKING:
    from ._core.exchange import DropConnection, Exchange, PeerCertificate, RequestRecord
    from ._core.faults import (
        Chain,
        Fault,
        FaultCatalog,
        FaultSpecError,
        HtmlError,
        Latency,
        NonSoap200,
        Reset,
        ServiceFault,
        Trickle,
        Truncate,
        UnknownFault,
    )
    from ._core.installation import default_state_dir
    from ._core.routing import Route
    from ._core.server import MockServer
    from ._core.service import MockService
    from .annuaire import AnnuaireMock
    from .dmp import DmpMock
    from .insi import InsiMock, InsiPerson, InsRecord, ResponseShape
    from .mssante import MssMock
    from .pki import ClientCert, TestPki
    from .psc import PscMock
    from .ror import RorMock
    from .stack import MockStack, serve_forever

__all__ = [
    "AnnuaireMock",
    "Chain",
    "ClientCert",
    "DmpMock",
    "DropConnection",
    "Exchange",
    "Fault",
    "FaultCatalog",
    "FaultSpecError",
    "HtmlError",
    "InsRecord",
    "InsiMock",
    "InsiPerson",
    "Latency",
    "MockServer",
    "MockService",
    "MockStack",
    "MssMock",
    "NonSoap200",
    "PeerCertificate",
    "PscMock",
    "RequestRecord",
    "Reset",
    "ResponseShape",
    "RorMock",
    "Route",
    "ServiceFault",
    "TestPki",
    "Trickle",
    "Truncate",
    "UnknownFault",
    "default_state_dir",
    "serve_forever",
]

_FAULTS = "._core.faults"
__getattr__, __dir__ = lazy_exports(
    globals(),
    {
        "AnnuaireMock": ".annuaire",
        "Chain": _FAULTS,
        "ClientCert": ".pki",
        "DmpMock": ".dmp",
        "DropConnection": "._core.exchange",
        "Exchange": "._core.exchange",
        "Fault": _FAULTS,
        "FaultCatalog": _FAULTS,
        "FaultSpecError": _FAULTS,
        "HtmlError": _FAULTS,
        "InsRecord": ".insi",
        "InsiMock": ".insi",
        "InsiPerson": ".insi",
        "Latency": _FAULTS,
        "MockServer": "._core.server",
        "MockService": "._core.service",
        "MockStack": ".stack",
        "MssMock": ".mssante",
        "NonSoap200": _FAULTS,
        "PeerCertificate": "._core.exchange",
        "PscMock": ".psc",
        "RequestRecord": "._core.exchange",
        "Reset": _FAULTS,
        "ResponseShape": ".insi",
        "RorMock": ".ror",
        "Route": "._core.routing",
        "ServiceFault": _FAULTS,
        "TestPki": ".pki",
        "Trickle": _FAULTS,
        "Truncate": _FAULTS,
        "UnknownFault": _FAULTS,
        "default_state_dir": "._core.installation",
        "serve_forever": ".stack",
    },
    __all__,
)
