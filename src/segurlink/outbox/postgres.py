"""The outbox for fleets: PostgreSQL (psycopg 3 + psycopg-pool), ``FOR UPDATE SKIP LOCKED``.

Many workers on many machines share one database: a claim locks the row it takes and
skips the rows other workers hold, so claims never wait for each other. Queuing sends a
``NOTIFY segurlink_outbox`` in the queuing transaction, delivered when it commits: idle
workers (``LISTEN`` on one connection per store) wake at once instead of polling.

The tables live in the DUI's own database, so a job can be written with the DUI's own
connection, in its transaction (the *transactional outbox*): pass ``connection=`` to
:meth:`~segurlink.outbox.store.SqlStore.enqueue`, and the job exists if and only if the
DUI commits.

>>> store = PostgresStore("postgresql://outbox@db.example/dui")     # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..config import Secret
from ..errors import ConfigurationError, InputError, OutboxError
from ._schema import CREATE_SCHEMA_TABLE, JOB_TABLE, MIGRATIONS, SCHEMA_TABLE, SCHEMA_VERSION
from .store import _COLUMNS, Clock, SqlStore, Transaction

if TYPE_CHECKING:
    import psycopg
    import psycopg_pool

__all__ = ["CHANNEL", "PostgresStore"]

logger = logging.getLogger(__name__)

#: The LISTEN/NOTIFY channel of new jobs.
CHANNEL = "segurlink_outbox"
_MIGRATION_LOCK = 0x5E6_0B0C  # pg_advisory_xact_lock key: one migrator at a time


class _Tx:
    """A psycopg connection speaking the ``?`` placeholders of :class:`SqlStore`."""

    __slots__ = ("connection",)

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self.connection = connection

    def execute(self, sql: str, params: Any = (), /) -> Any:
        return self.connection.execute(sql.replace("?", "%s"), params)


class PostgresStore(SqlStore):
    """The outbox in a PostgreSQL database (tables created and migrated on open).

    ``conninfo`` is a libpq URL or key/value string; ``password`` may be given apart so it
    stays out of the settings' reprs (libpq's ``PGPASSWORD`` / ``.pgpass`` work too).
    ``max_connections`` bounds the pool the workers of this process share.
    """

    dialect = "postgres"

    def __init__(
        self,
        conninfo: str,
        *,
        clock: Clock = time.time,
        password: Secret | str | None = None,
        max_connections: int = 10,
        connect_timeout: float = 10.0,
        migrate: bool = True,
    ) -> None:
        super().__init__(clock)
        try:
            import psycopg
            import psycopg_pool
        except ImportError as exc:  # pragma: no cover - declared in the postgres extra
            raise ConfigurationError(
                "the PostgreSQL outbox needs psycopg 3: pip install 'segurlink[postgres]'"
            ) from exc
        self._psycopg = psycopg
        try:
            params = psycopg.conninfo.conninfo_to_dict(conninfo)
        except psycopg.ProgrammingError as exc:
            raise ConfigurationError(f"invalid PostgreSQL connection string: {exc}") from exc
        shown = {k: v for k, v in params.items() if k != "password"}
        self.description = "postgresql:" + psycopg.conninfo.make_conninfo("", **shown)
        self._conninfo = conninfo
        self._kwargs: dict[str, Any] = {"connect_timeout": max(1, int(connect_timeout))}
        if password is not None:
            self._kwargs["password"] = (
                password.reveal() if isinstance(password, Secret) else password
            )
        self._pool: psycopg_pool.ConnectionPool[Any] = psycopg_pool.ConnectionPool(
            conninfo,
            kwargs=self._kwargs,
            min_size=1,
            max_size=max(1, max_connections),
            open=False,
            timeout=connect_timeout,
            check=psycopg_pool.ConnectionPool.check_connection,
            name="segurlink-outbox",
        )
        try:
            self._pool.open(wait=True, timeout=connect_timeout)
        except psycopg.Error as exc:
            self._pool.close()
            raise OutboxError(f"cannot connect to the outbox {self.description}: {exc}") from exc
        self._closed = threading.Event()
        self._listening = threading.Event()
        self._connect_timeout = connect_timeout
        self._listener: threading.Thread | None = None
        self._listener_lock = threading.Lock()
        if migrate:
            try:
                self.migrate()
            except BaseException:
                self._pool.close()
                raise

    def __repr__(self) -> str:
        return f"PostgresStore({self.description!r})"

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop listening and close the pool."""
        self._closed.set()
        if self._listener is not None:
            self._listener.join(5)
        self._pool.close()

    # -- transactions --------------------------------------------------------------------

    @contextmanager
    def _transaction(self, *, write: bool = True) -> Iterator[Transaction]:
        if self._closed.is_set():
            raise OutboxError(f"the outbox store {self.description} is closed")
        try:
            # The pool commits at the end of the block, or rolls back on an exception.
            with self._pool.connection() as connection:
                yield _Tx(connection)
        except self._psycopg.Error as exc:
            raise OutboxError(f"outbox {self.description}: {exc}") from exc

    @contextmanager
    def _caller_transaction(self, connection: Any) -> Iterator[Transaction]:
        if not isinstance(connection, self._psycopg.Connection):
            raise InputError("the PostgreSQL outbox takes a psycopg (3) Connection")
        try:
            if connection.autocommit:
                # No caller transaction to join: make the job (row + blobs) atomic itself.
                with connection.transaction():
                    yield _Tx(connection)
            else:
                # The caller's transaction: the job commits or rolls back with it.
                yield _Tx(connection)
        except self._psycopg.Error as exc:
            raise OutboxError(f"outbox {self.description}: {exc}") from exc

    def _claim_row(
        self, tx: Transaction, where: str, params: tuple[Any, ...], owner: str, lease_until: Any
    ) -> Any:
        return tx.execute(
            f"UPDATE {JOB_TABLE} SET state = 'running', attempts = attempts + 1, "
            "lease_owner = ?, lease_expires_at = ?, updated_at = ? "
            f"WHERE id = (SELECT j.id FROM {JOB_TABLE} AS j WHERE {where} "
            "ORDER BY j.next_attempt_at, j.id LIMIT 1 FOR UPDATE SKIP LOCKED) "
            f"RETURNING {_COLUMNS}",
            (owner, lease_until, self._ts(self._clock()), *params),
        ).fetchone()

    def _after_enqueue(self, tx: Transaction) -> None:
        tx.execute("SELECT pg_notify(?, '')", (CHANNEL,))

    def _ts(self, seconds: float) -> Any:
        return dt.datetime.fromtimestamp(seconds, dt.UTC)

    def _time(self, value: Any) -> dt.datetime:
        if isinstance(value, dt.datetime):
            return value.astimezone(dt.UTC)
        return super()._time(value)

    def _json(self, value: Any) -> Any:
        from psycopg.types.json import Jsonb

        return Jsonb(value)

    # -- wake-up -------------------------------------------------------------------------

    def wake_token(self) -> int:
        self._start_listener()
        return super().wake_token()

    def _start_listener(self) -> None:
        with self._listener_lock:
            if self._listener is None and not self._closed.is_set():
                self._listener = threading.Thread(
                    target=self._listen, name="segurlink-outbox-listen", daemon=True
                )
                self._listener.start()
                # The first token is taken once LISTEN is in place (else: polling only).
                self._listening.wait(self._connect_timeout)

    def _listen(self) -> None:
        psycopg = self._psycopg
        while not self._closed.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True, **self._kwargs) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    # Jobs may have been queued while we were not listening.
                    self._notify_local()
                    self._listening.set()
                    while not self._closed.is_set():
                        for _ in conn.notifies(timeout=0.5, stop_after=1):
                            self._notify_local()
            except psycopg.Error as exc:
                logger.warning(
                    "outbox: LISTEN connection lost (%s); reconnecting", type(exc).__name__
                )
                self._closed.wait(1.0)

    # -- schema --------------------------------------------------------------------------

    def schema_version(self) -> int:
        with self._transaction(write=False) as tx:
            exists = tx.execute("SELECT to_regclass(?)", (SCHEMA_TABLE,)).fetchone()
            if exists is None or exists[0] is None:
                return 0
            row = tx.execute(f"SELECT max(version) FROM {SCHEMA_TABLE}").fetchone()
        return int(row[0] or 0)

    def migrate(self, target: int = SCHEMA_VERSION) -> int:
        """Apply the migrations up to ``target`` (one migrator at a time); the version."""
        with self._transaction() as tx:
            tx.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))
            tx.execute(CREATE_SCHEMA_TABLE["postgres"])
            row = tx.execute(f"SELECT max(version) FROM {SCHEMA_TABLE}").fetchone()
            current = int(row[0] or 0)
            self._check_version(current)
            for version in range(current + 1, target + 1):
                for statement in MIGRATIONS["postgres"][version - 1]:
                    tx.execute(statement)
                tx.execute(
                    f"INSERT INTO {SCHEMA_TABLE} (version, applied_at) VALUES (?, ?)",
                    (version, self._ts(self._clock())),
                )
        return max(current, target)
