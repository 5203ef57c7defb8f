"""Pure building and reading of INSi messages: no sockets here.

Requests are built by zeep from segurlink's own WSDL (``schemas/insi/insi.wsdl``), then the
WS-Addressing ``Action`` header is added. Answers are read by namespace and local name,
tolerating the drift of real answers (element order inside ``INSHISTO``, comments, any
envelope prefix).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final

from lxml import etree

from .._resources import schemas_dir
from .._soap import SOAP12_NS, WSA_NS, Envelope, load_wsdl, parse_envelope
from .._xml import local_name
from ..config import SoftwareIdentity
from ..errors import InsiFault, InvalidTraits, MalformedResponse, SegurlinkError
from ..identity import IdentityTraits, Ins
from .models import (
    CrCode,
    HistoricalIns,
    InsFound,
    InsiIdentity,
    InsiResult,
    InsNotFound,
    MultipleIdentities,
    TraitsQuery,
    VitaleQuery,
)

__all__ = [
    "ACTION_SEARCH_TRAITS",
    "ACTION_SEARCH_VITALE",
    "BuiltRequest",
    "InsiMessages",
    "parse_answer",
]

ACTION_SEARCH_TRAITS: Final = "urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecTraitsIdentite"
ACTION_SEARCH_VITALE: Final = "urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecCarteVitale"
OP_SEARCH_TRAITS: Final = "rechercherInsAvecTraitsIdentite"
OP_SEARCH_VITALE: Final = "rechercherInsAvecCarteVitale"

RESULTAT_NS: Final = "http://www.cnamts.fr/INSiResultat"
SIRAM_NS: Final = "urn:siram"

CTXLPS_VERSION: Final = "01_00"
CTXBAM_VERSION: Final = "01_02"
IDAM_REFERENTIAL: Final = "4"  # ContexteLPS/LPS/IDAM@R: the CNDA authorisation referential

def default_wsdl() -> Path:
    return schemas_dir() / "insi" / "insi.wsdl"


@dataclass(frozen=True, slots=True)
class BuiltRequest:
    """A request ready to send: its operation, SOAP action, message id and bytes."""

    action: str
    message_id: str
    body: bytes
    operation: str = OP_SEARCH_TRAITS

    @property
    def content_type(self) -> str:
        return f'application/soap+xml; charset=utf-8; action="{self.action}"'


class InsiMessages:
    """Builds INSi requests for one software identity and emitter.

    ``emitter`` is the ``Emetteur`` of both SIRAM contexts (in certificate mode, the OU of
    the client certificate).

    >>> from segurlink.config import SoftwareIdentity
    >>> sw = SoftwareIdentity("MonDUI", "1.0", "IDAM1", "9f1f5a02-4c1c-4fb7-8d8e-6f2d9a1b7c00")
    >>> from segurlink.identity import IdentityTraits
    >>> t = IdentityTraits.from_input(birth_name="adrun", first_names="Zoé", sex="F",
    ...                               birth_date="1975-12-31")
    >>> req = InsiMessages(sw, emitter="499700367909006").search_by_traits(
    ...     TraitsQuery.from_traits(t, with_birth_place=False))
    >>> b"<ns0:Prenom>ZOE</ns0:Prenom>" in req.body
    True
    """

    def __init__(
        self,
        software: SoftwareIdentity,
        *,
        emitter: str,
        wsdl: Path | None = None,
        url_map: dict[str, Path] | None = None,
    ) -> None:
        self.software = software
        self.emitter = emitter
        self._zeep = load_wsdl(wsdl or default_wsdl(), url_map)

    def search_by_traits(
        self, query: TraitsQuery, *, message_id: str | None = None, now: datetime | None = None
    ) -> BuiltRequest:
        """The ``rechercherInsAvecTraitsIdentite`` request for ``query``."""
        body: dict[str, Any] = {
            "NomNaissance": query.birth_name,
            "Prenom": [query.first_name],
            "Sexe": query.sex.value,
            "DateNaissance": query.birth_date,
        }
        if query.birth_place:
            body["LieuNaissance"] = query.birth_place
        return self._build(OP_SEARCH_TRAITS, ACTION_SEARCH_TRAITS, body, message_id, now)

    def search_by_vitale(
        self, query: VitaleQuery, *, message_id: str | None = None, now: datetime | None = None
    ) -> BuiltRequest:
        """The ``rechercherInsAvecCarteVitale`` request for ``query``."""
        body: dict[str, Any] = {}
        if query.nir is not None:
            body["MatriculeIndividu"] = {"NumIdentifiant": query.nir[0], "Cle": query.nir[1]}
        if query.holder_nir is not None:
            body["MatriculeOD"] = {
                "NumIdentifiant": query.holder_nir[0],
                "Cle": query.holder_nir[1],
            }
        body["NomNaissance"] = query.birth_name
        body["DateNaissance"] = query.birth_date
        body["RangNaissance"] = str(query.birth_rank)
        return self._build(OP_SEARCH_VITALE, ACTION_SEARCH_VITALE, body, message_id, now)

    def _build(
        self,
        operation: str,
        action: str,
        body: dict[str, Any],
        message_id: str | None,
        now: datetime | None,
    ) -> BuiltRequest:
        message_id = message_id or f"uuid:{uuid.uuid4()}"
        stamp = _siram_time(now or datetime.now(UTC))
        headers = {
            "NO1_ContexteLPS": {
                "Nature": "CTXLPS",
                "Version": CTXLPS_VERSION,
                "Id": str(uuid.uuid4()),
                "Temps": stamp,
                "Emetteur": self.emitter,
                "LPS": {
                    "IDAM": {"_value_1": self.software.idam, "R": IDAM_REFERENTIAL},
                    "Version": self.software.version,
                    "Instance": self.software.instance,
                    "Nom": self.software.lps_name,
                },
            },
            "NO1_MessageID": message_id,
            "NO1_ContexteBAM": {
                "Version": CTXBAM_VERSION,
                "Id": str(uuid.uuid4()),
                "Temps": stamp,
                "Emetteur": self.emitter,
                "COUVERTURE": {},
            },
        }
        try:
            envelope = self._zeep.create_message(
                self._zeep.service, operation, _soapheaders=headers, **body
            )
        except (TypeError, ValueError) as exc:  # zeep validation of values
            raise InvalidTraits(f"cannot build the INSi request: {exc}", field="request") from exc
        header = envelope.find(f"{{{SOAP12_NS}}}Header")
        action_el = etree.SubElement(header, f"{{{WSA_NS}}}Action")
        action_el.text = action
        return BuiltRequest(
            operation=operation,
            action=action,
            message_id=message_id,
            body=etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"),
        )


def _siram_time(now: datetime) -> str:
    now = now.astimezone(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


# -- reading answers ---------------------------------------------------------------------


def parse_answer(data: bytes, *, expected_action: str | None = None) -> InsiResult:
    """Read an INSi answer (HTTP body): a typed result, or :class:`InsiFault` raised.

    >>> body = (b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body>'
    ...         b'<RESULTAT xmlns="http://www.cnamts.fr/INSiResultat"><CR><CodeCR>01</CodeCR>'
    ...         b'<LibelleCR>Aucune identite trouvee</LibelleCR></CR></RESULTAT>'
    ...         b'</e:Body></e:Envelope>')
    >>> parse_answer(body).code
    <CrCode.NOT_FOUND: '01'>
    """
    envelope = parse_envelope(data, what="INSi answer")
    if envelope.fault is not None:
        raise fault_error(envelope)
    if expected_action is not None:
        action = envelope.header_text(WSA_NS, "Action")
        if action is not None and action != expected_action + "Response":
            raise MalformedResponse(
                f"INSi answered with action {action!r}, expected {expected_action}Response"
            )
    body = envelope.body
    if body is None or etree.QName(body).namespace != RESULTAT_NS or local_name(body) != "RESULTAT":
        found = "nothing" if body is None else repr(body.tag)
        raise MalformedResponse(f"INSi answer body holds {found}, expected RESULTAT")
    return parse_resultat(body)


def parse_resultat(resultat: etree._Element) -> InsiResult:
    """Turn a ``RESULTAT`` element into :class:`InsFound`, :class:`InsNotFound` or
    :class:`MultipleIdentities`."""
    cr = _child(resultat, "CR")
    if cr is None:
        raise MalformedResponse("INSi RESULTAT has no CR")
    code_text = _text(cr, "CodeCR")
    label = _text(cr, "LibelleCR") or ""
    try:
        code = CrCode(code_text or "")
    except ValueError as exc:
        raise MalformedResponse(f"unknown INSi CodeCR {code_text!r} ({label})") from exc
    individu = _child(resultat, "INDIVIDU")
    if code is CrCode.FOUND:
        if individu is None:
            raise MalformedResponse("INSi CR 00 without INDIVIDU")
        return InsFound(code, label, identity=_parse_individu(individu))
    if code is CrCode.NOT_FOUND:
        return InsNotFound(code, label)
    return MultipleIdentities(code, label)


def _parse_individu(individu: etree._Element) -> InsiIdentity:
    active_el = _child(individu, "INSACTIF")
    tiq = _child(individu, "TIQ")
    if active_el is None or tiq is None:
        raise MalformedResponse("INSi INDIVIDU lacks INSACTIF or TIQ")
    active = _parse_ins(active_el)
    history = tuple(_parse_ins(h) for h in _children(individu, "INSHISTO"))
    first_names = _text(tiq, "ListePrenom") or _text(tiq, "Prenom") or ""
    sex = _sex(_text(tiq, "Sexe"))
    try:
        traits = IdentityTraits(
            birth_name=_text(tiq, "NomNaissance") or "",
            first_names=tuple(first_names.split()),
            sex=sex,
            birth_date=_text(tiq, "DateNaissance") or "",
            birth_place=_text(tiq, "LieuNaissance") or None,
        )
    except SegurlinkError as exc:
        raise MalformedResponse(f"INSi returned traits segurlink cannot read: {exc}") from exc
    return InsiIdentity(
        active=active, history=history, traits=traits, first_name=_text(tiq, "Prenom")
    )


def _sex(value: str | None) -> Any:
    from ..identity import Sex

    try:
        return Sex(value or "")
    except ValueError as exc:
        raise MalformedResponse(f"INSi returned an unknown Sexe {value!r}") from exc


def _parse_ins(element: etree._Element) -> HistoricalIns:
    # Children are looked up by name, never by position: DateDeb/DateFin come before
    # IdIndividu in some real answers.
    id_el = _child(element, "IdIndividu")
    if id_el is None:
        raise MalformedResponse(f"INSi {local_name(element)} has no IdIndividu")
    matricule = _text(id_el, "NumIdentifiant") or ""
    key = _text(id_el, "Cle") or ""
    oid = _text(element, "OID") or ""
    try:
        ins = Ins(matricule, key, oid)
    except SegurlinkError as exc:
        raise MalformedResponse(f"INSi returned an INS segurlink cannot read: {exc}") from exc
    return HistoricalIns(
        ins=ins,
        start=_date(_text(element, "DateDeb")),
        end=_date(_text(element, "DateFin")),
        matricule_type=_text(id_el, "TypeMatricule"),
    )


def _date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError as exc:
        raise MalformedResponse(f"INSi returned an invalid date {value!r}") from exc


def _children(parent: etree._Element, name: str) -> list[etree._Element]:
    return [
        c
        for c in parent
        if isinstance(c.tag, str)
        and local_name(c) == name
        and etree.QName(c).namespace in (RESULTAT_NS, None)
    ]


def _child(parent: etree._Element, name: str) -> etree._Element | None:
    found = _children(parent, name)
    return found[0] if found else None


def _text(parent: etree._Element, name: str) -> str | None:
    child = _child(parent, name)
    if child is None:
        return None
    return (child.text or "").strip()


def fault_error(envelope: Envelope) -> InsiFault:
    """The :class:`InsiFault` for a fault envelope, whatever its style (2022 or 2025)."""
    fault = envelope.fault
    assert fault is not None
    detail_code = severity = message_id = detail_text = ""
    if fault.detail is not None:
        detail = fault.detail
        detail_code = detail.get("code", "")
        severity = detail.get("severite", "")
        message_id = detail.get("messageID", "")
        detail_text = " ".join((detail.text or "").split())
    reason = " ".join(fault.reason.split())
    parts = [p for p in (fault.subcode, detail_code) if p]
    message = f"INSi fault {'/'.join(parts) or fault.code}: {detail_text or reason}"
    return InsiFault(
        message,
        code=fault.code,
        subcode=fault.subcode,
        detail_code=detail_code,
        severity=severity,
        message_id=message_id,
        reason=reason,
    )
