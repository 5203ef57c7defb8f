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


def _as_stored(new: Any) -> Any:
    """The job a store gives back for ``new``: its payload through JSON, its blobs."""
    import datetime as dt
    import json

    from segurlink.outbox import JobState
    from segurlink.outbox.models import Job

    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return Job(
        1, new.kind, new.structure, new.key, JobState.PENDING, 0, now, now, now, now,
        payload=json.loads(json.dumps(new.payload)), blobs=dict(new.blobs),
    )  # fmt: skip


def test_every_field_of_the_draft_comes_back_from_the_job() -> None:
    from dataclasses import replace

    from segurlink.mssante import Attachment

    draft = Draft(
        sender=APP_MAILBOX,
        to=(PER_MAILBOX, "b@x.mssante.fr"),
        cc=("c@x.mssante.fr", "d@x.mssante.fr"),
        documents=(cda(), cda(seed=3)),
        text="Bonjour",
        readable_pdf=b"%PDF-1.4 readable",
        attachments=(
            Attachment("a.txt", b"first", "text/plain"),
            Attachment("b.pdf", b"second", "application/pdf"),
        ),
        patient_from_document=True,
        patient_may_reply=False,
        action="replace",
        receipt=False,
        in_reply_to="<earlier@x.mssante.fr>",
        references=("<first@x.mssante.fr>", "<earlier@x.mssante.fr>"),
        subject="",
        reply_to="sec@x.mssante.fr",
    )
    new = mail_job(draft, structure=FINESS, key="k-every-field", notify=[" success", "Failure "])
    assert new.payload["notify"] == ["SUCCESS", "FAILURE"]
    assert set(new.blobs) == {
        "document-01", "document-02", "pdf", "attachment-01", "attachment-02",
    }  # fmt: skip
    assert draft_of(_as_stored(new)) == replace(draft, message_id=new.key)
    minimal = Draft(sender=APP_MAILBOX, to=(PER_MAILBOX,), subject="Objet", text="x")
    back = draft_of(_as_stored(mail_job(minimal, structure=FINESS, key="k-minimal")))
    assert back == replace(minimal, message_id=back.message_id)
    assert (back.readable_pdf, back.attachments, back.cc, back.action) == (None, (), (), None)


def test_the_message_id_of_a_key_is_stable_across_versions() -> None:
    # Jobs queued by a previous release are sent again under the same Message-ID.
    assert message_id_for("dui-message-42", "app@ehpad.mssante.fr") == (
        "<a18ddf00-56a1-5271-9a72-8b3eba5e1e56@ehpad.mssante.fr>"
    )
    assert message_id_for("k", "a@x.fr") != message_id_for("k2", "a@x.fr")
    with pytest.raises(InputError) as info:
        message_id_for("k", "no-domain@ ")
    assert str(info.value) == "the sender is not an e-mail address"


def test_a_draft_s_own_message_id_is_the_job_s_key() -> None:
    new = mail_job(_draft(message_id="  <Own.42@x.mssante.fr> "), structure=FINESS, key="ignored")
    assert new.key == new.payload["message_id"] == "<Own.42@x.mssante.fr>"
    assert (new.kind, new.structure, new.ordering_key) == ("mssante.send", FINESS, None)
    custom = mail_job(_draft(), structure=FINESS, key="k", kind="gateway.mail", ordering_key="o")
    assert (custom.kind, custom.ordering_key, custom.payload["reference"]) == (
        "gateway.mail",
        "o",
        {},
    )


def test_a_queued_message_needs_a_key_and_no_identity_record() -> None:
    with pytest.raises(InputError) as info:
        mail_job(_draft(), structure=FINESS)
    assert str(info.value) == "give an idempotency key, or a draft with its message_id"
    with pytest.raises(InputError) as info:
        mail_job(_draft(patient=record()), structure=FINESS, key="k")
    assert str(info.value) == (
        "a queued message takes the patient's address from the document "
        "(patient_from_document=True), not from an IdentityRecord"
    )


def test_a_job_queued_without_the_optional_fields_gets_their_defaults() -> None:
    # A payload that only has what every release wrote: the draft's defaults apply.
    new = mail_job(_draft(text="", receipt=True), structure=FINESS, key="k-old")
    stored = _as_stored(new)
    for name in ("text", "patient_may_reply", "receipt", "cc", "attachments", "references"):
        del stored.payload[name]
    back = draft_of(stored)
    assert (back.text, back.patient_may_reply, back.receipt) == ("", True, True)
    assert (back.cc, back.attachments, back.references) == ((), (), ())


def test_the_message_id_takes_the_domain_after_the_last_at_sign() -> None:
    # A quoted local part may hold an @ (RFC 5321): the domain is what follows the last one.
    message_id = message_id_for("k", '"dr@home"@x.mssante.fr')
    assert message_id.startswith("<") and message_id.count("@") == 1
    assert message_id.endswith("@x.mssante.fr>")


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
