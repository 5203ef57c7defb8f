"""The DMP mock: a stateful XDS.b registry and repository checking VIHF, metadata and rights.

Names load lazily: importing the fixtures module costs nothing until a mock starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from segurlink._lazy import lazy_exports

if TYPE_CHECKING:
    from .server import (
        ACTIONS,
        DEFAULT_PATIENTS,
        DEVICE_OID,
        REPOSITORY_ID,
        DmpMock,
        DmpPatient,
        StoredEntry,
    )

__all__ = [
    "ACTIONS",
    "DEFAULT_PATIENTS",
    "DEVICE_OID",
    "REPOSITORY_ID",
    "DmpMock",
    "DmpPatient",
    "StoredEntry",
]

__getattr__, __dir__ = lazy_exports(
    globals(),
    {
        "ACTIONS": ".server",
        "DEFAULT_PATIENTS": ".server",
        "DEVICE_OID": ".server",
        "DmpMock": ".server",
        "DmpPatient": ".server",
        "REPOSITORY_ID": ".server",
        "StoredEntry": ".server",
    },
    __all__,
)
