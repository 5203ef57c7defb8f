"""CDA R2 documents for the CI-SIS: build level-1 documents, validate them offline.

>>> from segurlink.cda import document_type
>>> document_type("PPA").code.code
'80788-3'

Build with :func:`build_document` from a :class:`ClinicalDocument`; validate with
:func:`validate` (segurlink's header rules, plus the kit's XSD and ANS schematrons when
``SEGURLINK_CISIS_KIT`` or :class:`CdaSettings` names the TestContenuCDA kit); read the
header facts of any CDA with :func:`parse_header`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .build import build_document, build_element, format_ts
    from .codes import (
        DOCUMENT_TYPES,
        confidentiality,
        document_type,
        facility_type,
        practice_setting,
    )
    from .models import (
        Attachment,
        Author,
        CdaHeader,
        ClinicalDocument,
        Code,
        DocumentType,
        Encounter,
        InstanceId,
        LegalAuthenticator,
        Organization,
        ParentDocument,
        ParticipantFacts,
        Patient,
        PatientFacts,
        PersonName,
        Professional,
        ServiceEvent,
        SoftwareDevice,
    )
    from .validate import (
        CdaIssue,
        CdaSettings,
        ValidationReport,
        Validator,
        check_header,
        parse_header,
        parse_ts,
        validate,
    )
    from .validate import (
        read_header as read_header,
    )

__all__ = [
    "DOCUMENT_TYPES",
    "Attachment",
    "Author",
    "CdaHeader",
    "CdaIssue",
    "CdaSettings",
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
    "ValidationReport",
    "Validator",
    "build_document",
    "build_element",
    "check_header",
    "confidentiality",
    "document_type",
    "facility_type",
    "format_ts",
    "parse_header",
    "parse_ts",
    "practice_setting",
    "validate",
]

_EXPORTS = {
    **dict.fromkeys(
        (
            "build_document",
            "build_element",
            "format_ts",
        ),
        ".build",
    ),
    **dict.fromkeys(
        (
            "DOCUMENT_TYPES",
            "confidentiality",
            "document_type",
            "facility_type",
            "practice_setting",
        ),
        ".codes",
    ),
    **dict.fromkeys(
        (
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
        ),
        ".models",
    ),
    **dict.fromkeys(
        (
            "CdaIssue",
            "CdaSettings",
            "ValidationReport",
            "Validator",
            "check_header",
            "parse_header",
            "parse_ts",
            "read_header",
        ),
        ".validate",
    ),
}
__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS, __all__)

# ``validate`` is both a function and the submodule defining it: once anything imports the
# submodule, the import system sets the package attribute to the module and a lazy lookup
# would never run, so the function is bound here, eagerly.
from .validate import validate  # noqa: E402
