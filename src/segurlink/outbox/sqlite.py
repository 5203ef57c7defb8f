"""The embedded outbox: one SQLite file (standard library), WAL, claims under ``BEGIN IMMEDIATE``.

Every thread gets its own connection to the file (``sqlite3`` connections are not shared
between threads here). WAL lets readers (``segurlink outbox status``) work while a worker
writes; ``BEGIN IMMEDIATE`` takes the write lock at the start of a claim, so two workers —
threads or processes — never take the same job; ``synchronous=FULL`` makes a committed job
survive a power cut, not only a crash of the process. Workers of other processes learn of
new jobs by polling; those of this process are woken at once.

>>> store = SqliteStore("outbox.sqlite3")           # doctest: +SKIP
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError, InputError, OutboxError
from ._schema import CREATE_SCHEMA_TABLE, JOB_TABLE, MIGRATIONS, SCHEMA_TABLE, SCHEMA_VERSION
from .store import _COLUMNS, Clock, SqlStore, Transaction

__all__ = ["SqliteStore"]


class SqliteStore(SqlStore):
    """The outbox in the SQLite file ``path`` (created and migrated on open).

    ``busy_timeout`` is how long a writer waits for the file's write lock before
    :class:`~segurlink.errors.OutboxError`. ``migrate=False`` leaves the schema alone
    (for tests of the migrations).
    """

    dialect = "sqlite"

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Clock = time.time,
        busy_timeout: float = 30.0,
        migrate: bool = True,
    ) -> None:
        super().__init__(clock)
        if str(path) in ("", ":memory:"):
            raise ConfigurationError("the SQLite outbox needs a file: its workers share it")
        self.path = Path(path)
        self.description = f"sqlite:{self.path}"
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        # Writers of this process queue here instead of in SQLite's busy handler, which
        # sleeps (1, 2, 5, 10... ms) between tries: threads take the file's lock in turn.
        self._write_lock = threading.Lock()
        self._closed = False
        if migrate:
            self.migrate()

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- connections ---------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is not None:
            return connection
        if self._closed:
            raise OutboxError(f"the outbox store {self.description} is closed")
        try:
            if self.path.parent and not self.path.parent.exists():
                raise ConfigurationError(f"outbox store: no directory {self.path.parent}")
            if self.path.is_dir():
                raise ConfigurationError(f"outbox store: {self.path} is a directory, not a file")
            connection = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout,
                isolation_level=None,  # transactions are explicit: BEGIN IMMEDIATE / COMMIT
                check_same_thread=False,  # closed from the thread that closes the store
            )
            self._use_wal(connection)
            connection.execute("PRAGMA synchronous = FULL")
            connection.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as exc:
            if "not a database" in str(exc):  # a file that is something else: a wrong path
                raise ConfigurationError(
                    f"outbox store: {self.path} is not an outbox database (SQLite): {exc}"
                ) from exc
            raise OutboxError(f"cannot open the outbox {self.description}: {exc}") from exc
        except sqlite3.Error as exc:
            raise OutboxError(f"cannot open the outbox {self.description}: {exc}") from exc
        self._local.connection = connection
        with self._lock:
            self._connections.append(connection)
        return connection

    def _use_wal(self, connection: sqlite3.Connection) -> None:
        # Switching a new file to WAL needs it alone, and SQLite answers "locked" at once
        # (no busy handler) to the others opening it at the same moment: wait our turn.
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                connection.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def close(self) -> None:
        """Close every connection this store opened."""
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()
        self._local = threading.local()

    @contextmanager
    def _transaction(self, *, write: bool = True) -> Iterator[Transaction]:
        if write:
            with self._write_lock:
                with self._open_transaction(write=True) as tx:
                    yield tx
        else:
            with self._open_transaction(write=False) as tx:
                yield tx

    @contextmanager
    def _open_transaction(self, *, write: bool) -> Iterator[Transaction]:
        connection = self._connection()
        try:
            connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        except sqlite3.Error as exc:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise OutboxError(f"outbox {self.description}: {exc}") from exc

    @contextmanager
    def _caller_transaction(self, connection: Any) -> Iterator[Transaction]:
        if not isinstance(connection, sqlite3.Connection):
            raise InputError("the SQLite outbox takes a sqlite3.Connection to the same file")
        try:
            if connection.in_transaction or connection.isolation_level is not None:
                # The caller's transaction (sqlite3 opens it implicitly before the INSERT):
                # the job commits or rolls back with it.
                yield connection
            else:
                # An autocommit connection outside a transaction: make the job atomic.
                connection.execute("BEGIN IMMEDIATE")
                try:
                    yield connection
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
                connection.execute("COMMIT")
        except sqlite3.Error as exc:
            raise OutboxError(f"outbox {self.description}: {exc}") from exc

    def _claim_row(
        self, tx: Transaction, where: str, params: tuple[Any, ...], owner: str, lease_until: Any
    ) -> Any:
        # BEGIN IMMEDIATE holds the write lock: nobody else claims between these two.
        found = tx.execute(
            f"SELECT j.id FROM {JOB_TABLE} AS j WHERE {where} "
            "ORDER BY j.next_attempt_at, j.id LIMIT 1",
            params,
        ).fetchone()
        if found is None:
            return None
        return tx.execute(
            f"UPDATE {JOB_TABLE} SET state = 'running', attempts = attempts + 1, "
            "lease_owner = ?, lease_expires_at = ?, updated_at = ? "
            f"WHERE id = ? RETURNING {_COLUMNS}",
            (owner, lease_until, self._ts(self._clock()), found[0]),
        ).fetchone()

    # -- schema --------------------------------------------------------------------------

    def schema_version(self) -> int:
        with self._transaction(write=False) as tx:
            exists = tx.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (SCHEMA_TABLE,)
            ).fetchone()
            if exists is None:
                return 0
            row = tx.execute(f"SELECT max(version) FROM {SCHEMA_TABLE}").fetchone()
        return int(row[0] or 0)

    def migrate(self, target: int = SCHEMA_VERSION) -> int:
        """Apply the migrations up to ``target``; the version reached."""
        with self._transaction() as tx:
            tx.execute(CREATE_SCHEMA_TABLE["sqlite"])
            row = tx.execute(f"SELECT max(version) FROM {SCHEMA_TABLE}").fetchone()
            current = int(row[0] or 0)
            self._check_version(current)
            for version in range(current + 1, target + 1):
                for statement in MIGRATIONS["sqlite"][version - 1]:
                    tx.execute(statement)
                tx.execute(
                    f"INSERT INTO {SCHEMA_TABLE} (version, applied_at) VALUES (?, ?)",
                    (version, self._clock()),
                )
        return max(current, target)
