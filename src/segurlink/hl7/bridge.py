"""The HL7 → INSi → HL7 bridge: message in, traits, INSi search, RNIV status, A31 out.

:class:`Hl7InsiBridge.handle` takes one received message (bytes) and returns its ACK
(bytes); it never raises for what a sender or a service does. Plugged into an
:class:`~segurlink.hl7.MllpListener`, it lets a DUI put segurlink between its identity
source and its own HL7 input:

* unreadable message: ``AR`` (MSH unreadable, unsupported type, charset or version) or
  ``AE`` (a field: ``ERR`` names the segment and field);
* ADT event not qualified (e.g. A03): ``AA``, nothing forwarded;
* doubtful/fictitious identity, missing or invalid traits, CR 01, CR 02, traits
  mismatch, INS conflict (see :mod:`segurlink.hl7.qualification`): ``AE``, nothing
  forwarded;
* INSi or the receiver unavailable: ``AR`` (the sender should send again); nothing is
  remembered, so the message is processed again when it comes back;
* otherwise the identity update (``A31`` by default) is sent to the receiver, and the
  sender gets ``AA`` once the receiver accepted it (``AE`` if the receiver refused it).

Idempotent: a message is identified by MSH-3, MSH-4, MSH-10 *and* its content (senders
reuse control ids); a message already answered with a final ``AA``/``AE`` gets the same
ACK bytes again, without calling INSi nor forwarding anything. The same message arriving
twice at once is processed once (the second waits for the first).

Logs (logger ``segurlink.hl7``): one INFO line per message with its type, event, control
id, ACK code, error codes and duration; never names, INS, dates or message bodies.
"""

from __future__ import annotations

import collections
import datetime
import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from ..errors import Hl7Error, InputError, SegurlinkError
from ..identity import IdentityTraits
from ..insi import SearchOutcome
from .messages import (
    EVENT_STRUCTURES,
    build_ack,
    build_identity_update,
    parse_ack,
    parse_header,
    parse_message,
)
from .models import AckCode, AckError, IdentityUpdate, MessageHeader, PamMessage
from .qualification import Refusal, decide, traits_for_insi

__all__ = [
    "QUALIFIED_EVENTS",
    "BridgeSettings",
    "Forwarder",
    "Hl7InsiBridge",
    "InsiSearch",
    "MemoryMessageStore",
    "MessageStore",
]

logger = logging.getLogger("segurlink.hl7")

#: ADT events whose identity the bridge qualifies (create/update person, admit, register,
#: update, merge, identifier change). Other ADT events are acknowledged AA, not forwarded.
QUALIFIED_EVENTS: frozenset[str] = frozenset({"A01", "A04", "A08", "A28", "A31", "A40", "A47"})
_REJECT_CODES = frozenset({"200", "201", "202", "203"})  # MSH-level: AR, not AE


class InsiSearch(Protocol):
    """What the bridge needs of INSi (:class:`~segurlink.insi.InsiClient` has it)."""

    def search(
        self, traits: IdentityTraits, *, send_birth_place: bool = False
    ) -> SearchOutcome: ...


class Forwarder(Protocol):
    """Sends an HL7 message to the receiver and returns its ACK (raw bytes).

    :class:`~segurlink.hl7.MllpClient` is one.
    """

    def send(self, message: bytes) -> bytes: ...


class MessageStore(Protocol):
    """Final ACKs by message key: what makes the bridge idempotent.

    A durable implementation (a database table) keeps idempotency across restarts.
    """

    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, ack: bytes) -> None: ...


class MemoryMessageStore:
    """The last ``max_entries`` final ACKs, in memory (forgotten on restart)."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        self._acks: collections.OrderedDict[str, bytes] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            ack = self._acks.get(key)
            if ack is not None:
                self._acks.move_to_end(key)
            return ack

    def put(self, key: str, ack: bytes) -> None:
        with self._lock:
            self._acks[key] = ack
            self._acks.move_to_end(key)
            while len(self._acks) > self.max_entries:
                self._acks.popitem(last=False)

    def __len__(self) -> int:
        return len(self._acks)


@dataclass(frozen=True, slots=True)
class BridgeSettings:
    """How the bridge writes and answers.

    ``event`` is the event of the message sent to the receiver (``A31``, or ``A28``,
    ``A08``...); ``application``/``facility`` are MSH-3/MSH-4 of that message (the ACKs
    answer as the receiver the sender named, unless ``ack_application`` is given);
    ``send_birth_place`` sends the birth place on every INSi call (default: only after a
    CR 02, as certified clients do); ``events`` are the ADT events qualified.
    """

    event: str = "A31"
    application: str = "SEGURLINK"
    facility: str = ""
    ack_application: str | None = None
    ack_facility: str | None = None
    send_birth_place: bool = False
    events: frozenset[str] = QUALIFIED_EVENTS

    def __post_init__(self) -> None:
        if self.event not in EVENT_STRUCTURES:
            raise InputError(
                f"the bridge writes one of {', '.join(EVENT_STRUCTURES)}, not {self.event!r}"
            )


@dataclass(slots=True)
class _Answer:
    ack: bytes
    code: AckCode
    final: bool
    forwarded: bool = False
    errors: Sequence[AckError] = field(default_factory=tuple)


class Hl7InsiBridge:
    """Qualifies the identities of a PAM feed with INSi and forwards the result.

    ``insi`` searches (an :class:`~segurlink.insi.InsiClient`); ``forwarder`` sends the
    identity update to the receiver (an :class:`~segurlink.hl7.MllpClient`). ``store``
    remembers the final ACKs (default: :class:`MemoryMessageStore`). ``clock`` gives the
    local time written in MSH-7/EVN-2. Thread-safe: an :class:`MllpListener` calls
    :meth:`handle` from one thread per connection.

    >>> bridge = Hl7InsiBridge(insi_client, MllpClient("dui.local", 2575))  # doctest: +SKIP
    >>> with MllpListener(bridge.handle, port=2576):                          # doctest: +SKIP
    ...     ...
    """

    def __init__(
        self,
        insi: InsiSearch,
        forwarder: Forwarder,
        *,
        settings: BridgeSettings | None = None,
        store: MessageStore | None = None,
        clock: Callable[[], datetime.datetime] = datetime.datetime.now,
    ) -> None:
        self.insi = insi
        self.forwarder = forwarder
        self.settings = settings or BridgeSettings()
        self.store: MessageStore = store if store is not None else MemoryMessageStore()
        self.clock = clock
        self._lock = threading.Lock()
        self._in_flight: dict[str, threading.Event] = {}
        self._counts = collections.Counter[str]()

    @property
    def counts(self) -> dict[str, int]:
        """Messages received, replayed, acknowledged AA/AE/AR, forwarded."""
        with self._lock:
            return dict(self._counts)

    def handle(self, data: bytes) -> bytes:
        """The ACK of one received message (see the module documentation)."""
        started = time.perf_counter()
        self._count("received")
        try:
            message = parse_message(data)
        except Hl7Error as exc:
            answer = self._unreadable(data, exc)
            self._log(None, answer, started)
            return answer.ack
        key = message_key(message)
        with self._claim(key):
            stored = self.store.get(key)
            if stored is not None:
                self._count("replayed")
                logger.info(
                    "hl7 %s^%s id=%s replayed: same ACK, nothing processed",
                    message.header.message_type,
                    message.header.event,
                    message.header.control_id,
                )
                return stored
            try:
                answer = self._process(message, key)
            except Exception as exc:  # a sender gets an AR, never a dead socket
                logger.exception("hl7 bridge failure: %s", type(exc).__name__)
                answer = self._answer(
                    message.header,
                    Refusal(
                        AckCode.AR,
                        (AckError("207", "segurlink internal error", application_code="INTERNAL"),),
                        final=False,
                    ),
                )
            if answer.final:
                self.store.put(key, answer.ack)
        self._log(message.header, answer, started)
        return answer.ack

    # -- steps ---------------------------------------------------------------------------

    def _process(self, message: PamMessage, key: str) -> _Answer:
        header = message.header
        if header.event not in self.settings.events:
            return self._answer(header, None, text=f"{header.event}: not qualified by segurlink")
        traits = traits_for_insi(message.identity)
        if isinstance(traits, Refusal):
            return self._answer(header, traits)
        try:
            outcome = self.insi.search(traits, send_birth_place=self.settings.send_birth_place)
        except InputError as exc:
            return self._answer(
                header,
                Refusal(AckCode.AE, (AckError("207", exc.message, application_code="INSI_INPUT"),)),
            )
        except SegurlinkError as exc:
            codes = "/".join(
                c for c in (getattr(exc, "subcode", ""), getattr(exc, "detail_code", "")) if c
            )
            reason = f"INSi unavailable ({type(exc).__name__}{' ' + codes if codes else ''})"
            return self._answer(
                header,
                Refusal(
                    AckCode.AR,
                    (AckError("207", reason, application_code="INSI_UNAVAILABLE"),),
                    final=False,
                ),
            )
        decision = decide(message.identity, traits, outcome)
        if isinstance(decision, Refusal):
            return self._answer(header, decision)
        return self._forward(message, key, decision)

    def _forward(self, message: PamMessage, key: str, update: IdentityUpdate) -> _Answer:
        header = message.header
        control_id = forward_control_id(key)
        try:
            outgoing = build_identity_update(
                message,
                update,
                control_id=control_id,
                now=self.clock(),
                event=self.settings.event,
                application=self.settings.application,
                facility=self.settings.facility,
            )
        except Hl7Error as exc:
            return self._answer(
                header,
                Refusal(
                    AckCode.AE,
                    (AckError(exc.code, exc.message, exc.segment, exc.field, exc.component),),
                ),
            )
        try:
            ack = parse_ack(self.forwarder.send(outgoing))
        except SegurlinkError as exc:
            return self._answer(
                header,
                Refusal(
                    AckCode.AR,
                    (
                        AckError(
                            "207",
                            f"the receiver did not acknowledge ({type(exc).__name__})",
                            application_code="FORWARD_FAILED",
                        ),
                    ),
                    final=False,
                ),
            )
        if ack.acknowledged_id != control_id:
            return self._answer(
                header,
                Refusal(
                    AckCode.AR,
                    (
                        AckError(
                            "207",
                            "the receiver acknowledged another message",
                            application_code="FORWARD_FAILED",
                        ),
                    ),
                    final=False,
                ),
            )
        if ack.accepted:
            self._count("forwarded")
            answer = self._answer(header, None)
            answer.forwarded = True
            return answer
        refused = ack.code in (AckCode.AE, AckCode.CE)
        return self._answer(
            header,
            Refusal(
                AckCode.AE if refused else AckCode.AR,
                (
                    AckError(
                        "207",
                        f"the receiver answered {ack.code.value} to the identity update",
                        application_code="FORWARD_REFUSED" if refused else "FORWARD_FAILED",
                    ),
                ),
                final=refused,
            ),
        )

    def _unreadable(self, data: bytes, exc: Hl7Error) -> _Answer:
        header = parse_header(data)
        code = AckCode.AR if header is None or exc.code in _REJECT_CODES else AckCode.AE
        error = AckError(exc.code, exc.message, exc.segment, exc.field, exc.component)
        return self._answer(header, Refusal(code, (error,)))

    def _answer(
        self, header: MessageHeader | None, refusal: Refusal | None, *, text: str = ""
    ) -> _Answer:
        code = AckCode.AA if refusal is None else refusal.code
        errors = () if refusal is None else refusal.errors
        ack = build_ack(
            header,
            code,
            errors,
            control_id=ack_control_id(),
            now=self.clock(),
            application=self.settings.ack_application,
            facility=self.settings.ack_facility,
            text=text,
        )
        self._count(code.value)
        return _Answer(ack, code, final=refusal is None or refusal.final, errors=errors)

    # -- bookkeeping ---------------------------------------------------------------------

    @contextmanager
    def _claim(self, key: str) -> Iterator[None]:
        while True:
            with self._lock:
                running = self._in_flight.get(key)
                if running is None:
                    self._in_flight[key] = threading.Event()
                    break
            running.wait()  # the same message is being handled: wait for its ACK
        try:
            yield
        finally:
            with self._lock:
                self._in_flight.pop(key).set()

    def _count(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    def _log(self, header: MessageHeader | None, answer: _Answer, started: float) -> None:
        logger.info(
            "hl7 %s^%s id=%s ack=%s errors=%s forwarded=%s %.1fms",
            header.message_type if header else "?",
            header.event if header else "?",
            header.control_id if header else "?",
            answer.code.value,
            ",".join(e.application_code or e.code for e in answer.errors) or "-",
            "yes" if answer.forwarded else "no",
            (time.perf_counter() - started) * 1000,
        )


def message_key(message: PamMessage) -> str:
    """The idempotency key: MSH-3, MSH-4, MSH-10 and the message content (a SHA-256)."""
    header = message.header
    digest = hashlib.sha256()
    for part in (header.sending_application, header.sending_facility, header.control_id):
        digest.update(part.encode("utf-8") + b"\x00")
    digest.update(message.text.encode("utf-8"))
    return digest.hexdigest()


def forward_control_id(key: str) -> str:
    """MSH-10 of the identity update: stable per received message (20 characters)."""
    return "SL" + key[:18].upper()


def ack_control_id() -> str:
    return "SA" + uuid.uuid4().hex[:18].upper()
