"""MSSanté throughput and XDM cost (prints figures and ratios; never asserts timings).

Run: ``python benchmarks/mssante.py [--messages 30] [--pdf-mb 5]``.

1. Messages/s sent to the mock by ``MssClient.send`` (one SMTP session per message:
   STARTTLS, EXTERNAL, MAIL/RCPT/DATA) against a bare ``smtplib`` send of the same bytes
   over the same kind of session, in the same process.
2. Building a message with a ``pdf-mb`` MB PDF (CDA build excluded: the CDA is built
   once before): time and Python-heap peak (``tracemalloc``) of ``compose`` (XDM zip,
   METADATA.XML, MIME with base64) as ratios of the time and size of base64-encoding the
   PDF alone.
"""

from __future__ import annotations

import argparse
import base64
import os
import smtplib
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from segurlink_mocks.mssante import REMOTE_PER_MAILBOX, MssMock  # noqa: E402
from segurlink_mocks.pki import TestPki  # noqa: E402

from segurlink.config import Settings  # noqa: E402
from segurlink.mssante import Draft, MssClient  # noqa: E402
from tests.dmp.factory import cda  # noqa: E402


def _bare_send(client: MssClient, data: bytes, sender: str) -> None:
    s = client.settings
    context = client._ssl_context()
    with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=10) as smtp:
        smtp.starttls(context=context)
        smtp.ehlo()
        smtp.auth("EXTERNAL", lambda challenge=None: sender, initial_response_ok=False)
        smtp.sendmail(sender, [REMOTE_PER_MAILBOX], data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=30)
    parser.add_argument("--pdf-mb", type=float, default=5.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, MssMock(TestPki.create(Path(tmp))) as mock:
        settings = Settings.from_mapping(
            {
                "software": {
                    "name": "bench",
                    "version": "1",
                    "idam": "R1",
                    "instance": "6f1c1b1e-3a52-4f57-9c1d-5e6b2f0a7d31",
                },
                "mssante": mock.settings_table(),
            }
        )
        client = MssClient.from_settings(settings)
        sender = client.settings.address
        message = client.compose(Draft(sender=sender, to=(REMOTE_PER_MAILBOX,), documents=(cda(),)))
        client.send(message)  # warm-up (imports, TLS context)
        _bare_send(client, message.data, sender)

        started = time.perf_counter()
        for _ in range(args.messages):
            client.send(message)
        ours = args.messages / (time.perf_counter() - started)
        started = time.perf_counter()
        for _ in range(args.messages):
            _bare_send(client, message.data, sender)
        bare = args.messages / (time.perf_counter() - started)
        print(f"send to the mock ({message.size} bytes, {args.messages} messages)")
        print(f"  MssClient.send     {ours:8.1f} msg/s")
        print(f"  bare smtplib       {bare:8.1f} msg/s")
        print(f"  ratio              {ours / bare:8.2f} (1.0 = as fast as smtplib)")

        size = int(args.pdf_mb * 1024 * 1024)
        pdf = b"%PDF-1.4\n" + os.urandom(size - 9)
        document = cda(body=pdf)
        draft = Draft(sender=sender, to=(REMOTE_PER_MAILBOX,), documents=(document,))
        started = time.perf_counter()
        encoded = base64.b64encode(pdf)
        baseline = time.perf_counter() - started
        client.compose(draft)  # warm-up
        tracemalloc.start()
        started = time.perf_counter()
        built = client.compose(draft)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"XDM message with a {args.pdf_mb:g} MB PDF ({built.size / 1e6:.1f} MB message)")
        print(f"  base64 of the PDF  {baseline * 1000:8.1f} ms")
        print(f"  compose            {elapsed * 1000:8.1f} ms   ratio {elapsed / baseline:6.1f}")
        print(
            f"  compose heap peak  {peak / 1e6:8.1f} MB   "
            f"ratio {peak / len(encoded):6.1f} x the base64 of the PDF"
        )


if __name__ == "__main__":
    main()
