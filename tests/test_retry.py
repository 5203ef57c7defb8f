"""segurlink._retry: the backoff schedule, its budgets, Retry-After, and the retry loop."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from segurlink._retry import RetryPolicy, parse_retry_after, retry_call


def test_ceiling_grows_exponentially_from_initial_up_to_maximum() -> None:
    policy = RetryPolicy(initial=0.5, maximum=10.0, multiplier=3.0)
    assert [policy.ceiling(n) for n in range(1, 6)] == [0.5, 1.5, 4.5, 10.0, 10.0]
    assert policy.ceiling(10_000) == 10.0  # no overflow on huge attempt numbers


def test_ceiling_with_multiplier_one_is_constant() -> None:
    policy = RetryPolicy(initial=2.0, maximum=5.0, multiplier=1.0)
    assert [policy.ceiling(n) for n in (1, 2, 50)] == [2.0, 2.0, 2.0]


def test_ceiling_counts_attempts_from_one() -> None:
    with pytest.raises(ValueError, match="from 1"):
        RetryPolicy().ceiling(0)


def test_full_jitter_spans_zero_to_the_ceiling() -> None:
    policy = RetryPolicy(initial=1.0, maximum=100.0)
    assert policy.delay(4, rand=lambda: 0.0) == 0.0
    assert policy.delay(4, rand=lambda: 0.25) == 2.0
    assert policy.delay(4, rand=lambda: 0.999) == pytest.approx(7.992)


def test_without_jitter_the_wait_is_the_ceiling() -> None:
    policy = RetryPolicy(initial=1.0, maximum=100.0, jitter=False)
    assert policy.delay(3, rand=lambda: 0.0) == 4.0


def test_retry_after_is_a_floor_not_a_ceiling() -> None:
    policy = RetryPolicy(initial=1.0, maximum=8.0)
    assert policy.delay(1, retry_after=5.0, rand=lambda: 0.5) == 5.0
    assert policy.delay(4, retry_after=1.0, rand=lambda: 0.5) == 4.0


def test_max_attempts_counts_the_first_attempt() -> None:
    policy = RetryPolicy(max_attempts=3, initial=1.0, maximum=1.0, jitter=False)
    assert policy.next_delay(1, 0.0) == 1.0
    assert policy.next_delay(2, 0.0) == 1.0
    assert policy.next_delay(3, 0.0) is None
    assert RetryPolicy(max_attempts=None).next_delay(10_000, 0.0, rand=lambda: 0.0) == 0.0


def test_deadline_refuses_an_attempt_that_would_start_after_it() -> None:
    policy = RetryPolicy(initial=4.0, maximum=4.0, jitter=False, max_attempts=None, deadline=10.0)
    assert policy.next_delay(1, elapsed=6.0) == 4.0  # starts at exactly 10 s: allowed
    assert policy.next_delay(1, elapsed=6.5) is None


def test_retry_after_beyond_the_cap_gives_up() -> None:
    policy = RetryPolicy(max_retry_after=30.0)
    assert policy.next_delay(1, 0.0, retry_after=30.0, rand=lambda: 0.0) == 30.0
    assert policy.next_delay(1, 0.0, retry_after=31.0, rand=lambda: 0.0) is None
    assert RetryPolicy().next_delay(1, 0.0, retry_after=3600.0, rand=lambda: 0.0) == 3600.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial": 0.0},
        {"initial": float("inf")},
        {"initial": 2.0, "maximum": 1.0},
        {"multiplier": 0.5},
        {"max_attempts": 0},
        {"deadline": 0.0},
        {"max_retry_after": -1.0},
    ],
)
def test_nonsense_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"initial": -2.0}, "initial must be a positive number of seconds, not -2.0"),
        ({"initial": 2.0, "maximum": 1.0}, "maximum (1.0) must be >= initial (2.0)"),
        ({"multiplier": 0.5}, "multiplier must be >= 1, not 0.5"),
        ({"max_attempts": 0}, "max_attempts must be >= 1 or None, not 0"),
        ({"deadline": -1.0}, "deadline must be > 0 seconds or None, not -1.0"),
        ({"max_retry_after": -1.0}, "max_retry_after must be >= 0 or None"),
    ],
)
def test_a_refused_policy_says_which_setting_and_why(
    kwargs: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError) as info:
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
    assert str(info.value) == message


def test_the_boundaries_of_valid_policies_are_accepted() -> None:
    RetryPolicy(initial=1.0, maximum=1.0, multiplier=1.0, max_attempts=1, max_retry_after=0.0)
    RetryPolicy(deadline=0.5)  # any positive budget, under a second too


def test_ceiling_below_e_grows_by_its_own_multiplier() -> None:
    # The overflow guard compares exponents in base `multiplier`, not e: with 1.5 the
    # ceiling is still growing at attempt 6 (1.5 ** 5 = 7.59), far below the maximum.
    policy = RetryPolicy(initial=1.0, maximum=100.0, multiplier=1.5)
    assert [policy.ceiling(n) for n in (6, 8)] == [pytest.approx(7.59375), pytest.approx(17.0859375)]
    assert policy.ceiling(13) == 100.0


@given(
    attempt=st.integers(min_value=1, max_value=500),
    draw=st.floats(min_value=0.0, max_value=0.999999),
    initial=st.floats(min_value=0.01, max_value=10.0),
    factor=st.floats(min_value=1.0, max_value=100.0),
)
def test_delay_always_within_zero_and_maximum(
    attempt: int, draw: float, initial: float, factor: float
) -> None:
    policy = RetryPolicy(initial=initial, maximum=initial * factor)
    wait = policy.delay(attempt, rand=lambda: draw)
    assert 0.0 <= wait <= policy.maximum


def test_parse_retry_after_seconds_and_dates() -> None:
    now = dt.datetime(2024, 3, 1, 12, 0, 0, tzinfo=dt.UTC)
    assert parse_retry_after("7", now=now) == 7.0
    assert parse_retry_after(" 0 ", now=now) == 0.0
    assert parse_retry_after("Fri, 01 Mar 2024 12:01:30 GMT", now=now) == 90.0
    assert parse_retry_after("Fri, 01 Mar 2024 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after(None, now=now) is None
    assert parse_retry_after("", now=now) is None
    assert parse_retry_after("-5", now=now) is None
    assert parse_retry_after("tomorrow", now=now) is None


def test_parse_retry_after_reads_the_date_in_its_own_zone() -> None:
    now = dt.datetime(2024, 3, 1, 12, 0, 0, tzinfo=dt.UTC)
    # An offset is honoured; "-0000" (no zone information) is read as GMT.
    assert parse_retry_after("Fri, 01 Mar 2024 13:01:30 +0100", now=now) == 90.0
    assert parse_retry_after("Fri, 01 Mar 2024 12:01:30 -0000", now=now) == 90.0
    # Without `now`, the date is compared with the current UTC time.
    assert parse_retry_after("Fri, 01 Mar 2024 12:01:30 GMT") == 0.0
    later = parse_retry_after("Thu, 01 Mar 2125 12:00:00 GMT")
    assert later is not None and later > 86400.0


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_retry_call_sleeps_the_schedule_then_succeeds() -> None:
    clock = Clock()
    failures = [ConnectionError("a"), ConnectionError("b")]
    seen: list[tuple[int, str, float]] = []

    def operation() -> str:
        if failures:
            raise failures.pop(0)
        return "done"

    result = retry_call(
        operation,
        RetryPolicy(initial=1.0, maximum=60.0),
        retry_if=lambda e: isinstance(e, ConnectionError),
        on_retry=lambda n, e, w: seen.append((n, str(e), w)),
        clock=clock,
        sleep=clock.sleep,
        rand=lambda: 0.5,
    )
    assert result == "done"
    assert clock.sleeps == [0.5, 1.0]
    assert seen == [(1, "a", 0.5), (2, "b", 1.0)]


def test_retry_call_reraises_what_it_must_not_retry() -> None:
    clock = Clock()

    def operation() -> None:
        raise KeyError("no")

    with pytest.raises(KeyError):
        retry_call(operation, RetryPolicy(), retry_if=lambda e: False, sleep=clock.sleep)
    assert clock.sleeps == []


def test_retry_call_gives_up_after_the_budget_with_the_last_error() -> None:
    clock = Clock()
    attempts: list[int] = []

    def operation() -> None:
        attempts.append(1)
        raise TimeoutError(f"attempt {len(attempts)}")

    with pytest.raises(TimeoutError, match="attempt 3"):
        retry_call(
            operation,
            RetryPolicy(max_attempts=3),
            retry_if=lambda e: True,
            clock=clock,
            sleep=clock.sleep,
            rand=lambda: 0.0,
        )
    assert len(attempts) == 3 and len(clock.sleeps) == 2


def test_retry_call_honours_retry_after_and_the_deadline() -> None:
    clock = Clock()
    attempts: list[int] = []

    def operation() -> None:
        attempts.append(1)
        raise ConnectionError("busy")

    with pytest.raises(ConnectionError):
        retry_call(
            operation,
            RetryPolicy(max_attempts=None, deadline=25.0),
            retry_if=lambda e: True,
            retry_after=lambda e: 10.0,
            clock=clock,
            sleep=clock.sleep,
            rand=lambda: 0.0,
        )
    # Waits of 10 s at 0 and 10 s; a third would start at 30 s > 25 s.
    assert clock.sleeps == [10.0, 10.0] and len(attempts) == 3


class Busy(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__("busy")
        self.retry_after = retry_after


def test_retry_call_asks_each_failure_for_its_own_retry_after() -> None:
    clock = Clock()
    failures = [Busy(3.0), Busy(7.0)]

    def operation() -> str:
        if failures:
            raise failures.pop(0)
        return "done"

    result = retry_call(
        operation,
        RetryPolicy(initial=1.0, maximum=1.0),
        retry_if=lambda e: isinstance(e, Busy),
        retry_after=lambda e: e.retry_after if isinstance(e, Busy) else None,
        clock=clock,
        sleep=clock.sleep,
        rand=lambda: 0.0,
    )
    assert result == "done" and clock.sleeps == [3.0, 7.0]


def test_module_examples() -> None:
    import doctest

    import segurlink._retry

    result = doctest.testmod(segurlink._retry)
    assert result.attempted >= 8 and result.failed == 0
