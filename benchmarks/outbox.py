"""Outbox benchmark: jobs/s drained by 1, 2 and 4 workers, SQLite and PostgreSQL, against a
no-op sink and against the DMP mock; the outbox's overhead per deposit; what a job weighs.

    python benchmarks/outbox.py [--noop-jobs 2000] [--dmp-jobs 60] [--size-jobs 1000]
                                [--skip-postgres]

Prints:
1. jobs/s with 1, 2 and 4 worker threads, per store, with a no-op delivery (the cost of
   the outbox itself: claim, lease keeper, record), and with real DMP deposits to the mock
   running in its own process (``segurlink mock serve``);
2. per deposit, the time through the outbox (queue + claim + deliver + record, one worker)
   as a ratio of a direct ``DmpClient.deposit`` of the same kind of document on the same
   mock, measured in this run;
3. the space a job takes: pending (with its CDA) and done (blobs dropped), per store.

PostgreSQL runs in a throwaway cluster with its default durability (fsync, synchronous
commit); SQLite with ``synchronous=FULL``. The machine is shared: compare the ratios, not
the absolute figures.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from segurlink_mocks.stack import mock_process

from segurlink.config import Settings
from segurlink.dmp import DmpClient
from segurlink.outbox import JobKind, NewJob, Outbox, Worker, WorkerPool, open_store
from segurlink.outbox.store import SqlStore
from tests.dmp import factory as f
from tests.outbox.pgcluster import drop_outbox_tables, start_cluster

WORKERS = (1, 2, 4)
NOOP = JobKind("bench.noop", "bench", lambda settings: None, lambda client, job: {})


def _fresh(backend: str, tmp: Path, dsn: str | None, name: str) -> SqlStore:
    if backend == "postgres":
        assert dsn is not None
        drop_outbox_tables(dsn)
        store = open_store(dsn)
    else:
        store = open_store(str(tmp / f"{name}.sqlite3"))
    assert isinstance(store, SqlStore)
    return store


def _drain(
    store: SqlStore, settings: Settings, workers: int, kinds: Mapping[str, JobKind] | None
) -> float:
    options: dict[str, Any] = {"kinds": kinds} if kinds is not None else {}
    pool = WorkerPool(store, settings, workers=workers, poll_interval=0.05, **options)
    started = time.perf_counter()
    stats = pool.run(once=True)
    elapsed = time.perf_counter() - started
    assert stats.dead == 0, f"{stats.dead} jobs died"
    return elapsed


def noop_rates(backend: str, tmp: Path, dsn: str | None, count: int) -> dict[int, float]:
    rates = {}
    for workers in WORKERS:
        store = _fresh(backend, tmp, dsn, f"noop-{workers}")
        for n in range(count):
            store.enqueue(NewJob("bench.noop", "010000016", f"k{n}"))
        elapsed = _drain(store, Settings(), workers, {"bench.noop": NOOP})
        assert store.status().count("done") == count
        rates[workers] = count / elapsed
        store.close()
    return rates


def dmp_rates(
    backend: str, tmp: Path, dsn: str | None, settings: Settings, docs: list[list[bytes]]
) -> dict[int, float]:
    rates = {}
    for workers, batch in zip(WORKERS, docs, strict=True):
        store = _fresh(backend, tmp, dsn, f"dmp-{workers}")
        outbox = Outbox(store)
        for document in batch:
            outbox.deposit(document)
        elapsed = _drain(store, settings, workers, None)
        assert store.status().count("done") == len(batch)
        rates[workers] = len(batch) / elapsed
        store.close()
    return rates


def overhead(
    backend: str, tmp: Path, dsn: str | None, settings: Settings, docs: list[bytes], rounds: int
) -> tuple[float, float]:
    """Median seconds per deposit: direct client, and through the outbox (queue + deliver).

    One warm client each (the worker keeps its client, as a running worker does); rounds
    alternate the two, so that the load of a shared machine weighs on both alike.
    """
    import statistics

    size = (len(docs) - 2) // (2 * rounds)
    direct: list[float] = []
    through: list[float] = []
    pending = iter(docs)
    store = _fresh(backend, tmp, dsn, "overhead")
    outbox = Outbox(store)
    with DmpClient.from_settings(settings) as client, Worker(store, settings) as worker:
        client.deposit(next(pending))  # warm-up: TLS session, pools
        outbox.deposit(next(pending))
        worker.run_once()
        for _ in range(rounds):
            started = time.perf_counter()
            for _ in range(size):
                client.deposit(next(pending))
            direct.append((time.perf_counter() - started) / size)
            started = time.perf_counter()
            for _ in range(size):
                outbox.deposit(next(pending))
            while worker.run_once() is not None:
                pass
            through.append((time.perf_counter() - started) / size)
    assert store.status().count("done") == 1 + rounds * size
    store.close()
    return statistics.median(direct), statistics.median(through)


def footprint(backend: str, tmp: Path, dsn: str | None, docs: list[bytes]) -> tuple[float, float]:
    """Bytes per deposit job: pending with its CDA, then done (blobs dropped)."""
    store = _fresh(backend, tmp, dsn, "size")
    outbox = Outbox(store)
    for document in docs:
        outbox.deposit(document)

    def size() -> float:
        if backend == "postgres":
            import psycopg

            with psycopg.connect(str(dsn), autocommit=True) as conn:
                conn.execute("VACUUM FULL segurlink_outbox_job")
                conn.execute("VACUUM FULL segurlink_outbox_blob")
                row = conn.execute(
                    "SELECT pg_total_relation_size('segurlink_outbox_job') "
                    "+ pg_total_relation_size('segurlink_outbox_blob')"
                ).fetchone()
                assert row is not None
                return float(row[0])
        connection = store._connection()  # type: ignore[attr-defined]
        connection.execute("VACUUM")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file
        path = Path(str(store.description).removeprefix("sqlite:"))
        return float(path.stat().st_size)

    pending = size() / len(docs)
    # Done as a worker leaves them (result recorded, blobs dropped); no DMP needed here.
    while (job := store.claim("size", 60)) is not None:
        store.complete(job.id, "size", {"unique_id": job.key, "already_deposited": False})
    done = size() / len(docs)
    store.close()
    return pending, done


def _row(label: str, rates: dict[int, float]) -> str:
    base = rates[1]
    cells = "  ".join(
        f"{w} worker{'s' if w > 1 else ' '}: {rates[w]:7.1f}/s (x{rates[w] / base:.2f})"
        for w in WORKERS
    )
    return f"{label:<22} {cells}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--noop-jobs", type=int, default=2000)
    parser.add_argument("--dmp-jobs", type=int, default=60)
    parser.add_argument("--size-jobs", type=int, default=1000)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    backends = ["sqlite"] if args.skip_postgres else ["sqlite", "postgres"]
    # A durable cluster (fsync, synchronous commit): what a production server pays.
    cluster = None if args.skip_postgres else start_cluster(durable=True)
    dsn = cluster.dsn if cluster else None
    seed = iter(range(800_000, 900_000))

    def batch(n: int) -> list[bytes]:
        return [f.cda((f.ZOE, f.DOMINIQUE)[i % 2], seed=next(seed)) for i in range(n)]

    try:
        with (
            tempfile.TemporaryDirectory() as tmp_name,
            mock_process(Path(tmp_name) / "mocks") as settings,
        ):
            tmp = Path(tmp_name)
            with DmpClient.from_settings(settings) as client:
                client.deposit(batch(1)[0])  # warm-up of the mock
            print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
            print("1. drained jobs/s (threads of one process)")
            results: dict[str, Any] = {}
            for backend in backends:
                results[backend] = {
                    "noop": noop_rates(backend, tmp, dsn, args.noop_jobs),
                    "dmp": dmp_rates(
                        backend, tmp, dsn, settings, [batch(args.dmp_jobs) for _ in WORKERS]
                    ),
                }
                print(_row(f"{backend} no-op sink", results[backend]["noop"]))
                print(_row(f"{backend} DMP mock", results[backend]["dmp"]))
            print(
                "2. per deposit, through the outbox (queue + one worker) vs DmpClient.deposit"
                " (medians of 3 alternating rounds)"
            )
            for backend in backends:
                direct, through = overhead(
                    backend, tmp, dsn, settings, batch(2 * args.dmp_jobs + 2), rounds=3
                )
                print(
                    f"{backend:<8} direct {direct * 1000:6.1f} ms, outbox {through * 1000:6.1f} ms"
                    f" (ratio {through / direct:.2f}; overhead {(through - direct) * 1000:+.1f} ms)"
                )
            print(f"3. space per deposit job, {args.size_jobs} jobs (after VACUUM)")
            sized = batch(args.size_jobs)
            print(f"         (the CDA of each: {sum(map(len, sized)) / len(sized) / 1024:.1f} KiB)")
            for backend in backends:
                pending, done = footprint(backend, tmp, dsn, sized)
                print(
                    f"{backend:<8} pending with its CDA {pending / 1024:6.1f} KiB, "
                    f"done {done / 1024:6.2f} KiB"
                )
    finally:
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    main()
