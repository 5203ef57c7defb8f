"""The versioned schema: a fresh database, an upgrade from v1, a newer database refused."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from segurlink.errors import ConfigurationError
from segurlink.outbox._schema import MIGRATIONS, SCHEMA_VERSION
from segurlink.outbox.models import JobState
from tests.outbox.conftest import FakeClock, StoreFactory


def _versions(connection: Any) -> list[int]:
    rows = connection.execute("SELECT version FROM segurlink_outbox_schema ORDER BY version")
    return [int(row[0]) for row in rows.fetchall()]


def test_the_schema_has_two_versions_for_both_databases() -> None:
    assert SCHEMA_VERSION == 2
    assert len(MIGRATIONS["sqlite"]) == len(MIGRATIONS["postgres"]) == SCHEMA_VERSION


def test_a_fresh_database_gets_the_current_schema_once(
    open_store: StoreFactory, connect: Callable[..., Any]
) -> None:
    store = open_store()
    assert store.schema_version() == SCHEMA_VERSION
    open_store()  # opening again applies nothing
    assert _versions(connect(autocommit=True)) == [1, 2]


def test_upgrade_from_v1_keeps_the_jobs_and_makes_them_deliverable(
    open_store: StoreFactory, connect: Callable[..., Any], backend: str, clock: FakeClock
) -> None:
    old = open_store(migrate=False)
    assert old.schema_version() == 0
    assert old.migrate(target=1) == 1  # type: ignore[attr-defined]
    assert old.schema_version() == 1
    connection = connect(autocommit=True)
    if backend == "postgres":
        row = connection.execute(
            "INSERT INTO segurlink_outbox_job (kind, structure, idempotency_key, fingerprint,"
            " payload, next_attempt_at, created_at, updated_at) VALUES ('dmp.deposit',"
            " '010000016', '1.2.3', 'f', '{\"hidden_from\": []}', to_timestamp(%s),"
            " to_timestamp(%s), to_timestamp(%s)) RETURNING id",
            (clock.now, clock.now, clock.now),
        ).fetchone()
        connection.execute(
            "INSERT INTO segurlink_outbox_blob VALUES (%s, 'cda', %s)", (row[0], b"<cda/>")
        )
    else:
        row = connection.execute(
            "INSERT INTO segurlink_outbox_job (kind, structure, idempotency_key, fingerprint,"
            " payload, next_attempt_at, created_at, updated_at) VALUES ('dmp.deposit',"
            " '010000016', '1.2.3', 'f', '{\"hidden_from\": []}', ?, ?, ?) RETURNING id",
            (clock.now, clock.now, clock.now),
        ).fetchone()
        connection.execute(
            "INSERT INTO segurlink_outbox_blob VALUES (?, 'cda', ?)", (row[0], b"<cda/>")
        )
    job_id = int(row[0])
    clock.advance(60)

    store = open_store()  # migrates to the current version
    assert store.schema_version() == SCHEMA_VERSION
    assert _versions(connection) == [1, 2]
    job = store.get(job_id, blobs=True)
    assert job is not None and job.state is JobState.PENDING
    assert job.payload == {"hidden_from": []} and job.blobs == {"cda": b"<cda/>"}
    assert job.retry_since == job.created_at  # v2's column filled from v1's data
    assert job.ordering_key is None and job.result is None
    claimed = store.claim("w", 30)
    assert claimed is not None and claimed.id == job_id
    assert store.complete(job_id, "w", {"already_deposited": False})
    assert store.get(job_id).result == {"already_deposited": False}  # type: ignore[union-attr]


def test_a_database_newer_than_this_segurlink_is_refused(
    open_store: StoreFactory, connect: Callable[..., Any], backend: str
) -> None:
    open_store()
    connection = connect(autocommit=True)
    marker = "%s" if backend == "postgres" else "?"
    applied = "now()" if backend == "postgres" else "0"
    connection.execute(
        f"INSERT INTO segurlink_outbox_schema (version, applied_at) VALUES ({marker}, {applied})",
        (SCHEMA_VERSION + 1,),
    )
    with pytest.raises(ConfigurationError, match=f"v{SCHEMA_VERSION + 1}, newer"):
        open_store()


def test_processes_opening_a_fresh_database_together_migrate_it_once(
    open_store: StoreFactory, connect: Callable[..., Any]
) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def opener() -> None:
        try:
            barrier.wait(10)
            open_store()
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert _versions(connect(autocommit=True)) == [1, 2]
