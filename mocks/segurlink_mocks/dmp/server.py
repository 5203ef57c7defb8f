"""Mock of the DMP (Mon espace santé) over IHE XDS.b, SOAP 1.2 and mutual TLS.

:class:`DmpMock` is a stateful DMP on loopback: ``/patients`` (TD0.2 existence and
authorisation test), ``/registry`` (ITI-18 FindDocuments / GetDocuments, ITI-57 status
updates and masking), ``/repository`` (ITI-41 MTOM deposit, ITI-43 MTOM retrieve) and
``/habilitations`` (TD0.3). It is an independent witness of the segurlink client: it
shares the test PKI, segurlink's CDA validator and hardened XML parser, never the code
that builds or reads the client's messages; its answers have the shapes of the official
examples in ``dmp-package/messages``.

Every request is checked like the real service would: a SOAP 1.2 envelope (or SOAP 1.1,
which the official TD2.1 exchange shows the DMP accepting; answers are SOAP 1.2),
``wsa:Action`` matching the path, ``wsa:MessageID``, no repeated WS-Addressing header; a
TLS client certificate from the test CA; the VIHF in ``wsse:Security`` (XML signature
verified against the test CA, attributes, structure == certificate OU == TLS OU, INS ==
the patient of the request, issued less than 30 s ago and never seen before); the
indirect-mode rights; and, for a deposit, the metadata against the CDA it carries
(see ``docs/mocks.md``).

>>> with DmpMock(pki) as dmp:                      # doctest: +SKIP
...     dmp.inject("registry_unavailable")
...     dmp.documents("275126322074974")
[]
"""

from __future__ import annotations

import copy
import functools
import hashlib
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Unpack
from urllib.parse import quote

from lxml import etree
from werkzeug.wrappers import Request, Response

from .._core.exchange import Exchange
from .._core.faults import HTTP_FAULTS, FaultCatalog
from .._core.routing import Route
from .._core.server import ServerOptions
from .._core.service import MockService
from .certificates import DMP_AUTH, DMP_SIGN, DMP_SIGN_OTHER, ensure_dmp_certificates
from .mime import MimeError, Multipart, build_mtom, parse_multipart
from .vihf import VIHF_LIFETIME, Vihf, VihfError, VihfFreshness, verify_vihf
from .xds import (
    ACCESS_DENIED,
    ACTIONS,
    APPROVED,
    AUTHORISATIONS,
    DE_CONF,
    DE_OBJECT_TYPE,
    DE_PATIENT,
    DE_UNIQUE,
    DELETED,
    DEPRECATED,
    DEVICE_OID,
    FAILURE,
    FIND_DOCUMENTS,
    GET_DOCUMENTS,
    HAB,
    HAS_MEMBER,
    HL7,
    INS_NIR,
    INS_OIDS,
    ITI18,
    ITI41,
    ITI43,
    ITI57,
    LCM,
    NO_AUTHOR_INSTITUTION,
    QUERY,
    REPOSITORY_ID,
    RIM,
    RS,
    SEVERITY_ERROR,
    SOAP11_NS,
    SOAP12_NS,
    SS_AUTHOR,
    SS_PATIENT,
    SUCCESS,
    TD02,
    TD03,
    TRANSITIONS,
    UPDATE_STATUS,
    WSA_NS,
    WSSE_NS,
    XDSB,
    XOP,
    XdsFailure,
    _author_institutions,
    _confidentiality,
    _external_id,
    _now_hl7,
    _parse_cx,
    _q,
    _query_list,
    _slot_values,
    _xon_id,
)

if TYPE_CHECKING:
    from ..pki import TestPki

__all__ = [
    "ACTIONS",
    "DEFAULT_PATIENTS",
    "DEVICE_OID",
    "REPOSITORY_ID",
    "DmpMock",
    "DmpPatient",
    "StoredEntry",
]

# -- patients and stored entries --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DmpPatient:
    """A patient of the mock; ``dmp=False``: no DMP (TD0.2 NF, deposits refused)."""

    ins: str  # 15 characters, matricule + key
    family: str = ""
    given: str = ""
    sex: str = "F"
    birth_date: str = ""
    dmp: bool = True
    authorisation: str = "VALIDE"

    def __repr__(self) -> str:
        return f"DmpPatient(ins='{self.ins[:2]}***', dmp={self.dmp}, {self.authorisation})"


DEFAULT_COMMIT_DELAY = 12.0  # timeout_after_commit: seconds slept after storing

DEFAULT_PATIENTS: tuple[DmpPatient, ...] = (
    DmpPatient("275126322074974", "ADRUN", "ZOE", "F", "19751231"),
    DmpPatient("297022A02077878", "ADRTROIS", "DOMINIQUE", "F", "19970226"),
    DmpPatient(
        "236066322083656", "TCHITCHI", "CATARINA", "F", "19360621", authorisation="INTERDIT"
    ),
    DmpPatient(
        "110086322083060",
        "NESSI",
        "MICHELANGELO",
        "M",
        "20100801",
        dmp=False,
        authorisation="NON_EXISTE",
    ),
    DmpPatient("180032B02040123", "CORSE", "ANTHONY", "M", "19800301", authorisation="EXPIRE"),
)


@dataclass(slots=True)
class StoredEntry:
    """One DocumentEntry version of the registry (with its document in the repository)."""

    entry_uuid: str
    lid: str
    unique_id: str
    ins: str
    status: str
    version: int
    confidentiality: list[tuple[str, str]]
    structure_id: str
    mime_type: str
    content: bytes = field(repr=False)
    metadata: bytes = field(repr=False)  # the ExtrinsicObject as received
    submission_set_id: str = ""
    replaces: str | None = None
    set_id: str = ""  # the CDA's setId, shared by the document's versions

    @property
    def hash(self) -> str:
        return hashlib.sha1(self.content).hexdigest()  # noqa: S324 - XDS hash is SHA-1

    def to_dict(self) -> dict[str, Any]:
        return {
            "entryUUID": self.entry_uuid,
            "lid": self.lid,
            "uniqueId": self.unique_id,
            "status": self.status,
            "version": self.version,
            "confidentiality": [code for code, _ in self.confidentiality],
            "structure": self.structure_id,
            "mimeType": self.mime_type,
            "size": len(self.content),
            "hash": self.hash,
            "replaces": self.replaces,
            "setId": self.set_id,
        }


# -- errors raised by the handlers ---------------------------------------------------------


class _SoapFault(Exception):
    def __init__(
        self,
        reason: str,
        subcode: str | None = None,
        code: str = "Sender",
        subsubcode: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.subcode = subcode
        self.code = code
        self.subsubcode = subsubcode


#: WS-Addressing headers that appear at most once (WS-Addressing 1.0 SOAP Binding §6.4.1:
#: a duplicate is wsa:InvalidAddressingHeader / wsa:InvalidCardinality).
_SINGLE_WSA_HEADERS = ("To", "From", "ReplyTo", "FaultTo", "Action", "MessageID")


@dataclass(slots=True)
class _Answer:
    body: etree._Element
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)


@dataclass(slots=True)
class _Call:
    action: str
    body: etree._Element
    vihf: Vihf
    multipart: Multipart | None
    exchange: Exchange


# -- the mock ------------------------------------------------------------------------------


class DmpMock(MockService):
    """A stateful DMP: patients, registry entries, repository documents, faults.

    Service faults: ``registry_unavailable`` (RegistryResponse Failure
    ``XDSRegistryNotAvailable``; a SOAP Receiver fault on ``/patients``),
    ``truncated_multipart`` (the next ITI-43 MTOM answer is cut in its document part),
    ``wrong_action`` (the answer carries another transaction's ``wsa:Action``),
    ``timeout_after_commit[:<s>]`` (an ITI-41/57 is applied, then the answer waits
    ``s`` seconds — default :data:`DEFAULT_COMMIT_DELAY` — so that the client times out
    after the commit).
    """

    name: ClassVar[str] = "dmp"
    fault_catalog: ClassVar[FaultCatalog] = HTTP_FAULTS.with_service(
        "registry_unavailable",
        "truncated_multipart",
        "wrong_action",
        optional_seconds=("timeout_after_commit",),
    )

    def __init__(
        self,
        pki: TestPki,
        *,
        patients: Iterable[DmpPatient] = DEFAULT_PATIENTS,
        commit_delay: float = DEFAULT_COMMIT_DELAY,
        vihf_lifetime: float = VIHF_LIFETIME,
        **options: Unpack[ServerOptions],
    ) -> None:
        super().__init__(pki, **options)
        from segurlink._audit import protect_third_party_loggers

        # The mock verifies signatures with signxml, which logs the signed XML (the VIHF
        # names a patient): the same protection as segurlink's clients.
        protect_third_party_loggers()
        self.identities = ensure_dmp_certificates(pki)
        self.commit_delay = commit_delay
        self.vihf_freshness = VihfFreshness(vihf_lifetime)
        self._initial_patients = tuple(patients)
        self._data_lock = threading.RLock()
        self._patients: dict[str, DmpPatient] = {}
        self._entries: list[StoredEntry] = []
        self._reset_data()

    # -- public API ------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        """The ``[dmp] endpoint`` base URL (services are ``/patients``, ``/registry``...)."""
        return self.url

    def settings_table(self, pki_dir: str | None = None) -> dict[str, str]:
        """The ``[dmp]`` settings table for a client of this mock (contract values).

        ``pki_dir`` writes certificate paths relative to it (``segurlink.toml`` of the
        stack); by default they are absolute.
        """

        def path(name: str, suffix: str) -> str:
            if pki_dir is not None:
                return f"{pki_dir}/{name}.{suffix}"
            return str(self.pki.directory / f"{name}.{suffix}")

        return {
            "endpoint": self.endpoint,
            "cert": path(DMP_AUTH, "pem"),
            "key": path(DMP_AUTH, "key"),
            "signing_cert": path(DMP_SIGN, "pem"),
            "signing_key": path(DMP_SIGN, "key"),
            "mode": "indirect",
            "homologation_id": "SEGURLINK-DMP-HOMOL",
            "responsible_id": "810100000001",
            "responsible_family": "RESPONSABLE",
            "responsible_given": "ROBERT",
            "responsible_profession": "10",
            "sector": "SA17",
            "source_oid": "1.2.250.1.999.1.1",
        }

    @property
    def other_signing_identity(self) -> tuple[str, str]:
        """``dmp-sign-other`` (OU 1999999999) as ``(cert, key)`` paths."""
        return self.identities[DMP_SIGN_OTHER].as_requests_cert()

    def add_patient(
        self,
        ins: str,
        dmp: bool = True,
        authorisation: str = "VALIDE",
        *,
        family: str = "",
        given: str = "",
        sex: str = "F",
        birth_date: str = "",
    ) -> DmpPatient:
        """Register (or replace) a patient until the next :meth:`reset`."""
        if authorisation not in AUTHORISATIONS:
            raise ValueError(f"authorisation must be one of {sorted(AUTHORISATIONS)}")
        if len(ins) != 15:
            raise ValueError("an INS has 15 characters (matricule + key)")
        patient = DmpPatient(
            ins, family, given, sex, birth_date, dmp, authorisation if dmp else "NON_EXISTE"
        )
        with self._data_lock:
            self._patients[ins] = patient
        return patient

    def patient(self, ins: str) -> DmpPatient | None:
        with self._data_lock:
            return self._patients.get(ins)

    def documents(self, ins: str) -> list[dict[str, Any]]:
        """Every stored entry version of ``ins`` (any status), oldest first."""
        with self._data_lock:
            return [e.to_dict() for e in self._entries if e.ins == ins]

    def entries(self, ins: str | None = None) -> list[StoredEntry]:
        """The stored entries themselves (copies), for tests that need the bytes."""
        with self._data_lock:
            return [copy.copy(e) for e in self._entries if ins is None or e.ins == ins]

    def seed_document(
        self,
        ins: str,
        content: bytes,
        unique_id: str,
        *,
        structure_id: str = "1999999999",
        confidentiality: Iterable[str] = (),
        mime_type: str = "text/xml",
    ) -> str:
        """Store a document as if another structure had deposited it; its entryUUID.

        For tests of the rights (indirect mode sees and retrieves only its own
        structure's documents) and of masking (``MASQUE_PS``...).
        """
        codes = [("N", "2.16.840.1.113883.5.25")]
        codes += [(code, "1.2.250.1.213.1.1.4.13") for code in confidentiality]
        entry_uuid = f"urn:uuid:{uuid.uuid4()}"
        metadata = etree.Element(_q(RIM, "ExtrinsicObject"), nsmap={"rim": RIM})
        metadata.set("id", "Document01")
        for scheme, value in ((DE_PATIENT, f"{ins}^^^&{INS_NIR}&ISO^NH"), (DE_UNIQUE, unique_id)):
            ext = etree.SubElement(metadata, _q(RIM, "ExternalIdentifier"))
            ext.set("identificationScheme", scheme)
            ext.set("value", value)
        with self._data_lock:
            self._entries.append(
                StoredEntry(
                    entry_uuid=entry_uuid,
                    lid=entry_uuid,
                    unique_id=unique_id,
                    ins=ins,
                    status=APPROVED,
                    version=1,
                    confidentiality=codes,
                    structure_id=structure_id,
                    mime_type=mime_type,
                    content=content,
                    metadata=etree.tostring(metadata),
                )
            )
        return entry_uuid

    def reset(self) -> None:
        """Faults, request log, patients and documents back to the start state."""
        super().reset()
        self._reset_data()

    def _reset_data(self) -> None:
        with self._data_lock:
            self._patients = {p.ins: p for p in self._initial_patients}
            self._entries = []
        self.vihf_freshness.clear()

    # -- dispatch --------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        """``/patients``, ``/habilitations``, ``/registry``, ``/repository``: SOAP POSTs."""
        return [
            Route(path, path.strip("/"), functools.partial(self._soap, actions), ("POST",))
            for path, actions in ACTIONS.items()
        ]

    def _soap(self, actions: Mapping[str, str], request: Request, exchange: Exchange) -> Response:
        relates_to = ""
        response_action = "http://www.w3.org/2005/08/addressing/soap/fault"
        try:
            envelope, multipart = self._read_envelope(request)
            soap_ns = etree.QName(envelope).namespace or SOAP12_NS
            header = envelope.find(_q(soap_ns, "Header"))
            body = envelope.find(_q(soap_ns, "Body"))
            if header is None or body is None or len(body) != 1:
                raise _SoapFault("SOAP Header and Body with one element are required")
            for name in _SINGLE_WSA_HEADERS:
                if len(header.findall(_q(WSA_NS, name))) > 1:
                    raise _SoapFault(
                        "A header representing a Message Addressing Property is not valid "
                        f"and the message cannot be processed: wsa:{name} is repeated",
                        "wsa:InvalidAddressingHeader",
                        subsubcode="wsa:InvalidCardinality",
                    )
            relates_to = (header.findtext(_q(WSA_NS, "MessageID")) or "").strip()
            action = (header.findtext(_q(WSA_NS, "Action")) or "").strip()
            exchange.details["action"] = action.rsplit(":", 1)[-1]
            if not relates_to:
                raise _SoapFault(
                    "A required header representing a Message Addressing Property is not "
                    "present: wsa:MessageID",
                    "wsa:MessageAddressingHeaderRequired",
                )
            if action not in actions:
                raise _SoapFault(
                    f"The [action] cannot be processed at the receiver: {action!r} on "
                    f"{request.path}",
                    "wsa:ActionNotSupported",
                )
            response_action = actions[action]
            if exchange.has_fault("registry_unavailable"):
                answer = self._unavailable(action)
            else:
                client = exchange.client
                if client is None or not client.ou:
                    raise _SoapFault(
                        "Erreur d'authentification de la personne morale : certificat TLS sans OU",
                        "wsse:FailedAuthentication",
                    )
                try:
                    vihf = verify_vihf(header, self.pki.ca, client.ou)
                    self.vihf_freshness.check(vihf)
                except VihfError as exc:
                    raise _SoapFault(exc.message, exc.subcode) from exc
                exchange.details["mode"] = vihf.mode
                # The professional's national id (not health data): who the VIHF names.
                exchange.details["subject"] = vihf.name_id
                call = _Call(action, body[0], vihf, multipart, exchange)
                answer = self._dispatch(call)
        except _SoapFault as fault:
            exchange.details["result"] = fault.subcode or fault.code
            return self._fault_response(fault, relates_to)
        return self._respond_soap(answer, response_action, relates_to, exchange)

    def _read_envelope(self, request: Request) -> tuple[etree._Element, Multipart | None]:
        from segurlink._xml import parse_xml
        from segurlink.errors import SegurlinkError

        content_type = request.headers.get("Content-Type", "")
        data = request.get_data()
        multipart: Multipart | None = None
        media = content_type.split(";", 1)[0].strip().lower()
        if media == "multipart/related":
            try:
                multipart = parse_multipart(data, content_type)
            except MimeError as exc:
                raise _SoapFault(f"Requête MTOM invalide : {exc}") from exc
            if "application/soap+xml" not in multipart.root.content_type:
                raise _SoapFault("the XOP root part is not application/soap+xml")
            data = multipart.root.body
        elif media not in ("application/soap+xml", "text/xml"):
            raise _SoapFault(
                f"Content-Type {content_type!r}: SOAP (application/soap+xml) or MTOM expected"
            )
        try:
            envelope = parse_xml(data, what="SOAP request")
        except SegurlinkError as exc:
            raise _SoapFault(f"Requête illisible : {exc}") from exc
        # The official TD2.1 capture carries a SOAP 1.1 envelope in an application/soap+xml
        # part, and the DMP answered it (in SOAP 1.2): both envelopes are accepted. SOAP 1.2
        # under text/xml (SOAP 1.1's media type) is a version mismatch.
        if envelope.tag == _q(SOAP12_NS, "Envelope"):
            if media == "text/xml":
                raise _SoapFault(
                    "SOAP 1.2 envelope sent as text/xml (application/soap+xml expected)",
                    None,
                    "VersionMismatch",
                )
        elif envelope.tag != _q(SOAP11_NS, "Envelope"):
            raise _SoapFault("not a SOAP envelope", None, "VersionMismatch")
        return envelope, multipart

    def _dispatch(self, call: _Call) -> _Answer:
        handlers: dict[str, Callable[[_Call], _Answer]] = {
            TD02: self._td02,
            TD03: self._td03,
            ITI18: self._iti18,
            ITI57: self._iti57,
            ITI41: self._iti41,
            ITI43: self._iti43,
        }
        try:
            return handlers[call.action](call)
        except XdsFailure as failure:
            call.exchange.details["result"] = failure.errors[0][0]
            return _Answer(self._failure_body(call.action, failure.errors))

    # -- answers ---------------------------------------------------------------------------

    def _failure_body(self, action: str, errors: list[tuple[str, str]]) -> etree._Element:
        if action == ITI18:
            response = etree.Element(
                _q(QUERY, "AdhocQueryResponse"), nsmap={"query": QUERY, "rs": RS}
            )
            response.set("status", FAILURE)
            response.append(_error_list(errors))
            return response
        if action == ITI43:
            response = etree.Element(
                _q(XDSB, "RetrieveDocumentSetResponse"), nsmap={"xdsb": XDSB, "rs": RS}
            )
            response.append(_registry_response(errors))
            return response
        return _registry_response(errors)

    def _unavailable(self, action: str) -> _Answer:
        errors = [("XDSRegistryNotAvailable", "Le registre du DMP est momentanément indisponible")]
        if action in (TD02, TD03):
            raise _SoapFault("Service DMP momentanément indisponible", None, "Receiver")
        return _Answer(self._failure_body(action, errors))

    def _respond_soap(
        self, answer: _Answer, action: str, relates_to: str, exchange: Exchange
    ) -> Response:
        if exchange.has_fault("wrong_action"):
            action = (
                "urn:ihe:iti:2007:RegistryStoredQueryResponse"
                if action != "urn:ihe:iti:2007:RegistryStoredQueryResponse"
                else "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse"
            )
        envelope = _envelope(answer.body, action, relates_to)
        exchange.details.setdefault("result", "ok")
        if exchange.fault is not None and exchange.has_fault("timeout_after_commit"):
            seconds = exchange.fault.seconds
            exchange.pause(self.commit_delay if seconds is None else seconds)  # reset() cuts it
        if answer.attachments:
            data, content_type = build_mtom(envelope, answer.attachments, action)
            if exchange.has_fault("truncated_multipart"):
                # Cut inside the last document part: no closing delimiter.
                data = data[: len(data) - max(len(answer.attachments[-1][2]) // 2, 1) - 40]
            return Response(data, status=200, content_type=content_type)
        return Response(
            envelope,
            status=200,
            content_type=f'application/soap+xml; charset=UTF-8; action="{action}"',
        )

    def payload_too_large(self, request: Request, limit: int) -> Response:
        fault = _SoapFault(f"Le message dépasse {limit} octets")
        response = self._fault_response(fault, "")
        response.status_code = 413
        return response

    def _fault_response(self, fault: _SoapFault, relates_to: str) -> Response:
        body = etree.Element(
            _q(SOAP12_NS, "Fault"), nsmap={"soap": SOAP12_NS, "wsse": WSSE_NS, "wsa": WSA_NS}
        )
        code = etree.SubElement(body, _q(SOAP12_NS, "Code"))
        etree.SubElement(code, _q(SOAP12_NS, "Value")).text = f"soap:{fault.code}"
        if fault.subcode:
            sub = etree.SubElement(code, _q(SOAP12_NS, "Subcode"))
            etree.SubElement(sub, _q(SOAP12_NS, "Value")).text = fault.subcode
            if fault.subsubcode:
                subsub = etree.SubElement(sub, _q(SOAP12_NS, "Subcode"))
                etree.SubElement(subsub, _q(SOAP12_NS, "Value")).text = fault.subsubcode
        reason = etree.SubElement(body, _q(SOAP12_NS, "Reason"))
        text = etree.SubElement(reason, _q(SOAP12_NS, "Text"))
        text.set("{http://www.w3.org/XML/1998/namespace}lang", "fr")
        text.text = fault.reason
        envelope = _envelope(body, "http://www.w3.org/2005/08/addressing/soap/fault", relates_to)
        # Like the real service (Apache CXF), every SOAP fault comes with HTTP 500.
        return Response(envelope, status=500, content_type="application/soap+xml; charset=UTF-8")

    # -- common checks ------------------------------------------------------------------------

    def _vihf_ins(self, vihf: Vihf) -> str:
        ins, oid = _parse_cx(vihf.patient_id)
        if len(ins) != 15 or oid not in INS_OIDS:
            raise _SoapFault(
                "VIHF invalide : resource-id n'est pas un INS (<INS>^^^&<OID>&ISO^NH)",
                "wsse:FailedAuthentication",
            )
        return ins

    def _same_patient(self, vihf: Vihf, cx: str, what: str) -> str:
        ins, oid = _parse_cx(cx)
        if len(ins) != 15 or oid not in INS_OIDS:
            raise XdsFailure("XDSRepositoryMetadataError", f"{what} : identifiant patient invalide")
        if ins != self._vihf_ins(vihf):
            raise XdsFailure(
                "XDSPatientIdDoesNotMatch",
                f"{what} ne correspond pas au patient du VIHF (resource-id)",
            )
        return ins

    def _patient_with_dmp(self, ins: str) -> DmpPatient:
        patient = self.patient(ins)
        if patient is None or not patient.dmp:
            raise XdsFailure("XDSUnknownPatientId", "Le patient n'a pas de DMP")
        if patient.authorisation == "INTERDIT":
            raise XdsFailure(
                "XDSRegistryError",
                f"{ACCESS_DENIED} : le patient a interdit l'accès à son DMP à cette structure",
            )
        return patient

    @staticmethod
    def _visible(entry: StoredEntry, vihf: Vihf) -> bool:
        """Indirect mode sees only its structure's documents; reinforced mode sees the
        others too, except those masked to professionals (``MASQUE_PS``)."""
        if entry.structure_id == vihf.structure_id:
            return True
        if not vihf.reinforced:
            return False
        return not any(code == "MASQUE_PS" for code, _ in entry.confidentiality)

    # -- TD0.2 -------------------------------------------------------------------------------

    def _td02(self, call: _Call) -> _Answer:
        body = call.body
        if body.tag != _q(HL7, "PRPA_IN201307UV02"):
            raise _SoapFault("PRPA_IN201307UV02 attendu")
        value = body.find(
            f"{{{HL7}}}controlActProcess/{{{HL7}}}queryByParameter/{{{HL7}}}parameterList/"
            f"{{{HL7}}}patientIdentifier/{{{HL7}}}value"
        )
        if (
            value is None
            or value.get("root") not in INS_OIDS
            or len(value.get("extension", "")) != 15
        ):
            raise _SoapFault("TD0.2 : patientIdentifier/value (INS) absent ou invalide")
        ins = value.get("extension", "")
        if ins != self._vihf_ins(call.vihf):
            raise _SoapFault(
                "L'INS de la requête ne correspond pas au resource-id du VIHF",
                "wsse:FailedAuthentication",
            )
        patient = self.patient(ins)
        found = patient is not None and patient.dmp
        authorisation = patient.authorisation if patient is not None and found else "NON_EXISTE"
        call.exchange.details["result"] = "OK" if found else "NF"
        message_id = body.find(f"{{{HL7}}}id")
        query_id = body.find(
            f"{{{HL7}}}controlActProcess/{{{HL7}}}queryByParameter/{{{HL7}}}queryId"
        )
        return _Answer(
            _td02_response(
                patient if found else None,
                value.get("root", INS_NIR),
                authorisation,
                message_id,
                query_id,
            )
        )

    # -- TD0.3 -------------------------------------------------------------------------------

    def _td03(self, call: _Call) -> _Answer:
        if call.body.tag != _q(HAB, "setAuthorization"):
            raise _SoapFault("setAuthorization attendu")
        action = (call.body.findtext(_q(HAB, "action")) or "").strip()
        ins = self._vihf_ins(call.vihf)
        patient = self.patient(ins)
        if patient is None or not patient.dmp:
            status, context = "DMPPatientNotFound", "Le patient n'a pas de DMP"
        elif action == "AJOUT":
            if patient.authorisation == "INTERDIT":
                status, context = "DMPAccessDenied", "Le patient a interdit l'accès à son DMP"
            elif patient.authorisation == "VALIDE":
                status, context = "DMPOk", "Autorisation déjà présente aucune action effectuée"
            else:
                self.add_patient(
                    ins,
                    True,
                    "VALIDE",
                    family=patient.family,
                    given=patient.given,
                    sex=patient.sex,
                    birth_date=patient.birth_date,
                )
                status, context = "DMPOk", "Autorisation ajoutée"
        elif action == "SUPPRESSION":
            self.add_patient(
                ins,
                True,
                "EXPIRE",
                family=patient.family,
                given=patient.given,
                sex=patient.sex,
                birth_date=patient.birth_date,
            )
            status, context = "DMPOk", "Autorisation supprimée"
        else:
            raise _SoapFault(f"action {action!r} inconnue (AJOUT | SUPPRESSION)")
        response = etree.Element(_q(HAB, "setAuthorizationResponse"), nsmap={"ns1": HAB})
        output = etree.SubElement(response, _q(HAB, "output"))
        etree.SubElement(output, _q(HAB, "status")).text = status
        etree.SubElement(output, _q(HAB, "context")).text = context
        return _Answer(response)

    # -- ITI-18 ------------------------------------------------------------------------------

    def _iti18(self, call: _Call) -> _Answer:
        body = call.body
        if body.tag != _q(QUERY, "AdhocQueryRequest"):
            raise _SoapFault("query:AdhocQueryRequest attendu")
        option = body.find(_q(QUERY, "ResponseOption"))
        return_type = option.get("returnType", "LeafClass") if option is not None else "LeafClass"
        if return_type not in ("LeafClass", "ObjectRef"):
            raise XdsFailure("XDSRegistryError", f"returnType {return_type!r} non supporté")
        query = body.find(_q(RIM, "AdhocQuery"))
        if query is None:
            raise XdsFailure("XDSRegistryError", "AdhocQuery absent")
        query_id = query.get("id", "")
        vihf_ins = self._vihf_ins(call.vihf)
        if query_id == FIND_DOCUMENTS:
            patients = _slot_values(query, "$XDSDocumentEntryPatientId")
            statuses = _query_list(_slot_values(query, "$XDSDocumentEntryStatus"))
            if len(patients) != 1 or not statuses:
                raise XdsFailure(
                    "XDSStoredQueryParamNumber",
                    "FindDocuments : $XDSDocumentEntryPatientId (un) et "
                    "$XDSDocumentEntryStatus sont obligatoires",
                )
            ins = self._same_patient(call.vihf, patients[0], "$XDSDocumentEntryPatientId")
            self._patient_with_dmp(ins)
            with self._data_lock:
                found = [
                    copy.copy(e)
                    for e in self._entries
                    if e.ins == ins and e.status in statuses and self._visible(e, call.vihf)
                ]
        elif query_id == GET_DOCUMENTS:
            uuids = _query_list(_slot_values(query, "$XDSDocumentEntryEntryUUID"))
            unique_ids = _query_list(_slot_values(query, "$XDSDocumentEntryUniqueId"))
            if bool(uuids) == bool(unique_ids):
                raise XdsFailure(
                    "XDSStoredQueryParamNumber",
                    "GetDocuments : un et un seul de $XDSDocumentEntryEntryUUID / "
                    "$XDSDocumentEntryUniqueId",
                )
            self._patient_with_dmp(vihf_ins)
            with self._data_lock:
                found = [
                    copy.copy(e)
                    for e in self._entries
                    if (e.entry_uuid in uuids or e.unique_id in unique_ids)
                    and e.ins == vihf_ins
                    and self._visible(e, call.vihf)
                ]
        else:
            raise XdsFailure("XDSUnknownStoredQuery", f"requête stockée inconnue {query_id!r}")
        call.exchange.details["result"] = f"{len(found)} entries"
        response = etree.Element(
            _q(QUERY, "AdhocQueryResponse"),
            nsmap={"ns2": RS, "ns3": QUERY, "ns4": RIM},
        )
        response.set("startIndex", "0")
        response.set("status", SUCCESS)
        response.set("totalResultCount", str(len(found)))
        objects = etree.SubElement(response, _q(RIM, "RegistryObjectList"))
        for entry in found:
            if return_type == "ObjectRef":
                etree.SubElement(objects, _q(RIM, "ObjectRef")).set("id", entry.entry_uuid)
            else:
                objects.append(_leaf_class(entry))
        return _Answer(response)

    # -- ITI-43 ------------------------------------------------------------------------------

    def _iti43(self, call: _Call) -> _Answer:
        body = call.body
        if body.tag != _q(XDSB, "RetrieveDocumentSetRequest"):
            raise _SoapFault("xdsb:RetrieveDocumentSetRequest attendu")
        requests = body.findall(_q(XDSB, "DocumentRequest"))
        if not requests:
            raise XdsFailure("XDSRepositoryError", "aucun DocumentRequest")
        vihf_ins = self._vihf_ins(call.vihf)
        self._patient_with_dmp(vihf_ins)
        found: list[StoredEntry] = []
        for document_request in requests:
            repository = (document_request.findtext(_q(XDSB, "RepositoryUniqueId")) or "").strip()
            unique_id = (document_request.findtext(_q(XDSB, "DocumentUniqueId")) or "").strip()
            if repository != REPOSITORY_ID:
                raise XdsFailure("XDSUnknownRepositoryId", f"entrepôt inconnu {repository!r}")
            with self._data_lock:
                versions = [
                    e for e in self._entries if e.unique_id == unique_id and e.status != DELETED
                ]
                entry = copy.copy(max(versions, key=lambda e: e.version)) if versions else None
            if entry is None or entry.ins != vihf_ins:
                raise XdsFailure("XDSDocumentUniqueIdError", "document inconnu")
            if not self._visible(entry, call.vihf):
                raise XdsFailure(
                    "XDSRepositoryError",
                    f"{ACCESS_DENIED} : en mode d'authentification indirecte, seuls les "
                    "documents de sa structure peuvent être consultés",
                )
            found.append(entry)
        response = etree.Element(
            _q(XDSB, "RetrieveDocumentSetResponse"), nsmap={"ns2": RS, "ns4": XDSB}
        )
        registry = etree.SubElement(response, _q(RS, "RegistryResponse"))
        registry.set("status", SUCCESS)
        attachments: list[tuple[str, str, bytes]] = []
        for index, entry in enumerate(found, start=1):
            cid = f"{uuid.uuid4()}-{index}@urn:ihe:iti:xds-b:2007"
            document_response = etree.SubElement(response, _q(XDSB, "DocumentResponse"))
            etree.SubElement(document_response, _q(XDSB, "RepositoryUniqueId")).text = REPOSITORY_ID
            etree.SubElement(document_response, _q(XDSB, "DocumentUniqueId")).text = entry.unique_id
            etree.SubElement(document_response, _q(XDSB, "mimeType")).text = entry.mime_type
            document = etree.SubElement(document_response, _q(XDSB, "Document"))
            include = etree.SubElement(document, _q(XOP, "Include"), nsmap={"xop": XOP})
            include.set("href", "cid:" + quote(cid, safe="@-."))
            attachments.append((cid, entry.mime_type, entry.content))
        call.exchange.details["result"] = f"{len(found)} documents"
        return _Answer(response, attachments)

    # -- ITI-41 ------------------------------------------------------------------------------

    def _iti41(self, call: _Call) -> _Answer:
        from .xds import check_submission

        body = call.body
        if body.tag != _q(XDSB, "ProvideAndRegisterDocumentSetRequest"):
            raise _SoapFault("xdsb:ProvideAndRegisterDocumentSetRequest attendu")
        if call.multipart is None:
            raise XdsFailure(
                "XDSRepositoryMetadataError",
                "ITI-41 doit être transmis en MTOM/XOP (multipart/related)",
            )
        vihf_ins = self._vihf_ins(call.vihf)
        submission = check_submission(body, call.multipart, call.vihf, vihf_ins, self.pki.ca)
        self._patient_with_dmp(submission.ins)
        with self._data_lock:
            known = {e.unique_id for e in self._entries}
            for document in submission.documents:
                if document.unique_id in known:
                    raise XdsFailure(
                        "XDSDocumentUniqueIdError",
                        f"uniqueId déjà présent dans le DMP : {document.unique_id}",
                    )
            replaced: list[StoredEntry] = []
            for document in submission.documents:
                if document.replaces is None:
                    continue
                old = next((e for e in self._entries if e.entry_uuid == document.replaces), None)
                if old is None or old.ins != submission.ins:
                    raise XdsFailure(
                        "XDSRepositoryMetadataError",
                        f"RPLC : entrée remplacée inconnue {document.replaces}",
                    )
                if old.status != APPROVED:
                    raise XdsFailure(
                        "XDSRepositoryMetadataError",
                        "RPLC : l'entrée remplacée n'est pas au statut Approved",
                    )
                if old.structure_id != call.vihf.structure_id:
                    raise XdsFailure(
                        "XDSRegistryError",
                        f"{ACCESS_DENIED} : seuls les documents de sa structure peuvent être "
                        "remplacés",
                    )
                if document.parent_unique_id is not None and (
                    document.parent_unique_id != old.unique_id
                ):
                    raise XdsFailure(
                        "XDSRepositoryMetadataError",
                        f"RPLC : l'entrée remplacée est le document {old.unique_id}, le CDA "
                        f"déclare remplacer {document.parent_unique_id}",
                    )
                if old.set_id and document.set_id and old.set_id != document.set_id:
                    raise XdsFailure(
                        "XDSRepositoryMetadataError",
                        "RPLC : le setId du CDA diffère de celui du document remplacé",
                    )
                replaced.append(old)
            for old in replaced:
                old.status = DEPRECATED
            for document in submission.documents:
                entry_uuid = f"urn:uuid:{uuid.uuid4()}"
                self._entries.append(
                    StoredEntry(
                        entry_uuid=entry_uuid,
                        lid=entry_uuid,
                        unique_id=document.unique_id,
                        ins=submission.ins,
                        status=APPROVED,
                        version=1,
                        confidentiality=list(document.confidentiality),
                        structure_id=call.vihf.structure_id,
                        mime_type=document.mime_type,
                        content=document.content,
                        metadata=document.metadata,
                        submission_set_id=submission.unique_id,
                        replaces=document.replaces,
                        set_id=document.set_id,
                    )
                )
        call.exchange.details["result"] = f"{len(submission.documents)} stored"
        return _Answer(_registry_response([]))

    # -- ITI-57 ------------------------------------------------------------------------------

    def _iti57(self, call: _Call) -> _Answer:
        body = call.body
        if body.tag != _q(LCM, "SubmitObjectsRequest"):
            raise _SoapFault("lcm:SubmitObjectsRequest attendu")
        objects = body.find(_q(RIM, "RegistryObjectList"))
        if objects is None:
            raise XdsFailure("XDSRegistryMetadataError", "RegistryObjectList absent")
        packages = objects.findall(_q(RIM, "RegistryPackage"))
        if len(packages) != 1:
            raise XdsFailure("XDSRegistryMetadataError", "un lot de soumission attendu")
        package = packages[0]
        ins = self._same_patient(
            call.vihf, _external_id(package, SS_PATIENT), "XDSSubmissionSet.patientId"
        )
        self._patient_with_dmp(ins)
        institutions = _author_institutions(package, SS_AUTHOR)
        if institutions and call.vihf.structure_id not in {_xon_id(v) for v in institutions}:
            raise XdsFailure("XDSRegistryError", NO_AUTHOR_INSTITUTION)
        status_updates = [
            a
            for a in objects.findall(_q(RIM, "Association"))
            if a.get("associationType") == UPDATE_STATUS
        ]
        new_versions = objects.findall(_q(RIM, "ExtrinsicObject"))
        if bool(status_updates) == bool(new_versions):
            raise XdsFailure(
                "XDSMetadataUpdateOperationError",
                "une mise à jour de statut ou une nouvelle version (masquage) attendue",
            )
        with self._data_lock:
            if status_updates:
                self._update_statuses(call, ins, status_updates)
            else:
                self._new_versions(call, ins, objects, new_versions)
        return _Answer(_registry_response([]))

    def _current(self, ins: str, target: str) -> StoredEntry:
        """The latest version whose entryUUID or lid is ``target`` (lock held)."""
        chain = [e for e in self._entries if target in (e.entry_uuid, e.lid) and e.ins == ins]
        if not chain:
            raise XdsFailure("XDSMetadataUpdateError", f"entrée inconnue {target}")
        lid = chain[0].lid
        return max((e for e in self._entries if e.lid == lid), key=lambda e: e.version)

    def _check_owner(self, entry: StoredEntry, vihf: Vihf) -> None:
        if entry.structure_id != vihf.structure_id:
            raise XdsFailure(
                "XDSRegistryError",
                f"{ACCESS_DENIED} : seuls les documents de sa structure peuvent être modifiés",
            )

    def _update_statuses(self, call: _Call, ins: str, updates: list[etree._Element]) -> None:
        planned: list[tuple[StoredEntry, str]] = []
        for association in updates:
            target = association.get("targetObject", "")
            entry = self._current(ins, target)
            self._check_owner(entry, call.vihf)
            original = _slot_values(association, "OriginalStatus")
            new = _slot_values(association, "NewStatus")
            if len(original) != 1 or len(new) != 1:
                raise XdsFailure(
                    "XDSMetadataUpdateError", "OriginalStatus et NewStatus obligatoires"
                )
            if original[0] != entry.status:
                raise XdsFailure(
                    "XDSMetadataUpdateError",
                    f"OriginalStatus {original[0]} ne correspond pas au statut {entry.status}",
                )
            if (entry.status, new[0]) not in TRANSITIONS:
                raise XdsFailure(
                    "XDSMetadataUpdateOperationError",
                    f"transition {entry.status} -> {new[0]} non autorisée",
                )
            planned.append((entry, new[0]))
        for entry, status in planned:
            entry.status = status
        call.exchange.details["result"] = f"{len(planned)} status updated"

    def _new_versions(
        self,
        call: _Call,
        ins: str,
        objects: etree._Element,
        extrinsics: list[etree._Element],
    ) -> None:
        members = {
            a.get("targetObject", ""): a
            for a in objects.findall(_q(RIM, "Association"))
            if a.get("associationType") == HAS_MEMBER
        }
        planned: list[tuple[StoredEntry, list[tuple[str, str]]]] = []
        for extrinsic in extrinsics:
            lid = extrinsic.get("lid", "")
            entry = self._current(ins, lid)
            self._check_owner(entry, call.vihf)
            if entry.status == DELETED:
                raise XdsFailure("XDSMetadataUpdateError", "entrée supprimée")
            association = members.get(extrinsic.get("id", ""))
            if association is None:
                raise XdsFailure(
                    "XDSMetadataUpdateError",
                    "association HasMember vers la nouvelle version absente",
                )
            previous = _slot_values(association, "PreviousVersion")
            if previous != [str(entry.version)]:
                raise XdsFailure(
                    "XDSMetadataVersionError",
                    f"PreviousVersion {previous} ne correspond pas à la version {entry.version}",
                )
            patient = _external_id(extrinsic, DE_PATIENT)
            if patient:
                self._same_patient(call.vihf, patient, "XDSDocumentEntry.patientId")
            unique_id = _external_id(extrinsic, DE_UNIQUE)
            if unique_id and unique_id != entry.unique_id:
                raise XdsFailure(
                    "XDSMetadataUpdateError", "le uniqueId d'une nouvelle version ne change pas"
                )
            codes = _confidentiality(extrinsic)
            planned.append((entry, codes))
        for entry, codes in planned:
            new_uuid = f"urn:uuid:{uuid.uuid4()}"
            self._entries.append(
                StoredEntry(
                    entry_uuid=new_uuid,
                    lid=entry.lid,
                    unique_id=entry.unique_id,
                    ins=entry.ins,
                    status=entry.status,
                    version=entry.version + 1,
                    confidentiality=codes,
                    structure_id=entry.structure_id,
                    mime_type=entry.mime_type,
                    content=entry.content,
                    metadata=entry.metadata,
                    submission_set_id=entry.submission_set_id,
                    replaces=entry.replaces,
                    set_id=entry.set_id,
                )
            )
            entry.status = DEPRECATED
        call.exchange.details["result"] = f"{len(planned)} new versions"


# -- module helpers --------------------------------------------------------------------------


def _registry_response(errors: list[tuple[str, str]]) -> etree._Element:
    response = etree.Element(_q(RS, "RegistryResponse"), nsmap={"ns2": RS})
    response.set("status", FAILURE if errors else SUCCESS)
    if errors:
        response.append(_error_list(errors))
    return response


def _error_list(errors: list[tuple[str, str]]) -> etree._Element:
    error_list = etree.Element(_q(RS, "RegistryErrorList"))
    error_list.set("highestSeverity", SEVERITY_ERROR)
    for code, context in errors:
        error = etree.SubElement(error_list, _q(RS, "RegistryError"))
        error.set("errorCode", code)
        error.set("codeContext", context)
        error.set("severity", SEVERITY_ERROR)
        error.set("location", "DMP")
    return error_list


def _envelope(body: etree._Element, action: str, relates_to: str) -> bytes:
    envelope = etree.Element(_q(SOAP12_NS, "Envelope"), nsmap={"soap": SOAP12_NS})
    header = etree.SubElement(envelope, _q(SOAP12_NS, "Header"))
    for name, value in (
        ("Action", action),
        ("MessageID", f"urn:uuid:{uuid.uuid4()}"),
        ("To", "http://www.w3.org/2005/08/addressing/anonymous"),
        ("RelatesTo", relates_to),
    ):
        if value:
            etree.SubElement(header, _q(WSA_NS, name), nsmap={None: WSA_NS}).text = value  # type: ignore[dict-item]
    etree.SubElement(envelope, _q(SOAP12_NS, "Body")).append(body)
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"))


def _leaf_class(entry: StoredEntry) -> etree._Element:
    """The stored ExtrinsicObject as the registry returns it (ids, status, version...)."""
    from segurlink._xml import parse_xml

    received = parse_xml(entry.metadata, what="stored metadata")
    extrinsic = etree.Element(_q(RIM, "ExtrinsicObject"))
    extrinsic.set("id", entry.entry_uuid)
    extrinsic.set("isOpaque", "false")
    extrinsic.set("lid", entry.lid)
    extrinsic.set("mimeType", entry.mime_type)
    extrinsic.set("objectType", DE_OBJECT_TYPE)
    extrinsic.set("status", entry.status)
    server_slots = {
        "hash": entry.hash,
        "size": str(len(entry.content)),
        "repositoryUniqueId": REPOSITORY_ID,
    }
    slots = {
        s.get("name", ""): s
        for s in received.findall(_q(RIM, "Slot"))
        if s.get("name") not in server_slots
    }
    for name, value in server_slots.items():
        slot = etree.Element(_q(RIM, "Slot"), name=name)
        etree.SubElement(
            etree.SubElement(slot, _q(RIM, "ValueList")), _q(RIM, "Value")
        ).text = value
        slots[name] = slot
    for name in sorted(slots):
        extrinsic.append(copy.deepcopy(slots[name]))
    for tag in ("Name", "Description"):
        found = received.find(_q(RIM, tag))
        if found is not None:
            extrinsic.append(copy.deepcopy(found))
    etree.SubElement(extrinsic, _q(RIM, "VersionInfo")).set("versionName", str(entry.version))
    seed = uuid.UUID(entry.entry_uuid.removeprefix("urn:uuid:"))
    counter = 0

    def fresh_id() -> str:
        nonlocal counter
        counter += 1
        return f"urn:uuid:{uuid.uuid5(seed, str(counter))}"

    for classification in received.findall(_q(RIM, "Classification")):
        if classification.get("classificationScheme") == DE_CONF:
            continue
        item = copy.deepcopy(classification)
        item.set("id", fresh_id())
        item.set("classifiedObject", entry.entry_uuid)
        extrinsic.append(item)
    for code, system in entry.confidentiality:
        item = etree.SubElement(extrinsic, _q(RIM, "Classification"))
        item.set("classificationScheme", DE_CONF)
        item.set("classifiedObject", entry.entry_uuid)
        item.set("id", fresh_id())
        item.set("nodeRepresentation", code)
        slot = etree.SubElement(item, _q(RIM, "Slot"), name="codingScheme")
        etree.SubElement(
            etree.SubElement(slot, _q(RIM, "ValueList")), _q(RIM, "Value")
        ).text = system
    for external in received.findall(_q(RIM, "ExternalIdentifier")):
        item = copy.deepcopy(external)
        item.set("id", fresh_id())
        item.set("registryObject", entry.entry_uuid)
        extrinsic.append(item)
    return extrinsic


def _td02_response(
    patient: DmpPatient | None,
    ins_root: str,
    authorisation: str,
    message_id: etree._Element | None,
    query_id: etree._Element | None,
) -> etree._Element:
    xsi = "http://www.w3.org/2001/XMLSchema-instance"
    root = etree.Element(_q(HL7, "PRPA_IN201308UV02"), nsmap={None: HL7, "xsi": xsi})  # type: ignore[dict-item]
    root.set("ITSVersion", "XML_1.0")

    def sub(parent: etree._Element, name: str, **attributes: str) -> etree._Element:
        element = etree.SubElement(parent, _q(HL7, name))
        for key, value in attributes.items():
            element.set(key, value)
        return element

    sub(root, "id", root=str(uuid.uuid4()))
    sub(root, "creationTime", value=_now_hl7())
    sub(root, "interactionId", extension="PRPA_IN201308UV02", root="2.16.840.1.113883.1.6")
    sub(root, "processingCode", code="P")
    sub(root, "processingModeCode", code="T")
    sub(root, "acceptAckCode", code="NE")
    for role, device_id, software in (
        ("receiver", "1.2.250.1.999.1.1", "LPS"),
        ("sender", DEVICE_OID, "DMP"),
    ):
        party = sub(root, role, typeCode="RCV" if role == "receiver" else "SND")
        device = sub(party, "device", classCode="DEV", determinerCode="INSTANCE")
        sub(device, "id", root=device_id)
        sub(device, "softwareName").text = software
    line = sub(root, "attentionLine")
    sub(line, "keyWordText", code="AUTORISATION", codeSystem="1.2.250.1.213.4.1.2.6.1")
    value = sub(line, "value", code=authorisation, codeSystem="1.2.250.1.213.4.1.2.6.2")
    value.set(f"{{{xsi}}}type", "CV")
    if patient is not None:
        line = sub(root, "attentionLine")
        sub(line, "keyWordText", code="STATUT_MT", codeSystem="1.2.250.1.213.4.1.2.6.3")
        flag = sub(line, "value", value="false")
        flag.set(f"{{{xsi}}}type", "BL")
    ack = sub(root, "acknowledgement", typeCode="AA")
    target = sub(ack, "targetMessage")
    if message_id is not None:
        target.append(copy.deepcopy(message_id))
    control = sub(root, "controlActProcess", classCode="CACT", moodCode="EVN")
    sub(
        control,
        "reasonCode",
        code="TEST_EXST",
        codeSystem="1.2.250.1.213.1.1.4.11",
        displayName="Test d'existence de dossier",
    )
    if patient is not None:
        subject = sub(control, "subject", contextConductionInd="false", typeCode="SUBJ")
        event = sub(subject, "registrationEvent", classCode="REG", moodCode="EVN")
        sub(event, "statusCode", code="completed")
        subject1 = sub(event, "subject1", typeCode="SBJ")
        person_role = sub(subject1, "patient", classCode="PAT")
        sub(person_role, "id", extension=patient.ins, root=ins_root)
        sub(person_role, "statusCode", code="active")
        person = sub(person_role, "patientPerson", classCode="PSN", determinerCode="INSTANCE")
        name = sub(person, "name")
        sub(name, "given").text = patient.given
        sub(name, "family", qualifier="SP").text = patient.family
        sub(person, "administrativeGenderCode", code=patient.sex)
        if patient.birth_date:
            sub(person, "birthTime", value=patient.birth_date)
        custodian = sub(event, "custodian", typeCode="CST")
        entity = sub(custodian, "assignedEntity", classCode="ASSIGNED")
        sub(entity, "id", root=DEVICE_OID)
    query_ack = sub(control, "queryAck")
    if query_id is not None:
        query_ack.append(copy.deepcopy(query_id))
    sub(query_ack, "queryResponseCode", code="OK" if patient is not None else "NF")
    return root
