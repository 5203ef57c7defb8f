"""Code systems, fixed OIDs and the catalogue of document types a medico-social DUI produces.

The catalogue is data: one :class:`DocumentType` per entry in :data:`DOCUMENT_TYPES`.
Adding a type is adding one entry (its LOINC or TRE_A05 code must be in the CI-SIS
``JDV_J07_XdsTypeCode_CISIS`` value set, or the "structuration minimale" schematron
refuses the document).

>>> document_type("80788-3").display_name
"Projet personnalisé d'accompagnement"
>>> document_type("PPA").code.code
'80788-3'
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ..errors import InputError
from .models import Code, DocumentType
from .oids import (
    ADMINISTRATIVE_GENDER,
    CONFIDENTIALITY,
    FACILITY_TYPE,
    INS_OIDS,
    LEVEL1_MEDIA_TYPES,
    LOINC,
    NON_PS_AUTHOR_ROLE,
    PRACTICE_SETTING,
    PROFESSION,
    RPPS_ROOT,
    STRUCTURE_ROOT,
    TEMPLATE_CISIS,
    TEMPLATE_HL7_FRANCE,
    TEMPLATE_XDS_SD,
    TRE_A05,
)

__all__ = [
    "ADMINISTRATIVE_GENDER",
    "CONFIDENTIALITY",
    "CONFIDENTIALITY_CODES",
    "DOCUMENT_TYPES",
    "FACILITY_TYPE",
    "HEALTHCARE_FACILITY_TYPES",
    "INS_OIDS",
    "LEVEL1_MEDIA_TYPES",
    "LOINC",
    "NON_PS_AUTHOR_ROLE",
    "PRACTICE_SETTING",
    "PRACTICE_SETTINGS",
    "PROFESSION",
    "RPPS_ROOT",
    "STRUCTURE_ROOT",
    "TEMPLATE_CISIS",
    "TEMPLATE_HL7_FRANCE",
    "TEMPLATE_XDS_SD",
    "TRE_A05",
    "DocumentType",
    "confidentiality",
    "document_type",
    "facility_type",
    "practice_setting",
]

CONFIDENTIALITY_CODES: Mapping[str, Code] = MappingProxyType(
    {
        "N": Code("N", CONFIDENTIALITY, "Normal"),
        "R": Code("R", CONFIDENTIALITY, "Restreint"),
        "V": Code("V", CONFIDENTIALITY, "Très restreint"),
    }
)

#: JDV_J04 practice settings a medico-social DUI uses (``standardIndustryClassCode``).
PRACTICE_SETTINGS: Mapping[str, Code] = MappingProxyType(
    {
        c.code: c
        for c in (
            Code("ESSMS", PRACTICE_SETTING, "Etablissement ou Service Social ou Médico-Social"),
            Code("AMBULATOIRE", PRACTICE_SETTING, "Ambulatoire"),
            Code("ETABLISSEMENT", PRACTICE_SETTING, "Etablissement de santé"),
            Code("HAD", PRACTICE_SETTING, "Hospitalisation à domicile"),
            Code("MAD", PRACTICE_SETTING, "Maintien à domicile"),
            Code("SAD", PRACTICE_SETTING, "Soins à domicile"),
            Code("PALLIATIF", PRACTICE_SETTING, "Soins palliatifs"),
        )
    }
)

#: JDV_J02 healthcare facility types of the medico-social sector (``healthCareFacility/code``).
HEALTHCARE_FACILITY_TYPES: Mapping[str, Code] = MappingProxyType(
    {
        c.code: c
        for c in (
            Code("SA16", FACILITY_TYPE, "Etablissement pour personnes handicapées"),
            Code("SA17", FACILITY_TYPE, "Etablissement pour personnes âgées"),
            Code("SA18", FACILITY_TYPE, "Etablissement aide à la famille"),
            Code("SA20", FACILITY_TYPE, "Etablissement pour la protection de l'enfance"),
            Code("SA21", FACILITY_TYPE, "Etablissement d'hébergement et de réadaptation"),
            Code("SA41", FACILITY_TYPE, "Autre établissement du domaine social ou médico-social"),
            Code("SA05", FACILITY_TYPE, "Centre de santé"),
            Code("SA07", FACILITY_TYPE, "Cabinet individuel"),
        )
    }
)


def _lookup(table: Mapping[str, Code], code: str | Code, what: str) -> Code:
    if isinstance(code, Code):
        return code
    try:
        return table[code]
    except KeyError:
        raise InputError(
            f"unknown {what} {code!r}; known: {', '.join(sorted(table))} "
            "(or pass a Code for another value of the CI-SIS value set)"
        ) from None


def confidentiality(code: str | Code) -> Code:
    """The confidentiality :class:`Code` for ``N``, ``R`` or ``V``.

    >>> confidentiality("N").display_name
    'Normal'
    """
    return _lookup(CONFIDENTIALITY_CODES, code, "confidentiality code")


def practice_setting(code: str | Code) -> Code:
    """A JDV_J04 practice setting (``ESSMS``, ``AMBULATOIRE``...) as a :class:`Code`."""
    return _lookup(PRACTICE_SETTINGS, code, "practice setting")


def facility_type(code: str | Code) -> Code:
    """A JDV_J02 healthcare facility type (``SA16``, ``SA17``...) as a :class:`Code`."""
    return _lookup(HEALTHCARE_FACILITY_TYPES, code, "healthcare facility type")


def _level1(
    key: str,
    code: str,
    display: str,
    title: str,
    *,
    system: str = LOINC,
    structured_model: str | None = None,
) -> DocumentType:
    return DocumentType(
        key,
        Code(code, system, display, "LOINC" if system == LOINC else ""),
        title,
        (TEMPLATE_XDS_SD,),
        structured_model=structured_model,
    )


#: The document types of a medico-social DUI, by key: key, LOINC code, JDV_J07 display
#: name, default title. Extend here (a TRE_A05 type: ``system=TRE_A05``); the code and
#: display name must be JDV_J07's, which a conformance test checks against the kit.
DOCUMENT_TYPES: Mapping[str, DocumentType] = MappingProxyType(
    {
        t.key: t
        for t in (
            _level1(
                "PPA",
                "80788-3",
                "Projet personnalisé d'accompagnement",
                "Projet personnalisé d'accompagnement",
            ),
            _level1(
                "DOC_MEDICO_SOCIAL",
                "28653-4",
                "Document du secteur social / médico-social",
                "Document du secteur social / médico-social",
            ),
            _level1(
                "GRILLE_EVALUATION",
                "34842-5",
                "Grille d'évaluation médico-social",
                "Grille d'évaluation médico-sociale",
            ),
            _level1(
                "LETTRE_LIAISON_SORTIE_ESMS",
                "83981-1",
                "Lettre de liaison à la sortie d'une structure sociale ou médico-sociale",
                "Lettre de liaison de sortie",
            ),
            _level1(
                "LETTRE_LIAISON_ENTREE_ESMS",
                "88348-8",
                "Lettre de liaison d'entrée en structure sociale ou médico-sociale",
                "Lettre de liaison d'entrée",
            ),
            _level1(
                "DLU",
                "74207-2",
                "Document de liaison d'urgence",
                "Dossier de liaison d'urgence",
                structured_model="1.2.250.1.213.1.1.1.22",
            ),
            _level1(
                "FICHE_TRANSFERT_URGENCES",
                "78341-5",
                "Fiche de transfert vers le service des urgences",
                "Fiche de transfert vers les urgences",
            ),
            _level1(
                "RETOUR_URGENCES",
                "60280-5",
                "Fiche de retour du service des urgences",
                "Fiche de retour des urgences",
            ),
        )
    }
)

_BY_CODE: Mapping[str, DocumentType] = MappingProxyType(
    {t.code.code: t for t in DOCUMENT_TYPES.values()}
)


def document_type(key_or_code: str) -> DocumentType:
    """The catalogued type by key (``PPA``) or code (``80788-3``).

    Raises :class:`~segurlink.errors.InputError` for an unknown one.
    """
    found = DOCUMENT_TYPES.get(key_or_code) or _BY_CODE.get(key_or_code)
    if found is None:
        raise InputError(
            f"unknown document type {key_or_code!r}; catalogued: "
            + ", ".join(f"{t.key} ({t.code.code})" for t in DOCUMENT_TYPES.values())
        )
    return found
