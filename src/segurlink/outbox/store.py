"""The outbox store: what a store does, once, for SQLite and PostgreSQL alike.

:class:`Store` is the protocol the worker and the CLI use. :class:`SqlStore` carries the
rules in SQL common to both databases; :class:`~segurlink.outbox.sqlite.SqliteStore` and
:class:`~segurlink.outbox.postgres.PostgresStore` bring the connection handling, the claim
statement (``BEGIN IMMEDIATE`` / ``FOR UPDATE SKIP LOCKED``) and the wake-up signal.

The rules:

* queuing is idempotent: a second job with the same kind, structure and key returns the
  first one's id (``created=False``); the same key with other content is an input error;
* a job is *claimable* when it is pending and due, or running with an expired lease (its
  worker died), and no older job of its ordering chain is pending or running;
* claiming makes it running under a lease (owner + expiry) and counts one attempt; every
  later change (extend, complete, reschedule, bury, release) names the owner and does
  nothing when the lease was lost to another worker (it returns ``False``);
* blobs are deleted when a job is done (the service holds the document now); a dead job
  keeps them, so a person can retry it.

All times come from one clock (``time.time`` unless injected) so that tests can move it.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, ClassVar, Protocol, runtime_checkable

from ..errors import ConfigurationError, InputError
from ._schema import BLOB_TABLE, JOB_TABLE, SCHEMA_VERSION, Dialect
from .models import Enqueued, Job, JobError, JobState, KindCounts, NewJob, StatusReport

__all__ = ["Clock", "SqlStore", "Store", "Transaction"]

Clock = Callable[[], float]

_COLUMNS = (
    "id, kind, structure, idempotency_key, state, attempts, next_attempt_at, created_at, "
    "updated_at, retry_since, payload, ordering_key, lease_owner, lease_expires_at, "
    "last_error_class, last_error_code, last_error_message, result"
)
_MAX_MESSAGE = 1000


@runtime_checkable
class Store(Protocol):
    """What the workers, the :class:`~segurlink.outbox.Outbox` and the CLI need of a store."""

    description: str

    def enqueue(self, job: NewJob, *, connection: Any = None) -> Enqueued: ...

    def enqueue_all(self, jobs: Sequence[NewJob]) -> list[Enqueued]: ...

    def claim(
        self,
        owner: str,
        lease: float,
        *,
        structures: Collection[str] | None = None,
        kinds: Collection[str] | None = None,
    ) -> Job | None: ...

    def extend(self, job_id: int, owner: str, lease: float) -> bool: ...

    def complete(self, job_id: int, owner: str, result: Mapping[str, Any]) -> bool: ...

    def reschedule(self, job_id: int, owner: str, delay: float, error: JobError) -> bool: ...

    def bury(self, job_id: int, owner: str, error: JobError) -> bool: ...

    def release(self, job_id: int, owner: str) -> bool: ...

    def retry(self, job_id: int) -> Job: ...

    def get(self, job_id: int, *, blobs: bool = False) -> Job | None: ...

    def find(self, kind: str, structure: str, key: str) -> Job | None: ...

    def jobs(
        self, state: JobState | str | None = None, *, kind: str | None = None, limit: int = 100
    ) -> list[Job]: ...

    def status(self) -> StatusReport: ...

    def purge(self, older_than: float) -> int: ...

    def wake_token(self) -> int: ...

    def wait(self, token: int, timeout: float) -> bool: ...

    def schema_version(self) -> int: ...

    def close(self) -> None: ...


class Transaction(Protocol):
    """A DB-API connection in a transaction: ``execute`` returns a cursor."""

    def execute(self, sql: str, params: Any = (), /) -> Any: ...


class SqlStore:
    """The store rules in SQL (``?`` placeholders); subclasses bring the database.

    Subclasses implement :meth:`_transaction` (one write transaction), :meth:`_claim_row`
    and :meth:`_caller_transaction`, and convert times and JSON with :meth:`_ts`,
    :meth:`_time` and :meth:`_json`.
    """

    dialect: ClassVar[Dialect]
    description: str = ""

    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._wake = threading.Condition()
        self._generation = 0

    # -- database hooks ------------------------------------------------------------------

    def _transaction(self, *, write: bool = True) -> AbstractContextManager[Transaction]:
        """One transaction (``write=False``: it only reads)."""
        raise NotImplementedError

    def _caller_transaction(self, connection: Any) -> AbstractContextManager[Transaction]:
        raise NotImplementedError

    def _claim_row(
        self, tx: Transaction, where: str, params: tuple[Any, ...], owner: str, lease_until: Any
    ) -> Any:
        raise NotImplementedError

    def _after_enqueue(self, tx: Transaction) -> None:
        """Called inside the queuing transaction (PostgreSQL sends NOTIFY here)."""

    def _ts(self, seconds: float) -> Any:
        """A time for the database, from the clock's seconds since the epoch."""
        return seconds

    def _time(self, value: Any) -> dt.datetime:
        return dt.datetime.fromtimestamp(float(value), dt.UTC)

    def _json(self, value: Any) -> Any:
        return json.dumps(value, sort_keys=True, separators=(",", ":"))

    def _unjson(self, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str | bytes) else value

    def schema_version(self) -> int:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    # -- wake-up -------------------------------------------------------------------------

    def wake_token(self) -> int:
        """A token for :meth:`wait`, taken *before* looking for work (no lost wake-up)."""
        with self._wake:
            return self._generation

    def wait(self, token: int, timeout: float) -> bool:
        """Wait up to ``timeout`` s for a job queued after ``token``; True when woken."""
        with self._wake:
            return self._wake.wait_for(lambda: self._generation != token, timeout)

    def _notify_local(self) -> None:
        with self._wake:
            self._generation += 1
            self._wake.notify_all()

    # -- queuing -------------------------------------------------------------------------

    def enqueue(self, job: NewJob, *, connection: Any = None) -> Enqueued:
        """Queue ``job``, or return the job already queued under its key.

        With ``connection`` (the caller's own database connection, open on the same
        database), the job is written in the caller's transaction: it exists once the
        caller commits, and never if the caller rolls back. Without it, the store commits.
        """
        if connection is not None:
            with self._caller_transaction(connection) as tx:
                return self._insert(tx, job)
        with self._transaction() as tx:
            result = self._insert(tx, job)
        if result.created:
            self._notify_local()
        return result

    def enqueue_all(self, jobs: Sequence[NewJob]) -> list[Enqueued]:
        """Queue several jobs in one transaction: all of them are written, or none.

        Each is idempotent as with :meth:`enqueue`; they are inserted in order (an
        ordering chain sees them in this order).
        """
        with self._transaction() as tx:
            results = [self._insert(tx, job) for job in jobs]
        if any(r.created for r in results):
            self._notify_local()
        return results

    def _insert(self, tx: Transaction, job: NewJob) -> Enqueued:
        now = self._ts(self._clock())
        fingerprint = job.fingerprint
        row = tx.execute(
            f"INSERT INTO {JOB_TABLE} (kind, structure, idempotency_key, fingerprint, payload, "
            "ordering_key, next_attempt_at, retry_since, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (kind, structure, idempotency_key) DO NOTHING RETURNING id",
            (
                job.kind,
                job.structure,
                job.key,
                fingerprint,
                self._json(dict(job.payload)),
                job.ordering_key,
                now,
                now,
                now,
                now,
            ),
        ).fetchone()
        if row is None:
            existing = tx.execute(
                f"SELECT id, fingerprint FROM {JOB_TABLE} "
                "WHERE kind = ? AND structure = ? AND idempotency_key = ?",
                (job.kind, job.structure, job.key),
            ).fetchone()
            if existing is None:  # pragma: no cover - the conflicting row cannot vanish here
                raise InputError(f"{job.kind} job {job.key!r}: conflicting insert vanished")
            if existing[1] != fingerprint:
                raise InputError(
                    f"a {job.kind} job with key {job.key!r} is already queued for structure "
                    f"{job.structure} with other content (job {existing[0]})"
                )
            return Enqueued(int(existing[0]), False)
        job_id = int(row[0])
        for name, content in job.blobs.items():
            tx.execute(
                f"INSERT INTO {BLOB_TABLE} (job_id, name, content) VALUES (?, ?, ?)",
                (job_id, name, content),
            )
        self._after_enqueue(tx)
        return Enqueued(job_id, True)

    # -- claiming ------------------------------------------------------------------------

    def _claimable(
        self, structures: Collection[str] | None, kinds: Collection[str] | None
    ) -> tuple[str, tuple[Any, ...]]:
        now = self._ts(self._clock())
        where = (
            "((j.state = 'pending' AND j.next_attempt_at <= ?)"
            " OR (j.state = 'running' AND j.lease_expires_at <= ?))"
            " AND (j.ordering_key IS NULL OR NOT EXISTS ("
            f"SELECT 1 FROM {JOB_TABLE} AS p WHERE p.ordering_key = j.ordering_key"
            " AND p.id < j.id AND p.state IN ('pending', 'running')))"
        )
        params: list[Any] = [now, now]
        for column, values in (("structure", structures), ("kind", kinds)):
            if values is not None:
                values = sorted(set(values))
                if not values:
                    return "1 = 0", ()
                where += f" AND j.{column} IN ({', '.join('?' * len(values))})"
                params.extend(values)
        return where, tuple(params)

    def claim(
        self,
        owner: str,
        lease: float,
        *,
        structures: Collection[str] | None = None,
        kinds: Collection[str] | None = None,
    ) -> Job | None:
        """Take the next claimable job (oldest due first) under a lease of ``lease`` s.

        Only jobs of ``structures`` (FINESS) and ``kinds`` when given. Counts an attempt.
        """
        if lease <= 0:
            raise InputError("the lease must be positive")
        where, params = self._claimable(structures, kinds)
        with self._transaction() as tx:
            row = self._claim_row(tx, where, params, owner, self._ts(self._clock() + lease))
            if row is None:
                return None
            blobs = tx.execute(
                f"SELECT name, content FROM {BLOB_TABLE} WHERE job_id = ?", (row[0],)
            ).fetchall()
        return self._job(row, {name: bytes(content) for name, content in blobs})

    def _owned(
        self, sets: str, params: tuple[Any, ...], job_id: int, owner: str, *, then: str = ""
    ) -> bool:
        with self._transaction() as tx:
            changed = tx.execute(
                f"UPDATE {JOB_TABLE} SET {sets}, updated_at = ? "
                "WHERE id = ? AND state = 'running' AND lease_owner = ?",
                (*params, self._ts(self._clock()), job_id, owner),
            ).rowcount
            if changed and then:
                tx.execute(then, (job_id,))
        return bool(changed == 1)

    def extend(self, job_id: int, owner: str, lease: float) -> bool:
        """Push the lease of a running job ``lease`` s from now; False if it was lost."""
        return self._owned(
            "lease_expires_at = ?", (self._ts(self._clock() + lease),), job_id, owner
        )

    def complete(self, job_id: int, owner: str, result: Mapping[str, Any]) -> bool:
        """Mark the job done with its ``result`` (JSON, no health data); drop its blobs."""
        return self._owned(
            "state = 'done', result = ?, lease_owner = NULL, lease_expires_at = NULL",
            (self._json(dict(result)),),
            job_id,
            owner,
            then=f"DELETE FROM {BLOB_TABLE} WHERE job_id = ?",
        )

    def reschedule(self, job_id: int, owner: str, delay: float, error: JobError) -> bool:
        """Back to pending, due in ``delay`` s, with the error of this attempt."""
        if delay < 0:
            raise InputError("a retry delay cannot be negative")
        return self._owned(
            "state = 'pending', next_attempt_at = ?, lease_owner = NULL, "
            "lease_expires_at = NULL, last_error_class = ?, last_error_code = ?, "
            "last_error_message = ?",
            (self._ts(self._clock() + delay), *_error_params(error)),
            job_id,
            owner,
        )

    def bury(self, job_id: int, owner: str, error: JobError) -> bool:
        """Dead: the service refused the job, or its retry budget is spent."""
        return self._owned(
            "state = 'dead', lease_owner = NULL, lease_expires_at = NULL, "
            "last_error_class = ?, last_error_code = ?, last_error_message = ?",
            _error_params(error),
            job_id,
            owner,
        )

    def release(self, job_id: int, owner: str) -> bool:
        """Give a claimed job back untried (the attempt is not counted)."""
        return self._owned(
            "state = 'pending', attempts = attempts - 1, lease_owner = NULL, "
            "lease_expires_at = NULL",
            (),
            job_id,
            owner,
        )

    # -- a person's actions --------------------------------------------------------------

    def retry(self, job_id: int) -> Job:
        """Make a dead (or waiting) job due now with a fresh retry budget.

        Raises :class:`InputError` for an unknown job, or one running or done.
        """
        now = self._ts(self._clock())
        with self._transaction() as tx:
            row = tx.execute(f"SELECT state FROM {JOB_TABLE} WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise InputError(f"no outbox job {job_id}")
            if row[0] not in (JobState.DEAD.value, JobState.PENDING.value):
                raise InputError(f"job {job_id} is {row[0]}: only a dead or pending job is retried")
            tx.execute(
                f"UPDATE {JOB_TABLE} SET state = 'pending', attempts = 0, next_attempt_at = ?, "
                "retry_since = ?, updated_at = ? WHERE id = ?",
                (now, now, now, job_id),
            )
        self._notify_local()
        job = self.get(job_id)
        assert job is not None
        return job

    def purge(self, older_than: float) -> int:
        """Delete the done jobs last changed more than ``older_than`` s ago; their count."""
        with self._transaction() as tx:
            return int(
                tx.execute(
                    f"DELETE FROM {JOB_TABLE} WHERE state = 'done' AND updated_at < ?",
                    (self._ts(self._clock() - older_than),),
                ).rowcount
            )

    # -- reading -------------------------------------------------------------------------

    def get(self, job_id: int, *, blobs: bool = False) -> Job | None:
        """One job (with its blobs when asked), or None."""
        with self._transaction(write=False) as tx:
            row = tx.execute(
                f"SELECT {_COLUMNS} FROM {JOB_TABLE} WHERE id = ?", (job_id,)
            ).fetchone()
            content = (
                tx.execute(
                    f"SELECT name, content FROM {BLOB_TABLE} WHERE job_id = ?", (job_id,)
                ).fetchall()
                if row is not None and blobs
                else []
            )
        if row is None:
            return None
        return self._job(row, {name: bytes(data) for name, data in content})

    def find(self, kind: str, structure: str, key: str) -> Job | None:
        """The job queued under ``key`` for this kind and structure (without blobs)."""
        with self._transaction(write=False) as tx:
            row = tx.execute(
                f"SELECT {_COLUMNS} FROM {JOB_TABLE} "
                "WHERE kind = ? AND structure = ? AND idempotency_key = ?",
                (kind, structure, key),
            ).fetchone()
        return None if row is None else self._job(row, {})

    def jobs(
        self, state: JobState | str | None = None, *, kind: str | None = None, limit: int = 100
    ) -> list[Job]:
        """Jobs (without blobs), most recently changed first."""
        clauses: list[str] = []
        params: list[Any] = []
        if state is not None:
            clauses.append("state = ?")
            params.append(JobState(state).value)
        if kind is not None:
            clauses.append("kind = ?")
            params.append(kind)
        where = f"WHERE {' AND '.join(clauses)} " if clauses else ""
        with self._transaction(write=False) as tx:
            rows = tx.execute(
                f"SELECT {_COLUMNS} FROM {JOB_TABLE} {where}ORDER BY updated_at DESC, id DESC "
                "LIMIT ?",
                (*params, max(1, limit)),
            ).fetchall()
        return [self._job(row, {}) for row in rows]

    def status(self) -> StatusReport:
        """Counts by kind and state, and the age of the oldest pending job."""
        with self._transaction(write=False) as tx:
            rows = tx.execute(
                f"SELECT kind, state, count(*) FROM {JOB_TABLE} GROUP BY kind, state"
            ).fetchall()
            oldest = tx.execute(
                f"SELECT id, created_at FROM {JOB_TABLE} WHERE state = 'pending' "
                "ORDER BY id LIMIT 1"
            ).fetchone()
        counts: dict[str, dict[str, int]] = {}
        for kind, state, count in rows:
            counts.setdefault(kind, {})[state] = int(count)
        kinds = tuple(KindCounts(kind, **counts[kind]) for kind in sorted(counts))
        if oldest is None:
            return StatusReport(kinds, schema_version=self.schema_version())
        age = self._clock() - self._time(oldest[1]).timestamp()
        return StatusReport(kinds, int(oldest[0]), max(0.0, age), self.schema_version())

    def _job(self, row: Any, blobs: Mapping[str, bytes]) -> Job:
        (
            job_id,
            kind,
            structure,
            key,
            state,
            attempts,
            next_attempt_at,
            created_at,
            updated_at,
            retry_since,
            payload,
            ordering_key,
            lease_owner,
            lease_expires_at,
            error_class,
            error_code,
            error_message,
            result,
        ) = row
        return Job(
            id=int(job_id),
            kind=kind,
            structure=structure,
            key=key,
            state=JobState(state),
            attempts=int(attempts),
            next_attempt_at=self._time(next_attempt_at),
            created_at=self._time(created_at),
            updated_at=self._time(updated_at),
            retry_since=self._time(retry_since if retry_since is not None else created_at),
            payload=self._unjson(payload),
            blobs=dict(blobs),
            ordering_key=ordering_key,
            lease_owner=lease_owner,
            lease_expires_at=None if lease_expires_at is None else self._time(lease_expires_at),
            last_error=None
            if error_class is None
            else JobError(error_class, error_code or "", error_message or ""),
            result=None if result is None else self._unjson(result),
        )

    def _check_version(self, found: int) -> None:
        if found > SCHEMA_VERSION:
            raise ConfigurationError(
                f"the outbox schema of {self.description} is v{found}, newer than this "
                f"segurlink's v{SCHEMA_VERSION}: upgrade segurlink"
            )


def _error_params(error: JobError) -> tuple[str, str, str]:
    return (error.error_class, error.code, error.message[:_MAX_MESSAGE])
