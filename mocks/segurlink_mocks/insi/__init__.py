"""The INSi mock: SOAP 1.2 over mutual TLS, the test persons of the spec, faults.

Names load lazily: importing the fixtures module costs nothing until a mock starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from segurlink._lazy import lazy_exports

if TYPE_CHECKING:
    from .._core.installation import DEFAULT_IDAM
    from .server import (
        ACTION_CARTE_VITALE,
        ACTION_TRAITS,
        DEFAULT_PERSONS,
        FaultStyle,
        InsiMock,
        InsiPerson,
        InsRecord,
        ResponseShape,
        find_by_carte_vitale,
        find_by_traits,
    )

__all__ = [
    "ACTION_CARTE_VITALE",
    "ACTION_TRAITS",
    "DEFAULT_IDAM",
    "DEFAULT_PERSONS",
    "FaultStyle",
    "InsRecord",
    "InsiMock",
    "InsiPerson",
    "ResponseShape",
    "find_by_carte_vitale",
    "find_by_traits",
]

__getattr__, __dir__ = lazy_exports(
    globals(),
    {
        "ACTION_CARTE_VITALE": ".server",
        "ACTION_TRAITS": ".server",
        "DEFAULT_IDAM": "segurlink_mocks._core.installation",
        "DEFAULT_PERSONS": ".server",
        "FaultStyle": ".server",
        "InsRecord": ".server",
        "InsiMock": ".server",
        "InsiPerson": ".server",
        "ResponseShape": ".server",
        "find_by_carte_vitale": ".server",
        "find_by_traits": ".server",
    },
    __all__,
)
