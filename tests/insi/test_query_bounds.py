"""Nothing INSi's rules refuse leaves segurlink: names over the bound, non-ASCII codes.

``IdentityTraits``' constructor reads INSi's answers as they come, so the INSi queries are
the last gate: a query refuses what ``IdentityTraits.from_input`` would have refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from segurlink.config import Settings
from segurlink.errors import InvalidTraits
from segurlink.identity import IdentityTraits, Sex
from segurlink.identity.traits import MAX_NAME_LENGTH
from segurlink.insi import InsiClient, TraitsQuery, VitaleQuery

OVER = "A" * (MAX_NAME_LENGTH + 1)
AT = "A" * MAX_NAME_LENGTH


@pytest.fixture
def client(segurlink_mock_settings: Settings) -> Iterator[InsiClient]:
    with InsiClient.from_settings(segurlink_mock_settings) as c:
        yield c


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"birth_name": OVER}, "birth_name"),
        ({"first_names": (OVER,)}, "first_names"),
    ],
)
def test_a_search_with_a_name_over_the_bound_sends_nothing(
    client: InsiClient, insi_mock: Any, changes: dict[str, Any], field: str
) -> None:
    values: dict[str, Any] = {
        "birth_name": "ADRUN",
        "first_names": ("ZOE",),
        "sex": Sex.F,
        "birth_date": "1975-12-31",
        "birth_place": "63220",
    }
    values.update(changes)
    traits = IdentityTraits(**values)  # the constructor does not bound lengths
    before = insi_mock.request_count
    with pytest.raises(InvalidTraits) as info:
        client.search(traits)
    assert info.value.field == field
    assert insi_mock.request_count == before


def test_names_at_the_bound_are_sent(client: InsiClient, insi_mock: Any) -> None:
    traits = IdentityTraits(AT, (AT,), Sex.F, "1975-12-31")
    before = insi_mock.request_count
    outcome = client.search(traits)
    assert outcome.result.code.value == "01"  # nobody has that name; the mock was asked
    assert insi_mock.request_count > before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"birth_name": OVER}, "birth_name"),
        ({"first_name": OVER}, "first_names"),
        ({"birth_date": "1975-1２-31"}, "birth_date"),
        ({"birth_place": "6322٠"}, "birth_place"),
        ({"birth_name": "adrun"}, "birth_name"),
    ],
)
def test_a_query_built_by_hand_is_held_to_the_same_rules(
    changes: dict[str, Any], field: str
) -> None:
    values: dict[str, Any] = {
        "birth_name": "ADRUN",
        "first_name": "ZOE",
        "sex": Sex.F,
        "birth_date": "1975-12-31",
    }
    values.update(changes)
    with pytest.raises(InvalidTraits) as info:
        TraitsQuery(**values)
    assert info.value.field == field


def test_a_query_may_carry_every_first_name_as_one_prenom() -> None:
    # Real clients send, last, the whole list in one Prenom (specs/insi.md).
    query = TraitsQuery("HOUILLES", "PIERRE PAUL JACQUES", Sex.M, "1993-01-27")
    assert query.first_name == "PIERRE PAUL JACQUES"


def test_a_vitale_query_bounds_the_birth_name() -> None:
    assert VitaleQuery(AT, "1975-12-31").birth_name == AT
    with pytest.raises(InvalidTraits) as info:
        VitaleQuery(OVER, "1975-12-31")
    assert info.value.field == "birth_name"
