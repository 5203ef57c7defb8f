"""XDS metadata (SubmissionSet, DocumentEntry, associations) derived from a CDA header.

Pure: no clock, no random, no I/O — times and ids are arguments. The same functions
build the DMP's ITI-41 ``RegistryObjectList`` and the ``METADATA.XML`` of an MSSanté XDM
archive (:func:`submit_objects_request`).

>>> patient_id_value("275126322074974", "1.2.250.1.213.1.4.8")
'275126322074974^^^&1.2.250.1.213.1.4.8&ISO^NH'
>>> xon("EHPAD", "1010000016")
'EHPAD^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^1010000016'
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from lxml import etree

from ..cda import codes as cda_codes
from ..cda.models import CdaHeader, Code, InstanceId, ParticipantFacts
from ..errors import InputError, Issue, ValidationError
from .models import CONTENT_TYPE_SYSTEMS, utc_timestamp

__all__ = [
    "CLASS_CODES",
    "CLASS_CODE_SYSTEM",
    "CONFIDENTIALITY_DMP",
    "FORMAT_CODES",
    "LCM_NS",
    "RIM_NS",
    "SIGNATURE_CLASS",
    "SIGNATURE_CONFIDENTIALITY",
    "Association",
    "DocumentEntryMetadata",
    "SubmissionSetMetadata",
    "XdsAuthor",
    "check_metadata",
    "class_code_for",
    "document_entry_from_header",
    "patient_id_value",
    "registry_object_list",
    "require_valid_metadata",
    "signature_entry",
    "submission_set_for",
    "submit_objects_request",
    "xcn",
    "xon",
]

RIM_NS = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
LCM_NS = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"

# -- classification schemes (all urn:uuid:) ---------------------------------------------------
SS_NODE = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
SS_AUTHOR = "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d"
SS_CONTENT_TYPE = "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500"
SS_PATIENT_ID = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446"
SS_SOURCE_ID = "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832"
SS_UNIQUE_ID = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"
DE_OBJECT_TYPE = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
DE_AUTHOR = "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d"
DE_CLASS = "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a"
DE_CONFIDENTIALITY = "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f"
DE_EVENT = "urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4"
DE_FORMAT = "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d"
DE_FACILITY = "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1"
DE_PRACTICE = "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead"
DE_TYPE = "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983"
DE_PATIENT_ID = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
DE_UNIQUE_ID = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"

HAS_MEMBER = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
RPLC = "urn:ihe:iti:2007:AssociationType:RPLC"
SIGNS = "urn:ihe:iti:2007:AssociationType:signs"
UPDATE_AVAILABILITY = "urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus"

#: JDV_J57-ClassCode-DMP (TRE_A03-ClasseDocument, ``1.2.250.1.213.1.1.4.1``), version
#: 20230922: every class the DMP uses. The official TD3.1 answer shows 10, 11, 31, 42, 43,
#: 44 and 52 in use; a reader never refuses one of these.
CLASS_CODE_SYSTEM = "1.2.250.1.213.1.1.4.1"
CLASS_CODES: Mapping[str, Code] = MappingProxyType(
    {
        c.code: c
        for c in (
            Code("10", CLASS_CODE_SYSTEM, "Compte rendu"),
            Code("11", CLASS_CODE_SYSTEM, "Synthèse"),
            Code("31", CLASS_CODE_SYSTEM, "Imagerie médicale"),
            Code("42", CLASS_CODE_SYSTEM, "Prescription"),
            Code("43", CLASS_CODE_SYSTEM, "Dispensation"),
            Code("44", CLASS_CODE_SYSTEM, "Plan de soins, protocole de soins"),
            Code("45", CLASS_CODE_SYSTEM, "Traitement administré"),
            Code("52", CLASS_CODE_SYSTEM, "Certificat, déclaration"),
            Code("60", CLASS_CODE_SYSTEM, "Données de remboursement"),
            Code("90", CLASS_CODE_SYSTEM, "Autres documents déposés par le patient"),
            Code("95", CLASS_CODE_SYSTEM, "Document de gestion"),
        )
    }
)
#: The class of the XAdES signature entry (JDV_J57's TRE_A10-NomenclatureURN member).
SIGNATURE_CLASS = Code("urn:oid:1.3.6.1.4.1.19376.1.2.1.1.1", "URN", "Digital Signature")
#: The class code of each catalogued type code (ASS_X04-CorrespondanceType-Classe; the DMP
#: refuses a class that contradicts the type). Types not listed need an explicit
#: ``class_code``. 11488-4, 11490-0 and 34133-9 are held against the official TD3.1 answer.
_CLASS_BY_TYPE: Mapping[str, str] = MappingProxyType(
    {
        "80788-3": "44",  # projet personnalisé d'accompagnement
        "28653-4": "10",
        "34842-5": "10",
        "83981-1": "11",  # lettres de liaison d'une structure médico-sociale
        "88348-8": "11",
        "74207-2": "11",  # DLU
        "78341-5": "10",
        "60280-5": "10",
        "11490-0": "10",  # lettre de liaison à la sortie: "Compte rendu" in the TD3.1 answer
        "11488-4": "10",
        "34133-9": "11",
    }
)

CONFIDENTIALITY_DMP = "1.2.250.1.213.1.1.4.13"
_CONFIDENTIALITY: Mapping[str, Code] = MappingProxyType(
    {
        c.code: c
        for c in (
            Code("N", cda_codes.CONFIDENTIALITY, "Normal"),
            Code("R", cda_codes.CONFIDENTIALITY, "Restreint"),
            Code("V", cda_codes.CONFIDENTIALITY, "Très restreint"),
            Code("MASQUE_PS", CONFIDENTIALITY_DMP, "Masqué aux professionnels de santé"),
            Code("INVISIBLE_PATIENT", CONFIDENTIALITY_DMP, "Non visible par le patient"),
            Code(
                "INVISIBLE_REPRESENTANTS_LEGAUX",
                CONFIDENTIALITY_DMP,
                "Non visible par les représentants légaux du patient",
            ),
        )
    }
)

#: Confidentiality of the Signature01 entry: the signature is hidden from people.
SIGNATURE_CONFIDENTIALITY = ("N", "MASQUE_PS", "INVISIBLE_PATIENT")

_XDS_SD = "1.3.6.1.4.1.19376.1.2.3"
_CISIS_FORMAT = "1.2.250.1.213.1.1.4.2.282"
#: formatCode by level-1 media type.
FORMAT_CODES: Mapping[str, Code] = MappingProxyType(
    {
        "application/pdf": Code(
            "urn:ihe:iti:xds-sd:pdf:2008", _XDS_SD, "Document à corps non structuré en PDF/A-1"
        ),
        "text/plain": Code(
            "urn:ihe:iti:xds-sd:text:2008", _XDS_SD, "Document à corps non structuré en texte brut"
        ),
        "text/rtf": Code(
            "urn:ihe:iti-fr:xds-sd:rtf:2010", _XDS_SD, "Document à corps non structuré en RTF"
        ),
        "image/jpeg": Code(
            "urn:ihe:iti-fr:xds-sd:jpeg:2010", _XDS_SD, "Document à corps non structuré en JPEG"
        ),
        "image/tiff": Code(
            "urn:ihe:iti-fr:xds-sd:tiff:2010", _XDS_SD, "Document à corps non structuré en TIFF"
        ),
    }
)
#: formatCode of structured documents, by CI-SIS model templateId.
_STRUCTURED_FORMATS: Mapping[str, Code] = MappingProxyType(
    {
        "1.2.250.1.213.1.1.1.22": Code("urn:asip:ci-sis:dlu:2015", _CISIS_FORMAT, "DLU"),
        "1.2.250.1.213.1.1.1.13": Code("urn:asip:ci-sis:vsm:2012", _CISIS_FORMAT, "VSM"),
    }
)
_FORMAT_VALUES = frozenset(c.code for c in FORMAT_CODES.values()) | frozenset(
    c.code for c in _STRUCTURED_FORMATS.values()
)

_PRACTICE_SETTINGS = frozenset(
    {"EXP_PATIENT", "SNR", "AMBULATOIRE", "AMO", "DEPISTAGE", "ESSMS", "ETABLISSEMENT"}
    | {"HAD", "MAD", "PALLIATIF", "SAD", "SAMU_SMUR"}
)
_FACILITY_TYPES = frozenset({"EXP_PATIENT", "SNR"}) | frozenset(
    f"SA{n:02d}" for n in range(1, 70) if n not in (11, 62)
)

_PATIENT_ID_SUFFIX = "&ISO^NH"


def patient_id_value(ins_value: str, oid: str) -> str:
    """The XDS patientId of an INS: ``<INS>^^^&<OID>&ISO^NH``."""
    return f"{ins_value}^^^&{oid}{_PATIENT_ID_SUFFIX}"


def xcn(
    national_id: str, family: str = "", given: str = "", *, root: str = cda_codes.RPPS_ROOT
) -> str:
    """An XCN (authorPerson / legalAuthenticator) for a professional or a device."""
    kind = (
        "IDNPS"
        if root == cda_codes.RPPS_ROOT
        else "IDNST"
        if root == cda_codes.STRUCTURE_ROOT
        else "RI"
    )
    return f"{national_id}^{family}^{given}^^^^^^&{root}&ISO^D^^^{kind}"


def xon(name: str, structure_id: str) -> str:
    """An XON (authorInstitution) for a structure national id (``1`` + FINESS)."""
    return f"{name}^^^^^&{cda_codes.STRUCTURE_ROOT}&ISO^IDNST^^^{structure_id}"


def _cx(ident: InstanceId) -> str:
    return f"{ident.extension or ident.root}^^^&{ident.root}&ISO^PI"


@dataclass(frozen=True, slots=True)
class XdsAuthor:
    """One author classification: person (XCN), institutions (XON), specialties."""

    person: str = ""
    institutions: tuple[str, ...] = ()
    specialties: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DocumentEntryMetadata:
    """The metadata of one DocumentEntry (ExtrinsicObject)."""

    entry_id: str
    unique_id: str
    patient_id: str
    mime_type: str
    creation_time: str
    authors: tuple[XdsAuthor, ...]
    class_code: Code
    type_code: Code
    confidentiality: tuple[Code, ...]
    format_code: Code
    facility_type: Code
    practice_setting: Code
    title: str = ""
    comments: str = ""
    language: str = "fr-FR"
    legal_authenticator: str = ""
    service_start: str = ""
    service_stop: str = ""
    source_patient_id: str = ""
    source_patient_info: tuple[str, ...] = field(default=(), repr=False)
    hash: str = ""
    size: int | None = None
    event_codes: tuple[Code, ...] = ()
    lid: str = ""
    repository_id: str = ""
    #: XDM only (ITI-32): the document's file name in the subset folder (``URI`` slot).
    uri: str = ""
    #: XDM only: extra-metadata slots, e.g. ``(("action", ("C",)),)`` for a replacement.
    extra_slots: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def with_confidentiality(self, extra: Iterable[str]) -> DocumentEntryMetadata:
        """This entry with the DMP visibility codes ``extra`` added to the CDA's code."""
        base = tuple(c for c in self.confidentiality if c.code_system != CONFIDENTIALITY_DMP)
        return replace(self, confidentiality=base + tuple(confidentiality_code(c) for c in extra))


@dataclass(frozen=True, slots=True)
class SubmissionSetMetadata:
    """The metadata of the SubmissionSet (RegistryPackage)."""

    unique_id: str
    source_id: str
    submission_time: str
    patient_id: str
    authors: tuple[XdsAuthor, ...]
    content_type: Code
    title: str = ""
    comments: str = ""
    entry_id: str = "SubmissionSet01"


@dataclass(frozen=True, slots=True)
class Association:
    """An ebRIM association with its slots."""

    id: str
    type: str
    source: str
    target: str
    slots: tuple[tuple[str, tuple[str, ...]], ...] = ()


def confidentiality_code(code: str | Code) -> Code:
    """A confidentiality :class:`Code` (``N``, ``MASQUE_PS``...)."""
    if isinstance(code, Code):
        return code
    try:
        return _CONFIDENTIALITY[code]
    except KeyError:
        raise InputError(
            f"unknown confidentiality code {code!r}; known: {', '.join(_CONFIDENTIALITY)}"
        ) from None


def class_code_for(type_code: Code) -> Code:
    """The JDV_J57 class code matching a document type code.

    >>> class_code_for(Code("80788-3", "2.16.840.1.113883.6.1")).code
    '44'
    """
    found = _CLASS_BY_TYPE.get(type_code.code)
    if found is None:
        raise InputError(f"no DMP class code is known for type {type_code.code!r}; pass class_code")
    return CLASS_CODES[found]


def _author(facts: ParticipantFacts) -> XdsAuthor:
    person = ""
    if facts.id is not None:
        ext = facts.id.extension or facts.id.root
        if facts.name is not None:
            person = xcn(ext, facts.name.family, " ".join(facts.name.given), root=facts.id.root)
        else:
            person = xcn(ext, facts.software_name or "", "", root=facts.id.root)
    institutions: tuple[str, ...] = ()
    org = facts.organization
    if org is not None and org.id.extension:
        institutions = (xon(org.name, org.id.extension),)
    specialties: tuple[str, ...] = ()
    if facts.role is not None:
        specialties = (f"{facts.role.code}^{facts.role.display_name}^{facts.role.code_system}",)
    return XdsAuthor(person, institutions, specialties)


def _format_code(header: CdaHeader) -> Code:
    if header.media_type is not None:
        found = FORMAT_CODES.get(header.media_type)
        if found is None:
            raise InputError(f"the DMP accepts no level-1 body of type {header.media_type!r}")
        return found
    for template in header.template_ids:
        if template in _STRUCTURED_FORMATS:
            return _STRUCTURED_FORMATS[template]
    raise InputError("cannot derive the formatCode of this structured document; pass format_code")


def _ts(value: dt.datetime | None) -> str:
    return utc_timestamp(value) if value is not None else ""


def document_entry_from_header(
    header: CdaHeader,
    content: bytes,
    *,
    entry_id: str = "Document01",
    hidden_from: Iterable[str] = (),
    class_code: Code | None = None,
    format_code: Code | None = None,
    practice_setting: Code | None = None,
    comments: str = "",
) -> DocumentEntryMetadata:
    """The DocumentEntry of a CDA document, every value derived from its header.

    ``content`` is the exact bytes sent (its SHA-1 and size go in the metadata).
    ``hidden_from`` adds DMP visibility codes (``MASQUE_PS``...), which exist only in XDS.
    ``practice_setting`` is used only when the header has none (CDA produced elsewhere
    under an older CI-SIS, like the official TD2.1 example).
    Raises :class:`InputError` when the header lacks what the DMP requires.
    """
    patient = header.patient
    if patient.ins is None:
        raise InputError("the CDA has no INS: only a qualified identity can go to the DMP")
    if header.type_code is None:
        raise InputError("the CDA has no document type code")
    if header.effective_time is None:
        raise InputError("the CDA has no effectiveTime")
    practice = header.practice_setting or practice_setting
    if header.facility_type is None or practice is None:
        raise InputError("the CDA lacks its healthcare facility type or practice setting")
    local = next((i for i in patient.ids if i.root not in cda_codes.INS_OIDS), None)
    pid = patient_id_value(patient.ins.value, patient.ins.oid)
    info: list[str] = []
    family = patient.birth_name or ""
    given = patient.first_name or (patient.first_names[0] if patient.first_names else "")
    if family or given:
        info.append(f"PID-5|{family}^{given}^^^^^L")
    if patient.birth_date:
        info.append(f"PID-7|{patient.birth_date[:8]}")
    if patient.sex:
        info.append(f"PID-8|{patient.sex}")
    legal = header.legal_authenticator
    confidentiality = (header.confidentiality or confidentiality_code("N"),)
    entry = DocumentEntryMetadata(
        entry_id=entry_id,
        unique_id=header.id.xds_unique_id,
        patient_id=pid,
        mime_type="text/xml",
        creation_time=_ts(header.effective_time),
        authors=tuple(_author(a) for a in header.authors),
        class_code=class_code or class_code_for(header.type_code),
        type_code=header.type_code,
        confidentiality=confidentiality,
        format_code=format_code or _format_code(header),
        facility_type=header.facility_type,
        practice_setting=practice,
        title=header.title,
        comments=comments,
        language=header.language or "fr-FR",
        legal_authenticator=_author(legal).person if legal is not None else "",
        service_start=_ts(header.service_start),
        service_stop=_ts(header.service_stop),
        source_patient_id=_cx(local) if local is not None else pid,
        source_patient_info=tuple(info),
        hash=hashlib.sha1(content).hexdigest(),  # noqa: S324 - XDS mandates SHA-1
        size=len(content),
    )
    return entry.with_confidentiality(hidden_from) if hidden_from else entry


def submission_set_for(
    documents: Sequence[DocumentEntryMetadata],
    *,
    unique_id: str,
    source_id: str,
    submission_time: dt.datetime,
    content_type: Code,
    title: str = "",
) -> SubmissionSetMetadata:
    """The SubmissionSet carrying ``documents``: same patient, first document's author."""
    if not documents:
        raise InputError("a submission set needs at least one document")
    first = documents[0]
    return SubmissionSetMetadata(
        unique_id=unique_id,
        source_id=source_id,
        submission_time=utc_timestamp(submission_time),
        patient_id=first.patient_id,
        authors=first.authors[:1],
        content_type=content_type,
        title=title or first.title,
    )


def signature_entry(
    submission_set: SubmissionSetMetadata,
    document: DocumentEntryMetadata,
    *,
    unique_id: str,
    content: bytes,
    entry_id: str = "Signature01",
) -> DocumentEntryMetadata:
    """The DocumentEntry of the XAdES signature of the submission set (``Signature01``)."""
    t = submission_set.submission_time
    return DocumentEntryMetadata(
        entry_id=entry_id,
        unique_id=unique_id,
        patient_id=document.patient_id,
        mime_type="text/xml",
        creation_time=t,
        authors=submission_set.authors,
        class_code=SIGNATURE_CLASS,
        type_code=Code("E1762", "ASTM", "Full Document"),
        # Hidden from people, as in the official TD2.1 request and the kit template.
        confidentiality=tuple(confidentiality_code(c) for c in SIGNATURE_CONFIDENTIALITY),
        format_code=Code("http://www.w3.org/2000/09/xmldsig#", "URN", "Default Signature Style"),
        facility_type=document.facility_type,
        practice_setting=document.practice_setting,
        title="Source",
        language="art",
        legal_authenticator=document.legal_authenticator,
        service_start=t,
        service_stop=t,
        source_patient_id=document.patient_id,
        hash=hashlib.sha1(content).hexdigest(),  # noqa: S324 - XDS mandates SHA-1
        size=len(content),
        event_codes=(Code("1.2.840.10065.1.12.1.14", "1.2.840.10065.1.12", "Source"),),
    )


# -- value-set and consistency checks ---------------------------------------------------------


def check_metadata(
    submission_set: SubmissionSetMetadata, documents: Sequence[DocumentEntryMetadata]
) -> tuple[Issue, ...]:
    """Every DMP value-set and consistency rule the metadata breaks (empty when valid)."""
    issues: list[Issue] = []

    def bad(message: str, location: str, rule: str) -> None:
        issues.append(Issue("error", message, location, rule))

    ss_institutions = {i for a in submission_set.authors for i in a.institutions}
    if not ss_institutions:
        bad("the submission set has no authorInstitution", "SubmissionSet", "author")
    if submission_set.content_type.code_system not in CONTENT_TYPE_SYSTEMS:
        bad(
            f"contentTypeCode system {submission_set.content_type.code_system!r} is not one "
            "of JDV_J59 (TRE_A00, TRE_R209, TRE_R02)",
            "SubmissionSet",
            "contentTypeCode",
        )
    for doc in documents:
        where = doc.entry_id
        if doc.patient_id != submission_set.patient_id:
            bad("patientId differs from the submission set's", where, "patientId")
        if not doc.patient_id.endswith(_PATIENT_ID_SUFFIX):
            bad("patientId is not an INS (…^NH)", where, "patientId")
        if (doc.class_code.code, doc.class_code.code_system) == (
            SIGNATURE_CLASS.code,
            SIGNATURE_CLASS.code_system,
        ):  # the Signature01 entry: its own fixed codes
            continue
        if (
            doc.class_code.code_system != CLASS_CODE_SYSTEM
            or doc.class_code.code not in CLASS_CODES
        ):
            bad(f"classCode {doc.class_code.code!r} is not in JDV_J57", where, "classCode")
        expected = _CLASS_BY_TYPE.get(doc.type_code.code)
        if expected is not None and expected != doc.class_code.code:
            bad(
                f"classCode {doc.class_code.code} contradicts typeCode {doc.type_code.code}",
                where,
                "classCode",
            )
        if doc.type_code.code_system not in (cda_codes.LOINC, cda_codes.TRE_A05):
            bad("typeCode is neither LOINC nor TRE_A05", where, "typeCode")
        if doc.format_code.code not in _FORMAT_VALUES:
            bad(f"formatCode {doc.format_code.code!r} is not a DMP format", where, "formatCode")
        if (
            doc.facility_type.code_system != cda_codes.FACILITY_TYPE
            or doc.facility_type.code not in _FACILITY_TYPES
        ):
            bad(
                f"healthcareFacilityTypeCode {doc.facility_type.code!r} is unknown",
                where,
                "healthcareFacilityTypeCode",
            )
        if (
            doc.practice_setting.code_system != cda_codes.PRACTICE_SETTING
            or doc.practice_setting.code not in _PRACTICE_SETTINGS
        ):
            bad(
                f"practiceSettingCode {doc.practice_setting.code!r} is unknown",
                where,
                "practiceSettingCode",
            )
        codes = [c.code for c in doc.confidentiality]
        hl7 = [c for c in doc.confidentiality if c.code_system == cda_codes.CONFIDENTIALITY]
        if len(hl7) != 1:
            bad(
                "exactly one HL7 confidentiality code (N/R/V) is required",
                where,
                "confidentialityCode",
            )
        for c in doc.confidentiality:
            if (
                c.code not in _CONFIDENTIALITY
                or _CONFIDENTIALITY[c.code].code_system != c.code_system
            ):
                bad(f"confidentialityCode {c.code!r} is unknown", where, "confidentialityCode")
        if len(set(codes)) != len(codes):
            bad("a confidentiality code is repeated", where, "confidentialityCode")
        doc_institutions = {i for a in doc.authors for i in a.institutions}
        if doc_institutions != ss_institutions:
            bad(
                "authorInstitution differs between the document and the submission set",
                where,
                "authorInstitution",
            )
        if not doc.creation_time:
            bad("creationTime is missing", where, "creationTime")
    return tuple(issues)


def require_valid_metadata(
    submission_set: SubmissionSetMetadata, documents: Sequence[DocumentEntryMetadata]
) -> None:
    """Raise :class:`ValidationError` listing every broken rule, if any."""
    issues = check_metadata(submission_set, documents)
    if issues:
        raise ValidationError(
            "the XDS metadata break DMP rules: " + "; ".join(i.message for i in issues), issues
        )


# -- ebRIM serialisation ----------------------------------------------------------------------


def _rim(tag: str) -> str:
    return f"{{{RIM_NS}}}{tag}"


class _Ids:
    def __init__(self) -> None:
        self._cla: Iterator[int] = itertools.count(1)
        self._ei: Iterator[int] = itertools.count(1)

    def cla(self) -> str:
        return f"cla{next(self._cla)}"

    def ei(self) -> str:
        return f"ei{next(self._ei)}"


def _slot(parent: etree._Element, name: str, values: Iterable[str]) -> None:
    values = [v for v in values if v != ""]
    if not values:
        return
    slot = etree.SubElement(parent, _rim("Slot"), name=name)
    value_list = etree.SubElement(slot, _rim("ValueList"))
    for v in values:
        etree.SubElement(value_list, _rim("Value")).text = v


def _localized(parent: etree._Element, tag: str, text: str) -> None:
    if not text:
        return
    holder = etree.SubElement(parent, _rim(tag))
    ls = etree.SubElement(holder, _rim("LocalizedString"), charset="UTF8", value=text)
    ls.set("{http://www.w3.org/XML/1998/namespace}lang", "FR")


def _classification(parent: etree._Element, ids: _Ids, scheme: str, obj: str, code: Code) -> None:
    cla = etree.SubElement(
        parent,
        _rim("Classification"),
        classificationScheme=scheme,
        classifiedObject=obj,
        id=ids.cla(),
        nodeRepresentation=code.code,
    )
    _slot(cla, "codingScheme", [code.code_system])
    _localized(cla, "Name", code.display_name or code.code)


def _authors(
    parent: etree._Element, ids: _Ids, scheme: str, obj: str, authors: Iterable[XdsAuthor]
) -> None:
    for author in authors:
        cla = etree.SubElement(
            parent,
            _rim("Classification"),
            classificationScheme=scheme,
            classifiedObject=obj,
            id=ids.cla(),
            nodeRepresentation="",
        )
        _slot(cla, "authorPerson", [author.person])
        _slot(cla, "authorSpecialty", author.specialties)
        _slot(cla, "authorInstitution", author.institutions)


def _external_id(
    parent: etree._Element, ids: _Ids, scheme: str, obj: str, value: str, name: str
) -> None:
    ei = etree.SubElement(
        parent,
        _rim("ExternalIdentifier"),
        id=ids.ei(),
        identificationScheme=scheme,
        registryObject=obj,
        value=value,
    )
    _localized(ei, "Name", name)


def _submission_set(parent: etree._Element, ids: _Ids, ss: SubmissionSetMetadata) -> None:
    obj = ss.entry_id
    pkg = etree.SubElement(parent, _rim("RegistryPackage"), id=obj)
    _slot(pkg, "submissionTime", [ss.submission_time])
    _localized(pkg, "Name", ss.title)
    _localized(pkg, "Description", ss.comments)
    _authors(pkg, ids, SS_AUTHOR, obj, ss.authors)
    _classification(pkg, ids, SS_CONTENT_TYPE, obj, ss.content_type)
    etree.SubElement(
        pkg, _rim("Classification"), classificationNode=SS_NODE, classifiedObject=obj, id=ids.cla()
    )
    _external_id(pkg, ids, SS_PATIENT_ID, obj, ss.patient_id, "XDSSubmissionSet.patientId")
    _external_id(pkg, ids, SS_SOURCE_ID, obj, ss.source_id, "XDSSubmissionSet.sourceId")
    _external_id(pkg, ids, SS_UNIQUE_ID, obj, ss.unique_id, "XDSSubmissionSet.uniqueId")


def document_entry_element(doc: DocumentEntryMetadata, ids: _Ids | None = None) -> etree._Element:
    """The ``rim:ExtrinsicObject`` of one DocumentEntry."""
    ids = ids or _Ids()
    obj = doc.entry_id
    eo = etree.Element(
        _rim("ExtrinsicObject"), id=obj, mimeType=doc.mime_type, objectType=DE_OBJECT_TYPE
    )
    if doc.lid:
        eo.set("lid", doc.lid)
    _slot(eo, "creationTime", [doc.creation_time])
    _slot(eo, "hash", [doc.hash])
    _slot(eo, "languageCode", [doc.language])
    _slot(eo, "legalAuthenticator", [doc.legal_authenticator])
    _slot(eo, "repositoryUniqueId", [doc.repository_id])
    _slot(eo, "serviceStartTime", [doc.service_start])
    _slot(eo, "serviceStopTime", [doc.service_stop])
    _slot(eo, "size", [str(doc.size)] if doc.size is not None else [])
    _slot(eo, "sourcePatientId", [doc.source_patient_id])
    _slot(eo, "sourcePatientInfo", doc.source_patient_info)
    _slot(eo, "URI", [doc.uri])
    for name, values in doc.extra_slots:
        _slot(eo, name, values)
    _localized(eo, "Name", doc.title)
    _localized(eo, "Description", doc.comments)
    _authors(eo, ids, DE_AUTHOR, obj, doc.authors)
    _classification(eo, ids, DE_CLASS, obj, doc.class_code)
    _classification(eo, ids, DE_TYPE, obj, doc.type_code)
    for code in doc.confidentiality:
        _classification(eo, ids, DE_CONFIDENTIALITY, obj, code)
    for code in doc.event_codes:
        _classification(eo, ids, DE_EVENT, obj, code)
    _classification(eo, ids, DE_FORMAT, obj, doc.format_code)
    _classification(eo, ids, DE_FACILITY, obj, doc.facility_type)
    _classification(eo, ids, DE_PRACTICE, obj, doc.practice_setting)
    _external_id(eo, ids, DE_PATIENT_ID, obj, doc.patient_id, "XDSDocumentEntry.patientId")
    _external_id(eo, ids, DE_UNIQUE_ID, obj, doc.unique_id, "XDSDocumentEntry.uniqueId")
    return eo


def _association(parent: etree._Element, assoc: Association) -> None:
    el = etree.SubElement(
        parent,
        _rim("Association"),
        associationType=assoc.type,
        id=assoc.id,
        sourceObject=assoc.source,
        targetObject=assoc.target,
    )
    for name, values in assoc.slots:
        _slot(el, name, values)


def default_associations(
    submission_set: SubmissionSetMetadata,
    documents: Sequence[DocumentEntryMetadata],
    *,
    replaces: Mapping[str, str] | None = None,
    signature_id: str | None = None,
) -> tuple[Association, ...]:
    """HasMember for each document, RPLC for replacements, ``signs`` for the signature.

    ``replaces`` maps a document's ``entry_id`` to the entryUUID it replaces.
    """
    out: list[Association] = []
    counter = itertools.count(1)
    original = (("SubmissionSetStatus", ("Original",)),)
    for doc in documents:
        out.append(
            Association(
                f"assoc{next(counter)}", HAS_MEMBER, submission_set.entry_id, doc.entry_id, original
            )
        )
    for entry_id, old_uuid in (replaces or {}).items():
        out.append(Association(f"assoc{next(counter)}", RPLC, entry_id, old_uuid))
    if signature_id is not None:
        out.append(
            Association(
                f"assoc{next(counter)}", SIGNS, signature_id, submission_set.entry_id, original
            )
        )
    return tuple(out)


def registry_object_list(
    submission_set: SubmissionSetMetadata | None,
    documents: Sequence[DocumentEntryMetadata],
    associations: Sequence[Association],
) -> etree._Element:
    """The ``rim:RegistryObjectList`` of a submission (order: set, entries, associations)."""
    ids = _Ids()
    rol = etree.Element(_rim("RegistryObjectList"), nsmap={"rim": RIM_NS})
    if submission_set is not None:
        _submission_set(rol, ids, submission_set)
    for doc in documents:
        rol.append(document_entry_element(doc, ids))
    for assoc in associations:
        _association(rol, assoc)
    return rol


def submit_objects_request(
    submission_set: SubmissionSetMetadata | None,
    documents: Sequence[DocumentEntryMetadata],
    associations: Sequence[Association],
) -> etree._Element:
    """``lcm:SubmitObjectsRequest`` (ITI-41 inner part, ITI-57 body, XDM ``METADATA.XML``)."""
    request = etree.Element(
        f"{{{LCM_NS}}}SubmitObjectsRequest", nsmap={"lcm": LCM_NS, "rim": RIM_NS}
    )
    request.append(registry_object_list(submission_set, documents, associations))
    return request
