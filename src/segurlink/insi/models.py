"""Values of the INSi service: what is asked, what comes back, how a verification ends."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from ..errors import InvalidIdentifier, InvalidTraits
from ..identity import IdentityTraits, Ins, Sex
from ..identity.traits import normalize_birth_name, normalize_first_names

# [0-9], never \d: what is sent to INSi is ASCII (\d matches every script's digits).
_CARD_DATE = re.compile(r"(?P<y>[0-9]{4})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})")
_MATRICULE = re.compile(r"[0-9]{5}(?:[0-9]{2}|2A|2B)[0-9]{6}")
_KEY = re.compile(r"[0-9]{2}")

__all__ = [
    "CrCode",
    "HistoricalIns",
    "InsFound",
    "InsNotFound",
    "InsiIdentity",
    "InsiResult",
    "Mismatch",
    "MultipleIdentities",
    "SearchAttempt",
    "SearchOutcome",
    "TraitsQuery",
    "Verification",
    "VitaleQuery",
]


class CrCode(StrEnum):
    """The ``CodeCR`` of an INSi answer."""

    FOUND = "00"
    NOT_FOUND = "01"
    MULTIPLE = "02"


@dataclass(frozen=True, slots=True)
class TraitsQuery:
    """One ``RECSANSVITALE`` request: one birth first name, optional birth place (COG).

    Values must already follow the INSi character rules; build queries from
    :class:`~segurlink.identity.IdentityTraits`, which normalises them.
    """

    birth_name: str
    first_name: str
    sex: Sex
    birth_date: str
    birth_place: str | None = None

    def __post_init__(self) -> None:
        # The last gate before the wire: formats (ASCII date and COG, INSi's alphabet) and
        # lengths, also for traits built with the constructor, which does not bound them.
        if not isinstance(self.first_name, str):
            raise InvalidTraits("first_name must be a string", field="first_names")
        IdentityTraits(
            self.birth_name,
            tuple(self.first_name.split(" ")),  # one name, or the whole list as one Prenom
            self.sex,
            self.birth_date,
            self.birth_place,
        )
        normalize_birth_name(self.birth_name)
        normalize_first_names(self.first_name)

    @classmethod
    def from_traits(
        cls, traits: IdentityTraits, first_name: str | None = None, *, with_birth_place: bool
    ) -> TraitsQuery:
        return cls(
            birth_name=traits.birth_name,
            first_name=first_name if first_name is not None else traits.first_name,
            sex=traits.sex,
            birth_date=traits.birth_date,
            birth_place=traits.birth_place if with_birth_place else None,
        )

    def __repr__(self) -> str:
        return (
            f"TraitsQuery(sex={self.sex.value!r}, birth_place_sent={self.birth_place is not None})"
        )


@dataclass(frozen=True, slots=True)
class VitaleQuery:
    """One ``RECVITALE`` request, from the data read on the Carte Vitale.

    ``nir`` is the beneficiary's own NIR (matricule, key) when the card carries it;
    ``holder_nir`` (``MatriculeOD``) the insured holder's when the beneficiary is a dependant.
    """

    birth_name: str
    birth_date: str
    birth_rank: int = 1
    nir: tuple[str, str] | None = None
    holder_nir: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        # Card data is read, not typed: check its shape so nothing malformed is sent.
        if not isinstance(self.birth_name, str) or normalize_birth_name(self.birth_name) != (
            self.birth_name
        ):
            raise InvalidTraits(
                "birth_name is not in INSi's alphabet; pass normalize_birth_name(value)",
                field="birth_name",
            )
        match = _CARD_DATE.fullmatch(self.birth_date) if isinstance(self.birth_date, str) else None
        if match is None or int(match["m"]) > 12 or int(match["d"]) > 31:
            # Vitale "lunar" dates may carry 00 for the month or day.
            raise InvalidTraits("birth_date must be 'YYYY-MM-DD' (00 allowed)", field="birth_date")
        if (
            not isinstance(self.birth_rank, int)
            or isinstance(self.birth_rank, bool)
            or not 1 <= self.birth_rank <= 9
        ):
            raise InvalidTraits(
                "birth_rank must be 1 to 9 (twins share a date)", field="birth_rank"
            )
        for name in ("nir", "holder_nir"):
            value = getattr(self, name)
            if value is None:
                continue
            if (
                not isinstance(value, tuple)
                or len(value) != 2
                or not isinstance(value[0], str)
                or not isinstance(value[1], str)
                or not _MATRICULE.fullmatch(value[0])
                or not _KEY.fullmatch(value[1])
            ):
                raise InvalidIdentifier(
                    f"{name} must be (13-character matricule, 2-digit key) as read on the card"
                )

    def __repr__(self) -> str:
        return f"VitaleQuery(birth_rank={self.birth_rank})"


@dataclass(frozen=True, slots=True)
class HistoricalIns:
    """An INS with its validity dates and, in older answers, its matricule type."""

    ins: Ins
    start: date | None = None
    end: date | None = None
    matricule_type: str | None = None


@dataclass(frozen=True, slots=True)
class InsiIdentity:
    """The identity INSi returned: the active INS, its history and the reference traits.

    ``traits`` are the reference traits (TIQ) an identity must take when it is retrieved.
    ``first_name`` is ``TIQ/Prenom`` when an older answer still carries it.
    """

    active: HistoricalIns
    history: tuple[HistoricalIns, ...]
    traits: IdentityTraits
    first_name: str | None = dataclasses.field(default=None, repr=False)  # health data

    @property
    def ins(self) -> Ins:
        return self.active.ins

    @property
    def previous_ins(self) -> tuple[Ins, ...]:
        """Previous matricules, without the active one (some answers repeat it)."""
        return tuple(h.ins for h in self.history if h.ins != self.active.ins)


@dataclass(frozen=True, slots=True)
class InsiResult:
    """Base of the three typed answers; ``code`` and ``label`` are the CR as received."""

    code: CrCode
    label: str

    @property
    def found(self) -> bool:
        return self.code is CrCode.FOUND


@dataclass(frozen=True, slots=True)
class InsFound(InsiResult):
    """CR 00: one identity."""

    identity: InsiIdentity = dataclasses.field(kw_only=True)


@dataclass(frozen=True, slots=True)
class InsNotFound(InsiResult):
    """CR 01: no identity. It happens for existing persons: report it, never guess."""


@dataclass(frozen=True, slots=True)
class MultipleIdentities(InsiResult):
    """CR 02: several identities; adding the birth place usually separates them."""


@dataclass(frozen=True, slots=True)
class SearchAttempt:
    """One call of a search strategy: which first name, whether the birth place was sent."""

    first_name_rank: int
    birth_place_sent: bool
    code: CrCode
    message_id: str


@dataclass(frozen=True, slots=True)
class SearchOutcome:
    """The result of a search strategy and every call it took."""

    result: InsiResult
    attempts: tuple[SearchAttempt, ...]

    @property
    def found(self) -> bool:
        return self.result.found

    @property
    def identity(self) -> InsiIdentity | None:
        return self.result.identity if isinstance(self.result, InsFound) else None


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One difference between stored and returned traits (values hidden from repr)."""

    field: str
    stored: str = dataclasses.field(repr=False)
    returned: str = dataclasses.field(repr=False)


@dataclass(frozen=True, slots=True)
class Verification:
    """Outcome of :meth:`InsiClient.verify`.

    ``ok`` is true when INSi found exactly the stored INS (active, not superseded) and every
    strict trait matches.
    """

    outcome: SearchOutcome
    mismatches: tuple[Mismatch, ...]

    @property
    def ok(self) -> bool:
        return self.outcome.found and not self.mismatches
