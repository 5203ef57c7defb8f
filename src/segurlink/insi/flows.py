"""The INSi search strategy as a pure flow (no socket: :func:`segurlink._flow.drive` runs it).

Certified clients search the way ``specs/insi.md`` describes ("Strategy used by real
clients"): each birth first name alone, in turn, until CR 00; on CR 02 the birth place is
added if it was not sent; after every first name alone has failed, one last call with the
whole list of first names in ``Prenom`` (a CNDA-validated client does it: 4 calls for
PIERRE PAUL JACQUES). CR 01 is reported as is: segurlink does not guess.

>>> from segurlink.identity import IdentityTraits
>>> from segurlink.insi.models import CrCode, InsNotFound
>>> traits = IdentityTraits.from_input(birth_name="HOUILLES", first_names="PIERRE PAUL",
...                                    sex="M", birth_date="1993-01-27")
>>> flow = search_strategy(traits)
>>> next(flow).first_name
'PIERRE'
>>> flow.send((InsNotFound(CrCode.NOT_FOUND, "Aucune identite trouvee"), "id-1")).first_name
'PAUL'
>>> flow.send((InsNotFound(CrCode.NOT_FOUND, "Aucune identite trouvee"), "id-2")).first_name
'PIERRE PAUL'
"""

from __future__ import annotations

from collections.abc import Generator, Sequence

from ..errors import InvalidTraits
from ..identity import IdentityTraits
from .models import CrCode, InsiResult, SearchAttempt, SearchOutcome, TraitsQuery

__all__ = ["ALL_FIRST_NAMES", "SearchFlow", "search_strategy"]

#: ``SearchAttempt.first_name_rank`` of the last call, with every first name in ``Prenom``.
ALL_FIRST_NAMES = 0

#: Yields the next query, receives its result and message id, returns the outcome.
SearchFlow = Generator[TraitsQuery, tuple[InsiResult, str], SearchOutcome]


def search_strategy(traits: IdentityTraits, *, send_birth_place: bool = False) -> SearchFlow:
    """The calls of one INSi search by traits, as certified clients make them."""
    attempts: list[SearchAttempt] = []
    results: list[InsiResult] = []
    for rank, query in _queries(traits, send_birth_place):
        result, message_id = yield query
        attempts.append(SearchAttempt(rank, query.birth_place is not None, result.code, message_id))
        results.append(result)
        if result.code is CrCode.MULTIPLE and query.birth_place is None and traits.birth_place:
            query = TraitsQuery.from_traits(traits, query.first_name, with_birth_place=True)
            result, message_id = yield query
            attempts.append(SearchAttempt(rank, True, result.code, message_id))
            results.append(result)
        if result.code is CrCode.FOUND:
            return SearchOutcome(result, tuple(attempts))
    multiple = [r for r in results if r.code is CrCode.MULTIPLE]
    final = multiple[-1] if multiple else results[-1]
    return SearchOutcome(final, tuple(attempts))


def _queries(
    traits: IdentityTraits, send_birth_place: bool
) -> Generator[tuple[int, TraitsQuery], None, None]:
    names = _unique(traits.first_names)
    for rank, first_name in enumerate(names, start=1):
        yield rank, TraitsQuery.from_traits(traits, first_name, with_birth_place=send_birth_place)
    if len(names) > 1:
        try:
            whole = TraitsQuery.from_traits(
                traits, " ".join(names), with_birth_place=send_birth_place
            )
        except InvalidTraits:
            return  # the list is longer than one Prenom may be: the single names were tried
        yield ALL_FIRST_NAMES, whole


def _unique(values: Sequence[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        seen.setdefault(value, None)
    return list(seen)
