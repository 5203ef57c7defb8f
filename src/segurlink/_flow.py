"""Driving pure protocol flows (httpx's ``auth_flow`` model).

A flow is a generator: it yields the next step it needs (a request to send, a wait, a
lookup), receives the step's result — or, thrown into it, the step's error — and returns
its outcome. It holds the protocol's state machine and no socket, so a test walks it step
by step with made-up answers; a client only :func:`drive` s it with its transport.

>>> def countdown(n):
...     while n:
...         n = yield n
...     return "done"
>>> drive(countdown(3), lambda n: n - 1)
'done'
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TypeVar

__all__ = ["Flow", "drive"]

Step = TypeVar("Step")
Reply = TypeVar("Reply")
Result = TypeVar("Result")

#: A protocol flow: yields steps, receives their replies, returns its result.
Flow = Generator[Step, Reply, Result]


def drive(flow: Generator[Step, Reply, Result], perform: Callable[[Step], Reply]) -> Result:
    """Run ``flow`` to its end, performing each step it yields with ``perform``.

    An exception raised by ``perform`` is thrown into the flow, which may handle it (a
    recovery) or let it propagate to the caller.
    """
    try:
        step = next(flow)
        while True:
            try:
                reply = perform(step)
            except Exception as exc:  # noqa: BLE001 - the flow decides what it handles
                step = flow.throw(exc)
            else:
                step = flow.send(reply)
    except StopIteration as stop:
        result: Result = stop.value
        return result
