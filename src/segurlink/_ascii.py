"""Identifiers, dates and place codes are ASCII: find and name a character that is not.

Python's ``\\d`` and ``str.isdigit()`` match every Unicode decimal digit (full-width ``４``,
Arabic-Indic ``٤``, Devanagari ``४``...), and ``int()`` reads them as numbers, so a NIR typed
with one of them would pass a key check and reach INSi unchanged. segurlink *refuses* such
characters with an error naming them rather than normalising them: NFKC maps full-width
digits to ASCII but leaves the digits of other scripts as they are, and an identifier
silently rewritten is not the one the user typed. Patterns use ``[0-9]``, never ``\\d``.

>>> describe_non_ascii("27512632207４974")
"character 12 is '４' (U+FF14 FULLWIDTH DIGIT FOUR)"
>>> describe_non_ascii("275126322074974") is None
True
"""

from __future__ import annotations

import unicodedata

__all__ = ["ASCII_DIGITS", "describe_non_ascii", "is_ascii_digits"]

ASCII_DIGITS = frozenset("0123456789")


def describe_non_ascii(text: str) -> str | None:
    """Where and which the first non-ASCII character of ``text`` is, or ``None``.

    Names one character, never the whole value (identifiers are health data).
    """
    for index, char in enumerate(text):
        if not char.isascii():
            name = unicodedata.name(char, "unnamed character")
            return f"character {index + 1} is {char!r} (U+{ord(char):04X} {name})"
    return None


def is_ascii_digits(text: str) -> bool:
    """True when ``text`` is one or more ASCII digits ``0-9`` (unlike ``str.isdigit``).

    >>> is_ascii_digits("42"), is_ascii_digits("４２"), is_ascii_digits("")
    (True, False, False)
    """
    return bool(text) and all(char in ASCII_DIGITS for char in text)
