"""Identity traits normalised to the INSi character rules.

INSi takes names in upper case ``A-Z``, space, apostrophe and hyphen only. The functions
here turn what a user typed into that alphabet, or refuse it with
:class:`~segurlink.errors.InvalidTraits` naming the field and the offending character.

What is **repaired** (the meaning cannot change):

- case (upper-cased), diacritics (``É`` → ``E``: NFKD, combining marks dropped),
  compatibility forms (full-width letters, ``ﬁ``), ligatures and special Latin letters
  (``Æ`` → ``AE``, ``Œ`` → ``OE``, ``ß`` → ``SS``, ``Ø`` → ``O``, ``Ł`` → ``L``,
  ``Đ`` → ``D``, ``ı`` → ``I``);
- typographic apostrophes ``’ ‘ ʼ ` ´ ′ ＇`` → ``'`` and dashes ``‐ ‑ ‒ – — − － ﹣`` → ``-``;
- whitespace: any kind becomes a space, runs are collapsed, the ends are trimmed,
  spaces around a hyphen are removed (``JEAN - PIERRE`` → ``JEAN-PIERRE``); invisible
  format characters (zero-width space, soft hyphen) are dropped.

What is **refused** (a person must look at it):

- digits, punctuation other than ``'`` and ``-``, symbols (``™``, ``&``...), letters of
  other scripts (Cyrillic, Greek, CJK...), and a value that is empty after normalisation;
- a leading hyphen or apostrophe, a doubled apostrophe ``''``, three hyphens or more;
- in first names only: a double hyphen ``--`` (allowed in birth names) and a trailing
  hyphen or apostrophe.

>>> normalize_birth_name("L’Hôpital")
"L'HOPITAL"
>>> normalize_first_names("Pierre-Alain, muriel floriant")
('PIERRE-ALAIN', 'MURIEL', 'FLORIANT')
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from .._ascii import describe_non_ascii
from ..errors import InvalidTraits

__all__ = [
    "MAX_NAME_LENGTH",
    "IdentityTraits",
    "Sex",
    "normalize_birth_name",
    "normalize_first_name",
    "normalize_first_names",
]


class Sex(StrEnum):
    """Sex as INSi knows it: only ``M`` or ``F`` (never unknown)."""

    M = "M"
    F = "F"


# Applied after upper-casing, before and after NFKD (NFKD may reveal a typographic mark).
# No "ß" nor "ı": upper-casing already gives "SS" and "I".
_TRANSLATION = str.maketrans(
    {
        "Æ": "AE",
        "Œ": "OE",
        "ẞ": "SS",
        "Ø": "O",
        "Ł": "L",
        "Đ": "D",
        "’": "'",
        "‘": "'",
        "ʼ": "'",
        "`": "'",
        "´": "'",
        "′": "'",
        "‐": "-",
        "‑": "-",
        "‒": "-",
        "–": "-",
        "—": "-",
        "−": "-",
    }
)
_ALLOWED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ '-")

#: Longest name segurlink sends to INSi, once normalised: the birth name, each first name,
#: the list of birth first names as one text, the used name and used first name.
#: Source: the INSi contract bounds no name. In DESIR_ICIR_EXP_1.5.0
#: (insi-contract/wsdl/xsd/ServiceIdentiteCertifiee), INSi_RECSANS_INS.xsd types
#: ``NomNaissance`` and ``Prenom`` as plain ``xsd:string``, and INSi_RESULTAT_INS.xsd
#: constrains only the coded fields (NIR ``\d{6}[A-Za-z0-9]\d{6}``, Cle ``[0-9]{2}``, COG
#: ``[A-Za-z0-9]{5}``, DateLunaire ``\d{4}-\d{2}-\d{2}``, Sexe ``[A-Z]{1}``), which the
#: formats of this module already fix. So this bound is segurlink's own, the one its INSi
#: mock applies: nothing longer is ever sent (a 1 MB "name" used to be).
MAX_NAME_LENGTH = 100
_WHITESPACE = re.compile(r"\s+")
_SPACED_HYPHEN = re.compile(r" ?- ?")
_SEPARATORS = re.compile(r"[\s,]+")
# [0-9], never \d: dates and place codes go to INSi as typed, in ASCII (see _ascii).
_ISO_DATE = re.compile(r"(?P<y>[0-9]{4})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})")
_FR_DATE = re.compile(r"(?P<d>[0-9]{2})/(?P<m>[0-9]{2})/(?P<y>[0-9]{4})")
_BIRTH_PLACE = re.compile(r"[0-9]{5}|2A[0-9]{3}|2B[0-9]{3}")


def _describe_char(char: str) -> str:
    name = unicodedata.name(char, "unnamed character")
    return f"{char!r} (U+{ord(char):04X} {name})"


def _normalise_characters(text: object, field: str) -> str:
    """Character repairs shared by every name; the result uses only ``_ALLOWED``."""
    if not isinstance(text, str):
        raise InvalidTraits(f"{field} must be a string, not {type(text).__name__}", field=field)
    for char in text:
        # Symbols would survive NFKD as letters ("™" -> "TM"): only letters go through.
        if not _is_name_character(char):
            raise _refused(char, field)
    value = text.upper().translate(_TRANSLATION)
    value = unicodedata.normalize("NFKD", value)
    value = "".join(
        char
        for char in value
        if not unicodedata.combining(char) and unicodedata.category(char) != "Cf"
    )
    value = value.upper().translate(_TRANSLATION)
    value = _WHITESPACE.sub(" ", value).strip()
    value = _SPACED_HYPHEN.sub("-", value)
    if not value:
        raise InvalidTraits(f"{field} is empty", field=field)
    for char in value:
        if char not in _ALLOWED:
            raise _refused(char, field)
    return value


def _is_name_character(char: str) -> bool:
    category = unicodedata.category(char)
    return (
        category[0] in "LM"
        or category == "Cf"
        or char.isspace()
        or char in "'-"
        or ord(char) in _TRANSLATION
        # compatibility forms of the apostrophe and hyphen (full-width "＇", "－", "﹣")
        or unicodedata.normalize("NFKD", char) in ("'", "-")
    )


def _refused(char: str, field: str) -> InvalidTraits:
    if char.isdigit() or unicodedata.category(char)[0] == "N":
        return InvalidTraits(
            f"{field} contains the digit {_describe_char(char)}; names cannot contain digits",
            field=field,
        )
    return InvalidTraits(
        f"{field} contains the character {_describe_char(char)}, which cannot be "
        "written with INSi's characters (A-Z, space, apostrophe, hyphen)",
        field=field,
    )


def _check_sequences(value: str, field: str, *, first_name: bool) -> str:
    if value[0] in "-'":
        raise InvalidTraits(f"{field} cannot start with {value[0]!r}", field=field)
    if "''" in value:
        raise InvalidTraits(f"{field} cannot contain a doubled apostrophe", field=field)
    if "---" in value:
        raise InvalidTraits(f"{field} cannot contain three hyphens in a row", field=field)
    if first_name:
        if "--" in value:
            raise InvalidTraits(
                f"{field} cannot contain a double hyphen (allowed in birth names only)",
                field=field,
            )
        for word in value.split(" "):
            if word[-1] in "-'":
                raise InvalidTraits(
                    f"{field}: a first name cannot end with {word[-1]!r}", field=field
                )
    return value


def _readable(text: object, field: str) -> None:
    # Normalising costs ~2 s per megabyte: refuse far too long input before doing it. The
    # margin leaves room for decomposed accents and padding, which normalisation removes.
    if isinstance(text, str) and len(text.strip()) > 4 * MAX_NAME_LENGTH:
        raise InvalidTraits(
            f"{field} has {len(text.strip())} characters; at most {MAX_NAME_LENGTH} are "
            "sent to INSi",
            field=field,
        )


def _within_limit(value: str, field: str) -> str:
    if len(value) > MAX_NAME_LENGTH:
        raise InvalidTraits(
            f"{field} has {len(value)} characters once normalised; at most "
            f"{MAX_NAME_LENGTH} are sent to INSi",
            field=field,
        )
    return value


def _birth_name(text: str, field: str = "birth_name") -> str:
    value = _normalise_characters(text, field)
    return _check_sequences(value, field, first_name=False)


def normalize_birth_name(text: str) -> str:
    """A birth name (or used name) in INSi's alphabet, at most :data:`MAX_NAME_LENGTH`.

    >>> normalize_birth_name("  de   Vinci ")
    'DE VINCI'
    >>> normalize_birth_name("Martin--Dupont")
    'MARTIN--DUPONT'

    Raises :class:`~segurlink.errors.InvalidTraits` (``field="birth_name"``) for what
    cannot be repaired; see the module documentation for the rules.
    """
    _readable(text, "birth_name")
    return _within_limit(_birth_name(text), "birth_name")


def _first_name(text: str) -> str:
    value = _check_sequences(
        _normalise_characters(text, "first_names"), "first_names", first_name=True
    )
    if " " in value:
        raise InvalidTraits(
            "first_names: a single first name cannot contain a space (INSi separates "
            "first names with spaces); pass them as a list or use normalize_first_names",
            field="first_names",
        )
    return value


def normalize_first_name(text: str) -> str:
    """One first name in INSi's alphabet.

    A single first name contains no space, because INSi lists first names separated by
    spaces (``ListePrenom``); use :func:`normalize_first_names` for several.

    >>> normalize_first_name("Zoé")
    'ZOE'
    >>> normalize_first_name("pierre - alain")
    'PIERRE-ALAIN'
    """
    _readable(text, "first_names")
    return _within_limit(_first_name(text), "first_names")


def normalize_first_names(text_or_list: str | Sequence[str]) -> tuple[str, ...]:
    """The birth first names, in order, as a tuple of normalised single names.

    A string is split on spaces and commas; each element of a list is split the same way.
    Hyphenated names (``PIERRE-ALAIN``) stay one name. Together, separated by spaces (as
    ``ListePrenom``), they have at most :data:`MAX_NAME_LENGTH` characters.

    >>> normalize_first_names(["Zoé", "Anne  Marie"])
    ('ZOE', 'ANNE', 'MARIE')
    """
    if isinstance(text_or_list, str):
        items: list[object] = [text_or_list]
    elif isinstance(text_or_list, Sequence):
        items = list(text_or_list)
    else:
        raise InvalidTraits(
            f"first_names must be a string or a list, not {type(text_or_list).__name__}",
            field="first_names",
        )
    names: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise InvalidTraits(
                f"first_names must be strings, not {type(item).__name__}", field="first_names"
            )
        _readable(item, "first_names")
        if not _SEPARATORS.sub("", item):
            continue
        # Repair characters on the whole item first so "JEAN - PIERRE" stays one name.
        value = _normalise_characters(_SEPARATORS.sub(" ", item), "first_names")
        names.extend(normalize_first_name(part) for part in value.split(" "))
    if not names:
        raise InvalidTraits(
            "first_names is empty: at least one first name is needed", field="first_names"
        )
    _within_limit(" ".join(names), "first_names")
    return tuple(names)


def _used_first_name(text: str) -> str:
    # A used first name is not a ListePrenom element, so spaces are allowed in it.
    value = _normalise_characters(text, "used_first_name")
    return _check_sequences(value, "used_first_name", first_name=True)


def _normalise_used_first_name(text: str) -> str:
    _readable(text, "used_first_name")
    return _within_limit(_used_first_name(text), "used_first_name")


def _used_name(text: str) -> str:
    return _birth_name(text, "used_name")


def _normalise_used_name(text: str) -> str:
    _readable(text, "used_name")
    return _within_limit(_used_name(text), "used_name")


def _refuse_non_ascii(text: str, field: str) -> None:
    # "1997-0２-26" would pass a \d pattern and reach INSi as typed (CR 01 for a real person).
    problem = describe_non_ascii(text)
    if problem is not None:
        raise InvalidTraits(f"{field} is written with ASCII digits 0-9: {problem}", field=field)


def _check_birth_date(value: object) -> str:
    if not isinstance(value, str) or not (match := _ISO_DATE.fullmatch(value)):
        raise InvalidTraits(
            "birth_date must be 'YYYY-MM-DD' (month and day may be 00)", field="birth_date"
        )
    year, month, day = int(match["y"]), int(match["m"]), int(match["d"])
    if year < 1 or month > 12 or day > 31:
        raise InvalidTraits("birth_date is not a possible date", field="birth_date")
    if month and day:
        try:
            datetime.date(year, month, day)
        except ValueError:
            raise InvalidTraits("birth_date is not a possible date", field="birth_date") from None
    return value


def _parse_birth_date(value: str | datetime.date) -> str:
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, datetime.date):
        return _not_in_future(value.isoformat())
    if not isinstance(value, str):
        raise InvalidTraits(
            f"birth_date must be a date or a string, not {type(value).__name__}",
            field="birth_date",
        )
    text = value.strip()
    _refuse_non_ascii(text, "birth_date")
    if match := _FR_DATE.fullmatch(text):
        text = f"{match['y']}-{match['m']}-{match['d']}"
    elif not _ISO_DATE.fullmatch(text):
        raise InvalidTraits(
            "birth_date must be a date, 'YYYY-MM-DD' or 'DD/MM/YYYY'", field="birth_date"
        )
    return _not_in_future(_check_birth_date(text))


def _not_in_future(iso: str) -> str:
    # A typing slip (2079 for 1979) must be caught here, not sent to INSi (CR 01).
    # Partial dates compare on what they give: "00" sorts before any real month or day, so
    # 1975-00-00 is in the past all year long and this month's YYYY-MM-00 is not future.
    if iso > datetime.date.today().isoformat():
        raise InvalidTraits("birth_date is in the future", field="birth_date")
    return iso


def _parse_sex(value: str | Sex) -> Sex:
    text = value.strip().upper() if isinstance(value, str) else value
    if text not in ("M", "F"):
        raise InvalidTraits(f"sex {value!r} cannot be used: INSi knows only M or F", field="sex")
    return Sex(text)


def _mask(value: str) -> str:
    return value[:1] + "***"


@dataclass(frozen=True, slots=True, repr=False)
class IdentityTraits:
    """The identity traits of a person, already normalised to INSi's rules.

    ``birth_date`` is ``YYYY-MM-DD`` where month and/or day may be ``00`` (partial or
    "lunar" dates); ``birth_place`` is the 5-character INSEE COG code (``2A``/``2B`` for
    Corsica, ``99xxx`` for a foreign country). The constructor only validates; build from
    user input with :meth:`from_input`.

    ``repr()`` masks names, date and place (health data never appears in a repr).

    >>> traits = IdentityTraits.from_input(
    ...     birth_name="Adrun", first_names="Zoé", sex="f", birth_date="31/12/1975",
    ...     birth_place="63220")
    >>> traits.first_name, traits.birth_date
    ('ZOE', '1975-12-31')
    >>> traits
    IdentityTraits(birth_name='A***', first_names=('Z***',), sex='F', birth_date='****-**-**', birth_place='*****', used_name=None, used_first_name=None)
    """  # noqa: E501

    birth_name: str
    first_names: tuple[str, ...]
    sex: Sex
    birth_date: str
    birth_place: str | None = None
    used_name: str | None = None
    used_first_name: str | None = None

    def __post_init__(self) -> None:
        # Lengths are not checked here: INSi's answers are read as they come. Only what
        # goes out is bounded (from_input, the normalize_* functions, the INSi queries).
        self._check_normalised("birth_name", self.birth_name, _birth_name)
        if isinstance(self.first_names, str) or not isinstance(self.first_names, Sequence):
            raise InvalidTraits(
                "first_names must be a tuple of single first names", field="first_names"
            )
        first_names = tuple(self.first_names)
        if not first_names:
            raise InvalidTraits(
                "first_names is empty: at least one first name is needed", field="first_names"
            )
        for name in first_names:
            self._check_normalised("first_names", name, _first_name)
        object.__setattr__(self, "first_names", first_names)
        if self.sex not in ("M", "F"):
            raise InvalidTraits(
                f"sex {self.sex!r} cannot be used: INSi knows only M or F", field="sex"
            )
        object.__setattr__(self, "sex", Sex(self.sex))
        _check_birth_date(self.birth_date)
        if self.birth_place is not None and not (
            isinstance(self.birth_place, str) and _BIRTH_PLACE.fullmatch(self.birth_place)
        ):
            raise InvalidTraits(
                "birth_place must be a 5-character INSEE COG code (digits, or 2A/2B + 3 digits)",
                field="birth_place",
            )
        if self.used_name is not None:
            self._check_normalised("used_name", self.used_name, _used_name)
        if self.used_first_name is not None:
            self._check_normalised("used_first_name", self.used_first_name, _used_first_name)

    @staticmethod
    def _check_normalised(field: str, value: object, normalise: Callable[[str], str]) -> None:
        if not isinstance(value, str):
            raise InvalidTraits(f"{field} must be a string", field=field)
        if normalise(value) != value:
            raise InvalidTraits(
                f"{field} is not normalised to INSi's rules; "
                "build the traits with IdentityTraits.from_input()",
                field=field,
            )

    @classmethod
    def from_input(
        cls,
        *,
        birth_name: str,
        first_names: str | Sequence[str],
        sex: str | Sex,
        birth_date: str | datetime.date,
        birth_place: str | None = None,
        used_name: str | None = None,
        used_first_name: str | None = None,
    ) -> IdentityTraits:
        """Normalise what a user typed into traits INSi accepts.

        ``sex`` is ``M``/``F`` in any case; ``birth_date`` a :class:`datetime.date`,
        ``YYYY-MM-DD`` or ``DD/MM/YYYY`` (``00`` allowed for month/day); empty optional
        strings count as not given.

        >>> IdentityTraits.from_input(birth_name="Tchitchi", first_names="Catarina Bella",
        ...     sex="F", birth_date="1936-06-21").first_names_text
        'CATARINA BELLA'
        """
        place: str | None = None
        if birth_place is not None:
            if not isinstance(birth_place, str):
                raise InvalidTraits("birth_place must be a string", field="birth_place")
            _refuse_non_ascii(birth_place.strip(), "birth_place")
            place = birth_place.strip().upper() or None
        return cls(
            birth_name=normalize_birth_name(birth_name),
            first_names=normalize_first_names(first_names),
            sex=_parse_sex(sex),
            birth_date=_parse_birth_date(birth_date),
            birth_place=place,
            used_name=_optional(used_name, _normalise_used_name),
            used_first_name=_optional(used_first_name, _normalise_used_first_name),
        )

    @property
    def first_name(self) -> str:
        """The first of the birth first names (the "premier prénom")."""
        return self.first_names[0]

    @property
    def first_names_text(self) -> str:
        """The birth first names separated by spaces, as INSi's ``ListePrenom``."""
        return " ".join(self.first_names)

    @property
    def birth_date_value(self) -> datetime.date | None:
        """The birth date as a :class:`datetime.date`, or None when month or day is 00."""
        year, month, day = (int(part) for part in self.birth_date.split("-"))
        if not month or not day:
            return None
        return datetime.date(year, month, day)

    def __repr__(self) -> str:
        return (
            f"IdentityTraits(birth_name={_mask(self.birth_name)!r}, "
            f"first_names={tuple(_mask(name) for name in self.first_names)!r}, "
            f"sex={self.sex.value!r}, birth_date='****-**-**', "
            f"birth_place={None if self.birth_place is None else '*****'!r}, "
            f"used_name={None if self.used_name is None else _mask(self.used_name)!r}, "
            "used_first_name="
            f"{None if self.used_first_name is None else _mask(self.used_first_name)!r})"
        )

    __str__ = __repr__


def _optional(value: str | None, normalise: Callable[[str], str]) -> str | None:
    # Empty form fields mean "not given".
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return normalise(value)
