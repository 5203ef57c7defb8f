"""A document model from a JSON/TOML description (what ``segurlink cda build`` reads).

Layout (TOML shown; JSON has the same keys)::

    type = "PPA"                      # catalogue key or code
    confidentiality = "N"             # optional (N)
    effective_time = "2024-03-01T10:30:00+01:00"   # optional: now
    version = 1                       # optional
    structure = { finess = "010000016", name = "EHPAD Les Tilleuls" }
    facility_type = "SA17"            # healthCareFacility/code
    practice_setting = "ESSMS"        # standardIndustryClassCode
    encounter_start = "2023-01-01T00:00:00+01:00"
    [patient]   status = "QUAL", ins = "...", ins_oid = "...", id_document = "PASSPORT",
                birth_name, first_names, sex, birth_date, birth_place, used_name,
                used_first_name, ipp = { root = "...", extension = "..." }
    [author]    rpps, family, given, profession = { code, system, display }
                (or software = "MonDUI 4.2", model = "MonDUI")
    [legal_authenticator]   rpps, family, given, profession
    [replaces]  id = { root, extension }, set_id = {...}, version = 1
    id / set_id = { root = "...", extension = "..." }   # optional: generated
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from .._ascii import is_ascii_digits
from ..errors import InputError
from ..identity import IdDocumentKind, IdentityRecord, IdentityStatus, IdentityTraits, Ins
from . import codes
from .models import (
    Attachment,
    Author,
    ClinicalDocument,
    Code,
    Encounter,
    InstanceId,
    LegalAuthenticator,
    Organization,
    ParentDocument,
    Patient,
    PersonName,
    Professional,
    ServiceEvent,
    SoftwareDevice,
)

__all__ = ["document_from_description"]


def _table(data: Mapping[str, Any], key: str, *, required: bool = True) -> Mapping[str, Any]:
    value = data.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, Mapping):
        raise InputError(f"description: [{key}] must be a table/object")
    return value


def _time(value: Any, what: str, default: dt.datetime | None = None) -> dt.datetime:
    if value is None or value == "":
        if default is None:
            raise InputError(f"description: {what} is required")
        return default
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        try:
            parsed = dt.datetime.fromisoformat(str(value))
        except ValueError as exc:
            raise InputError(f"description: {what} is not an ISO 8601 datetime") from exc
    if parsed.tzinfo is None:
        raise InputError(f"description: {what} needs a time zone offset (e.g. +01:00)")
    return parsed


def _version(value: Any, what: str) -> int:
    # A TOML integer, or ASCII digits: int() would also read "２" (full-width) as 2.
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and is_ascii_digits(value.strip()):
        number = int(value.strip())
    else:
        raise InputError(f"description: {what} must be a whole number, got {value!r}")
    if number < 1:
        raise InputError(f"description: {what} must be 1 or more, got {number}")
    return number


def _ii(value: Any, what: str) -> InstanceId:
    if not isinstance(value, Mapping) or "root" not in value:
        raise InputError(f"description: {what} must be {{root = ..., extension = ...}}")
    ext = value.get("extension")
    return InstanceId(str(value["root"]), str(ext) if ext not in (None, "") else None)


def _professional(data: Mapping[str, Any], what: str) -> Professional:
    try:
        profession = data.get("profession") or {}
        given = data.get("given") or ()
        return Professional(
            str(data["rpps"]),
            PersonName(
                str(data["family"]),
                (given,) if isinstance(given, str) else tuple(str(g) for g in given),
                prefix=str(data.get("prefix", "")),
                suffix=str(data.get("suffix", "")),
            ),
            Code(
                str(profession.get("code", "")),
                str(profession.get("system", codes.PROFESSION)),
                str(profession.get("display", "")),
            ),
        )
    except KeyError as exc:
        raise InputError(f"description: [{what}] needs {exc.args[0]}") from None


def _patient(data: Mapping[str, Any]) -> Patient:
    try:
        traits = IdentityTraits.from_input(
            birth_name=data["birth_name"],
            first_names=data["first_names"],
            sex=data["sex"],
            birth_date=data["birth_date"],
            birth_place=data.get("birth_place"),
            used_name=data.get("used_name"),
            used_first_name=data.get("used_first_name"),
        )
    except KeyError as exc:
        raise InputError(f"description: [patient] needs {exc.args[0]}") from None
    status = IdentityStatus(str(data.get("status", "PROV")).upper())
    ins = (
        Ins.parse(str(data["ins"]), str(data.get("ins_oid", "1.2.250.1.213.1.4.8")))
        if data.get("ins")
        else None
    )
    document = data.get("id_document")
    record = IdentityRecord(
        traits,
        status,
        ins,
        id_document=IdDocumentKind(str(document)) if document else None,
    )
    ipp = data.get("ipp")
    return Patient(record, (_ii(ipp, "patient.ipp"),) if ipp else ())


def document_from_description(
    data: Mapping[str, Any],
    content: bytes,
    *,
    media_type: str = "application/pdf",
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now().astimezone(),
    uuid_factory: Callable[[], uuid.UUID] = uuid.uuid4,
) -> ClinicalDocument:
    """The :class:`ClinicalDocument` described by ``data`` with ``content`` as its body."""
    moment = _time(data.get("effective_time"), "effective_time", now().replace(microsecond=0))
    structure = _table(data, "structure")
    try:
        organization = Organization.from_finess(
            str(structure["finess"]), str(structure.get("name", ""))
        )
    except KeyError:
        raise InputError("description: [structure] needs finess") from None
    author_data = _table(data, "author")
    if author_data.get("software"):
        author = Author(
            moment,
            organization,
            device=SoftwareDevice(
                organization.id,
                str(author_data["software"]),
                str(author_data.get("model", author_data["software"])),
            ),
        )
        performer = _professional(_table(data, "legal_authenticator"), "legal_authenticator")
    else:
        performer = _professional(author_data, "author")
        author = Author(moment, organization, professional=performer)
    legal = _professional(_table(data, "legal_authenticator"), "legal_authenticator")
    replaces_data = _table(data, "replaces", required=False)
    replaces = None
    if replaces_data:
        replaces = ParentDocument(
            _ii(replaces_data.get("id"), "replaces.id"),
            _ii(replaces_data["set_id"], "replaces.set_id")
            if replaces_data.get("set_id")
            else None,
            _version(replaces_data["version"], "replaces.version")
            if replaces_data.get("version")
            else None,
        )
    set_id = data.get("set_id")
    if replaces is not None and set_id is None and replaces.set_id is not None:
        set_id_value = replaces.set_id
    else:
        set_id_value = (
            _ii(set_id, "set_id") if set_id else InstanceId.new(uuid_factory=uuid_factory)
        )
    version = _version(data.get("version", 1), "version")
    if replaces is not None and "version" not in data and replaces.version is not None:
        version = replaces.version + 1
    return ClinicalDocument(
        document_type=codes.document_type(str(data.get("type", ""))),
        id=_ii(data["id"], "id") if data.get("id") else InstanceId.new(uuid_factory=uuid_factory),
        set_id=set_id_value,
        effective_time=moment,
        patient=_patient(_table(data, "patient")),
        authors=(author,),
        custodian=organization,
        legal_authenticator=LegalAuthenticator(moment, legal),
        service_event=ServiceEvent(
            start=_time(data.get("service_start"), "service_start", moment),
            end=_time(data.get("service_end"), "service_end", moment),
            practice_setting=codes.practice_setting(str(data.get("practice_setting", "ESSMS"))),
            performer=performer,
            organization=organization,
        ),
        encounter=Encounter(
            start=_time(data.get("encounter_start"), "encounter_start", moment),
            facility_type=codes.facility_type(str(data.get("facility_type", "SA17"))),
            facility=organization,
        ),
        body=Attachment(content, media_type),
        confidentiality=codes.confidentiality(str(data.get("confidentiality", "N"))),
        version=version,
        title=str(data.get("title", "")),
        replaces=replaces,
    )
