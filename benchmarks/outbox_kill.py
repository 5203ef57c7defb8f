"""The outbox kill -9 drill at full size: 1,000 deposits to the DMP mock (own process).

    python benchmarks/outbox_kill.py [--backend sqlite|postgres] [--jobs 1000]
                                     [--processes N] [--workers-per-process 1] [--kills 5]
                                     [--kill-window 10]

Worker processes (``segurlink outbox work``) are killed with SIGKILL at random moments,
``--kills`` times while draining, then restarted to drain the rest. Prints the report:
every job done, the DMP holding exactly the queued documents, none twice (exit 1 if not).
PostgreSQL runs in a throwaway cluster (Debian's PostgreSQL 15, see tests/outbox/pgcluster.py).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from segurlink_mocks.stack import mock_process

from tests.outbox.drill import run_drill
from tests.outbox.pgcluster import drop_outbox_tables, start_cluster


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--processes", type=int, help="default: 2 (sqlite), 4 (postgres)")
    parser.add_argument("--workers-per-process", type=int, default=1)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument(
        "--kill-window",
        type=float,
        default=10.0,
        help="each process is killed at a random moment within this many seconds",
    )
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args()
    processes = args.processes or (4 if args.backend == "postgres" else 2)
    cluster = None
    with tempfile.TemporaryDirectory() as tmp:
        if args.backend == "postgres":
            cluster = start_cluster()
            drop_outbox_tables(cluster.dsn)
            location = cluster.dsn
        else:
            location = str(Path(tmp) / "outbox.sqlite3")
        try:
            with mock_process(Path(tmp) / "mocks"):
                report = run_drill(
                    Path(tmp) / "mocks" / "segurlink.toml",
                    location,
                    jobs=args.jobs,
                    processes=processes,
                    workers_per_process=args.workers_per_process,
                    kills=args.kills,
                    kill_window=args.kill_window,
                    rng=random.Random(args.seed),
                    timeout=3600,
                    progress=lambda m: print(m, flush=True),
                )
        finally:
            if cluster is not None:
                cluster.stop()
    print(f"[{args.backend}] {report.summary()}")
    print("OK" if report.ok else "FAILED")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
