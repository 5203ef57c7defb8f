"""ROR throughput and memory: segurlink vs raw ``requests`` + ``json`` on the same pages.

Run: ``python benchmarks/ror.py`` (about five minutes on 2 cores). The ROR mock runs in a
child process (so tracemalloc and the CPU clock only see the client) with ~21 000
Locations (home care, disability and nursing-home offers included: richer resources than
the hospital-only offer of earlier runs); every reader walks the same
``Location?_count=1000`` pages over TLS.

Printed, in one run:

* resources/s for raw requests + json (dicts only), segurlink ``validation="fast"`` (typed
  dataclasses from the JSON) and ``validation="full"`` (fhir.resources R4B validation of
  every resource, then the dataclasses), by wall clock (the mock's own work is part of it)
  and per second of client CPU (best of two runs; one for ``full``);
* the R4B validation alone on the same 1 000 Locations, in process: ``model_validate`` on
  each resource vs segurlink's memoised :class:`ResourceValidator` (cold, then warm);
* peak traced memory while iterating 1 000 vs 20 000 resources (it should stay flat:
  pages are not accumulated).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import requests

from segurlink.config import Settings
from segurlink.ror import RorClient

PAGE = 1000
_CHILD = """
import json, sys
from pathlib import Path
from segurlink_mocks.pki import TestPki
from segurlink_mocks.ror import RorMock
pki = TestPki.create(Path(sys.argv[1]))
with RorMock(pki, scale=int(sys.argv[2])) as mock:
    table = mock.settings_table()
    table["ca"] = str(pki.ca)
    table["locations"] = mock.data.count("Location")
    print(json.dumps(table), flush=True)
    sys.stdin.read()
"""


def _raw_reader(client: RorClient, limit: int) -> Callable[[], int]:
    """Same pages with plain requests + json: the floor any client pays."""
    session = requests.Session()
    session.verify = str(client.settings.tls.ca_bundle)
    session.trust_env = False  # else REQUESTS_CA_BUNDLE overrides verify (requests quirk)
    headers = {"Authorization": f"Bearer {client.token()}", **client.settings.ror_headers,
               "Accept": "application/fhir+json"}

    def run() -> int:
        url: str | None = f"{client.settings.endpoint}/Location?_count={PAGE}"
        seen = 0
        while url and seen < limit:
            bundle = json.loads(session.get(url, headers=headers, timeout=60).content)
            seen += sum(1 for e in bundle.get("entry", ()) if e["search"]["mode"] == "match")
            url = next((lk["url"] for lk in bundle.get("link", ()) if lk["relation"] == "next"),
                       None)
        return seen

    return run


def _segurlink_reader(client: RorClient, limit: int, validation: str) -> Callable[[], int]:
    def run() -> int:
        seen = 0
        for location in client.locations(count=PAGE, max_pages=-(-limit // PAGE),
                                          validation=validation):  # type: ignore[arg-type]
            seen += len(location.capacities) >= 0
        return seen

    return run


def _rate(label: str, make_reader: Callable[[], Callable[[], int]], rounds: int = 2) -> float:
    best_wall, best_cpu, count = float("inf"), float("inf"), 0
    for _ in range(rounds):
        reader = make_reader()
        wall, cpu = time.perf_counter(), time.process_time()
        count = reader()
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    print(f"  {label:<36} {count:>6} resources: {count / best_wall:7.0f} /s wall, "
          f"{count / best_cpu:7.0f} /s client CPU")
    return count / best_cpu


def _validation_only(client: RorClient) -> None:
    """R4B validation alone, same resources, in this process (no network in the timing)."""
    from segurlink.ror import to_fhir_model
    from segurlink.ror._validation import ResourceValidator

    page = client._get_json(f"{client.settings.endpoint}/Location?_count={PAGE}",
                            operation="bench")
    resources = [e["resource"] for e in page["entry"]]
    timings = {}
    start = time.perf_counter()
    for resource in resources:
        to_fhir_model(resource)
    timings["model_validate per resource"] = time.perf_counter() - start
    validator = ResourceValidator()
    for label in ("ResourceValidator, cold memo", "ResourceValidator, warm memo"):
        start = time.perf_counter()
        for resource in resources:
            validator.validate(resource)
        timings[label] = time.perf_counter() - start
    print(f"R4B validation only, {len(resources)} Locations in process:")
    base = timings["model_validate per resource"]
    for label, seconds in timings.items():
        print(f"  {label:<36} {len(resources) / seconds:7.0f} resources/s"
              f"   x{base / seconds:5.1f}")


def _peak(reader: Callable[[], int]) -> tuple[int, float]:
    tracemalloc.start()
    tracemalloc.reset_peak()
    count = reader()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return count, peak / 1e6


def main() -> None:
    scale = 1500  # ~21 000 Locations (and ~60 000 other resources) in the mock
    with tempfile.TemporaryDirectory() as tmp:
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(Path(tmp) / "pki"), str(scale)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        try:
            assert child.stdout is not None
            table = json.loads(child.stdout.readline())
            settings = Settings.from_mapping(
                {"tls": {"ca_bundle": table.pop("ca")},
                 "timeouts": {"read": 120.0},
                 "ror": {k: v for k, v in table.items() if k != "locations"}}
            )
            print(f"ROR mock: {table['locations']} Locations, pages of {PAGE}")
            with RorClient.from_settings(settings) as client:
                n = 20_000

                def fresh(validation: str) -> Callable[[], int]:
                    # a new client each run: the validation memo starts cold
                    return _segurlink_reader(RorClient.from_settings(settings), n, validation)

                print("throughput (same pages, TLS loopback, server in another process):")
                raw = _rate("raw requests + json", lambda: _raw_reader(client, n))
                fast = _rate("segurlink validation='fast'", lambda: fresh("fast"))
                full = _rate("segurlink validation='full'", lambda: fresh("full"), rounds=1)
                print(f"  client CPU ratios: fast / raw = {fast / raw:.2f}   "
                      f"full / raw = {full / raw:.2f}   full / fast = {full / fast:.2f}")
                _validation_only(client)
                print("peak traced memory while iterating (client process only):")
                peaks = {}
                for limit in (1_000, 20_000):
                    for label, reader in (
                        ("raw", _raw_reader(client, limit)),
                        ("segurlink fast", _segurlink_reader(client, limit, "fast")),
                        ("segurlink full", _segurlink_reader(
                            RorClient.from_settings(settings), limit, "full")),
                    ):
                        count, peak = _peak(reader)
                        peaks[(label, limit)] = peak
                        print(f"  {label:<16} {count:>6} resources: peak {peak:7.1f} MB")
                for label in ("raw", "segurlink fast", "segurlink full"):
                    ratio = peaks[(label, 20_000)] / peaks[(label, 1_000)]
                    print(f"  {label}: peak(20 000) / peak(1 000) = {ratio:.2f}")
        finally:
            if child.stdin:
                child.stdin.close()
            child.wait(timeout=30)


if __name__ == "__main__":
    main()
