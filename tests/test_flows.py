"""The protocol state machines as pure flows: walked step by step, no socket.

Each flow yields the step it needs and receives the step's result (or its error thrown
in); these tests play the service's part with made-up answers.
"""

from __future__ import annotations

from typing import Any

import pytest

from segurlink._flow import drive
from segurlink._retry import RetryPolicy
from segurlink.dmp.flows import Lookup, Prepare, Submit, Wait, deposit_recovery
from segurlink.dmp.models import APPROVED, DocumentEntry
from segurlink.errors import (
    HttpStatusError,
    OidcError,
    TlsError,
    TransportError,
    TransportTimeout,
    XdsError,
    XdsIssue,
)
from segurlink.identity import IdentityTraits
from segurlink.insi import ALL_FIRST_NAMES, CrCode, search_strategy
from segurlink.insi.models import InsNotFound, MultipleIdentities, TraitsQuery
from segurlink.psc import ciba_polling
from segurlink.psc.flows import Poll
from segurlink.psc.flows import Wait as CibaWait
from segurlink.psc.models import CibaRequest
from segurlink.ror import export_polling, paging
from segurlink.ror.flows import ExportStatus, Fetch, Report
from segurlink.ror.flows import Poll as ExportPoll
from segurlink.ror.flows import Wait as ExportWait

NOT_FOUND = InsNotFound(CrCode.NOT_FOUND, "Aucune identite trouvee")
SEVERAL = MultipleIdentities(CrCode.MULTIPLE, "Plusieurs identites trouvees")

# -- INSi: the first-name strategy ----------------------------------------------------------


def _traits(first_names: str, birth_place: str | None = None) -> IdentityTraits:
    return IdentityTraits.from_input(
        birth_name="HOUILLES",
        first_names=first_names,
        sex="M",
        birth_date="1993-01-27",
        birth_place=birth_place,
    )


def test_every_first_name_alone_then_the_whole_list() -> None:
    sent: list[TraitsQuery] = []

    def insi(query: TraitsQuery) -> tuple[Any, str]:
        sent.append(query)
        return NOT_FOUND, f"id-{len(sent)}"

    outcome = drive(search_strategy(_traits("PIERRE PAUL JACQUES")), insi)
    assert [q.first_name for q in sent] == ["PIERRE", "PAUL", "JACQUES", "PIERRE PAUL JACQUES"]
    assert [a.first_name_rank for a in outcome.attempts] == [1, 2, 3, ALL_FIRST_NAMES]
    assert outcome.result is NOT_FOUND


def test_one_first_name_is_one_call_and_a_repeated_name_is_sent_once() -> None:
    sent: list[str] = []

    def insi(query: TraitsQuery) -> tuple[Any, str]:
        sent.append(query.first_name)
        return NOT_FOUND, "id"

    drive(search_strategy(_traits("PIERRE")), insi)
    assert sent == ["PIERRE"]
    sent.clear()
    drive(search_strategy(_traits("PIERRE PIERRE")), insi)
    assert sent == ["PIERRE"]


def test_several_identities_add_the_birth_place_then_stop_at_found() -> None:
    flow = search_strategy(_traits("PIERRE PAUL", birth_place="63220"))
    assert next(flow).birth_place is None
    with_place = flow.send((SEVERAL, "a"))
    assert (with_place.first_name, with_place.birth_place) == ("PIERRE", "63220")
    assert flow.send((SEVERAL, "b")).first_name == "PAUL"
    assert flow.send((NOT_FOUND, "c")).first_name == "PIERRE PAUL"
    with pytest.raises(StopIteration) as stop:
        flow.send((NOT_FOUND, "d"))
    assert stop.value.value.result is SEVERAL  # the last CR 02 is the more useful answer


# -- DMP: the deposit recovery ----------------------------------------------------------------

ENTRY = DocumentEntry("urn:uuid:1", "1.2.3", APPROVED, hash="abc")
POLICY = RetryPolicy(initial=0.5, maximum=5.0, max_attempts=2)


class FakeDmp:
    """Plays ITI-41 and ITI-18 with a script of outcomes."""

    def __init__(self, submits: list[Exception | None], registry: list[DocumentEntry | None]):
        self.submits = submits
        self.registry = registry
        self.steps: list[Any] = []

    def __call__(self, step: Any) -> Any:
        self.steps.append(step)
        if isinstance(step, Prepare):
            return f"set-{step.attempt}"
        if isinstance(step, Submit):
            outcome = self.submits.pop(0)
            if outcome is not None:
                raise outcome
            return None
        if isinstance(step, Lookup):
            return self.registry.pop(0)
        assert isinstance(step, Wait)
        return None


def _deposit(dmp: FakeDmp) -> Any:
    flow = deposit_recovery("1.2.3", "abc", replaces=None, policy=POLICY, rand=lambda: 0.5)
    return drive(flow, dmp)


def test_a_deposit_that_goes_through_is_one_submission() -> None:
    dmp = FakeDmp([None], [])
    result = _deposit(dmp)
    assert (result.already_deposited, result.attempts) == (False, 1)
    assert [type(s) for s in dmp.steps] == [Prepare, Submit]


def test_a_timeout_after_sending_is_looked_up_before_anything_is_sent_again() -> None:
    dmp = FakeDmp([TransportTimeout("no answer")], [ENTRY])
    result = _deposit(dmp)
    assert result.already_deposited and result.entry is ENTRY
    assert [type(s) for s in dmp.steps] == [Prepare, Submit, Lookup]


def test_a_lost_deposit_is_sent_again_after_a_wait_then_the_budget_ends() -> None:
    dmp = FakeDmp([HttpStatusError("502", status=502), None], [None])
    result = _deposit(dmp)
    assert (result.already_deposited, result.attempts) == (False, 2)
    assert [type(s) for s in dmp.steps] == [Prepare, Submit, Lookup, Wait, Prepare, Submit]
    dmp = FakeDmp([TransportTimeout("a"), TransportTimeout("b")], [None, None])
    with pytest.raises(TransportTimeout, match="b"):
        _deposit(dmp)


@pytest.mark.parametrize(
    "error", [TlsError("handshake"), HttpStatusError("refused", status=403)], ids=["tls", "403"]
)
def test_a_failure_before_sending_or_a_refusal_is_not_recovered(error: TransportError) -> None:
    dmp = FakeDmp([error], [])
    with pytest.raises(type(error)):
        _deposit(dmp)
    assert not any(isinstance(s, Lookup) for s in dmp.steps)


def test_a_taken_unique_id_with_the_same_bytes_is_a_success() -> None:
    taken = XdsError("dup", [XdsIssue("XDSDocumentUniqueIdError", "", "Error")])
    assert _deposit(FakeDmp([taken], [ENTRY])).already_deposited
    other = DocumentEntry("urn:uuid:2", "1.2.3", APPROVED, hash="another document")
    with pytest.raises(XdsError):
        _deposit(FakeDmp([taken], [other]))


# -- PSC: CIBA polling -------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_ciba_waits_the_interval_slows_down_and_returns_the_tokens() -> None:
    clock = Clock()
    request = CibaRequest("req", expires_at=clock.now + 120, interval=1)
    answers: list[Any] = [
        OidcError("pending", error="authorization_pending"),
        OidcError("slow", error="slow_down"),
        {"access_token": "t"},
    ]
    waits: list[float] = []

    def provider(step: Any) -> Any:
        if isinstance(step, CibaWait):
            waits.append(step.seconds)
            clock.now += step.seconds
            return None
        assert isinstance(step, Poll)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert drive(ciba_polling(request, maximum=30, clock=clock), provider) == {"access_token": "t"}
    assert waits == [1.0, 1.0, 6.0]


def test_ciba_stops_at_the_expiry_and_on_a_refusal() -> None:
    clock = Clock()
    request = CibaRequest("req", expires_at=clock.now + 2.5, interval=1)

    def pending(step: Any) -> Any:
        if isinstance(step, CibaWait):
            clock.now += step.seconds
            return None
        raise OidcError("pending", error="authorization_pending")

    with pytest.raises(OidcError) as info:
        drive(ciba_polling(request, maximum=30, clock=clock), pending)
    assert info.value.error == "expired_token"
    assert clock.now == pytest.approx(1002.5)  # the last wait was cut to what was left

    def denied(step: Any) -> Any:
        if isinstance(step, CibaWait):
            return None
        raise OidcError("no", error="access_denied")

    with pytest.raises(OidcError, match="no"):
        drive(ciba_polling(request, maximum=30, clock=Clock()), denied)


# -- ROR: paging and $export -------------------------------------------------------------------


def test_paging_follows_next_links_within_the_cap() -> None:
    links = {"p1": "p2", "p2": "p3", "p3": None}
    fetched: list[str] = []

    def server(step: Fetch) -> str | None:
        fetched.append(step.url)
        return links[step.url]

    assert drive(paging("p1", max_pages=None), server) is False
    assert fetched == ["p1", "p2", "p3"]
    fetched.clear()
    assert drive(paging("p1", max_pages=2), server) is True  # truncated: p3 was left
    assert fetched == ["p1", "p2"]


def test_export_polling_follows_retry_after_and_keeps_to_its_budget() -> None:
    clock = Clock()
    statuses = [
        ExportStatus(None, "10%", 3.0),
        ExportStatus(None, "50%"),
        ExportStatus({"output": []}),
    ]
    seen: list[Any] = []

    def server(step: Any) -> Any:
        seen.append(step)
        if isinstance(step, ExportPoll):
            return statuses.pop(0)
        if isinstance(step, ExportWait):
            clock.now += step.seconds
        return None

    flow = export_polling("poll", poll_interval=2.0, timeout=60, started=clock.now, clock=clock)
    assert drive(flow, server) == {"output": []}
    assert [s.seconds for s in seen if isinstance(s, ExportWait)] == [3.0, 2.0]
    assert [s.progress.percent for s in seen if isinstance(s, Report)] == [10.0, 50.0]

    late = Clock()
    flow = export_polling("poll", poll_interval=2.0, timeout=5, started=late.now, clock=late)
    with pytest.raises(TransportTimeout, match="not ready after 5 s"):
        drive(
            flow,
            lambda step: ExportStatus(None, "", 10.0) if isinstance(step, ExportPoll) else None,
        )
