"""NIR / NIA: shape and control key of the 13-character matricule.

The matricule is: sex digit, year (2), month (2), département (2 digits, or ``2A``/``2B``
for Corsica), commune (3), order number (3). Its key is ``97 - (N mod 97)`` where ``N``
is the matricule read as a number after replacing ``2A`` by ``19`` and ``2B`` by ``18``.
A NIA (provisional number) is built the same way.

These functions check what a *user typed*. Data returned by INSi is not re-checked here
(some official fixtures carry keys that fail mod 97): see :class:`segurlink.identity.Ins`.

>>> nir_key("2751263220749")
74
>>> check_nir("2 75 12 63 220 749 74")
('2751263220749', '74')
"""

from __future__ import annotations

import re

from .._ascii import describe_non_ascii
from .._audit import mask_identifier
from ..errors import InvalidIdentifier

__all__ = ["check_nir", "nir_key", "split_nir"]

# First digit 1/2 is the sex; 3, 4, 7, 8 occur in provisional and foreign-born numbers.
# [0-9], never \d: \d also matches full-width and other scripts' digits (see _ascii).
_MATRICULE = re.compile(r"[1-8][0-9]{4}(?:[0-9]{2}|2A|2B)[0-9]{6}")
_NIR = re.compile(r"(?P<matricule>[0-9]{5}(?:[0-9]{2}|2A|2B)[0-9]{6})(?P<key>[0-9]{2})")
_SEPARATORS = re.compile(r"[\s.\-]+")
_CORSICA = {"2A": "19", "2B": "18"}


def _describe(text: str) -> str:
    # Never echo a full identifier into an error message (messages end up in logs).
    return repr(mask_identifier(text)) + f" ({len(text)} characters)"


def _refuse_non_ascii(text: str, what: str) -> None:
    problem = describe_non_ascii(text)
    if problem is not None:
        raise InvalidIdentifier(f"{what} is written with ASCII digits 0-9 (and 2A/2B): {problem}")


def nir_key(matricule: str) -> int:
    """The control key (1..97) of a 13-character NIR/NIA matricule.

    Letters of the Corsican départements may be lower case.

    >>> nir_key("297022A020778")
    78

    Raises :class:`~segurlink.errors.InvalidIdentifier` when ``matricule`` is not 13
    characters of the form ``[1-8]YYMM(DD|2A|2B)CCCOOO``.
    """
    if not isinstance(matricule, str):
        raise InvalidIdentifier(f"a NIR matricule is a string, not {type(matricule).__name__}")
    _refuse_non_ascii(matricule, "a NIR/NIA matricule")
    value = matricule.upper()
    if not _MATRICULE.fullmatch(value):
        raise InvalidIdentifier(
            f"not a NIR/NIA matricule: {_describe(value)}; expected 13 characters: "
            "sex digit 1-8, year, month, département (2 digits, 2A or 2B), commune, order"
        )
    digits = value[:5] + _CORSICA.get(value[5:7], value[5:7]) + value[7:]
    return 97 - int(digits) % 97


def split_nir(text: str) -> tuple[str, str]:
    """Split a typed 15-character NIR into ``(matricule, key)`` without checking the key.

    Spaces, dots and hyphens between groups are ignored; Corsican letters are upper-cased.

    >>> split_nir("2 75 12 63 220 749 74")
    ('2751263220749', '74')
    """
    if not isinstance(text, str):
        raise InvalidIdentifier(f"a NIR is a string, not {type(text).__name__}")
    compact = _SEPARATORS.sub("", text.strip())
    _refuse_non_ascii(compact, "a NIR/NIA")
    compact = compact.upper()
    match = _NIR.fullmatch(compact)
    if match is None:
        raise InvalidIdentifier(
            f"not a NIR/NIA: {_describe(compact)}; expected 15 characters "
            "(13-character matricule followed by a 2-digit key)"
        )
    return match["matricule"], match["key"]


def check_nir(text: str) -> tuple[str, str]:
    """Split a typed NIR like :func:`split_nir` and verify its key.

    >>> check_nir("160012B02077713")
    ('160012B020777', '13')

    Raises :class:`~segurlink.errors.InvalidIdentifier` on a bad shape or a key that does
    not match (the message gives the expected and the given key).
    """
    matricule, key = split_nir(text)
    expected = nir_key(matricule)
    if int(key) != expected:
        raise InvalidIdentifier(
            f"NIR key mismatch: expected {expected:02d} for this matricule, given {key}"
        )
    return matricule, key
