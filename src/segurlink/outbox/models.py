"""Values of the outbox: a job, the job to create, its last error, the queue's state.

Frozen dataclasses with slots. A job's payload and blobs hold health data (an INS, a CDA):
they never appear in a ``repr``; the error and the result never hold any.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import InputError

if TYPE_CHECKING:
    from ..config import Settings

__all__ = [
    "Enqueued",
    "Job",
    "JobError",
    "JobKind",
    "JobState",
    "KindCounts",
    "NewJob",
    "StatusReport",
]

_FINESS = re.compile(r"[0-9A-Z]{9}")
_KIND = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
_BLOB_NAME = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
MAX_KEY_LENGTH = 400


class JobState(enum.StrEnum):
    """Where a job is in its life.

    ``pending`` waits for its next attempt time; ``running`` is held by a worker under a
    lease; ``done`` was delivered (or the service already had it); ``dead`` was refused by
    the service, or its retry budget is spent — it waits for a person (``retry``).
    """

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class JobError:
    """The last error of a job: exception class, service code, message (no health data)."""

    error_class: str
    code: str = ""
    message: str = ""

    def __str__(self) -> str:
        code = f" [{self.code}]" if self.code else ""
        return f"{self.error_class}{code}: {self.message}"


@dataclass(frozen=True, slots=True, repr=False)
class NewJob:
    """A job to put in the outbox (see the builders of :mod:`segurlink.outbox.kinds`).

    ``structure`` is the FINESS of the structure the job belongs to (its certificates and
    settings deliver it). ``key`` is the idempotency key, unique per kind and structure:
    queuing the same key again returns the existing job. ``ordering_key`` chains jobs that
    must be delivered in order (the versions of one document, the values of one capacity
    indicator): a job waits while an older job of its chain is pending or running.
    ``payload`` must be JSON; ``blobs`` are named bytes (``cda``, ``pdf``...).
    """

    kind: str
    structure: str
    key: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    blobs: Mapping[str, bytes] = field(default_factory=dict)
    ordering_key: str | None = None

    def __post_init__(self) -> None:
        if not _KIND.fullmatch(self.kind):
            raise InputError(f"a job kind is 'service.operation' in lower case, not {self.kind!r}")
        if not _FINESS.fullmatch(self.structure):
            raise InputError(f"the structure is a 9-character FINESS, not {self.structure!r}")
        if not self.key or len(self.key) > MAX_KEY_LENGTH:
            raise InputError(f"the idempotency key must have 1 to {MAX_KEY_LENGTH} characters")
        if self.ordering_key is not None and not (0 < len(self.ordering_key) <= MAX_KEY_LENGTH):
            raise InputError(f"the ordering key must have 1 to {MAX_KEY_LENGTH} characters")
        for name, content in self.blobs.items():
            if not _BLOB_NAME.fullmatch(name):
                raise InputError(f"invalid blob name {name!r}")
            if not isinstance(content, bytes):
                raise InputError(f"blob {name!r} must be bytes")
        try:
            self.payload_json  # noqa: B018 - checks the payload is JSON
        except (TypeError, ValueError) as exc:
            raise InputError(f"the payload of a {self.kind} job is not JSON: {exc}") from exc

    @property
    def payload_json(self) -> str:
        return json.dumps(dict(self.payload), sort_keys=True, separators=(",", ":"))

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the payload and blobs: the same key must carry the same content."""
        digest = hashlib.sha256(self.payload_json.encode())
        for name in sorted(self.blobs):
            digest.update(b"\0" + name.encode() + b"\0")
            digest.update(hashlib.sha256(self.blobs[name]).digest())
        return digest.hexdigest()

    def __repr__(self) -> str:
        return f"NewJob(kind={self.kind!r}, structure={self.structure!r}, key={self.key!r})"


@dataclass(frozen=True, slots=True)
class Enqueued:
    """What queuing returned: the job id, and whether this call created it."""

    job_id: int
    created: bool


@dataclass(frozen=True, slots=True, repr=False)
class Job:
    """A job as the store holds it (blobs are loaded when a worker claims it)."""

    id: int
    kind: str
    structure: str
    key: str
    state: JobState
    attempts: int
    next_attempt_at: dt.datetime
    created_at: dt.datetime
    updated_at: dt.datetime
    retry_since: dt.datetime
    payload: Mapping[str, Any] = field(default_factory=dict)
    blobs: Mapping[str, bytes] = field(default_factory=dict)
    ordering_key: str | None = None
    lease_owner: str | None = None
    lease_expires_at: dt.datetime | None = None
    last_error: JobError | None = None
    result: Mapping[str, Any] | None = None

    def __repr__(self) -> str:
        return (
            f"Job(id={self.id}, kind={self.kind!r}, structure={self.structure!r}, "
            f"key={self.key!r}, state={self.state.value!r}, attempts={self.attempts})"
        )

    def blob(self, name: str) -> bytes:
        """The blob ``name``; :class:`KeyError` names the job when it is missing."""
        try:
            return self.blobs[name]
        except KeyError:
            raise KeyError(f"job {self.id} ({self.kind}) has no blob {name!r}") from None


@dataclass(frozen=True, slots=True)
class KindCounts:
    """Jobs of one kind, by state."""

    kind: str
    pending: int = 0
    running: int = 0
    done: int = 0
    dead: int = 0

    @property
    def total(self) -> int:
        return self.pending + self.running + self.done + self.dead


@dataclass(frozen=True, slots=True)
class StatusReport:
    """The state of the outbox: counts by kind and state, and the oldest pending job.

    ``oldest_pending_age`` is in seconds since that job was queued (``None``: none is
    pending).
    """

    kinds: tuple[KindCounts, ...]
    oldest_pending_id: int | None = None
    oldest_pending_age: float | None = None
    schema_version: int = 0

    def count(self, state: JobState | str) -> int:
        """Jobs in ``state``, every kind together."""
        name = JobState(state).value
        return sum(getattr(k, name) for k in self.kinds)

    @property
    def total(self) -> int:
        return sum(k.total for k in self.kinds)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "states": {s.value: self.count(s) for s in JobState},
            "kinds": {k.kind: {s.value: getattr(k, s.value) for s in JobState} for k in self.kinds},
            "oldest_pending": None
            if self.oldest_pending_id is None
            else {"job": self.oldest_pending_id, "age_seconds": self.oldest_pending_age},
        }


@dataclass(frozen=True, slots=True)
class JobKind:
    """One kind of job (see :mod:`segurlink.outbox.kinds`): ``name``, the ``service``
    whose client ``connect`` builds from a structure's settings, and ``deliver(client,
    job) -> result`` (JSON, no health data), which raises on failure."""

    name: str
    service: str
    connect: Callable[[Settings], Any]
    deliver: Callable[[Any, Job], Mapping[str, Any]]
