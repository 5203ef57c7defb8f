"""The Ins value: shape checks, key tolerance, OIDs and masking."""

from __future__ import annotations

import logging

import pytest

from segurlink.errors import InvalidIdentifier
from segurlink.identity import Ins, InsOid


def test_parse_typed_nir() -> None:
    ins = Ins.parse("2 75 12 63 220 749 74")
    assert (ins.matricule, ins.key, ins.oid) == ("2751263220749", "74", InsOid.NIR.value)
    assert ins.value == "275126322074974"
    assert ins.key_is_valid
    assert not ins.is_nia
    assert not ins.is_test


def test_parse_verifies_the_key() -> None:
    with pytest.raises(InvalidIdentifier, match="expected 74"):
        Ins.parse("275126322074975")


def test_hermann_wrong_key_is_representable() -> None:
    # INSi returns it; the constructor must not refuse it.
    ins = Ins("1810363220456", "60")
    assert ins.key_is_valid is False
    assert ins.value == "181036322045660"
    with pytest.raises(InvalidIdentifier):
        Ins.parse(ins.value)


def test_oid_is_stored_as_plain_string() -> None:
    ins = Ins("1090763220888", "35", InsOid.NIA)
    assert type(ins.oid) is str
    assert ins.oid == "1.2.250.1.213.1.4.9"
    assert ins.is_nia
    assert ins == Ins("1090763220888", "35", "1.2.250.1.213.1.4.9")
    assert hash(ins) == hash(Ins("1090763220888", "35", "1.2.250.1.213.1.4.9"))


@pytest.mark.parametrize("oid", [InsOid.NIR_TEST, InsOid.NIR_DEMO])
def test_test_oids(oid: InsOid) -> None:
    assert Ins.parse("275126322074974", oid).is_test


def test_corsican_matricule_is_upper_cased() -> None:
    ins = Ins("297022a020778", "78")
    assert ins.matricule == "297022A020778"
    assert ins.key_is_valid


@pytest.mark.parametrize(
    ("matricule", "key", "oid"),
    [
        ("275126322074", "74", InsOid.NIR),  # 12 characters
        ("27512632207490", "74", InsOid.NIR),  # 14 characters
        ("2751263220749", "7", InsOid.NIR),
        ("2751263220749", "745", InsOid.NIR),
        ("2751263220749", "7A", InsOid.NIR),
        ("2751263220749", "74", "1.2.250.1.213.1.4.2"),
        ("2751263220749", "74", ""),
    ],
)
def test_bad_shapes_are_refused(matricule: str, key: str, oid: str) -> None:
    with pytest.raises(InvalidIdentifier):
        Ins(matricule, key, oid)


def test_repr_and_str_mask_the_value(caplog: pytest.LogCaptureFixture) -> None:
    ins = Ins("2751263220749", "74")
    expected = "Ins('27***********74', oid='1.2.250.1.213.1.4.8')"
    assert repr(ins) == expected
    assert str(ins) == expected
    assert f"{ins}" == expected
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("patient %s", ins)
    assert "2751263220749" not in caplog.text


def test_mssante_address() -> None:
    assert Ins("2751263220749", "74").mssante_address == "275126322074974@patient.mssante.fr"


def test_is_frozen() -> None:
    ins = Ins("2751263220749", "74")
    with pytest.raises(AttributeError):
        ins.key = "75"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("matricule", "key"),
    [("2751263220749", " 74 "), (" 2751263220749 ", "74"), ("2751263220749\t", "\u00a074")],
)
def test_spaces_around_the_matricule_or_key_are_not_kept(matricule: str, key: str) -> None:
    ins = Ins(matricule, key)
    assert (ins.matricule, ins.key) == ("2751263220749", "74")
    assert ins.value == "275126322074974"
    assert ins.mssante_address == "275126322074974@patient.mssante.fr"
    assert ins == Ins("2751263220749", "74")
    assert ins.key_is_valid


def test_a_key_typed_with_spaces_is_parsed() -> None:
    ins = Ins.parse("2 75 12 63 220 749 7 4")
    assert ins.value == "275126322074974"
    assert " " not in ins.mssante_address


@pytest.mark.parametrize(
    ("matricule", "key"),
    [
        # The mod 97 key of each number, but a first digit outside 1-8: no key is valid.
        ("9751263220749", "15"),
        ("0751263220749", "77"),
    ],
)
def test_key_is_invalid_when_the_first_digit_is_refused(matricule: str, key: str) -> None:
    assert 97 - int(matricule) % 97 == int(key)  # the arithmetic alone would say valid
    ins = Ins(matricule, key)  # the shape is accepted (answers are read as they come)
    assert ins.key_is_valid is False
    with pytest.raises(InvalidIdentifier):
        Ins.parse(matricule + key)


@pytest.mark.parametrize(
    ("oid", "literal", "is_test", "is_nia"),
    [
        (InsOid.NIR, "1.2.250.1.213.1.4.8", False, False),
        (InsOid.NIA, "1.2.250.1.213.1.4.9", False, True),
        (InsOid.NIR_TEST, "1.2.250.1.213.1.4.10", True, False),
        (InsOid.NIR_DEMO, "1.2.250.1.213.1.4.11", True, False),
    ],
)
def test_each_oid_by_its_literal(oid: InsOid, literal: str, is_test: bool, is_nia: bool) -> None:
    assert oid.value == literal
    ins = Ins("2751263220749", "74", literal)
    assert ins.oid == literal
    assert (ins.is_test, ins.is_nia) == (is_test, is_nia)
    assert repr(ins) == f"Ins('27***********74', oid='{literal}')"


def test_the_default_oid_is_the_nir() -> None:
    assert Ins("2751263220749", "74").oid == "1.2.250.1.213.1.4.8"
    assert Ins.parse("275126322074974").oid == "1.2.250.1.213.1.4.8"


@pytest.mark.parametrize(
    "oid", ["1.2.250.1.213.1.4.12", "1.2.250.1.213.1.4.1", "1.2.250.1.213.1.4"]
)
def test_neighbouring_oids_are_refused(oid: str) -> None:
    with pytest.raises(InvalidIdentifier, match="unknown INS OID"):
        Ins("2751263220749", "74", oid)


# The messages a user reads: the field at fault, the masked value, what is expected.
@pytest.mark.parametrize(
    ("matricule", "key", "message"),
    [
        ("2751263220749", 74, "an INS matricule and key are strings"),
        (2751263220749, "74", "an INS matricule and key are strings"),
        (
            "27512632207４9",
            "74",
            "an INS matricule is written in ASCII (0-9, 2A/2B): "
            "character 12 is '４' (U+FF14 FULLWIDTH DIGIT FOUR)",
        ),
        (
            "2751263220749",
            "7４",
            "an INS key is written in ASCII (0-9, 2A/2B): "
            "character 2 is '４' (U+FF14 FULLWIDTH DIGIT FOUR)",
        ),
        (
            "275126322074",
            "74",
            "not an INS matricule: '27********74' (12 characters); expected 13 characters",
        ),
        ("2751263220749", "7", "an INS key is exactly 2 digits, given 1 characters"),
    ],
    ids=["key not a string", "matricule not a string", "matricule digit", "key digit",
         "matricule shape", "key shape"],
)
def test_refusal_messages(matricule: object, key: object, message: str) -> None:
    with pytest.raises(InvalidIdentifier) as info:
        Ins(matricule, key)  # type: ignore[arg-type]
    assert str(info.value) == message


def test_an_unknown_oid_is_refused_with_the_known_ones_listed() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        Ins("2751263220749", "74", "1.2.3")
    assert str(info.value) == (
        "unknown INS OID '1.2.3'; expected one of 1.2.250.1.213.1.4.10, "
        "1.2.250.1.213.1.4.11, 1.2.250.1.213.1.4.8, 1.2.250.1.213.1.4.9"
    )
