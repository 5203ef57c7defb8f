"""The rules that decide what is written back after INSi (pure, no I/O)."""

from __future__ import annotations

import datetime

import pytest

from segurlink.hl7 import AckCode, PamIdentity, Refusal, decide, status_after_insi, traits_for_insi
from segurlink.hl7.models import IdentityUpdate
from segurlink.identity import (
    IdDocumentKind,
    IdentityRecord,
    IdentityStatus,
    IdentityTraits,
    Ins,
    Sex,
)
from segurlink.insi import (
    CrCode,
    HistoricalIns,
    InsFound,
    InsiIdentity,
    InsNotFound,
    MultipleIdentities,
    SearchOutcome,
)

TRAITS = IdentityTraits.from_input(
    birth_name="ECETINSI",
    first_names="PIERRE-ALAIN MURIEL FLORIANT",
    sex="M",
    birth_date="2009-07-14",
    birth_place="63220",
)
ACTIVE = Ins("1090763220834", "89")
OLD = Ins("2090763220834", "39")


def identity(**changes: object) -> PamIdentity:
    values: dict[str, object] = {
        "birth_name": "Ecetinsi",
        "first_names": ("Pierre-Alain", "Muriel", "Floriant"),
        "birth_date": "2009-07-14",
        "sex": "M",
        "birth_place": "63220",
        "reliability_codes": ("VALI",),
    }
    values.update(changes)
    return PamIdentity(**values)  # type: ignore[arg-type]


def found(traits: IdentityTraits = TRAITS, start: datetime.date | None = None) -> SearchOutcome:
    insi_identity = InsiIdentity(
        active=HistoricalIns(ACTIVE, start=start),
        history=(HistoricalIns(OLD, end=datetime.date(2019, 2, 28)),),
        traits=traits,
    )
    return SearchOutcome(InsFound(CrCode.FOUND, "OK", identity=insi_identity), ())


def refusal(value: object) -> Refusal:
    assert isinstance(value, Refusal), value
    return value


def update(value: object) -> IdentityUpdate:
    assert isinstance(value, IdentityUpdate), value
    return value


# -- status ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        (None, IdentityStatus.RECUP),
        (IdentityStatus.PROV, IdentityStatus.RECUP),
        (IdentityStatus.RECUP, IdentityStatus.RECUP),
        (IdentityStatus.VALI, IdentityStatus.QUAL),
        (IdentityStatus.QUAL, IdentityStatus.QUAL),
    ],
)
def test_status_after_insi(sender: IdentityStatus | None, expected: IdentityStatus) -> None:
    assert status_after_insi(sender) is expected


@pytest.mark.parametrize("sender", [None, *IdentityStatus])
def test_status_rule_is_the_identity_domain_rule(sender: IdentityStatus | None) -> None:
    """The table agrees with IdentityRecord.with_insi_result for every starting status."""
    status = sender or IdentityStatus.PROV
    document = (
        IdDocumentKind.PASSPORT if status in (IdentityStatus.VALI, IdentityStatus.QUAL) else None
    )
    ins = ACTIVE if status in (IdentityStatus.RECUP, IdentityStatus.QUAL) else None
    record = IdentityRecord(TRAITS, status=status, ins=ins, id_document=document)
    assert record.with_insi_result(ACTIVE, TRAITS).status is status_after_insi(sender)


# -- before INSi -------------------------------------------------------------------------------


@pytest.mark.parametrize("codes", [("PROV", "DOUTE"), ("DOUT",), ("FICTI",), ("VALI", "FICT")])
def test_doubtful_or_fictitious_identity_is_not_sent_to_insi(codes: tuple[str, ...]) -> None:
    result = refusal(traits_for_insi(identity(reliability_codes=codes)))
    assert result.code is AckCode.AE and result.final
    (error,) = result.errors
    assert (error.application_code, error.location) == ("INSI_FORBIDDEN", "PID-32")


@pytest.mark.parametrize(
    ("changes", "code", "location"),
    [
        ({"birth_name": None}, "101", "PID-5.1"),
        ({"first_names": ()}, "101", "PID-5.2"),
        ({"sex": None}, "101", "PID-8"),
        ({"birth_date": None}, "101", "PID-7"),
        ({"birth_name": "R2D2"}, "102", "PID-5.1"),
        ({"first_names": ("J3AN",)}, "102", "PID-5.2"),
        ({"sex": "U"}, "102", "PID-8"),
        ({"birth_place": "6322"}, "102", "PID-11.9"),
        ({"birth_date": "2999-01-01"}, "102", "PID-7"),
    ],
)
def test_missing_or_invalid_traits_are_refused_with_their_location(
    changes: dict[str, object], code: str, location: str
) -> None:
    result = refusal(traits_for_insi(identity(**changes)))
    assert result.code is AckCode.AE and result.final
    (error,) = result.errors
    assert (error.code, error.location) == (code, location)
    assert error.application_code == ("TRAITS_MISSING" if code == "101" else "TRAITS_INVALID")


def test_valid_identity_gives_normalised_traits() -> None:
    assert traits_for_insi(identity()) == TRAITS


# -- after INSi --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "code"),
    [
        (InsNotFound(CrCode.NOT_FOUND, "Aucune identite trouvee"), "INSI_NOT_FOUND"),
        (MultipleIdentities(CrCode.MULTIPLE, "Plusieurs identites trouvees"), "INSI_MULTIPLE"),
    ],
)
def test_no_single_identity_writes_nothing(result: object, code: str) -> None:
    decision = refusal(decide(identity(), TRAITS, SearchOutcome(result, ())))  # type: ignore[arg-type]
    assert decision.code is AckCode.AE and decision.final
    assert [e.application_code for e in decision.errors] == [code]
    assert [e.code for e in decision.errors] == ["207"]


def test_vali_identity_found_with_the_same_traits_becomes_qual_with_the_ins() -> None:
    result = update(decide(identity(), TRAITS, found(start=datetime.date(2009, 7, 20))))
    assert (result.status, result.ins) == (IdentityStatus.QUAL, ACTIVE)
    assert result.ins_effective_date == datetime.date(2009, 7, 20)
    assert result.traits == TRAITS


@pytest.mark.parametrize("codes", [(), ("PROV",), ("RECUP",), ("HOMD",)])
def test_identity_without_document_becomes_recup_without_the_ins(codes: tuple[str, ...]) -> None:
    result = update(decide(identity(reliability_codes=codes), TRAITS, found()))
    assert (result.status, result.ins, result.ins_effective_date) == (
        IdentityStatus.RECUP,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("insi_changes", "fields"),
    [
        ({"birth_name": "ECETINSO"}, ["birth_name"]),
        ({"first_names": ("PIERRE-ALAIN", "MURIEL")}, ["first_names"]),
        ({"sex": "F"}, ["sex"]),
        ({"birth_date": "2009-07-15"}, ["birth_date"]),
        ({"birth_place": "63113"}, ["birth_place"]),
        ({"birth_place": "63113", "sex": "F"}, ["sex", "birth_place"]),
    ],
)
def test_any_strict_trait_mismatch_writes_nothing(
    insi_changes: dict[str, object], fields: list[str]
) -> None:
    import dataclasses

    returned = dataclasses.replace(TRAITS, **insi_changes)  # type: ignore[arg-type]
    decision = refusal(decide(identity(), TRAITS, found(returned)))
    assert decision.code is AckCode.AE and decision.final
    assert {e.application_code for e in decision.errors} == {"TRAITS_MISMATCH"}
    locations = {
        "birth_name": "PID-5.1",
        "first_names": "PID-5.2",
        "sex": "PID-8",
        "birth_date": "PID-7",
        "birth_place": "PID-11.9",
    }
    assert [e.location for e in decision.errors] == [locations[f] for f in fields]


def test_message_without_birth_place_does_not_qualify() -> None:
    message_traits = IdentityTraits.from_input(
        birth_name="ECETINSI",
        first_names="PIERRE-ALAIN MURIEL FLORIANT",
        sex="M",
        birth_date="2009-07-14",
    )
    decision = refusal(decide(identity(birth_place=None), message_traits, found()))
    assert [e.location for e in decision.errors] == ["PID-11.9"]


def test_message_ins_equal_to_insi_active_ins_is_confirmed() -> None:
    result = update(
        decide(identity(ins=ACTIVE, ins_effective_date=datetime.date(2010, 1, 1)), TRAITS, found())
    )
    assert result.ins == ACTIVE
    assert result.ins_effective_date == datetime.date(2010, 1, 1)  # kept: INSi gave no date


def test_superseded_ins_is_replaced_by_the_active_one() -> None:
    result = update(decide(identity(ins=OLD), TRAITS, found()))
    assert (result.status, result.ins) == (IdentityStatus.QUAL, ACTIVE)
    assert result.ins_effective_date is None


@pytest.mark.parametrize(
    "stored",
    [Ins("2751263220749", "74"), Ins("1090763220834", "89", "1.2.250.1.213.1.4.10")],
)
def test_another_ins_in_the_message_is_a_conflict(stored: Ins) -> None:
    decision = refusal(decide(identity(ins=stored), TRAITS, found()))
    assert [(e.application_code, e.location) for e in decision.errors] == [
        ("INS_CONFLICT", "PID-3")
    ]


def test_used_names_of_the_message_are_kept() -> None:
    with_used = IdentityTraits.from_input(
        birth_name="ECETINSI",
        first_names="PIERRE-ALAIN MURIEL FLORIANT",
        sex="M",
        birth_date="2009-07-14",
        birth_place="63220",
        used_name="MARTIN",
        used_first_name="PIERRE",
    )
    result = update(decide(identity(), with_used, found()))
    assert (result.traits.used_name, result.traits.used_first_name) == ("MARTIN", "PIERRE")


# -- what each refusal says (the ERR segment a sender reads) -------------------------------------


@pytest.mark.parametrize(
    ("codes", "kind"), [(("DOUT",), "doubtful"), (("FICTI",), "fictitious"),
                        (("DOUT", "FICTI"), "fictitious")],
)  # fmt: skip
def test_an_identity_not_sent_to_insi_says_why(codes: tuple[str, ...], kind: str) -> None:
    (error,) = refusal(traits_for_insi(identity(reliability_codes=codes))).errors
    assert (error.code, error.message) == (
        "207",
        f"the identity is {kind} (PID-32): INSi is not called",
    )


def test_traits_refusals_carry_the_traits_message() -> None:
    (missing,) = refusal(traits_for_insi(identity(birth_name=None))).errors
    assert missing.message == "the message gives no birth name (PID-5, repetition L, XPN.1)"
    (invalid,) = refusal(traits_for_insi(identity(birth_name="R2D2"))).errors
    assert invalid.message == (
        "birth_name contains the digit '2' (U+0032 DIGIT TWO); names cannot contain digits"
    )
    assert (invalid.segment, invalid.field, invalid.component) == ("PID", 5, 1)


@pytest.mark.parametrize(
    ("result", "message"),
    [
        (InsNotFound(CrCode.NOT_FOUND, "x"), "INSi found no identity (CR 01)"),
        (MultipleIdentities(CrCode.MULTIPLE, "x"), "INSi found several identities (CR 02)"),
    ],
)
def test_no_single_identity_says_which(result: object, message: str) -> None:
    decision = refusal(decide(identity(), TRAITS, SearchOutcome(result, ())))  # type: ignore[arg-type]
    assert [(e.message, e.segment) for e in decision.errors] == [(message, "")]


def test_every_mismatch_is_reported_after_an_ins_conflict_or_a_superseded_ins() -> None:
    import dataclasses

    other_sex = found(dataclasses.replace(TRAITS, sex=Sex.F))
    conflict = refusal(decide(identity(ins=Ins("2751263220749", "74")), TRAITS, other_sex))
    assert [(e.code, e.message, e.location, e.application_code) for e in conflict.errors] == [
        ("207", "INSi returned another INS than the message's", "PID-3", "INS_CONFLICT"),
        ("207", "INSi's sex differs from the message's", "PID-8", "TRAITS_MISMATCH"),
    ]
    superseded = refusal(decide(identity(ins=OLD), TRAITS, other_sex))
    assert [e.message for e in superseded.errors] == ["INSi's sex differs from the message's"]
    birth = refusal(
        decide(identity(), TRAITS, found(dataclasses.replace(TRAITS, birth_date="2009-07-15")))
    )
    assert [e.message for e in birth.errors] == ["INSi's birth date differs from the message's"]


def test_insi_dates_the_ins_when_it_gives_a_start() -> None:
    result = update(
        decide(
            identity(ins=ACTIVE, ins_effective_date=datetime.date(2010, 1, 1)),
            TRAITS,
            found(start=datetime.date(2009, 7, 20)),
        )
    )
    assert result.ins_effective_date == datetime.date(2009, 7, 20)


def test_a_recup_identity_takes_insi_reference_traits() -> None:
    result = update(decide(identity(reliability_codes=()), TRAITS, found()))
    assert result.traits == TRAITS
