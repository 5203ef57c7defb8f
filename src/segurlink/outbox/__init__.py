"""Durable delivery: an outbox of outbound exchanges, and the workers that deliver them.

A DUI writes a job (a DMP deposit, a ROR capacity publication...) to the outbox — in the
same transaction as its own change when the outbox lives in its database — and workers
deliver each job until the service has it, through outages and restarts, without sending
it twice as far as the service can tell.

>>> outbox = Outbox.open("outbox.sqlite3")                        # doctest: +SKIP
>>> outbox.deposit(cda_bytes)                                       # doctest: +SKIP
Enqueued(job_id=1, created=True)
>>> WorkerPool(outbox.store, settings, workers=2).run(once=True)    # doctest: +SKIP

See ``docs/outbox.md``. Heavy modules (lxml, requests, psycopg) load when a job is built
or delivered, or a PostgreSQL store is opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .api import Outbox, open_store
    from .kinds import builtin_kinds
    from .models import (
        Enqueued,
        Job,
        JobError,
        JobKind,
        JobState,
        KindCounts,
        NewJob,
        StatusReport,
    )
    from .settings import OutboxSettings
    from .store import SqlStore, Store
    from .worker import DEFAULT_POLICY, Delivery, PoolStats, Worker, WorkerPool

__all__ = [
    "DEFAULT_POLICY",
    "Delivery",
    "Enqueued",
    "Job",
    "JobError",
    "JobKind",
    "JobState",
    "KindCounts",
    "NewJob",
    "Outbox",
    "OutboxSettings",
    "PoolStats",
    "SqlStore",
    "StatusReport",
    "Store",
    "Worker",
    "WorkerPool",
    "builtin_kinds",
    "open_store",
]

_EXPORTS = {
    **dict.fromkeys(
        (
            "Outbox",
            "open_store",
        ),
        ".api",
    ),
    "builtin_kinds": ".kinds",
    **dict.fromkeys(
        (
            "Enqueued",
            "Job",
            "JobError",
            "JobKind",
            "JobState",
            "KindCounts",
            "NewJob",
            "StatusReport",
        ),
        ".models",
    ),
    "OutboxSettings": ".settings",
    **dict.fromkeys(
        (
            "SqlStore",
            "Store",
        ),
        ".store",
    ),
    **dict.fromkeys(
        (
            "DEFAULT_POLICY",
            "Delivery",
            "PoolStats",
            "Worker",
            "WorkerPool",
        ),
        ".worker",
    ),
}
__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS, __all__)
