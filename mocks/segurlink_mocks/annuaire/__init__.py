"""The Annuaire Santé mock: a FHIR R4 server publishing MSSanté addresses.

``data`` holds the directory (the mocks' test professionals and structures, and enough
generated ones to need paging), ``server`` the HTTP server (API key, searches, paging,
faults).

Names load lazily: importing the fixtures module costs nothing until a mock starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from segurlink._lazy import lazy_exports

if TYPE_CHECKING:
    from .data import (
        API_KEY,
        APP_ADDRESS,
        CAB_ADDRESS,
        CLAIRE_ADDRESS,
        CLAIRE_RPPS,
        EHPAD_FINESS,
        HOPITAL_FINESS,
        INTEGRATION_ADDRESS,
        JEANNE_RPPS,
        LOUISE_ADELI,
        MARTIN_COUNT,
        ORG_ADDRESS,
        PAUL_ADDRESS,
        PAUL_RPPS,
        RED_LISTED,
        ROBERT_ADDRESS,
        directory,
    )
    from .server import API_HEADER, FHIR_PATH, MAX_PAGE, SEARCH_PARAMS, AnnuaireMock

__all__ = [
    "API_HEADER",
    "API_KEY",
    "APP_ADDRESS",
    "CAB_ADDRESS",
    "CLAIRE_ADDRESS",
    "CLAIRE_RPPS",
    "EHPAD_FINESS",
    "FHIR_PATH",
    "HOPITAL_FINESS",
    "INTEGRATION_ADDRESS",
    "JEANNE_RPPS",
    "LOUISE_ADELI",
    "MARTIN_COUNT",
    "MAX_PAGE",
    "ORG_ADDRESS",
    "PAUL_ADDRESS",
    "PAUL_RPPS",
    "RED_LISTED",
    "ROBERT_ADDRESS",
    "SEARCH_PARAMS",
    "AnnuaireMock",
    "directory",
]

__getattr__, __dir__ = lazy_exports(
    globals(),
    {
        **dict.fromkeys(
            (
                "API_KEY",
                "APP_ADDRESS",
                "CAB_ADDRESS",
                "CLAIRE_ADDRESS",
                "CLAIRE_RPPS",
                "EHPAD_FINESS",
                "HOPITAL_FINESS",
                "INTEGRATION_ADDRESS",
                "JEANNE_RPPS",
                "LOUISE_ADELI",
                "MARTIN_COUNT",
                "ORG_ADDRESS",
                "PAUL_ADDRESS",
                "PAUL_RPPS",
                "RED_LISTED",
                "ROBERT_ADDRESS",
                "directory",
            ),
            ".data",
        ),
        **dict.fromkeys(
            ("API_HEADER", "FHIR_PATH", "MAX_PAGE", "SEARCH_PARAMS", "AnnuaireMock"), ".server"
        ),
    },
    __all__,
)
