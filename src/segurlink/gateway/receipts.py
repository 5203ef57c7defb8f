"""What the APP mailbox brings back: receipts become ZAMs, documents become MDMs.

:func:`business_acks` is pure: a receipt (DSN, MDN, KO mail) of a mail the gateway sent,
with the reference that mail's job keeps (the original MSH-10, the receipts the producer
asked for), gives the ZAM^Z02 / ZAM^Z03 to send. :func:`inbound_jobs` is pure too: a
received message carrying an ``IHE_XDM.ZIP`` gives one ``gateway.inbound`` job per CDA,
its event (T02/T10/T04) from the XDM ``action`` slot.

:class:`MailboxWatcher` is the I/O: it reads the mailbox every ``interval`` seconds from
the last UID seen, finds each receipt's mail job by Message-ID
(:meth:`~segurlink.outbox.Store.find`) and queues the jobs. Queuing is idempotent (keys
from the Message-IDs), so reading the mailbox again from the start after a restart
queues nothing twice.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import InputError, SegurlinkError
from ..outbox.models import NewJob
from .jobs import INBOUND, MAIL, business_ack_job, smtp_error
from .models import APPLICATION_ERRORS, Action, BusinessAck, BusinessAckKind

if TYPE_CHECKING:
    from ..mssante import MssClient, Receipt, ReceivedMessage
    from ..outbox.store import Store

__all__ = ["DELIVERED_ACTIONS", "MailboxWatcher", "business_acks", "inbound_jobs"]

logger = logging.getLogger(__name__)

#: DSN actions (RFC 3464) that mean the recipient's server has the message.
DELIVERED_ACTIONS = frozenset({"delivered", "relayed", "expanded"})
_SMTP_CODE = re.compile(r"\b([245][0-9]{2})\b")
_ACTIONS = {"C": Action.REPLACE, "D": Action.DELETE}


def business_acks(receipt: Receipt, reference: Mapping[str, Any]) -> list[BusinessAck]:
    """The ZAMs a receipt gives, as far as the producer asked for them.

    DSN: ``delivered``/``relayed``/``expanded`` → Z02 ``Y``; ``failed`` → Z02 ``N`` with
    the SMTP code (``SMTPERRORCODE``); ``delayed`` → nothing yet. MDN → Z03 ``Y``, or ``N``
    with its 900-906 code (``applicationErrorCode``); a KO mail → Z03 ``N``.
    """
    from ..mssante import ReceiptKind

    control_id = str(reference.get("control_id") or "")
    if not control_id:
        return []
    person = str((reference.get("people") or {}).get(receipt.recipient.lower(), ""))
    if receipt.kind is ReceiptKind.DSN:
        if not reference.get("delivery_receipts"):
            return []
        if receipt.action in DELIVERED_ACTIONS:
            return [
                BusinessAck(
                    BusinessAckKind.MSS_DELIVERY, control_id, True, receipt.recipient, person
                )
            ]
        if receipt.action != "failed":
            return []
        found = _SMTP_CODE.search(receipt.diagnostic)
        code, label, system = smtp_error(found.group(1) if found else "", receipt.status)
        return [
            BusinessAck(
                BusinessAckKind.MSS_DELIVERY,
                control_id,
                False,
                receipt.recipient,
                person,
                error_code=code,
                error_label=label,
                error_system=system,
            )
        ]
    if not reference.get("read_receipts"):
        return []
    if receipt.ok:
        return [BusinessAck(BusinessAckKind.MSS_READ, control_id, True, receipt.recipient, person)]
    error = receipt.error
    code = str(error.code) if error is not None else "906"
    label = (error.label if error is not None else "") or APPLICATION_ERRORS.get(code, "")
    return [
        BusinessAck(
            BusinessAckKind.MSS_READ,
            control_id,
            False,
            receipt.recipient,
            person,
            error_code=code,
            error_label=label,
            error_system="applicationErrorCode",
        )
    ]


def inbound_jobs(message: ReceivedMessage, *, structure: str) -> list[NewJob]:
    """One ``gateway.inbound`` job per CDA of the message's XDM (none without an XDM)."""
    jobs: list[NewJob] = []
    for n, document in enumerate(message.documents, 1):
        if document.entry.mime_type not in ("", "text/xml"):
            continue
        action = _ACTIONS.get(document.entry.action.strip().upper(), Action.INITIAL)
        payload: dict[str, Any] = {
            "action": action.value,
            "message_id": message.message_id,
            "subject": message.subject,
            "body": message.text,
            "sender": message.sender,
            "recipients": list(message.recipients),
            "flags": {},
        }
        jobs.append(
            NewJob(
                INBOUND,
                structure,
                f"{message.message_id}/{n}",
                payload,
                {"cda": document.content},
                ordering_key=f"gateway-inbound:{structure}",
            )
        )
    return jobs


class MailboxWatcher:
    """Reads the APP mailbox and queues ZAMs for receipts and MDMs for documents.

    ``client`` reads the mailbox (an :class:`~segurlink.mssante.MssClient` on the APP
    mailbox), ``store`` the outbox the jobs go to, ``structure`` their FINESS. Call
    :meth:`poll` yourself, or :meth:`start` a thread that polls every ``interval`` s.
    """

    def __init__(
        self, client: MssClient, store: Store, *, structure: str, interval: float = 10.0
    ) -> None:
        if interval <= 0:
            raise ValueError("the mailbox poll interval must be positive")
        self.client = client
        self.store = store
        self.structure = structure
        self.interval = interval
        self.last_uid = 0
        self.counts: dict[str, int] = {"receipts": 0, "documents": 0, "ignored": 0, "failed": 0}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll(self) -> int:
        """Read what arrived since the last poll; the number of jobs queued (new ones)."""
        created = 0
        for message in self.client.messages(since_uid=self.last_uid):
            try:
                created += self._message(message)
            except SegurlinkError as exc:  # one bad message must not stop the others
                self.counts["failed"] += 1
                logger.warning(
                    "mailbox message uid %d not taken: %s", message.uid, type(exc).__name__
                )
            self.last_uid = max(self.last_uid, message.uid)
        return created

    def _message(self, message: ReceivedMessage) -> int:
        created = 0
        if message.receipts:
            for receipt in message.receipts:
                self.counts["receipts"] += 1
                job = self.store.find(MAIL, self.structure, receipt.original_message_id)
                if job is None:
                    continue  # not a mail of the gateway
                reference = job.payload.get("reference") or {}
                for ack in business_acks(receipt, reference):
                    # One ZAM per mail, recipient and outcome: a mail sent again after a
                    # crash (same Message-ID) brings its receipts again, not new ZAMs.
                    job_ = business_ack_job(
                        ack,
                        structure=self.structure,
                        producer=reference.get("producer") or ["", ""],
                        processing_id=str(reference.get("processing_id") or "P"),
                        discriminator=receipt.original_message_id,
                    )
                    try:
                        created += self.store.enqueue(job_).created
                    except InputError:  # the same outcome reported with another detail
                        self.counts["ignored"] += 1
            return created
        jobs = inbound_jobs(message, structure=self.structure)
        if not jobs:
            self.counts["ignored"] += 1
        for inbound in jobs:
            self.counts["documents"] += 1
            created += self.store.enqueue(inbound).created
        return created

    def start(self) -> MailboxWatcher:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="gateway-mailbox", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll()
            except SegurlinkError as exc:  # the operator is down: try again next time
                logger.warning("mailbox not read: %s", type(exc).__name__)
            self._stop.wait(self.interval)
