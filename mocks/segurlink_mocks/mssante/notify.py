"""Delivery status notifications on request (RFC 3461): the ``DSN`` extension of the mock.

A client that sees ``DSN`` in the EHLO answer may ask, per recipient, ``NOTIFY=SUCCESS``
(a DSN with ``Action: delivered`` once the message is in the mailbox), ``FAILURE`` (the
default: a DSN only when delivery fails), ``DELAY`` or ``NEVER`` (no DSN at all). Postfix
behaves this way; the reports have the shape of :func:`.checks.dsn`.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["DEFAULT_NOTIFY", "advertise", "notify_conditions", "split_dsn_parameters", "wants"]

#: What a recipient gets without ``NOTIFY=``: failures only (RFC 3461 §4.1).
DEFAULT_NOTIFY = frozenset({"FAILURE"})
_CONDITIONS = frozenset({"SUCCESS", "FAILURE", "DELAY", "NEVER"})


def advertise(responses: list[str]) -> list[str]:
    """The EHLO lines with ``250-DSN`` before the final ``250 ...`` line."""
    return [*responses[:-1], "250-DSN", *responses[-1:]]


def split_dsn_parameters(argument: str) -> tuple[str, list[str]]:
    """RCPT's argument without its RFC 3461 parameters (``NOTIFY=``, ``ORCPT=``), and
    those parameters: aiosmtpd refuses any parameter it does not implement itself."""
    kept: list[str] = []
    dsn: list[str] = []
    for index, word in enumerate(argument.split(" ")):
        name = word.partition("=")[0].upper()
        if index > 0 and name in ("NOTIFY", "ORCPT"):
            dsn.append(word)
        else:
            kept.append(word)
    return " ".join(kept), dsn


def notify_conditions(options: Iterable[str]) -> frozenset[str] | None:
    """The ``NOTIFY=`` conditions of RCPT's ESMTP options; None when absent or malformed
    (the caller answers ``501``)."""
    for option in options:
        name, _, value = option.partition("=")
        if name.upper() != "NOTIFY":
            continue
        conditions = frozenset(v.strip().upper() for v in value.split(",") if v.strip())
        if not conditions or not conditions <= _CONDITIONS:
            return None
        if "NEVER" in conditions and len(conditions) > 1:
            return None
        return conditions
    return DEFAULT_NOTIFY


def wants(conditions: frozenset[str] | None, outcome: str) -> bool:
    """Whether a recipient asked for a DSN on ``outcome`` (``SUCCESS`` or ``FAILURE``)."""
    return outcome in (conditions if conditions is not None else DEFAULT_NOTIFY)
