"""The Pro Santé Connect mock: an OpenID Provider with test professionals, CIBA and faults.

Names load lazily: importing the fixtures module costs nothing until a mock starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from segurlink._lazy import lazy_exports

if TYPE_CHECKING:
    from .server import (
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        ENDPOINT_NAMES,
        ID_TOKEN_FAULTS,
        REALM_PATH,
        TEST_PROFESSIONALS,
        MockClient,
        PscMock,
        TestProfessional,
        discovery_document,
    )

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "ENDPOINT_NAMES",
    "ID_TOKEN_FAULTS",
    "REALM_PATH",
    "TEST_PROFESSIONALS",
    "MockClient",
    "PscMock",
    "TestProfessional",
    "discovery_document",
]

__getattr__, __dir__ = lazy_exports(
    globals(),
    {
        "DEFAULT_CLIENT_ID": ".server",
        "DEFAULT_CLIENT_SECRET": ".server",
        "ENDPOINT_NAMES": ".server",
        "ID_TOKEN_FAULTS": ".server",
        "MockClient": ".server",
        "PscMock": ".server",
        "REALM_PATH": ".server",
        "TEST_PROFESSIONALS": ".server",
        "TestProfessional": ".server",
        "discovery_document": ".server",
    },
    __all__,
)
