"""DMP client benchmark against the DMP mock (loopback, mutual TLS), in one run.

    python benchmarks/dmp.py [--sequential 30] [--parallel 80]

Prints:
1. deposits/s sequential, and with 8 threads sharing one client (ratio to sequential);
2. the size of a 1 MB PDF deposit as segurlink sends it (MTOM/XOP) vs the same request
   with the documents inline in base64 (ratio);
3. for that 1 MB PDF deposit, the time spent in segurlink (CDA header read, metadata,
   XAdES, VIHF signature, envelope, MTOM framing) vs on the wire and in the mock (share).

The mock runs in its own process (``segurlink mock serve``), as in a DUI's CI, so client
and server do not share a GIL. The ratios matter, not the absolute figures.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from segurlink_mocks.stack import mock_process

from segurlink.dmp import DmpClient
from segurlink.dmp import messages as msg
from segurlink.dmp.mtom import build_mtom
from tests.dmp import factory as f


def _client_side(client: DmpClient, document: bytes) -> bytes:
    """Everything segurlink does for a deposit before the bytes go on the wire."""
    ins, _, _, body, parts = client.prepare_deposit(document)
    url = client.settings.service_url("repository")
    envelope = msg.envelope(msg.ITI41, url, client.vihf(ins), body).envelope
    data, _ = build_mtom(envelope, parts, action=msg.ITI41)
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sequential", type=int, default=30)
    parser.add_argument("--parallel", type=int, default=80)
    args = parser.parse_args()
    n_seq, n_par = args.sequential, args.parallel

    with tempfile.TemporaryDirectory() as tmp, mock_process(Path(tmp)) as settings:
        with DmpClient.from_settings(settings) as client:
            docs = [f.cda(seed=1000 + i) for i in range(n_seq + n_par)]
            client.deposit(f.cda(seed=999))  # warm-up (TLS, pools, caches)
            t0 = time.perf_counter()
            for d in docs[:n_seq]:
                client.deposit(d)
            seq = n_seq / (time.perf_counter() - t0)
            t0 = time.perf_counter()
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(client.deposit, docs[n_seq:]))
            par = n_par / (time.perf_counter() - t0)
            print(f"deposits/s sequential: {seq:.1f}")
            print(f"deposits/s 8 threads, one client: {par:.1f} (x{par / seq:.2f})")

            pdf = b"%PDF-1.4\n" + os.urandom(1024 * 1024)
            big = f.cda(seed=5000, body=pdf)
            ins, _, _, body, parts = client.prepare_deposit(big)
            env = msg.envelope(msg.ITI41, "https://x", client.vihf(ins), body).envelope
            mtom, _ = build_mtom(env, parts, action=msg.ITI41)
            inline = len(env) + sum(len(base64.b64encode(p.data)) for p in parts)
            print(
                f"1 MB PDF request: MTOM {len(mtom)} bytes, base64-inline {inline} bytes "
                f"(inline/MTOM = {inline / len(mtom):.2f})"
            )

            rounds = 5
            local = total = 0.0
            for i in range(rounds):  # interleaved: both see the same machine state
                d = f.cda(seed=6000 + i, body=pdf)
                t0 = time.perf_counter()
                _client_side(client, d)
                local += time.perf_counter() - t0
                t0 = time.perf_counter()
                client.deposit(d)
                total += time.perf_counter() - t0
            local /= rounds
            total /= rounds
            print(
                f"1 MB PDF deposit: {total * 1000:.1f} ms total, {local * 1000:.1f} ms in "
                f"segurlink (header, metadata, XAdES, VIHF, MTOM), "
                f"{(total - local) * 1000:.1f} ms on the wire + mock "
                f"(segurlink share {local / total:.0%})"
            )


if __name__ == "__main__":
    main()
