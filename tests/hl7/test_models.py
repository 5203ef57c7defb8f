"""The PAM identity's own rules: what its repr shows (no trait in clear), which missing
trait it names first, and the traits it hands to INSi."""

from __future__ import annotations

import pytest

from segurlink.errors import InvalidTraits
from segurlink.hl7.models import PamIdentity, PatientIdentifier
from segurlink.identity import Ins

INS = "275126322074974"


def _identity(**changes: object) -> PamIdentity:
    values: dict[str, object] = {
        "identifiers": (PatientIdentifier("IPP0011", type_code="PI"),),
        "birth_name": "ADRUN",
        "first_names": ("ZOE", "MARIE"),
        "used_name": "MARTIN",
        "used_first_name": "Zoé",
        "birth_date": "1975-12-25",
        "sex": "F",
        "birth_place": "63220",
        "reliability_codes": ("VALI",),
    }
    values.update(changes)
    return PamIdentity(**values)  # type: ignore[arg-type]


def test_the_repr_masks_every_trait() -> None:
    identity = _identity()
    assert repr(identity) == (
        "PamIdentity(identifiers=1, ins=None, birth_name='A***', "
        "first_names=('Z***', 'M***'), sex='F', birth_date='****-**-**', "
        "birth_place='*****', reliability_codes=('VALI',))"
    )
    assert str(identity) == repr(identity)
    for value in ("ADRUN", "ZOE", "MARIE", "1975", "63220"):
        assert value not in repr(identity)


def test_the_repr_says_which_traits_are_absent() -> None:
    identity = PamIdentity()
    assert repr(identity) == (
        "PamIdentity(identifiers=0, ins=None, birth_name=None, first_names=(), sex=None, "
        "birth_date=None, birth_place=None, reliability_codes=())"
    )


def test_the_repr_of_an_ins_and_an_identifier_masks_them() -> None:
    identity = _identity(ins=Ins.parse(INS))
    assert INS not in repr(identity)
    assert repr(PatientIdentifier(INS, namespace="ASIP-SANTE-INS-NIR", type_code="INS")) == (
        "PatientIdentifier('27***********74', namespace='ASIP-SANTE-INS-NIR', oid='', "
        "type_code='INS')"
    )


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"birth_name": None}, "birth_name", "the message gives no birth name (PID-5, repetition L, XPN.1)"),
        ({"birth_name": "", "sex": None}, "birth_name", "the message gives no birth name (PID-5, repetition L, XPN.1)"),
        ({"first_names": ()}, "first_names", "the message gives no birth first names (PID-5, repetition L)"),
        ({"sex": ""}, "sex", "the message gives no sex (PID-8)"),
        ({"birth_date": None}, "birth_date", "the message gives no birth date (PID-7)"),
    ],
)  # fmt: skip
def test_the_first_missing_trait_is_named(
    changes: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(InvalidTraits) as info:
        _identity(**changes).traits()
    assert (str(info.value), info.value.field) == (message, field)


def test_the_traits_given_to_insi_are_every_trait_normalised() -> None:
    traits = _identity().traits()
    assert (traits.birth_name, traits.first_names, traits.sex.value, traits.birth_date) == (
        "ADRUN", ("ZOE", "MARIE"), "F", "1975-12-25",
    )  # fmt: skip
    assert (traits.birth_place, traits.used_name, traits.used_first_name) == (
        "63220", "MARTIN", "ZOE",
    )  # fmt: skip
    assert _identity(used_first_name=None, used_name=None).traits().used_first_name is None
