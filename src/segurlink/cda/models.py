"""The CDA document model (what the builder needs) and the header facts read back.

Values are frozen dataclasses. Anything that holds health data (patient identity,
document bodies) has a masked ``repr``.

>>> InstanceId("1.2.250.1.71.4.2.2", "1010000001").xds_unique_id
'1.2.250.1.71.4.2.2^1010000001'
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from .._finess import check_finess
from ..errors import InputError
from ..identity import IdentityRecord, Ins
from .oids import LEVEL1_MEDIA_TYPES, RPPS_ROOT, STRUCTURE_ROOT

__all__ = [
    "Attachment",
    "Author",
    "CdaHeader",
    "ClinicalDocument",
    "Code",
    "DocumentType",
    "Encounter",
    "InstanceId",
    "LegalAuthenticator",
    "Organization",
    "ParentDocument",
    "ParticipantFacts",
    "Patient",
    "PatientFacts",
    "PersonName",
    "Professional",
    "ServiceEvent",
    "SoftwareDevice",
]

# ASCII digits only ([0-9], not \d, which matches full-width and other scripts' digits).
_OID = re.compile(r"[0-2](\.(0|[1-9][0-9]*))+")
_RPPS = re.compile(r"[0-9]{11}")


@dataclass(frozen=True, slots=True)
class Code:
    """A coded value (``CD``/``CE``): code, code system OID, display name."""

    code: str
    code_system: str
    display_name: str = ""
    code_system_name: str = ""

    def __post_init__(self) -> None:
        if not self.code or not self.code_system:
            raise InputError(f"a code needs a value and a code system, got {self!r}")


@dataclass(frozen=True, slots=True)
class InstanceId:
    """An HL7 instance identifier (``II``): root OID and optional extension.

    >>> InstanceId.new(uuid_factory=lambda: uuid.UUID(int=7)).root
    '2.25.7'
    """

    root: str
    extension: str | None = None

    def __post_init__(self) -> None:
        if not _OID.fullmatch(self.root):
            raise InputError(f"an identifier root must be an OID, got {self.root!r}")
        if self.extension is not None and not self.extension.strip():
            raise InputError("an identifier extension must not be blank (use None)")

    @classmethod
    def new(
        cls, root: str | None = None, *, uuid_factory: Callable[[], uuid.UUID] = uuid.uuid4
    ) -> InstanceId:
        """A fresh unique id: ``root`` + a UUID extension, or the ``2.25.<uuid>`` OID alone.

        Pass ``uuid_factory`` to make ids deterministic (tests, golden files).
        """
        value = uuid_factory()
        if root is None:
            return cls(f"2.25.{value.int}")
        return cls(root, str(value))

    @property
    def xds_unique_id(self) -> str:
        """``root^extension`` (or the root alone), the XDS ``uniqueId`` form."""
        return self.root if self.extension is None else f"{self.root}^{self.extension}"


@dataclass(frozen=True, slots=True)
class PersonName:
    """A person's name as shown in a CDA header (professionals; not the patient)."""

    family: str
    given: tuple[str, ...] = ()
    prefix: str = ""
    suffix: str = ""


@dataclass(frozen=True, slots=True)
class Organization:
    """An organisation identified by its national structure identifier.

    >>> Organization.from_finess("010000016", "EHPAD Les Tilleuls").id.extension
    '1010000016'
    """

    id: InstanceId
    name: str = ""

    @classmethod
    def from_finess(cls, finess: str, name: str = "") -> Organization:
        """The organisation whose idNat_Struct is ``"1" + FINESS``.

        The FINESS is 9 characters: the département (``01``-``95``, ``2A``/``2B`` for
        Corsica, ``97``/``98`` overseas) then 7 digits, the last a Luhn key (checked
        except for Corsican numbers). Raises :class:`~segurlink.errors.InputError`
        naming what is wrong.

        >>> Organization.from_finess("2B0000000").id.extension
        '12B0000000'
        """
        return cls(InstanceId(STRUCTURE_ROOT, "1" + check_finess(finess)), name)


@dataclass(frozen=True, slots=True)
class Professional:
    """A health professional known by RPPS number, with profession/speciality code."""

    rpps: str
    name: PersonName
    profession: Code

    def __post_init__(self) -> None:
        if not _RPPS.fullmatch(self.rpps):
            raise InputError(f"an RPPS number has 11 digits, got {len(self.rpps)} characters")

    @property
    def id(self) -> InstanceId:
        """The idNat_PS: ``"8" + RPPS`` under root ``1.2.250.1.71.4.2.1``."""
        return InstanceId(RPPS_ROOT, "8" + self.rpps)


@dataclass(frozen=True, slots=True)
class SoftwareDevice:
    """A software author (``assignedAuthoringDevice``), e.g. the DUI itself."""

    id: InstanceId
    software_name: str
    manufacturer_model_name: str
    role: Code | None = None


@dataclass(frozen=True, slots=True)
class Author:
    """The author: a professional or a software device, on behalf of an organisation."""

    time: dt.datetime
    organization: Organization
    professional: Professional | None = None
    device: SoftwareDevice | None = None

    def __post_init__(self) -> None:
        if (self.professional is None) == (self.device is None):
            raise InputError("an author is either a professional or a software device")


@dataclass(frozen=True, slots=True)
class LegalAuthenticator:
    """The professional who takes legal responsibility for the document."""

    time: dt.datetime
    professional: Professional


@dataclass(frozen=True, slots=True)
class ServiceEvent:
    """``documentationOf/serviceEvent``: what the document documents, when, in which setting."""

    start: dt.datetime
    practice_setting: Code
    performer: Professional
    organization: Organization
    end: dt.datetime | None = None
    code: Code | None = None


@dataclass(frozen=True, slots=True)
class Encounter:
    """``componentOf/encompassingEncounter``: the stay or care episode and its facility."""

    start: dt.datetime
    facility_type: Code
    facility: Organization | None = None
    end: dt.datetime | None = None


@dataclass(frozen=True, slots=True, repr=False)
class Attachment:
    """The level-1 body: the document bytes and their media type (PDF, text...)."""

    content: bytes
    media_type: str = "application/pdf"

    def __repr__(self) -> str:
        return f"Attachment(<{len(self.content)} bytes>, media_type={self.media_type!r})"


@dataclass(frozen=True, slots=True)
class ParentDocument:
    """The document a replacement (``RPLC``) replaces: its id and version.

    ``set_id`` is what :func:`~segurlink.cda.parse_header` found in a document that
    carries one; the builder never writes it, because ``parentDocument`` holds only
    ``id`` and ``versionNumber`` in the CI-SIS (StrucMin rule CI-SISRelatedDocument),
    and a replacement keeps its parent's setId anyway.
    """

    id: InstanceId
    set_id: InstanceId | None = None
    version: int | None = None


@dataclass(frozen=True, slots=True)
class Patient:
    """The patient: identity with its RNIV status, and local identifiers (IPP).

    Only a ``QUAL`` identity puts its INS in the document; otherwise the first local id
    identifies the patient.
    """

    identity: IdentityRecord
    local_ids: tuple[InstanceId, ...] = ()


@dataclass(frozen=True, slots=True)
class DocumentType:
    """One document type of the catalogue (see :mod:`segurlink.cda.codes`).

    ``template_ids`` are the templateIds the document declares beyond the HL7 France and
    CI-SIS ones (for a level-1 document: the IHE XDS-SD one). ``structured_model`` is
    the CI-SIS model templateId of the structured (level 3) variant when one exists;
    ``dmp`` says whether the type may be deposited in the DMP.
    """

    key: str
    code: Code
    title: str
    template_ids: tuple[str, ...]
    structured_model: str | None = None
    dmp: bool = True

    @property
    def display_name(self) -> str:
        return self.code.display_name


@dataclass(frozen=True, slots=True)
class ClinicalDocument:
    """A CI-SIS level-1 CDA document, ready for :func:`segurlink.cda.build_document`.

    Every id and timestamp is a field, so the same input always builds the same bytes.
    ``version`` starts at 1; use :meth:`replacement` for a new version.
    """

    document_type: DocumentType
    id: InstanceId
    set_id: InstanceId
    effective_time: dt.datetime
    patient: Patient
    authors: tuple[Author, ...]
    custodian: Organization
    legal_authenticator: LegalAuthenticator
    service_event: ServiceEvent
    encounter: Encounter
    body: Attachment
    confidentiality: Code
    version: int = 1
    title: str = ""
    language: str = "fr-FR"
    replaces: ParentDocument | None = None

    def __post_init__(self) -> None:
        if not self.authors:
            raise InputError("a document needs at least one author")
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 1:
            raise InputError(f"versionNumber is a positive integer, got {self.version!r}")
        if self.replaces is not None and self.version < 2:
            raise InputError("a replacement document has a version above 1")

    @property
    def display_title(self) -> str:
        return self.title or self.document_type.title

    def replacement(
        self,
        *,
        id: InstanceId,
        effective_time: dt.datetime,
        body: Attachment | None = None,
        authors: tuple[Author, ...] | None = None,
        legal_authenticator: LegalAuthenticator | None = None,
        **changes: object,
    ) -> ClinicalDocument:
        """A new version replacing this one: same setId, version + 1, ``RPLC`` to this id.

        The new version is authored and signed at its own ``effective_time``: the authors
        and the legal authenticator keep who they are but get that time, unless
        ``authors`` or ``legal_authenticator`` are given. ``changes`` are other fields
        to change (``title``, ``service_event``...).

        >>> v2 = v1.replacement(id=InstanceId.new(), effective_time=now)  # doctest: +SKIP
        >>> v2.version, v2.replaces.id == v1.id, v2.authors[0].time == now  # doctest: +SKIP
        (2, True, True)
        """
        if authors is None:
            authors = tuple(replace(author, time=effective_time) for author in self.authors)
        if legal_authenticator is None:
            legal_authenticator = replace(self.legal_authenticator, time=effective_time)
        return replace(
            self,
            id=id,
            effective_time=effective_time,
            body=self.body if body is None else body,
            authors=authors,
            legal_authenticator=legal_authenticator,
            version=self.version + 1,
            replaces=ParentDocument(self.id, version=self.version),
            **changes,  # type: ignore[arg-type]
        )


# -- header facts read back from any CDA -----------------------------------------------------


@dataclass(frozen=True, slots=True, repr=False)
class PatientFacts:
    """The patient as the header states it. Health data: the repr is masked."""

    ids: tuple[InstanceId, ...] = ()
    ins: Ins | None = None
    birth_name: str | None = None
    first_name: str | None = None
    first_names: tuple[str, ...] = ()
    used_name: str | None = None
    used_first_name: str | None = None
    sex: str | None = None
    birth_date: str | None = None
    birth_place: str | None = None

    def __repr__(self) -> str:
        return f"PatientFacts(ids=<{len(self.ids)}>, ins={self.ins!r})"


@dataclass(frozen=True, slots=True)
class ParticipantFacts:
    """An author or legal authenticator: who, when, in which role, for which organisation."""

    time: dt.datetime | None = None
    id: InstanceId | None = None
    role: Code | None = None
    name: PersonName | None = None
    software_name: str | None = None
    organization: Organization | None = None


@dataclass(frozen=True, slots=True)
class CdaHeader:
    """The facts of a CDA header, e.g. for XDS metadata (see :func:`parse_header`).

    Times are aware datetimes when the document gives a time zone, naive otherwise.
    """

    id: InstanceId
    set_id: InstanceId | None
    version: int | None
    type_code: Code | None
    title: str
    effective_time: dt.datetime | None
    confidentiality: Code | None
    language: str | None
    template_ids: tuple[str, ...]
    patient: PatientFacts
    authors: tuple[ParticipantFacts, ...]
    custodian: Organization | None
    legal_authenticator: ParticipantFacts | None
    service_start: dt.datetime | None = None
    service_stop: dt.datetime | None = None
    practice_setting: Code | None = None
    facility_type: Code | None = None
    facility: Organization | None = None
    media_type: str | None = None
    parent_document: ParentDocument | None = None
    relation: str | None = None

    @property
    def is_level1(self) -> bool:
        """True for an unstructured document (``nonXMLBody``)."""
        return self.media_type is not None

    @property
    def format_code(self) -> str | None:
        """The XDS formatCode of a level-1 document (None for structured ones)."""
        return LEVEL1_MEDIA_TYPES.get(self.media_type or "")
