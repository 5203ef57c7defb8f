"""Build a CI-SIS level-1 CDA R2 document (header + base64 ``nonXMLBody``).

Pure: no clock, no random, no I/O. The same :class:`ClinicalDocument` always gives the
same bytes.

>>> from segurlink.cda import build_document  # doctest: +SKIP
>>> xml_bytes = build_document(document)      # doctest: +SKIP
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterable

from lxml import etree

from ..errors import IdentityStatusError, InputError
from ..identity import IdentityStatus
from . import codes
from .models import (
    Author,
    ClinicalDocument,
    Code,
    InstanceId,
    Organization,
    PersonName,
    Professional,
)

__all__ = ["HL7_NS", "XSI_NS", "build_document", "build_element", "format_ts"]

HL7_NS = "urn:hl7-org:v3"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_NSMAP = {None: HL7_NS, "xsi": XSI_NS}

_MAGIC = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/tiff": (b"II*\x00", b"MM\x00*"),
    "text/rtf": (b"{\\rtf",),
}


def format_ts(value: dt.datetime) -> str:
    """A CDA ``TS`` with seconds and time zone offset: ``20240131143000+0100``.

    Naive datetimes are refused: the CI-SIS requires the offset.

    >>> format_ts(dt.datetime(2024, 1, 31, 14, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))))
    '20240131143000+0100'
    """
    if not isinstance(value, dt.datetime):
        raise InputError(f"a CDA timestamp needs a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError("a CDA timestamp needs a time zone (aware datetime), got a naive one")
    return value.strftime("%Y%m%d%H%M%S%z")


def _birth_ts(birth_date: str) -> str:
    # "YYYY-MM-DD" where MM/DD may be 00 (partial date): keep only the known precision.
    year, month, day = birth_date.split("-")
    if month == "00":
        return year
    if day == "00":
        return year + month
    return year + month + day


class _Writer:
    """Small helper around lxml SubElement with the HL7 namespace."""

    def el(
        self, parent: etree._Element, tag: str, text: str | None = None, **attrs: str
    ) -> etree._Element:
        node = etree.SubElement(parent, f"{{{HL7_NS}}}{tag}")
        for key, value in attrs.items():
            node.set(key, value)
        if text is not None:
            node.text = text
        return node

    def ii(self, parent: etree._Element, ident: InstanceId, tag: str = "id") -> etree._Element:
        node = self.el(parent, tag, root=ident.root)
        if ident.extension is not None:
            node.set("extension", ident.extension)
        return node

    def code(self, parent: etree._Element, code: Code, tag: str = "code") -> etree._Element:
        node = self.el(parent, tag, code=code.code)
        if code.display_name:
            node.set("displayName", code.display_name)
        node.set("codeSystem", code.code_system)
        if code.code_system_name:
            node.set("codeSystemName", code.code_system_name)
        return node

    def ts(self, parent: etree._Element, tag: str, value: dt.datetime) -> etree._Element:
        return self.el(parent, tag, value=format_ts(value))

    def interval(
        self, parent: etree._Element, start: dt.datetime, end: dt.datetime | None
    ) -> etree._Element:
        node = self.el(parent, "effectiveTime")
        self.ts(node, "low", start)
        if end is not None:
            self.ts(node, "high", end)
        return node

    def person_name(self, parent: etree._Element, name: PersonName) -> None:
        node = self.el(parent, "name")
        if name.prefix:
            self.el(node, "prefix", name.prefix)
        for given in name.given:
            self.el(node, "given", given)
        self.el(node, "family", name.family)
        if name.suffix:
            self.el(node, "suffix", name.suffix)

    def organization(self, parent: etree._Element, tag: str, org: Organization) -> etree._Element:
        node = self.el(parent, tag)
        self.ii(node, org.id)
        if org.name:
            self.el(node, "name", org.name)
        return node

    def professional_entity(
        self, parent: etree._Element, tag: str, pro: Professional, *, with_code: bool = True
    ) -> etree._Element:
        node = self.el(parent, tag)
        self.ii(node, pro.id)
        if with_code:
            self.code(node, pro.profession)
        person = self.el(node, "assignedPerson")
        self.person_name(person, pro.name)
        return node


def _patient_ids(document: ClinicalDocument) -> tuple[InstanceId, ...]:
    """The patientRole ids: the INS first when the identity is qualified, then local ids."""
    record = document.patient.identity
    for local in document.patient.local_ids:
        # Otherwise an INS could reach the document past the RNIV status check.
        if local.root in codes.INS_OIDS:
            raise IdentityStatusError(
                f"a local identifier may not use an INS OID ({local.root}): the INS comes "
                "only from a qualified (QUAL) identity record"
            )
    ids: list[InstanceId] = []
    if record.status is IdentityStatus.QUAL:
        ins = record.shareable_ins()
        if record.traits.birth_place is None:
            raise InputError(
                "a document carrying the INS needs the birth place (INSEE COG code) "
                "of the qualified identity"
            )
        ids.append(InstanceId(ins.oid, ins.value))
    elif not document.patient.local_ids:
        raise IdentityStatusError(
            f"the identity is {record.status} and not qualified (QUAL): the INS may not "
            "be used in a document, and no local identifier (IPP) was given instead"
        )
    ids.extend(document.patient.local_ids)
    return tuple(ids)


def _check_body(document: ClinicalDocument) -> None:
    body = document.body
    if body.media_type not in codes.LEVEL1_MEDIA_TYPES:
        raise InputError(
            f"media type {body.media_type!r} is not allowed in a CI-SIS level-1 body; "
            f"allowed: {', '.join(codes.LEVEL1_MEDIA_TYPES)}"
        )
    if not body.content:
        raise InputError("the document body is empty")
    magic = _MAGIC.get(body.media_type)
    if magic and not body.content.startswith(magic):
        raise InputError(f"the body does not look like {body.media_type} (wrong file signature)")


def _authors(w: _Writer, root: etree._Element, authors: Iterable[Author]) -> None:
    for author in authors:
        node = w.el(root, "author")
        w.ts(node, "time", author.time)
        assigned = w.el(node, "assignedAuthor")
        if author.professional is not None:
            w.ii(assigned, author.professional.id)
            w.code(assigned, author.professional.profession)
            person = w.el(assigned, "assignedPerson")
            w.person_name(person, author.professional.name)
        else:
            device = author.device
            assert device is not None  # guaranteed by Author.__post_init__
            w.ii(assigned, device.id)
            role = device.role or Code(
                "LOGICIEL_DUI",
                codes.NON_PS_AUTHOR_ROLE,
                "Logiciel de Dossier Usager Informatisé",
            )
            w.code(assigned, role)
            authoring = w.el(assigned, "assignedAuthoringDevice")
            w.el(authoring, "manufacturerModelName", device.manufacturer_model_name)
            w.el(authoring, "softwareName", device.software_name)
        w.organization(assigned, "representedOrganization", author.organization)


def build_element(document: ClinicalDocument) -> etree._Element:
    """The ``ClinicalDocument`` element of ``document`` (see :func:`build_document`)."""
    _check_body(document)
    patient_ids = _patient_ids(document)
    record = document.patient.identity
    traits = record.traits
    w = _Writer()
    root = etree.Element(f"{{{HL7_NS}}}ClinicalDocument", nsmap=_NSMAP)  # type: ignore[arg-type]
    w.el(root, "realmCode", code="FR")
    w.el(root, "typeId", root="2.16.840.1.113883.1.3", extension="POCD_HD000040")
    template_ids = (codes.TEMPLATE_HL7_FRANCE, codes.TEMPLATE_CISIS)
    for template in dict.fromkeys(template_ids + document.document_type.template_ids):
        w.el(root, "templateId", root=template)
    w.ii(root, document.id)
    w.code(root, document.document_type.code)
    w.el(root, "title", document.display_title)
    w.ts(root, "effectiveTime", document.effective_time)
    w.code(root, document.confidentiality, "confidentialityCode")
    w.el(root, "languageCode", code=document.language)
    w.ii(root, document.set_id, "setId")
    w.el(root, "versionNumber", value=str(document.version))

    # recordTarget: with the INS, the strict identity traits are mandatory (RNIV / CI-SIS).
    role = w.el(w.el(root, "recordTarget"), "patientRole")
    for ident in patient_ids:
        w.ii(role, ident)
    patient = w.el(role, "patient", classCode="PSN")
    name = w.el(patient, "name")
    w.el(name, "family", traits.birth_name, qualifier="BR")
    w.el(name, "given", traits.first_names_text)
    w.el(name, "given", traits.first_name, qualifier="BR")
    if traits.used_name:
        w.el(name, "family", traits.used_name, qualifier="CL")
    if traits.used_first_name:
        w.el(name, "given", traits.used_first_name, qualifier="CL")
    w.el(
        patient,
        "administrativeGenderCode",
        code=traits.sex.value,
        displayName="Masculin" if traits.sex.value == "M" else "Féminin",
        codeSystem=codes.ADMINISTRATIVE_GENDER,
    )
    w.el(patient, "birthTime", value=_birth_ts(traits.birth_date))
    if traits.birth_place is not None:
        place = w.el(w.el(patient, "birthplace"), "place")
        w.el(w.el(place, "addr"), "county", traits.birth_place)

    _authors(w, root, document.authors)

    custodian = w.el(w.el(root, "custodian"), "assignedCustodian")
    w.organization(custodian, "representedCustodianOrganization", document.custodian)

    legal = w.el(root, "legalAuthenticator")
    w.ts(legal, "time", document.legal_authenticator.time)
    w.el(legal, "signatureCode", code="S")
    w.professional_entity(
        legal, "assignedEntity", document.legal_authenticator.professional, with_code=False
    )

    event = w.el(w.el(root, "documentationOf"), "serviceEvent")
    if document.service_event.code is not None:
        w.code(event, document.service_event.code)
    w.interval(event, document.service_event.start, document.service_event.end)
    performer = w.el(event, "performer", typeCode="PRF")
    entity = w.el(performer, "assignedEntity")
    w.ii(entity, document.service_event.performer.id)
    w.code(entity, document.service_event.performer.profession)
    w.person_name(w.el(entity, "assignedPerson"), document.service_event.performer.name)
    org = w.organization(entity, "representedOrganization", document.service_event.organization)
    w.code(org, document.service_event.practice_setting, "standardIndustryClassCode")

    # CDA order: documentationOf, relatedDocument, authorization, componentOf, component.
    if document.replaces is not None:
        related = w.el(root, "relatedDocument", typeCode="RPLC")
        parent = w.el(related, "parentDocument")
        # Only id and versionNumber: StrucMin (CI-SISRelatedDocument) flags a setId here.
        w.ii(parent, document.replaces.id)
        if document.replaces.version is not None:
            w.el(parent, "versionNumber", value=str(document.replaces.version))

    encounter = w.el(w.el(root, "componentOf"), "encompassingEncounter")
    w.interval(encounter, document.encounter.start, document.encounter.end)
    facility = w.el(w.el(encounter, "location"), "healthCareFacility")
    if document.encounter.facility is not None:
        w.ii(facility, document.encounter.facility.id)
    w.code(facility, document.encounter.facility_type)

    body = w.el(w.el(root, "component"), "nonXMLBody")
    text = w.el(body, "text", mediaType=document.body.media_type, representation="B64")
    # lxml takes the ASCII bytes as they are: no intermediate str copy of a large body.
    text.text = base64.b64encode(document.body.content)  # type: ignore[assignment]
    return root


def build_document(document: ClinicalDocument) -> bytes:
    """Serialise ``document`` to CDA R2 XML bytes (UTF-8, with XML declaration).

    Raises :class:`~segurlink.errors.IdentityStatusError` when the patient identity is
    not qualified and no local identifier is given, and
    :class:`~segurlink.errors.InputError` for a body the CI-SIS does not allow or a
    timestamp without time zone.
    """
    root = build_element(document)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
