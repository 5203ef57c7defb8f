"""The job kinds: what each kind of job needs (a client) and how it is delivered.

A :class:`JobKind` is one entry: its name (``service.operation``), the service whose client
delivers it (the jobs of one service and one structure share a client), how to build that
client from the structure's settings, and the delivery itself. :func:`builtin_kinds`
lists them; a new kind is one more entry there (its builder of
:class:`~segurlink.outbox.models.NewJob` sits beside its delivery).

A delivery returns the job's result (JSON, no health data) or raises; the worker sorts
the failure with :func:`segurlink.outbox.classify.classify`.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import InputError
from .models import JobKind

__all__ = ["JobKind", "builtin_kinds", "registry"]


def registry(kinds: Iterable[JobKind]) -> dict[str, JobKind]:
    """Kinds by name; a name given twice is an error."""
    out: dict[str, JobKind] = {}
    for kind in kinds:
        if kind.name in out:
            raise InputError(f"job kind {kind.name!r} is registered twice")
        out[kind.name] = kind
    return out


def builtin_kinds() -> dict[str, JobKind]:
    """Every kind segurlink delivers: DMP deposit, replace, hide, archive, delete; ROR
    capacity publication; MSSanté send."""
    from . import dmp, mssante, ror

    return registry(
        [
            dmp.DEPOSIT,
            dmp.REPLACE,
            dmp.HIDE,
            dmp.ARCHIVE,
            dmp.DELETE,
            ror.CAPACITY,
            mssante.SEND,
        ]
    )
