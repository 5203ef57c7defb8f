"""XDS.b vocabulary and the deposit checks of the DMP mock (written for the mock only).

:func:`check_submission` holds what the DMP verifies in an ITI-41 before storing: the
submission set and its entries, the patient (VIHF, submission set, entries, CDA), the
authorInstitution (identical on entries and submission set, and the VIHF's structure),
hash and size, segurlink's CDA header rules, the Signature01 XAdES entry with its
``signs`` association and its manifest. A refusal raises :class:`XdsFailure` carrying
the IHE error code.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lxml import etree

from .mime import MimeError, Multipart

if TYPE_CHECKING:
    from .vihf import Vihf

# -- namespaces and constants ---------------------------------------------------------------

SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
WSA_NS = "http://www.w3.org/2005/08/addressing"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
RS = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"
LCM = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
QUERY = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"
XDSB = "urn:ihe:iti:xds-b:2007"
XOP = "http://www.w3.org/2004/08/xop/include"
HL7 = "urn:hl7-org:v3"
HAB = "urn:si-dmp-habilitations"
DS = "http://www.w3.org/2000/09/xmldsig#"

DEVICE_OID = "1.2.250.1.213.4.1.1.1"
REPOSITORY_ID = "1.2.250.1.213.4.1.1.1.2"

TD02 = "urn:hl7-org:v3:PRPA_IN201307UV02"
TD03 = "urn:si-dmp-habilitations:HabilitationsEndPoint:setAuthorization"
ITI41 = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"
ITI43 = "urn:ihe:iti:2007:RetrieveDocumentSet"
ITI18 = "urn:ihe:iti:2007:RegistryStoredQuery"
ITI57 = "urn:ihe:iti:2010:UpdateDocumentSet"

#: Request action -> response action, by service path.
ACTIONS: dict[str, dict[str, str]] = {
    "/patients": {TD02: "urn:hl7-org:v3:PRPA_IN201308UV02"},
    "/habilitations": {TD03: TD03 + "Response"},
    "/registry": {
        ITI18: ITI18 + "Response",
        ITI57: "urn:ihe:iti:2010:UpdateDocumentSet-Response",  # with the hyphen
    },
    "/repository": {ITI41: ITI41 + "Response", ITI43: ITI43 + "Response"},
}

SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
FAILURE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
SEVERITY_ERROR = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error"
APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
DEPRECATED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated"
ARCHIVED = "urn:asip:ci-sis:2010:StatusType:Archived"
DELETED = "urn:asip:ci-sis:2010:StatusType:Deleted"
TRANSITIONS = {
    (APPROVED, ARCHIVED),
    (ARCHIVED, APPROVED),
    (APPROVED, DELETED),
    (ARCHIVED, DELETED),
}

SS_NODE = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
SS_AUTHOR = "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d"
SS_PATIENT = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446"
SS_UNIQUE = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"
SS_SOURCE = "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832"
DE_AUTHOR = "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d"
DE_CLASS = "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a"
DE_CONF = "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f"
DE_TYPE = "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983"
DE_FORMAT = "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d"
DE_FACILITY = "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1"
DE_PRACTICE = "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead"
DE_PATIENT = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
DE_UNIQUE = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
DE_OBJECT_TYPE = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
SIGNATURE_CLASS = "urn:oid:1.3.6.1.4.1.19376.1.2.1.1.1"

HAS_MEMBER = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
SIGNS = "urn:ihe:iti:2007:AssociationType:signs"
RPLC = "urn:ihe:iti:2007:AssociationType:RPLC"
UPDATE_STATUS = "urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus"

FIND_DOCUMENTS = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
GET_DOCUMENTS = "urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4"

#: formatCode (IHE XDS-SD / IHE-FR) of a level-1 CDA, by the media type of its body.
LEVEL1_FORMATS = {
    "application/pdf": "urn:ihe:iti:xds-sd:pdf:2008",
    "text/plain": "urn:ihe:iti:xds-sd:text:2008",
    "text/rtf": "urn:ihe:iti-fr:xds-sd:rtf:2010",
    "image/jpeg": "urn:ihe:iti-fr:xds-sd:jpeg:2010",
    "image/tiff": "urn:ihe:iti-fr:xds-sd:tiff:2010",
}

CONFIDENTIALITY_N = ("N", "2.16.840.1.113883.5.25")
MASK_SYSTEM = "1.2.250.1.213.1.1.4.13"
MASK_CODES = frozenset({"MASQUE_PS", "INVISIBLE_PATIENT", "INVISIBLE_REPRESENTANTS_LEGAUX"})
_CONF_SYSTEMS = {"2.16.840.1.113883.5.25": frozenset({"N", "R", "V"}), MASK_SYSTEM: MASK_CODES}

INS_OIDS = frozenset(
    {"1.2.250.1.213.1.4.8", "1.2.250.1.213.1.4.9", "1.2.250.1.213.1.4.10", "1.2.250.1.213.1.4.11"}
)
INS_NIR = "1.2.250.1.213.1.4.8"
AUTHORISATIONS = frozenset({"VALIDE", "EXPIRE", "INTERDIT", "NON_EXISTE"})

#: Texts of the DMP's authentication / authorisation refusals.
NO_AUTHOR_INSTITUTION = "Aucun AuthorInstitution ne correspond à l'utilisateur du VIHF"
ACCESS_DENIED = "Accès refusé"


# -- errors raised by the handlers ---------------------------------------------------------


class XdsFailure(Exception):
    """A refusal answered as RegistryResponse Failure with ``errors`` [(code, context)]."""

    def __init__(self, code: str, context: str) -> None:
        super().__init__(f"{code}: {context}")
        self.errors = [(code, context)]


# -- small XML helpers ---------------------------------------------------------------------


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _slot_values(element: etree._Element, name: str) -> list[str]:
    return [
        (value.text or "").strip()
        for slot in element.findall(_q(RIM, "Slot"))
        if slot.get("name") == name
        for value in slot.iter(_q(RIM, "Value"))
    ]


def _external_id(element: etree._Element, scheme: str) -> str:
    for ext in element.findall(_q(RIM, "ExternalIdentifier")):
        if ext.get("identificationScheme") == scheme:
            return ext.get("value", "").strip()
    return ""


def _classifications(element: etree._Element, scheme: str) -> list[etree._Element]:
    return [
        c
        for c in element.findall(_q(RIM, "Classification"))
        if c.get("classificationScheme") == scheme
    ]


def _coding_scheme(classification: etree._Element) -> str:
    values = _slot_values(classification, "codingScheme")
    return values[0] if values else ""


def _author_institutions(element: etree._Element, scheme: str) -> list[str]:
    return sorted(
        value
        for c in _classifications(element, scheme)
        for value in _slot_values(c, "authorInstitution")
    )


def _xon_id(value: str) -> str:
    """The organisation identifier of an XON (component 10)."""
    parts = value.split("^")
    return parts[9].strip() if len(parts) >= 10 else ""


def _parse_cx(value: str) -> tuple[str, str]:
    """``<id>^^^&<oid>&ISO^NH[...]`` -> (id, oid); ("", "") when malformed."""
    parts = value.strip().strip("'").split("^")
    if len(parts) < 4:
        return "", ""
    authority = parts[3].split("&")
    oid = authority[1] if len(authority) >= 2 else ""
    return parts[0].strip(), oid.strip()


def _query_list(values: Iterable[str]) -> list[str]:
    """Values of a stored-query slot: ``('a','b')`` or ``'a'`` (possibly several Values)."""
    found: list[str] = []
    for value in values:
        found.extend(re.findall(r"'([^']*)'", value) or [value.strip("()' ")])
    return [v for v in found if v]


def _now_hl7() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S")


def _confidentiality(extrinsic: etree._Element) -> list[tuple[str, str]]:
    """The confidentiality codes of an entry, checked against the DMP value sets."""
    codes: list[tuple[str, str]] = []
    for c in _classifications(extrinsic, DE_CONF):
        code, system = c.get("nodeRepresentation", ""), _coding_scheme(c)
        allowed = _CONF_SYSTEMS.get(system)
        if allowed is None or code not in allowed:
            raise XdsFailure(
                "XDSRepositoryMetadataError", f"confidentialityCode {code}/{system} inconnu"
            )
        codes.append((code, system))
    if not any(system == CONFIDENTIALITY_N[1] for _, system in codes):
        raise XdsFailure(
            "XDSRepositoryMetadataError",
            "confidentialityCode : un code de 2.16.840.1.113883.5.25 (N) est obligatoire",
        )
    return codes


# -- ITI-41 checks -------------------------------------------------------------------------------

_DIGESTS = {
    "http://www.w3.org/2000/09/xmldsig#sha1": "sha1",
    "http://www.w3.org/2001/04/xmlenc#sha256": "sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384": "sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512": "sha512",
}


@dataclass(frozen=True, slots=True)
class DepositedDocument:
    """One document of an accepted submission (not the Signature01 entry)."""

    unique_id: str
    mime_type: str
    content: bytes
    metadata: bytes  # the ExtrinsicObject as received
    confidentiality: tuple[tuple[str, str], ...]
    replaces: str | None  # entryUUID targeted by an RPLC association
    parent_unique_id: str | None  # the CDA's relatedDocument/parentDocument id
    set_id: str = ""  # the CDA's setId (root^extension), shared by its versions


@dataclass(frozen=True, slots=True)
class Submission:
    ins: str
    unique_id: str
    documents: tuple[DepositedDocument, ...]


def _fail(context: str, code: str = "XDSRepositoryMetadataError") -> XdsFailure:
    return XdsFailure(code, context)


def _submission_set(objects: etree._Element) -> etree._Element:
    packages = objects.findall(_q(RIM, "RegistryPackage"))
    marked = {
        c.get("classifiedObject", "")
        for c in objects.findall(_q(RIM, "Classification"))
        if c.get("classificationNode") == SS_NODE
    }
    sets = [
        p
        for p in packages
        if p.get("id") in marked
        or any(c.get("classificationNode") == SS_NODE for c in p.findall(_q(RIM, "Classification")))
    ]
    if len(sets) != 1:
        raise _fail("un et un seul lot de soumission (RegistryPackage SubmissionSet) attendu")
    return sets[0]


def _patient_ins(cx: str, what: str) -> str:
    ins, oid = _parse_cx(cx)
    if len(ins) != 15 or oid not in INS_OIDS:
        raise _fail(f"{what} : identifiant patient absent ou invalide")
    return ins


def check_submission(
    request: etree._Element, multipart: Multipart, vihf: Vihf, vihf_ins: str, ca_file: Path
) -> Submission:
    """Check an ITI-41 ``ProvideAndRegisterDocumentSetRequest``; raise :class:`XdsFailure`."""
    objects = request.find(f"{{{LCM}}}SubmitObjectsRequest/{{{RIM}}}RegistryObjectList")
    if objects is None:
        raise _fail("SubmitObjectsRequest/RegistryObjectList absent")
    package = _submission_set(objects)
    package_id = package.get("id", "")
    ins = _patient_ins(_external_id(package, SS_PATIENT), "XDSSubmissionSet.patientId")
    if ins != vihf_ins:
        raise _fail(
            "XDSSubmissionSet.patientId ne correspond pas au patient du VIHF (resource-id)",
            "XDSPatientIdDoesNotMatch",
        )
    set_unique_id = _external_id(package, SS_UNIQUE)
    if not set_unique_id or not _external_id(package, SS_SOURCE):
        raise _fail("XDSSubmissionSet.uniqueId et sourceId sont obligatoires")
    if not _slot_values(package, "submissionTime"):
        raise _fail("XDSSubmissionSet.submissionTime absent")
    institutions = _author_institutions(package, SS_AUTHOR)
    if not institutions:
        raise _fail("authorInstitution du lot de soumission absent")
    if vihf.structure_id not in {_xon_id(v) for v in institutions}:
        raise _fail(NO_AUTHOR_INSTITUTION, "XDSRegistryError")

    associations = objects.findall(_q(RIM, "Association"))
    members = {
        a.get("targetObject", "")
        for a in associations
        if a.get("associationType") == HAS_MEMBER and a.get("sourceObject") == package_id
    }
    replacements = {
        a.get("sourceObject", ""): a.get("targetObject", "")
        for a in associations
        if a.get("associationType") == RPLC
    }
    extrinsics = objects.findall(_q(RIM, "ExtrinsicObject"))
    signatures = [
        e
        for e in extrinsics
        if any(
            c.get("nodeRepresentation") == SIGNATURE_CLASS for c in _classifications(e, DE_CLASS)
        )
    ]
    if len(signatures) != 1:
        raise _fail("l'entrée Signature01 (signature XAdES du lot) est absente")
    signature_id = signatures[0].get("id", "")
    if not any(
        a.get("associationType") == SIGNS
        and a.get("sourceObject") == signature_id
        and a.get("targetObject") == package_id
        for a in associations
    ):
        raise _fail("association urn:ihe:iti:2007:AssociationType:signs absente")
    parts = {d.get("id", "").lower(): d for d in request.findall(_q(XDSB, "Document"))}
    if len(parts) != len(extrinsics):
        raise _fail("chaque DocumentEntry doit avoir un et un seul Document")

    documents: list[DepositedDocument] = []
    signature_content = b""
    seen: set[str] = set()
    for extrinsic in extrinsics:
        entry_id = extrinsic.get("id", "")
        if entry_id not in members:
            raise _fail(f"association HasMember du lot vers {entry_id} absente")
        if extrinsic.get("objectType") != DE_OBJECT_TYPE:
            raise _fail(f"{entry_id} : objectType de DocumentEntry attendu")
        entry_ins = _patient_ins(_external_id(extrinsic, DE_PATIENT), "XDSDocumentEntry.patientId")
        if entry_ins != ins:
            raise _fail(
                "XDSDocumentEntry.patientId différent de celui du lot", "XDSPatientIdDoesNotMatch"
            )
        unique_id = _external_id(extrinsic, DE_UNIQUE)
        if not unique_id:
            raise _fail(f"{entry_id} : XDSDocumentEntry.uniqueId absent")
        if unique_id in seen:
            raise _fail(f"uniqueId répété dans le lot : {unique_id}", "XDSDocumentUniqueIdError")
        seen.add(unique_id)
        if _author_institutions(extrinsic, DE_AUTHOR) != institutions:
            raise _fail(f"{entry_id} : authorInstitution différent de celui du lot de soumission")
        mime_type = extrinsic.get("mimeType", "")
        if not mime_type:
            raise _fail(f"{entry_id} : mimeType absent")
        part = parts.get(entry_id.lower())
        include = part.find(_q(XOP, "Include")) if part is not None else None
        if include is None:
            raise _fail(f"{entry_id} : document absent ou non transmis en MTOM/XOP")
        try:
            content = multipart.attachment(include.get("href", ""))
        except MimeError as exc:
            raise _fail(f"{entry_id} : {exc}") from exc
        _check_hash_size(extrinsic, entry_id, content)
        confidentiality = tuple(_confidentiality(extrinsic))
        if extrinsic is signatures[0]:
            signature_content = content
            continue
        parent, set_id = None, ""
        if mime_type == "text/xml":
            parent, set_id = _check_cda(extrinsic, content, unique_id, ins, confidentiality)
        replaces = replacements.get(entry_id)
        # The DMP rejects metadata that contradict the CDA header: a CDA that declares a
        # replacement comes with its RPLC association, and an RPLC association with a CDA
        # that declares it.
        if parent is not None and replaces is None:
            raise _fail(
                f"le CDA remplace le document {parent} (relatedDocument RPLC) mais la "
                "soumission ne porte pas d'association RPLC vers son entrée"
            )
        if replaces is not None and parent is None and mime_type == "text/xml":
            raise _fail(
                "association RPLC sans relatedDocument RPLC dans le CDA : le document ne se "
                "déclare pas comme une nouvelle version"
            )
        documents.append(
            DepositedDocument(
                unique_id=unique_id,
                mime_type=mime_type,
                content=content,
                metadata=etree.tostring(extrinsic),
                confidentiality=confidentiality,
                replaces=replaces,
                parent_unique_id=parent,
                set_id=set_id,
            )
        )
    if not documents:
        raise _fail("aucun document dans le lot")
    _check_xades(
        signature_content, {d.unique_id: d.content for d in documents}, set_unique_id, ca_file
    )
    return Submission(ins, set_unique_id, tuple(documents))


def _check_hash_size(extrinsic: etree._Element, entry_id: str, content: bytes) -> None:
    hashes = _slot_values(extrinsic, "hash")
    if hashes and hashes[0].lower() != hashlib.sha1(content).hexdigest():  # noqa: S324
        raise _fail(f"{entry_id} : hash différent du SHA-1 du document reçu")
    sizes = _slot_values(extrinsic, "size")
    if sizes and sizes[0] != str(len(content)):
        raise _fail(f"{entry_id} : size différent de la taille du document reçu")


def _check_cda(
    extrinsic: etree._Element,
    content: bytes,
    unique_id: str,
    ins: str,
    confidentiality: tuple[tuple[str, str], ...],
) -> tuple[str | None, str]:
    """segurlink's CDA header rules, then the metadata against the header.

    Returns the uniqueId of the document the CDA replaces (``relatedDocument`` RPLC) and
    the CDA's setId.
    """
    from segurlink._xml import parse_xml
    from segurlink.cda import check_header, read_header
    from segurlink.errors import SegurlinkError

    try:
        root = parse_xml(content, what="CDA")
        errors = [i for i in check_header(root) if i.severity == "error"]
        header = read_header(root)
    except SegurlinkError as exc:
        raise _fail(f"document CDA illisible : {exc}") from exc
    if errors:
        listed = "; ".join(f"{i.rule}: {i.message}" for i in errors[:3])
        raise _fail(f"CDA non conforme ({len(errors)} erreur(s)) : {listed}")
    if header.id.xds_unique_id != unique_id:
        raise _fail("XDSDocumentEntry.uniqueId différent de l'id du CDA")
    if header.patient.ins is None or header.patient.ins.value != ins:
        raise _fail(
            "l'INS du CDA (patientRole/id) diffère de XDSDocumentEntry.patientId",
            "XDSPatientIdDoesNotMatch",
        )
    types = _classifications(extrinsic, DE_TYPE)
    if (
        header.type_code is None
        or len(types) != 1
        or (types[0].get("nodeRepresentation") != header.type_code.code)
    ):
        raise _fail("typeCode différent du code du CDA")
    for scheme, name, cda_code in (
        (DE_FACILITY, "healthcareFacilityTypeCode", header.facility_type),
        (DE_PRACTICE, "practiceSettingCode", header.practice_setting),
    ):
        found = _classifications(extrinsic, scheme)
        if len(found) != 1:
            raise _fail(f"{name} absent ou répété")
        if cda_code is not None and (
            found[0].get("nodeRepresentation"),
            _coding_scheme(found[0]),
        ) != (cda_code.code, cda_code.code_system):
            raise _fail(f"{name} différent de celui du CDA")
    formats = _classifications(extrinsic, DE_FORMAT)
    if len(formats) != 1:
        raise _fail("formatCode absent ou répété")
    expected_format = LEVEL1_FORMATS.get(header.media_type or "")
    if header.media_type is not None and formats[0].get("nodeRepresentation") != expected_format:
        raise _fail(f"formatCode différent de celui d'un CDA à corps {header.media_type}")
    cda_conf = header.confidentiality.code if header.confidentiality else None
    if cda_conf not in {code for code, system in confidentiality if system == CONFIDENTIALITY_N[1]}:
        raise _fail("confidentialityCode différent de celui du CDA")
    created = _slot_values(extrinsic, "creationTime")
    effective = header.effective_time
    if not created:
        raise _fail("creationTime absent")
    if effective is not None and effective.tzinfo is not None:
        expected = effective.astimezone(dt.UTC).strftime("%Y%m%d%H%M%S")
        if not expected.startswith(created[0]) or len(created[0]) < 8:
            raise _fail("creationTime différent de effectiveTime du CDA (en UTC)")
    set_id = header.set_id.xds_unique_id if header.set_id is not None else ""
    if header.parent_document is not None and header.relation in (None, "RPLC"):
        return header.parent_document.id.xds_unique_id, set_id
    return None, set_id


def _check_xades(
    content: bytes, documents: dict[str, bytes], set_unique_id: str, ca_file: Path
) -> None:
    """The Signature01 document: a manifest of the documents, signed with a test-CA cert."""
    from signxml.exceptions import InvalidInput, InvalidSignature, SignXMLException
    from signxml.verifier import SignatureConfiguration, XMLVerifier

    from segurlink._xml import parse_xml
    from segurlink.errors import SegurlinkError

    try:
        root = parse_xml(content, what="XAdES signature")
    except SegurlinkError as exc:
        raise _fail(f"Signature01 illisible : {exc}") from exc
    manifest = root.find(f".//{{{DS}}}Manifest")
    if manifest is None:
        raise _fail("Signature01 : ds:Manifest absent")
    references = {r.get("URI", ""): r for r in manifest.findall(f"{{{DS}}}Reference")}
    for unique_id, document in documents.items():
        reference = references.get(f"urn:oid:{unique_id}")
        if reference is None:
            raise _fail(f"Signature01 : le manifeste ne référence pas urn:oid:{unique_id}")
        if not manifest_digest_ok(reference, document):
            raise _fail(f"Signature01 : empreinte du manifeste fausse pour urn:oid:{unique_id}")
    if f"urn:oid:{set_unique_id}" not in references:
        raise _fail("Signature01 : le manifeste ne référence pas le lot de soumission")
    try:
        XMLVerifier().verify(
            content,
            ca_pem_file=str(ca_file),
            expect_config=SignatureConfiguration(require_x509=True, expect_references=True),
        )
    except (InvalidSignature, InvalidInput, SignXMLException, etree.LxmlError, ValueError) as exc:
        raise _fail(f"Signature01 : signature XAdES invalide : {exc}") from exc


def _b64(text: str | None) -> bytes:
    return base64.b64decode("".join((text or "").split()))


def manifest_digest_ok(reference: etree._Element, content: bytes) -> bool:
    """Whether a manifest reference's digest is the digest of ``content`` (no transform)."""
    method = reference.find(f"{{{DS}}}DigestMethod")
    name = _DIGESTS.get(method.get("Algorithm", "") if method is not None else "")
    if name is None:
        return False
    return hashlib.new(name, content).digest() == _b64(reference.findtext(f"{{{DS}}}DigestValue"))
