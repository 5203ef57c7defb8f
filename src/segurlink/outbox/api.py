"""The outbox as a DUI uses it: queue jobs, look at the queue, retry a dead job.

>>> outbox = Outbox.open("outbox.sqlite3")                       # doctest: +SKIP
>>> outbox.deposit(cda_bytes, hidden_from=[Audience.PATIENT])      # doctest: +SKIP
Enqueued(job_id=7, created=True)
>>> outbox.publish_capacity("1450000088/UF1234", CapacityUpdate(count=3))  # doctest: +SKIP

Every queuing method takes ``connection=``: the DUI's own database connection (sqlite3
or psycopg, on the database of the store), so the job is written in the DUI's transaction
and exists only if it commits.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError, InputError
from ._schema import JOB_TABLE
from .models import Enqueued, Job, JobState, NewJob, StatusReport
from .store import Clock, SqlStore, Store

if TYPE_CHECKING:
    from ..cda.models import Code
    from ..config import Settings
    from ..dmp import Audience
    from ..identity import Ins
    from ..mssante import Draft
    from ..ror import CapacityUpdate

__all__ = ["Outbox", "open_store"]


class Outbox:
    """Queue jobs in ``store`` and read its state (the workers deliver them)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @classmethod
    def open(cls, location: str, **options: Any) -> Outbox:
        """The outbox at ``location``: an SQLite file path or a ``postgresql://`` URL."""
        return cls(open_store(location, **options))

    @classmethod
    def from_settings(cls, settings: Settings) -> Outbox:
        """The outbox of the ``[outbox]`` table (default: an SQLite file by the settings)."""
        from .settings import OutboxSettings

        config = OutboxSettings.from_settings(settings)
        options: dict[str, Any] = {}
        if config.password is not None:
            options["password"] = config.password
        return cls(open_store(config.store, **options))

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Outbox({self.store.description!r})"

    # -- queuing -------------------------------------------------------------------------

    def enqueue(self, job: NewJob, *, connection: Any = None) -> Enqueued:
        """Queue a job built by a kind's builder (or by hand)."""
        return self.store.enqueue(job, connection=connection)

    def deposit(
        self,
        document: bytes,
        *,
        hidden_from: Iterable[Audience | str] = (),
        content_type: Code | None = None,
        structure: str | None = None,
        connection: Any = None,
    ) -> Enqueued:
        """Queue the DMP deposit of a CDA (checked now: a bad document is refused here)."""
        from .dmp import deposit_job

        job = deposit_job(
            document, structure=structure, hidden_from=hidden_from, content_type=content_type
        )
        return self.enqueue(job, connection=connection)

    def replace(
        self,
        document: bytes,
        *,
        hidden_from: Iterable[Audience | str] = (),
        content_type: Code | None = None,
        structure: str | None = None,
        connection: Any = None,
    ) -> Enqueued:
        """Queue a replacement (RPLC): delivered after the version it replaces."""
        from .dmp import replace_job

        job = replace_job(
            document, structure=structure, hidden_from=hidden_from, content_type=content_type
        )
        return self.enqueue(job, connection=connection)

    def hide(
        self,
        ins: Ins,
        unique_id: str,
        *,
        structure: str,
        audience: Audience | str = "MASQUE_PS",
        key: str | None = None,
        connection: Any = None,
    ) -> Enqueued:
        """Queue hiding the DMP entry ``unique_id`` from ``audience``."""
        return self._entry("dmp.hide", ins, unique_id, structure, audience, key, connection)

    def archive(
        self,
        ins: Ins,
        unique_id: str,
        *,
        structure: str,
        key: str | None = None,
        connection: Any = None,
    ) -> Enqueued:
        """Queue archiving the DMP entry ``unique_id``."""
        return self._entry("dmp.archive", ins, unique_id, structure, None, key, connection)

    def delete(
        self,
        ins: Ins,
        unique_id: str,
        *,
        structure: str,
        key: str | None = None,
        connection: Any = None,
    ) -> Enqueued:
        """Queue deleting the DMP entry ``unique_id``."""
        return self._entry("dmp.delete", ins, unique_id, structure, None, key, connection)

    def _entry(
        self,
        kind: str,
        ins: Ins,
        unique_id: str,
        structure: str,
        audience: Audience | str | None,
        key: str | None,
        connection: Any,
    ) -> Enqueued:
        from .dmp import entry_job

        chain = self._chain_of(structure, unique_id, connection)
        job = entry_job(
            kind, ins, unique_id, structure=structure, chain=chain, audience=audience, key=key
        )
        return self.enqueue(job, connection=connection)

    def _chain_of(self, structure: str, unique_id: str, connection: Any) -> str | None:
        """The ordering chain of the deposit (or replacement) of ``unique_id``, if queued.

        Read in the caller's transaction when there is one: a hide queued right after its
        deposit, in the same transaction, must wait for it.
        """
        if not isinstance(self.store, SqlStore):
            return None
        sql = (
            f"SELECT ordering_key FROM {JOB_TABLE} WHERE structure = ? AND idempotency_key = ? "
            "AND kind IN ('dmp.deposit', 'dmp.replace') ORDER BY id DESC LIMIT 1"
        )
        params = (structure, unique_id)
        if connection is not None:
            with self.store._caller_transaction(connection) as tx:
                row = tx.execute(sql, params).fetchone()
        else:
            with self.store._transaction(write=False) as tx:
                row = tx.execute(sql, params).fetchone()
        return None if row is None else str(row[0])

    def send_mail(
        self,
        draft: Draft,
        *,
        key: str | None = None,
        structure: str | None = None,
        notify: Iterable[str] = (),
        reference: Mapping[str, Any] | None = None,
        connection: Any = None,
    ) -> Enqueued:
        """Queue an MSSanté message; its job key is its Message-ID (see
        :mod:`segurlink.outbox.mssante`). ``structure`` (FINESS) defaults to the CDA
        author's organisation of the first document."""
        from .dmp import _header, _structure
        from .mssante import mail_job

        if structure is None:
            if not draft.documents:
                raise InputError("no structure: give the FINESS of the sending structure")
            structure = _structure(_header(draft.documents[0]), None)
        job = mail_job(draft, structure=structure, key=key, notify=notify, reference=reference)
        return self.enqueue(job, connection=connection)

    def publish_capacity(
        self,
        location_identifier: str,
        update: CapacityUpdate,
        *,
        structure: str | None = None,
        connection: Any = None,
    ) -> Enqueued:
        """Queue publishing a capacity indicator to the ROR (``update.updated``: when)."""
        from .ror import capacity_job

        job = capacity_job(location_identifier, update, structure=structure)
        return self.enqueue(job, connection=connection)

    # -- reading and a person's actions --------------------------------------------------

    def status(self) -> StatusReport:
        return self.store.status()

    def job(self, job_id: int) -> Job:
        """One job (without blobs); :class:`InputError` when unknown."""
        job = self.store.get(job_id)
        if job is None:
            raise InputError(f"no outbox job {job_id}")
        return job

    def dead(self, limit: int = 100) -> list[Job]:
        """The dead jobs, most recent first, with their reasons."""
        return self.store.jobs(JobState.DEAD, limit=limit)

    def retry(self, job_id: int) -> Job:
        """Make a dead job (or one waiting for its retry) due now, with a fresh budget."""
        return self.store.retry(job_id)

    def purge(self, older_than: dt.timedelta) -> int:
        """Delete the done jobs older than ``older_than``; how many."""
        return self.store.purge(older_than.total_seconds())


def open_store(location: str, *, clock: Clock = time.time, **options: Any) -> Store:
    """A store from a location: a ``postgresql://`` URL, or an SQLite file path.

    ``sqlite:///abs/path`` and ``sqlite:relative/path`` are accepted too. Options go to
    the store's constructor.

    >>> store = open_store("outbox.sqlite3")     # doctest: +SKIP
    """
    if location.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresStore

        return PostgresStore(location, clock=clock, **options)
    if location.startswith("sqlite:"):
        location = location.removeprefix("sqlite:")
        if location.startswith("///"):
            location = location[2:]
    if not location or "://" in location:
        raise ConfigurationError(
            f"outbox store {location!r}: give a file path or a postgresql:// URL"
        )
    from .sqlite import SqliteStore

    return SqliteStore(location, clock=clock, **options)
