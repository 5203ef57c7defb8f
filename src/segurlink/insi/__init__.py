"""INSi: find and verify a person's INS from identity traits (certificate mode).

>>> from segurlink.insi import InsiClient, TraitsQuery, CrCode
"""

from .client import InsiClient, compare_identity
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

__all__ = [
    "ACTION_SEARCH_TRAITS",
    "ACTION_SEARCH_VITALE",
    "CrCode",
    "HistoricalIns",
    "InsFound",
    "InsNotFound",
    "InsiClient",
    "InsiIdentity",
    "InsiMessages",
    "InsiResult",
    "Mismatch",
    "MultipleIdentities",
    "SearchAttempt",
    "SearchOutcome",
    "TraitsQuery",
    "Verification",
    "VitaleQuery",
    "compare_identity",
    "parse_answer",
]
