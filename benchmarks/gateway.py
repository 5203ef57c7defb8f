"""Gateway benchmark: MDM messages/s from MLLP in to the document deposited in the DMP,
as a ratio of direct ``DmpClient.deposit`` calls on the same mock.

    python benchmarks/gateway.py [--messages 60] [--rounds 3]

The mocks run in their own process (``segurlink mock serve``: no GIL shared with the
gateway). A producer (raw sockets) sends MDM^T02 messages one after the other on one
MLLP connection, each waiting for its ACK, as a producer does; the flags ask for the DMP
only. Measured, per round (the rounds alternate, so that a shared machine's load weighs
on each alike; the medians are printed):

1. direct: ``DmpClient.deposit`` of the same kind of documents, one warm client;
2. the gateway with 1 and with 2 outbox workers: from the first message sent to the last
   document deposited (its ``gateway.dmp`` job done), and the ACK rate alone;
3. the same with ACK_RECEPTION ``Y``: until the producer got every ZAM^Z01.

After each gateway run (outside the timing) the DMP mock is asked for the first and the
last document: the gateway's "done" is checked against what the DMP holds.

The machine is shared: compare the ratios, not the absolute figures.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder comes first on sys.path, and its hl7.py would shadow
# python-hl7: the repository root instead (for tests.*).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from segurlink_mocks.stack import mock_process  # noqa: E402

from segurlink.cda import parse_header  # noqa: E402
from segurlink.config import Settings  # noqa: E402
from segurlink.dmp import DmpClient  # noqa: E402
from segurlink.gateway import Gateway, GatewaySettings  # noqa: E402
from segurlink.outbox.sqlite import SqliteStore  # noqa: E402
from tests.dmp import factory as f  # noqa: E402
from tests.gateway.conftest import DMP_ONLY, Producer, mdm, sender_prt  # noqa: E402


class Seeds:
    def __init__(self) -> None:
        self._next = iter(range(900_000, 2_000_000))

    def documents(self, count: int) -> list[bytes]:
        return [f.cda((f.ZOE, f.DOMINIQUE)[i % 2], seed=next(self._next)) for i in range(count)]


def direct(settings: Settings, documents: list[bytes]) -> float:
    """Deposits/s with one warm client."""
    with DmpClient.from_settings(settings) as client:
        started = time.perf_counter()
        for document in documents:
            client.deposit(document)
        return len(documents) / (time.perf_counter() - started)


def held(settings: Settings, documents: list[bytes]) -> None:
    """The DMP mock holds the first and the last document (asked after the timing)."""
    with DmpClient.from_settings(settings) as client:
        for document in (documents[0], documents[-1]):
            header = parse_header(document)
            assert header.patient.ins is not None
            entry = client.get(header.patient.ins, unique_id=header.id.xds_unique_id)
            if entry is None:
                raise RuntimeError("a document the gateway said deposited is not in the DMP")


def through_gateway(
    settings: Settings,
    documents: list[bytes],
    tmp: Path,
    name: str,
    *,
    workers: int,
    receipts: bool,
) -> tuple[float, float]:
    """(messages/s until every document is deposited — or every Z01 received —,
    ACKs/s)."""
    producer = Producer().start()
    store = SqliteStore(tmp / f"{name}.sqlite3")
    acks = {"ACK_RECEPTION": "Y" if receipts else "N", "ACK_LECTURE_MSS": "N"}
    messages = [
        mdm(d, control_id=f"B{n}", flags=DMP_ONLY, participants=[sender_prt()], acks=acks).encode()
        for n, d in enumerate(documents)
    ]
    config = GatewaySettings(workers=workers, mailbox_poll=3600.0)
    try:
        with Gateway(
            settings, reply=("127.0.0.1", producer.port), store=store, config=config
        ) as gw:
            gw.start(workers=workers, mailbox=False)
            with socket.create_connection(("127.0.0.1", gw.port), timeout=60) as sock:
                started = time.perf_counter()
                for message in messages:
                    sock.sendall(b"\x0b" + message + b"\x1c\r")
                    buffer = b""
                    while b"\x1c\r" not in buffer:
                        buffer += sock.recv(65536)
                    assert b"MSA|AA|" in buffer, buffer[:300]
                acked = time.perf_counter() - started

                def finished() -> bool:
                    if receipts:
                        return len(producer.zams("Z01")) >= len(documents)
                    done = [j for j in store.jobs("done", kind="gateway.dmp", limit=10_000)]
                    return len(done) >= len(documents)

                deadline = time.monotonic() + 600
                while not finished():
                    if time.monotonic() > deadline:
                        raise RuntimeError("the gateway did not deliver in time")
                    time.sleep(0.01)
                elapsed = time.perf_counter() - started
            assert store.status().count("dead") == 0
        held(settings, documents)
    finally:
        producer.stop()
        store.close()
    return len(documents) / elapsed, len(documents) / acked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    seeds = Seeds()
    n = args.messages
    results: dict[str, list[float]] = {}

    def note(label: str, value: float) -> None:
        results.setdefault(label, []).append(value)

    with (
        tempfile.TemporaryDirectory() as tmp_name,
        mock_process(Path(tmp_name) / "mocks") as settings,
    ):
        tmp = Path(tmp_name)
        direct(settings, seeds.documents(2))  # warm-up: the mock, TLS, pools
        print(
            f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}, "
            f"{n} messages x {args.rounds} rounds"
        )
        for round_ in range(args.rounds):
            note("direct", direct(settings, seeds.documents(n)))
            for workers in (1, 2):
                rate, ack_rate = through_gateway(
                    settings,
                    seeds.documents(n),
                    tmp,
                    f"r{round_}w{workers}",
                    workers=workers,
                    receipts=False,
                )
                note(f"gateway {workers}w", rate)
                note(f"ack {workers}w", ack_rate)
            rate, _ = through_gateway(
                settings, seeds.documents(n), tmp, f"r{round_}z", workers=2, receipts=True
            )
            note("gateway 2w + Z01", rate)
    base = statistics.median(results["direct"])
    rows = (
        ("direct", "direct DmpClient.deposit", "deposits/s"),
        ("gateway 1w", "gateway, 1 worker, MLLP → DMP", "messages/s"),
        ("gateway 2w", "gateway, 2 workers, MLLP → DMP", "messages/s"),
        ("gateway 2w + Z01", "gateway, 2 workers, MLLP → Z01", "messages/s"),
        ("ack 1w", "ACKs alone (1 worker)", "messages/s"),
        ("ack 2w", "ACKs alone (2 workers)", "messages/s"),
    )
    for key, label, unit in rows:
        values = results[key]
        rate = statistics.median(values)
        print(
            f"{label:<31} {rate:6.1f} {unit:<10} (ratio {rate / base:.2f}; "
            f"rounds {min(values):.1f}-{max(values):.1f})"
        )


if __name__ == "__main__":
    main()
