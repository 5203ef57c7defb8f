"""``segurlink outbox status|work|retry|dead``: look at the outbox, drain it, revive a job.

The store is ``--store`` (an SQLite file or a ``postgresql://`` URL) or the ``[outbox]``
table of the settings. ``work`` needs the services' settings too (those of the settings
file, and of ``[outbox.structures]``). Exit codes: 0 ok; 1 ``work --once`` left jobs dead
(the services said no); 2 usage, configuration or input errors.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from ..cli import CommandResult, load_settings
from ._args import bounded_int, non_empty

_POSITIVE = bounded_int(1)

__all__ = ["register"]


def register(groups: Any, common: argparse.ArgumentParser) -> None:
    outbox = groups.add_parser(
        "outbox", help="durable delivery: queue status, workers, dead jobs, retry"
    )
    commands = outbox.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument(
        "--store", type=non_empty, help="SQLite file or postgresql:// URL (default: [outbox] store)"
    )

    status = commands.add_parser(
        "status", parents=[common, where], help="jobs by state and kind, oldest pending age"
    )
    status.set_defaults(handler=_status)

    work = commands.add_parser(
        "work", parents=[common, where], help="deliver the jobs (until SIGTERM, or --once)"
    )
    work.add_argument("--workers", type=_POSITIVE, help="worker threads (default: [outbox])")
    work.add_argument(
        "--once", action="store_true", help="deliver what is due now, then exit (1 if any died)"
    )
    work.set_defaults(handler=_work)

    retry = commands.add_parser(
        "retry", parents=[common, where], help="make a dead job due now, with a fresh budget"
    )
    retry.add_argument("job", type=_POSITIVE, metavar="ID", help="the job id")
    retry.set_defaults(handler=_retry)

    dead = commands.add_parser(
        "dead", parents=[common, where], help="the dead jobs and why (most recent first)"
    )
    dead.add_argument("--limit", type=_POSITIVE, default=100, help="at most this many")
    dead.set_defaults(handler=_dead)


def _open(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    """(outbox, outbox settings or None, settings or None) for the command."""
    from ..outbox import Outbox, OutboxSettings

    if args.store and args.command != "work":
        return Outbox.open(args.store), None, None
    settings = load_settings(args)
    config = OutboxSettings.from_settings(settings)
    options: dict[str, Any] = {}
    if config.password is not None:
        options["password"] = config.password
    return Outbox.open(args.store or config.store, **options), config, settings


def _age(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"


def _status(args: argparse.Namespace) -> CommandResult:
    outbox, _, _ = _open(args)
    with outbox:
        report = outbox.status()
        description = outbox.store.description
    lines = [f"outbox {description} (schema v{report.schema_version})"]
    if not report.kinds:
        lines.append("no job")
    else:
        lines.append(f"{'kind':<16}{'pending':>9}{'running':>9}{'done':>9}{'dead':>9}")
        for k in report.kinds:
            lines.append(f"{k.kind:<16}{k.pending:>9}{k.running:>9}{k.done:>9}{k.dead:>9}")
    if report.oldest_pending_age is not None:
        lines.append(
            f"oldest pending: job {report.oldest_pending_id}, "
            f"queued {_age(report.oldest_pending_age)} ago"
        )
    data = {"store": description, **report.to_json()}
    return CommandResult(data=data, text="\n".join(lines))


def _job_data(job: Any) -> dict[str, Any]:
    error = job.last_error
    return {
        "id": job.id,
        "kind": job.kind,
        "structure": job.structure,
        "key": job.key,
        "state": job.state.value,
        "attempts": job.attempts,
        "created_at": job.created_at.isoformat(),
        "updated_at": job.updated_at.isoformat(),
        "next_attempt_at": job.next_attempt_at.isoformat(),
        "error": None
        if error is None
        else {"class": error.error_class, "code": error.code, "message": error.message},
    }


def _dead(args: argparse.Namespace) -> CommandResult:
    outbox, _, _ = _open(args)
    with outbox:
        jobs = outbox.dead(limit=args.limit)
    lines = [
        f"{job.id:>6}  {job.kind:<14} {job.structure}  {job.key}  "
        f"({job.attempts} attempt{'s' if job.attempts != 1 else ''}, "
        f"{job.updated_at:%Y-%m-%d %H:%M:%S} UTC)\n        {job.last_error}"
        for job in jobs
    ]
    return CommandResult(data=[_job_data(j) for j in jobs], text="\n".join(lines) or "no dead job")


def _retry(args: argparse.Namespace) -> CommandResult:
    outbox, _, _ = _open(args)
    with outbox:
        job = outbox.retry(args.job)
    return CommandResult(
        data=_job_data(job), text=f"job {job.id} ({job.kind}) is due now (was retried)"
    )


class _Progress:
    """One status line on stderr, redrawn in place on a terminal only."""

    def __init__(self, pool: Any, store: Any) -> None:
        self.pool = pool
        self.store = store
        self.tty = sys.stderr.isatty()
        self._last = 0.0

    def line(self) -> str:
        stats = self.pool.stats
        try:
            report = self.store.status()
            queue = f" · pending {report.count('pending')} · running {report.count('running')}"
        except Exception:  # noqa: BLE001 - a progress line never stops the workers
            queue = ""
        return (
            f"outbox: {stats.done} done, {stats.retried} to retry, {stats.dead} dead "
            f"({stats.rate:.1f} jobs/s){queue}"
        )

    def tick(self) -> None:
        now = time.monotonic()
        if self.tty and now - self._last >= 0.25:
            self._last = now
            sys.stderr.write("\r\x1b[2K" + self.line())
            sys.stderr.flush()

    def close(self) -> None:
        if self.tty:
            sys.stderr.write("\r\x1b[2K")
            sys.stderr.flush()


def _work(args: argparse.Namespace) -> CommandResult:
    import signal

    from ..outbox import WorkerPool

    outbox, config, settings = _open(args)
    with outbox:
        served = config.structure_settings(settings) or settings
        pool = WorkerPool(
            outbox.store,
            served,
            workers=args.workers or config.workers,
            poll_interval=config.poll_interval,
            policy=config.policy,
            lease=config.lease,
        )
        previous: dict[int, Any] = {}

        def stop(signum: int, frame: Any) -> None:
            pool.stop()

        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, stop)
        progress = _Progress(pool, outbox.store)
        started = time.monotonic()
        try:
            pool.start(once=args.once)
            while not pool.join(0.1):
                progress.tick()
        finally:
            pool.stop()
            pool.join()
            pool.close()
            progress.close()
            for number, handler in previous.items():
                signal.signal(number, handler)
        stats = pool.stats
        report = outbox.status()
    elapsed = time.monotonic() - started
    data = {
        "done": stats.done,
        "retried": stats.retried,
        "dead": stats.dead,
        "lost": stats.lost,
        "seconds": round(elapsed, 3),
        "status": report.to_json(),
    }
    text = (
        f"outbox: {stats.done} done, {stats.retried} to retry, {stats.dead} dead in "
        f"{elapsed:.1f} s; now pending {report.count('pending')}, dead {report.count('dead')}"
    )
    return CommandResult(data=data, text=text, exit_code=1 if args.once and stats.dead else 0)
