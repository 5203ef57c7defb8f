"""Identity status under the RNIV rules (Référentiel National d'IdentitoVigilance).

Four exclusive statuses::

    PROV  provisional: nothing checked
    RECUP INS retrieved by INSi, no high-trust ID document checked
    VALI  high-trust ID document checked, no INSi
    QUAL  both: the only status whose INS may be shared (DMP, MSSanté, CDA)

Transitions::

    PROV  --with_insi_result-->  RECUP --with_id_document(high trust)--> QUAL
    PROV  --with_id_document(high trust)--> VALI --with_insi_result--> QUAL
    any   --mark_doubtful / mark_fictitious--> PROV (INSi may no longer be called)

An :class:`IdentityRecord` is immutable: every transition returns a new record.

>>> from segurlink.identity import Ins, IdentityTraits
>>> traits = IdentityTraits.from_input(birth_name="Adrun", first_names="Zoe", sex="F",
...     birth_date="1975-12-31", birth_place="63220")
>>> record = IdentityRecord(traits).with_id_document(IdDocumentKind.PASSPORT)
>>> record.status
<IdentityStatus.VALI: 'VALI'>
>>> record = record.with_insi_result(Ins("2751263220749", "74"), traits)
>>> record.status, record.shareable_ins()
(<IdentityStatus.QUAL: 'QUAL'>, Ins('27***********74', oid='1.2.250.1.213.1.4.8'))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from ..errors import IdentityStatusError
from .ins import Ins
from .traits import IdentityTraits

__all__ = ["IdDocumentKind", "IdentityRecord", "IdentityStatus"]


class IdentityStatus(StrEnum):
    """The four exclusive RNIV statuses of an identity."""

    PROV = "PROV"
    RECUP = "RECUP"
    VALI = "VALI"
    QUAL = "QUAL"

    @property
    def label(self) -> str:
        """The French label shown to users (e.g. ``"Identité qualifiée"``)."""
        return _LABELS[self]


_LABELS = {
    IdentityStatus.PROV: "Identité provisoire",
    IdentityStatus.RECUP: "Identité récupérée",
    IdentityStatus.VALI: "Identité validée",
    IdentityStatus.QUAL: "Identité qualifiée",
}


class IdDocumentKind(StrEnum):
    """The kind of identity document checked at admission.

    ``BIRTH_CERTIFICATE_EXTRACT`` is the birth certificate extract together with the
    family record book (extrait d'acte de naissance / livret de famille), accepted for
    minors. A driving licence is not a high-trust document.
    """

    PASSPORT = "PASSPORT"
    NATIONAL_ID_CARD = "NATIONAL_ID_CARD"
    RESIDENCE_PERMIT = "RESIDENCE_PERMIT"
    BIRTH_CERTIFICATE_EXTRACT = "BIRTH_CERTIFICATE_EXTRACT"
    DRIVING_LICENCE = "DRIVING_LICENCE"
    OTHER = "OTHER"

    @property
    def high_trust(self) -> bool:
        """True for the documents that can validate an identity (VALI/QUAL)."""
        return self in _HIGH_TRUST


_HIGH_TRUST = frozenset(
    {
        IdDocumentKind.PASSPORT,
        IdDocumentKind.NATIONAL_ID_CARD,
        IdDocumentKind.RESIDENCE_PERMIT,
        IdDocumentKind.BIRTH_CERTIFICATE_EXTRACT,
    }
)
_NEEDS_INS = frozenset({IdentityStatus.RECUP, IdentityStatus.QUAL})
_NEEDS_DOCUMENT = frozenset({IdentityStatus.VALI, IdentityStatus.QUAL})


@dataclass(frozen=True, slots=True)
class IdentityRecord:
    """An identity with its RNIV status, INS and attributes; transitions return copies.

    ``id_document`` is the document check that supports the current status; it is
    dropped when the identity is marked doubtful or fictitious. ``ins`` and
    ``ins_history`` are kept in that case (traceability), but only a ``QUAL`` identity
    can hand out its INS (:meth:`shareable_ins`).

    The constructor enforces the invariants and raises
    :class:`~segurlink.errors.IdentityStatusError`: ``RECUP``/``QUAL`` need an INS,
    ``VALI``/``QUAL`` need a high-trust document, a doubtful or fictitious identity is
    ``PROV``.

    >>> from segurlink.identity import IdentityTraits
    >>> traits = IdentityTraits.from_input(birth_name="Nessi", first_names="Michelangelo",
    ...     sex="M", birth_date="2010-08-07")
    >>> IdentityRecord(traits).status.label
    'Identité provisoire'
    """

    traits: IdentityTraits
    status: IdentityStatus = IdentityStatus.PROV
    ins: Ins | None = None
    ins_history: tuple[Ins, ...] = ()
    doubtful: bool = False
    fictitious: bool = False
    id_document: IdDocumentKind | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.traits, IdentityTraits):
            raise IdentityStatusError("traits must be an IdentityTraits")
        try:
            status = IdentityStatus(self.status)
            document = None if self.id_document is None else IdDocumentKind(self.id_document)
        except ValueError as exc:
            raise IdentityStatusError(str(exc)) from None
        object.__setattr__(self, "status", status)
        object.__setattr__(self, "id_document", document)
        object.__setattr__(self, "ins_history", tuple(self.ins_history))
        if status in _NEEDS_INS and self.ins is None:
            raise IdentityStatusError(f"a {status} identity needs an INS retrieved by INSi")
        if status in _NEEDS_DOCUMENT and (document is None or not document.high_trust):
            raise IdentityStatusError(
                f"a {status} identity needs a high-trust identity document checked "
                f"(got {document or 'none'})"
            )
        if (self.doubtful or self.fictitious) and status is not IdentityStatus.PROV:
            raise IdentityStatusError(f"a {self._attribute_name()} identity is PROV, not {status}")

    def _attribute_name(self) -> str:
        return "fictitious" if self.fictitious else "doubtful"

    @property
    def can_call_insi(self) -> bool:
        """False for a doubtful or fictitious identity: INSi must not be called."""
        return not (self.doubtful or self.fictitious)

    def with_insi_result(
        self, ins: Ins, reference_traits: IdentityTraits, history: Sequence[Ins] = ()
    ) -> IdentityRecord:
        """The record after INSi returned ``ins`` and its reference traits.

        The traits become INSi's reference traits (the used name and used first name are
        kept when the reference traits have none). The status becomes ``RECUP``, or
        ``QUAL`` when a high-trust document was already checked (``VALI`` or ``QUAL``).
        ``ins_history`` becomes ``history`` (INSi's ``INSHISTO``) plus the previous INS
        when it differs from ``ins`` and is not listed.

        Comparing the returned traits with the person's is the caller's job (the INSi
        client's verification); this method records the result.

        Raises :class:`~segurlink.errors.IdentityStatusError` for a doubtful or
        fictitious identity, for which INSi must not be called.
        """
        if not self.can_call_insi:
            raise IdentityStatusError(
                f"a {self._attribute_name()} identity forbids calling INSi; "
                "its INSi result cannot be recorded"
            )
        if not isinstance(ins, Ins) or not isinstance(reference_traits, IdentityTraits):
            raise IdentityStatusError("with_insi_result needs an Ins and IdentityTraits")
        traits = reference_traits
        if traits.used_name is None and traits.used_first_name is None:
            traits = dataclasses.replace(
                traits,
                used_name=self.traits.used_name,
                used_first_name=self.traits.used_first_name,
            )
        elif traits.used_name is None:
            traits = dataclasses.replace(traits, used_name=self.traits.used_name)
        elif traits.used_first_name is None:
            traits = dataclasses.replace(traits, used_first_name=self.traits.used_first_name)
        history_list = list(history)
        if self.ins is not None and self.ins != ins and self.ins not in history_list:
            history_list.append(self.ins)
        status = IdentityStatus.QUAL if self.status in _NEEDS_DOCUMENT else IdentityStatus.RECUP
        return dataclasses.replace(
            self, traits=traits, status=status, ins=ins, ins_history=tuple(history_list)
        )

    def with_id_document(self, kind: IdDocumentKind) -> IdentityRecord:
        """The record after an identity document of ``kind`` was checked.

        A high-trust document turns ``PROV`` into ``VALI`` and ``RECUP`` into ``QUAL``
        (``VALI``/``QUAL`` stay as they are). A low-trust one (driving licence, other) is
        refused with :class:`~segurlink.errors.IdentityStatusError`, as is any document
        for a fictitious identity or a doubtful one (clear the doubt first).
        """
        try:
            document = IdDocumentKind(kind)
        except ValueError as exc:
            raise IdentityStatusError(str(exc)) from None
        if self.fictitious:
            raise IdentityStatusError("a fictitious identity cannot be validated by a document")
        if self.doubtful:
            raise IdentityStatusError(
                "a doubtful identity stays PROV: resolve the doubt and call clear_doubtful() "
                "before recording a document check"
            )
        if not document.high_trust:
            raise IdentityStatusError(
                f"{document} is not a high-trust identity document; only a passport, a "
                "national identity card, a residence permit or a birth certificate extract "
                "with the family record book (minors) can validate an identity"
            )
        status = {
            IdentityStatus.PROV: IdentityStatus.VALI,
            IdentityStatus.RECUP: IdentityStatus.QUAL,
        }.get(self.status, self.status)
        return dataclasses.replace(self, status=status, id_document=document)

    def mark_doubtful(self) -> IdentityRecord:
        """The record marked doubtful (douteux): ``PROV``, no document, INSi forbidden."""
        return dataclasses.replace(
            self, doubtful=True, status=IdentityStatus.PROV, id_document=None
        )

    def mark_fictitious(self) -> IdentityRecord:
        """The record marked fictitious (fictif): ``PROV``, no document, INSi forbidden."""
        return dataclasses.replace(
            self, fictitious=True, status=IdentityStatus.PROV, id_document=None
        )

    def clear_doubtful(self) -> IdentityRecord:
        """The record with the doubt lifted, still ``PROV``.

        The doubt put the earlier checks in question, so the status is not restored: it
        must be established again by a new INSi call and/or document check.
        """
        return dataclasses.replace(
            self, doubtful=False, status=IdentityStatus.PROV, id_document=None
        )

    def shareable_ins(self) -> Ins:
        """The INS, which only a qualified (``QUAL``) identity may carry in exchanges.

        Raises :class:`~segurlink.errors.IdentityStatusError` for any other status.
        """
        if self.status is not IdentityStatus.QUAL or self.ins is None:
            raise IdentityStatusError(
                "only a qualified identity (QUAL) may carry the INS in exchanges; "
                f"this one is {self.status}"
            )
        return self.ins
