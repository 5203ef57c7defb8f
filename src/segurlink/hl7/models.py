"""Values of the HL7 v2 identity feed: a PAM message, the identity its PID carries, the
acknowledgements. Pure dataclasses, no python-hl7 here.

``repr()`` of every value that carries health data (names, INS, dates, birth place, local
identifiers) masks it, so an f-string in a log line never leaks it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from enum import StrEnum

from .._audit import mask_identifier
from ..errors import InvalidTraits
from ..identity import IdentityStatus, IdentityTraits, Ins, InsOid

__all__ = [
    "DOUBTFUL_CODES",
    "FICTITIOUS_CODES",
    "AckCode",
    "AckError",
    "Acknowledgement",
    "IdentityUpdate",
    "MessageHeader",
    "PamIdentity",
    "PamMessage",
    "PatientIdentifier",
]

#: PID-32 codes that mark an identity doubtful (RNIV "identité douteuse"): INSi must not be
#: called for it. ``DOUTE`` is the FR Core code, ``DOUT`` its legacy table 0445 spelling.
DOUBTFUL_CODES: frozenset[str] = frozenset({"DOUTE", "DOUT"})
#: PID-32 codes that mark an identity fictitious (RNIV "identité fictive").
FICTITIOUS_CODES: frozenset[str] = frozenset({"FICTI", "FICT"})
_STATUS_CODES = frozenset(status.value for status in IdentityStatus)
_INS_OIDS = frozenset(oid.value for oid in InsOid)


class AckCode(StrEnum):
    """MSA-1 (HL7 table 0008): original mode ``AA``/``AE``/``AR``, enhanced mode ``C*``."""

    AA = "AA"  # accepted
    AE = "AE"  # application error: the message was read, its content is refused
    AR = "AR"  # rejected: not processed (unsupported type, service unavailable): send again
    CA = "CA"
    CE = "CE"
    CR = "CR"

    @property
    def accepted(self) -> bool:
        return self in (AckCode.AA, AckCode.CA)


@dataclass(frozen=True, slots=True)
class AckError:
    """One ``ERR`` segment of an acknowledgement (HL7 v2.5).

    ``code`` is the HL7 table 0357 code (ERR-3: ``101`` required field missing, ``102`` data
    type error, ``200`` unsupported message type, ``207`` application internal error...),
    ``segment``/``field``/``component`` the error location (ERR-2), ``severity`` ERR-4
    (``E``, ``W``, ``I``), ``application_code`` ERR-5.1 (segurlink's own code, e.g.
    ``INSI_NOT_FOUND``, or a code of the receiver's table such as the document gateway's
    ``902``) and ``application_label`` ERR-5.2, ``message`` ERR-8; ``sequence`` is which
    occurrence of the segment (ERR-2.2: ``OBX^4^5`` is the fourth OBX). Messages never
    carry health data.
    """

    code: str
    message: str = ""
    segment: str = ""
    field: int | None = None
    component: int | None = None
    severity: str = "E"
    application_code: str = ""
    application_label: str = ""
    sequence: int = 1

    @property
    def location(self) -> str:
        where = self.segment
        if where and self.field is not None:
            where += f"-{self.field}"
            if self.component is not None:
                where += f".{self.component}"
        return where


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """A received ``ACK``: MSA-1 code, MSA-2 acknowledged control id, the ``ERR`` list."""

    code: AckCode
    acknowledged_id: str
    control_id: str = ""
    text: str = ""
    errors: tuple[AckError, ...] = ()

    @property
    def accepted(self) -> bool:
        """True for ``AA`` (and the enhanced-mode ``CA``)."""
        return self.code.accepted


@dataclass(frozen=True, slots=True)
class PatientIdentifier:
    """One repetition of PID-3 (or MRG-1): an HL7 ``CX``.

    ``namespace``/``oid``/``oid_type`` are the assigning authority (CX.4: HD.1, HD.2,
    HD.3), ``type_code`` CX.5 (``PI`` local patient id, ``INS``, ``AN``...),
    ``effective_date`` CX.7 as sent (``YYYYMMDD``).
    """

    value: str
    namespace: str = ""
    oid: str = ""
    oid_type: str = ""
    type_code: str = ""
    effective_date: str = ""

    @property
    def is_ins(self) -> bool:
        """True for the INS repetition (CX.5 ``INS``, or an INS OID as authority)."""
        return self.type_code == "INS" or self.oid in _INS_OIDS

    def __repr__(self) -> str:
        return (
            f"PatientIdentifier({mask_identifier(self.value)!r}, namespace={self.namespace!r}, "
            f"oid={self.oid!r}, type_code={self.type_code!r})"
        )


@dataclass(frozen=True, slots=True)
class MessageHeader:
    """What segurlink reads in MSH: who sent what, when, and how it is encoded.

    ``version`` is MSH-12.1 (``2.5``), ``charset`` MSH-18 as sent (``UNICODE UTF-8``,
    ``8859/1`` or empty).
    """

    message_type: str
    event: str
    structure: str
    control_id: str
    sending_application: str = ""
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""
    timestamp: str = ""
    processing_id: str = ""
    version: str = ""
    charset: str = ""
    msh: str = field(default="", repr=False)  # the MSH segment as received, for the ACK


@dataclass(frozen=True, slots=True, repr=False)
class PamIdentity:
    """The identity carried by the PID segment of a PAM FR message, as sent.

    Names are the values of the message (unescaped, not normalised); :meth:`traits`
    normalises them to INSi's rules. ``birth_date`` is ``YYYY-MM-DD`` with ``00`` for an
    unknown month or day; ``sex`` PID-8 as sent (``M``, ``F``, ``U``...); ``birth_place``
    the INSEE COG code of the ``BDL`` address (XAD.9); ``reliability_codes`` every PID-32
    code in order, unknown ones included.

    ``first_names`` are the birth first names: PAM FR puts the first one in XPN.2 and the
    whole list, space-separated, in XPN.3.
    """

    identifiers: tuple[PatientIdentifier, ...] = ()
    ins: Ins | None = None
    ins_effective_date: datetime.date | None = None
    birth_name: str | None = None
    first_names: tuple[str, ...] = ()
    used_name: str | None = None
    used_first_name: str | None = None
    birth_date: str | None = None
    sex: str | None = None
    birth_place: str | None = None
    reliability_codes: tuple[str, ...] = ()

    @property
    def local_ids(self) -> tuple[PatientIdentifier, ...]:
        """The local patient identifiers (PID-3 repetitions of type ``PI``)."""
        return tuple(i for i in self.identifiers if i.type_code == "PI")

    @property
    def status(self) -> IdentityStatus | None:
        """The RNIV status of PID-32 (first of PROV/RECUP/VALI/QUAL), None when absent."""
        for code in self.reliability_codes:
            if code in _STATUS_CODES:
                return IdentityStatus(code)
        return None

    @property
    def doubtful(self) -> bool:
        return any(code in DOUBTFUL_CODES for code in self.reliability_codes)

    @property
    def fictitious(self) -> bool:
        return any(code in FICTITIOUS_CODES for code in self.reliability_codes)

    @property
    def unknown_reliability_codes(self) -> tuple[str, ...]:
        """PID-32 codes that are neither an RNIV status nor a known attribute (kept)."""
        known = _STATUS_CODES | DOUBTFUL_CODES | FICTITIOUS_CODES
        return tuple(code for code in self.reliability_codes if code not in known)

    def traits(self) -> IdentityTraits:
        """The identity traits normalised to INSi's rules.

        Raises :class:`~segurlink.errors.InvalidTraits` naming the trait when one is
        missing or cannot be normalised (``field`` is ``birth_name``, ``first_names``,
        ``sex``, ``birth_date``, ``birth_place``, ``used_name`` or ``used_first_name``).
        """
        missing = [
            (name, label)
            for name, label, value in (
                ("birth_name", "birth name (PID-5, repetition L, XPN.1)", self.birth_name),
                ("first_names", "birth first names (PID-5, repetition L)", self.first_names),
                ("sex", "sex (PID-8)", self.sex),
                ("birth_date", "birth date (PID-7)", self.birth_date),
            )
            if not value
        ]
        if missing:
            name, label = missing[0]
            raise InvalidTraits(f"the message gives no {label}", field=name)
        assert self.birth_name is not None and self.sex is not None
        assert self.birth_date is not None
        return IdentityTraits.from_input(
            birth_name=self.birth_name,
            first_names=list(self.first_names),
            sex=self.sex,
            birth_date=self.birth_date,
            birth_place=self.birth_place,
            used_name=self.used_name,
            used_first_name=self.used_first_name,
        )

    def __repr__(self) -> str:
        return (
            f"PamIdentity(identifiers={len(self.identifiers)}, ins={self.ins!r}, "
            f"birth_name={_mask(self.birth_name)!r}, "
            f"first_names={tuple(_mask(n) for n in self.first_names)!r}, "
            f"sex={self.sex!r}, birth_date={None if self.birth_date is None else '****-**-**'!r}, "
            f"birth_place={None if self.birth_place is None else '*****'!r}, "
            f"reliability_codes={self.reliability_codes!r})"
        )

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class PamMessage:
    """A PAM FR ADT message read by :func:`segurlink.hl7.parse_message`.

    ``prior_identifiers`` is MRG-1 (the identifiers being merged or changed, A40/A47).
    ``text`` is the message as read, segments separated by ``\\r`` (health data: never log
    it); the builders start from it so that unknown segments and fields are kept.
    """

    header: MessageHeader
    identity: PamIdentity
    prior_identifiers: tuple[PatientIdentifier, ...] = ()
    segment_ids: tuple[str, ...] = ()
    text: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class IdentityUpdate:
    """What a qualification writes back: INSi's reference traits, the RNIV status and,
    only for a status that may carry it (``QUAL``), the INS.

    ``ins_effective_date`` is INSi's start date of the active INS (CX.7) when it gives one.
    """

    traits: IdentityTraits
    status: IdentityStatus
    ins: Ins | None = None
    ins_effective_date: datetime.date | None = None


def _mask(value: str | None) -> str | None:
    return None if value is None else value[:1] + "***"
