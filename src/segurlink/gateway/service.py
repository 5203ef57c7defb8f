"""The gateway as a running platform: MLLP in, the rules, the outbox, the workers, the
APP mailbox, the ZAMs out. The I/O shell around :mod:`~segurlink.gateway.messages`,
:mod:`~segurlink.gateway.rules` and :mod:`~segurlink.gateway.jobs`.

:meth:`Gateway.handle` answers one message (it never raises): the guide's ``AE`` with its
``ERR`` when a rule is broken, ``AR`` when the platform cannot take it now (outbox
unavailable, a service not configured, an internal error), ``AA`` only once the message
is written in the outbox — a crash after that loses nothing, and the producer sending
the same message again (no ACK reached it) gets ``AA`` for the same job.

Logs (logger ``segurlink.gateway``): one INFO line per message with its type, event,
MSH-10, the ACK code, the error codes and the job; never a name, an INS, an address or
a document.
"""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self

from ..errors import ConfigurationError, Hl7Error, SegurlinkError, TransportError
from ..hl7.messages import parse_header
from ..hl7.models import AckCode, MessageHeader
from .jobs import GatewayContext, gateway_kinds, message_jobs
from .messages import document_ack, parse_document_message
from .models import DocumentMessage, Rejection
from .rules import Accepted, Policy, check
from .settings import GatewaySettings

if TYPE_CHECKING:
    from ..cda.validate import ValidationReport
    from ..config import Settings
    from ..hl7.mllp import MllpListener
    from ..outbox.models import JobKind
    from ..outbox.store import Store
    from ..outbox.worker import WorkerPool
    from .receipts import MailboxWatcher

__all__ = ["Gateway", "message_key"]

logger = logging.getLogger("segurlink.gateway")


def message_key(header: MessageHeader, text: str) -> str:
    """A message's idempotency key: MSH-3, MSH-4, MSH-10 and its content (SHA-256)."""
    digest = hashlib.sha256()
    for part in (header.sending_application, header.sending_facility, header.control_id):
        digest.update(part.encode("utf-8") + b"\x00")
    digest.update(text.encode("utf-8"))
    return digest.hexdigest()


class Gateway:
    """The document gateway of one structure.

    ``settings`` hold ``[structure]`` (FINESS), ``[dmp]`` and/or ``[mssante]`` (an APP
    mailbox: ``auth = "EXTERNAL"``), ``[outbox]`` and ``[gateway]``; ``reply`` is the
    producer's MLLP address (ZAMs, and MDMs for received mails). ``store`` defaults to the
    ``[outbox]`` store. ``validate`` replaces segurlink's CDA validator (tests).

    >>> with Gateway(settings, reply=("dui.local", 2576)).start(port=2575):  # doctest: +SKIP
    ...     ...
    """

    def __init__(
        self,
        settings: Settings,
        *,
        reply: tuple[str, int],
        store: Store | None = None,
        config: GatewaySettings | None = None,
        validate: Callable[[bytes], ValidationReport] | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        from ..outbox.settings import OutboxSettings

        if settings.structure is None:
            raise ConfigurationError(
                "the gateway needs [structure] finess: the structure its DMP deposits and "
                "mails are made for"
            )
        self.settings = settings
        self.config = config or GatewaySettings.from_settings(settings)
        self.outbox = OutboxSettings.from_settings(settings)
        self.structure = settings.structure.finess
        self.reply = reply
        self._own_store = store is None
        if store is None:
            from ..outbox.api import open_store

            options: dict[str, Any] = {}
            if self.outbox.password is not None:
                options["password"] = self.outbox.password
            store = open_store(self.outbox.store, **options)
        self.store: Store = store
        # The APP mailbox mails are sent from; its settings are checked now, not at the
        # first mail (no [mssante]: the gateway does not mail, and answers AR when asked to).
        self.mail_sender = ""
        if settings.section("mssante"):
            from ..mssante import MssSettings

            self.mail_sender = MssSettings.from_settings(settings).address
        if validate is None:
            validate = _validator(settings)
        self.policy = Policy(
            structure=self.structure,
            dmp=bool(settings.section("dmp")),
            mail=bool(self.mail_sender),
            validate=validate,
        )
        self.context = GatewayContext(
            store=self.store,
            structure=self.structure,
            reply=reply,
            application=self.config.application,
            facility=self.config.facility,
            dui_application=self.config.dui_application,
            dui_facility=self.config.dui_facility,
            sender_profession=self.config.sender_profession,
            connect_timeout=settings.timeouts.connect,
            ack_timeout=settings.timeouts.read,
        )
        self._clock = clock or (lambda: dt.datetime.now().astimezone())
        self._counts = collections.Counter[str]()
        self._lock = threading.Lock()
        self._listener: MllpListener | None = None
        self._pool: WorkerPool | None = None
        self._watcher: MailboxWatcher | None = None

    # -- the kinds and the workers -------------------------------------------------------

    def kinds(self) -> dict[str, JobKind]:
        """The builtin job kinds and the gateway's (bound to this gateway)."""
        from ..outbox.kinds import builtin_kinds

        return {**builtin_kinds(), **gateway_kinds(self.context)}

    def worker(self, **options: Any) -> Any:
        """One :class:`~segurlink.outbox.Worker` on the gateway's store and kinds."""
        from ..outbox.worker import Worker

        options.setdefault("policy", self.outbox.policy)
        options.setdefault("lease", self.outbox.lease)
        return Worker(self.store, self.settings, kinds=self.kinds(), **options)

    def mailbox_watcher(self) -> MailboxWatcher:
        """The reader of the APP mailbox (receipts → ZAM, documents → MDM)."""
        from ..mssante import MssClient
        from .receipts import MailboxWatcher

        if not self.mail_sender:
            raise ConfigurationError("no [mssante] mailbox: nothing to watch")
        return MailboxWatcher(
            MssClient.from_settings(self.settings),
            self.store,
            structure=self.structure,
            interval=self.config.mailbox_poll,
        )

    # -- lifecycle ----------------------------------------------------------------------

    def start(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        workers: int | None = None,
        mailbox: bool = True,
    ) -> Self:
        """Listen for producers on ``host:port`` (0: any port), start the workers and
        the mailbox reader. :meth:`stop` (or leaving the ``with`` block) stops them."""
        from ..hl7.mllp import MllpListener
        from ..outbox.worker import WorkerPool

        if self._listener is not None:
            raise RuntimeError("the gateway is already started")
        pool = WorkerPool(
            self.store,
            self.settings,
            workers=workers or self.config.workers,
            poll_interval=self.outbox.poll_interval,
            kinds=self.kinds(),
            policy=self.outbox.policy,
            lease=self.outbox.lease,
        )
        listener = MllpListener(
            self.handle,
            host=host,
            port=port,
            max_message_bytes=self.config.max_message_bytes,
            max_connections=self.config.max_connections,
            idle_timeout=self.config.idle_timeout,
        )
        try:
            listener.start()
        except TransportError as exc:
            pool.close()
            raise ConfigurationError(exc.message) from exc
        self._listener = listener
        self._pool = pool.start()
        if mailbox and self.mail_sender:
            self._watcher = self.mailbox_watcher().start()
        logger.info(
            "gateway listening on %s:%s, replies to %s:%s, %d worker(s)",
            host,
            listener.port,
            *self.reply,
            len(pool.workers),
        )
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Answer the messages in hand, stop reading the mailbox, let each worker finish
        its job; what is left waits in the outbox for the next start."""
        if self._listener is not None:
            self._listener.stop(timeout)
            self._listener = None
        if self._watcher is not None:
            self._watcher.stop(timeout)
            self._watcher = None
        if self._pool is not None:
            self._pool.stop()
            self._pool.join(timeout)
            self._pool.close()
            self._pool = None

    def close(self) -> None:
        self.stop()
        if self._own_store:
            self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def port(self) -> int:
        if self._listener is None:
            raise RuntimeError("the gateway is not started")
        return self._listener.port

    @property
    def counts(self) -> dict[str, int]:
        """Messages received, answered AA/AE/AR, queued, replayed."""
        with self._lock:
            return dict(self._counts)

    # -- one message --------------------------------------------------------------------

    def handle(self, data: bytes) -> bytes:
        """The ACK of one received message (see the module documentation)."""
        started = time.perf_counter()
        self._count("received")
        header: MessageHeader | None = None
        message: DocumentMessage | None = None
        queued = ""
        try:
            message = parse_document_message(data)
            header = message.header
            verdict = check(message, self.policy)
            if isinstance(verdict, Accepted):
                outcome = self._queue(message, verdict)
                if isinstance(outcome, Rejection):
                    verdict_: Rejection | None = outcome
                else:
                    verdict_, queued = None, outcome
            else:
                verdict_ = verdict
        except Hl7Error as exc:
            header = parse_header(data)
            verdict_ = Rejection.refuse(
                exc.code, exc.message, exc.segment, exc.field, component=exc.component
            )
        except Exception as exc:  # noqa: BLE001 - a producer gets an AR, never a dead socket
            logger.error("gateway failure on a message: %s", type(exc).__name__)
            verdict_ = Rejection.retry("segurlink internal error: send the message again later")
        code = AckCode.AA if verdict_ is None else verdict_.code
        self._count(code.value)
        ack = document_ack(
            header,
            verdict_,
            control_id=_ack_control_id(),
            now=self._clock(),
        )
        logger.info(
            "gateway %s^%s id=%s ack=%s errors=%s %s%.1fms",
            header.message_type if header else "?",
            header.event if header else "?",
            header.control_id if header else "?",
            code.value,
            _error_codes(verdict_),
            f"{queued} " if queued else "",
            (time.perf_counter() - started) * 1000,
        )
        return ack

    def _queue(self, message: DocumentMessage, accepted: Accepted) -> str | Rejection:
        header = message.header
        chain_id = accepted.header.set_id or accepted.header.id
        try:
            jobs = message_jobs(
                key=message_key(header, message.text),
                structure=self.structure,
                control_id=header.control_id,
                producer=(header.sending_application, header.sending_facility),
                processing_id=header.processing_id or "P",
                chain=chain_id.xds_unique_id,
                document=accepted.document,
                routing=accepted.routing,
                mail_sender=self.mail_sender,
            )
            queued = self.store.enqueue_all(jobs)  # all of them, or none
        except SegurlinkError as exc:
            logger.warning("gateway: the outbox did not take a message (%s)", type(exc).__name__)
            return Rejection.retry("the platform cannot store the message now: send it again")
        created = any(q.created for q in queued)
        self._count("queued" if created else "replayed")
        ids = ",".join(str(q.job_id) for q in queued)
        return f"jobs={ids}{'' if created else ' (again)'}"

    def _count(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1


def _error_codes(rejection: Rejection | None) -> str:
    if rejection is None:
        return "-"
    error = rejection.error
    where = error.segment + (f"-{error.field}" if error.field is not None else "")
    code = error.code + (f"/{error.application_code}" if error.application_code else "")
    return f"{code}@{where or '-'}"


def _ack_control_id() -> str:
    return "SA" + uuid.uuid4().hex[:18].upper()


def _validator(settings: Settings) -> Callable[[bytes], ValidationReport]:
    """segurlink's CDA validator with the settings' kit (header rules only without one);
    serialised when a kit runs compiled schematrons shared by the threads."""
    from ..cda.validate import CdaSettings, Validator

    cda = CdaSettings.from_settings(settings)
    validator = Validator(cda)
    if cda.kit is None:
        return validator.validate
    lock = threading.Lock()

    def validate(document: bytes) -> ValidationReport:
        with lock:
            return validator.validate(document)

    return validate
