"""The store rules, on SQLite and on PostgreSQL alike (every test runs on both)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from segurlink.errors import ConfigurationError, InputError, OutboxError
from segurlink.outbox import open_store
from segurlink.outbox.models import JobError, JobState, NewJob
from segurlink.outbox.store import SqlStore
from tests.outbox.conftest import FakeClock, StoreFactory

CDA = b"<ClinicalDocument>...</ClinicalDocument>"
PDF = b"%PDF-1.4 ..."


def new(key: str = "1.2.3.4", *, structure: str = "010000016", **kwargs: Any) -> NewJob:
    kwargs.setdefault("payload", {"hidden_from": ["MASQUE_PS"], "title": "Plan d'accompagnement"})
    kwargs.setdefault("blobs", {"cda": CDA})
    return NewJob(kwargs.pop("kind", "dmp.deposit"), structure, key, **kwargs)


ERROR = JobError("TransportTimeout", "", "no answer within the timeout")


# -- queuing ---------------------------------------------------------------------------------


def test_enqueue_is_idempotent_per_kind_structure_and_key(store: SqlStore) -> None:
    first = store.enqueue(new("1.2.3.4"))
    again = store.enqueue(new("1.2.3.4"))
    assert first.created and not again.created
    assert again.job_id == first.job_id
    other_structure = store.enqueue(new("1.2.3.4", structure="010000024"))
    other_kind = store.enqueue(new("1.2.3.4", kind="dmp.replace"))
    assert len({first.job_id, other_structure.job_id, other_kind.job_id}) == 3
    assert store.status().count("pending") == 3


def test_same_key_with_other_content_is_refused(store: SqlStore) -> None:
    store.enqueue(new("1.2.3.4"))
    with pytest.raises(InputError, match="other content"):
        store.enqueue(new("1.2.3.4", blobs={"cda": CDA + b" "}))
    with pytest.raises(InputError, match="other content"):
        store.enqueue(new("1.2.3.4", payload={"hidden_from": []}))
    assert store.status().count("pending") == 1


def test_enqueue_all_writes_every_job_in_order_or_none(store: SqlStore) -> None:
    first, second = store.enqueue_all(
        [new("m1", kind="dmp.deposit"), new("m1", kind="mssante.send")]
    )
    assert first.created and second.created and first.job_id < second.job_id
    again = store.enqueue_all([new("m1", kind="dmp.deposit"), new("m1", kind="mssante.send")])
    assert [(q.job_id, q.created) for q in again] == [(first.job_id, False), (second.job_id, False)]
    # the second job conflicts with a queued one: the first is not written either
    with pytest.raises(InputError, match="other content"):
        store.enqueue_all([new("m2"), new("m1", kind="mssante.send", payload={"other": 1})])
    assert store.find("dmp.deposit", "010000016", "m2") is None
    assert store.status().count("pending") == 2
    assert store.enqueue_all([]) == []


def test_a_job_round_trips_payload_blobs_and_fields(store: SqlStore, clock: FakeClock) -> None:
    payload = {"title": "Projet personnalisé — été", "codes": [1, 2.5, None, True], "n": {"a": 1}}
    queued = store.enqueue(new(payload=payload, blobs={"cda": CDA, "pdf": PDF}, ordering_key="s1"))
    job = store.get(queued.job_id, blobs=True)
    assert job is not None
    assert job.payload == payload
    assert job.blobs == {"cda": CDA, "pdf": PDF}
    assert (job.kind, job.structure, job.key, job.ordering_key) == (
        "dmp.deposit",
        "010000016",
        "1.2.3.4",
        "s1",
    )
    assert job.state is JobState.PENDING and job.attempts == 0
    assert job.created_at.timestamp() == job.next_attempt_at.timestamp() == clock.now
    assert job.retry_since == job.created_at
    assert job.last_error is None and job.result is None and job.lease_owner is None
    assert store.get(queued.job_id).blobs == {}  # type: ignore[union-attr]
    assert store.get(10_000) is None


def test_repr_of_a_job_shows_no_payload(store: SqlStore) -> None:
    queued = store.enqueue(new(payload={"ins": "275126322074974"}))
    job = store.get(queued.job_id, blobs=True)
    assert "2751263" not in repr(job) and "Clinical" not in repr(job)
    assert "2751263" not in repr(new(payload={"ins": "275126322074974"}))


# -- claiming --------------------------------------------------------------------------------


def test_claim_takes_a_job_under_a_lease_and_counts_the_attempt(
    store: SqlStore, clock: FakeClock
) -> None:
    queued = store.enqueue(new(blobs={"cda": CDA, "pdf": PDF}))
    job = store.claim("w1", 30.0)
    assert job is not None and job.id == queued.job_id
    assert job.state is JobState.RUNNING and job.attempts == 1
    assert job.lease_owner == "w1"
    assert job.lease_expires_at is not None
    assert job.lease_expires_at.timestamp() == clock.now + 30.0
    assert job.blobs == {"cda": CDA, "pdf": PDF}
    assert store.claim("w2", 30.0) is None


def test_claim_takes_the_oldest_due_job_first(store: SqlStore, clock: FakeClock) -> None:
    a = store.enqueue(new("a")).job_id
    clock.advance(1)
    b = store.enqueue(new("b")).job_id
    clock.advance(1)
    c = store.enqueue(new("c")).job_id
    first = store.claim("w", 60)
    assert first is not None and first.id == a
    store.reschedule(a, "w", 0.5, ERROR)  # due again at now + 0.5: after b and c
    assert [store.claim("w", 60).id for _ in range(2)] == [b, c]  # type: ignore[union-attr]
    assert store.claim("w", 60) is None
    clock.advance(0.5)
    assert store.claim("w", 60).id == a  # type: ignore[union-attr]


def test_a_rescheduled_job_waits_for_its_time(store: SqlStore, clock: FakeClock) -> None:
    job_id = store.enqueue(new()).job_id
    store.claim("w", 60)
    assert store.reschedule(job_id, "w", 10.0, ERROR)
    job = store.get(job_id)
    assert job is not None and job.state is JobState.PENDING
    assert job.next_attempt_at.timestamp() == clock.now + 10.0
    assert job.last_error == ERROR and job.lease_owner is None
    clock.advance(9.99)
    assert store.claim("w", 60) is None
    clock.advance(0.01)
    again = store.claim("w", 60)
    assert again is not None and again.attempts == 2
    with pytest.raises(ValueError):
        store.reschedule(job_id, "w", -1.0, ERROR)


def test_a_job_held_by_a_dead_worker_is_claimed_again_after_its_lease(
    store: SqlStore, clock: FakeClock
) -> None:
    job_id = store.enqueue(new()).job_id
    assert store.claim("crashed", 10.0) is not None
    clock.advance(9.9)
    assert store.claim("w2", 10.0) is None
    clock.advance(0.1)
    job = store.claim("w2", 10.0)
    assert job is not None and job.id == job_id and job.attempts == 2
    assert job.lease_owner == "w2" and job.blobs == {"cda": CDA}
    # The first worker lost its lease: nothing it says changes the job any more.
    assert not store.complete(job_id, "crashed", {"late": True})
    assert not store.reschedule(job_id, "crashed", 1, ERROR)
    assert not store.bury(job_id, "crashed", ERROR)
    assert not store.release(job_id, "crashed")
    assert not store.extend(job_id, "crashed", 60)
    assert store.get(job_id).state is JobState.RUNNING  # type: ignore[union-attr]
    assert store.complete(job_id, "w2", {"ok": 1})


def test_extending_the_lease_keeps_the_job(store: SqlStore, clock: FakeClock) -> None:
    job_id = store.enqueue(new()).job_id
    store.claim("w1", 10.0)
    clock.advance(8)
    assert store.extend(job_id, "w1", 10.0)
    clock.advance(8)
    assert store.claim("w2", 10.0) is None
    clock.advance(2)
    assert store.claim("w2", 10.0) is not None


def test_complete_records_the_result_and_drops_the_blobs(store: SqlStore) -> None:
    job_id = store.enqueue(new(blobs={"cda": CDA, "pdf": PDF})).job_id
    store.claim("w", 60)
    assert store.complete(job_id, "w", {"already_deposited": True, "unique_id": "1.2.3.4"})
    job = store.get(job_id, blobs=True)
    assert job is not None and job.state is JobState.DONE
    assert job.result == {"already_deposited": True, "unique_id": "1.2.3.4"}
    assert job.blobs == {} and job.lease_owner is None and job.lease_expires_at is None
    assert store.claim("w", 60) is None
    assert not store.complete(job_id, "w", {})  # done is final


def test_bury_keeps_the_blobs_for_a_retry(store: SqlStore, clock: FakeClock) -> None:
    job_id = store.enqueue(new()).job_id
    store.claim("w", 60)
    refused = JobError("XdsError", "XDSUnknownPatientId", "the patient has no DMP")
    assert store.bury(job_id, "w", refused)
    job = store.get(job_id, blobs=True)
    assert job is not None and job.state is JobState.DEAD
    assert job.last_error == refused and job.blobs == {"cda": CDA}
    assert store.claim("w", 60) is None
    assert [j.id for j in store.jobs(JobState.DEAD)] == [job_id]
    assert store.jobs("pending") == []


def test_release_gives_the_job_back_untried(store: SqlStore) -> None:
    job_id = store.enqueue(new()).job_id
    store.claim("w", 60)
    assert store.release(job_id, "w")
    job = store.get(job_id)
    assert job is not None and job.state is JobState.PENDING and job.attempts == 0
    assert store.claim("w2", 60).attempts == 1  # type: ignore[union-attr]


def test_long_error_messages_are_cut(store: SqlStore) -> None:
    job_id = store.enqueue(new()).job_id
    store.claim("w", 60)
    store.bury(job_id, "w", JobError("ServiceError", "X", "é" * 5000))
    job = store.get(job_id)
    assert job is not None and job.last_error is not None
    assert job.last_error.message == "é" * 1000


def test_a_lease_must_be_positive(store: SqlStore) -> None:
    with pytest.raises(ValueError):
        store.claim("w", 0)


# -- ordering chains --------------------------------------------------------------------------


def test_a_chain_is_delivered_in_order(store: SqlStore, clock: FakeClock) -> None:
    a = store.enqueue(new("v1", ordering_key="doc-set-1")).job_id
    b = store.enqueue(new("v2", ordering_key="doc-set-1", kind="dmp.replace")).job_id
    c = store.enqueue(new("other", ordering_key="doc-set-2")).job_id
    d = store.enqueue(new("free")).job_id
    taken = [store.claim("w", 60).id for _ in range(3)]  # type: ignore[union-attr]
    assert taken == [a, c, d]
    assert store.claim("w", 60) is None  # b waits for a, which is running
    store.reschedule(a, "w", 5, ERROR)
    clock.advance(10)
    assert store.claim("w", 60).id == a  # type: ignore[union-attr]
    assert store.claim("w", 60) is None  # a pending for a retry still holds b back
    store.complete(a, "w", {})
    assert store.claim("w", 60).id == b  # type: ignore[union-attr]


def test_a_dead_job_does_not_hold_its_chain(store: SqlStore) -> None:
    a = store.enqueue(new("v1", ordering_key="k")).job_id
    b = store.enqueue(new("v2", ordering_key="k")).job_id
    store.claim("w", 60)
    store.bury(a, "w", ERROR)
    assert store.claim("w", 60).id == b  # type: ignore[union-attr]


def test_claims_filter_structures_and_kinds(store: SqlStore) -> None:
    mine = store.enqueue(new("a", structure="010000016")).job_id
    theirs = store.enqueue(new("b", structure="010000024")).job_id
    ror = store.enqueue(new("c", kind="ror.capacity")).job_id
    assert store.claim("w", 60, structures=[]) is None
    assert store.claim("w", 60, kinds=()) is None
    assert store.claim("w", 60, structures=["010000024"]).id == theirs  # type: ignore[union-attr]
    assert store.claim("w", 60, kinds=["ror.capacity"]).id == ror  # type: ignore[union-attr]
    assert store.claim("w", 60, structures={"010000016"}, kinds=["ror.capacity"]) is None
    assert store.claim("w", 60, structures={"010000016"}).id == mine  # type: ignore[union-attr]


# -- a person's actions ---------------------------------------------------------------------------


def test_retry_revives_a_dead_job_with_a_fresh_budget(store: SqlStore, clock: FakeClock) -> None:
    job_id = store.enqueue(new()).job_id
    store.claim("w", 60)
    store.bury(job_id, "w", ERROR)
    clock.advance(3600)
    job = store.retry(job_id)
    assert job.state is JobState.PENDING and job.attempts == 0
    assert job.next_attempt_at.timestamp() == clock.now
    assert job.retry_since.timestamp() == clock.now
    assert job.last_error == ERROR  # the reason stays visible until the next attempt
    claimed = store.claim("w", 60)
    assert claimed is not None and claimed.blobs == {"cda": CDA}


def test_retry_makes_a_waiting_job_due_now(store: SqlStore, clock: FakeClock) -> None:
    job_id = store.enqueue(new()).job_id
    store.claim("w", 60)
    store.reschedule(job_id, "w", 600, ERROR)
    assert store.claim("w", 60) is None
    store.retry(job_id)
    assert store.claim("w", 60).id == job_id  # type: ignore[union-attr]


def test_retry_refuses_unknown_running_and_done_jobs(store: SqlStore) -> None:
    with pytest.raises(InputError, match="no outbox job 42"):
        store.retry(42)
    job_id = store.enqueue(new()).job_id
    store.claim("w", 60)
    with pytest.raises(InputError, match="running"):
        store.retry(job_id)
    store.complete(job_id, "w", {})
    with pytest.raises(InputError, match="done"):
        store.retry(job_id)


def test_status_counts_by_kind_and_state_with_the_oldest_pending(
    store: SqlStore, clock: FakeClock
) -> None:
    assert store.status().total == 0 and store.status().oldest_pending_id is None
    first = store.enqueue(new("a")).job_id
    clock.advance(100)
    store.enqueue(new("b"))
    store.enqueue(new("c", kind="ror.capacity"))
    done = store.enqueue(new("d", kind="ror.capacity")).job_id
    clock.advance(20)
    assert store.claim("w", 60, kinds=["ror.capacity"]) is not None  # "c": running
    claimed = store.claim("w", 60, kinds=["ror.capacity"])
    assert claimed is not None and claimed.id == done
    store.complete(done, "w", {})
    report = store.status()
    by_kind = {k.kind: k for k in report.kinds}
    assert (by_kind["dmp.deposit"].pending, by_kind["dmp.deposit"].running) == (2, 0)
    assert (by_kind["ror.capacity"].running, by_kind["ror.capacity"].done) == (1, 1)
    assert report.count(JobState.PENDING) == 2 and report.count("dead") == 0
    assert report.total == 4
    assert report.oldest_pending_id == first
    assert report.oldest_pending_age == pytest.approx(120.0)
    assert report.schema_version == 2
    data = report.to_json()
    assert data["states"] == {"pending": 2, "running": 1, "done": 1, "dead": 0}
    assert data["oldest_pending"] == {"job": first, "age_seconds": pytest.approx(120.0)}


def test_purge_deletes_old_done_jobs_only(store: SqlStore, clock: FakeClock) -> None:
    old = store.enqueue(new("old")).job_id
    store.claim("w", 60)
    store.complete(old, "w", {})
    clock.advance(1000)
    recent = store.enqueue(new("recent")).job_id
    store.claim("w", 60)
    store.complete(recent, "w", {})
    pending = store.enqueue(new("pending")).job_id
    assert store.purge(older_than=500) == 1
    assert store.get(old) is None
    assert store.get(recent) is not None and store.get(pending) is not None


def test_jobs_lists_newest_change_first_with_a_limit(store: SqlStore, clock: FakeClock) -> None:
    ids = []
    for n in range(3):
        ids.append(store.enqueue(new(f"k{n}")).job_id)
        clock.advance(1)
    assert [j.id for j in store.jobs()] == ids[::-1]
    assert [j.id for j in store.jobs(limit=1)] == [ids[-1]]
    assert store.jobs(kind="ror.capacity") == []


# -- wake-up, concurrency ------------------------------------------------------------------------


def test_queuing_wakes_a_waiting_worker(store: SqlStore) -> None:
    token = store.wake_token()
    assert not store.wait(token, 0.05)
    woke = threading.Event()

    def waiter() -> None:
        if store.wait(token, 20):
            woke.set()

    thread = threading.Thread(target=waiter)
    thread.start()
    store.enqueue(new())
    thread.join(20)
    assert woke.is_set()


def test_concurrent_claims_never_share_a_job(store: SqlStore, open_store: StoreFactory) -> None:
    import time

    total = 60
    for n in range(total):
        store.enqueue(new(f"k{n}"))
    taken: list[int] = []
    lock = threading.Lock()
    # Real time here: each thread its own store, as separate processes would have.
    stores = [open_store(clock=time.time) for _ in range(4)]

    def work(worker: int) -> None:
        own = stores[worker]
        while (job := own.claim(f"w{worker}", 60)) is not None:
            with lock:
                taken.append(job.id)
            own.complete(job.id, f"w{worker}", {})

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(taken) == sorted(set(taken)) and len(taken) == total
    assert store.status().count("done") == total


# -- failures --------------------------------------------------------------------------------


def test_a_closed_store_says_so(store: SqlStore) -> None:
    store.close()
    with pytest.raises(OutboxError, match="closed"):
        store.status()


def test_the_sqlite_file_needs_an_existing_directory(tmp_path: Any) -> None:
    with pytest.raises(ConfigurationError, match="no directory"):
        open_store(str(tmp_path / "missing" / "outbox.sqlite3"))
    with pytest.raises(ConfigurationError, match="file"):
        open_store(":memory:")


def test_open_store_reads_locations(tmp_path: Any) -> None:
    from segurlink.outbox.sqlite import SqliteStore

    for location in (
        str(tmp_path / "a.sqlite3"),
        f"sqlite://{tmp_path}/b.sqlite3",
        f"sqlite:{tmp_path}/c.sqlite3",
    ):
        store = open_store(location)
        assert isinstance(store, SqliteStore) and store.path.parent == tmp_path
        store.close()
    with pytest.raises(ConfigurationError, match="postgresql://"):
        open_store("mysql://db/x")


def test_an_unreachable_postgres_is_an_outbox_error(tmp_path: Any) -> None:
    pytest.importorskip("psycopg")
    with pytest.raises(OutboxError, match="cannot connect"):
        open_store(f"postgresql://nobody@/x?host={tmp_path}&port=1", connect_timeout=1)


def test_postgres_descriptions_hide_the_password(pg_dsn: str) -> None:
    from segurlink.outbox.postgres import PostgresStore

    with PostgresStore(pg_dsn + "&password=hunter2") as store:
        assert "hunter2" not in store.description and "hunter2" not in repr(store)
        assert store.description.startswith("postgresql:")


def test_the_indexes_of_the_claim_and_status_queries_exist(
    store: SqlStore, connect: Any, backend: str
) -> None:
    sql = (
        "SELECT indexname FROM pg_indexes WHERE tablename = 'segurlink_outbox_job'"
        if backend == "postgres"
        else "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'segurlink_outbox_job'"
    )
    names = {row[0] for row in connect(autocommit=True).execute(sql).fetchall()}
    for suffix in ("due", "chain", "leases", "state"):
        assert f"segurlink_outbox_job_{suffix}" in names


def test_the_outbox_purges_by_age(store: SqlStore, clock: FakeClock) -> None:
    import datetime as dt

    from segurlink.outbox import Outbox

    job_id = store.enqueue(new()).job_id
    store.claim("w", 60)
    store.complete(job_id, "w", {})
    clock.advance(7200)
    outbox = Outbox(store)
    assert outbox.purge(dt.timedelta(hours=3)) == 0
    assert outbox.purge(dt.timedelta(hours=1)) == 1
    with pytest.raises(InputError):
        outbox.job(job_id)


# -- what a caller reads back, whole (issue 19: mutation testing) ------------------------------


def test_a_fresh_job_reads_back_whole(store: SqlStore, clock: FakeClock) -> None:
    import datetime as dt

    queued = store.enqueue(new())
    again = store.enqueue(new())
    assert (queued.created, again.created) == (True, False)
    job = store.get(queued.job_id)
    assert job is not None
    when = dt.datetime.fromtimestamp(clock.now, dt.UTC)
    assert (job.created_at, job.updated_at, job.retry_since, job.next_attempt_at) == (
        when, when, when, when,
    )  # fmt: skip
    assert job.created_at.tzinfo is dt.UTC
    assert (job.state, job.attempts, job.lease_owner, job.lease_expires_at) == (
        JobState.PENDING, 0, None, None,
    )  # fmt: skip
    assert (job.last_error, job.result) == (None, None)


def test_an_error_without_code_or_message_reads_back_empty(store: SqlStore) -> None:
    job_id = store.enqueue(new()).job_id
    store.claim("w", 60)
    store.bury(job_id, "w", JobError("Bug"))
    job = store.get(job_id)
    assert job is not None and job.last_error == JobError("Bug", "", "")


def test_the_refusal_of_other_content_names_the_queued_job(store: SqlStore) -> None:
    job_id = store.enqueue(new("1.2.3.4")).job_id
    with pytest.raises(InputError) as info:
        store.enqueue(new("1.2.3.4", blobs={"cda": CDA + b" "}))
    assert str(info.value) == (
        "a dmp.deposit job with key '1.2.3.4' is already queued for structure 010000016 with "
        f"other content (job {job_id})"
    )


def test_leases_and_delays_at_their_bounds(store: SqlStore, clock: FakeClock) -> None:
    with pytest.raises(InputError) as info:
        store.claim("w", 0)
    assert str(info.value) == "the lease must be positive"
    job_id = store.enqueue(new()).job_id
    claimed = store.claim("w", 0.5)
    assert claimed is not None and claimed.id == job_id
    with pytest.raises(InputError) as info:
        store.reschedule(job_id, "w", -0.1, ERROR)
    assert str(info.value) == "a retry delay cannot be negative"
    assert store.reschedule(job_id, "w", 0, ERROR)  # due again at once
    assert store.claim("w", 60) is not None


def test_each_queued_job_moves_the_wake_token(store: SqlStore) -> None:
    tokens = [store.wake_token()]
    for key in ("a", "b", "c"):
        store.enqueue(new(key))
        tokens.append(store.wake_token())
    assert len(set(tokens)) == 4
    assert store.wait(tokens[1], 0.05)  # a token older than the last job wakes at once


def test_jobs_lists_100_by_default_and_filters_by_kind(store: SqlStore) -> None:
    for n in range(101):
        store.enqueue(new(f"k{n}", blobs={}))
    capacity = store.enqueue(new("c", kind="ror.capacity", blobs={})).job_id
    assert len(store.jobs()) == 100
    assert [j.id for j in store.jobs(kind="ror.capacity")] == [capacity]
    assert [j.id for j in store.jobs("pending", kind="ror.capacity")] == [capacity]


def test_the_status_of_an_empty_store_and_of_a_job_just_queued(store: SqlStore) -> None:
    from segurlink.outbox._schema import SCHEMA_VERSION

    assert store.status().schema_version == SCHEMA_VERSION
    job_id = store.enqueue(new()).job_id
    report = store.status()
    assert (report.oldest_pending_id, report.oldest_pending_age) == (job_id, 0.0)


def test_a_schema_newer_than_segurlink_is_refused(store: SqlStore) -> None:
    from segurlink.outbox._schema import SCHEMA_TABLE, SCHEMA_VERSION

    with store._transaction() as tx:
        tx.execute(
            f"INSERT INTO {SCHEMA_TABLE} (version, applied_at) VALUES (?, ?)",
            (SCHEMA_VERSION + 7, store._ts(0)),
        )
    with pytest.raises(ConfigurationError) as info:
        store.migrate()  # type: ignore[attr-defined]
    assert str(info.value) == (
        f"the outbox schema of {store.description} is v{SCHEMA_VERSION + 7}, newer than this "
        f"segurlink's v{SCHEMA_VERSION}: upgrade segurlink"
    )
