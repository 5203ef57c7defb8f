"""DMP jobs: deposit, replace, hide, archive, delete — builders and deliveries.

Every DMP job is idempotent as the DMP sees it, so a job delivered twice (its worker was
killed after the DMP answered, before the outbox heard) changes nothing the second time:

* a deposit's key is the document uniqueId: the DMP refuses a uniqueId twice, and
  :meth:`~segurlink.dmp.DmpClient.deposit` turns that into ``already_deposited`` when the
  stored document is this one (same hash) — the job is done;
* a replacement, tried again, first looks for its own uniqueId: if the DMP has it, done;
* hide, archive and delete read the entry first: already hidden / archived / deleted is
  done.

The versions of one document (its CDA ``setId``) form an ordering chain: a replacement
waits for the deposit it replaces, a hide waits for the deposit of what it hides.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import InputError, MalformedResponse
from .models import JobKind, NewJob

if TYPE_CHECKING:
    from ..cda.models import CdaHeader, Code
    from ..config import Settings
    from ..dmp import Audience, DmpClient, DocumentEntry
    from ..identity import Ins
    from .models import Job

__all__ = [
    "ARCHIVE",
    "DELETE",
    "DEPOSIT",
    "HIDE",
    "REPLACE",
    "deposit_job",
    "document_chain",
    "entry_job",
    "replace_job",
]

_STRUCTURE_ROOT = "1.2.250.1.71.4.2.2"


def _connect(settings: Settings) -> DmpClient:
    from ..dmp import DmpClient

    return DmpClient.from_settings(settings)


# -- builders --------------------------------------------------------------------------------


def _header(document: bytes) -> CdaHeader:
    from ..cda import parse_header

    if not isinstance(document, bytes):
        raise InputError("a CDA document is given as bytes")
    try:
        return parse_header(document)
    except MalformedResponse as exc:  # the XML parser's word for "not XML"
        raise InputError(f"not a CDA document: {exc.message}") from exc


def _structure(header: CdaHeader, given: str | None) -> str:
    """The FINESS of the authors' organisation (``1`` + FINESS), checked against ``given``."""
    found = {
        a.organization.id.extension
        for a in header.authors
        if a.organization is not None and a.organization.id.root == _STRUCTURE_ROOT
    }
    if len(found) > 1:
        raise InputError("the CDA authors belong to several structures")
    derived = None
    if found:
        ext = next(iter(found)) or ""
        if len(ext) == 10 and ext.startswith("1"):
            derived = ext[1:]
    if given is not None and derived is not None and given != derived:
        raise InputError(f"the CDA is authored for structure {derived}, not {given}")
    structure = given or derived
    if structure is None:
        raise InputError("no structure: the CDA author has no FINESS organisation; give one")
    return structure


def document_chain(structure: str, header: CdaHeader) -> str:
    """The ordering key of a document's versions: its ``setId`` (else its own id)."""
    ident = header.set_id or header.id
    return f"dmp:{structure}:{ident.xds_unique_id}"


def _code(value: Code | None) -> list[str] | None:
    return None if value is None else [value.code, value.code_system, value.display_name]


def _audiences(hidden_from: Iterable[Audience | str]) -> list[str]:
    from ..dmp import Audience

    values = []
    for audience in hidden_from:
        try:
            values.append(Audience(audience).value)
        except ValueError as exc:
            raise InputError(f"unknown DMP audience {audience!r}") from exc
    return sorted(set(values))


def _document_job(
    kind: str,
    document: bytes,
    *,
    structure: str | None,
    hidden_from: Iterable[Audience | str],
    content_type: Code | None,
) -> NewJob:
    header = _header(document)
    if header.patient.ins is None:
        raise InputError("the CDA carries no INS: only a qualified identity goes to the DMP")
    replaces = header.parent_document is not None and header.relation in (None, "RPLC")
    if kind == "dmp.deposit" and replaces:
        raise InputError("this CDA replaces another document (RPLC): queue it with replace")
    if kind == "dmp.replace" and not replaces:
        raise InputError("a replacement CDA needs relatedDocument typeCode='RPLC'")
    finess = _structure(header, structure)
    payload: dict[str, Any] = {
        "hidden_from": _audiences(hidden_from),
        "content_type": _code(content_type),
    }
    return NewJob(
        kind,
        finess,
        header.id.xds_unique_id,
        payload,
        {"cda": document},
        ordering_key=document_chain(finess, header),
    )


def deposit_job(
    document: bytes,
    *,
    structure: str | None = None,
    hidden_from: Iterable[Audience | str] = (),
    content_type: Code | None = None,
) -> NewJob:
    """A deposit (TD2.1) of ``document``; its key is the document uniqueId.

    ``structure`` (FINESS) defaults to the CDA author's organisation and must match it.
    """
    return _document_job(
        "dmp.deposit",
        document,
        structure=structure,
        hidden_from=hidden_from,
        content_type=content_type,
    )


def replace_job(
    document: bytes,
    *,
    structure: str | None = None,
    hidden_from: Iterable[Audience | str] = (),
    content_type: Code | None = None,
) -> NewJob:
    """A replacement (CDA with ``relatedDocument RPLC``), after the version it replaces."""
    return _document_job(
        "dmp.replace",
        document,
        structure=structure,
        hidden_from=hidden_from,
        content_type=content_type,
    )


def entry_job(
    kind: str,
    ins: Ins,
    unique_id: str,
    *,
    structure: str,
    chain: str | None,
    audience: Audience | str | None = None,
    key: str | None = None,
) -> NewJob:
    """A hide / archive / delete of the entry ``unique_id`` of the patient ``ins``.

    ``chain`` is the ordering key of the document (see :func:`document_chain`), when the
    outbox knows its deposit; the default key is ``<uniqueId>/<operation>[/<audience>]``.
    """
    if kind not in (HIDE.name, ARCHIVE.name, DELETE.name):
        raise InputError(f"{kind} is not an entry operation")
    if not unique_id:
        raise InputError("the document uniqueId is required")
    payload: dict[str, Any] = {"ins": ins.value, "oid": ins.oid, "unique_id": unique_id}
    operation = kind.rsplit(".", 1)[1]
    default_key = f"{unique_id}/{operation}"
    if kind == HIDE.name:
        (value,) = _audiences([audience or "MASQUE_PS"])
        payload["audience"] = value
        default_key += f"/{value}"
    return NewJob(
        kind,
        structure,
        key or default_key,
        payload,
        ordering_key=chain or f"dmp:{structure}:{unique_id}",
    )


# -- deliveries ------------------------------------------------------------------------------


def _options(job: Job) -> dict[str, Any]:
    from ..cda.models import Code

    options: dict[str, Any] = {"hidden_from": list(job.payload.get("hidden_from") or ())}
    code = job.payload.get("content_type")
    if code:
        options["content_type"] = Code(*code)
    return options


def _deposit_result(result: Any) -> dict[str, Any]:
    return {
        "unique_id": result.unique_id,
        "submission_set": result.submission_set_id,
        "already_deposited": result.already_deposited,
        "replaced_entry_uuid": result.replaced_entry_uuid,
    }


def deliver_deposit(client: DmpClient, job: Job) -> Mapping[str, Any]:
    # retries=0: the outbox schedules the retries; the client still looks the uniqueId up
    # after an interrupted exchange, and says already_deposited when the DMP has it.
    result = client.deposit(job.blob("cda"), retries=0, **_options(job))
    return _deposit_result(result)


def deliver_replace(client: DmpClient, job: Job) -> Mapping[str, Any]:
    document = job.blob("cda")
    if job.attempts > 1:
        # An earlier attempt may have replaced it already: the old entry is no longer
        # Approved, and replacing again would be refused. Look the new version up first.
        header = _header(document)
        assert header.patient.ins is not None  # checked when queued
        existing = client.get(header.patient.ins, unique_id=job.key)
        digest = hashlib.sha1(document).hexdigest()  # noqa: S324 - the XDS hash is SHA-1
        if existing is not None and existing.hash in ("", digest):
            return {"unique_id": job.key, "already_deposited": True}
    result = client.replace(document, retries=0, **_options(job))
    return _deposit_result(result)


def _entry(client: DmpClient, job: Job) -> tuple[Ins, DocumentEntry]:
    from ..dmp import APPROVED, ARCHIVED, DELETED
    from ..identity import Ins

    value = str(job.payload["ins"])
    ins = Ins(value[:13], value[13:], str(job.payload["oid"]))
    unique_id = str(job.payload["unique_id"])
    entry = client.get(ins, unique_id=unique_id)
    if entry is not None and entry.status not in (APPROVED, ARCHIVED, DELETED):
        # An older version (deprecated by a masking): the current one is in find().
        current = [
            e
            for e in client.find(ins, statuses=(APPROVED, ARCHIVED, DELETED))
            if e.unique_id == unique_id
        ]
        entry = current[0] if current else None
    if entry is None:
        raise InputError("the DMP has no entry of this structure with this uniqueId")
    return ins, entry


def deliver_hide(client: DmpClient, job: Job) -> Mapping[str, Any]:
    from ..dmp import Audience

    _, entry = _entry(client, job)
    audience = Audience(job.payload["audience"])
    if audience in entry.hidden_from:
        return {"unique_id": entry.unique_id, "already_applied": True}
    client.hide(entry, audience)
    return {"unique_id": entry.unique_id, "already_applied": False}


def _status_change(target: str) -> Any:
    def deliver(client: DmpClient, job: Job) -> Mapping[str, Any]:
        from ..dmp import ARCHIVED, DELETED

        _, entry = _entry(client, job)
        wanted = {"archived": ARCHIVED, "deleted": DELETED}[target]
        if entry.status == wanted:
            return {"unique_id": entry.unique_id, "already_applied": True}
        if target == "archived":
            client.archive(entry)
        else:
            client.delete(entry)
        return {"unique_id": entry.unique_id, "already_applied": False}

    return deliver


DEPOSIT = JobKind("dmp.deposit", "dmp", _connect, deliver_deposit)
REPLACE = JobKind("dmp.replace", "dmp", _connect, deliver_replace)
HIDE = JobKind("dmp.hide", "dmp", _connect, deliver_hide)
ARCHIVE = JobKind("dmp.archive", "dmp", _connect, _status_change("archived"))
DELETE = JobKind("dmp.delete", "dmp", _connect, _status_change("deleted"))
