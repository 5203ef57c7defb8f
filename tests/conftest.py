"""Shared test fixtures: a clean environment and the path to ../shared when present."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
# ../shared next to the repository; a git worktree one level deeper finds it higher up.
SHARED = next(
    (p / "shared" for p in REPO.parents if (p / "shared" / "specs").is_dir()),
    REPO.parent / "shared",
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No SEGURLINK_* variable leaks into a test, and the mock state dir is private."""
    for name in list(os.environ):
        if name.startswith("SEGURLINK_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SEGURLINK_MOCK_DIR", str(tmp_path / "mock-state"))
    yield


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test with the reason."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: the official reference material is not available here")
    return path


# -- loopback only ------------------------------------------------------------------------

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


class NonLoopbackConnection(BaseException):
    """A test tried to reach a machine other than this one."""


def _is_loopback(host: Any) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Tests touch no network but loopback: a connection (or a name lookup) elsewhere fails
    the test, even when the code under test would have caught a connection error."""
    attempts: list[str] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
            attempts.append(f"connect to {address!r}")
            raise NonLoopbackConnection(f"tests may only connect to loopback, not {address!r}")

    def connect(self: socket.socket, address: Any) -> None:
        check(self, address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(self, address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not _is_loopback(host):
            attempts.append(f"name lookup of {host!r}")
            raise NonLoopbackConnection(f"tests may only resolve loopback names, not {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield attempts
    assert not attempts, f"a test reached beyond loopback: {attempts}"
