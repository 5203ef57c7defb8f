"""The DMP mock, driven with raw requests and hand-written messages shaped like the
official examples (no segurlink DMP client code: the mock is an independent witness)."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from lxml import etree
from segurlink_mocks.dmp import DmpMock
from segurlink_mocks.dmp.mime import build_mtom, parse_multipart
from segurlink_mocks.pki import TestPki

from tests.conftest import shared_path

SOAP = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://www.w3.org/2005/08/addressing"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XS = "http://www.w3.org/2001/XMLSchema"
HL7 = "urn:hl7-org:v3"
RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
RS = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"
LCM = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
QUERY = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"
XDSB = "urn:ihe:iti:xds-b:2007"
XOP = "http://www.w3.org/2004/08/xop/include"
NS = {
    "soap": SOAP,
    "wsa": WSA,
    "rim": RIM,
    "rs": RS,
    "q": QUERY,
    "xdsb": XDSB,
    "h": HL7,
    "xop": XOP,
}

INS_OID = "1.2.250.1.213.1.4.8"
ZOE = "275126322074974"
DOMINIQUE = "297022A02077878"
CATARINA = "236066322083656"  # INTERDIT
NESSI = "110086322083060"  # no DMP
STRUCTURE = "1010000016"
INSTITUTION = f"EHPAD SEGURLINK TEST^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^{STRUCTURE}"
APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
DEPRECATED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated"
ARCHIVED = "urn:asip:ci-sis:2010:StatusType:Archived"
DELETED = "urn:asip:ci-sis:2010:StatusType:Deleted"
FAILURE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
FIND = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
GET = "urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def cx(ins: str, oid: str = INS_OID) -> str:
    return f"{ins}^^^&{oid}&ISO^NH"


# -- a hand-written client -------------------------------------------------------------------


def vihf(
    pki: TestPki,
    ins: str,
    *,
    signer: str = "dmp-sign",
    structure: str = STRUCTURE,
    mode: str = "INDIRECTE",
    drop: tuple[str, ...] = (),
    algorithm: str = "rsa-sha256",
    tamper: bool = False,
    oid: str = INS_OID,
    issued: dt.datetime | None = None,
) -> etree._Element:
    """A VIHF signed like the spec says (enveloped, right after Issuer, exc-c14n)."""
    from cryptography import x509
    from signxml import XMLSigner
    from signxml.algorithms import SignatureMethod

    cert_pem = (pki.directory / f"{signer}.pem").read_bytes()
    key_pem = (pki.directory / f"{signer}.key").read_bytes()
    cert = x509.load_pem_x509_certificate(cert_pem)
    assertion_id = f"_{uuid.uuid4()}"
    root = etree.Element(f"{{{SAML}}}Assertion", nsmap={"saml2": SAML, "xsi": XSI, "xs": XS})
    root.set("ID", assertion_id)
    root.set("IssueInstant", (issued or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    root.set("Version", "2.0")
    issuer = etree.SubElement(root, f"{{{SAML}}}Issuer")
    issuer.set("Format", "urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName")
    issuer.text = cert.subject.rfc4514_string()
    # Declare ds: on the placeholder: moving the tree into the envelope must not rename it.
    etree.SubElement(root, f"{{{DS}}}Signature", nsmap={"ds": DS}, Id="placeholder")
    subject = etree.SubElement(root, f"{{{SAML}}}Subject")
    etree.SubElement(subject, f"{{{SAML}}}NameID").text = "810100000001"
    authn = etree.SubElement(root, f"{{{SAML}}}AuthnStatement", AuthnInstant="2025-01-01T00:00:00Z")
    context = etree.SubElement(authn, f"{{{SAML}}}AuthnContext")
    etree.SubElement(
        context, f"{{{SAML}}}AuthnContextClassRef"
    ).text = "urn:oasis:names:tc:SAML:2.0:ac:classes:TLSClient"
    statement = etree.SubElement(root, f"{{{SAML}}}AttributeStatement")
    texts = {
        "Identifiant_Structure": structure,
        "Secteur_Activite": "SA17^1.2.250.1.71.4.2.4",
        "urn:oasis:names:tc:xspa:1.0:subject:subject-id": "RESPONSABLE ROBERT",
        "VIHF_Version": "3.0",
        "Authentification_mode": mode,
        "urn:oasis:names:tc:xacml:2.0:resource:resource-id": cx(ins, oid),
        "Ressource_URN": "urn:dmp",
        "LPS_ID": "segurlink-demo",
        "LPS_Nom": "segurlink-demo",
        "LPS_Version": "0.1.0",
        "LPS_ID_HOMOLOGATION_DMP": "SEGURLINK-DMP-HOMOL",
    }
    for name, value in texts.items():
        if name in drop:
            continue
        attribute = etree.SubElement(statement, f"{{{SAML}}}Attribute", Name=name)
        item = etree.SubElement(attribute, f"{{{SAML}}}AttributeValue")
        item.set(f"{{{XSI}}}type", "xs:string")
        item.text = value
    for name, tag, code, system in (
        ("urn:oasis:names:tc:xacml:2.0:subject:role", "Role", "10", "1.2.250.1.71.1.2.7"),
        (
            "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse",
            "PurposeOfUse",
            "normal",
            "1.2.250.1.213.1.1.4.248",
        ),
    ):
        if name in drop:
            continue
        attribute = etree.SubElement(statement, f"{{{SAML}}}Attribute", Name=name)
        item = etree.SubElement(attribute, f"{{{SAML}}}AttributeValue")
        ce = etree.SubElement(
            item, f"{{{HL7}}}{tag}", nsmap={None: HL7}, code=code, codeSystem=system
        )
        ce.set(f"{{{XSI}}}type", "CE")
    signer_ = XMLSigner(
        signature_algorithm=SignatureMethod.RSA_SHA256
        if algorithm == "rsa-sha256"
        else SignatureMethod.RSA_SHA1,
        c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#",
    )
    signed = signer_.sign(
        root,
        key=key_pem,
        cert=cert_pem.decode(),
        reference_uri=f"#{assertion_id}",
        id_attribute="ID",
    )
    if tamper:
        for value in signed.iter(f"{{{SAML}}}AttributeValue"):
            if value.text == structure:
                value.text = "1999999999"
    return signed


def envelope(
    action: str,
    body: etree._Element,
    assertion: etree._Element | None,
    *,
    repeat: str | None = None,
) -> bytes:
    """A SOAP 1.2 request; ``repeat`` names a WS-Addressing header to send twice."""
    root = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"soap": SOAP})
    header = etree.SubElement(root, f"{{{SOAP}}}Header")
    for name, value in (
        ("MessageID", f"urn:uuid:{uuid.uuid4()}"),
        ("To", "https://dmp.example/si-dmp-server/v2/services"),
        ("Action", action),
    ):
        for _ in range(2 if name == repeat else 1):
            etree.SubElement(header, f"{{{WSA}}}{name}", nsmap={"wsa": WSA}).text = value
    if assertion is not None:
        etree.SubElement(header, f"{{{WSSE}}}Security", nsmap={"wsse": WSSE}).append(assertion)
    etree.SubElement(root, f"{{{SOAP}}}Body").append(body)
    return etree.tostring(root)


class Client:
    """Raw HTTP to the mock with the dmp-auth TLS identity."""

    def __init__(self, mock: DmpMock, pki: TestPki) -> None:
        self.mock = mock
        self.pki = pki
        self.session = requests.Session()
        self.session.trust_env = False  # REQUESTS_CA_BUNDLE would override session.verify
        self.session.verify = str(pki.ca)
        self.session.cert = (
            str(pki.directory / "dmp-auth.pem"),
            str(pki.directory / "dmp-auth.key"),
        )

    def post(
        self, path: str, data: bytes, content_type: str = "application/soap+xml; charset=UTF-8"
    ) -> requests.Response:
        return self.session.post(
            self.mock.endpoint + path, data=data, headers={"Content-Type": content_type}, timeout=10
        )

    def soap(
        self, path: str, action: str, body: etree._Element, ins: str, **vihf_options: Any
    ) -> etree._Element:
        response = self.post(path, envelope(action, body, vihf(self.pki, ins, **vihf_options)))
        assert response.headers["Content-Type"].startswith("application/soap+xml")
        return etree.fromstring(response.content)

    # -- ITI-41 ----------------------------------------------------------------------------

    def deposit(self, ins: str = ZOE, **options: Any) -> tuple[etree._Element, dict[str, Any]]:
        data, content_type, facts = provide_request(self.pki, ins, **options)
        response = self.post("/repository", data, content_type)
        return etree.fromstring(response.content), facts

    def find(
        self,
        ins: str = ZOE,
        statuses: tuple[str, ...] = (APPROVED,),
        return_type: str = "LeafClass",
        **vihf_options: Any,
    ) -> etree._Element:
        body = etree.Element(f"{{{QUERY}}}AdhocQueryRequest", nsmap={"query": QUERY, "rim": RIM})
        etree.SubElement(
            body, f"{{{QUERY}}}ResponseOption", returnComposedObjects="true", returnType=return_type
        )
        query = etree.SubElement(body, f"{{{RIM}}}AdhocQuery", id=FIND)
        add_slot(query, "$XDSDocumentEntryPatientId", f"'{cx(ins)}'")
        add_slot(query, "$XDSDocumentEntryStatus", "(" + ",".join(f"'{s}'" for s in statuses) + ")")
        return self.soap(
            "/registry", "urn:ihe:iti:2007:RegistryStoredQuery", body, ins, **vihf_options
        )

    def retrieve(self, unique_id: str, ins: str = ZOE, **vihf_options: Any) -> requests.Response:
        body = etree.Element(f"{{{XDSB}}}RetrieveDocumentSetRequest", nsmap={None: XDSB})
        request = etree.SubElement(body, f"{{{XDSB}}}DocumentRequest")
        etree.SubElement(request, f"{{{XDSB}}}RepositoryUniqueId").text = "1.2.250.1.213.4.1.1.1.2"
        etree.SubElement(request, f"{{{XDSB}}}DocumentUniqueId").text = unique_id
        return self.post(
            "/repository",
            envelope(
                "urn:ihe:iti:2007:RetrieveDocumentSet", body, vihf(self.pki, ins, **vihf_options)
            ),
        )

    def update_status(
        self, entry_uuid: str, original: str, new: str, ins: str = ZOE
    ) -> etree._Element:
        body, objects = submit_objects(ins)
        association = etree.SubElement(
            objects,
            f"{{{RIM}}}Association",
            associationType="urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus",
            id="association1",
            sourceObject="SubmissionSet01",
            targetObject=entry_uuid,
        )
        add_slot(association, "OriginalStatus", original)
        add_slot(association, "NewStatus", new)
        return self.soap("/registry", "urn:ihe:iti:2010:UpdateDocumentSet", body, ins)

    def mask(
        self, lid: str, previous: int, codes: tuple[str, ...], ins: str = ZOE
    ) -> etree._Element:
        body, objects = submit_objects(ins)
        association = etree.SubElement(
            objects,
            f"{{{RIM}}}Association",
            associationType="urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember",
            id="association1",
            sourceObject="SubmissionSet01",
            targetObject="Document01",
        )
        add_slot(association, "SubmissionSetStatus", "Original")
        add_slot(association, "PreviousVersion", str(previous))
        extrinsic = etree.SubElement(
            objects,
            f"{{{RIM}}}ExtrinsicObject",
            id="Document01",
            lid=lid,
            mimeType="text/xml",
            objectType="urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1",
        )
        add_classification(
            extrinsic,
            "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f",
            "N",
            "2.16.840.1.113883.5.25",
        )
        for code in codes:
            add_classification(
                extrinsic,
                "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f",
                code,
                "1.2.250.1.213.1.1.4.13",
            )
        add_external(extrinsic, "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427", cx(ins))
        return self.soap("/registry", "urn:ihe:iti:2010:UpdateDocumentSet", body, ins)


def add_slot(parent: etree._Element, name: str, *values: str) -> None:
    slot = etree.SubElement(parent, f"{{{RIM}}}Slot", name=name)
    value_list = etree.SubElement(slot, f"{{{RIM}}}ValueList")
    for value in values:
        etree.SubElement(value_list, f"{{{RIM}}}Value").text = value


def add_classification(
    parent: etree._Element, scheme: str, code: str = "", system: str | None = None, **slots: str
) -> etree._Element:
    classification = etree.SubElement(
        parent,
        f"{{{RIM}}}Classification",
        classificationScheme=scheme,
        classifiedObject=parent.get("id", ""),
        id=f"cl-{uuid.uuid4().hex[:8]}",
        nodeRepresentation=code,
    )
    for name, value in slots.items():
        add_slot(classification, name, value)
    if system is not None:
        add_slot(classification, "codingScheme", system)
    return classification


def add_external(parent: etree._Element, scheme: str, value: str) -> None:
    etree.SubElement(
        parent,
        f"{{{RIM}}}ExternalIdentifier",
        id=f"ei-{uuid.uuid4().hex[:8]}",
        identificationScheme=scheme,
        registryObject=parent.get("id", ""),
        value=value,
    )


def submit_objects(
    ins: str, institution: str = INSTITUTION
) -> tuple[etree._Element, etree._Element]:
    body = etree.Element(f"{{{LCM}}}SubmitObjectsRequest", nsmap={"lcm": LCM, "rim": RIM})
    objects = etree.SubElement(body, f"{{{RIM}}}RegistryObjectList")
    package = etree.SubElement(objects, f"{{{RIM}}}RegistryPackage", id="SubmissionSet01")
    add_slot(package, "submissionTime", dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S"))
    add_classification(
        package,
        "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d",
        authorInstitution=institution,
    )
    etree.SubElement(
        package,
        f"{{{RIM}}}Classification",
        classificationNode="urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd",
        classifiedObject="SubmissionSet01",
        id="cla-ss",
    )
    add_external(package, "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446", cx(ins))
    add_external(package, "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832", "1.2.250.1.999.1.1")
    add_external(
        package, "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8", f"2.25.{uuid.uuid4().int}"
    )
    return body, objects


def make_cda(ins: str, *, previous: Any = None) -> tuple[bytes, str, Any]:
    """A level-1 CDA (PDF body) built with segurlink.cda for the patient ``ins``."""
    from segurlink.cda import (
        Attachment,
        Author,
        ClinicalDocument,
        Encounter,
        InstanceId,
        LegalAuthenticator,
        Organization,
        Patient,
        PersonName,
        Professional,
        ServiceEvent,
        SoftwareDevice,
        build_document,
        confidentiality,
        document_type,
        facility_type,
        practice_setting,
    )
    from segurlink.cda.models import Code
    from segurlink.identity import IdentityRecord, IdentityStatus, IdentityTraits, Ins
    from segurlink.identity.rniv import IdDocumentKind

    traits = IdentityTraits.from_input(
        birth_name="ADRUN", first_names="ZOE", sex="F", birth_date="1975-12-31", birth_place="63220"
    )
    record = IdentityRecord(
        traits, IdentityStatus.QUAL, Ins.parse(ins), id_document=IdDocumentKind.PASSPORT
    )
    organization = Organization.from_finess("010000016", "EHPAD SEGURLINK TEST")
    doctor = Professional(
        "10009876543",
        PersonName("CAMPARINI", ("MARCEL",)),
        Code("G15_10/SM26", "1.2.250.1.213.1.1.4.5", "Qualifié en Médecine Générale (SM)"),
    )
    when = dt.datetime(2025, 3, 1, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    document = ClinicalDocument(
        document_type=document_type("PPA"),
        id=InstanceId.new(),
        set_id=InstanceId.new(),
        effective_time=when,
        patient=Patient(record, (InstanceId("1.2.250.1.999.1.1.2", "IPP1"),)),
        authors=(
            Author(
                when,
                organization,
                device=SoftwareDevice(
                    InstanceId("1.2.250.1.71.4.2.2", STRUCTURE), "segurlink", "segurlink"
                ),
            ),
        ),
        custodian=organization,
        legal_authenticator=LegalAuthenticator(when, doctor),
        service_event=ServiceEvent(
            start=when,
            end=when,
            practice_setting=practice_setting("ESSMS"),
            performer=doctor,
            organization=organization,
        ),
        encounter=Encounter(start=when, facility_type=facility_type("SA17"), facility=organization),
        body=Attachment(PDF),
        confidentiality=confidentiality("N"),
    )
    if previous is not None:
        document = previous.replacement(
            id=InstanceId.new(), effective_time=when + dt.timedelta(hours=1)
        )
    data = build_document(document)
    return data, document.id.xds_unique_id, document


def xades(
    pki: TestPki, documents: dict[str, bytes], set_unique_id: str, signer: str = "dmp-sign"
) -> bytes:
    """A Signature01 document: an enveloping signature over a ds:Manifest of the documents."""
    from signxml import XMLSigner, methods
    from signxml.algorithms import SignatureMethod

    manifest = etree.Element(f"{{{DS}}}Manifest", nsmap={"ds": DS}, Id="IHEManifest")
    for uri, content in [*documents.items(), (set_unique_id, set_unique_id.encode())]:
        reference = etree.SubElement(manifest, f"{{{DS}}}Reference", URI=f"urn:oid:{uri}")
        etree.SubElement(
            reference, f"{{{DS}}}DigestMethod", Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"
        )
        import base64

        etree.SubElement(reference, f"{{{DS}}}DigestValue").text = base64.b64encode(
            hashlib.sha256(content).digest()
        ).decode()
    signed = XMLSigner(
        method=methods.enveloping, signature_algorithm=SignatureMethod.RSA_SHA256
    ).sign(
        manifest,
        key=(pki.directory / f"{signer}.key").read_bytes(),
        cert=(pki.directory / f"{signer}.pem").read_text(),
    )
    return etree.tostring(signed)


def provide_request(
    pki: TestPki,
    ins: str,
    *,
    cda: tuple[bytes, str, Any] | None = None,
    cda_ins: str | None = None,
    institution: str = INSTITUTION,
    document_institution: str | None = None,
    replaces: str | None = None,
    with_signature: bool = True,
    wrong_hash: bool = False,
    vihf_options: dict[str, Any] | None = None,
    tamper_signature: Any = None,
    facility: tuple[str, str] = ("SA17", "1.2.250.1.71.4.2.4"),
    practice: tuple[str, str] = ("ESSMS", "1.2.250.1.213.1.1.4.9"),
    document_format: str = "urn:ihe:iti:xds-sd:pdf:2008",
) -> tuple[bytes, str, dict[str, Any]]:
    """An ITI-41 MTOM request shaped like TD2.1_Alimentation_requete.xml."""
    content, unique_id, _ = cda or make_cda(cda_ins or ins)
    body = etree.Element(
        f"{{{XDSB}}}ProvideAndRegisterDocumentSetRequest",
        nsmap={"xdsb": XDSB, "lcm": LCM, "rim": RIM},
    )
    sor, objects = submit_objects(ins, institution)
    body.append(sor)
    package = objects[0]
    set_unique_id = next(
        e.get("value")
        for e in package.iter(f"{{{RIM}}}ExternalIdentifier")
        if e.get("identificationScheme") == "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"
    )
    assert set_unique_id is not None

    def entry(
        entry_id: str,
        data: bytes,
        class_code: tuple[str, str],
        type_code: tuple[str, str],
        format_code: tuple[str, str],
        uid: str,
        creation: str,
    ) -> None:
        extrinsic = etree.SubElement(
            objects,
            f"{{{RIM}}}ExtrinsicObject",
            id=entry_id,
            mimeType="text/xml",
            objectType="urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1",
        )
        add_slot(extrinsic, "creationTime", creation)
        add_slot(extrinsic, "hash", "0" * 40 if wrong_hash else hashlib.sha1(data).hexdigest())
        add_slot(extrinsic, "languageCode", "fr-FR")
        add_slot(extrinsic, "size", str(len(data)))
        add_slot(extrinsic, "sourcePatientId", "IPP1^^^&1.2.250.1.999.1.1.2&ISO^PI")
        name = etree.SubElement(extrinsic, f"{{{RIM}}}Name")
        etree.SubElement(
            name, f"{{{RIM}}}LocalizedString", charset="UTF8", value="Document", lang="FR"
        )
        add_classification(
            extrinsic,
            "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d",
            authorInstitution=document_institution or institution,
        )
        add_classification(extrinsic, "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a", *class_code)
        add_classification(extrinsic, "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983", *type_code)
        add_classification(
            extrinsic,
            "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f",
            "N",
            "2.16.840.1.113883.5.25",
        )
        add_classification(extrinsic, "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d", *format_code)
        add_classification(extrinsic, "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1", *facility)
        add_classification(extrinsic, "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead", *practice)
        add_external(extrinsic, "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427", cx(ins))
        add_external(extrinsic, "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab", uid)
        association = etree.SubElement(
            objects,
            f"{{{RIM}}}Association",
            associationType="urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember",
            id=f"as-{entry_id}",
            sourceObject="SubmissionSet01",
            targetObject=entry_id,
        )
        add_slot(association, "SubmissionSetStatus", "Original")

    from segurlink.cda import parse_header

    header = parse_header(content)
    assert header.type_code is not None and header.effective_time is not None
    creation = header.effective_time.astimezone(dt.UTC).strftime("%Y%m%d%H%M%S")
    entry(
        "Document01",
        content,
        ("44", "1.2.250.1.213.1.1.4.1"),
        (header.type_code.code, header.type_code.code_system),
        (document_format, "1.3.6.1.4.1.19376.1.2.3"),
        unique_id,
        creation,
    )
    parts = [("doc1@segurlink", "text/xml", content)]
    if with_signature:
        signature = xades(pki, {unique_id: content}, set_unique_id)
        if tamper_signature is not None:
            signature = tamper_signature(signature)
        entry(
            "Signature01",
            signature,
            ("urn:oid:1.3.6.1.4.1.19376.1.2.1.1.1", "URN"),
            ("E1762", "ASTM"),
            ("http://www.w3.org/2000/09/xmldsig#", "URN"),
            f"2.25.{uuid.uuid4().int}",
            creation,
        )
        etree.SubElement(
            objects,
            f"{{{RIM}}}Association",
            associationType="urn:ihe:iti:2007:AssociationType:signs",
            id="as-signs",
            sourceObject="Signature01",
            targetObject="SubmissionSet01",
        )
        parts.append(("sig1@segurlink", "text/xml", signature))
    if replaces is not None:
        etree.SubElement(
            objects,
            f"{{{RIM}}}Association",
            associationType="urn:ihe:iti:2007:AssociationType:RPLC",
            id="as-rplc",
            sourceObject="Document01",
            targetObject=replaces,
        )
    for (cid, _, _), entry_id in zip(parts, ("Document01", "Signature01"), strict=False):
        document = etree.SubElement(body, f"{{{XDSB}}}Document", id=entry_id)
        etree.SubElement(document, f"{{{XOP}}}Include", nsmap={"xop": XOP}, href=f"cid:{cid}")
    soap = envelope(
        "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b",
        body,
        vihf(pki, ins, **(vihf_options or {})),
    )
    data, content_type = build_mtom(soap, parts, "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b")
    return (
        data,
        content_type,
        {"unique_id": unique_id, "content": content, "set_unique_id": set_unique_id},
    )


def status_of(answer: etree._Element) -> str:
    found = answer.find(".//rs:RegistryResponse", NS)
    if found is None:
        found = answer.find(".//q:AdhocQueryResponse", NS)
    assert found is not None, etree.tostring(answer)[:800]
    return found.get("status", "")


def error_codes(answer: etree._Element) -> list[str]:
    return [e.get("errorCode", "") for e in answer.iterfind(".//rs:RegistryError", NS)]


def fault_text(answer: etree._Element) -> str:
    return answer.findtext(".//soap:Fault/soap:Reason/soap:Text", default="", namespaces=NS)


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def client(dmp_mock: DmpMock, segurlink_pki: TestPki) -> Iterator[Client]:
    c = Client(dmp_mock, segurlink_pki)
    yield c
    c.session.close()


# -- tests -----------------------------------------------------------------------------------


def td02_body(ins: str, root: str = INS_OID) -> etree._Element:
    body = etree.Element(f"{{{HL7}}}PRPA_IN201307UV02", nsmap={None: HL7}, ITSVersion="XML_1.0")
    etree.SubElement(body, f"{{{HL7}}}id", root="1.2.250.1.999.1.1.1", extension="msg-1")
    control = etree.SubElement(
        body, f"{{{HL7}}}controlActProcess", classCode="CACT", moodCode="EVN"
    )
    query = etree.SubElement(control, f"{{{HL7}}}queryByParameter")
    etree.SubElement(query, f"{{{HL7}}}queryId", root="1.2.250.1.999.1.1.2", extension="q-1")
    parameters = etree.SubElement(query, f"{{{HL7}}}parameterList")
    identifier = etree.SubElement(parameters, f"{{{HL7}}}patientIdentifier")
    etree.SubElement(identifier, f"{{{HL7}}}value", root=root, extension=ins)
    return body


@pytest.mark.parametrize(
    ("ins", "code", "authorisation"),
    [
        (ZOE, "OK", "VALIDE"),
        (CATARINA, "OK", "INTERDIT"),
        (NESSI, "NF", "NON_EXISTE"),
        ("180032B02040123", "OK", "EXPIRE"),
    ],
)
def test_td02_answers_existence_and_authorisation(
    client: Client, ins: str, code: str, authorisation: str
) -> None:
    answer = client.soap("/patients", "urn:hl7-org:v3:PRPA_IN201307UV02", td02_body(ins), ins)
    assert answer.findtext(".//wsa:Action", namespaces=NS) == "urn:hl7-org:v3:PRPA_IN201308UV02", (
        fault_text(answer)
    )
    assert answer.find(".//wsa:RelatesTo", NS) is not None
    assert answer.find(".//h:queryResponseCode", NS).get("code") == code
    assert answer.find(".//h:attentionLine/h:value", NS).get("code") == authorisation
    assert answer.find(".//h:acknowledgement/h:targetMessage/h:id", NS).get("extension") == "msg-1"
    ids = [i.get("extension") for i in answer.iterfind(".//h:patient/h:id", NS)]
    assert ids == ([ins] if code == "OK" else [])


def test_deposit_find_retrieve_archive_delete(client: Client, dmp_mock: DmpMock) -> None:
    answer, facts = client.deposit()
    assert status_of(answer) == SUCCESS, etree.tostring(answer)
    assert (
        answer.findtext(".//wsa:Action", namespaces=NS)
        == "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse"
    )
    stored = dmp_mock.documents(ZOE)
    assert [(d["uniqueId"], d["status"], d["version"]) for d in stored] == [
        (facts["unique_id"], APPROVED, 1)
    ]
    entry_uuid = stored[0]["entryUUID"]
    assert entry_uuid.startswith("urn:uuid:")

    found = client.find()
    assert status_of(found) == SUCCESS
    extrinsics = found.findall(".//rim:ExtrinsicObject", NS)
    assert [e.get("id") for e in extrinsics] == [entry_uuid]  # the signature entry is not listed
    slots = {
        s.get("name"): s.findtext(".//rim:Value", namespaces=NS)
        for s in extrinsics[0].findall("rim:Slot", NS)
    }
    assert slots["hash"] == hashlib.sha1(facts["content"]).hexdigest()
    assert slots["size"] == str(len(facts["content"]))
    assert slots["repositoryUniqueId"] == "1.2.250.1.213.4.1.1.1.2"
    assert extrinsics[0].get("status") == APPROVED
    assert extrinsics[0].find("rim:VersionInfo", NS).get("versionName") == "1"
    refs = client.find(return_type="ObjectRef").findall(".//rim:ObjectRef", NS)
    assert [r.get("id") for r in refs] == [entry_uuid]

    response = client.retrieve(facts["unique_id"])
    assert response.headers["Content-Type"].startswith("multipart/related")
    multipart = parse_multipart(response.content, response.headers["Content-Type"])
    root = etree.fromstring(multipart.root.body)
    assert (
        root.findtext(".//wsa:Action", namespaces=NS)
        == "urn:ihe:iti:2007:RetrieveDocumentSetResponse"
    )
    href = root.find(".//xdsb:Document/xop:Include", NS).get("href")
    assert multipart.attachment(href) == facts["content"]  # byte-identical

    archived = client.update_status(entry_uuid, APPROVED, ARCHIVED)
    assert (
        archived.findtext(".//wsa:Action", namespaces=NS)
        == "urn:ihe:iti:2010:UpdateDocumentSet-Response"
    )
    assert status_of(archived) == SUCCESS
    assert client.find().findall(".//rim:ExtrinsicObject", NS) == []
    assert len(client.find(statuses=(ARCHIVED,)).findall(".//rim:ExtrinsicObject", NS)) == 1
    wrong_original = client.update_status(entry_uuid, APPROVED, DELETED)
    assert error_codes(wrong_original) == ["XDSMetadataUpdateError"]
    assert status_of(client.update_status(entry_uuid, ARCHIVED, DELETED)) == SUCCESS
    assert dmp_mock.documents(ZOE)[0]["status"] == DELETED
    gone = client.retrieve(facts["unique_id"])
    assert error_codes(etree.fromstring(gone.content)) == ["XDSDocumentUniqueIdError"]


def test_replacement_deprecates_the_old_entry(
    client: Client, dmp_mock: DmpMock, segurlink_pki: TestPki
) -> None:
    first = make_cda(ZOE)
    answer, _ = client.deposit(cda=first)
    assert status_of(answer) == SUCCESS
    old_uuid = dmp_mock.documents(ZOE)[0]["entryUUID"]
    second = make_cda(ZOE, previous=first[2])
    answer, _ = client.deposit(cda=second, replaces=old_uuid)
    assert status_of(answer) == SUCCESS, error_codes(answer)
    statuses = {d["uniqueId"]: d["status"] for d in dmp_mock.documents(ZOE)}
    assert statuses == {first[1]: DEPRECATED, second[1]: APPROVED}
    found = client.find().findall(".//rim:ExtrinsicObject", NS)
    assert len(found) == 1 and found[0].get("status") == APPROVED
    again, _ = client.deposit(cda=make_cda(ZOE, previous=first[2]), replaces=old_uuid)
    assert error_codes(again) == ["XDSRepositoryMetadataError"]  # already replaced


def test_a_replacement_must_be_declared_by_both_the_cda_and_the_metadata(
    client: Client, dmp_mock: DmpMock
) -> None:
    first = make_cda(ZOE)
    assert status_of(client.deposit(cda=first)[0]) == SUCCESS
    old_uuid = dmp_mock.documents(ZOE)[0]["entryUUID"]
    other = make_cda(ZOE)
    assert status_of(client.deposit(cda=other)[0]) == SUCCESS
    other_uuid = dmp_mock.documents(ZOE)[1]["entryUUID"]
    before = dmp_mock.documents(ZOE)

    # The CDA says relatedDocument RPLC, the submission has no RPLC association: a second
    # current document of the same setId would appear. Refused.
    answer, _ = client.deposit(cda=make_cda(ZOE, previous=first[2]))
    assert error_codes(answer) == ["XDSRepositoryMetadataError"]
    assert "relatedDocument RPLC" in answer.find(".//rs:RegistryError", NS).get("codeContext")
    # An RPLC association for a CDA that declares no replacement.
    answer, _ = client.deposit(cda=make_cda(ZOE), replaces=old_uuid)
    assert error_codes(answer) == ["XDSRepositoryMetadataError"]
    # The association targets another document than the one the CDA replaces.
    answer, _ = client.deposit(cda=make_cda(ZOE, previous=first[2]), replaces=other_uuid)
    assert error_codes(answer) == ["XDSRepositoryMetadataError"]
    assert dmp_mock.documents(ZOE) == before  # nothing stored, nothing deprecated
    assert [d["status"] for d in before] == [APPROVED, APPROVED]
    assert before[0]["setId"] != before[1]["setId"]


def test_masking_creates_a_new_version(client: Client, dmp_mock: DmpMock) -> None:
    client.deposit()
    lid = dmp_mock.documents(ZOE)[0]["lid"]
    answer = client.mask(lid, 1, ("MASQUE_PS", "INVISIBLE_PATIENT"))
    assert (
        answer.findtext(".//wsa:Action", namespaces=NS)
        == "urn:ihe:iti:2010:UpdateDocumentSet-Response"
    )
    assert status_of(answer) == SUCCESS, error_codes(answer)
    versions = dmp_mock.documents(ZOE)
    assert [(v["version"], v["status"]) for v in versions] == [(1, DEPRECATED), (2, APPROVED)]
    assert versions[1]["confidentiality"] == ["N", "MASQUE_PS", "INVISIBLE_PATIENT"]
    found = client.find().find(".//rim:ExtrinsicObject", NS)
    codes = [
        c.get("nodeRepresentation")
        for c in found.iterfind("rim:Classification", NS)
        if c.get("classificationScheme") == "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f"
    ]
    assert codes == ["N", "MASQUE_PS", "INVISIBLE_PATIENT"]
    assert found.find("rim:VersionInfo", NS).get("versionName") == "2"
    assert error_codes(client.mask(lid, 1, ())) == ["XDSMetadataVersionError"]
    assert status_of(client.mask(lid, 2, ())) == SUCCESS  # unmask


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"with_signature": False}, "XDSRepositoryMetadataError"),
        ({"wrong_hash": True}, "XDSRepositoryMetadataError"),
        (
            {"document_institution": "AUTRE^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^1010000016"},
            "XDSRepositoryMetadataError",
        ),
        (
            {"institution": "AUTRE^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^1999999999"},
            "XDSRegistryError",
        ),
        ({"cda_ins": DOMINIQUE}, "XDSPatientIdDoesNotMatch"),
    ],
)
def test_deposit_metadata_is_checked(
    client: Client, dmp_mock: DmpMock, options: dict[str, Any], code: str
) -> None:
    answer, _ = client.deposit(**options)
    assert status_of(answer) == FAILURE
    assert error_codes(answer) == [code]
    assert dmp_mock.documents(ZOE) == []


@pytest.mark.parametrize(
    ("options", "context"),
    [
        ({"facility": ("SA16", "1.2.250.1.71.4.2.4")}, "healthcareFacilityTypeCode différent"),
        ({"practice": ("HAD", "1.2.250.1.213.1.1.4.9")}, "practiceSettingCode différent"),
        ({"document_format": "urn:ihe:iti:xds-sd:text:2008"}, "formatCode différent"),
    ],
)
def test_deposit_metadata_must_match_the_cda(
    client: Client, dmp_mock: DmpMock, options: dict[str, Any], context: str
) -> None:
    answer, _ = client.deposit(**options)
    (error,) = answer.iterfind(".//rs:RegistryError", NS)
    assert error.get("errorCode") == "XDSRepositoryMetadataError"
    assert context in error.get("codeContext", "")
    assert dmp_mock.documents(ZOE) == []


def test_deposit_patients_and_duplicates(client: Client, dmp_mock: DmpMock) -> None:
    answer, _ = client.deposit(NESSI)
    assert error_codes(answer) == ["XDSUnknownPatientId"]
    answer, _ = client.deposit(CATARINA)
    assert error_codes(answer) == ["XDSRegistryError"]
    cda = make_cda(ZOE)
    assert status_of(client.deposit(cda=cda)[0]) == SUCCESS
    assert error_codes(client.deposit(cda=cda)[0]) == ["XDSDocumentUniqueIdError"]
    assert len(dmp_mock.documents(ZOE)) == 1


def _without_signature_value(signature: bytes) -> bytes:
    root = etree.fromstring(signature)
    for value in root.iter("{http://www.w3.org/2000/09/xmldsig#}SignatureValue"):
        value.getparent().remove(value)
    return etree.tostring(root)


def test_a_structurally_broken_xades_is_a_registry_failure_not_a_crash(
    client: Client, dmp_mock: DmpMock
) -> None:
    answer, _ = client.deposit(tamper_signature=_without_signature_value)
    assert status_of(answer) == FAILURE
    assert "Signature01" in etree.tostring(answer, encoding="unicode")
    assert dmp_mock.documents(ZOE) == []


def soap_fault(client: Client, **vihf_options: Any) -> etree._Element:
    return client.soap(
        "/patients", "urn:hl7-org:v3:PRPA_IN201307UV02", td02_body(ZOE), ZOE, **vihf_options
    )


def test_vihf_structure_must_match_the_certificates(client: Client) -> None:
    assert fault_text(soap_fault(client, signer="dmp-sign-other", structure="1999999999")) == (
        "Erreur d'authentification de la personne morale"
    )
    assert (
        fault_text(soap_fault(client, structure="1999999999"))
        == "Erreur d'authentification de la personne morale"
    )


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"tamper": True}, "Signature du VIHF invalide"),
        ({"mode": "DIRECTE"}, "Mode d'authentification"),
        ({"drop": ("LPS_ID_HOMOLOGATION_DMP",)}, "LPS_ID_HOMOLOGATION_DMP"),
        ({"drop": ("urn:oasis:names:tc:xacml:2.0:subject:role",)}, "rôle"),
        ({"drop": ("urn:oasis:names:tc:xspa:1.0:subject:purposeofuse",)}, "purposeofuse"),
    ],
)
def test_vihf_is_verified(client: Client, options: dict[str, Any], expected: str) -> None:
    answer = soap_fault(client, **options)
    assert expected in fault_text(answer)
    assert (
        answer.find(".//soap:Fault/soap:Code/soap:Subcode/soap:Value", NS).text
        == "wsse:FailedAuthentication"
    )


def test_envelope_rules(client: Client, segurlink_pki: TestPki) -> None:
    body = td02_body(ZOE)
    missing = client.post("/patients", envelope("urn:hl7-org:v3:PRPA_IN201307UV02", body, None))
    assert missing.status_code == 500 and "VIHF absent" in fault_text(
        etree.fromstring(missing.content)
    )
    wrong = client.post(
        "/registry",
        envelope("urn:hl7-org:v3:PRPA_IN201307UV02", td02_body(ZOE), vihf(segurlink_pki, ZOE)),
    )
    answer = etree.fromstring(wrong.content)
    assert answer.find(".//soap:Subcode/soap:Value", NS).text == "wsa:ActionNotSupported"
    soap12_as_text_xml = client.post(
        "/patients",
        envelope("urn:hl7-org:v3:PRPA_IN201307UV02", td02_body(ZOE), vihf(segurlink_pki, ZOE)),
        "text/xml; charset=UTF-8",
    )
    answer = etree.fromstring(soap12_as_text_xml.content)
    assert answer.find(".//soap:Code/soap:Value", NS).text == "soap:VersionMismatch"
    other_patient = client.post(
        "/patients",
        envelope(
            "urn:hl7-org:v3:PRPA_IN201307UV02", td02_body(DOMINIQUE), vihf(segurlink_pki, ZOE)
        ),
    )
    assert "resource-id" in fault_text(etree.fromstring(other_patient.content))


SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"


def _subcodes(answer: etree._Element) -> list[str]:
    return [
        v.text or ""
        for v in answer.iterfind(".//soap:Fault/soap:Code//soap:Subcode/soap:Value", NS)
    ]


@pytest.mark.parametrize("header", ["Action", "MessageID", "To"])
def test_a_repeated_addressing_header_is_refused(
    client: Client, segurlink_pki: TestPki, header: str
) -> None:
    data = envelope(
        "urn:hl7-org:v3:PRPA_IN201307UV02",
        td02_body(ZOE),
        vihf(segurlink_pki, ZOE),
        repeat=header,
    )
    response = client.post("/patients", data)
    answer = etree.fromstring(response.content)
    assert response.status_code == 500
    assert answer.findtext(".//soap:Fault/soap:Code/soap:Value", namespaces=NS) == "soap:Sender"
    assert _subcodes(answer) == ["wsa:InvalidAddressingHeader", "wsa:InvalidCardinality"]
    assert f"wsa:{header} is repeated" in fault_text(answer)
    # The same request with each header once is answered.
    single = envelope("urn:hl7-org:v3:PRPA_IN201307UV02", td02_body(ZOE), vihf(segurlink_pki, ZOE))
    assert (
        etree.fromstring(client.post("/patients", single).content).find(".//soap:Fault", NS) is None
    )


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (dt.timedelta(seconds=40), "VIHF expiré"),  # 30 s lifetime + 5 s clock skew
        (dt.timedelta(days=2000), "VIHF expiré"),  # the official samples' age
        (-dt.timedelta(seconds=60), "dans le futur"),
    ],
)
def test_a_vihf_outside_its_lifetime_is_refused(
    client: Client, segurlink_pki: TestPki, age: dt.timedelta, expected: str
) -> None:
    assertion = vihf(segurlink_pki, ZOE, issued=dt.datetime.now(dt.UTC) - age)
    response = client.post(
        "/patients", envelope("urn:hl7-org:v3:PRPA_IN201307UV02", td02_body(ZOE), assertion)
    )
    answer = etree.fromstring(response.content)
    assert response.status_code == 500 and expected in fault_text(answer)
    assert _subcodes(answer) == ["wsse:FailedAuthentication"]


def test_a_vihf_a_few_seconds_old_is_accepted(client: Client, segurlink_pki: TestPki) -> None:
    assertion = vihf(segurlink_pki, ZOE, issued=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=20))
    answer = etree.fromstring(
        client.post(
            "/patients", envelope("urn:hl7-org:v3:PRPA_IN201307UV02", td02_body(ZOE), assertion)
        ).content
    )
    assert answer.find(".//soap:Fault", NS) is None


def test_a_replayed_vihf_is_refused(client: Client, segurlink_pki: TestPki) -> None:
    assertion = vihf(segurlink_pki, ZOE)
    first = envelope("urn:hl7-org:v3:PRPA_IN201307UV02", td02_body(ZOE), assertion)
    assert (
        etree.fromstring(client.post("/patients", first).content).find(".//soap:Fault", NS) is None
    )
    # The very same request again, then the same assertion in a new envelope.
    for replay in (first, envelope("urn:hl7-org:v3:PRPA_IN201307UV02", td02_body(ZOE), assertion)):
        response = client.post("/patients", replay)
        answer = etree.fromstring(response.content)
        assert response.status_code == 500 and "VIHF rejoué" in fault_text(answer)
        assert _subcodes(answer) == ["wsse:FailedAuthentication"]


def test_a_soap11_envelope_is_accepted_and_answered_in_soap12(
    client: Client, dmp_mock: DmpMock, segurlink_pki: TestPki
) -> None:
    for content_type in ("application/soap+xml; charset=UTF-8", "text/xml; charset=UTF-8"):
        request = envelope(
            "urn:hl7-org:v3:PRPA_IN201307UV02", td02_body(ZOE), vihf(segurlink_pki, ZOE)
        ).replace(SOAP.encode(), SOAP11.encode())
        message_id = etree.fromstring(request).findtext(f".//{{{WSA}}}MessageID")
        response = client.post("/patients", request, content_type)
        answer = etree.fromstring(response.content)
        assert response.status_code == 200 and answer.tag == f"{{{SOAP}}}Envelope"
        assert answer.find(".//h:queryResponseCode", NS).get("code") == "OK"
        assert answer.findtext(".//wsa:RelatesTo", namespaces=NS) == message_id
    # An MTOM deposit whose root part holds a SOAP 1.1 envelope, like the official capture.
    data, content_type, facts = provide_request(segurlink_pki, ZOE)
    response = client.post(
        "/repository", data.replace(SOAP.encode(), SOAP11.encode()), content_type
    )
    assert status_of(etree.fromstring(response.content)) == SUCCESS
    assert [d["uniqueId"] for d in dmp_mock.documents(ZOE)] == [facts["unique_id"]]


def test_the_official_soap11_deposit_capture_is_processed(
    client: Client, dmp_mock: DmpMock, segurlink_pki: TestPki
) -> None:
    """The official TD2.1 MTOM capture (SOAP 1.1 envelope), its VIHF replaced by a fresh one:
    the mock reads it through to the XDS checks and answers a SOAP 1.2 RegistryResponse
    related to its MessageID. The capture's structure (499900063480001) is not the one of the
    test certificates, so the answer is the DMP's authorInstitution refusal, not a fault."""
    raw = shared_path("dmp-package", "messages", "TD2.1_Alimentation_requete.xml").read_bytes()
    start, end = raw.index(b"<soap:Envelope"), raw.index(b"</soap:Envelope>") + 16
    envelope_11 = etree.fromstring(raw[start:end])
    assert envelope_11.tag == f"{{{SOAP11}}}Envelope"
    security = envelope_11.find(f".//{{{WSSE}}}Security")
    for child in list(security):
        security.remove(child)
    security.text = "@VIHF@"
    signed = etree.tostring(vihf(segurlink_pki, "207058575627097", oid="1.2.250.1.213.1.4.10"))
    new_envelope = etree.tostring(envelope_11).replace(b"@VIHF@", signed)
    data = raw[:start] + new_envelope + raw[end:]
    boundary = raw.split(b"\n", 1)[0][2:].strip().decode()
    dmp_mock.add_patient("207058575627097", family="PATB-QUATRE", given="LAURENCE")
    response = client.post(
        "/repository",
        data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"),
        f'multipart/related; boundary="{boundary}"; type="application/xop+xml"; '
        'start="<rootpart@soapui.org>"; start-info="application/soap+xml"',
    )
    answer = etree.fromstring(response.content)
    assert answer.tag == f"{{{SOAP}}}Envelope" and answer.find(".//soap:Fault", NS) is None
    assert answer.findtext(".//wsa:RelatesTo", namespaces=NS) == (
        "urn:uuid:b3745a7c-4d1a-4cfd-a752-536197e4ac7a"
    )
    assert status_of(answer) == FAILURE and error_codes(answer) == ["XDSRegistryError"]
    assert "Aucun AuthorInstitution" in answer.find(".//rs:RegistryError", NS).get("codeContext")


def test_indirect_mode_rights(client: Client, dmp_mock: DmpMock) -> None:
    other_uuid = dmp_mock.seed_document(ZOE, b"<ClinicalDocument/>", "1.2.3.4.5")
    masked_uuid = dmp_mock.seed_document(ZOE, b"<x/>", "1.2.3.4.6", confidentiality=("MASQUE_PS",))
    _, facts = client.deposit()
    own = [e.get("id") for e in client.find().iterfind(".//rim:ExtrinsicObject", NS)]
    assert other_uuid not in own and len(own) == 1  # indirect: only its structure's documents
    reinforced = [
        e.get("id")
        for e in client.find(mode="INDIRECTE_RENFORCEE").iterfind(".//rim:ExtrinsicObject", NS)
    ]
    assert other_uuid in reinforced and masked_uuid not in reinforced and len(reinforced) == 2
    refused = etree.fromstring(client.retrieve("1.2.3.4.5").content)
    assert error_codes(refused) == ["XDSRepositoryError"]
    assert "Accès refusé" in refused.find(".//rs:RegistryError", NS).get("codeContext")
    assert client.retrieve(facts["unique_id"]).status_code == 200  # one's own document: allowed
    assert (
        client.retrieve("1.2.3.4.5", mode="INDIRECTE_RENFORCEE")
        .headers["Content-Type"]
        .startswith("multipart/related")
    )
    assert error_codes(client.update_status(other_uuid, APPROVED, DELETED)) == ["XDSRegistryError"]


def test_faults(client: Client, dmp_mock: DmpMock) -> None:
    dmp_mock.inject("registry_unavailable")
    assert error_codes(client.find()) == ["XDSRegistryNotAvailable"]
    dmp_mock.inject("wrong_action")
    assert (
        client.find().findtext(".//wsa:Action", namespaces=NS)
        != "urn:ihe:iti:2007:RegistryStoredQueryResponse"
    )
    _, facts = client.deposit()
    dmp_mock.inject("truncated_multipart")
    response = client.retrieve(facts["unique_id"])
    with pytest.raises(ValueError, match="closing delimiter"):
        parse_multipart(response.content, response.headers["Content-Type"])
    dmp_mock.inject("http500_html")
    assert client.retrieve(facts["unique_id"]).headers["Content-Type"].startswith("text/html")


def test_timeout_after_commit_stores_then_answers_late(
    client: Client, dmp_mock: DmpMock, segurlink_pki: TestPki
) -> None:
    dmp_mock.inject("timeout_after_commit:1.5")
    data, content_type, facts = provide_request(segurlink_pki, ZOE)
    with pytest.raises(requests.Timeout):
        client.session.post(
            dmp_mock.endpoint + "/repository",
            data=data,
            headers={"Content-Type": content_type},
            timeout=0.5,
        )
    assert [d["uniqueId"] for d in dmp_mock.documents(ZOE)] == [facts["unique_id"]]  # committed
    # The retry is a new request (a VIHF serves once) carrying the same document.
    data, content_type, _ = provide_request(
        segurlink_pki, ZOE, cda=(facts["content"], facts["unique_id"], None)
    )
    retried = client.post("/repository", data, content_type)
    assert error_codes(etree.fromstring(retried.content)) == ["XDSDocumentUniqueIdError"]
    assert len(dmp_mock.documents(ZOE)) == 1  # no duplicate


def test_get_documents_by_uuid_and_unique_id(client: Client, dmp_mock: DmpMock) -> None:
    _, facts = client.deposit()
    entry_uuid = dmp_mock.documents(ZOE)[0]["entryUUID"]
    for slot, value in (
        ("$XDSDocumentEntryEntryUUID", entry_uuid),
        ("$XDSDocumentEntryUniqueId", facts["unique_id"]),
    ):
        body = etree.Element(f"{{{QUERY}}}AdhocQueryRequest", nsmap={"query": QUERY, "rim": RIM})
        etree.SubElement(body, f"{{{QUERY}}}ResponseOption", returnType="LeafClass")
        query = etree.SubElement(body, f"{{{RIM}}}AdhocQuery", id=GET)
        add_slot(query, slot, f"('{value}')")
        answer = client.soap("/registry", "urn:ihe:iti:2007:RegistryStoredQuery", body, ZOE)
        assert [e.get("id") for e in answer.iterfind(".//rim:ExtrinsicObject", NS)] == [entry_uuid]


def test_stack_writes_the_dmp_table(tmp_path: Path) -> None:
    from segurlink_mocks.stack import MockStack

    with MockStack(tmp_path) as stack:
        text = stack.config_path.read_text()
        assert "[dmp]" in text and 'cert = "pki/dmp-auth.pem"' in text
        assert stack.settings().section("dmp")["endpoint"] == stack.mocks["dmp"].url


# -- the official requests, replayed with our VIHF -------------------------------------------------


def official_request(name: str, pki: TestPki, ins: str, oid: str) -> bytes:
    """The official request with its VIHF replaced by ours (inserted as text: moving a
    signed element into another document may rename its namespace prefixes)."""
    path = shared_path("dmp-package", "messages", name)
    root = etree.fromstring(path.read_bytes())
    security = root.find(f".//{{{WSSE}}}Security")
    for child in list(security):
        security.remove(child)
    security.text = "@VIHF@"
    signed = etree.tostring(vihf(pki, ins, oid=oid))
    return etree.tostring(root).replace(b"@VIHF@", signed)


@pytest.mark.parametrize(
    ("name", "action_path", "check"),
    [
        ("TD0.2_Test_dexistence_requete.xml", "/patients", "OK"),
        ("TD3.1_Recherche_de_document_requete.xml", "/registry", SUCCESS),
        ("TD3.3c_Supprimer_un_document_requete.xml", "/registry", "XDSRegistryError"),
        ("TD3.2_Consultation_dun_document_requete.xml", "/repository", "XDSDocumentUniqueIdError"),
    ],
)
def test_official_requests_are_understood(
    client: Client,
    dmp_mock: DmpMock,
    segurlink_pki: TestPki,
    name: str,
    action_path: str,
    check: str,
) -> None:
    dmp_mock.add_patient("207058575627097", family="PATB-QUATRE", given="LAURENCE")
    data = official_request(name, segurlink_pki, "207058575627097", "1.2.250.1.213.1.4.10")
    answer = etree.fromstring(client.post(action_path, data).content)
    assert answer.find(".//soap:Fault", NS) is None, fault_text(answer)
    if check == "OK":
        assert answer.find(".//h:queryResponseCode", NS).get("code") == "OK"
    elif check == SUCCESS:
        assert status_of(answer) == SUCCESS
    else:
        assert error_codes(answer) == [check]
