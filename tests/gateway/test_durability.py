"""A gateway process killed between two steps loses nothing and does nothing twice.

The gateway runs in a child process (tests/gateway/crashing_gateway.py) that dies with
``os._exit`` — no cleanup, no flush, like ``kill -9`` — at a chosen point; a second
process on the same outbox takes over. The mocks and the producer stay in this process
and count what they received.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from segurlink_mocks.mssante import PER_MAILBOX, MssMock

from segurlink.outbox.sqlite import SqliteStore
from tests.dmp import factory as f
from tests.gateway.conftest import (
    DMP_ONLY,
    ROW_PS_ONLY,
    Producer,
    field_text,
    gateway_tables,
    mdm,
    read_ack,
    recipient_prt,
    send,
    sender_prt,
    wait_for,
)
from tests.gateway.test_end_to_end import stored, uid
from tests.outbox.conftest import write_settings

REPO = Path(__file__).resolve().parents[2]


class Child:
    """``python -m tests.gateway.crashing_gateway`` with its port."""

    def __init__(self, config: Path, reply: int, point: str = "") -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.gateway.crashing_gateway",
                str(config),
                f"127.0.0.1:{reply}",
                point,
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the gateway did not start: {self.process.stderr.read()}")  # type: ignore[union-attr]
        self.port = int(json.loads(line)["port"])

    def died(self, timeout: float = 30.0) -> int:
        return self.process.wait(timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def config(dmp_mock: Any, mss_mock: MssMock, segurlink_pki: Any, tmp_path: Path) -> Path:
    tables = gateway_tables(dmp_mock, mss_mock, segurlink_pki, tmp_path / "outbox.sqlite3")
    tables["outbox"]["lease"] = 3.0  # a dead worker's job is taken over after 3 s
    return write_settings(tmp_path / "segurlink.toml", tables)


@pytest.fixture
def children() -> Iterator[list[Child]]:
    started: list[Child] = []
    yield started
    for child in started:
        child.stop()


def start(children: list[Child], config: Path, producer: Producer, point: str = "") -> Child:
    child = Child(config, producer.port, point)
    children.append(child)
    return child


def jobs(config: Path) -> list[Any]:
    store = SqliteStore(config.parent / "outbox.sqlite3")
    try:
        return store.jobs(limit=1000)
    finally:
        store.close()


def z01(producer: Producer) -> list[str]:
    return [field_text(z, "OBX", 4) for z in producer.zams("Z01")]


def test_a_crash_between_queue_and_ack_loses_nothing_and_delivers_once(
    config: Path, producer: Producer, children: list[Child], dmp_mock: Any, mss_mock: MssMock
) -> None:
    document = f.cda(seed=701)
    text = mdm(
        document,
        control_id="CRASH1",
        flags=ROW_PS_ONLY,
        participants=[sender_prt(), recipient_prt(PER_MAILBOX)],
        acks={"ACK_RECEPTION": "Y", "ACK_LECTURE_MSS": "N"},
    )
    first = start(children, config, producer, "after-queue")
    with pytest.raises(ConnectionError):
        send(first.port, text)  # no ACK: the process died after writing the jobs
    assert first.died() == 137
    # the message's jobs were written together before the AA: the deposit and the mail
    assert sorted((j.kind, j.state.value) for j in jobs(config)) == [
        ("gateway.dmp", "pending"),
        ("gateway.mail", "pending"),
    ]
    assert stored(dmp_mock) == [] and mss_mock.mailbox(PER_MAILBOX) == []

    second = start(children, config, producer)
    # the producer had no ACK: it sends the message again; the jobs are the same ones
    assert read_ack(send(second.port, text)).code == "AA"
    wait_for(lambda: z01(producer) and producer.zams("Z02"), what="the Z01 and Z02")
    time.sleep(1.0)
    assert z01(producer) == ["CRASH1"]
    assert [field_text(z, "OBX", 4) for z in producer.zams("Z02")] == ["CRASH1"]
    assert [e["uniqueId"] for e in stored(dmp_mock)] == [uid(document)]
    assert len(mss_mock.mailbox(PER_MAILBOX)) == 1
    kinds = sorted(j.kind for j in jobs(config) if j.kind != "gateway.zam")
    assert kinds == ["gateway.dmp", "gateway.mail"]


def test_a_crash_after_the_deposit_before_its_record_deposits_once(
    config: Path, producer: Producer, children: list[Child], dmp_mock: Any
) -> None:
    document = f.cda(seed=702)
    text = mdm(document, control_id="CRASH2", flags=DMP_ONLY, participants=[sender_prt()])
    first = start(children, config, producer, "after-deposit")
    assert read_ack(send(first.port, text)).code == "AA"
    assert first.died() == 137
    assert [e["uniqueId"] for e in stored(dmp_mock)] == [uid(document)]  # the DMP has it
    running = [j for j in jobs(config) if j.kind == "gateway.dmp"]
    assert [j.state.value for j in running] == ["running"]  # its worker died holding it

    start(children, config, producer)  # takes the job over once its lease ran out
    wait_for(lambda: z01(producer), timeout=40, what="the Z01")
    time.sleep(1.0)
    assert z01(producer) == ["CRASH2"]
    assert [e["uniqueId"] for e in stored(dmp_mock)] == [uid(document)]  # not twice
    (done,) = [j for j in jobs(config) if j.kind == "gateway.dmp"]
    assert done.state.value == "done" and done.attempts == 2
    assert done.result is not None and done.result["already_deposited"] is True


def test_a_crash_between_delivery_and_zam_sends_the_zam_once(
    config: Path, producer: Producer, children: list[Child], dmp_mock: Any
) -> None:
    text = mdm(f.cda(seed=703), control_id="CRASH3", flags=DMP_ONLY, participants=[sender_prt()])
    first = start(children, config, producer, "before-zam")
    assert read_ack(send(first.port, text)).code == "AA"
    assert first.died() == 137
    assert len(stored(dmp_mock)) == 1 and producer.zams() == []
    states = {j.kind: j.state.value for j in jobs(config)}
    assert states["gateway.dmp"] == "done" and states["gateway.zam"] == "running"

    start(children, config, producer)
    wait_for(lambda: z01(producer), timeout=40, what="the Z01")
    time.sleep(1.0)
    assert z01(producer) == ["CRASH3"]
    assert len(stored(dmp_mock)) == 1


def test_a_crash_after_a_mail_was_taken_sends_it_again_under_the_same_message_id(
    config: Path, producer: Producer, children: list[Child], mss_mock: MssMock
) -> None:
    # SMTP cannot say whether a message arrived: the limit of "never twice" for mail. The
    # copy carries the same Message-ID (one message for the reader's software) and its
    # receipts give no second ZAM.
    flags = ROW_PS_ONLY | {"DESTDMP": "N"}
    text = mdm(
        f.cda(seed=704), control_id="CRASH4", flags=flags, participants=[recipient_prt(PER_MAILBOX)]
    )
    first = start(children, config, producer, "after-mail")
    assert read_ack(send(first.port, text)).code == "AA"
    assert first.died() == 137
    start(children, config, producer)
    wait_for(lambda: len(mss_mock.mailbox(PER_MAILBOX)) == 2, timeout=40, what="the copy")
    wait_for(lambda: len(producer.zams()) >= 2, timeout=40, what="the ZAMs")
    time.sleep(1.5)
    ids = {raw.split(b"Message-ID: ")[1].split(b"\r\n")[0] for raw in mss_mock.mailbox(PER_MAILBOX)}
    assert len(ids) == 1
    assert sorted(field_text(z, "MSH", 9) for z in producer.zams()) == [
        "ZAM^Z02^ZAM_Z01",
        "ZAM^Z03^ZAM_Z01",
    ]
