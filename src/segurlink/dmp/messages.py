"""Pure building and reading of the DMP messages (TD0.2, ITI-41/18/43/57).

No sockets here: requests are built as bytes, answers are read from bytes, so both are
tested against the official examples of the DMP package.

>>> find_documents_body("275126322074974^^^&1.2.250.1.213.1.4.8&ISO^NH").tag
'{urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0}AdhocQueryRequest'
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lxml import etree

from .._ascii import is_ascii_digits
from .._soap import SOAP12_NS, WSA_NS, Envelope, parse_envelope
from .._xml import parse_xml
from ..config import SoftwareIdentity
from ..errors import InputError, MalformedResponse, SoapFault, XdsError, XdsIssue
from ..identity import Ins
from .metadata import (
    DE_CLASS,
    DE_CONFIDENTIALITY,
    DE_FORMAT,
    DE_PATIENT_ID,
    DE_TYPE,
    DE_UNIQUE_ID,
    HAS_MEMBER,
    LCM_NS,
    RIM_NS,
    SIGNATURE_CLASS,
    UPDATE_AVAILABILITY,
    Association,
    SubmissionSetMetadata,
    confidentiality_code,
    registry_object_list,
    submit_objects_request,
)
from .models import (
    APPROVED,
    DMP_DEVICE_OID,
    Authorisation,
    DocumentEntry,
    PatientStatus,
    RetrievedDocument,
)
from .mtom import XOP_NS, MtomMessage, resolve_xop

__all__ = [
    "ACTIONS",
    "BuiltRequest",
    "envelope",
    "find_documents_body",
    "get_documents_body",
    "parse_patient_check",
    "parse_query_response",
    "parse_registry_response",
    "parse_retrieve_response",
    "patient_check_body",
    "provide_and_register_body",
    "retrieve_body",
    "update_status_body",
    "visibility_update_body",
]

HL7_NS = "urn:hl7-org:v3"
XDS_NS = "urn:ihe:iti:xds-b:2007"
RS_NS = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"
QUERY_NS = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

#: Request action → (service path, expected response action).
ACTIONS: dict[str, tuple[str, str]] = {
    "urn:hl7-org:v3:PRPA_IN201307UV02": ("patients", "urn:hl7-org:v3:PRPA_IN201308UV02"),
    "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b": (
        "repository",
        "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse",
    ),
    "urn:ihe:iti:2007:RegistryStoredQuery": (
        "registry",
        "urn:ihe:iti:2007:RegistryStoredQueryResponse",
    ),
    "urn:ihe:iti:2007:RetrieveDocumentSet": (
        "repository",
        "urn:ihe:iti:2007:RetrieveDocumentSetResponse",
    ),
    "urn:ihe:iti:2010:UpdateDocumentSet": (
        "registry",
        "urn:ihe:iti:2010:UpdateDocumentSet-Response",
    ),
}
TD02 = "urn:hl7-org:v3:PRPA_IN201307UV02"
ITI41 = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"
ITI18 = "urn:ihe:iti:2007:RegistryStoredQuery"
ITI43 = "urn:ihe:iti:2007:RetrieveDocumentSet"
ITI57 = "urn:ihe:iti:2010:UpdateDocumentSet"

#: The DMP transaction (TD) each SOAP action carries, as the DMP's guide names them: the
#: operation names of the exchange log. ITI-18 serves TD3.1; ITI-57 the TD3.3 updates.
TRANSACTIONS: dict[str, str] = {
    TD02: "TD0.2",
    ITI41: "TD2.1",
    ITI18: "TD3.1",
    ITI43: "TD3.2",
    ITI57: "TD3.3",
}

FIND_DOCUMENTS = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
GET_DOCUMENTS = "urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4"
_SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
_PARTIAL = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:PartialSuccess"


@dataclass(frozen=True, slots=True, repr=False)
class BuiltRequest:
    """A request ready to send: its envelope bytes, action, id and service path."""

    action: str
    message_id: str
    envelope: bytes

    @property
    def service(self) -> str:
        return ACTIONS[self.action][0]

    @property
    def response_action(self) -> str:
        return ACTIONS[self.action][1]

    def __repr__(self) -> str:
        return f"BuiltRequest({self.action!r}, {self.message_id!r}, <{len(self.envelope)} bytes>)"


def new_message_id() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def envelope(
    action: str,
    to: str,
    vihf: etree._Element,
    body: etree._Element,
    *,
    message_id: str | None = None,
) -> BuiltRequest:
    """The SOAP 1.2 envelope: WS-Addressing headers, the VIHF in ``wsse:Security``, body."""
    message_id = message_id or new_message_id()
    env = etree.Element(f"{{{SOAP12_NS}}}Envelope", nsmap={"soap": SOAP12_NS, "wsa": WSA_NS})
    header = etree.SubElement(env, f"{{{SOAP12_NS}}}Header")
    must = f"{{{SOAP12_NS}}}mustUnderstand"
    etree.SubElement(header, f"{{{WSA_NS}}}MessageID").text = message_id
    etree.SubElement(header, f"{{{WSA_NS}}}To").text = to
    reply = etree.SubElement(header, f"{{{WSA_NS}}}ReplyTo")
    etree.SubElement(
        reply, f"{{{WSA_NS}}}Address"
    ).text = "http://www.w3.org/2005/08/addressing/anonymous"
    etree.SubElement(header, f"{{{WSA_NS}}}Action", {must: "true"}).text = action
    security = etree.SubElement(header, f"{{{WSSE_NS}}}Security", nsmap={"wsse": WSSE_NS})
    security.append(vihf)
    etree.SubElement(env, f"{{{SOAP12_NS}}}Body").append(body)
    data = etree.tostring(env, xml_declaration=True, encoding="UTF-8")
    return BuiltRequest(action, message_id, data)


# -- TD0.2 ------------------------------------------------------------------------------------


def patient_check_body(
    ins: Ins,
    software: SoftwareIdentity,
    *,
    sender_oid: str,
    creation_time: dt.datetime,
    message_uuid: str | None = None,
    query_uuid: str | None = None,
) -> etree._Element:
    """``PRPA_IN201307UV02`` asking whether the patient has a DMP (reason ``TEST_EXST``)."""
    h = f"{{{HL7_NS}}}"
    root = etree.Element(
        h + "PRPA_IN201307UV02",
        nsmap={None: HL7_NS, "xsi": XSI_NS},  # type: ignore[dict-item]
        ITSVersion="XML_1.0",
    )
    etree.SubElement(
        root, h + "id", root=sender_oid + ".1", extension=message_uuid or str(uuid.uuid4())
    )
    etree.SubElement(
        root, h + "creationTime", value=creation_time.astimezone(dt.UTC).strftime("%Y%m%d%H%M%S")
    )
    etree.SubElement(
        root, h + "interactionId", root="2.16.840.1.113883.1.6", extension="PRPA_IN201307UV02"
    )
    etree.SubElement(root, h + "processingCode", code="P")
    etree.SubElement(root, h + "processingModeCode", code="T")
    etree.SubElement(root, h + "acceptAckCode", code="AL")
    for role, oid, name in (
        ("receiver", DMP_DEVICE_OID, "DMP"),
        ("sender", sender_oid, software.name),
    ):
        r = etree.SubElement(root, h + role, typeCode="RCV" if role == "receiver" else "SND")
        device = etree.SubElement(r, h + "device", classCode="DEV", determinerCode="INSTANCE")
        etree.SubElement(device, h + "id", root=oid)
        etree.SubElement(device, h + "softwareName").text = name
    control = etree.SubElement(root, h + "controlActProcess", classCode="CACT", moodCode="EVN")
    etree.SubElement(
        control,
        h + "reasonCode",
        code="TEST_EXST",
        codeSystem="1.2.250.1.213.1.1.4.11",
        displayName="Test d'existence de dossier",
    )
    query = etree.SubElement(control, h + "queryByParameter")
    etree.SubElement(
        query, h + "queryId", root=sender_oid + ".2", extension=query_uuid or str(uuid.uuid4())
    )
    etree.SubElement(query, h + "statusCode", code="new")
    params = etree.SubElement(query, h + "parameterList")
    pid = etree.SubElement(params, h + "patientIdentifier")
    etree.SubElement(pid, h + "value", root=ins.oid, extension=ins.value)
    etree.SubElement(pid, h + "semanticsText").text = "Patient.id"
    return root


def _checked(data: bytes, expected_action: str, what: str) -> Envelope:
    env = parse_envelope(data, what=what)
    if env.fault is not None:
        fault = env.fault
        detail = ""
        if fault.detail is not None:
            detail = (fault.detail.get("code") or fault.detail.findtext(".//*") or "").strip()
        raise SoapFault(
            f"DMP SOAP fault {fault.code}{'/' + fault.subcode if fault.subcode else ''}: "
            f"{fault.reason}",
            code=fault.code,
            subcode=fault.subcode,
            detail_code=detail,
            reason=fault.reason,
        )
    action = env.header_text(WSA_NS, "Action")
    if action is not None and action != expected_action:
        raise MalformedResponse(f"{what}: wsa:Action is {action!r}, expected {expected_action!r}")
    if env.body is None:
        raise MalformedResponse(f"{what} has an empty SOAP Body")
    return env


def parse_patient_check(data: bytes, *, expected_action: str = ACTIONS[TD02][1]) -> PatientStatus:
    """Interpret a ``PRPA_IN201308UV02`` answer."""
    env = _checked(data, expected_action, "TD0.2 answer")
    body = env.body
    assert body is not None
    h = f"{{{HL7_NS}}}"
    if body.tag != h + "PRPA_IN201308UV02":
        raise MalformedResponse(f"TD0.2 answer body is {body.tag!r}")
    ack = body.find(f"{h}acknowledgement")
    ack_code = ack.get("typeCode", "") if ack is not None else ""
    query_code = body.findtext(f"{h}controlActProcess/{h}queryAck/{h}queryResponseCode") or ""
    query_el = body.find(f"{h}controlActProcess/{h}queryAck/{h}queryResponseCode")
    query_code = query_el.get("code", "") if query_el is not None else ""
    if ack_code in ("AE", "AR") and query_code not in ("NF", "OK"):
        detail = body.findtext(f".//{h}acknowledgementDetail/{h}text") or ""
        raise XdsError(
            f"TD0.2 refused ({ack_code}): {detail}".strip(),
            [XdsIssue(ack_code, detail, "Error", "acknowledgement")],
        )
    authorisation = Authorisation.NONE
    treating: bool | None = None
    for line in body.findall(f"{h}attentionLine"):
        keyword = line.find(f"{h}keyWordText")
        value = line.find(f"{h}value")
        if keyword is None or value is None:
            continue
        if keyword.get("code") == "AUTORISATION":
            try:
                authorisation = Authorisation(value.get("code", ""))
            except ValueError as exc:
                raise MalformedResponse(f"unknown DMP authorisation {value.get('code')!r}") from exc
        elif keyword.get("code") == "STATUT_MT":
            treating = value.get("value") == "true"
    patient = body.find(f".//{h}registrationEvent/{h}subject1/{h}patient")
    ids: tuple[str, ...] = ()
    if patient is not None:
        ids = tuple(
            f"{i.get('extension', '')}^{i.get('root', '')}" for i in patient.findall(f"{h}id")
        )
    exists = query_code == "OK" and patient is not None
    return PatientStatus(
        exists=exists,
        authorisation=authorisation,
        query_code=query_code,
        treating_doctor=treating,
        patient_ids=ids,
    )


# -- ITI-41 -----------------------------------------------------------------------------------


def provide_and_register_body(
    request: etree._Element, documents: Sequence[tuple[str, str]]
) -> etree._Element:
    """``ProvideAndRegisterDocumentSetRequest``: the submit request and one ``Document``
    per ``(entry_id, content_id)`` pointing to its MTOM part."""
    root = etree.Element(f"{{{XDS_NS}}}ProvideAndRegisterDocumentSetRequest", nsmap={"xds": XDS_NS})
    root.append(request)
    for entry_id, cid in documents:
        doc = etree.SubElement(root, f"{{{XDS_NS}}}Document", id=entry_id)
        etree.SubElement(doc, f"{{{XOP_NS}}}Include", nsmap={"xop": XOP_NS}, href=f"cid:{cid}")
    return root


def _registry_issues(element: etree._Element | None) -> tuple[XdsIssue, ...]:
    if element is None:
        return ()
    return tuple(
        XdsIssue(
            code=e.get("errorCode", ""),
            context=e.get("codeContext", "") or (e.text or "").strip(),
            severity=e.get("severity", "").rsplit(":", 1)[-1],
            location=e.get("location", ""),
        )
        for e in element.iter(f"{{{RS_NS}}}RegistryError")
    )


def _raise_failure(status: str, holder: etree._Element, what: str) -> None:
    issues = _registry_issues(holder.find(f"{{{RS_NS}}}RegistryErrorList"))
    errors = [i for i in issues if i.severity != "Warning"]
    if status == _SUCCESS or (status == _PARTIAL and not errors):
        return
    if not status:
        raise MalformedResponse(f"{what} has no status")
    first = issues[0] if issues else XdsIssue(status.rsplit(":", 1)[-1], "", "Error")
    raise XdsError(f"{what} failed: {first.code} {first.context}".strip(), issues)


def parse_registry_response(data: bytes, *, expected_action: str) -> tuple[XdsIssue, ...]:
    """Read a ``RegistryResponse`` (ITI-41, ITI-57); raise :class:`XdsError` on Failure.

    Returns the warnings of a successful answer.
    """
    env = _checked(data, expected_action, "XDS answer")
    body = env.body
    assert body is not None
    if body.tag != f"{{{RS_NS}}}RegistryResponse":
        raise MalformedResponse(f"XDS answer body is {body.tag!r}, not a RegistryResponse")
    _raise_failure(body.get("status", ""), body, "the XDS transaction")
    return _registry_issues(body.find(f"{{{RS_NS}}}RegistryErrorList"))


# -- ITI-18 -----------------------------------------------------------------------------------


def _query(query_id: str, slots: Iterable[tuple[str, str]], return_type: str) -> etree._Element:
    root = etree.Element(
        f"{{{QUERY_NS}}}AdhocQueryRequest", nsmap={"query": QUERY_NS, "rim": RIM_NS}
    )
    etree.SubElement(
        root, f"{{{QUERY_NS}}}ResponseOption", returnComposedObjects="true", returnType=return_type
    )
    query = etree.SubElement(root, f"{{{RIM_NS}}}AdhocQuery", id=query_id)
    for name, value in slots:
        slot = etree.SubElement(query, f"{{{RIM_NS}}}Slot", name=name)
        etree.SubElement(
            etree.SubElement(slot, f"{{{RIM_NS}}}ValueList"), f"{{{RIM_NS}}}Value"
        ).text = value
    return root


def _quoted_list(values: Iterable[str]) -> str:
    return "(" + ",".join(f"'{v}'" for v in values) + ")"


def find_documents_body(
    patient_id: str, statuses: Sequence[str] = (APPROVED,), *, return_type: str = "LeafClass"
) -> etree._Element:
    """FindDocuments stored query for a patient and a set of statuses."""
    return _query(
        FIND_DOCUMENTS,
        [
            ("$XDSDocumentEntryPatientId", f"'{patient_id}'"),
            ("$XDSDocumentEntryStatus", _quoted_list(statuses)),
        ],
        return_type,
    )


def get_documents_body(
    *,
    unique_ids: Sequence[str] = (),
    entry_uuids: Sequence[str] = (),
    return_type: str = "LeafClass",
) -> etree._Element:
    """GetDocuments stored query, by document uniqueIds or entryUUIDs."""
    if bool(unique_ids) == bool(entry_uuids):
        raise InputError("give unique_ids or entry_uuids")
    slot = (
        ("$XDSDocumentEntryUniqueId", _quoted_list(unique_ids))
        if unique_ids
        else (
            "$XDSDocumentEntryEntryUUID",
            _quoted_list(entry_uuids),
        )
    )
    return _query(GET_DOCUMENTS, [slot], return_type)


def _slot_values(element: etree._Element, name: str) -> list[str]:
    for slot in element.findall(f"{{{RIM_NS}}}Slot"):
        if slot.get("name") == name:
            return [(v.text or "").strip() for v in slot.iter(f"{{{RIM_NS}}}Value")]
    return []


def _entry(eo: etree._Element) -> DocumentEntry:
    classes: dict[str, list[str]] = {}
    institution = ""
    for cla in eo.findall(f"{{{RIM_NS}}}Classification"):
        scheme = cla.get("classificationScheme", "")
        classes.setdefault(scheme, []).append(cla.get("nodeRepresentation", ""))
        if not institution:
            found = _slot_values(cla, "authorInstitution")
            institution = found[0] if found else ""
    idents = {
        ei.get("identificationScheme", ""): ei.get("value", "")
        for ei in eo.findall(f"{{{RIM_NS}}}ExternalIdentifier")
    }
    size = _slot_values(eo, "size")
    version = eo.find(f"{{{RIM_NS}}}VersionInfo")
    name = eo.find(f"{{{RIM_NS}}}Name/{{{RIM_NS}}}LocalizedString")
    class_code = (classes.get(DE_CLASS) or [""])[0]
    unique_id = idents.get(DE_UNIQUE_ID, "")
    if not eo.get("id") or not unique_id:
        raise MalformedResponse("a DocumentEntry in the answer has no id or no uniqueId")
    return DocumentEntry(
        entry_uuid=eo.get("id", ""),
        unique_id=unique_id,
        status=eo.get("status", ""),
        lid=eo.get("lid", ""),
        version=version.get("versionName", "") if version is not None else "",
        patient_id=idents.get(DE_PATIENT_ID, ""),
        mime_type=eo.get("mimeType", ""),
        title=name.get("value", "") if name is not None else "",
        type_code=(classes.get(DE_TYPE) or [""])[0],
        class_code=class_code,
        format_code=(classes.get(DE_FORMAT) or [""])[0],
        confidentiality=tuple(classes.get(DE_CONFIDENTIALITY, ())),
        creation_time=(_slot_values(eo, "creationTime") or [""])[0],
        hash=(_slot_values(eo, "hash") or [""])[0],
        size=int(size[0]) if size and is_ascii_digits(size[0]) else None,
        repository_id=(_slot_values(eo, "repositoryUniqueId") or [""])[0],
        author_institution=institution,
        is_signature=class_code == SIGNATURE_CLASS.code,
        raw=etree.tostring(eo),
    )


def parse_query_response(
    data: bytes, *, expected_action: str = ACTIONS[ITI18][1]
) -> tuple[DocumentEntry, ...]:
    """The DocumentEntries of an ``AdhocQueryResponse``; :class:`XdsError` on Failure."""
    env = _checked(data, expected_action, "ITI-18 answer")
    body = env.body
    assert body is not None
    if body.tag != f"{{{QUERY_NS}}}AdhocQueryResponse":
        raise MalformedResponse(f"ITI-18 answer body is {body.tag!r}")
    _raise_failure(body.get("status", ""), body, "the registry query")
    objects = body.find(f"{{{RIM_NS}}}RegistryObjectList")
    if objects is None:
        return ()
    return tuple(_entry(eo) for eo in objects.findall(f"{{{RIM_NS}}}ExtrinsicObject"))


def parse_object_refs(data: bytes, *, expected_action: str = ACTIONS[ITI18][1]) -> tuple[str, ...]:
    """The ids of an ``ObjectRef`` query answer."""
    env = _checked(data, expected_action, "ITI-18 answer")
    body = env.body
    assert body is not None
    _raise_failure(body.get("status", ""), body, "the registry query")
    return tuple(r.get("id", "") for r in body.iter(f"{{{RIM_NS}}}ObjectRef"))


# -- ITI-43 -----------------------------------------------------------------------------------


def retrieve_body(repository_id: str, unique_ids: Sequence[str]) -> etree._Element:
    """``RetrieveDocumentSetRequest`` for documents of one repository."""
    root = etree.Element(f"{{{XDS_NS}}}RetrieveDocumentSetRequest", nsmap={"xds": XDS_NS})
    for unique_id in unique_ids:
        req = etree.SubElement(root, f"{{{XDS_NS}}}DocumentRequest")
        etree.SubElement(req, f"{{{XDS_NS}}}RepositoryUniqueId").text = repository_id
        etree.SubElement(req, f"{{{XDS_NS}}}DocumentUniqueId").text = unique_id
    return root


def parse_retrieve_response(
    message: MtomMessage, *, expected_action: str = ACTIONS[ITI43][1]
) -> tuple[RetrievedDocument, ...]:
    """The documents of a ``RetrieveDocumentSetResponse`` (MTOM parts resolved)."""
    env = _checked(message.root, expected_action, "ITI-43 answer")
    body = env.body
    assert body is not None
    if body.tag != f"{{{XDS_NS}}}RetrieveDocumentSetResponse":
        raise MalformedResponse(f"ITI-43 answer body is {body.tag!r}")
    response = body.find(f"{{{RS_NS}}}RegistryResponse")
    if response is None:
        raise MalformedResponse("ITI-43 answer has no RegistryResponse")
    _raise_failure(response.get("status", ""), response, "the retrieval")
    out = []
    for doc in body.findall(f"{{{XDS_NS}}}DocumentResponse"):
        content = doc.find(f"{{{XDS_NS}}}Document")
        if content is None:
            raise MalformedResponse("a DocumentResponse has no Document")
        out.append(
            RetrievedDocument(
                unique_id=(doc.findtext(f"{{{XDS_NS}}}DocumentUniqueId") or "").strip(),
                repository_id=(doc.findtext(f"{{{XDS_NS}}}RepositoryUniqueId") or "").strip(),
                mime_type=(doc.findtext(f"{{{XDS_NS}}}mimeType") or "").strip(),
                content=resolve_xop(content, message.parts),
            )
        )
    return tuple(out)


# -- ITI-57 -----------------------------------------------------------------------------------


def update_status_body(
    submission_set: SubmissionSetMetadata, entry_uuid: str, original: str, new: str
) -> etree._Element:
    """UpdateAvailabilityStatus of one entry (archive, unarchive, delete)."""
    assoc = Association(
        "association1",
        UPDATE_AVAILABILITY,
        submission_set.entry_id,
        entry_uuid,
        (("OriginalStatus", (original,)), ("NewStatus", (new,))),
    )
    return submit_objects_request(submission_set, (), (assoc,))


def visibility_update_body(
    submission_set: SubmissionSetMetadata, entry: DocumentEntry, confidentiality: Sequence[str]
) -> etree._Element:
    """A new version of ``entry`` (same ``lid``, slot ``PreviousVersion``) whose
    confidentiality codes are ``confidentiality`` (TD3.3a/b masking)."""
    if not entry.raw or not entry.lid:
        raise InputError("the entry must come from a LeafClass query (raw metadata and lid)")
    eo = parse_xml(entry.raw, what="stored DocumentEntry")
    new_id = "Document01"
    for attr in ("status", "isOpaque", "home"):
        if attr in eo.attrib:
            del eo.attrib[attr]
    eo.set("id", new_id)
    for child in list(eo):
        if child.tag == f"{{{RIM_NS}}}VersionInfo":
            eo.remove(child)
        elif (
            child.tag == f"{{{RIM_NS}}}Classification"
            and child.get("classificationScheme") == DE_CONFIDENTIALITY
        ):
            eo.remove(child)
    counter = itertools.count(1)
    insert_at = next(
        (i for i, c in enumerate(eo) if c.tag == f"{{{RIM_NS}}}ExternalIdentifier"), len(eo)
    )
    for code_value in confidentiality:
        code = confidentiality_code(code_value)
        cla = etree.Element(
            f"{{{RIM_NS}}}Classification",
            classificationScheme=DE_CONFIDENTIALITY,
            classifiedObject=new_id,
            id=f"conf{next(counter)}",
            nodeRepresentation=code.code,
        )
        slot = etree.SubElement(cla, f"{{{RIM_NS}}}Slot", name="codingScheme")
        etree.SubElement(
            etree.SubElement(slot, f"{{{RIM_NS}}}ValueList"), f"{{{RIM_NS}}}Value"
        ).text = code.code_system
        name = etree.SubElement(
            etree.SubElement(cla, f"{{{RIM_NS}}}Name"), f"{{{RIM_NS}}}LocalizedString"
        )
        name.set("charset", "UTF8")
        name.set("value", code.display_name)
        eo.insert(insert_at, cla)
        insert_at += 1
    for node in eo.iter(f"{{{RIM_NS}}}Classification", f"{{{RIM_NS}}}ExternalIdentifier"):
        if node.get("classifiedObject"):
            node.set("classifiedObject", new_id)
        if node.get("registryObject"):
            node.set("registryObject", new_id)
        if node.get("id", "").startswith("urn:uuid:"):
            node.set("id", f"m{next(counter)}")
    assoc = Association(
        "association1",
        HAS_MEMBER,
        submission_set.entry_id,
        new_id,
        (("SubmissionSetStatus", ("Original",)), ("PreviousVersion", (entry.version or "1",))),
    )
    rol = registry_object_list(submission_set, (), (assoc,))
    rol.append(eo)
    request = etree.Element(
        f"{{{LCM_NS}}}SubmitObjectsRequest", nsmap={"lcm": LCM_NS, "rim": RIM_NS}
    )
    request.append(rol)
    return request
