"""The DMP deposit recovery as a pure flow (no socket: :func:`segurlink._flow.drive` runs it).

A deposit (ITI-41) whose exchange breaks after the request left — a timeout, a reset, a
cut answer, HTTP 5xx — may or may not have been registered. The flow never sends the same
document twice blindly: it looks the document's uniqueId up (ITI-18) first, and reports
``already_deposited`` when the DMP has it; otherwise it waits (the retry policy: backoff
with full jitter) and submits again, within the attempts the caller allows. A refusal
saying the uniqueId is taken is resolved the same way: the same bytes already there are a
success, another document with that uniqueId is the caller's error.

>>> from segurlink._retry import RetryPolicy
>>> flow = deposit_recovery("1.2.3", "da39a3ee", replaces=None,
...                         policy=RetryPolicy(max_attempts=2), rand=lambda: 0.5)
>>> next(flow)
Prepare(attempt=1)
>>> flow.send("1.2.3.9")                 # the submission set's uniqueId
Submit(attempt=1)
>>> from segurlink.errors import TransportTimeout
>>> flow.throw(TransportTimeout("no answer"))
Lookup(unique_id='1.2.3')
>>> flow.send(None)                      # the DMP does not have it: wait, then again
Wait(seconds=0.5)
>>> flow.send(None)
Prepare(attempt=2)
"""

from __future__ import annotations

import random
from collections.abc import Generator
from dataclasses import dataclass

from .._retry import Random, RetryPolicy
from ..errors import TlsError, TransportError, XdsError
from .models import DepositResult, DocumentEntry

__all__ = [
    "DUPLICATE_UNIQUE_ID",
    "DepositStep",
    "Lookup",
    "Prepare",
    "Submit",
    "Wait",
    "deposit_recovery",
]

#: The XDS error of a submission whose document uniqueId the registry already holds.
DUPLICATE_UNIQUE_ID = "XDSDocumentUniqueIdError"


@dataclass(frozen=True, slots=True)
class Prepare:
    """Build the submission of attempt ``attempt`` (fresh set ids); reply: its uniqueId."""

    attempt: int


@dataclass(frozen=True, slots=True)
class Submit:
    """Send the prepared submission (ITI-41); reply ``None``, or its error thrown in."""

    attempt: int


@dataclass(frozen=True, slots=True)
class Lookup:
    """Find the current entry of ``unique_id`` (ITI-18); reply the entry or ``None``."""

    unique_id: str


@dataclass(frozen=True, slots=True)
class Wait:
    """Sleep ``seconds`` before the next attempt; reply ``None``."""

    seconds: float


DepositStep = Prepare | Submit | Lookup | Wait
DepositFlow = Generator[DepositStep, object, DepositResult]


def deposit_recovery(
    unique_id: str,
    sha1: str,
    *,
    replaces: str | None,
    policy: RetryPolicy,
    rand: Random = random.random,
) -> DepositFlow:
    """The steps of one deposit of the document ``unique_id`` (SHA-1 ``sha1``)."""
    attempt = 0
    while True:
        attempt += 1
        set_id = yield Prepare(attempt)
        assert isinstance(set_id, str)
        try:
            yield Submit(attempt)
        except XdsError as exc:
            if not any(e.code == DUPLICATE_UNIQUE_ID for e in exc.errors):
                raise
            existing = yield Lookup(unique_id)
            if isinstance(existing, DocumentEntry) and existing.hash in ("", sha1):
                return DepositResult(unique_id, set_id, True, replaces, attempt, existing)
            raise
        except TransportError as exc:
            # A TLS failure happens before anything is sent; a refusal (HTTP 4xx) is final.
            if isinstance(exc, TlsError) or not exc.is_transient:
                raise
            existing = yield Lookup(unique_id)
            if isinstance(existing, DocumentEntry):
                return DepositResult(unique_id, set_id, True, replaces, attempt, existing)
            wait = policy.next_delay(attempt, 0.0, rand=rand)
            if wait is None:
                raise
            yield Wait(wait)
            continue
        return DepositResult(unique_id, set_id, False, replaces, attempt)
