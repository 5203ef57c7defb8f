"""Identifiers, dates and place codes are ASCII: every other Unicode digit is refused.

Python's ``\\d`` and ``str.isdigit()`` accept the 650 non-ASCII decimal digits of Unicode
(full-width ``４``, Arabic-Indic ``٤``, Devanagari ``४``, mathematical ``𝟒``...) and
``int()`` reads them as numbers: ``Ins.parse("27512632207４974")`` used to pass with a valid
key, and INSi then answered CR 01 for a person it knows. Each test swaps one ASCII digit of
a valid value for a non-ASCII digit *of the same value*, the case a ``\\d`` check cannot see.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segurlink._finess import check_finess
from segurlink.cda import Organization, Professional, parse_ts
from segurlink.cda.models import Code, InstanceId, PersonName
from segurlink.cli import main
from segurlink.config import Structure
from segurlink.errors import ConfigurationError, InputError, InvalidIdentifier, InvalidTraits
from segurlink.identity import IdentityTraits, Ins, check_nir, nir_key, split_nir
from segurlink.insi import VitaleQuery

#: Every non-ASCII character with a decimal digit value, by value ("４" is under 4).
DIGITS_BY_VALUE: dict[int, list[str]] = {}
#: Digits without a decimal value ("²", "①"): ``isdigit()`` is true for them too.
OTHER_DIGITS: list[str] = []
for _code in range(sys.maxunicode + 1):
    _char = chr(_code)
    if _char.isascii():
        continue
    _value = unicodedata.decimal(_char, None)
    if _value is not None:
        DIGITS_BY_VALUE.setdefault(_value, []).append(_char)
    elif _char.isdigit():
        OTHER_DIGITS.append(_char)

NON_ASCII_DECIMALS = [c for chars in DIGITS_BY_VALUE.values() for c in chars]
U_PLUS = re.compile(r"U\+[0-9A-F]{4,6} ")
# No deadline: the machine is shared, and a first example pays for imports.
RELAXED = settings(deadline=None)


def test_the_alphabet_is_the_one_python_regexes_confuse() -> None:
    assert len(NON_ASCII_DECIMALS) >= 650
    assert all(re.fullmatch(r"\d", c) for c in NON_ASCII_DECIMALS)
    assert all(int(c) == unicodedata.decimal(c) for c in NON_ASCII_DECIMALS)


def _swap(value: str, data: st.DataObject) -> str:
    """``value`` with one ASCII digit replaced by a non-ASCII digit of the same value."""
    positions = [i for i, c in enumerate(value) if c.isascii() and c.isdigit()]
    position = data.draw(st.sampled_from(positions), label="position")
    twin = data.draw(st.sampled_from(DIGITS_BY_VALUE[int(value[position])]), label="digit")
    return value[:position] + twin + value[position + 1 :]


def _assert_names_the_character(exc: BaseException) -> None:
    # The message says which character is wrong, never the whole identifier.
    assert U_PLUS.search(str(exc)), str(exc)


NIRS = ["275126322074974", "297022A02077878", "160012B02077713", "109076322088835"]


@RELAXED
@given(st.sampled_from(NIRS), st.data())
def test_nir_and_ins_with_a_non_ascii_digit_are_refused(nir: str, data: st.DataObject) -> None:
    typed = _swap(nir, data)
    for parse in (Ins.parse, check_nir, split_nir):
        with pytest.raises(InvalidIdentifier) as info:
            parse(typed)  # type: ignore[operator]
        _assert_names_the_character(info.value)
    if typed[:13] != nir[:13]:
        with pytest.raises(InvalidIdentifier):
            nir_key(typed[:13])
    with pytest.raises(InvalidIdentifier):
        Ins(typed[:13], typed[13:])
    assert nir not in str(info.value)


@RELAXED
@given(st.sampled_from(NIRS), st.sampled_from(OTHER_DIGITS), st.integers(0, 14))
def test_nir_with_a_superscript_or_circled_digit_is_refused(
    nir: str, char: str, position: int
) -> None:
    with pytest.raises(InvalidIdentifier):
        Ins.parse(nir[:position] + char + nir[position + 1 :])


def adrtrois(**changes: Any) -> IdentityTraits:
    values: dict[str, Any] = {
        "birth_name": "ADRTROIS",
        "first_names": "DOMINIQUE",
        "sex": "F",
        "birth_date": "1997-02-26",
        "birth_place": "2A020",
    }
    values.update(changes)
    return IdentityTraits.from_input(**values)


@RELAXED
@given(st.sampled_from(["1997-02-26", "26/02/1997", "1950-00-00", "00/03/1950"]), st.data())
def test_birth_dates_with_a_non_ascii_digit_are_refused(date: str, data: st.DataObject) -> None:
    assert adrtrois(birth_date=date).birth_date.isascii()
    typed = _swap(date, data)
    with pytest.raises(InvalidTraits) as info:
        adrtrois(birth_date=typed)
    assert info.value.field == "birth_date"
    _assert_names_the_character(info.value)
    iso = _swap(adrtrois(birth_date=date).birth_date, data)
    with pytest.raises(InvalidTraits) as info:
        IdentityTraits("ADRTROIS", ("DOMINIQUE",), "F", iso)  # type: ignore[arg-type]
    assert info.value.field == "birth_date"
    with pytest.raises(InvalidTraits):
        VitaleQuery("ADRTROIS", iso)


@RELAXED
@given(st.sampled_from(["63220", "2A020", "2B020", "99134"]), st.data())
def test_birth_places_with_a_non_ascii_digit_are_refused(place: str, data: st.DataObject) -> None:
    assert adrtrois(birth_place=place).birth_place == place
    typed = _swap(place, data)
    with pytest.raises(InvalidTraits) as info:
        adrtrois(birth_place=typed)
    assert info.value.field == "birth_place"
    _assert_names_the_character(info.value)
    with pytest.raises(InvalidTraits) as info:
        IdentityTraits("ADRTROIS", ("DOMINIQUE",), "F", "1997-02-26", typed)  # type: ignore[arg-type]
    assert info.value.field == "birth_place"


@RELAXED
@given(st.sampled_from(["010000016", "450000088", "2A0000000", "980000020"]), st.data())
def test_finess_with_a_non_ascii_digit_is_refused(finess: str, data: st.DataObject) -> None:
    typed = _swap(finess, data)
    with pytest.raises(InputError) as info:
        check_finess(typed)
    _assert_names_the_character(info.value)
    with pytest.raises(InputError):
        Organization.from_finess(typed)
    with pytest.raises(ConfigurationError):
        Structure(typed)


@RELAXED
@given(st.data())
def test_cda_identifiers_and_times_with_a_non_ascii_digit_are_refused(data: st.DataObject) -> None:
    with pytest.raises(InputError):
        Professional(
            _swap("10001234567", data), PersonName("X"), Code("G15_60", "1.2.250.1.213.1.1.4.5")
        )
    with pytest.raises(InputError):
        InstanceId(_swap("1.2.250.1.71.4.2.2", data))
    assert parse_ts(_swap("20240131143000+0100", data)) is None


# capsys.readouterr() resets the capture at each example.
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(NIRS), st.data())
def test_check_nir_command_refuses_a_non_ascii_digit(
    capsys: pytest.CaptureFixture[str], nir: str, data: st.DataObject
) -> None:
    code = main(["identity", "check-nir", _swap(nir, data)])
    out, err = capsys.readouterr()
    assert code == 2
    assert "valid key" not in out
    assert err.count("\n") == 1 and "InvalidIdentifier" in err and "Traceback" not in err
