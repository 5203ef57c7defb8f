"""Values of the DMP client: settings, patient status, registry entries, results.

Frozen dataclasses with slots. Anything holding health data (INS, document bytes) has
a masked ``repr``.

>>> Authorisation("VALIDE").allows_deposit
True
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

from .._audit import mask_identifier
from ..cda.models import Code
from ..errors import ConfigurationError

__all__ = [
    "APPROVED",
    "ARCHIVED",
    "CONTENT_TYPE_SYSTEMS",
    "DEFAULT_CONTENT_TYPE",
    "DELETED",
    "DEPRECATED",
    "MAX_OID_LENGTH",
    "Audience",
    "Authorisation",
    "DepositResult",
    "DocumentEntry",
    "PatientStatus",
    "ResponsiblePerson",
    "RetrievedDocument",
    "current_version",
]

#: Registry statuses of a document entry.
APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
ARCHIVED = "urn:asip:ci-sis:2010:StatusType:Archived"
DELETED = "urn:asip:ci-sis:2010:StatusType:Deleted"
#: A superseded version: an earlier metadata version (after masking) or a replaced document.
DEPRECATED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated"

#: DMP device OID and its repository.
DMP_DEVICE_OID = "1.2.250.1.213.4.1.1.1"
DMP_REPOSITORY_ID = "1.2.250.1.213.4.1.1.1.2"

#: The code systems JDV_J59-ContentTypeCode-DMP draws from (SubmissionSet contentTypeCode):
#: TRE_A00-ProducteurDocNonPS, TRE_R209-TypeActivite, TRE_R02-SecteurActivite.
CONTENT_TYPE_SYSTEMS = frozenset(
    {"1.2.250.1.213.1.1.4.6", "1.2.250.1.213.2.2", "1.2.250.1.71.4.2.4"}
)

#: SubmissionSet contentTypeCode used when neither the call nor ``[dmp] content_type``
#: gives one. Borrowed from the official TD2.1 example (a hospital's day care, TRE_R209
#: code 04): an EHPAD should configure its own JDV_J59 value (see docs/dmp.md).
DEFAULT_CONTENT_TYPE = Code("04", "1.2.250.1.213.2.2", "Hospitalisation de jour")

_OID = re.compile(r"[0-2](\.(0|[1-9][0-9]*))+")  # [0-9]: \d matches non-ASCII digits

#: The longest OID HL7/ISO tooling accepts: IHE registries refuse longer uniqueIds.
MAX_OID_LENGTH = 64
#: Random decimal digits of a generated OID's last arc: at least 20 (66 bits), at most 39
#: (a UUID's 122 bits) when the root leaves room.
MIN_RANDOM_DIGITS = 20
MAX_RANDOM_DIGITS = 39
#: Arcs under ``source_oid`` for generated ids: submission sets, signatures.
SUBMISSION_SET_ARC = 1
SIGNATURE_ARC = 4
#: The longest ``source_oid`` that leaves room for ``.<arc>.`` and the random digits.
MAX_SOURCE_OID_LENGTH = MAX_OID_LENGTH - len(".1.") - MIN_RANDOM_DIGITS


class Authorisation(enum.StrEnum):
    """The structure's authorisation on a patient's DMP (TD0.2 ``AUTORISATION``)."""

    VALID = "VALIDE"
    EXPIRED = "EXPIRE"
    REFUSED = "INTERDIT"
    NONE = "NON_EXISTE"

    @property
    def allows_deposit(self) -> bool:
        """Only a valid authorisation lets a structure deposit without further step."""
        return self is Authorisation.VALID


class Audience(enum.StrEnum):
    """Who a document is hidden from (the DMP confidentiality codes of TD3.3a/b)."""

    PROFESSIONALS = "MASQUE_PS"
    PATIENT = "INVISIBLE_PATIENT"
    LEGAL_REPRESENTATIVES = "INVISIBLE_REPRESENTANTS_LEGAUX"


@dataclass(frozen=True, slots=True)
class ResponsiblePerson:
    """The professional responsible for automated deposits (VIHF subject, no PSC login).

    ``national_id`` is the idNat_PS (``8`` + RPPS); ``profession`` a code of
    ``1.2.250.1.71.1.2.7`` (``10`` = médecin), ``speciality`` optionally one of
    ``1.2.250.1.71.4.2.5``.
    """

    national_id: str
    family: str
    given: str
    profession: str = "10"
    speciality: str = ""

    @property
    def display_name(self) -> str:
        return f"{self.given} {self.family}".strip()

    def __repr__(self) -> str:
        return f"ResponsiblePerson(national_id={mask_identifier(self.national_id)!r})"


@dataclass(frozen=True, slots=True)
class PatientStatus:
    """TD0.2 answer: does the patient have a DMP, and is the structure authorised.

    ``query_code`` is the HL7 ``queryResponseCode`` (``OK`` / ``NF``); ``treating_doctor``
    the ``STATUT_MT`` flag when given.
    """

    exists: bool
    authorisation: Authorisation
    query_code: str
    treating_doctor: bool | None = None
    patient_ids: tuple[str, ...] = field(default=(), repr=False)

    @property
    def can_deposit(self) -> bool:
        return self.exists and self.authorisation.allows_deposit


@dataclass(frozen=True, slots=True)
class DocumentEntry:
    """A DocumentEntry as the registry returns it (ITI-18 ``LeafClass``).

    ``entry_uuid`` is the registry id (``urn:uuid:...``) the DMP assigned; ``lid`` the
    logical id shared by the versions of the entry. ``raw`` keeps the ExtrinsicObject
    (serialized) so metadata updates can resend it.
    """

    entry_uuid: str
    unique_id: str
    status: str
    lid: str = ""
    version: str = ""
    patient_id: str = field(default="", repr=False)
    mime_type: str = ""
    title: str = ""
    type_code: str = ""
    class_code: str = ""
    format_code: str = ""
    confidentiality: tuple[str, ...] = ()
    creation_time: str = ""
    hash: str = ""
    size: int | None = None
    repository_id: str = ""
    author_institution: str = ""
    is_signature: bool = False
    raw: bytes = field(default=b"", repr=False, compare=False)

    @property
    def hidden_from(self) -> frozenset[Audience]:
        """The audiences the entry is currently hidden from."""
        return frozenset(a for a in Audience if a.value in self.confidentiality)

    @property
    def status_name(self) -> str:
        """``Approved``, ``Archived``, ``Deleted`` (or ``Deprecated``: superseded)."""
        return self.status.rsplit(":", 1)[-1]

    @property
    def version_number(self) -> int:
        """The registry version (``VersionInfo/@versionName``) as a number; 0 if unknown."""
        return int(self.version) if self.version.isascii() and self.version.isdigit() else 0


def current_version(entries: Iterable[DocumentEntry]) -> DocumentEntry | None:
    """The current version among the versions of one entry, as GetDocuments returns them.

    After masking, the registry holds the earlier versions as ``Deprecated``: the current
    one is the newest that is not. When every version is deprecated (the document was
    replaced), the newest deprecated one is returned, so a caller sees why it cannot act.

    >>> old = DocumentEntry("urn:uuid:1", "1.2.3", DEPRECATED, version="1")
    >>> new = DocumentEntry("urn:uuid:2", "1.2.3", ARCHIVED, version="2")
    >>> current_version([old, new]).entry_uuid
    'urn:uuid:2'
    """
    found = list(entries)
    live = [e for e in found if e.status != DEPRECATED] or found
    if not live:
        return None
    return max(live, key=lambda e: (e.version_number, e.status == APPROVED))


@dataclass(frozen=True, slots=True)
class DepositResult:
    """The outcome of a deposit (TD2.1).

    ``already_deposited`` is True when the document's uniqueId was found in the DMP after
    an interrupted attempt: nothing was duplicated. ``replaced_entry_uuid`` names the entry
    a replacement superseded.
    """

    unique_id: str
    submission_set_id: str
    already_deposited: bool = False
    replaced_entry_uuid: str | None = None
    attempts: int = 1
    entry: DocumentEntry | None = None


@dataclass(frozen=True, slots=True, repr=False)
class RetrievedDocument:
    """A document retrieved with ITI-43 (TD3.2)."""

    unique_id: str
    repository_id: str
    mime_type: str
    content: bytes

    def __repr__(self) -> str:
        return (
            f"RetrievedDocument(unique_id={self.unique_id!r}, mime_type={self.mime_type!r}, "
            f"<{len(self.content)} bytes>)"
        )


def new_oid(root: str, arc: int) -> str:
    """A fresh unique OID ``<root>.<arc>.<random digits>`` of at most 64 characters.

    The last arc has as many random digits as fit (20 to 39); a root too long to leave 20
    is refused. No leading zero (an OID arc is a plain decimal number).

    >>> len(new_oid("1.2.250.1.999.1.1", 1)) <= MAX_OID_LENGTH
    True
    """
    prefix = f"{root}.{arc}."
    digits = min(MAX_RANDOM_DIGITS, MAX_OID_LENGTH - len(prefix))
    if digits < MIN_RANDOM_DIGITS:
        raise ConfigurationError(
            f"the OID root {root!r} is too long to generate unique ids of at most "
            f"{MAX_OID_LENGTH} characters under it"
        )
    low = 10 ** (digits - 1)
    return prefix + str(low + secrets.randbelow(9 * low))


def utc_timestamp(value: dt.datetime) -> str:
    """An XDS ``DTM`` in UTC: ``YYYYMMDDHHMMSS`` (naive values are taken as UTC)."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.strftime("%Y%m%d%H%M%S")
