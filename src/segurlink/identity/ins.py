"""The INS (Identifiant National de Santé): matricule, key and OID.

>>> ins = Ins.parse("2 75 12 63 220 749 74")
>>> ins
Ins('27***********74', oid='1.2.250.1.213.1.4.8')
>>> ins.value
'275126322074974'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from .._ascii import describe_non_ascii
from .._audit import mask_identifier
from ..errors import InvalidIdentifier
from .nir import check_nir, nir_key

__all__ = ["Ins", "InsOid"]


class InsOid(StrEnum):
    """The OIDs that qualify an INS matricule (authority of the identifier)."""

    NIR = "1.2.250.1.213.1.4.8"
    NIA = "1.2.250.1.213.1.4.9"
    NIR_TEST = "1.2.250.1.213.1.4.10"
    NIR_DEMO = "1.2.250.1.213.1.4.11"


_OIDS = frozenset(oid.value for oid in InsOid)
_TEST_OIDS = frozenset({InsOid.NIR_TEST.value, InsOid.NIR_DEMO.value})
# Shape only: INSi may return matricules this library would refuse from a user.
_MATRICULE = re.compile(r"[0-9]{5}(?:[0-9]{2}|2A|2B)[0-9]{6}")
_KEY = re.compile(r"[0-9]{2}")


@dataclass(frozen=True, slots=True, repr=False)
class Ins:
    """An INS as exchanged: 13-character matricule, 2-digit key, OID.

    The constructor checks the shape only and does **not** verify the key, because the
    national service returns data whose key fails mod 97 (qualification test person
    HERMANN) and such an INS must still be representable. Use :meth:`parse` for what a
    user types, and :attr:`key_is_valid` to look at the key.

    ``repr()`` and ``str()`` mask the identifier, so an f-string in a log never leaks
    it; the real value is only available through :attr:`value`.

    >>> Ins("1810363220456", "60").key_is_valid
    False
    >>> str(Ins("2751263220749", "74"))
    "Ins('27***********74', oid='1.2.250.1.213.1.4.8')"
    """

    matricule: str
    key: str
    oid: str = InsOid.NIR

    def __post_init__(self) -> None:
        if not isinstance(self.matricule, str) or not isinstance(self.key, str):
            raise InvalidIdentifier("an INS matricule and key are strings")
        for what, text in (("matricule", self.matricule), ("key", self.key)):
            problem = describe_non_ascii(text.strip())
            if problem is not None:
                raise InvalidIdentifier(
                    f"an INS {what} is written in ASCII (0-9, 2A/2B): {problem}"
                )
        matricule = self.matricule.strip().upper()
        if not _MATRICULE.fullmatch(matricule):
            raise InvalidIdentifier(
                f"not an INS matricule: {mask_identifier(matricule)!r} "
                f"({len(matricule)} characters); expected 13 characters"
            )
        key = self.key.strip()
        if not _KEY.fullmatch(key):
            raise InvalidIdentifier(f"an INS key is exactly 2 digits, given {len(key)} characters")
        oid = str(self.oid).strip()
        if oid not in _OIDS:
            raise InvalidIdentifier(
                f"unknown INS OID {oid!r}; expected one of {', '.join(sorted(_OIDS))}"
            )
        object.__setattr__(self, "matricule", matricule)
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "oid", oid)  # plain str, not the enum member

    @classmethod
    def parse(cls, text: str, oid: str = InsOid.NIR) -> Ins:
        """An INS from a typed 15-character NIR/NIA, with its key verified.

        >>> Ins.parse("109076322088835", InsOid.NIA).is_nia
        True
        """
        matricule, key = check_nir(text)
        return cls(matricule, key, oid)

    @property
    def value(self) -> str:
        """The 15 characters matricule + key (health data: do not log it)."""
        return self.matricule + self.key

    @property
    def key_is_valid(self) -> bool:
        """Whether the key matches the matricule (mod 97 rule)."""
        try:
            return nir_key(self.matricule) == int(self.key)
        except InvalidIdentifier:
            # e.g. a first digit outside 1-8: no key can be verified.
            return False

    @property
    def is_nia(self) -> bool:
        """True for a NIA (provisional number, OID ``.9``)."""
        return self.oid == InsOid.NIA

    @property
    def is_test(self) -> bool:
        """True for the test (``.10``) and demonstration (``.11``) OIDs."""
        return self.oid in _TEST_OIDS

    @property
    def mssante_address(self) -> str:
        """The patient's MSSanté address (Mon espace santé).

        Only a qualified (``QUAL``) identity may use it; see
        :meth:`segurlink.identity.IdentityRecord.shareable_ins`.

        >>> Ins("2751263220749", "74").mssante_address
        '275126322074974@patient.mssante.fr'
        """
        return f"{self.value}@patient.mssante.fr"

    def __repr__(self) -> str:
        return f"Ins({mask_identifier(self.value)!r}, oid={self.oid!r})"

    __str__ = __repr__
