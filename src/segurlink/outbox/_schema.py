"""The versioned schema of the outbox, as ordered migrations per database.

Each migration is a list of statements applied in one transaction together with its row
in ``segurlink_outbox_schema``; a store migrates on open (SQLite under ``BEGIN
IMMEDIATE``, PostgreSQL under a transaction-scoped advisory lock, so two processes opening
a fresh database at once do not both migrate it). A database whose version is newer than
:data:`SCHEMA_VERSION` is refused: an older segurlink must not write to it.

Tables are prefixed ``segurlink_outbox_`` because they live in the DUI's own database
(that is what lets a job commit with the DUI's transaction).

* v1 — jobs (kind, structure, idempotency key and content fingerprint, JSON payload,
  state, attempts, next attempt time, lease, last error) and their blobs.
* v2 — ordering chains (``ordering_key``: a job waits for the older jobs of its chain),
  the delivery result, ``retry_since`` (the start of the retry budget, reset when a person
  retries a dead job), and the indexes of the claim, status and dead-list queries.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["BLOB_TABLE", "JOB_TABLE", "MIGRATIONS", "SCHEMA_TABLE", "SCHEMA_VERSION"]

Dialect = Literal["sqlite", "postgres"]

SCHEMA_TABLE = "segurlink_outbox_schema"
JOB_TABLE = "segurlink_outbox_job"
BLOB_TABLE = "segurlink_outbox_blob"

_STATES = "('pending', 'running', 'done', 'dead')"

_V1_SQLITE = [
    f"""CREATE TABLE {JOB_TABLE} (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        structure TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN {_STATES}),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL,
        lease_owner TEXT,
        lease_expires_at REAL,
        last_error_class TEXT,
        last_error_code TEXT,
        last_error_message TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        UNIQUE (kind, structure, idempotency_key)
    )""",
    f"""CREATE TABLE {BLOB_TABLE} (
        job_id INTEGER NOT NULL REFERENCES {JOB_TABLE} (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        content BLOB NOT NULL,
        PRIMARY KEY (job_id, name)
    )""",
    f"CREATE INDEX {JOB_TABLE}_due ON {JOB_TABLE} (next_attempt_at) WHERE state = 'pending'",
]

_V1_POSTGRES = [
    f"""CREATE TABLE {JOB_TABLE} (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        kind TEXT NOT NULL,
        structure TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        payload JSONB NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN {_STATES}),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TIMESTAMPTZ NOT NULL,
        lease_owner TEXT,
        lease_expires_at TIMESTAMPTZ,
        last_error_class TEXT,
        last_error_code TEXT,
        last_error_message TEXT,
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        UNIQUE (kind, structure, idempotency_key)
    )""",
    f"""CREATE TABLE {BLOB_TABLE} (
        job_id BIGINT NOT NULL REFERENCES {JOB_TABLE} (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        content BYTEA NOT NULL,
        PRIMARY KEY (job_id, name)
    )""",
    f"CREATE INDEX {JOB_TABLE}_due ON {JOB_TABLE} (next_attempt_at) WHERE state = 'pending'",
]


def _v2(json_type: str, time_type: str) -> list[str]:
    return [
        f"ALTER TABLE {JOB_TABLE} ADD COLUMN ordering_key TEXT",
        f"ALTER TABLE {JOB_TABLE} ADD COLUMN result {json_type}",
        f"ALTER TABLE {JOB_TABLE} ADD COLUMN retry_since {time_type}",
        f"UPDATE {JOB_TABLE} SET retry_since = created_at",
        f"CREATE INDEX {JOB_TABLE}_chain ON {JOB_TABLE} (ordering_key, id)"
        " WHERE state IN ('pending', 'running')",
        f"CREATE INDEX {JOB_TABLE}_leases ON {JOB_TABLE} (lease_expires_at)"
        " WHERE state = 'running'",
        f"CREATE INDEX {JOB_TABLE}_state ON {JOB_TABLE} (state, id)",
    ]


#: Statements of each version, per database; version n is ``MIGRATIONS[d][n - 1]``.
MIGRATIONS: dict[Dialect, list[list[str]]] = {
    "sqlite": [_V1_SQLITE, _v2("TEXT", "REAL")],
    "postgres": [_V1_POSTGRES, _v2("JSONB", "TIMESTAMPTZ")],
}

#: The version this segurlink writes.
SCHEMA_VERSION = len(MIGRATIONS["sqlite"])

CREATE_SCHEMA_TABLE: dict[Dialect, str] = {
    "sqlite": f"CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE} "
    "(version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)",
    "postgres": f"CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE} "
    "(version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)",
}
