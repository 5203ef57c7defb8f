"""The ``mssante.send`` job against the MSSanté mock, on SQLite and PostgreSQL: delivery,
its Message-ID derived from the key, idempotent queuing, lookup by Message-ID, retries of
temporary SMTP refusals, permanent refusals to dead."""

from __future__ import annotations

import email
from email import policy
from typing import Any

import pytest
from segurlink_mocks.mssante import APP_MAILBOX, PER_MAILBOX, MssMock

from segurlink._retry import RetryPolicy
from segurlink.config import Settings
from segurlink.errors import InputError, MssError
from segurlink.mssante import Draft
from segurlink.outbox import JobState, Outbox, Worker
from segurlink.outbox.classify import classify
from segurlink.outbox.mssante import draft_of, mail_job, message_id_for
from segurlink.outbox.store import SqlStore
from tests.dmp.factory import FINESS, cda, record
from tests.outbox.conftest import FakeClock

POLICY = RetryPolicy(initial=2.0, maximum=60.0, max_attempts=5, deadline=3600.0)


def _worker(store: SqlStore, settings: Settings, clock: FakeClock) -> Worker:
    return Worker(store, settings, clock=clock, rand=lambda: 0.5, policy=POLICY)


def _settings(mss_settings: Settings) -> Settings:
    tables = mss_settings.to_mapping()
    tables["structure"] = {"finess": FINESS, "name": "EHPAD SEGURLINK TEST"}
    return Settings.from_mapping(tables)


def _draft(**changes: Any) -> Draft:
    values: dict[str, Any] = {
        "sender": APP_MAILBOX,
        "to": (PER_MAILBOX,),
        "documents": (cda(),),
        "text": "Bonjour",
        "reply_to": PER_MAILBOX,
    }
    values.update(changes)
    return Draft(**values)


def test_a_message_is_sent_once_under_its_message_id(
    store: SqlStore, mss_mock: MssMock, mss_settings: Settings, clock: FakeClock
) -> None:
    outbox = Outbox(store)
    queued = outbox.send_mail(_draft(), key="dui-message-42", reference={"ours": "42"})
    again = outbox.send_mail(_draft(), key="dui-message-42", reference={"ours": "42"})
    assert (queued.created, again.created, again.job_id) == (True, False, queued.job_id)
    message_id = message_id_for("dui-message-42", APP_MAILBOX)
    found = store.find("mssante.send", FINESS, message_id)
    assert found is not None and found.id == queued.job_id
    assert found.payload["reference"] == {"ours": "42"}

    with _worker(store, _settings(mss_settings), clock) as w:
        delivery = w.run_once()
        assert w.run_once() is None
    assert delivery is not None and delivery.outcome == "done"
    job = store.get(queued.job_id)
    assert job is not None and job.state is JobState.DONE
    assert job.result == {
        "message_id": message_id,
        "accepted": 1,
        "refused": [],
        "reference": {"ours": "42"},
    }
    (raw,) = mss_mock.mailbox(PER_MAILBOX)
    received = email.message_from_bytes(raw, policy=policy.default)
    assert (received["Message-ID"], received["Reply-To"]) == (message_id, PER_MAILBOX)
    assert "IHE_XDM.ZIP" in {p.get_filename() for p in received.iter_attachments()}


def test_the_draft_comes_back_from_the_job(store: SqlStore) -> None:
    draft = _draft(patient_from_document=True, patient_may_reply=False, action=None)
    job = mail_job(draft, structure=FINESS, key="k1", notify=["success"])
    queued = store.enqueue(job)
    stored = store.get(queued.job_id, blobs=True)
    assert stored is not None
    back = draft_of(stored)
    assert back.documents == draft.documents and back.to == draft.to
    assert (back.patient_from_document, back.patient_may_reply, back.reply_to) == (
        True,
        False,
        PER_MAILBOX,
    )
    assert back.message_id == job.key and stored.payload["notify"] == ["SUCCESS"]


def test_a_queued_message_needs_a_key_and_no_identity_record() -> None:
    with pytest.raises(InputError, match="idempotency key"):
        mail_job(_draft(), structure=FINESS)
    with pytest.raises(InputError, match="patient_from_document"):
        mail_job(_draft(patient=record()), structure=FINESS, key="k")


def test_a_temporary_refusal_is_retried_then_delivered(
    store: SqlStore, mss_mock: MssMock, mss_settings: Settings, clock: FakeClock
) -> None:
    queued = Outbox(store).send_mail(_draft(), key="k-temp", structure=FINESS)
    mss_mock.inject("tempfail")
    with _worker(store, _settings(mss_settings), clock) as w:
        first = w.run_once()
        assert first is not None and first.outcome == "retry"
        assert first.error is not None and first.error.code == "451"
        clock.advance(60)
        second = w.run_once()
    assert second is not None and second.outcome == "done"
    assert len(mss_mock.mailbox(PER_MAILBOX)) == 1
    assert store.get(queued.job_id).state is JobState.DONE  # type: ignore[union-attr]


def test_a_permanent_refusal_is_dead(
    store: SqlStore, mss_mock: MssMock, mss_settings: Settings, clock: FakeClock
) -> None:
    queued = Outbox(store).send_mail(
        _draft(to=("nobody@segurlink-test.mssante.fr",)), key="k-dead", structure=FINESS
    )
    with _worker(store, _settings(mss_settings), clock) as w:
        delivery = w.run_once()
    assert delivery is not None and delivery.outcome == "dead"
    job = store.get(queued.job_id)
    assert job is not None and job.last_error is not None
    assert (job.last_error.error_class, job.last_error.code) == ("MssError", "550")
    assert "nobody" not in job.last_error.message


@pytest.mark.parametrize(("code", "retry"), [(451, True), (421, True), (550, False), (552, False)])
def test_smtp_codes_are_classified(code: int, retry: bool) -> None:
    assert classify(MssError("refused", code=code)).retry is retry
