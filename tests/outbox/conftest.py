"""Outbox fixtures: a throwaway PostgreSQL cluster, stores of both kinds, a clock to move.

``store`` is parametrised over SQLite and PostgreSQL: every test that uses it runs on
both, so the two stores keep the same semantics. In CI (``CI`` set by ``.ci/run``) a
PostgreSQL that cannot start fails the run; elsewhere those tests skip with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from segurlink.outbox.store import SqlStore
from tests.outbox.pgcluster import Cluster, ClusterUnavailable, drop_outbox_tables, start_cluster


class FakeClock:
    """Seconds since the epoch, moved by hand."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    try:
        cluster = start_cluster()
    except ClusterUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL tests: {exc}")
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_dsn(pg_cluster: Cluster) -> str:
    """The DSN of a database without outbox tables."""
    drop_outbox_tables(pg_cluster.dsn)
    return pg_cluster.dsn


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


StoreFactory = Callable[..., SqlStore]


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def location(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a store of ``backend`` lives for this test (a file, or the cluster's DSN)."""
    if backend == "postgres":
        return str(request.getfixturevalue("pg_dsn"))
    return str(tmp_path / "outbox.sqlite3")


@pytest.fixture
def open_store(backend: str, location: str, clock: FakeClock) -> Iterator[StoreFactory]:
    """Opens stores of ``backend`` on the test's database (the fake clock by default)."""
    from segurlink.outbox.postgres import PostgresStore
    from segurlink.outbox.sqlite import SqliteStore

    opened: list[SqlStore] = []

    def factory(**options: Any) -> SqlStore:
        options.setdefault("clock", clock)
        store: SqlStore = (
            PostgresStore(location, **options)
            if backend == "postgres"
            else SqliteStore(location, **options)
        )
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: StoreFactory) -> SqlStore:
    return open_store()


@pytest.fixture
def connect(backend: str, location: str) -> Iterator[Callable[..., Any]]:
    """Opens the caller's own connections to the test's database (closed at the end)."""
    import sqlite3

    opened: list[Any] = []

    def factory(autocommit: bool = False) -> Any:
        if backend == "postgres":
            import psycopg

            connection: Any = psycopg.connect(location, autocommit=autocommit)
        else:
            connection = sqlite3.connect(location, isolation_level=None if autocommit else "")  # type: ignore[arg-type]
        opened.append(connection)
        return connection

    yield factory
    for connection in opened:
        connection.close()


def write_settings(path: Path, tables: dict[str, dict[str, Any]]) -> Path:
    """A segurlink TOML settings file of ``tables`` (Secret values revealed)."""
    import json

    from segurlink.config import Secret

    def value(v: Any) -> str:
        if isinstance(v, Secret):
            v = v.reveal()
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        return json.dumps(str(v))  # a JSON string is a TOML basic string

    lines: list[str] = []
    for table, values in tables.items():
        lines.append(f"[{table}]")
        lines.extend(f"{key} = {value(v)}" for key, v in values.items() if v is not None)
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
