"""The kill -9 drill: deposits queued, worker processes killed at random moments, restarted.

The DMP mock runs in its own process (``segurlink mock serve``), the workers in theirs
(``segurlink outbox work``). The drill queues ``jobs`` deposits, then ``kills`` times:
starts ``processes`` worker processes, waits until they deliver, and ``SIGKILL``s each one
at its own random moment within ``kill_window`` seconds (all of them sooner if the round
has delivered its share of the jobs left, so that every kill falls while draining). Then it starts them once more and lets them drain (the jobs the
killed workers held come back when their lease runs out), stops them with SIGTERM, and
checks: every job ``done``, the mock holding exactly the queued documents, none twice.

Run as a script (``benchmarks/outbox_kill.py``) for the full 1,000; the test suite runs it
smaller (``tests/outbox/test_durability.py``).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from segurlink.config import Settings
from segurlink.outbox import JobState, Outbox
from tests.dmp import factory as f

PATIENTS = (f.ZOE, f.DOMINIQUE)
SEED_BASE = 700_000


@dataclass
class DrillReport:
    jobs: int
    processes: int
    kills: int = 0
    done_at_kills: list[int] = field(default_factory=list)
    states: dict[str, int] = field(default_factory=dict)
    documents: int = 0
    distinct_documents: int = 0
    missing: int = 0
    unexpected: int = 0
    redelivered: int = 0  # jobs the DMP already had when a worker delivered them again
    max_attempts: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return (
            self.states.get("done") == self.jobs
            and self.documents == self.distinct_documents == self.jobs
            and self.missing == 0
            and self.unexpected == 0
            and self.kills >= 5
        )

    def summary(self) -> str:
        return (
            f"{self.jobs} deposits, {self.processes} worker processes, {self.kills} kill -9 "
            f"rounds (done at each kill: {self.done_at_kills}); states {self.states}; "
            f"DMP holds {self.documents} documents, {self.distinct_documents} distinct, "
            f"{self.missing} missing, {self.unexpected} unexpected; {self.redelivered} jobs "
            f"were delivered again after a kill and recognised as already deposited; "
            f"max attempts {self.max_attempts}; {self.seconds:.1f} s"
        )


def documents(count: int) -> list[bytes]:
    return [f.cda(PATIENTS[n % 2], seed=SEED_BASE + n) for n in range(count)]


def worker_config(mock_settings_file: Path, store: str, *, lease: float = 3.0) -> Path:
    """The mock's settings file plus an ``[outbox]`` table, beside it (relative paths)."""
    text = mock_settings_file.read_text(encoding="utf-8")
    path = mock_settings_file.with_name("drill-worker.toml")
    path.write_text(
        text + f'\n[outbox]\nstore = "{store}"\nlease = {lease}\npoll_interval = 0.2\n',
        encoding="utf-8",
    )
    return path


def reset_mock(settings: Settings) -> None:
    """POST /_mock/reset to the DMP mock (its control endpoint takes a test-CA client)."""
    import requests

    tls = settings.tls_for("dmp")
    endpoint = str(settings.section("dmp")["endpoint"]).rstrip("/")
    response = requests.post(
        endpoint + "/_mock/reset",
        cert=(str(tls.cert), str(tls.key)),
        verify=str(tls.ca_bundle),
        timeout=10,
    )
    response.raise_for_status()


def _start(config: Path, workers: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEGURLINK_")}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "segurlink",
            "outbox",
            "work",
            "--config",
            str(config),
            "--workers",
            str(workers),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )


def run_drill(
    mock_settings_file: Path,
    store_location: str,
    *,
    jobs: int,
    processes: int,
    workers_per_process: int = 1,
    kills: int = 5,
    kill_window: float = 1.0,
    rng: random.Random | None = None,
    timeout: float = 600.0,
    progress: Any = None,
) -> DrillReport:
    """Queue, kill, restart, drain, check (see the module docstring)."""
    rng = rng or random.Random()
    say = progress or (lambda message: None)
    settings = Settings.from_toml(mock_settings_file)
    reset_mock(settings)
    started = time.monotonic()
    report = DrillReport(jobs, processes)
    docs = documents(jobs)
    with Outbox.open(store_location) as outbox:
        expected = {outbox.deposit(d).job_id for d in docs}
    say(f"queued {jobs} deposits")
    config = worker_config(mock_settings_file, store_location)
    deadline = time.monotonic() + timeout
    with Outbox.open(store_location) as outbox:

        def done() -> int:
            return outbox.status().count(JobState.DONE)

        for round_ in range(kills):
            before = done()
            if before == jobs:
                break
            workers = [_start(config, workers_per_process) for _ in range(processes)]
            while done() == before:  # the workers are delivering
                if time.monotonic() > deadline:
                    raise TimeoutError("the workers delivered nothing")
                time.sleep(0.05)
            # Each process dies at its own random moment; and all of them once this round
            # delivered its share, so that every round is a kill *while draining*.
            share = max(1, (jobs - before) // (2 * (kills - round_)))
            moments = {w.pid: rng.uniform(0.0, kill_window) for w in workers}
            t0 = time.monotonic()
            alive = list(workers)
            while alive:
                elapsed = time.monotonic() - t0
                enough = done() - before >= share
                for worker in list(alive):
                    if enough or elapsed >= moments[worker.pid]:
                        os.kill(worker.pid, signal.SIGKILL)
                        alive.remove(worker)
                time.sleep(0.02)
            for worker in workers:
                worker.wait()
            count = done()
            report.done_at_kills.append(count)
            if count < jobs:
                report.kills += 1
            say(f"kill -9 round {round_ + 1}: {count}/{jobs} done")
        workers = [_start(config, workers_per_process) for _ in range(processes)]
        try:
            while True:
                status = outbox.status()
                if status.count("pending") + status.count("running") == 0:
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"not drained: {status.to_json()['states']}")
                time.sleep(0.2)
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            for worker in workers:
                try:
                    worker.wait(30)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
        status = outbox.status()
        report.states = {s.value: status.count(s) for s in JobState}
        for job_id in expected:
            job = outbox.job(job_id)
            report.max_attempts = max(report.max_attempts, job.attempts)
            if job.result and job.result.get("already_deposited"):
                report.redelivered += 1
        queued_uids = {outbox.job(j).key for j in expected}
    stored = stored_unique_ids(settings)
    counts = Counter(stored)
    report.documents = len(stored)
    report.distinct_documents = len(counts)
    report.missing = len(queued_uids - set(counts))
    report.unexpected = len(set(counts) - queued_uids)
    report.seconds = time.monotonic() - started
    return report


def stored_unique_ids(settings: Settings) -> list[str]:
    """Every document uniqueId the DMP holds for the drill's patients (repeats kept)."""
    from segurlink.dmp import DmpClient

    found: list[str] = []
    with DmpClient.from_settings(settings) as client:
        for person in PATIENTS:
            found.extend(e.unique_id for e in client.find(f.patient_ins(person)))
    return found
