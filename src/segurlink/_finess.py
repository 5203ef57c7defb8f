"""FINESS numbers: the national identifier of a health, social or medico-social structure.

The format is the one the ANS *Modèle des Objets de Santé* gives for ``numFINESS``:
9 characters; positions 1-2 the département where the structure is (``2A``/``2B`` for
Corsica, ``97`` for the overseas départements, ``98`` for Mayotte), then digits, position 9
being a Luhn key. The key is checked for all-digit numbers; for Corsican numbers the
published rule does not say how the letters count, so only their shape is checked.

>>> check_finess("010000016")
'010000016'
>>> check_finess("2a0000000")
'2A0000000'
"""

from __future__ import annotations

import re

from ._ascii import ASCII_DIGITS, describe_non_ascii, is_ascii_digits
from .errors import InputError

__all__ = ["check_finess", "luhn_key"]

# Départements 01-19, 21-95, 2A, 2B, 97 (overseas), 98 (Mayotte); ASCII only.
_DEPARTEMENT = re.compile(r"0[1-9]|1[0-9]|2[1-9AB]|[3-8][0-9]|9[0-5]|9[78]")
_FINESS = re.compile(rf"(?:{_DEPARTEMENT.pattern})[0-9]{{7}}")


def luhn_key(digits: str) -> int:
    """The Luhn key (0-9) that completes ``digits`` (ASCII digits only).

    >>> luhn_key("01000001")
    6
    """
    if not is_ascii_digits(digits):
        raise InputError("a Luhn key is computed over ASCII digits only")
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return (10 - total % 10) % 10


def check_finess(value: object) -> str:
    """``value`` as a FINESS number (Corsican letters upper-cased), or :class:`InputError`.

    The message names what is wrong (length, département, character, key); a FINESS
    identifies a structure, not a person, so it may be echoed.
    """
    if not isinstance(value, str):
        raise InputError(f"a FINESS number is a string, not {type(value).__name__}")
    non_ascii = describe_non_ascii(value)
    if non_ascii is not None:
        raise InputError(f"a FINESS number is written in ASCII (0-9, 2A/2B): {non_ascii}")
    if len(value) != 9:
        raise InputError(f"a FINESS number has 9 characters, got {len(value)} ({value!r})")
    finess = value.upper()
    if not _FINESS.fullmatch(finess):
        if not _DEPARTEMENT.fullmatch(finess[:2]):
            problem = f"its département {value[:2]!r} is not 01-95, 2A, 2B, 97 or 98"
        else:
            position = next(i for i, c in enumerate(finess) if i > 1 and c not in ASCII_DIGITS)
            problem = f"character {position + 1} is {value[position]!r}, not a digit 0-9"
        raise InputError(
            f"not a FINESS number: {value!r}: {problem} (expected the département, then 7 digits)"
        )
    if finess[:2] not in ("2A", "2B"):
        expected = luhn_key(finess[:8])
        if int(finess[8]) != expected:
            raise InputError(
                f"FINESS key mismatch: {value!r} ends with {finess[8]}, the Luhn key of "
                f"{finess[:8]} is {expected}"
            )
    return finess
