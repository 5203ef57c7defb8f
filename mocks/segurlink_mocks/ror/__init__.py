"""The ROR mock: a FHIR R4 server over a generated offer, with its token endpoint.

``data`` generates the offer, ``search`` evaluates FHIR searches on it, ``capacity`` reads
and stores capacity PATCHes, ``server`` is the HTTP server (token, FHIR API, ``$export``).

Names load lazily: importing the fixtures module costs nothing until a mock starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from segurlink._lazy import lazy_exports

if TYPE_CHECKING:
    from .server import (
        CLIENT_ID,
        CLIENT_SECRET,
        FHIR_PATH,
        INCLUDES,
        MTLS_CLIENT_ID,
        SEARCH_PARAMS,
        SYNC_PATH,
        TOKEN_PATH,
        RorDataset,
        RorMock,
        generate_dataset,
    )

__all__ = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "FHIR_PATH",
    "INCLUDES",
    "MTLS_CLIENT_ID",
    "SEARCH_PARAMS",
    "SYNC_PATH",
    "TOKEN_PATH",
    "RorDataset",
    "RorMock",
    "generate_dataset",
]

__getattr__, __dir__ = lazy_exports(
    globals(),
    {
        "CLIENT_ID": ".server",
        "CLIENT_SECRET": ".server",
        "FHIR_PATH": ".server",
        "INCLUDES": ".server",
        "MTLS_CLIENT_ID": ".server",
        "RorDataset": ".server",
        "RorMock": ".server",
        "SEARCH_PARAMS": ".server",
        "SYNC_PATH": ".server",
        "TOKEN_PATH": ".server",
        "generate_dataset": ".server",
    },
    __all__,
)
