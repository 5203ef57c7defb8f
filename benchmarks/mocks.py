"""Mock server keep-alive: calls/s with HTTP/1.1 keep-alive vs one connection per call.

    python benchmarks/mocks.py [--calls 200]

Two INSi mocks in this process, as the pytest fixtures run them: one with keep-alive (the
default), one with ``keep_alive=False`` (every answer says ``Connection: close``, so every
call pays a new TCP connection and a mutual-TLS handshake: the mocks before keep-alive).
The same client calls each, interleaved rounds, the best round of each counts: segurlink's
``InsiClient`` (what the test suite does), and a bare pooled ``requests.Session`` posting
the same bytes. The ratios matter, not the absolute figures (they depend on the machine).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests
from segurlink_mocks import InsiMock, TestPki
from segurlink_mocks._core.installation import base_tables

from segurlink.config import Settings
from segurlink.identity import IdentityTraits
from segurlink.insi import InsiClient, TraitsQuery

PERSON = {"birth_name": "ADRUN", "first_names": "ZOE", "sex": "F", "birth_date": "1975-12-31"}


def _settings(pki: TestPki, mock: InsiMock) -> Settings:
    client = pki.client("insi-auto")
    tables: dict[str, dict[str, str | float]] = base_tables(pki)
    tables["insi"] = {"endpoint": mock.endpoint, "cert": str(client.cert), "key": str(client.key)}
    return Settings.from_mapping(tables)


def _rate(call: Callable[[], object], calls: int) -> float:
    for _ in range(min(10, calls)):  # warm-up: pools, caches
        call()
    started = time.perf_counter()
    for _ in range(calls):
        call()
    return calls / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        pki = TestPki.create(Path(tmp))
        with InsiMock(pki) as kept, InsiMock(pki, keep_alive=False) as closed:
            traits = IdentityTraits.from_input(**PERSON)
            query = TraitsQuery.from_traits(traits, with_birth_place=False)
            calls: dict[str, Callable[[], object]] = {}
            clients = []
            for label, mock in (("keep-alive", kept), ("close", closed)):
                client = InsiClient.from_settings(_settings(pki, mock))
                clients.append(client)
                request = client.messages.search_by_traits(query)
                session = requests.Session()
                session.trust_env = False  # REQUESTS_CA_BUNDLE would replace the test CA
                session.cert = pki.client("insi-auto").as_requests_cert()
                session.verify = str(pki.ca)

                def search(client: InsiClient = client) -> object:
                    result, _ = client.search_once(query)
                    assert result.found
                    return result

                def post(
                    session: requests.Session = session,
                    url: str = mock.endpoint,
                    body: bytes = request.body,
                    content_type: str = request.content_type,
                ) -> object:
                    answer = session.post(
                        url, data=body, headers={"Content-Type": content_type}, timeout=10
                    )
                    answer.raise_for_status()
                    return answer.content

                calls[f"InsiClient.search_once, {label}"] = search
                calls[f"requests.Session.post, {label}"] = post

            print(f"INSi mock in-process, mutual TLS, {args.calls} calls each, 3 rounds")
            best = dict.fromkeys(calls, 0.0)
            for round_no in range(1, 4):
                for name, call in calls.items():
                    rate = _rate(call, args.calls)
                    best[name] = max(best[name], rate)
                    print(f"round {round_no}  {name:<38} {rate:7.1f} calls/s")
            for client in clients:
                client.close()
            print()
            for name in ("InsiClient.search_once", "requests.Session.post"):
                ratio = best[f"{name}, keep-alive"] / best[f"{name}, close"]
                print(f"{name:<24} keep-alive / close = {ratio:5.2f}x")


if __name__ == "__main__":
    main()
