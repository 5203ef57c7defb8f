"""The session layer bounds every answer: its size while it is read, its duration streamed or not.

Hostile loopback servers (``tests.hostile_server``) send endless, lying, compressed or
trickling answers; each test checks the typed error and that the client stopped reading
(what the server managed to send), never how long something took.
"""

from __future__ import annotations

import time
import tracemalloc
from typing import Any

import pytest

from segurlink._http import bounded, build_session, request_errors
from segurlink.config import Limits, Settings, Timeouts, TlsConfig
from segurlink.errors import ConfigurationError, MalformedResponse, TransportTimeout
from tests.hostile_server import HostileServer

MIB = 1024 * 1024
# What the sockets may hold besides what the client read: the server's send buffer and
# the client's receive buffer, a few MiB on loopback.
SOCKET_SLACK = 16 * MIB


def _session(limit_mb: float = 1, *, read: float = 5.0, tls: TlsConfig | None = None) -> Any:
    return build_session(
        tls or TlsConfig(),
        Timeouts(connect=2.0, read=read),
        limits=Limits(max_answer_mb=limit_mb, max_download_mb=2 * limit_mb),
    )


def _get(session: Any, url: str, **kwargs: Any) -> Any:
    with request_errors(url):
        return session.get(url, **kwargs)


def test_endless_answer_fails_at_the_limit_and_memory_stays_bounded() -> None:
    with HostileServer("endless") as server, _session(1) as session:
        tracemalloc.start()
        try:
            with pytest.raises(MalformedResponse, match="larger than the 1 MiB limit"):
                _get(session, server.url + "/page")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        time.sleep(0.3)  # let the server notice the closed connection
    assert server.peer_closed == 1  # the client hung up: the server could not finish
    assert MIB < server.sent < MIB + SOCKET_SLACK
    assert peak < 8 * MIB  # an unbounded read would hold the 512 MiB the server offers


def test_declared_length_over_the_limit_fails_before_the_body_is_read() -> None:
    with HostileServer("declared", declared=300 * MIB) as server, _session(1) as session:
        with pytest.raises(MalformedResponse, match="announces 314572800 bytes"):
            _get(session, server.url)
        time.sleep(0.3)
    assert server.peer_closed == 1
    assert server.sent < SOCKET_SLACK


def test_compressed_bomb_is_counted_decoded() -> None:
    with HostileServer("gzip-bomb", cap=64 * MIB) as server, _session(1) as session:
        with pytest.raises(MalformedResponse, match="1 MiB limit"):
            _get(session, server.url)
    assert server.sent < MIB  # small on the wire, large once decoded


def test_answer_within_the_limit_is_untouched() -> None:
    body = b'{"ok": true}' + b" " * 500_000
    with HostileServer("fixed", body=body) as server, _session(1) as session:
        response = _get(session, server.url)
    assert response.status_code == 200 and response.content == body
    assert response.json() == {"ok": True}


def test_streamed_body_is_held_to_the_limit_too() -> None:
    with HostileServer("endless") as server, _session(1) as session:
        response = _get(session, server.url, stream=True)
        with pytest.raises(MalformedResponse), request_errors(server.url):
            for _ in response.iter_content(64 * 1024):
                pass


def test_streamed_download_takes_its_own_size_limit() -> None:
    # max_download_mb (2 MiB here) for a body streamed inside bounded(), not 1 MiB.
    with HostileServer("endless") as server, _session(1) as session:
        read = 0
        with bounded(max_stream_bytes=2 * MIB), pytest.raises(MalformedResponse):
            response = _get(session, server.url, stream=True)
            with request_errors(server.url):
                for chunk in response.iter_content(64 * 1024):
                    read += len(chunk)
    assert 1 * MIB < read <= 2 * MIB


def test_trickled_streamed_body_stops_at_connect_plus_read() -> None:
    # One byte every 0.2 s never trips the 1 s socket timeout: only the deadline of the
    # call (connect 2 + read 1 = 3 s) stops the 100-byte body (20 s at that pace).
    with HostileServer("trickle", body=b"x" * 100, interval=0.2) as server:
        with _session(read=1.0) as session:
            started = time.monotonic()
            response = _get(session, server.url, stream=True)
            with pytest.raises(TransportTimeout), request_errors(server.url):
                for _ in response.iter_content(1):
                    pass
            elapsed = time.monotonic() - started
    assert server.sent < 100
    assert elapsed < 10  # cut at the 3 s deadline, not after the 20 s the body would take


def test_bounded_gives_a_streamed_download_its_own_deadline() -> None:
    with HostileServer("trickle", body=b"x" * 100, interval=0.1) as server:
        with _session(read=1.0) as session:
            started = time.monotonic()
            with bounded(until=time.monotonic() + 5.0):
                response = _get(session, server.url, stream=True)
                with pytest.raises(TransportTimeout), request_errors(server.url):
                    for _ in response.iter_content(1):
                        pass
            elapsed = time.monotonic() - started
    # Past the 3 s of connect + read (the download has its own deadline), stopped at 5 s.
    assert 30 < server.sent < 100
    assert elapsed < 9


def test_tls_answers_are_bounded_the_same_way(segurlink_pki: Any) -> None:
    context = segurlink_pki.server_ssl_context(require_client_cert=False)
    tls = TlsConfig(ca_bundle=segurlink_pki.ca)
    with HostileServer("endless", ssl_context=context) as server, _session(1, tls=tls) as s:
        with pytest.raises(MalformedResponse):
            _get(s, server.url)
        time.sleep(0.3)
    assert MIB < server.sent < MIB + SOCKET_SLACK


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"max_answer_mb": 0}, "must be positive"),
        ({"max_answer_mb": "lots"}, "invalid setting"),
        ({"max_answer": 3}, "unknown \\[limits\\] key"),
    ],
)
def test_bad_limits_are_configuration_errors(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_mapping({"limits": table})


def test_limits_come_from_the_settings() -> None:
    settings = Settings.from_env(
        {"SEGURLINK_LIMITS__MAX_ANSWER_MB": "8", "SEGURLINK_LIMITS__MAX_DOWNLOAD_MB": "100"}
    )
    assert settings.limits == Limits(max_answer_mb=8, max_download_mb=100)
    assert settings.limits.max_answer_bytes == 8 * MIB
    assert Settings.from_mapping(settings.to_mapping()).limits == settings.limits
    assert Settings().limits.max_answer_bytes == 64 * MIB
