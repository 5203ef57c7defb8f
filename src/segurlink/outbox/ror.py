"""ROR job: publish one capacity indicator of a location — builder and delivery.

The key is the indicator (location and qualifiers) and the time of the count: the same
count queued twice is one job. The indicator without the time is the ordering chain, so
the counts of one indicator reach the ROR in the order they were taken — a retried old
count never overwrites a newer one. Publishing is a ``replace`` (or ``add``) of the value:
delivering it twice leaves the same value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, fields
from typing import TYPE_CHECKING, Any

from ..errors import FhirError, InputError
from .models import JobKind, NewJob

if TYPE_CHECKING:
    from ..config import Settings
    from ..ror import CapacityUpdate, RorClient
    from .models import Job

__all__ = ["CAPACITY", "capacity_job"]

_QUALIFIERS = (
    "capacity_type",
    "status",
    "temporality",
    "gender",
    "closing_type",
    "additional_bed_type",
    "crisis_type",
    "temporary_assignment",
)


def _connect(settings: Settings) -> RorClient:
    from ..ror import RorClient

    return RorClient.from_settings(settings)


def capacity_job(
    location_identifier: str,
    update: CapacityUpdate,
    *,
    structure: str | None = None,
    now: dt.datetime | None = None,
) -> NewJob:
    """Publish ``update`` for the location ``<idNatStructEG>/<syncId>``.

    ``update.updated`` is the time of the count (now when not given). ``structure``
    (FINESS) defaults to the one in the location identifier (``1`` + FINESS).
    """
    head, _, sync_id = location_identifier.partition("/")
    if not head or not sync_id:
        raise InputError("the location identifier is '<idNatStructEG>/<externalSyncId>'")
    if not isinstance(update.count, int) or isinstance(update.count, bool) or update.count < 0:
        raise InputError("a capacity count is a whole number >= 0")
    if structure is None:
        if not (len(head) == 10 and head.startswith("1")):
            raise InputError(f"cannot read a FINESS from {head!r}: give the structure")
        structure = head[1:]
    when = update.updated or now or dt.datetime.now(dt.UTC)
    if when.tzinfo is None:
        raise InputError("the time of a capacity count must carry its time zone")
    when = when.astimezone(dt.UTC)
    values = asdict(update)
    values["updated"] = when.isoformat()
    indicator = "|".join(str(values[name]) for name in _QUALIFIERS)
    chain = f"ror:{location_identifier}|{indicator}"
    return NewJob(
        "ror.capacity",
        structure,
        f"{location_identifier}|{indicator}|{values['updated']}",
        {"location": location_identifier, "update": values},
        ordering_key=chain,
    )


def deliver_capacity(client: RorClient, job: Job) -> Mapping[str, Any]:
    from ..ror import CapacityUpdate

    data = dict(job.payload["update"])
    known = {f.name for f in fields(CapacityUpdate)}
    data = {k: v for k, v in data.items() if k in known}
    data["updated"] = dt.datetime.fromisoformat(data["updated"]) if data.get("updated") else None
    publication = client.publish_capacity(str(job.payload["location"]), CapacityUpdate(**data))
    if not publication.ok:
        # Unknown or ambiguous location, business rule: the ROR's own refusal.
        raise FhirError(
            f"the ROR did not accept the capacity ({publication.status.value})",
            status=publication.http_status,
            issues=publication.issues,
        )
    return {"status": publication.status.value, "http_status": publication.http_status}


CAPACITY = JobKind("ror.capacity", "ror", _connect, deliver_capacity)
