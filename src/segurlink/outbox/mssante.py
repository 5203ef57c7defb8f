"""MSSanté job: send one message — builder and delivery.

SMTP cannot tell whether a message already arrived, so a send is made as harmless as it
can be when a worker dies between the operator's ``250`` and the outbox's record of it:

* the job's key is the message's **Message-ID**, derived from the caller's idempotency
  key (or the draft's own): a message sent again carries the same Message-ID, which mail
  clients show once, and the same key queued again is the same job;
* receipts (MDN, DSN) name that Message-ID: :meth:`~segurlink.outbox.Store.find` gives
  the job back from a receipt, with the ``reference`` the caller stored in it (its own
  correlation data, no health data).

The documents, readable PDF and attachments travel as blobs; the payload holds the rest
of the :class:`~segurlink.mssante.Draft` (addresses are health data for a patient's
mailbox: the payload never appears in a log, the result holds counts and codes only).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from .models import JobKind, NewJob

if TYPE_CHECKING:
    from ..config import Settings
    from ..mssante import Draft, MssClient, SendResult
    from .models import Job

__all__ = ["SEND", "draft_of", "mail_job", "message_id_for", "send_mail"]

#: Namespace of the Message-IDs derived from idempotency keys (uuid5).
MESSAGE_ID_NAMESPACE = uuid.UUID("5b0d1c3e-8f7a-4c62-9d2e-6a1f0b3c4d5e")


def _connect(settings: Settings) -> MssClient:
    from ..mssante import MssClient

    return MssClient.from_settings(settings)


def message_id_for(key: str, sender: str) -> str:
    """``<uuid5(key)@<sender's domain>>``: the Message-ID of the job with this key."""
    domain = sender.rpartition("@")[2].strip()
    if not domain:
        raise InputError("the sender is not an e-mail address")
    return f"<{uuid.uuid5(MESSAGE_ID_NAMESPACE, key)}@{domain}>"


def mail_job(
    draft: Draft,
    *,
    structure: str,
    key: str | None = None,
    notify: Iterable[str] = (),
    reference: Mapping[str, Any] | None = None,
    kind: str = "mssante.send",
    ordering_key: str | None = None,
) -> NewJob:
    """Send ``draft``; the job's key is its Message-ID.

    ``key`` (any string unique to this message for the caller) makes the Message-ID
    (:func:`message_id_for`) unless the draft carries one. ``notify`` asks for DSNs
    (``("SUCCESS", "FAILURE")``), ``reference`` is JSON kept with the job and echoed in
    its result (e.g. the caller's own message id). The patient's address must come from
    the document (``patient_from_document``): an ``IdentityRecord`` is not stored.
    """
    from ..mssante import normalize_message_id

    if draft.patient is not None:
        raise InputError(
            "a queued message takes the patient's address from the document "
            "(patient_from_document=True), not from an IdentityRecord"
        )
    if draft.message_id:
        message_id = normalize_message_id(draft.message_id)
    elif key:
        message_id = message_id_for(key, draft.sender)
    else:
        raise InputError("give an idempotency key, or a draft with its message_id")
    blobs: dict[str, bytes] = {}
    for n, document in enumerate(draft.documents, 1):
        blobs[f"document-{n:02d}"] = document
    if draft.readable_pdf is not None:
        blobs["pdf"] = draft.readable_pdf
    attachments = []
    for n, attachment in enumerate(draft.attachments, 1):
        blobs[f"attachment-{n:02d}"] = attachment.content
        attachments.append([attachment.filename, attachment.media_type])
    payload: dict[str, Any] = {
        "sender": draft.sender,
        "to": list(draft.to),
        "cc": list(draft.cc),
        "text": draft.text,
        "documents": len(draft.documents),
        "attachments": attachments,
        "patient_from_document": draft.patient_from_document,
        "patient_may_reply": draft.patient_may_reply,
        "action": draft.action,
        "receipt": draft.receipt,
        "in_reply_to": draft.in_reply_to,
        "references": list(draft.references),
        "subject": draft.subject,
        "reply_to": draft.reply_to,
        "message_id": message_id,
        "notify": [n.strip().upper() for n in notify],
        "reference": dict(reference or {}),
    }
    return NewJob(kind, structure, message_id, payload, blobs, ordering_key=ordering_key)


def draft_of(job: Job) -> Draft:
    """The :class:`~segurlink.mssante.Draft` a job was built from (blobs loaded)."""
    from ..mssante import Attachment, Draft

    p = job.payload
    documents = tuple(job.blob(f"document-{n:02d}") for n in range(1, int(p["documents"]) + 1))
    attachments = tuple(
        Attachment(str(name), job.blob(f"attachment-{n:02d}"), str(media_type))
        for n, (name, media_type) in enumerate(p.get("attachments") or (), 1)
    )
    return Draft(
        sender=str(p["sender"]),
        to=tuple(p.get("to") or ()),
        cc=tuple(p.get("cc") or ()),
        documents=documents,
        text=str(p.get("text") or ""),
        readable_pdf=job.blobs.get("pdf"),
        attachments=attachments,
        patient_from_document=bool(p.get("patient_from_document")),
        patient_may_reply=bool(p.get("patient_may_reply", True)),
        action=p.get("action"),
        receipt=bool(p.get("receipt", True)),
        in_reply_to=p.get("in_reply_to"),
        references=tuple(p.get("references") or ()),
        subject=str(p.get("subject") or ""),
        reply_to=p.get("reply_to"),
        message_id=str(p["message_id"]),
    )


def send_mail(client: MssClient, job: Job) -> SendResult:
    """Compose and submit the job's message (the core of :func:`deliver_send`)."""
    return client.send(draft_of(job), notify=tuple(job.payload.get("notify") or ()))


def deliver_send(client: MssClient, job: Job) -> Mapping[str, Any]:
    result = send_mail(client, job)
    return {
        "message_id": result.message_id,
        "accepted": len(result.accepted),
        "refused": [{"code": r.code, "status": r.enhanced_status} for r in result.refused],
        "reference": dict(job.payload.get("reference") or {}),
    }


SEND = JobKind("mssante.send", "mssante", _connect, deliver_send)
