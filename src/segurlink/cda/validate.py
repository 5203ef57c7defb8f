"""Validate a CDA document in three layers, and read its header facts.

1. ``rules``: segurlink's own header rules (CI-SIS structuration minimale + document
   core), in Python/XPath, always available;
2. ``xsd``: ``CDA_extended.xsd`` of the kit;
3. ``schematron``: the kit's ANS schematrons (see :mod:`segurlink.cda._schematron`),
   chosen from the document's templateIds or named explicitly.

>>> report = validate(b'<ClinicalDocument xmlns="urn:hl7-org:v3"/>', layers=["rules"])
>>> report.ok, [i.rule for i in report.errors][:3]
(False, ['segurlink:realm', 'segurlink:type-id', 'segurlink:template-id'])
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import os
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lxml import etree

from .._ascii import is_ascii_digits
from .._xml import parse_xml
from ..config import Settings, resolve_path
from ..errors import ConfigurationError, InputError, Issue, ValidationError
from ..identity import Ins
from . import codes
from .models import (
    CdaHeader,
    ClinicalDocument,
    Code,
    InstanceId,
    Organization,
    ParentDocument,
    ParticipantFacts,
    PatientFacts,
    PersonName,
)

__all__ = [
    "CdaIssue",
    "CdaSettings",
    "ValidationReport",
    "Validator",
    "check_header",
    "parse_header",
    "parse_ts",
    "validate",
]

HL7 = "urn:hl7-org:v3"
NS = {"h": HL7}
Layer = Literal["rules", "xsd", "schematron"]
ALL_LAYERS: tuple[Layer, ...] = ("rules", "xsd", "schematron")


@dataclass(frozen=True, slots=True)
class CdaIssue(Issue):
    """A validation finding with the layer that found it (``rules``, ``xsd``, ``schematron``).

    ``severity`` is ``error``, ``warning`` or ``info``; ``location`` an XPath;
    ``rule`` the rule id (``segurlink:...``, ``xsd:...`` or ``<schematron>#<id>``).
    """

    layer: str = ""


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """The findings of :func:`validate`; ``ok`` when none is an error."""

    issues: tuple[CdaIssue, ...]
    layers: tuple[str, ...] = ()
    schematrons: tuple[str, ...] = ()

    @property
    def errors(self) -> tuple[CdaIssue, ...]:
        return tuple(i for i in self.issues if i.severity == "error")

    @property
    def warnings(self) -> tuple[CdaIssue, ...]:
        return tuple(i for i in self.issues if i.severity == "warning")

    @property
    def ok(self) -> bool:
        return not self.errors

    def raise_for_errors(self) -> None:
        """Raise :class:`~segurlink.errors.ValidationError` carrying the errors, if any."""
        if self.errors:
            first = self.errors[0]
            raise ValidationError(
                f"the CDA document has {len(self.errors)} error(s); first: "
                f"[{first.layer}] {first.rule}: {first.message}",
                self.errors,
            )


@dataclass(frozen=True, slots=True)
class CdaSettings:
    """Where the CI-SIS kit is and where compiled schematrons are cached.

    ``kit`` may be ``None``: then only the ``rules`` layer runs.
    """

    kit: Path | None = None
    cache_dir: Path = field(
        default_factory=lambda: Path("~/.cache/segurlink/schematron").expanduser()
    )

    @classmethod
    def from_settings(cls, settings: Settings) -> CdaSettings:
        """From the ``[cda]`` table of :class:`segurlink.config.Settings` (``kit``,
        ``cache_dir``)."""
        section: Mapping[str, Any] = settings.section("cda")
        base: Path | None = settings.base_dir
        return cls._from_values(section.get("kit"), section.get("cache_dir"), base)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CdaSettings:
        """From ``SEGURLINK_CISIS_KIT`` (or ``SEGURLINK_CDA__KIT``) and
        ``SEGURLINK_CDA__CACHE_DIR``."""
        environ = os.environ if environ is None else environ
        kit = environ.get("SEGURLINK_CISIS_KIT") or environ.get("SEGURLINK_CDA__KIT")
        return cls._from_values(kit, environ.get("SEGURLINK_CDA__CACHE_DIR"), None)

    @classmethod
    def _from_values(cls, kit: Any, cache_dir: Any, base: Path | None) -> CdaSettings:
        def path(value: Any) -> Path:
            return resolve_path(value, base)

        if kit and not path(kit).is_dir():
            raise ConfigurationError(f"cda kit directory not found: {path(kit)}")
        if cache_dir:
            return cls(kit=path(kit) if kit else None, cache_dir=path(cache_dir))
        return cls(kit=path(kit) if kit else None)


# -- helpers --------------------------------------------------------------------------------


def _xpath_of(element: etree._Element) -> str:
    """A readable XPath: ``/ClinicalDocument/recordTarget[1]/patientRole[1]/id[1]``."""
    parts: list[str] = []
    node: etree._Element | None = element
    while node is not None:
        name = etree.QName(node).localname
        parent = node.getparent()
        if parent is None:
            parts.append(name)
        else:
            same = [c for c in parent if c.tag == node.tag]
            parts.append(f"{name}[{same.index(node) + 1}]")
        node = parent
    return "/" + "/".join(reversed(parts))


# [0-9], never \d: a CDA timestamp, OID or code is ASCII (\d matches "４" too, and int()
# reads it as 4).
_TS = re.compile(
    r"(?P<y>[0-9]{4})(?P<mo>[0-9]{2})?(?P<d>[0-9]{2})?(?P<h>[0-9]{2})?(?P<mi>[0-9]{2})?"
    r"(?P<s>[0-9]{2})?(?:\.[0-9]+)?(?P<tz>[+-][0-9]{4})?"
)


def parse_ts(value: str | None) -> dt.datetime | None:
    """A CDA ``TS`` as a datetime (aware when the value has an offset), or None.

    >>> parse_ts("20240131143000+0100").isoformat()
    '2024-01-31T14:30:00+01:00'
    """
    if not value:
        return None
    match = _TS.fullmatch(value.strip())
    if match is None:
        return None
    g = match.groupdict()
    tz: dt.tzinfo | None = None
    if g["tz"]:
        sign = 1 if g["tz"][0] == "+" else -1
        tz = dt.timezone(sign * dt.timedelta(hours=int(g["tz"][1:3]), minutes=int(g["tz"][3:5])))
    try:
        return dt.datetime(
            int(g["y"]),
            int(g["mo"] or 1),
            int(g["d"] or 1),
            int(g["h"] or 0),
            int(g["mi"] or 0),
            int(g["s"] or 0),
            tzinfo=tz,
        )
    except ValueError:
        return None


def _first(node: etree._Element, path: str) -> etree._Element | None:
    found = node.xpath(path, namespaces=NS)
    if isinstance(found, list) and found and isinstance(found[0], etree._Element):
        return found[0]
    return None


def _all(node: etree._Element, path: str) -> list[etree._Element]:
    found = node.xpath(path, namespaces=NS)
    return [f for f in found if isinstance(f, etree._Element)] if isinstance(found, list) else []


def _text(node: etree._Element | None) -> str | None:
    if node is None or node.text is None:
        return None
    return " ".join(node.text.split()) or None


def _ii(node: etree._Element | None) -> InstanceId | None:
    if node is None or not node.get("root"):
        return None
    try:
        return InstanceId(node.get("root", ""), node.get("extension") or None)
    except InputError:
        return None


def _code(node: etree._Element | None) -> Code | None:
    if node is None or not node.get("code") or not node.get("codeSystem"):
        return None
    return Code(
        node.get("code", ""),
        node.get("codeSystem", ""),
        node.get("displayName", ""),
        node.get("codeSystemName", ""),
    )


# -- layer 1: segurlink's own header rules --------------------------------------------------

#: The order of the ClinicalDocument children in the CDA R2 schema (POCD_MT000040).
_HEADER_ORDER = {
    name: rank
    for rank, name in enumerate(
        (
            "realmCode", "typeId", "templateId", "id", "code", "title", "effectiveTime",
            "confidentialityCode", "languageCode", "setId", "versionNumber", "copyTime",
            "recordTarget", "author", "dataEnterer", "informant", "custodian",
            "informationRecipient", "legalAuthenticator", "authenticator", "participant",
            "inFulfillmentOf", "documentationOf", "relatedDocument", "authorization",
            "componentOf", "component",
        )
    )
}  # fmt: skip
_TS_WITH_TZ = re.compile(r"[0-9]{12}([0-9]{2}(\.[0-9]+)?)?[+-][0-9]{4}")
_OID = re.compile(r"[0-2](\.(0|[1-9][0-9]*))+")
_VERSION = re.compile(r"[1-9][0-9]*")
_INS_EXTENSION = re.compile(r"[0-9]{5}([0-9]{2}|2A|2B)[0-9]{8}")
_COG = re.compile(r"[0-9]{5}|2[AB][0-9]{3}")
_TZ_SUFFIX = re.compile(r"[+-][0-9]{4}$")


class _Rules:
    def __init__(self, root: etree._Element) -> None:
        self.root = root
        self.issues: list[CdaIssue] = []

    def add(self, rule: str, message: str, node: etree._Element, severity: str = "error") -> None:
        location = _xpath_of(node)
        self.issues.append(CdaIssue(severity, message, location, f"segurlink:{rule}", "rules"))

    def require(
        self, node: etree._Element, path: str, rule: str, what: str
    ) -> etree._Element | None:
        found = _first(node, path)
        if found is None:
            self.add(rule, f"{what} is missing ({path})", node)
        return found

    def ts_with_tz(self, node: etree._Element | None, rule: str, what: str) -> None:
        if node is None:
            return
        value = node.get("value", "")
        if not _TS_WITH_TZ.fullmatch(value):
            self.add(
                rule,
                f"{what} must be a timestamp to the minute at least with a time zone offset "
                f"(e.g. 20240131143000+0100), got {value!r}",
                node,
            )

    def _interval_time_zone(self, interval: etree._Element | None) -> None:
        # A warning only: the kit's own level-1 example has an encounter time without offset.
        if interval is None:
            return
        for node in (interval, *_all(interval, "h:low|h:high")):
            value = node.get("value", "")
            if len(value) > 8 and not _TZ_SUFFIX.search(value):
                self.add(
                    "context-time-zone",
                    f"a time of day needs its time zone offset (e.g. +0100), got {value!r}",
                    node,
                    "warning",
                )

    def run(self) -> list[CdaIssue]:
        root = self.root
        if root.tag != f"{{{HL7}}}ClinicalDocument":
            self.add("root", "the root element is not {urn:hl7-org:v3}ClinicalDocument", root)
            return self.issues
        self.order(root)
        self.header(root)
        self.patient(root)
        self.participants(root)
        self.context(root)
        self.body(root)
        return self.issues

    def order(self, root: etree._Element) -> None:
        # Without the kit's XSD too: a header out of order is refused by every CDA schema.
        highest, highest_name = -1, ""
        for child in root:
            if not isinstance(child.tag, str) or etree.QName(child).namespace != HL7:
                continue
            name = etree.QName(child).localname
            rank = _HEADER_ORDER.get(name)
            if rank is None:
                continue
            if rank < highest:
                self.add(
                    "header-order", f"{name} must come before {highest_name} (CDA R2 order)", child
                )
            elif rank > highest:
                highest, highest_name = rank, name

    def header(self, root: etree._Element) -> None:
        realm = self.require(root, "h:realmCode", "realm", "realmCode")
        if realm is not None and realm.get("code") != "FR":
            self.add("realm", "realmCode must be FR", realm)
        type_id = self.require(root, "h:typeId", "type-id", "typeId")
        if type_id is not None and (
            type_id.get("root") != "2.16.840.1.113883.1.3"
            or type_id.get("extension") != "POCD_HD000040"
        ):
            self.add("type-id", "typeId must be 2.16.840.1.113883.1.3 / POCD_HD000040", type_id)
        templates = [t.get("root", "") for t in _all(root, "h:templateId")]
        for required in (codes.TEMPLATE_HL7_FRANCE, codes.TEMPLATE_CISIS):
            if required not in templates:
                self.add("template-id", f"templateId {required} is missing", root)
        level1 = _first(root, "h:component/h:nonXMLBody") is not None
        if level1 and codes.TEMPLATE_XDS_SD not in templates:
            self.add(
                "template-id",
                f"an unstructured (nonXMLBody) document declares templateId "
                f"{codes.TEMPLATE_XDS_SD}",
                root,
            )
        doc_id = self.require(root, "h:id", "id", "document id")
        if doc_id is not None and not _OID.fullmatch(doc_id.get("root", "")):
            self.add("id", "the document id root must be an OID", doc_id)
        code = self.require(root, "h:code", "type-code", "document type code")
        if code is not None:
            if code.get("codeSystem") not in (codes.LOINC, codes.TRE_A05):
                self.add(
                    "type-code",
                    f"the document type code system must be LOINC ({codes.LOINC}) or "
                    f"TRE_A05 ({codes.TRE_A05}), got {code.get('codeSystem')!r}",
                    code,
                )
            if not code.get("code"):
                self.add("type-code", "the document type code has no @code", code)
        title = self.require(root, "h:title", "title", "title")
        if title is not None and not _text(title):
            self.add("title", "the title is empty", title)
        effective = self.require(root, "h:effectiveTime", "effective-time", "effectiveTime")
        self.ts_with_tz(effective, "effective-time", "effectiveTime")
        conf = self.require(root, "h:confidentialityCode", "confidentiality", "confidentialityCode")
        if conf is not None and (
            conf.get("code") not in codes.CONFIDENTIALITY_CODES
            or conf.get("codeSystem") != codes.CONFIDENTIALITY
        ):
            self.add(
                "confidentiality",
                f"confidentialityCode must be N, R or V in {codes.CONFIDENTIALITY}",
                conf,
            )
        lang = self.require(root, "h:languageCode", "language", "languageCode")
        if lang is not None and lang.get("code") != "fr-FR":
            self.add("language", "languageCode must be fr-FR", lang)
        set_id = self.require(root, "h:setId", "set-id", "setId")
        if set_id is not None and not _OID.fullmatch(set_id.get("root", "")):
            self.add("set-id", "the setId root must be an OID", set_id)
        version = self.require(root, "h:versionNumber", "version", "versionNumber")
        if version is not None and not _VERSION.fullmatch(version.get("value", "")):
            self.add("version", "versionNumber must be a positive integer", version)
        related_documents = _all(root, "h:relatedDocument")
        if len(related_documents) > 1:
            self.add("replacement", "a document replaces at most one document", root)
        related = related_documents[0] if related_documents else None
        if related is not None:
            if related.get("typeCode") != "RPLC":
                self.add(
                    "replacement",
                    "relatedDocument/@typeCode must be RPLC (the only relation of the CI-SIS)",
                    related,
                )
            parent_id = self.require(related, "h:parentDocument/h:id", "replacement", "parent id")
            for child in _all(related, "h:parentDocument/*"):
                if etree.QName(child).localname not in ("id", "versionNumber"):
                    # StrucMin CI-SISRelatedDocument: parentDocument holds id and versionNumber.
                    self.add(
                        "replacement",
                        f"parentDocument holds only id and versionNumber, not "
                        f"{etree.QName(child).localname}",
                        child,
                    )
            if related.get("typeCode") == "RPLC" and version is not None:
                if version.get("value") == "1":
                    self.add("replacement", "a replacement (RPLC) has a version above 1", version)
                parent_set = _first(related, "h:parentDocument/h:setId")
                if (
                    parent_set is not None
                    and set_id is not None
                    and (_ii(parent_set) != _ii(set_id))
                ):
                    self.add("replacement", "a replacement keeps the setId of its parent", set_id)
                if parent_id is not None and doc_id is not None and _ii(parent_id) == _ii(doc_id):
                    self.add("replacement", "a replacement has a new id", doc_id)

    def patient(self, root: etree._Element) -> None:
        role = self.require(root, "h:recordTarget/h:patientRole", "patient", "patientRole")
        if role is None:
            return
        ids = _all(role, "h:id")
        if not ids:
            self.add("patient-id", "patientRole has no id", role)
        for ident in ids:
            if not ident.get("root") and ident.get("nullFlavor") is None:
                self.add(
                    "patient-id", "a patient identifier has no root (OID of its authority)", ident
                )
        ins_ids = [i for i in ids if i.get("root") in codes.INS_OIDS]
        for ins_id in ins_ids:
            if not _INS_EXTENSION.fullmatch(ins_id.get("extension", "")):
                self.add(
                    "patient-ins", "an INS extension is 15 characters (matricule + key)", ins_id
                )
        patient = self.require(role, "h:patient", "patient", "patient")
        if patient is None:
            return
        if ins_ids:
            # With an INS, the strict identity traits are mandatory (RNIV, structuration min.).
            for path, what in (
                ("h:name/h:family[@qualifier='BR']", "birth name (family qualifier BR)"),
                ("h:name/h:given[@qualifier='BR']", "first birth first name (given BR)"),
                ("h:name/h:given[not(@qualifier)]", "birth first names (given)"),
                ("h:birthTime", "birthTime"),
                ("h:birthplace/h:place/h:addr/h:county", "birth place COG (county)"),
                ("h:administrativeGenderCode", "administrativeGenderCode"),
            ):
                if _first(patient, path) is None:
                    self.add(
                        "patient-traits", f"a patient identified by INS needs the {what}", patient
                    )
        for family in _all(patient, "h:name/h:family[@qualifier]"):
            if family.get("qualifier") not in ("BR", "CL"):
                self.add(
                    "patient-name",
                    "a patient family name is qualified BR (birth) or CL (used name, RNIV)",
                    family,
                )
        gender = _first(patient, "h:administrativeGenderCode")
        if gender is not None and gender.get("nullFlavor") is None:
            if gender.get("codeSystem") != codes.ADMINISTRATIVE_GENDER:
                self.add(
                    "patient-sex",
                    f"administrativeGenderCode code system must be {codes.ADMINISTRATIVE_GENDER}",
                    gender,
                )
            if gender.get("code") not in ("M", "F", "U"):
                self.add("patient-sex", "administrativeGenderCode must be M, F or U", gender)
        county = _first(patient, "h:birthplace/h:place/h:addr/h:county")
        if county is not None and not _COG.fullmatch(_text(county) or ""):
            self.add(
                "patient-birth-place", "the birth place is a 5-character INSEE COG code", county
            )

    def participants(self, root: etree._Element) -> None:
        authors = _all(root, "h:author")
        if not authors:
            self.add("author", "the document has no author", root)
        for author in authors:
            self.ts_with_tz(
                self.require(author, "h:time", "author", "author time"), "author", "author/time"
            )
            assigned = self.require(author, "h:assignedAuthor", "author", "assignedAuthor")
            if assigned is None:
                continue
            self.require(assigned, "h:id", "author", "assignedAuthor/id")
            if _first(assigned, "h:assignedPerson|h:assignedAuthoringDevice") is None:
                self.add("author", "an author is a person or a software device", assigned)
            for ident in _all(assigned, "h:id[@root='1.2.250.1.71.4.2.1']"):
                if not (ident.get("extension") or "").strip():
                    self.add("author", "a professional id needs its extension (idNat_PS)", ident)
        custodian = self.require(
            root,
            "h:custodian/h:assignedCustodian/h:representedCustodianOrganization/h:id",
            "custodian",
            "custodian organisation id",
        )
        del custodian
        legal = self.require(
            root, "h:legalAuthenticator", "legal-authenticator", "legalAuthenticator"
        )
        if legal is not None:
            self.ts_with_tz(
                self.require(legal, "h:time", "legal-authenticator", "legalAuthenticator/time"),
                "legal-authenticator",
                "legalAuthenticator/time",
            )
            signature = self.require(
                legal, "h:signatureCode", "legal-authenticator", "legalAuthenticator/signatureCode"
            )
            if signature is not None and signature.get("code") != "S":
                self.add("legal-authenticator", "signatureCode must be S", signature)
            self.require(legal, "h:assignedEntity/h:id", "legal-authenticator", "assignedEntity/id")

    def context(self, root: etree._Element) -> None:
        events = _all(root, "h:documentationOf/h:serviceEvent")
        if not events:
            self.add("service-event", "documentationOf/serviceEvent is missing", root)
        if events and not any(_first(e, "h:effectiveTime") is not None for e in events):
            # Several documentationOf are allowed (e.g. imaging acts); one carries the time.
            self.add("service-event", "serviceEvent/effectiveTime is missing", events[0])
        settings: list[etree._Element] = []
        for event in events:
            if len(_all(event, "h:performer")) > 1:
                self.add("service-event", "a serviceEvent has at most one performer", event)
            for sic in _all(event, ".//h:representedOrganization/h:standardIndustryClassCode"):
                settings.append(sic)
                # JDV_J04 takes its codes from TRE_A01 and, for EXP_PATIENT/SNR, TRE_A00.
                if sic.get("codeSystem") not in (codes.PRACTICE_SETTING, codes.NON_PS_AUTHOR_ROLE):
                    self.add(
                        "practice-setting",
                        f"standardIndustryClassCode code system must be {codes.PRACTICE_SETTING}",
                        sic,
                    )
            self._interval_time_zone(_first(event, "h:effectiveTime"))
        if events and not settings:
            self.add(
                "practice-setting",
                "the practice setting (serviceEvent/performer/assignedEntity/"
                "representedOrganization/standardIndustryClassCode, JDV_J04) is missing",
                events[0],
            )
        encounter = self.require(
            root, "h:componentOf/h:encompassingEncounter", "encounter", "encompassingEncounter"
        )
        if encounter is None:
            return
        self._interval_time_zone(
            self.require(
                encounter, "h:effectiveTime", "encounter", "encompassingEncounter/effectiveTime"
            )
        )
        facility = self.require(
            encounter,
            "h:location/h:healthCareFacility/h:code",
            "facility-type",
            "healthCareFacility/code",
        )
        if (
            facility is not None
            and facility.get("nullFlavor") is None
            and facility.get("codeSystem") not in (codes.FACILITY_TYPE, codes.NON_PS_AUTHOR_ROLE)
        ):
            self.add(
                "facility-type",
                f"healthCareFacility/code code system must be {codes.FACILITY_TYPE}",
                facility,
            )

    def body(self, root: etree._Element) -> None:
        text = _first(root, "h:component/h:nonXMLBody/h:text")
        if text is None:
            if _first(root, "h:component/h:structuredBody") is None:
                self.add("body", "the document has neither nonXMLBody nor structuredBody", root)
            return
        media = text.get("mediaType", "")
        if media not in codes.LEVEL1_MEDIA_TYPES:
            self.add(
                "body-media-type",
                f"mediaType {media!r} is not allowed; "
                f"allowed: {', '.join(codes.LEVEL1_MEDIA_TYPES)}",
                text,
            )
        if text.get("representation") != "B64":
            self.add("body-encoding", "a level-1 body is base64 (representation B64)", text)
            return
        try:
            content = base64.b64decode("".join((text.text or "").split()), validate=True)
        except (binascii.Error, ValueError):
            self.add("body-encoding", "the body is not valid base64", text)
            return
        if not content:
            self.add("body-encoding", "the body is empty", text)
        elif media == "application/pdf" and not content.startswith(b"%PDF-"):
            self.add("body-media-type", "the body is not a PDF (no %PDF- signature)", text)


def check_header(root: etree._Element) -> list[CdaIssue]:
    """Layer 1 only: segurlink's header rules on a parsed document."""
    return _Rules(root).run()


# -- layer 2: XSD ---------------------------------------------------------------------------

_XSD_LOCK = threading.Lock()
_XSD_CACHE: dict[Path, etree.XMLSchema] = {}


def _schema(xsd: Path) -> etree.XMLSchema:
    with _XSD_LOCK:
        found = _XSD_CACHE.get(xsd)
        if found is None:
            if not xsd.is_file():
                raise ConfigurationError(f"CDA schema not found: {xsd}")
            try:
                parser = etree.XMLParser(resolve_entities=False, no_network=True)
                found = etree.XMLSchema(etree.parse(str(xsd), parser))
            except (etree.XMLSchemaParseError, etree.XMLSyntaxError, OSError) as exc:
                raise ConfigurationError(f"cannot load {xsd}: {exc}") from exc
            _XSD_CACHE[xsd] = found
        return found


def _xsd_issues(schema: etree.XMLSchema, root: etree._Element) -> list[CdaIssue]:
    with _XSD_LOCK:  # an XMLSchema's error_log is per object: serialise use
        schema.validate(root)
        log = [*schema.error_log]  # type: ignore[misc]
    return [
        CdaIssue(
            "error" if e.level_name in ("ERROR", "FATAL") else "warning",
            e.message,
            e.path or f"line {e.line}",
            f"xsd:{e.type_name}",
            "xsd",
        )
        for e in log
    ]


# -- the validator -----------------------------------------------------------------------------


class Validator:
    """Validates documents against the three layers with one kit and cache.

    Compiled schematrons are cached on disk (``cache_dir``) and loaded once per process.

    >>> Validator(CdaSettings()).validate(b"<ClinicalDocument/>").ok
    False
    """

    def __init__(self, settings: CdaSettings | None = None) -> None:
        self.settings = settings or CdaSettings()
        self._kit: Any = None

    @property
    def kit(self) -> Any:
        from ._schematron import Kit

        if self._kit is None:
            if self.settings.kit is None:
                raise ConfigurationError(
                    "no CI-SIS kit configured: set SEGURLINK_CISIS_KIT, [cda] kit, or --kit"
                )
            self._kit = Kit(self.settings.kit)
        return self._kit

    def validate(
        self,
        document: bytes | str | ClinicalDocument | etree._Element,
        *,
        layers: Sequence[Layer] | None = None,
        schematrons: Sequence[str] | None = None,
    ) -> ValidationReport:
        """Validate ``document`` (XML bytes, a parsed element or a model to build).

        ``layers`` defaults to all three when a kit is configured, else ``rules`` only.
        ``schematrons`` names the schematrons to run (file name, stem or path under the
        kit's ``schematrons/``) instead of choosing them from the templateIds.
        """
        root = _as_element(document)
        if layers is None:
            layers = ALL_LAYERS if self.settings.kit is not None else ("rules",)
        issues: list[CdaIssue] = []
        run_names: list[str] = []
        if "rules" in layers:
            issues.extend(check_header(root))
        if "xsd" in layers:
            issues.extend(_xsd_issues(_schema(self.kit.xsd), root))
        if "schematron" in layers:
            from ._schematron import CompiledSchematron, prepare

            kit = self.kit
            if schematrons:
                paths = [kit.schematron(name) for name in schematrons]
            else:
                template_ids = tuple(t.get("root", "") for t in _all(root, "h:templateId"))
                paths = kit.schematrons_for(template_ids)
            compiled = [
                CompiledSchematron.load(kit, path, self.settings.cache_dir) for path in paths
            ]
            # Parsed by Saxon once for all the schematrons (lxml's tree is not Saxon's).
            prepared = prepare(etree.tostring(root, encoding="unicode"), root)
            for path, schematron in zip(paths, compiled, strict=True):
                run_names.append(path.name)
                issues.extend(
                    CdaIssue(f.severity, f.message, f.location, f.rule, "schematron")
                    for f in schematron.run(prepared)
                )
        return ValidationReport(tuple(issues), tuple(layers), tuple(run_names))


def _as_element(document: bytes | str | ClinicalDocument | etree._Element) -> etree._Element:
    if isinstance(document, ClinicalDocument):
        from .build import build_element

        return build_element(document)
    if isinstance(document, etree._Element):
        return document
    if isinstance(document, (bytes, str)):
        return parse_xml(document, what="CDA document")
    raise InputError(f"cannot validate a {type(document).__name__}")


def validate(
    document: bytes | str | ClinicalDocument | etree._Element,
    *,
    settings: CdaSettings | None = None,
    layers: Sequence[Layer] | None = None,
    schematrons: Sequence[str] | None = None,
) -> ValidationReport:
    """Validate a CDA document; see :meth:`Validator.validate`.

    Without ``settings`` the kit comes from ``SEGURLINK_CISIS_KIT`` when set.
    """
    return Validator(settings or CdaSettings.from_env()).validate(
        document, layers=layers, schematrons=schematrons
    )


# -- header facts -----------------------------------------------------------------------------


def _organization(node: etree._Element | None) -> Organization | None:
    if node is None:
        return None
    ident = _ii(_first(node, "h:id"))
    if ident is None:
        return None
    return Organization(ident, _text(_first(node, "h:name")) or "")


def _person_name(node: etree._Element | None) -> PersonName | None:
    if node is None:
        return None
    return PersonName(
        family=" ".join(filter(None, (_text(f) for f in _all(node, "h:family")))),
        given=tuple(filter(None, (_text(g) for g in _all(node, "h:given")))),
        prefix=_text(_first(node, "h:prefix")) or "",
        suffix=_text(_first(node, "h:suffix")) or "",
    )


def _participant(node: etree._Element, entity_path: str) -> ParticipantFacts:
    entity = _first(node, entity_path)
    time = _first(node, "h:time")
    if entity is None:
        return ParticipantFacts(time=parse_ts(time.get("value") if time is not None else None))
    return ParticipantFacts(
        time=parse_ts(time.get("value") if time is not None else None),
        id=_ii(_first(entity, "h:id")),
        role=_code(_first(entity, "h:code")),
        name=_person_name(_first(entity, "h:assignedPerson/h:name")),
        software_name=_text(_first(entity, "h:assignedAuthoringDevice/h:softwareName")),
        organization=_organization(_first(entity, "h:representedOrganization")),
    )


def _patient(root: etree._Element) -> PatientFacts:
    role = _first(root, "h:recordTarget/h:patientRole")
    if role is None:
        return PatientFacts()
    ids = tuple(i for i in (_ii(n) for n in _all(role, "h:id")) if i is not None)
    ins: Ins | None = None
    for ident in ids:
        if ident.root in codes.INS_OIDS and ident.extension and len(ident.extension) == 15:
            try:
                ins = Ins(ident.extension[:13], ident.extension[13:], ident.root)
            except InputError:
                continue
            break
    patient = _first(role, "h:patient")
    if patient is None:
        return PatientFacts(ids=ids, ins=ins)
    name = "h:name/"
    gender = _first(patient, "h:administrativeGenderCode")
    birth = _first(patient, "h:birthTime")
    first_names = _text(_first(patient, name + "h:given[not(@qualifier)]"))
    return PatientFacts(
        ids=ids,
        ins=ins,
        birth_name=_text(_first(patient, name + "h:family[@qualifier='BR']")),
        first_name=_text(_first(patient, name + "h:given[@qualifier='BR']")),
        first_names=tuple(first_names.split()) if first_names else (),
        used_name=_text(_first(patient, name + "h:family[@qualifier='CL']")),
        used_first_name=_text(_first(patient, name + "h:given[@qualifier='CL']")),
        sex=gender.get("code") if gender is not None else None,
        birth_date=birth.get("value") if birth is not None else None,
        birth_place=_text(_first(patient, "h:birthplace/h:place/h:addr/h:county")),
    )


def parse_header(document: bytes | str | etree._Element) -> CdaHeader:
    """The header facts of any CDA R2 document (level 1 or structured).

    Raises :class:`~segurlink.errors.InputError` when the document has no usable id.

    >>> header = parse_header(b'''<ClinicalDocument xmlns="urn:hl7-org:v3">
    ...   <id root="1.2.250.1.213.1.1.9" extension="D1"/>
    ...   <code code="11488-4" codeSystem="2.16.840.1.113883.6.1"/>
    ...   <setId root="1.2.250.1.213.1.1.9" extension="S1"/><versionNumber value="2"/>
    ... </ClinicalDocument>''')
    >>> header.type_code.code, header.version, header.id.extension
    ('11488-4', 2, 'D1')
    """
    root = document if isinstance(document, etree._Element) else parse_xml(document, what="CDA")
    if root.tag != f"{{{HL7}}}ClinicalDocument":
        raise InputError("not a CDA document: the root is not {urn:hl7-org:v3}ClinicalDocument")
    doc_id = _ii(_first(root, "h:id"))
    if doc_id is None:
        raise InputError("the CDA document has no id")
    version = _first(root, "h:versionNumber")
    version_value = version.get("value", "") if version is not None else ""
    effective = _first(root, "h:effectiveTime")
    event_time = _first(root, "h:documentationOf/h:serviceEvent/h:effectiveTime")
    low = _first(event_time, "h:low") if event_time is not None else None
    high = _first(event_time, "h:high") if event_time is not None else None
    related = _first(root, "h:relatedDocument")
    parent: ParentDocument | None = None
    if related is not None:
        parent_id = _ii(_first(related, "h:parentDocument/h:id"))
        if parent_id is not None:
            parent_version = _first(related, "h:parentDocument/h:versionNumber")
            value = parent_version.get("value", "") if parent_version is not None else ""
            parent = ParentDocument(
                parent_id,
                _ii(_first(related, "h:parentDocument/h:setId")),
                int(value) if is_ascii_digits(value) else None,
            )
    legal = _first(root, "h:legalAuthenticator")
    language = _first(root, "h:languageCode")
    body_text = _first(root, "h:component/h:nonXMLBody/h:text")
    facility = _first(root, "h:componentOf/h:encompassingEncounter/h:location/h:healthCareFacility")
    return CdaHeader(
        id=doc_id,
        set_id=_ii(_first(root, "h:setId")),
        version=int(version_value) if is_ascii_digits(version_value) else None,
        type_code=_code(_first(root, "h:code")),
        title=_text(_first(root, "h:title")) or "",
        effective_time=parse_ts(effective.get("value") if effective is not None else None),
        confidentiality=_code(_first(root, "h:confidentialityCode")),
        language=language.get("code") if language is not None else None,
        template_ids=tuple(t.get("root", "") for t in _all(root, "h:templateId")),
        patient=_patient(root),
        authors=tuple(_participant(a, "h:assignedAuthor") for a in _all(root, "h:author")),
        custodian=_organization(
            _first(root, "h:custodian/h:assignedCustodian/h:representedCustodianOrganization")
        ),
        legal_authenticator=_participant(legal, "h:assignedEntity") if legal is not None else None,
        service_start=parse_ts(low.get("value") if low is not None else None),
        service_stop=parse_ts(high.get("value") if high is not None else None),
        practice_setting=_code(
            _first(
                root,
                "h:documentationOf/h:serviceEvent/h:performer/h:assignedEntity/"
                "h:representedOrganization/h:standardIndustryClassCode",
            )
        ),
        facility_type=_code(_first(facility, "h:code")) if facility is not None else None,
        facility=_organization(facility),
        media_type=body_text.get("mediaType") if body_text is not None else None,
        parent_document=parent,
        relation=related.get("typeCode") if related is not None else None,
    )


#: The former name of :func:`parse_header` (parsers are named ``parse_*``).
read_header = parse_header
