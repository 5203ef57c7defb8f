"""The one clock type of the clients: seconds since the epoch, and a sleep.

Every client takes ``clock`` (a :data:`Clock`, ``time.time`` by default) and, where it
waits (CIBA polling, ROR's ``Retry-After``), ``sleep``: tests inject both and run a
five-minute protocol in no time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

__all__ = ["Clock", "Sleep", "utc_datetime"]

#: Seconds since the epoch, as :func:`time.time` gives them.
Clock = Callable[[], float]
#: Waits that many seconds, as :func:`time.sleep`.
Sleep = Callable[[float], None]


def utc_datetime(clock: Clock) -> dt.datetime:
    """The time of ``clock`` as an aware UTC datetime.

    >>> utc_datetime(lambda: 0.0).isoformat()
    '1970-01-01T00:00:00+00:00'
    """
    return dt.datetime.fromtimestamp(clock(), dt.UTC)
