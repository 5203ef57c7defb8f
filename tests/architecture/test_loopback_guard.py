"""The suite's socket guard (tests/conftest.py) holds: nothing leaves loopback."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import NonLoopbackConnection


def test_a_connection_beyond_loopback_fails_the_test(_loopback_only: list[str]) -> None:
    with socket.socket() as sock, pytest.raises(NonLoopbackConnection):
        sock.connect(("192.0.2.1", 443))  # TEST-NET-1: never routed, never reached
    with pytest.raises(NonLoopbackConnection):
        socket.getaddrinfo("ror.esante.gouv.fr", 443)
    # Even a caller that swallowed the error would fail at teardown:
    assert _loopback_only == [
        "connect to ('192.0.2.1', 443)",
        "name lookup of 'ror.esante.gouv.fr'",
    ]
    _loopback_only.clear()


def test_loopback_stays_open() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=2):
            pass
    assert socket.getaddrinfo("localhost", 80)
