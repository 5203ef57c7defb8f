"""INSi: find and verify a person's INS from identity traits (certificate mode).

>>> from segurlink.insi import InsiClient, TraitsQuery, CrCode
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .client import InsiClient, compare_identity
    from .flows import ALL_FIRST_NAMES, search_strategy
    from .messages import ACTION_SEARCH_TRAITS, ACTION_SEARCH_VITALE, InsiMessages, parse_answer
    from .models import (
        CrCode,
        HistoricalIns,
        InsFound,
        InsiIdentity,
        InsiResult,
        InsNotFound,
        Mismatch,
        MultipleIdentities,
        SearchAttempt,
        SearchOutcome,
        TraitsQuery,
        Verification,
        VitaleQuery,
    )
    from .settings import InsiSettings

__all__ = [
    "ACTION_SEARCH_TRAITS",
    "ACTION_SEARCH_VITALE",
    "ALL_FIRST_NAMES",
    "CrCode",
    "HistoricalIns",
    "InsFound",
    "InsNotFound",
    "InsiClient",
    "InsiIdentity",
    "InsiMessages",
    "InsiResult",
    "InsiSettings",
    "Mismatch",
    "MultipleIdentities",
    "SearchAttempt",
    "SearchOutcome",
    "TraitsQuery",
    "Verification",
    "VitaleQuery",
    "compare_identity",
    "parse_answer",
    "search_strategy",
]

_EXPORTS = {
    **dict.fromkeys(
        (
            "InsiClient",
            "compare_identity",
        ),
        ".client",
    ),
    **dict.fromkeys(
        (
            "ALL_FIRST_NAMES",
            "search_strategy",
        ),
        ".flows",
    ),
    **dict.fromkeys(
        (
            "ACTION_SEARCH_TRAITS",
            "ACTION_SEARCH_VITALE",
            "InsiMessages",
            "parse_answer",
        ),
        ".messages",
    ),
    **dict.fromkeys(
        (
            "CrCode",
            "HistoricalIns",
            "InsFound",
            "InsiIdentity",
            "InsiResult",
            "InsNotFound",
            "Mismatch",
            "MultipleIdentities",
            "SearchAttempt",
            "SearchOutcome",
            "TraitsQuery",
            "Verification",
            "VitaleQuery",
        ),
        ".models",
    ),
    "InsiSettings": ".settings",
}
__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS, __all__)
