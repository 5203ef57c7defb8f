"""FINESS numbers: the département (with Corsica's 2A/2B), 7 ASCII digits, the Luhn key."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from segurlink._finess import check_finess, luhn_key
from segurlink.cda import Organization
from segurlink.config import Structure
from segurlink.errors import ConfigurationError, InputError

# Numbers whose last digit is their Luhn key (the mocks' and the docs' structures).
LUHN_VALID = ["010000016", "010000024", "010000032", "450000088", "970100012", "980000020"]


@pytest.mark.parametrize("finess", LUHN_VALID)
def test_numbers_with_their_luhn_key_are_accepted(finess: str) -> None:
    assert check_finess(finess) == finess
    assert Organization.from_finess(finess).id.extension == "1" + finess


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("2A0000000", "2A0000000"), ("2B0123456", "2B0123456"), ("2a0004567", "2A0004567")],
)
def test_corsican_numbers_are_accepted(typed: str, stored: str) -> None:
    # The département is the first two characters: 2A (Corse-du-Sud) or 2B (Haute-Corse).
    organization = Organization.from_finess(typed, "EHPAD U Fiuminale")
    assert organization.id.root == "1.2.250.1.71.4.2.2"
    assert organization.id.extension == "1" + stored
    assert Structure(typed).finess == stored


@pytest.mark.parametrize(
    ("finess", "message"),
    [
        ("01A000000", "character 3 is 'A', not a digit 0-9"),  # a letter after the département
        ("012B00000", "character 4 is 'B'"),
        ("2C0000000", "département '2C'"),
        ("200000000", "département '20'"),  # 20 became 2A/2B in 1976
        ("000000000", "département '00'"),
        ("960000000", "département '96'"),
        ("990000000", "département '99'"),
        ("01000001", "9 characters, got 8"),
        ("0100000160", "9 characters, got 10"),
        ("", "9 characters, got 0"),
        ("010000017", "key mismatch: '010000017' ends with 7, the Luhn key of 01000001 is 6"),
        ("450000080", "the Luhn key of 45000008 is 8"),
        ("０１0000016", "character 1 is '０' (U+FF10 FULLWIDTH DIGIT ZERO)"),
        ("01000001٦", "character 9 is '٦' (U+0666 ARABIC-INDIC DIGIT SIX)"),
    ],
)
def test_what_is_not_a_finess_is_refused_with_the_reason(finess: str, message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)) as info:
        Organization.from_finess(finess)
    assert "has 9 characters, got 9" not in info.value.message
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        Structure(finess)


def test_a_finess_is_a_string() -> None:
    with pytest.raises(InputError, match=r"^a FINESS number is a string, not int$"):
        check_finess(10000016)
    with pytest.raises(InputError, match=r"^a FINESS number is a string, not bytes$"):
        check_finess(b"010000016")


@pytest.mark.parametrize(
    ("typed", "named"),
    [("2A00000X0", "character 8 is 'X'"), ("2b1234y67", "character 7 is 'y'"),
     ("01A000016", "character 3 is 'A'")],
)  # fmt: skip
def test_the_first_character_after_the_departement_that_is_not_a_digit_is_named(
    typed: str, named: str
) -> None:
    # The département's own letters (2A, 2B) are not the character at fault.
    with pytest.raises(InputError) as info:
        check_finess(typed)
    assert f": {named}, not a digit 0-9 (expected the département, then 7 digits)" in str(
        info.value
    )


@pytest.mark.parametrize(("digits", "key"), [("01000001", 6), ("45000008", 8), ("7", 5)])
def test_luhn_key(digits: str, key: int) -> None:
    assert luhn_key(digits) == key


def test_luhn_key_takes_ascii_digits_only() -> None:
    for digits in ("0100000١", "", "12a"):
        with pytest.raises(InputError) as info:
            luhn_key(digits)
        assert str(info.value) == "a Luhn key is computed over ASCII digits only"


departements = st.sampled_from([f"{d:02d}" for d in range(1, 96) if d != 20] + ["97", "98"])


@given(departements, st.integers(0, 10**6 - 1), st.integers(0, 8), st.integers(1, 9))
def test_any_single_digit_change_is_caught_by_the_key(
    departement: str, number: int, position: int, shift: int
) -> None:
    body = f"{departement}{number:06d}"
    finess = body + str(luhn_key(body))
    assert check_finess(finess) == finess
    changed = list(finess)
    changed[position] = str((int(finess[position]) + shift) % 10)
    with pytest.raises(InputError):
        check_finess("".join(changed))
