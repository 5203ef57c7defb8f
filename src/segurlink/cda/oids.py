"""Code systems, identifier roots, templateIds and level-1 media types of the CI-SIS.

Plain constants with no dependency, so that :mod:`.models` and :mod:`.codes` can both
use them without importing each other.

>>> RPPS_ROOT
'1.2.250.1.71.4.2.1'
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ..identity.ins import InsOid

__all__ = [
    "ADMINISTRATIVE_GENDER",
    "CONFIDENTIALITY",
    "FACILITY_TYPE",
    "INS_OIDS",
    "LEVEL1_MEDIA_TYPES",
    "LOINC",
    "NON_PS_AUTHOR_ROLE",
    "PRACTICE_SETTING",
    "PROFESSION",
    "RPPS_ROOT",
    "STRUCTURE_ROOT",
    "TEMPLATE_CISIS",
    "TEMPLATE_HL7_FRANCE",
    "TEMPLATE_XDS_SD",
    "TRE_A05",
]

# -- code systems ----------------------------------------------------------------------------
LOINC = "2.16.840.1.113883.6.1"
#: TRE_A05 TypeDocComplementaire (non-LOINC document types such as EXPORT_DUI).
TRE_A05 = "1.2.250.1.213.1.1.4.12"
CONFIDENTIALITY = "2.16.840.1.113883.5.25"
ADMINISTRATIVE_GENDER = "2.16.840.1.113883.5.1"
#: TRE_G15 profession / TRE_R38 speciality (JDV_J01 author speciality).
PROFESSION = "1.2.250.1.213.1.1.4.5"
#: TRE_A00 producteur non-PS (``LOGICIEL_DUI`` for a software author).
NON_PS_AUTHOR_ROLE = "1.2.250.1.213.1.1.4.6"
#: TRE_A01 cadre d'exercice (JDV_J04 practice setting).
PRACTICE_SETTING = "1.2.250.1.213.1.1.4.9"
#: TRE_R02 secteur d'activité (JDV_J02 healthcare facility type, SAxx codes).
FACILITY_TYPE = "1.2.250.1.71.4.2.4"

# -- identifier roots ------------------------------------------------------------------------
#: Professional national identifier (idNat_PS = "8" + RPPS).
RPPS_ROOT = "1.2.250.1.71.4.2.1"
#: Structure national identifier (idNat_Struct = "1" + FINESS).
STRUCTURE_ROOT = "1.2.250.1.71.4.2.2"
#: The INS OIDs (NIR, NIA, test NIR, demonstration NIR).
INS_OIDS: frozenset[str] = frozenset(oid.value for oid in InsOid)

# -- templateIds -----------------------------------------------------------------------------
TEMPLATE_HL7_FRANCE = "2.16.840.1.113883.2.8.2.1"
TEMPLATE_CISIS = "1.2.250.1.213.1.1.1.1"
#: IHE XDS-SD: an unstructured (level 1) document.
TEMPLATE_XDS_SD = "1.3.6.1.4.1.19376.1.2.20"

#: Media types the CI-SIS accepts in a level-1 ``nonXMLBody``, with their XDS formatCode.
LEVEL1_MEDIA_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "application/pdf": "urn:ihe:iti:xds-sd:pdf:2008",
        "text/plain": "urn:ihe:iti:xds-sd:text:2008",
        "text/rtf": "urn:ihe:iti:xds:2017:mimeTypeSufficient",
        "image/jpeg": "urn:ihe:iti:xds:2017:mimeTypeSufficient",
        "image/tiff": "urn:ihe:iti:xds:2017:mimeTypeSufficient",
    }
)
