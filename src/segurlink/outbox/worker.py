"""Workers: claim a job under a lease, deliver it, record what happened.

A :class:`Worker` claims one job at a time. While it delivers, a lease keeper extends the
lease every third of its length, so a slow but living delivery keeps its job, and a job
whose worker died (``kill -9``, a lost machine) is claimed again by another worker once
the lease runs out. Failures are sorted by :func:`~segurlink.outbox.classify.classify`:
retried ones go back to pending at a time drawn from the :class:`~segurlink._retry.RetryPolicy`
(exponential backoff with full jitter), final ones — and those whose retry budget is
spent — go ``dead`` with the reason.

:class:`WorkerPool` runs several workers in threads of one process and stops them
gracefully: :meth:`WorkerPool.stop` (the CLI calls it on SIGTERM) lets each worker finish
the job in hand — every call has finite timeouts — and claim nothing more.

Nothing of a job's payload reaches a log line: job id, kind, outcome, error class and code.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .._retry import RetryPolicy
from ..errors import ConfigurationError, OutboxError, SegurlinkError
from .classify import classify
from .kinds import builtin_kinds
from .models import Job, JobError, JobKind

if TYPE_CHECKING:
    from ..config import Settings
    from .store import Store

__all__ = ["DEFAULT_POLICY", "Delivery", "PoolStats", "Worker", "WorkerPool"]

logger = logging.getLogger(__name__)

#: The outbox's default schedule: first retry within 2 s, doubling up to 10 min between
#: tries, for 3 days or 50 attempts — long enough for a night's maintenance window.
DEFAULT_POLICY = RetryPolicy(
    initial=2.0, maximum=600.0, multiplier=2.0, max_attempts=50, deadline=3 * 24 * 3600.0
)

Outcome = Literal["done", "retry", "dead", "lost"]


@dataclass(frozen=True, slots=True)
class Delivery:
    """What one attempt did: ``done``, ``retry`` (after ``delay`` s), ``dead``, or ``lost``
    (the lease went to another worker meanwhile: that one records the job)."""

    job_id: int
    kind: str
    outcome: Outcome
    error: JobError | None = None
    delay: float | None = None
    result: Mapping[str, Any] | None = None


class _LeaseKeeper:
    """Extends the lease of the job in hand every ``lease / 3`` seconds (one thread)."""

    def __init__(self, store: Store, owner: str, lease: float) -> None:
        self._store = store
        self._owner = owner
        self._lease = lease
        self._job: int | None = None
        self._cond = threading.Condition()
        self._stopped = False
        self._thread: threading.Thread | None = None

    @contextmanager
    def watch(self, job_id: int) -> Iterator[None]:
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"{self._owner}-lease", daemon=True
                )
                self._thread.start()
            self._job = job_id
            self._cond.notify_all()
        try:
            yield
        finally:
            with self._cond:
                self._job = None
                self._cond.notify_all()

    def _run(self) -> None:
        interval = self._lease / 3
        while True:
            with self._cond:
                while self._job is None and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return
                job = self._job
                # Wake early when the job ends (or another starts): no stale extension.
                self._cond.wait_for(lambda j=job: self._job != j or self._stopped, interval)  # type: ignore[misc]
                if job is None or self._job != job or self._stopped:
                    continue
            try:
                if not self._store.extend(job, self._owner, self._lease):
                    logger.warning("outbox job %s: lease lost to another worker", job)
            except OutboxError as exc:
                logger.warning("outbox job %s: lease not extended (%s)", job, type(exc).__name__)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(5)


class _Clients:
    """The client of each (service, structure), built once from that structure's settings."""

    def __init__(self, settings: Settings | Mapping[str, Settings]) -> None:
        from ..config import Settings

        self._default: Settings | None = None
        self._by_structure: dict[str, Settings] = {}
        if isinstance(settings, Settings):
            if settings.structure is not None:
                self._by_structure[settings.structure.finess] = settings
            else:
                self._default = settings
        else:
            self._by_structure = dict(settings)
        self._clients: dict[tuple[str, str], Any] = {}

    @property
    def structures(self) -> frozenset[str] | None:
        """The structures served (``None``: any, with the one settings)."""
        return None if self._default is not None else frozenset(self._by_structure)

    def get(self, kind: JobKind, structure: str) -> Any:
        client = self._clients.get((kind.service, structure))
        if client is None:
            settings = self._by_structure.get(structure, self._default)
            if settings is None:
                raise ConfigurationError(f"no settings for structure {structure}")
            client = kind.connect(settings)
            self._clients[(kind.service, structure)] = client
        return client

    def close(self) -> None:
        for client in self._clients.values():
            close = getattr(client, "close", None)
            if close is not None:
                close()
        self._clients.clear()


_counter = iter(range(1, 1 << 62))


def _owner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{next(_counter)}"


class Worker:
    """Delivers the jobs of ``store`` with clients built from ``settings``.

    ``settings`` is one structure's :class:`~segurlink.config.Settings` (the worker takes
    only that structure's jobs; settings without ``[structure]`` take every structure's)
    or a mapping FINESS → settings for an installation serving several structures.
    ``kinds`` defaults to :func:`~segurlink.outbox.kinds.builtin_kinds`; ``lease`` is in
    seconds; ``rand`` draws the jitter.

    >>> worker = Worker(store, Settings.from_toml("segurlink.toml"))    # doctest: +SKIP
    >>> while worker.run_once() is not None: pass                       # doctest: +SKIP
    """

    def __init__(
        self,
        store: Store,
        settings: Settings | Mapping[str, Settings],
        *,
        kinds: Mapping[str, JobKind] | None = None,
        policy: RetryPolicy = DEFAULT_POLICY,
        lease: float = 60.0,
        name: str | None = None,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if lease <= 0:
            raise ConfigurationError("the outbox lease must be positive")
        self.store = store
        self.kinds = dict(kinds if kinds is not None else builtin_kinds())
        self.policy = policy
        self.lease = lease
        self.owner = name or _owner_name()
        self._clients = _Clients(settings)
        self._clock = clock
        self._rand = rand
        self._keeper = _LeaseKeeper(store, self.owner, lease)

    def __repr__(self) -> str:
        return f"Worker({self.owner!r}, {self.store.description!r})"

    def close(self) -> None:
        self._keeper.stop()
        self._clients.close()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def claim(self) -> Job | None:
        """The next job this worker may deliver, under its lease (or None)."""
        return self.store.claim(
            self.owner, self.lease, structures=self._clients.structures, kinds=self.kinds
        )

    def run_once(self) -> Delivery | None:
        """Claim and deliver one job; None when no job is due."""
        job = self.claim()
        return None if job is None else self.deliver(job)

    def deliver(self, job: Job) -> Delivery:
        """Deliver a job this worker claimed, and record the outcome in the store."""
        kind = self.kinds[job.kind]
        if self.policy.max_attempts is not None and job.attempts > self.policy.max_attempts:
            # Claimed again after leases ran out, more often than the budget allows: a job
            # whose delivery kills its worker must not kill every worker in turn.
            error = JobError(
                "LeaseExpired",
                "",
                f"{job.attempts - 1} attempts ended without an outcome (their worker stopped)",
            )
            return self._record(job, "dead", error)
        with self._keeper.watch(job.id):
            try:
                result = kind.deliver(self._clients.get(kind, job.structure), job)
            except Exception as exc:  # noqa: BLE001 - every failure is sorted and recorded
                return self._failed(job, exc)
        return self._record(job, "done", result=result)

    def _failed(self, job: Job, exc: Exception) -> Delivery:
        verdict = classify(exc)
        if not isinstance(exc, SegurlinkError):
            # A bug: the stack (no values, no message: they may hold health data).
            logger.error(
                "outbox job %s (%s): unexpected %s\n%s",
                job.id,
                job.kind,
                type(exc).__name__,
                "".join(traceback.format_tb(exc.__traceback__)),
            )
        if not verdict.retry:
            return self._record(job, "dead", verdict.error)
        elapsed = self._clock() - job.retry_since.timestamp()
        delay = self.policy.next_delay(
            job.attempts, max(0.0, elapsed), retry_after=verdict.retry_after, rand=self._rand
        )
        if delay is None:
            spent = JobError(
                verdict.error.error_class,
                verdict.error.code,
                f"retry budget spent after {job.attempts} attempts: {verdict.error.message}",
            )
            return self._record(job, "dead", spent)
        return self._record(job, "retry", verdict.error, delay=delay)

    def _record(
        self,
        job: Job,
        outcome: Outcome,
        error: JobError | None = None,
        *,
        delay: float | None = None,
        result: Mapping[str, Any] | None = None,
    ) -> Delivery:
        if outcome == "done":
            kept = self.store.complete(job.id, self.owner, result or {})
        elif outcome == "retry":
            assert error is not None and delay is not None
            kept = self.store.reschedule(job.id, self.owner, delay, error)
        else:
            assert error is not None
            kept = self.store.bury(job.id, self.owner, error)
        if not kept:
            logger.warning("outbox job %s (%s): lease lost before recording", job.id, job.kind)
            return Delivery(job.id, job.kind, "lost", error)
        if outcome == "done":
            logger.info("outbox job %s (%s) done (attempt %s)", job.id, job.kind, job.attempts)
        else:
            assert error is not None
            logger.warning(
                "outbox job %s (%s) %s after attempt %s: %s %s%s",
                job.id,
                job.kind,
                "dead" if outcome == "dead" else "to retry",
                job.attempts,
                error.error_class,
                error.code or "-",
                f" in {delay:.1f} s" if delay is not None else "",
            )
        return Delivery(job.id, job.kind, outcome, error, delay, result)


@dataclass(slots=True)
class PoolStats:
    """What a pool's workers did since it started (this process only)."""

    done: int = 0
    retried: int = 0
    dead: int = 0
    lost: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def delivered(self) -> int:
        return self.done + self.dead

    @property
    def rate(self) -> float:
        """Jobs finished (done or dead) per second since the start."""
        elapsed = time.monotonic() - self.started
        return self.delivered / elapsed if elapsed > 0 else 0.0


class WorkerPool:
    """``workers`` :class:`Worker` threads on one store, stopped gracefully.

    ``once`` makes each worker stop when no job is due (``segurlink outbox work --once``);
    otherwise they wait for work (``poll_interval`` s at most, less when the store wakes
    them) until :meth:`stop`. Worker options (``kinds``, ``policy``, ``lease``...) pass
    through.
    """

    def __init__(
        self,
        store: Store,
        settings: Settings | Mapping[str, Settings],
        *,
        workers: int = 1,
        poll_interval: float = 1.0,
        **options: Any,
    ) -> None:
        if workers < 1:
            raise ConfigurationError("an outbox pool needs at least one worker")
        if poll_interval <= 0:
            raise ConfigurationError("the outbox poll interval must be positive")
        self.store = store
        self.poll_interval = poll_interval
        base = options.pop("name", None) or _owner_name()
        self.workers = [
            Worker(store, settings, name=f"{base}/{n}", **options) for n in range(workers)
        ]
        self.stats = PoolStats()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self, *, once: bool = False) -> WorkerPool:
        self.stats = PoolStats()
        self._threads = [
            threading.Thread(target=self._loop, args=(w, once), name=w.owner, daemon=True)
            for w in self.workers
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Claim nothing more; the job in hand of each worker is finished."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def alive(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the workers to end; True when all have."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(remaining)
        return not self.alive()

    def run(self, *, once: bool = False) -> PoolStats:
        """Start, wait for the end (``once``, or :meth:`stop` from another thread), close."""
        self.start(once=once)
        try:
            while not self.join(0.2):
                pass
        finally:
            self.stop()
            self.join()
            self.close()
        return self.stats

    def close(self) -> None:
        for worker in self.workers:
            worker.close()

    def _count(self, delivery: Delivery) -> None:
        with self._lock:
            if delivery.outcome == "done":
                self.stats.done += 1
            elif delivery.outcome == "retry":
                self.stats.retried += 1
            elif delivery.outcome == "dead":
                self.stats.dead += 1
            else:
                self.stats.lost += 1

    def _loop(self, worker: Worker, once: bool) -> None:
        while not self._stop.is_set():
            token = self.store.wake_token()
            try:
                job = worker.claim()
                if job is not None and self._stop.is_set():
                    self.store.release(job.id, worker.owner)  # stopping: give it back untried
                    return
                delivery = None if job is None else worker.deliver(job)
            except OutboxError as exc:
                # The database is unreachable or locked: keep the process, try again later.
                logger.warning("outbox worker %s: %s", worker.owner, exc.message)
                self._stop.wait(self.poll_interval)
                continue
            if delivery is not None:
                self._count(delivery)
                continue
            if once:
                return
            self.store.wait(token, self.poll_interval)
