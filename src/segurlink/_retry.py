"""Retry schedules: exponential backoff with full jitter, ``Retry-After``, attempts, deadline.

One policy object answers one question — *after the n-th failed attempt, how long to wait
before the next one, or give up?* — without sleeping, so the same schedule serves a loop
that sleeps in-process (:func:`retry_call`: ROR 429/503, CIBA polling, the DMP deposit
recovery) and a durable queue that stores the next attempt time in a database
(:mod:`segurlink.outbox`).

Full jitter (the wait is drawn uniformly between 0 and the exponential ceiling) spreads the
retries of many clients that failed together, e.g. after an outage of the service, instead
of sending them back in synchronised waves. A server's ``Retry-After`` is a floor: never
retry sooner than it asked.

Why not stamina: stamina (on tenacity) drives retries around an in-process call and sleeps
itself; the outbox must persist the schedule between processes and machines. The rules are
small, so they are written here once, pure and typed, with the clock, the sleep and the
random source injected.

>>> policy = RetryPolicy(initial=1.0, maximum=30.0, max_attempts=5)
>>> policy.ceiling(1), policy.ceiling(3), policy.ceiling(10)
(1.0, 4.0, 30.0)
>>> policy.next_delay(2, elapsed=3.0, rand=lambda: 0.5)
1.0
>>> policy.next_delay(5, elapsed=3.0) is None     # five attempts made: give up
True
"""

from __future__ import annotations

import datetime as dt
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TypeVar

from ._ascii import is_ascii_digits
from .errors import InputError

__all__ = ["RetryPolicy", "parse_retry_after", "retry_call"]

T = TypeVar("T")

#: A source of uniform floats in [0, 1) (``random.random``; a constant in tests).
Random = Callable[[], float]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When to retry: exponential ceiling, full jitter, attempt and time budgets.

    ``initial`` is the ceiling of the first wait (seconds), multiplied by ``multiplier``
    after each failure up to ``maximum``. With ``jitter`` (the default) the wait is drawn
    uniformly in ``[0, ceiling]``; without it, it is the ceiling itself (a fixed polling
    interval is ``multiplier=1, jitter=False``). ``max_attempts`` counts every attempt,
    the first included (``None``: no limit); ``deadline`` is the time budget in seconds
    from the first attempt (``None``: no limit): no attempt is scheduled after it.
    ``max_retry_after`` caps a server's ``Retry-After``: a longer demand gives up instead
    of waiting (``None``: any demand is honoured).
    """

    initial: float = 1.0
    maximum: float = 60.0
    multiplier: float = 2.0
    max_attempts: int | None = 5
    deadline: float | None = None
    jitter: bool = True
    max_retry_after: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.initial) and self.initial > 0):
            raise InputError(f"initial must be a positive number of seconds, not {self.initial}")
        if not (math.isfinite(self.maximum) and self.maximum >= self.initial):
            raise InputError(f"maximum ({self.maximum}) must be >= initial ({self.initial})")
        if not (math.isfinite(self.multiplier) and self.multiplier >= 1):
            raise InputError(f"multiplier must be >= 1, not {self.multiplier}")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise InputError(f"max_attempts must be >= 1 or None, not {self.max_attempts}")
        if self.deadline is not None and not self.deadline > 0:
            raise InputError(f"deadline must be > 0 seconds or None, not {self.deadline}")
        if self.max_retry_after is not None and self.max_retry_after < 0:
            raise InputError("max_retry_after must be >= 0 or None")

    def ceiling(self, attempt: int) -> float:
        """The longest wait after the ``attempt``-th failure (1 for the first).

        ``initial * multiplier ** (attempt - 1)``, capped at ``maximum``.
        """
        if attempt < 1:
            raise InputError(f"attempt counts from 1, not {attempt}")
        # Compare exponents first: multiplier ** 2000 would overflow a float.
        if self.multiplier > 1 and attempt - 1 >= math.log(
            self.maximum / self.initial, self.multiplier
        ):
            return self.maximum
        return min(self.maximum, self.initial * self.multiplier ** (attempt - 1))

    def delay(
        self, attempt: int, *, retry_after: float | None = None, rand: Random = random.random
    ) -> float:
        """The wait after the ``attempt``-th failure, ignoring the budgets.

        Uniform in ``[0, ceiling(attempt)]`` with jitter; at least ``retry_after``.
        """
        ceiling = self.ceiling(attempt)
        wait = ceiling * rand() if self.jitter else ceiling
        if retry_after is not None:
            wait = max(wait, retry_after)
        return wait

    def next_delay(
        self,
        attempt: int,
        elapsed: float,
        *,
        retry_after: float | None = None,
        rand: Random = random.random,
    ) -> float | None:
        """The wait before attempt ``attempt + 1``, or ``None`` to give up.

        ``attempt`` attempts have been made (and failed), the first one ``elapsed``
        seconds ago. Gives up when ``max_attempts`` are spent, when the server's
        ``retry_after`` exceeds ``max_retry_after``, or when the next attempt would start
        after the ``deadline``.
        """
        if self.max_attempts is not None and attempt >= self.max_attempts:
            return None
        if (
            retry_after is not None
            and self.max_retry_after is not None
            and retry_after > self.max_retry_after
        ):
            return None
        wait = self.delay(attempt, retry_after=retry_after, rand=rand)
        if self.deadline is not None and elapsed + wait > self.deadline:
            return None
        return wait


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds asked by an HTTP ``Retry-After`` header (delay-seconds or HTTP-date).

    ``None`` when absent or unreadable; a date in the past is ``0.0``.

    >>> parse_retry_after("120")
    120.0
    >>> parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT",
    ...                   now=dt.datetime(2015, 10, 21, 7, 28, tzinfo=dt.UTC))
    30.0
    >>> parse_retry_after("soon") is None
    True
    """
    if value is None:
        return None
    value = value.strip()
    if is_ascii_digits(value):  # str.isdigit() would take "٤٢" or "²" for seconds
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP-date is always GMT
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - now).total_seconds())


def retry_call(
    operation: Callable[[], T],
    policy: RetryPolicy,
    *,
    retry_if: Callable[[Exception], bool],
    retry_after: Callable[[Exception], float | None] = lambda exc: None,
    on_retry: Callable[[int, Exception, float], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    rand: Random = random.random,
) -> T:
    """Call ``operation`` until it succeeds, retrying failures ``retry_if`` accepts.

    Between attempts, sleeps :meth:`RetryPolicy.next_delay` (``retry_after(exc)`` gives a
    server's demand). Re-raises the last exception when ``retry_if`` refuses it or the
    policy gives up. ``on_retry(attempt, exc, wait)`` is called before each sleep (for a
    log line: log the exception's type, not its text, which may hold health data).

    >>> calls = []
    >>> def flaky():
    ...     calls.append(1)
    ...     if len(calls) < 3:
    ...         raise ConnectionError("down")
    ...     return "ok"
    >>> retry_call(flaky, RetryPolicy(), retry_if=lambda e: isinstance(e, ConnectionError),
    ...            sleep=lambda s: None)
    'ok'
    >>> len(calls)
    3
    """
    started = clock()
    attempt = 0
    while True:
        attempt += 1
        try:
            return operation()
        except Exception as exc:
            if not retry_if(exc):
                raise
            wait = policy.next_delay(
                attempt, clock() - started, retry_after=retry_after(exc), rand=rand
            )
            if wait is None:
                raise
            if on_retry is not None:
                on_retry(attempt, exc, wait)
            sleep(wait)
