"""A document model from a JSON/TOML description (what ``segurlink cda build`` reads).

The format (every key, its type, whether it is required, its default) is documented in
``docs/cda.md`` ("Description file"); ``docs/examples/ppa-description.toml`` is a complete
example, built and validated by the tests. Tables: the top level (``type``, times, ids,
codes), ``[structure]``, ``[patient]``, ``[author]``, ``[legal_authenticator]`` and the
optional ``[replaces]``. A key this module does not know is refused: a misspelt optional
key must not silently fall back to its default.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from .._ascii import is_ascii_digits
from ..errors import InputError
from ..identity import (
    IdDocumentKind,
    IdentityRecord,
    IdentityStatus,
    IdentityTraits,
    Ins,
    InsOid,
)
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

__all__ = ["DESCRIPTION_KEYS", "document_from_description"]

_PERSON = frozenset({"rpps", "family", "given", "prefix", "suffix", "profession"})
#: The keys each table may hold ("" is the top level).
DESCRIPTION_KEYS: Mapping[str, frozenset[str]] = {
    "": frozenset(
        {
            "type", "title", "confidentiality", "effective_time", "id", "set_id", "version",
            "service_start", "service_end", "practice_setting", "encounter_start",
            "facility_type", "structure", "patient", "author", "legal_authenticator",
            "replaces",
        }
    ),
    "structure": frozenset({"finess", "name"}),
    "patient": frozenset(
        {
            "status", "ins", "ins_oid", "id_document", "birth_name", "first_names", "sex",
            "birth_date", "birth_place", "used_name", "used_first_name", "ipp",
        }
    ),
    "author": _PERSON | {"software", "model"},
    "legal_authenticator": _PERSON,
    "replaces": frozenset({"id", "set_id", "version"}),
    "profession": frozenset({"code", "system", "display"}),
    "identifier": frozenset({"root", "extension"}),
}  # fmt: skip


def _known_keys(data: Mapping[str, Any], table: str, where: str) -> None:
    unknown = sorted(str(key) for key in data if key not in DESCRIPTION_KEYS[table])
    if unknown:
        raise InputError(
            f"description: unknown key(s) {', '.join(unknown)} in {where}; known: "
            + ", ".join(sorted(DESCRIPTION_KEYS[table]))
        )


def _text(value: Any, what: str) -> str:
    # Strings (and numbers written without quotes, e.g. an RPPS); never a table or a list.
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InputError(f"description: {what} must be a string, got {type(value).__name__}")
    return str(value)


def _table(data: Mapping[str, Any], key: str, *, required: bool = True) -> Mapping[str, Any]:
    value = data.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, Mapping):
        raise InputError(f"description: [{key}] must be a table/object")
    _known_keys(value, key, f"[{key}]")
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
    _known_keys(value, "identifier", what)
    ext = value.get("extension")
    return InstanceId(
        _text(value["root"], f"{what}.root"),
        _text(ext, f"{what}.extension") if ext not in (None, "") else None,
    )


def _professional(data: Mapping[str, Any], what: str) -> Professional:
    for key in ("rpps", "family", "profession"):
        if key not in data:
            raise InputError(f"description: [{what}] needs {key}")
    profession = data["profession"]
    if not isinstance(profession, Mapping) or not profession.get("code"):
        raise InputError(
            f"description: [{what}] profession must be {{code = ..., display = ...}} "
            "(JDV_J01 profession/speciality, e.g. G15_10/SM26)"
        )
    _known_keys(profession, "profession", f"[{what}] profession")
    given = data.get("given") or ()
    if isinstance(given, str):
        given = (given,)
    if not isinstance(given, list | tuple):
        raise InputError(f"description: [{what}] given must be a string or a list of strings")
    return Professional(
        _text(data["rpps"], f"{what}.rpps"),
        PersonName(
            _text(data["family"], f"{what}.family"),
            tuple(_text(g, f"{what}.given") for g in given),
            prefix=_text(data.get("prefix", ""), f"{what}.prefix"),
            suffix=_text(data.get("suffix", ""), f"{what}.suffix"),
        ),
        Code(
            _text(profession["code"], f"{what}.profession.code"),
            _text(profession.get("system", codes.PROFESSION), f"{what}.profession.system"),
            _text(profession.get("display", ""), f"{what}.profession.display"),
        ),
    )


def _choice(kind: type[IdentityStatus] | type[IdDocumentKind], value: Any, what: str) -> Any:
    try:
        return kind(_text(value, what).upper())
    except ValueError:
        raise InputError(
            f"description: {what} must be one of {', '.join(m.value for m in kind)}, got {value!r}"
        ) from None


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
    status = _choice(IdentityStatus, data.get("status", "PROV"), "patient.status")
    ins = (
        Ins.parse(
            _text(data["ins"], "patient.ins"),
            _text(data.get("ins_oid", InsOid.NIR.value), "patient.ins_oid"),
        )
        if data.get("ins")
        else None
    )
    document = data.get("id_document")
    record = IdentityRecord(
        traits,
        status,
        ins,
        id_document=_choice(IdDocumentKind, document, "patient.id_document") if document else None,
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
    if not isinstance(data, Mapping):
        raise InputError("description: the top level must be a table/object")
    _known_keys(data, "", "the top level")
    moment = _time(data.get("effective_time"), "effective_time", now().replace(microsecond=0))
    structure = _table(data, "structure")
    try:
        organization = Organization.from_finess(
            _text(structure["finess"], "structure.finess"),
            _text(structure.get("name", ""), "structure.name"),
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
                _text(author_data["software"], "author.software"),
                _text(author_data.get("model", author_data["software"]), "author.model"),
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
        document_type=codes.document_type(_text(data.get("type", ""), "type")),
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
            practice_setting=codes.practice_setting(
                _text(data.get("practice_setting", "ESSMS"), "practice_setting")
            ),
            performer=performer,
            organization=organization,
        ),
        encounter=Encounter(
            start=_time(data.get("encounter_start"), "encounter_start", moment),
            facility_type=codes.facility_type(
                _text(data.get("facility_type", "SA17"), "facility_type")
            ),
            facility=organization,
        ),
        body=Attachment(content, media_type),
        confidentiality=codes.confidentiality(
            _text(data.get("confidentiality", "N"), "confidentiality")
        ),
        version=version,
        title=_text(data.get("title", ""), "title"),
        replaces=replaces,
    )
