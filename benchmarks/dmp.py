"""DMP client benchmark against the DMP mock (loopback, mutual TLS).

Prints: deposits/s sequential and with 8 threads sharing one client; the MTOM request
size vs its base64-inline equivalent; time in segurlink vs on the wire for a 1 MB PDF.

    python benchmarks/dmp.py
"""

from __future__ import annotations

import base64
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from segurlink_mocks.dmp import DmpMock
from segurlink_mocks.pki import TestPki

from segurlink.config import Settings
from segurlink.dmp import DmpClient
from segurlink.dmp.mtom import build_mtom
from tests.dmp import factory as f

N_SEQ = 30
N_PAR = 80


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        pki = TestPki.create(Path(tmp))
        with DmpMock(pki) as mock:
            settings = Settings.from_mapping(
                {
                    "software": {
                        "name": "segurlink-bench",
                        "version": "1.0",
                        "idam": "R1234567",
                        "instance": "6f1c1b1e-3a52-4f57-9c1d-5e6b2f0a7d31",
                    },
                    "structure": {"finess": "010000016", "name": "EHPAD SEGURLINK TEST"},
                    "tls": {"ca_bundle": str(pki.ca)},
                    "timeouts": {"connect": 5, "read": 60},
                    "dmp": mock.settings_table(),
                }
            )
            with DmpClient.from_settings(settings) as client:
                docs = [f.cda(seed=1000 + i) for i in range(N_SEQ + N_PAR)]
                client.deposit(f.cda(seed=999))  # warm-up (TLS, pools)
                t0 = time.perf_counter()
                for d in docs[:N_SEQ]:
                    client.deposit(d)
                seq = N_SEQ / (time.perf_counter() - t0)
                t0 = time.perf_counter()
                with ThreadPoolExecutor(8) as pool:
                    list(pool.map(client.deposit, docs[N_SEQ:]))
                par = N_PAR / (time.perf_counter() - t0)
                print(f"deposits/s sequential: {seq:.1f}")
                print(f"deposits/s 8 threads, one client: {par:.1f} (x{par / seq:.2f})")

                pdf = b"%PDF-1.4\n" + os.urandom(1024 * 1024)
                big = f.cda(seed=5000, body=pdf)
                _, _, _, body, parts = client.prepare_deposit(big)
                from lxml import etree

                from segurlink.dmp import messages as msg

                env = msg.envelope(
                    msg.ITI41, "https://x", client.vihf(f.patient_ins()), body
                ).envelope
                mtom, _ = build_mtom(env, parts, action=msg.ITI41)
                inline = len(env) + sum(len(base64.b64encode(p.data)) for p in parts)
                print(
                    f"1 MB PDF request: MTOM {len(mtom)} bytes, base64-inline {inline} bytes "
                    f"(inline/MTOM = {inline / len(mtom):.2f})"
                )
                del etree
                t0 = time.perf_counter()
                for _ in range(5):
                    client.prepare_deposit(big)
                    build_mtom(env, parts, action=msg.ITI41)
                local = (time.perf_counter() - t0) / 5
                total = 0.0
                for i in range(5):
                    d = f.cda(seed=6000 + i, body=pdf)
                    t0 = time.perf_counter()
                    client.deposit(d)
                    total += time.perf_counter() - t0
                total /= 5
                print(
                    f"1 MB PDF deposit: {total * 1000:.1f} ms total, {local * 1000:.1f} ms in "
                    f"segurlink (build, sign, frame), {(total - local) * 1000:.1f} ms on the "
                    f"wire + mock (segurlink share {local / total:.0%})"
                )


if __name__ == "__main__":
    main()
