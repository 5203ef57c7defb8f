"""CIBA polling as a pure flow (no socket: :func:`segurlink._flow.drive` runs it).

After a backchannel authentication request, the relying party polls the token endpoint
until the professional decides (OpenID CIBA §7.3): at the announced ``interval`` (at
least :data:`~segurlink.psc.settings.MIN_CIBA_INTERVAL`, at most ``maximum``), five
seconds more after each ``slow_down``, never past the request's expiry. The waits come
from a :class:`~segurlink._retry.RetryPolicy` (fixed interval: no jitter, multiplier 1).

>>> from segurlink.psc.models import CibaRequest
>>> request = CibaRequest("req-1", expires_at=100.0, interval=2.0)
>>> flow = ciba_polling(request, maximum=30.0, clock=lambda: 0.0)
>>> next(flow), flow.send(None)
(Wait(seconds=2.0), Poll())
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, replace

from .._clock import Clock
from .._retry import RetryPolicy
from ..errors import OidcError
from . import messages
from .models import CibaRequest, Rejection
from .settings import MIN_CIBA_INTERVAL

__all__ = ["CibaStep", "Poll", "Wait", "ciba_polling"]

#: Provider errors that mean "not decided yet": poll again.
PENDING = frozenset({"authorization_pending", "slow_down"})


@dataclass(frozen=True, slots=True)
class Wait:
    """Sleep ``seconds`` before the next poll; reply ``None``."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Poll:
    """Ask the token endpoint; reply its JSON answer, or its :class:`OidcError` thrown in."""


CibaStep = Wait | Poll


def ciba_polling(
    request: CibaRequest, *, maximum: float, clock: Clock
) -> Generator[CibaStep, object, object]:
    """The waits and polls of one CIBA request; returns the token endpoint's answer.

    Raises :class:`OidcError` ``expired_token`` once the request expires, or the
    provider's refusal (``access_denied``...).
    """
    # A provider announcing interval 0 (or none) must not make us hammer its token
    # endpoint until the request expires: poll at most once a second.
    interval = min(max(request.interval, MIN_CIBA_INTERVAL), maximum)
    policy = RetryPolicy(
        initial=interval, maximum=maximum, multiplier=1, jitter=False, max_attempts=None
    )
    attempt = 0
    while True:
        remaining = request.expires_at - clock()
        if remaining <= 0:
            raise OidcError(
                "the CIBA request expired before the professional approved it",
                error=Rejection.CIBA_EXPIRED,
            )
        attempt += 1
        yield Wait(min(policy.delay(attempt), remaining))
        try:
            answer = yield Poll()
        except OidcError as exc:
            if exc.error not in PENDING:
                raise
            interval = max(
                messages.next_poll_interval(policy.initial, exc.error, maximum=maximum),
                MIN_CIBA_INTERVAL,
            )
            policy = replace(policy, initial=interval, maximum=max(maximum, interval))
            continue
        return answer
