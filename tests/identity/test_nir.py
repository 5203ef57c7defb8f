"""NIR / NIA keys: the spec's test persons and properties of the mod 97 key."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from segurlink.errors import InvalidIdentifier
from segurlink.identity import check_nir, nir_key, split_nir

# (matricule, key) of the qualification platform's test persons (spec insi.md).
TEST_PERSONS = [
    ("2751263220749", 74),  # ADRUN ZOE
    ("297022A020778", 78),  # ADRTROIS DOMINIQUE, Corsica 2A
    ("160012B020777", 13),  # ADRTROIS TOUSSAINT, Corsica 2B
    ("180032B020401", 23),  # CORSE ANTHONY
    ("1090763220888", 35),  # PROVISOIRE MATRICULE (NIA)
    ("1090763220834", 89),  # ECETINSI PIERRE-ALAIN
    ("2090763220834", 39),  # ECETINSI history
    ("2090663220123", 55),  # ECETINSI history
    ("2360663220836", 56),  # TCHITCHI
    ("1100863220830", 60),  # NESSI
]

matricules = st.builds(
    lambda sex, year, month, dept, commune, order: (
        f"{sex}{year:02d}{month:02d}{dept}{commune:03d}{order:03d}"
    ),
    st.integers(1, 8),
    st.integers(0, 99),
    st.integers(1, 12) | st.integers(20, 99),
    st.sampled_from(["2A", "2B"]) | st.integers(0, 99).map(lambda d: f"{d:02d}"),
    st.integers(0, 999),
    st.integers(0, 999),
)


@pytest.mark.parametrize(("matricule", "key"), TEST_PERSONS)
def test_keys_of_test_persons(matricule: str, key: int) -> None:
    assert nir_key(matricule) == key
    assert check_nir(f"{matricule}{key:02d}") == (matricule, f"{key:02d}")


def test_corsican_letters_are_case_insensitive() -> None:
    assert nir_key("297022a020778") == 78
    assert check_nir("1 60 01 2b 020 777 13") == ("160012B020777", "13")


def test_corsica_reads_2a_as_19_and_2b_as_18() -> None:
    assert nir_key("297022A020778") == nir_key("2970219020778")
    assert nir_key("160012B020777") == nir_key("1600118020777")


def test_hermann_key_fails_the_check() -> None:
    # The platform returns 60, mod 97 gives 76: a user typing it must be told.
    assert nir_key("1810363220456") == 76
    with pytest.raises(InvalidIdentifier, match=r"expected 76.*given 60"):
        check_nir("181036322045660")


def test_split_does_not_check_the_key() -> None:
    assert split_nir("1.81.03.63.220.456-60") == ("1810363220456", "60")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "27512632207497",  # 14 characters
        "2751263220749744",  # 16 characters
        "27512632207X974",
        "2751263220749A4",  # letter in the key
        "275122C22074974",  # only 2A/2B are letters
        "27512A322074974",  # letters at the wrong place
        "2 75 12 63 220 749 74 x",
    ],
)
def test_split_refuses_bad_shapes(text: str) -> None:
    with pytest.raises(InvalidIdentifier):
        split_nir(text)


@pytest.mark.parametrize(
    "matricule", ["0751263220749", "9751263220749", "275126322074", "27512632207491", ""]
)
def test_key_refuses_bad_matricules(matricule: str) -> None:
    with pytest.raises(InvalidIdentifier):
        nir_key(matricule)


def test_error_message_does_not_echo_the_identifier() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        split_nir("27512632207497")
    assert "27512632207497" not in str(info.value)


@given(matricules)
def test_key_round_trips(matricule: str) -> None:
    key = nir_key(matricule)
    assert 1 <= key <= 97
    assert check_nir(f"{matricule}{key:02d}") == (matricule, f"{key:02d}")


@given(matricules, st.data())
def test_formatting_with_separators_is_accepted(matricule: str, data: st.DataObject) -> None:
    nir = f"{matricule}{nir_key(matricule):02d}"
    separators = data.draw(
        st.lists(st.sampled_from(["", " ", ".", "-", "  "]), min_size=15, max_size=15)
    )
    text = "".join(sep + char for sep, char in zip(separators, nir, strict=True))
    assert check_nir(text) == (matricule, nir[13:])


@given(matricules, st.integers(0, 12), st.sampled_from("0123456789AB"))
def test_any_single_character_substitution_is_detected(
    matricule: str, position: int, char: str
) -> None:
    """Changing one character of a matricule (keeping a valid shape) changes its key.

    True because the change of N is d·10^k with 0 < |d| ≤ 10, never a multiple of 97.
    """
    changed = matricule[:position] + char + matricule[position + 1 :]
    if changed == matricule:
        return
    try:
        new_key = nir_key(changed)
    except InvalidIdentifier:
        return  # not a matricule any more: detected by the shape check
    assert new_key != nir_key(matricule)
    with pytest.raises(InvalidIdentifier, match="key mismatch"):
        check_nir(f"{changed}{nir_key(matricule):02d}")


# The messages a user reads (CLI, logs): what is wrong, the masked value, what is expected.
# Whole messages on purpose: each part of them is a rule of its own (masking, the form).
@pytest.mark.parametrize(
    ("call", "value", "message"),
    [
        (
            nir_key,
            "2751263220X49",
            "not a NIR/NIA matricule: '27*********49' (13 characters); expected 13 characters: "
            "sex digit 1-8, year, month, département (2 digits, 2A or 2B), commune, order",
        ),
        (
            split_nir,
            "27512632207X974",
            "not a NIR/NIA: '27***********74' (15 characters); expected 15 characters "
            "(13-character matricule followed by a 2-digit key)",
        ),
        (nir_key, 275126322074, "a NIR matricule is a string, not int"),
        (split_nir, 275126322074974, "a NIR is a string, not int"),
        (
            nir_key,
            "２751263220749",
            "a NIR/NIA matricule is written with ASCII digits 0-9 (and 2A/2B): "
            "character 1 is '２' (U+FF12 FULLWIDTH DIGIT TWO)",
        ),
        (
            check_nir,
            "2 75 12 63 220 ７49 74",
            "a NIR/NIA is written with ASCII digits 0-9 (and 2A/2B): "
            "character 11 is '７' (U+FF17 FULLWIDTH DIGIT SEVEN)",
        ),
    ],
    ids=["matricule shape", "nir shape", "matricule type", "nir type", "matricule digit", "nir digit"],
)
def test_refusal_messages(call: object, value: object, message: str) -> None:
    with pytest.raises(InvalidIdentifier) as info:
        call(value)  # type: ignore[operator]
    assert str(info.value) == message
