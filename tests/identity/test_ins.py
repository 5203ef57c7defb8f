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
