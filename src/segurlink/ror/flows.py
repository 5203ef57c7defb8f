"""ROR paging and ``$export`` polling as pure flows (no socket in here).

:func:`paging` walks a search from its first page along the ``next`` links, within the
page cap; :func:`export_polling` polls a bulk export's status URL until its manifest is
ready, at the pace the server asks (``Retry-After``) within the export's time budget. The
client performs each step (fetch a page, poll, wait, report progress) with its transport.

>>> flow = paging("https://ror.invalid/fhir/Location?commune=45234", max_pages=1)
>>> next(flow)
Fetch(url='https://ror.invalid/fhir/Location?commune=45234')
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

from .._clock import Clock
from ..errors import TransportTimeout
from .models import ExportProgress

__all__ = [
    "EXPORT_MAX_WAIT",
    "ExportStatus",
    "Fetch",
    "Poll",
    "Report",
    "Wait",
    "export_polling",
    "paging",
    "percent",
]

#: The longest wait between two polls of an export, whatever the server asks (seconds).
EXPORT_MAX_WAIT = 60.0


@dataclass(frozen=True, slots=True)
class Fetch:
    """Fetch the page at ``url``; reply its ``next`` link (``None`` on the last page)."""

    url: str


@dataclass(frozen=True, slots=True)
class Poll:
    """Ask the export's status URL; reply an :class:`ExportStatus`."""

    url: str


@dataclass(frozen=True, slots=True)
class ExportStatus:
    """What a poll of ``$export`` said: the manifest once ready, else the progress."""

    manifest: Mapping[str, Any] | None
    progress: str = ""
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class Report:
    """Hand ``progress`` to the caller's callback; reply ``None``."""

    progress: ExportProgress


@dataclass(frozen=True, slots=True)
class Wait:
    """Sleep ``seconds``; reply ``None``."""

    seconds: float


def paging(first_url: str, *, max_pages: int | None) -> Generator[Fetch, str | None, bool]:
    """Fetch each page in turn; returns True when the page cap stopped it with pages left.

    The client hands each page to its caller, then replies with its ``next`` link: no
    page is held while the next one is fetched and parsed.
    """
    url: str | None = first_url
    pages_read = 0
    while url is not None:
        if max_pages is not None and pages_read >= max_pages:
            return True
        url = yield Fetch(url)
        pages_read += 1
    return False


def export_polling(
    poll_url: str, *, poll_interval: float, timeout: float, started: float, clock: Clock
) -> Generator[Poll | Report | Wait, Any, Mapping[str, Any]]:
    """Poll until the export's manifest is ready; returns the manifest.

    Between polls: ``Retry-After`` when the server gives one, else ``poll_interval``, at
    most :data:`EXPORT_MAX_WAIT`. A wait that would end more than ``timeout`` seconds
    after ``started`` (a ``clock`` time: the export's kick-off) raises
    :class:`TransportTimeout` instead.
    """
    while True:
        status: ExportStatus = yield Poll(poll_url)
        if status.manifest is not None:
            return status.manifest
        yield Report(
            ExportProgress("waiting", status.progress, percent=percent(status.progress))
        )
        # The server paces the export: its Retry-After replaces our interval.
        asked = status.retry_after if status.retry_after is not None else poll_interval
        wait = min(asked, EXPORT_MAX_WAIT)
        if clock() - started + wait > timeout:
            raise TransportTimeout(f"$export not ready after {timeout:g} s", url=poll_url)
        yield Wait(wait)


def percent(label: str) -> float | None:
    """The number of an ``X-Progress`` label (``"40%"``), when it is one in 0..100.

    >>> percent("40%"), percent("in progress")
    (40.0, None)
    """
    digits = label.strip().rstrip("%").strip()
    try:
        value = float(digits)
    except ValueError:
        return None
    return value if 0 <= value <= 100 else None
