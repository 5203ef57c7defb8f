"""Proof of durability: kill -9 of the worker processes while draining (SQLite with two
processes, PostgreSQL with four), and a DMP outage (connections refused) ridden out with
backoff, on both stores. The full 1,000-deposit drill is ``benchmarks/outbox_kill.py``."""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from segurlink._retry import RetryPolicy
from segurlink.config import Settings
from segurlink.outbox import JobState, Outbox, WorkerPool
from tests.dmp import factory as f
from tests.outbox.conftest import StoreFactory
from tests.outbox.drill import run_drill

JOBS = 32  # the full drill (1,000) is benchmarks/outbox_kill.py


@pytest.fixture(scope="module")
def mock_settings_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The mocks in their own process; the path of the settings file they wrote."""
    from segurlink_mocks.stack import mock_process

    directory = tmp_path_factory.mktemp("drill-mocks")
    with mock_process(directory):
        yield directory / "segurlink.toml"


@pytest.mark.parametrize(("backend", "processes"), [("sqlite", 2), ("postgres", 4)])
def test_kill_9_loses_no_deposit_and_sends_none_twice(
    backend: str, processes: int, location: str, mock_settings_file: Path
) -> None:
    report = run_drill(
        mock_settings_file,
        location,
        jobs=JOBS,
        processes=processes,
        kills=5,
        rng=random.Random(13),
        timeout=240,
    )
    print(report.summary())
    assert report.kills >= 5, report.summary()
    # Each kill happened while jobs were still waiting.
    assert all(count < report.jobs for count in report.done_at_kills[:5]), report.summary()
    assert report.states == {"pending": 0, "running": 0, "done": JOBS, "dead": 0}
    assert report.documents == report.distinct_documents == JOBS
    assert report.missing == 0 and report.unexpected == 0
    assert report.ok


# -- outage -----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def outage_mock(segurlink_pki: Any) -> Iterator[Any]:
    """A DMP mock of its own on a fixed port, so that it can go away and come back."""
    from segurlink_mocks.dmp import DmpMock

    mock = DmpMock(segurlink_pki, port=_free_port()).start()
    yield mock
    mock.stop()


def test_an_outage_is_ridden_out_with_backoff(
    open_store: StoreFactory, outage_mock: Any, segurlink_pki: Any
) -> None:
    from segurlink_mocks._core.installation import base_tables

    store = open_store(clock=time.time)  # real time: the workers really wait
    tables: dict[str, Any] = base_tables(segurlink_pki)
    tables["timeouts"] = {"connect": 1.0, "read": 5.0}
    tables["dmp"] = outage_mock.settings_table()
    settings = Settings.from_mapping(tables)
    outbox = Outbox(store)
    deposits = [outbox.deposit(f.cda(seed=900 + n)).job_id for n in range(8)]
    refused = outbox.deposit(f.cda(f.MICHELANGELO, seed=950)).job_id  # has no DMP

    outage_mock.stop()  # connections refused from now on
    policy = RetryPolicy(initial=0.2, maximum=1.0, max_attempts=None, deadline=None)
    pool = WorkerPool(store, settings, workers=2, policy=policy, lease=30, poll_interval=0.05)
    pool.start()
    try:
        deadline = time.monotonic() + 60
        while min(store.get(j).attempts for j in deposits) < 3:  # type: ignore[union-attr]
            assert time.monotonic() < deadline
            time.sleep(0.05)
        waiting = [store.get(j) for j in (*deposits, refused)]
        for job in waiting:
            assert job is not None and job.state in (JobState.PENDING, JobState.RUNNING)
            assert job.last_error is not None and job.last_error.error_class == "TransportError"
            assert "connection" in job.last_error.message
        # Backoff: a few attempts in this time, not a busy loop (0.05 s polls would do ~40).
        assert all(job.attempts <= 15 for job in waiting if job is not None)
        assert store.status().count("done") == 0 and pool.stats.retried >= 16

        outage_mock.start()  # back, on the same port
        while store.status().count("pending") + store.status().count("running"):
            assert time.monotonic() < deadline + 60
            time.sleep(0.05)
    finally:
        pool.stop()
        pool.join(30)
        pool.close()
    assert [store.get(j).state for j in deposits] == [JobState.DONE] * 8  # type: ignore[union-attr]
    dead = store.get(refused)
    assert dead is not None and dead.state is JobState.DEAD
    assert dead.last_error is not None
    assert (dead.last_error.error_class, dead.last_error.code) == (
        "XdsError",
        "XDSUnknownPatientId",
    )
    stored = [
        d["uniqueId"]
        for d in outage_mock.documents(f.ZOE[0])
        if not d["uniqueId"].startswith("1.2.250.1.999.1.1.4.")  # the XAdES signatures
    ]
    assert sorted(stored) == sorted(store.get(j).key for j in deposits)  # type: ignore[union-attr]
