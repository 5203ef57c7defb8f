"""RNIV identity status: invariants, transitions and refusals."""

from __future__ import annotations

import pytest

from segurlink.errors import IdentityStatusError
from segurlink.identity import (
    IdDocumentKind,
    IdentityRecord,
    IdentityStatus,
    IdentityTraits,
    Ins,
)

TYPED = IdentityTraits.from_input(
    birth_name="Ecetinsi",
    first_names="Pierre-Alain",
    sex="M",
    birth_date="2009-07-14",
    used_name="Martin",
    used_first_name="Pierrot",
)
REFERENCE = IdentityTraits.from_input(
    birth_name="ECETINSI",
    first_names="PIERRE-ALAIN MURIEL FLORIANT",
    sex="M",
    birth_date="2009-07-14",
    birth_place="63220",
)
INS = Ins("1090763220834", "89")
HISTORY = (Ins("2090763220834", "39"), Ins("2090663220123", "55"))


def prov() -> IdentityRecord:
    return IdentityRecord(TYPED)


def recup() -> IdentityRecord:
    return prov().with_insi_result(INS, REFERENCE, HISTORY)


def vali() -> IdentityRecord:
    return prov().with_id_document(IdDocumentKind.NATIONAL_ID_CARD)


def qual() -> IdentityRecord:
    return recup().with_id_document(IdDocumentKind.PASSPORT)


def test_labels() -> None:
    assert [s.label for s in IdentityStatus] == [
        "Identité provisoire",
        "Identité récupérée",
        "Identité validée",
        "Identité qualifiée",
    ]


def test_high_trust_documents() -> None:
    assert {kind for kind in IdDocumentKind if kind.high_trust} == {
        IdDocumentKind.PASSPORT,
        IdDocumentKind.NATIONAL_ID_CARD,
        IdDocumentKind.RESIDENCE_PERMIT,
        IdDocumentKind.BIRTH_CERTIFICATE_EXTRACT,
    }
    assert not IdDocumentKind.DRIVING_LICENCE.high_trust


def test_new_record_is_provisional_and_may_call_insi() -> None:
    record = prov()
    assert record.status is IdentityStatus.PROV
    assert record.can_call_insi


def test_insi_result_makes_recup_with_reference_traits() -> None:
    before = prov()
    record = before.with_insi_result(INS, REFERENCE, list(HISTORY))
    assert before.status is IdentityStatus.PROV and before.ins is None  # not mutated
    assert record.status is IdentityStatus.RECUP
    assert record.ins == INS
    assert record.ins_history == HISTORY
    assert record.traits.first_names == ("PIERRE-ALAIN", "MURIEL", "FLORIANT")
    assert record.traits.birth_place == "63220"
    # INSi has no used name: the ones typed are kept.
    assert (record.traits.used_name, record.traits.used_first_name) == ("MARTIN", "PIERROT")


def test_reference_used_name_wins_when_given() -> None:
    reference = IdentityTraits.from_input(
        birth_name="ECETINSI",
        first_names="PIERRE-ALAIN",
        sex="M",
        birth_date="2009-07-14",
        used_name="DURAND",
    )
    record = prov().with_insi_result(INS, reference)
    assert (record.traits.used_name, record.traits.used_first_name) == ("DURAND", "PIERROT")


def test_previous_ins_goes_to_history_when_it_changes() -> None:
    nia = Ins("1090763220888", "35", "1.2.250.1.213.1.4.9")
    first = prov().with_insi_result(nia, REFERENCE)
    second = first.with_insi_result(INS, REFERENCE, HISTORY)
    assert second.ins == INS
    assert second.ins_history == (*HISTORY, nia)
    assert first.with_insi_result(nia, REFERENCE).ins_history == ()


def test_vali_then_insi_is_qual() -> None:
    record = vali()
    assert record.status is IdentityStatus.VALI
    assert record.id_document is IdDocumentKind.NATIONAL_ID_CARD
    qualified = record.with_insi_result(INS, REFERENCE)
    assert qualified.status is IdentityStatus.QUAL
    assert qualified.shareable_ins() == INS


def test_recup_then_document_is_qual() -> None:
    record = qual()
    assert record.status is IdentityStatus.QUAL
    assert record.shareable_ins() is INS
    assert record.shareable_ins().mssante_address == "109076322083489@patient.mssante.fr"


def test_new_insi_call_keeps_qual() -> None:
    assert qual().with_insi_result(INS, REFERENCE).status is IdentityStatus.QUAL


def test_second_document_keeps_status() -> None:
    assert vali().with_id_document(IdDocumentKind.PASSPORT).status is IdentityStatus.VALI
    record = qual().with_id_document(IdDocumentKind.RESIDENCE_PERMIT)
    assert record.status is IdentityStatus.QUAL
    assert record.id_document is IdDocumentKind.RESIDENCE_PERMIT


def test_birth_certificate_extract_validates_a_minor() -> None:
    assert (
        recup().with_id_document(IdDocumentKind.BIRTH_CERTIFICATE_EXTRACT).status
        is IdentityStatus.QUAL
    )


@pytest.mark.parametrize("kind", [IdDocumentKind.DRIVING_LICENCE, IdDocumentKind.OTHER])
@pytest.mark.parametrize("record", [prov, recup], ids=["PROV", "RECUP"])
def test_low_trust_document_is_refused(kind: IdDocumentKind, record: object) -> None:
    with pytest.raises(IdentityStatusError, match="not a high-trust"):
        record().with_id_document(kind)  # type: ignore[operator]


@pytest.mark.parametrize("record", [prov, recup, vali], ids=["PROV", "RECUP", "VALI"])
def test_only_qual_may_share_the_ins(record: object) -> None:
    current = record()  # type: ignore[operator]
    with pytest.raises(
        IdentityStatusError, match=f"only a qualified.*this one is {current.status}"
    ):
        current.shareable_ins()


@pytest.mark.parametrize("record", [prov, recup, vali, qual], ids=["PROV", "RECUP", "VALI", "QUAL"])
@pytest.mark.parametrize("mark", ["mark_doubtful", "mark_fictitious"])
def test_doubtful_or_fictitious_is_prov_and_forbids_insi(record: object, mark: str) -> None:
    before = record()  # type: ignore[operator]
    marked = getattr(before, mark)()
    assert marked.status is IdentityStatus.PROV
    assert marked.ins == before.ins  # kept for traceability...
    assert marked.ins_history == before.ins_history
    assert marked.id_document is None
    assert not marked.can_call_insi
    with pytest.raises(IdentityStatusError):
        marked.shareable_ins()  # ...but not shareable
    with pytest.raises(IdentityStatusError, match="forbids calling INSi"):
        marked.with_insi_result(INS, REFERENCE)


def test_fictitious_cannot_be_validated_by_a_document() -> None:
    with pytest.raises(IdentityStatusError, match="fictitious"):
        prov().mark_fictitious().with_id_document(IdDocumentKind.PASSPORT)


def test_doubtful_must_be_cleared_before_a_document() -> None:
    with pytest.raises(IdentityStatusError, match="clear_doubtful"):
        prov().mark_doubtful().with_id_document(IdDocumentKind.PASSPORT)


def test_clearing_the_doubt_does_not_restore_the_status() -> None:
    cleared = qual().mark_doubtful().clear_doubtful()
    assert cleared.status is IdentityStatus.PROV
    assert not cleared.doubtful
    assert cleared.can_call_insi
    assert cleared.ins == INS
    # The checks are made again: INSi gives RECUP, a document then QUAL.
    again = cleared.with_insi_result(INS, REFERENCE)
    assert again.status is IdentityStatus.RECUP
    assert again.with_id_document(IdDocumentKind.PASSPORT).status is IdentityStatus.QUAL


def test_clear_doubtful_keeps_fictitious() -> None:
    record = prov().mark_doubtful().mark_fictitious().clear_doubtful()
    assert record.fictitious and not record.doubtful
    assert not record.can_call_insi


@pytest.mark.parametrize(
    "kwargs",
    [
        {"status": IdentityStatus.RECUP},
        {"status": IdentityStatus.QUAL, "id_document": IdDocumentKind.PASSPORT},
        {"status": IdentityStatus.VALI},
        {"status": IdentityStatus.VALI, "id_document": IdDocumentKind.DRIVING_LICENCE},
        {"status": IdentityStatus.QUAL, "ins": INS},
        {"status": IdentityStatus.RECUP, "ins": INS, "doubtful": True},
        {"status": IdentityStatus.VALI, "id_document": IdDocumentKind.PASSPORT, "fictitious": True},
        {"status": "NONE"},
    ],
)
def test_invariants(kwargs: dict[str, object]) -> None:
    with pytest.raises(IdentityStatusError):
        IdentityRecord(TYPED, **kwargs)  # type: ignore[arg-type]


def test_constructor_accepts_status_strings() -> None:
    record = IdentityRecord(TYPED, "QUAL", INS, id_document="PASSPORT")  # type: ignore[arg-type]
    assert record.status is IdentityStatus.QUAL
    assert record.id_document is IdDocumentKind.PASSPORT


def test_repr_shows_no_health_data() -> None:
    text = repr(qual())
    for secret in ("ECETINSI", "PIERRE", "2009", "1090763220834", "63220"):
        assert secret not in text
    assert "QUAL" in text
