"""The transactional outbox: a job written with the DUI's own connection lives or dies with
the DUI's transaction (PostgreSQL, and SQLite for an embedded DUI)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from segurlink.errors import InputError
from segurlink.outbox.models import NewJob
from segurlink.outbox.store import SqlStore


def job(key: str = "1.2.250.1.999.1.1.7") -> NewJob:
    return NewJob("dmp.deposit", "010000016", key, {"hidden_from": []}, {"cda": b"<cda/>"})


def _care_record_table(connection: Any) -> None:
    connection.execute("DROP TABLE IF EXISTS dui_document")
    connection.execute("CREATE TABLE dui_document (id TEXT PRIMARY KEY)")


def _record(connection: Any, backend: str, value: str) -> None:
    marker = "%s" if backend == "postgres" else "?"
    connection.execute(f"INSERT INTO dui_document (id) VALUES ({marker})", (value,))


def _records(connection: Any) -> list[str]:
    return [r[0] for r in connection.execute("SELECT id FROM dui_document").fetchall()]


def test_the_job_commits_with_the_callers_transaction(
    store: SqlStore, connect: Callable[..., Any], backend: str
) -> None:
    _care_record_table(connect(autocommit=True))
    dui = connect()
    _record(dui, backend, "doc-1")
    queued = store.enqueue(job(), connection=dui)
    assert queued.created
    # Not visible before the DUI commits. (SQLite has one writer: a claim would wait for
    # the DUI's transaction, so only PostgreSQL is asked for a claim here.)
    assert store.get(queued.job_id) is None
    assert store.status().total == 0
    if backend == "postgres":
        assert store.claim("w", 30) is None
    dui.commit()
    claimed = store.claim("w", 30)
    assert claimed is not None and claimed.id == queued.job_id
    assert claimed.blobs == {"cda": b"<cda/>"}
    assert _records(connect(autocommit=True)) == ["doc-1"]


def test_the_job_rolls_back_with_the_callers_transaction(
    store: SqlStore, connect: Callable[..., Any], backend: str
) -> None:
    _care_record_table(connect(autocommit=True))
    token = store.wake_token()
    dui = connect()
    _record(dui, backend, "doc-1")
    store.enqueue(job(), connection=dui)
    dui.rollback()
    assert store.claim("w", 30) is None
    assert store.status().total == 0
    assert _records(connect(autocommit=True)) == []
    assert not store.wait(token, 0.3)  # nothing committed, nobody woken
    # The key is free again: the DUI can queue it in its next transaction.
    assert store.enqueue(job()).created


def test_an_autocommit_connection_writes_the_job_at_once_and_whole(
    store: SqlStore, connect: Callable[..., Any]
) -> None:
    dui = connect(autocommit=True)
    queued = store.enqueue(job(), connection=dui)
    claimed = store.claim("w", 30)
    assert claimed is not None and claimed.id == queued.job_id
    assert claimed.blobs == {"cda": b"<cda/>"}


def test_idempotent_inside_the_callers_transaction(
    store: SqlStore, connect: Callable[..., Any]
) -> None:
    dui = connect()
    first = store.enqueue(job(), connection=dui)
    again = store.enqueue(job(), connection=dui)
    dui.commit()
    assert again.job_id == first.job_id and not again.created
    assert store.status().total == 1


def test_postgres_commit_wakes_listening_workers(pg_dsn: str) -> None:
    import psycopg

    from segurlink.outbox.postgres import PostgresStore

    with PostgresStore(pg_dsn) as worker_side, psycopg.connect(pg_dsn) as dui:
        token = worker_side.wake_token()
        PostgresStore(pg_dsn).enqueue(job(), connection=dui)
        assert not worker_side.wait(token, 0.3)  # not before the commit
        dui.commit()
        assert worker_side.wait(token, 20)


def test_a_foreign_connection_is_refused(store: SqlStore) -> None:
    with pytest.raises(InputError):
        store.enqueue(job(), connection=object())
