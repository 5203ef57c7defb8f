"""Fault specs are parsed once into typed values; a bad spec is refused at injection."""

from __future__ import annotations

import pytest
from segurlink_mocks import (
    Chain,
    FaultSpecError,
    HtmlError,
    Latency,
    NonSoap200,
    Reset,
    ServiceFault,
    Trickle,
    Truncate,
    UnknownFault,
)
from segurlink_mocks._core.faults import HTTP_FAULTS, FaultQueue

INSI_LIKE = HTTP_FAULTS.with_service("technical", optional_seconds=("slow_commit",))


@pytest.mark.parametrize(
    ("spec", "fault"),
    [
        ("latency:2.5", Latency(2.5)),
        ("trickle:0.1", Trickle(0.1)),
        ("reset", Reset()),
        ("http500_html", HtmlError()),
        ("truncated", Truncate()),
        ("non_soap_200", NonSoap200()),
        ("technical", ServiceFault("technical")),
        ("slow_commit", ServiceFault("slow_commit")),
        ("slow_commit:3", ServiceFault("slow_commit", 3.0)),
        ("latency:1+truncated", Chain((Latency(1.0), Truncate()))),
        ("latency:0.5+technical", Chain((Latency(0.5), ServiceFault("technical")))),
    ],
)
def test_a_spec_is_parsed_into_its_typed_fault_and_back(spec: str, fault: object) -> None:
    parsed = INSI_LIKE.parse(spec)
    assert parsed == fault
    assert parsed.spec == spec
    assert INSI_LIKE.parse(parsed) is parsed  # a value is checked, not parsed again


def test_an_unknown_fault_names_the_known_ones() -> None:
    with pytest.raises(UnknownFault) as info:
        INSI_LIKE.parse("tecnical")
    message = str(info.value)
    assert "'tecnical'" in message
    for name in ("technical", "latency", "reset", "truncated", "slow_commit"):
        assert name in message
    assert isinstance(info.value, ValueError)  # what callers of inject() always caught


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("latency", "needs seconds"),
        ("latency:soon", "takes seconds"),
        ("latency:-1", "between 0 and 3600"),
        ("latency:3601", "between 0 and 3600"),
        ("reset:2", "takes no argument"),
        ("technical:1", "takes no argument"),
        ("technical+slow_commit", "one service fault at a time"),
        ("latency:1+nothing", "unknown fault 'nothing'"),
    ],
)
def test_bad_specs_are_refused_with_a_clear_message(spec: str, says: str) -> None:
    with pytest.raises(FaultSpecError, match=says):
        INSI_LIKE.parse(spec)


def test_a_value_outside_the_catalog_is_refused() -> None:
    mail_like = HTTP_FAULTS.only("latency", "reset").with_service("tempfail")
    assert mail_like.names == {"latency", "reset", "tempfail"}
    assert mail_like.parse(Latency(1.0)) == Latency(1.0)
    with pytest.raises(UnknownFault):
        mail_like.parse(HtmlError())
    with pytest.raises(UnknownFault):
        mail_like.parse(ServiceFault("technical"))


def test_the_queue_serves_oldest_first_with_counts_and_targets() -> None:
    queue = FaultQueue()
    queue.push(Reset(), count=2)
    queue.push(Latency(1.0), count=None)
    queue.push(HtmlError(503, "http503"), count=1, target="token")
    assert queue.take("token") == HtmlError(503, "http503")  # only a targeted take sees it
    assert queue.take("token") is None
    assert [queue.take(None, "userinfo") for _ in range(4)] == [
        Reset(),
        Reset(),
        Latency(1.0),
        Latency(1.0),  # until cleared
    ]
    assert [p.to_json() for p in queue.pending()] == [{"fault": "latency:1", "remaining": None}]
    queue.clear()
    assert queue.take(None) is None


@pytest.mark.parametrize("count", [0, -1, 1.5, True, "2"])
def test_a_count_must_be_a_positive_integer_or_none(count: object) -> None:
    with pytest.raises(FaultSpecError):
        FaultQueue().push(Reset(), count=count)  # type: ignore[arg-type]
