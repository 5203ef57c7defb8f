"""The DMP (Mon espace santé) over IHE XDS.b: deposit, find, retrieve, replace, hide, delete.

>>> from segurlink.dmp import DmpClient                                   # doctest: +SKIP
>>> with DmpClient.from_settings(settings) as dmp:                        # doctest: +SKIP
...     if dmp.check(ins).can_deposit:
...         dmp.deposit(cda_bytes)

Pure parts: :mod:`~segurlink.dmp.metadata` (XDS metadata from a CDA header, shared with
the MSSanté XDM), :mod:`~segurlink.dmp.vihf`, :mod:`~segurlink.dmp.xades`,
:mod:`~segurlink.dmp.mtom`, :mod:`~segurlink.dmp.messages`. I/O: :class:`DmpClient`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .client import DmpClient
    from .metadata import (
        Association,
        DocumentEntryMetadata,
        SubmissionSetMetadata,
        XdsAuthor,
        check_metadata,
        document_entry_from_header,
        patient_id_value,
        submission_set_for,
        submit_objects_request,
    )
    from .models import (
        APPROVED,
        ARCHIVED,
        DEFAULT_CONTENT_TYPE,
        DELETED,
        DEPRECATED,
        Audience,
        Authorisation,
        DepositResult,
        DocumentEntry,
        PatientStatus,
        ResponsiblePerson,
        RetrievedDocument,
    )
    from .mtom import MtomMessage, MtomPart, build_mtom, parse_mtom
    from .settings import DmpSettings
    from .vihf import Signer, Vihf, VihfRole, parse_vihf, sign_vihf, verify_vihf
    from .vihf import read_vihf as read_vihf
    from .xades import sign_submission_set

__all__ = [
    "APPROVED",
    "ARCHIVED",
    "DEFAULT_CONTENT_TYPE",
    "DELETED",
    "DEPRECATED",
    "Association",
    "Audience",
    "Authorisation",
    "DepositResult",
    "DmpClient",
    "DmpSettings",
    "DocumentEntry",
    "DocumentEntryMetadata",
    "MtomMessage",
    "MtomPart",
    "PatientStatus",
    "ResponsiblePerson",
    "RetrievedDocument",
    "Signer",
    "SubmissionSetMetadata",
    "Vihf",
    "VihfRole",
    "XdsAuthor",
    "build_mtom",
    "check_metadata",
    "document_entry_from_header",
    "parse_mtom",
    "parse_vihf",
    "patient_id_value",
    "sign_submission_set",
    "sign_vihf",
    "submission_set_for",
    "submit_objects_request",
    "verify_vihf",
]

_EXPORTS = {
    "DmpClient": ".client",
    **dict.fromkeys(
        (
            "Association",
            "DocumentEntryMetadata",
            "SubmissionSetMetadata",
            "XdsAuthor",
            "check_metadata",
            "document_entry_from_header",
            "patient_id_value",
            "submission_set_for",
            "submit_objects_request",
        ),
        ".metadata",
    ),
    **dict.fromkeys(
        (
            "APPROVED",
            "ARCHIVED",
            "DEFAULT_CONTENT_TYPE",
            "DELETED",
            "DEPRECATED",
            "Audience",
            "Authorisation",
            "DepositResult",
            "DocumentEntry",
            "PatientStatus",
            "ResponsiblePerson",
            "RetrievedDocument",
        ),
        ".models",
    ),
    **dict.fromkeys(
        (
            "MtomMessage",
            "MtomPart",
            "build_mtom",
            "parse_mtom",
        ),
        ".mtom",
    ),
    "DmpSettings": ".settings",
    **dict.fromkeys(
        (
            "Signer",
            "Vihf",
            "VihfRole",
            "parse_vihf",
            "read_vihf",
            "sign_vihf",
            "verify_vihf",
        ),
        ".vihf",
    ),
    "sign_submission_set": ".xades",
}
__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS, __all__)
