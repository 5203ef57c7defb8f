"""The fault matrix: every client against every way a peer can fail, on loopback.

Each service's client is configured as for its mock, then pointed at a hostile server
(``tests/hostile_server.py``) or at a closed port, with 1 s connect and read timeouts.
Every cell must end in a typed segurlink error (never a third-party exception, never a
hang) within a bound derived from the timeouts: a call never lasts longer than
connect + read per attempt, and the services that retry (Retry-After) stay within their
documented budget.

``SEGURLINK_FAULT_MATRIX=path pytest tests/test_fault_matrix.py`` also writes the table
(exception and elapsed time of each cell) to ``path`` as Markdown.
"""

from __future__ import annotations

import os
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import pytest
import trustme

from segurlink.config import Settings
from segurlink.errors import SegurlinkError
from tests.hostile_server import HostileServer

CONNECT = 1.0
READ = 1.0
# One attempt is bounded by connect + read; the slack covers the client's own work (a TLS
# handshake, building a SOAP envelope) on a loaded 2-core machine.
SLACK = 1.5

SOAP = "application/soap+xml; charset=utf-8"

# fault -> (HostileServer arguments, or None for a closed port; TLS from the test PKI?)
HTTP_FAULTS: dict[str, dict[str, Any] | None] = {
    "refused": None,
    "silent": {"mode": "silent"},
    "reset": {"mode": "reset"},
    "trickle": {"mode": "trickle", "body": b"<" * 100, "interval": 0.25},
    "truncated": {"mode": "truncated", "body": b'{"a": 1', "declared": 5000},
    "http-500-html": {
        "mode": "fixed",
        "status": 500,
        "content_type": "text/html",
        "body": b"<html><body>Internal error</body></html>",
    },
    "http-503-retry-after": {
        "mode": "fixed",
        "status": 503,
        "content_type": "text/html",
        "headers": "Retry-After: 1\r\n",
        "body": b"<html>maintenance</html>",
    },
    "200-html": {
        "mode": "fixed",
        "content_type": "text/html",
        "body": b"<html><body>login portal</body></html>",
    },
    "200-garbage": {"mode": "fixed", "content_type": SOAP, "body": b"\x00\xff garbage \x80"},
    "200-empty": {"mode": "fixed", "content_type": "application/json", "body": b""},
    "endless": {"mode": "endless"},
    "untrusted-tls": {"mode": "fixed", "body": b"{}"},
}
MAIL_FAULTS = ["refused", "silent", "reset", "untrusted-tls"]

CELLS = [(s, f) for s in ("insi", "dmp", "psc", "ror", "annuaire") for f in HTTP_FAULTS] + [
    ("mssante", f) for f in MAIL_FAULTS
]

RESULTS: dict[tuple[str, str], tuple[str, float]] = {}


@pytest.fixture(scope="module", autouse=True)
def _write_the_table() -> Iterator[None]:
    yield
    target = os.environ.get("SEGURLINK_FAULT_MATRIX")
    if not target or not RESULTS:
        return
    services = sorted({s for s, _ in RESULTS}, key=[s for s, _ in CELLS].index)
    faults = list(HTTP_FAULTS)
    lines = ["| fault | " + " | ".join(services) + " |", "|---" * (len(services) + 1) + "|"]
    for fault in faults:
        row = []
        for service in services:
            cell = RESULTS.get((service, fault))
            row.append(f"`{cell[0]}` {cell[1]:.2f} s" if cell else "n/a")
        lines.append(f"| {fault} | " + " | ".join(row) + " |")
    Path(target).write_text("\n".join(lines) + "\n", encoding="utf-8")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def foreign_tls() -> ssl.SSLContext:
    """A server certificate from a CA the clients were never given."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


def _server(service: str, fault: str, segurlink_pki: Any, foreign: ssl.SSLContext) -> Any:
    spec = HTTP_FAULTS[fault]
    if service == "mssante" and fault == "reset":
        spec = {"mode": "hangup"}  # SMTP: the server speaks first
    if spec is None:
        return nullcontext(f"https://127.0.0.1:{_closed_port()}")
    context = (
        foreign
        if fault == "untrusted-tls"
        else segurlink_pki.server_ssl_context(require_client_cert=False)
    )
    arguments = {"content_type": SOAP, **spec}
    return HostileServer(arguments.pop("mode"), ssl_context=context, **arguments)


def _moved(settings: Settings, service: str, **table: str) -> Settings:
    data = settings.to_mapping()
    data[service] = {**data[service], **table}
    data["timeouts"] = {"connect": CONNECT, "read": READ}
    data["limits"] = {"max_answer_mb": 1}
    return Settings.from_mapping(data, base_dir=settings.base_dir)


def _insi(settings: Settings, url: str) -> Callable[[], object]:
    from segurlink.identity import IdentityTraits
    from segurlink.insi import InsiClient

    client = InsiClient.from_settings(_moved(settings, "insi", endpoint=url + "/lps"))
    traits = IdentityTraits.from_input(
        birth_name="ADRTROIS", first_names="DOMINIQUE", sex="F", birth_date="1997-02-26"
    )
    return lambda: client.search(traits)


def _dmp(settings: Settings, url: str) -> Callable[[], object]:
    from segurlink.dmp import DmpClient
    from tests.dmp import factory as f

    client = DmpClient.from_settings(_moved(settings, "dmp", endpoint=url + "/dmp"))
    return lambda: client.check(f.patient_ins(f.ZOE))


def _psc(settings: Settings, url: str) -> Callable[[], object]:
    from segurlink.psc import PscClient

    client = PscClient.from_settings(_moved(settings, "psc", issuer=url + "/realms/esante"))
    return lambda: client.metadata()


def _ror(settings: Settings, url: str) -> Callable[[], object]:
    from segurlink.ror import RorClient

    client = RorClient.from_settings(_moved(settings, "ror", token_url=url + "/token"))
    return lambda: client.organizations(name="EHPAD").first()


def _annuaire(settings: Settings, url: str) -> Callable[[], object]:
    from segurlink.mssante import AnnuaireClient

    client = AnnuaireClient.from_settings(_moved(settings, "annuaire", endpoint=url + "/fhir/v2"))
    return lambda: client.lookup(name="MARTIN")


def _mssante(settings: Settings, url: str) -> Callable[[], object]:
    import dataclasses

    from segurlink_mocks.mssante import APP_MAILBOX, REMOTE_PER_MAILBOX

    from segurlink.mssante import Draft, MemorySentStore, MssClient, MssSettings
    from tests.dmp.factory import cda

    port = int(url.rpartition(":")[2])
    mss = dataclasses.replace(
        MssSettings.from_settings(_moved(settings, "mssante")),
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="tls",
    )
    client = MssClient(mss, store=MemorySentStore())
    draft = Draft(sender=APP_MAILBOX, to=(REMOTE_PER_MAILBOX,), documents=(cda(),), text="x")
    return lambda: client.send(draft)


CALLS = {
    "insi": _insi,
    "dmp": _dmp,
    "psc": _psc,
    "ror": _ror,
    "annuaire": _annuaire,
    "mssante": _mssante,
}
FIXTURES = {
    "insi": "segurlink_mock_settings",
    "dmp": "dmp_settings",
    "psc": "psc_settings",
    "ror": "ror_settings",
    "annuaire": "annuaire_settings",
    "mssante": "mss_settings",
}


def _budget(service: str, fault: str) -> float:
    """The longest a cell may take: one attempt, or the attempts the service documents."""
    if fault == "http-503-retry-after" and service in ("ror", "annuaire"):
        # ROR and the Annuaire honour Retry-After on 429/503 (RetryPolicy): a few 1 s
        # waits, then give up.
        return 8.0
    return CONNECT + READ + SLACK


@pytest.mark.parametrize(("service", "fault"), CELLS, ids=[f"{s}-{f}" for s, f in CELLS])
def test_cell(
    service: str,
    fault: str,
    request: pytest.FixtureRequest,
    segurlink_pki: Any,
    foreign_tls: ssl.SSLContext,
) -> None:
    settings: Settings = request.getfixturevalue(FIXTURES[service])
    server: AbstractContextManager[Any] = _server(service, fault, segurlink_pki, foreign_tls)
    with server as target:
        url = target if isinstance(target, str) else target.url
        call = CALLS[service](settings, url)
        started = time.monotonic()
        with pytest.raises(Exception) as caught:
            call()
        elapsed = time.monotonic() - started
    RESULTS[(service, fault)] = (type(caught.value).__name__, elapsed)
    assert isinstance(caught.value, SegurlinkError), repr(caught.value)
    assert elapsed < _budget(service, fault), f"{elapsed:.2f} s"
