"""``segurlink outbox status|work|retry|dead``, through :func:`segurlink.cli.main`, and the
``work`` command as a process stopped by SIGTERM."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from segurlink.cli import main
from segurlink.config import Settings
from segurlink.outbox import JobError, JobState, NewJob, Outbox, open_store
from tests.dmp import factory as f
from tests.outbox.conftest import write_settings


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main([*argv, "--json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out.strip() else None, captured.err


@pytest.fixture
def dmp_env(
    dmp_settings: Settings, location: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, dict[str, Any]]:
    """SEGURLINK_* variables for the DMP mock, with [outbox] store = the test's store."""
    tables = dmp_settings.to_mapping()
    tables["outbox"] = {"store": location, "poll_interval": 0.1}
    for table, values in tables.items():
        for key, value in values.items():
            shown = value.reveal() if hasattr(value, "reveal") else value
            monkeypatch.setenv(f"SEGURLINK_{table.upper()}__{key.upper()}", str(shown))
    return tables


def _dead_job(location: str) -> int:
    store = open_store(location)
    job_id = store.enqueue(NewJob("dmp.deposit", "010000016", "1.2.3", {}, {"cda": b"x"})).job_id
    store.claim("w", 60)
    store.bury(job_id, "w", JobError("XdsError", "XDSUnknownPatientId", "no DMP"))
    store.close()
    return job_id


def test_status_of_an_empty_outbox(location: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, data, _ = run(capsys, "outbox", "status", "--store", location)
    assert code == 0
    assert data["states"] == {"pending": 0, "running": 0, "done": 0, "dead": 0}
    assert data["oldest_pending"] is None and data["schema_version"] == 2
    assert main(["outbox", "status", "--store", location]) == 0
    assert "no job" in capsys.readouterr().out


def test_status_counts_and_oldest_pending(
    location: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _dead_job(location)
    with Outbox.open(location) as outbox:
        outbox.deposit(f.cda(seed=301))
    code, data, _ = run(capsys, "outbox", "status", "--store", location)
    assert code == 0
    assert data["kinds"]["dmp.deposit"] == {"pending": 1, "running": 0, "done": 0, "dead": 1}
    assert data["oldest_pending"]["job"] == 2
    assert data["oldest_pending"]["age_seconds"] >= 0
    main(["outbox", "status", "--store", location])
    text = capsys.readouterr().out
    assert "dmp.deposit" in text and "oldest pending: job 2, queued" in text


def test_dead_lists_the_reasons_and_retry_revives(
    location: str, capsys: pytest.CaptureFixture[str]
) -> None:
    job_id = _dead_job(location)
    code, data, _ = run(capsys, "outbox", "dead", "--store", location)
    assert code == 0 and [d["id"] for d in data] == [job_id]
    assert data[0]["error"] == {
        "class": "XdsError",
        "code": "XDSUnknownPatientId",
        "message": "no DMP",
    }
    main(["outbox", "dead", "--store", location])
    assert "XdsError [XDSUnknownPatientId]: no DMP" in capsys.readouterr().out
    code, data, _ = run(capsys, "outbox", "retry", str(job_id), "--store", location)
    assert code == 0 and data["state"] == "pending" and data["attempts"] == 0
    assert run(capsys, "outbox", "dead", "--store", location)[1] == []
    main(["outbox", "dead", "--store", location])
    assert "no dead job" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["outbox", "retry", "999"],
        ["outbox", "retry", "abc"],
        ["outbox", "retry", "0"],
        ["outbox", "dead", "--limit", "-1"],
        ["outbox", "work", "--workers", "0"],
        ["outbox"],
    ],
)
def test_bad_input_exits_2_without_traceback(
    argv: list[str], location: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        code = main([*argv, "--store", location] if len(argv) > 1 else argv)
        raise SystemExit(code)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err


def test_retrying_a_job_that_is_not_dead_is_an_input_error(
    location: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = open_store(location)
    job_id = store.enqueue(NewJob("dmp.deposit", "010000016", "k", {}, {})).job_id
    store.claim("w", 60)
    store.complete(job_id, "w", {})
    store.close()
    code, data, err = run(capsys, "outbox", "retry", str(job_id), "--store", location)
    assert code == 2 and data["class"] == "InputError" and "is done" in data["message"]
    assert "Traceback" not in err


def test_configuration_errors_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_settings(tmp_path / "s.toml", {"outbox": {"stor": "x.sqlite3"}})
    code, data, _ = run(capsys, "outbox", "status", "--config", str(config))
    assert code == 2 and data["class"] == "ConfigurationError" and "stor" in data["message"]
    config = write_settings(tmp_path / "s.toml", {"outbox": {"store": "mysql://db/dui"}})
    assert run(capsys, "outbox", "status", "--config", str(config))[0] == 2
    config = write_settings(tmp_path / "s.toml", {"outbox": {"lease": "long"}})
    assert run(capsys, "outbox", "status", "--config", str(config))[0] == 2
    missing = tmp_path / "missing" / "o.sqlite3"
    assert run(capsys, "outbox", "status", "--store", str(missing))[0] == 2


def test_the_store_defaults_to_a_file_beside_the_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_settings(tmp_path / "s.toml", {"structure": {"finess": "010000016"}})
    code, data, _ = run(capsys, "outbox", "status", "--config", str(config))
    assert code == 0 and data["store"] == f"sqlite:{tmp_path / 'segurlink-outbox.sqlite3'}"


def test_work_once_drains_then_says_whether_jobs_died(
    dmp_env: dict[str, Any], location: str, dmp_mock: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    with Outbox.open(location) as outbox:
        ids = [outbox.deposit(f.cda(seed=310 + n)).job_id for n in range(4)]
    code, data, err = run(capsys, "outbox", "work", "--once", "--workers", "2")
    assert code == 0, err
    assert (data["done"], data["dead"]) == (4, 0)
    assert data["status"]["states"]["done"] == 4
    assert "\r" not in err  # not a terminal: no progress redraws
    with Outbox.open(location) as outbox:
        assert [outbox.job(i).state for i in ids] == [JobState.DONE] * 4
        outbox.deposit(f.cda(f.MICHELANGELO, seed=320))  # no DMP: refused
    code, data, _ = run(capsys, "outbox", "work", "--once")
    assert code == 1 and data["dead"] == 1
    main(["outbox", "work", "--once"])
    assert "0 done, 0 to retry, 0 dead" in capsys.readouterr().out


def test_work_draws_a_progress_line_on_a_terminal(
    dmp_env: dict[str, Any], location: str, dmp_mock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with Outbox.open(location) as outbox:
        for n in range(6):
            outbox.deposit(f.cda(seed=330 + n))
    dmp_mock.inject("latency:0.3", count=6)
    assert main(["outbox", "work", "--once"]) == 0
    drawn = terminal.getvalue()
    assert "\r\x1b[2Koutbox: " in drawn and " done, " in drawn and "jobs/s" in drawn
    assert drawn.endswith("\r\x1b[2K")  # the line is cleared at the end


def test_sigterm_finishes_the_job_in_hand_and_exits_0(
    dmp_settings: Settings, dmp_mock: Any, tmp_path: Path, location: str
) -> None:
    tables = dmp_settings.to_mapping()
    tables["outbox"] = {"store": location, "poll_interval": 0.2, "lease": 30}
    config = write_settings(tmp_path / "segurlink.toml", tables)
    with Outbox.open(location) as outbox:
        job_id = outbox.deposit(f.cda(seed=340)).job_id
        outbox.deposit(f.cda(seed=341))
    dmp_mock.inject("latency:2")  # the first deposit takes 2 s
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEGURLINK_")}
    worker = subprocess.Popen(
        [sys.executable, "-m", "segurlink", "outbox", "work", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        with Outbox.open(location) as outbox:
            deadline = time.monotonic() + 60
            while outbox.job(job_id).state is not JobState.RUNNING:
                assert time.monotonic() < deadline and worker.poll() is None
                time.sleep(0.05)
            worker.send_signal(signal.SIGTERM)
            out, err = worker.communicate(timeout=60)
            assert worker.returncode == 0, err
            assert outbox.job(job_id).state is JobState.DONE  # finished, not abandoned
            report = outbox.status()
            assert report.count("running") == 0
            assert report.count("pending") == 1  # claimed nothing after the signal
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()  # waits and closes the pipes
    assert b"1 done" in out


def test_ages_read_like_a_person_would_say_them() -> None:
    from segurlink._commands.outbox import _age

    assert [_age(s) for s in (0, 59.9, 60, 3599, 3600, 86399, 86400, 90061)] == [
        "0 s",
        "59 s",
        "1 min 0 s",
        "59 min 59 s",
        "1 h 0 min",
        "23 h 59 min",
        "1 d 0 h",
        "1 d 1 h",
    ]
