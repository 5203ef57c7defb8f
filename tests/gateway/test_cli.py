"""``segurlink gateway serve`` (a child process, as an operator runs it) and
``segurlink gateway send`` (a producer's push), against the mocks."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from segurlink_mocks.mssante import MssMock

from segurlink.cli import main
from tests.dmp import factory as f
from tests.gateway.conftest import (
    DMP_ONLY,
    Producer,
    field_text,
    gateway_tables,
    mdm,
    sender_prt,
    wait_for,
)
from tests.gateway.test_end_to_end import stored, uid
from tests.outbox.conftest import write_settings


@pytest.fixture
def config(dmp_mock: Any, mss_mock: MssMock, segurlink_pki: Any, tmp_path: Path) -> Path:
    tables = gateway_tables(dmp_mock, mss_mock, segurlink_pki, tmp_path / "outbox.sqlite3")
    return write_settings(tmp_path / "segurlink.toml", tables)


@pytest.fixture
def served(config: Path, producer: Producer) -> Iterator[tuple[subprocess.Popen[str], int]]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "segurlink",
            "gateway",
            "serve",
            "--config",
            str(config),
            "--listen",
            "0",
            "--reply",
            f"127.0.0.1:{producer.port}",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    ready = json.loads(process.stdout.readline())
    yield process, int(ready["port"])
    if process.poll() is None:
        process.kill()
        process.wait()
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()


def test_serve_then_send_then_stop(
    served: tuple[subprocess.Popen[str], int],
    producer: Producer,
    dmp_mock: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    process, port = served
    document = f.cda(seed=801)
    message = tmp_path / "message.hl7"
    # a file as editors write them: LF between segments
    message.write_text(
        mdm(
            document, control_id="CLI1", flags=DMP_ONLY, participants=[sender_prt()], separator="\n"
        )
    )

    assert main(["gateway", "send", str(message), "--to", f"127.0.0.1:{port}"]) == 0
    assert capsys.readouterr().out.strip() == "AA CLI1 (MDM^T02)"
    assert main(["gateway", "send", str(message), "--to", f"127.0.0.1:{port}", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "ack": "AA",
        "acknowledged": "CLI1",
        "errors": [],
    }
    wait_for(lambda: producer.zams("Z01"), what="the Z01")
    assert field_text(producer.zams("Z01")[0], "OBX", 4) == "CLI1"
    assert [e["uniqueId"] for e in stored(dmp_mock)] == [uid(document)]

    bad = tmp_path / "bad.hl7"
    bad.write_text(message.read_text().replace("|2.6|", "|2.4|", 1))
    assert main(["gateway", "send", str(bad), "--to", f"127.0.0.1:{port}", "--json"]) == 1
    answer = json.loads(capsys.readouterr().out)
    assert answer["ack"] == "AE"
    assert [(e["code"], e["location"]) for e in answer["errors"]] == [("203", "MSH-12")]
    assert main(["gateway", "send", str(bad), "--to", f"127.0.0.1:{port}"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("AE CLI1 (MDM^T02)\n  ERR 203 at MSH-12:")

    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    summary = json.loads(stdout)
    assert summary["stopped"] is True
    assert (summary["messages"]["AA"], summary["messages"]["AE"]) == (2, 2)
    assert "Traceback" not in stderr


def test_serve_without_a_structure_is_a_configuration_error(
    dmp_mock: Any, mss_mock: MssMock, segurlink_pki: Any, tmp_path: Path
) -> None:
    tables = gateway_tables(dmp_mock, mss_mock, segurlink_pki, tmp_path / "outbox.sqlite3")
    del tables["structure"]
    config = write_settings(tmp_path / "segurlink.toml", tables)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "segurlink",
            "gateway",
            "serve",
            "--config",
            str(config),
            "--listen",
            "0",
            "--reply",
            "127.0.0.1:2576",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "[structure] finess" in done.stderr and "Traceback" not in done.stderr


def test_serve_on_a_busy_port_is_a_configuration_error(
    config: Path, served: tuple[subprocess.Popen[str], int]
) -> None:
    _, busy = served
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "segurlink",
            "gateway",
            "serve",
            "--config",
            str(config),
            "--listen",
            str(busy),
            "--reply",
            "127.0.0.1:2576",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "cannot listen" in done.stderr
