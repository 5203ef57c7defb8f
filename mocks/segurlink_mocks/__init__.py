"""Emulators of the French national e-health services, for tests, demos and CI.

Each mock is a real HTTPS server (mutual TLS with a test PKI) speaking the service's wire
format, validating what it receives against segurlink's schemas, and able to inject
faults. The same classes run under pytest (fixtures from :mod:`segurlink_mocks.pytest_plugin`)
and as a program (``segurlink mock serve`` / ``python -m segurlink_mocks``).

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
    from ._core.installation import default_state_dir
    from ._core.server import Exchange, MockServer, PeerCertificate, RequestRecord
    from .dmp import DmpMock
    from .insi import InsiMock, InsiPerson, InsRecord, ResponseShape
    from .pki import ClientCert, TestPki
    from .psc import PscMock
    from .ror import RorMock
    from .stack import MockStack, serve_forever

__all__ = [
    "ClientCert",
    "DmpMock",
    "Exchange",
    "InsRecord",
    "InsiMock",
    "InsiPerson",
    "MockServer",
    "MockStack",
    "PeerCertificate",
    "PscMock",
    "RequestRecord",
    "ResponseShape",
    "RorMock",
    "TestPki",
    "default_state_dir",
    "serve_forever",
]

__getattr__, __dir__ = lazy_exports(
    globals(),
    {
        "ClientCert": ".pki",
        "DmpMock": ".dmp",
        "Exchange": "._core.server",
        "InsRecord": ".insi",
        "InsiMock": ".insi",
        "InsiPerson": ".insi",
        "MockServer": "._core.server",
        "MockStack": ".stack",
        "PeerCertificate": "._core.server",
        "PscMock": ".psc",
        "RequestRecord": "._core.server",
        "ResponseShape": ".insi",
        "RorMock": ".ror",
        "TestPki": ".pki",
        "default_state_dir": "._core.installation",
        "serve_forever": ".stack",
    },
    __all__,
)
