"""Every header rule of ``cda/validate.py`` has its failing case: break one thing, expect it.

Each case starts from a document the rules accept (version 1, or a version 2 for the
replacement rules), changes one thing and expects exactly the issues listed (rule, a piece
of the message, where). Deleting a check, flipping it or changing one of its literals makes
a case fail: either the issue is missing, or a document the rules must accept (the
``ACCEPTED`` cases) gets one.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import datetime as dt
from collections.abc import Callable

import pytest
from lxml import etree

from segurlink.cda import CdaIssue, InstanceId, build_element, check_header, parse_header
from segurlink.identity import IdentityRecord, IdentityStatus, IdentityTraits, Ins
from segurlink.identity.rniv import IdDocumentKind

from .factory import IPP_ROOT, T0, make_document, qualified_patient

H = "urn:hl7-org:v3"
NS = {"h": H}
Mutation = Callable[[etree._Element], None]
#: (rule without "segurlink:", a piece of the message, the end of the location or "")
Expected = tuple[str, str, str]


def v1() -> etree._Element:
    return build_element(make_document())


def v2() -> etree._Element:
    first = make_document()
    second = first.replacement(
        id=InstanceId("1.2.250.1.71.4.2.7.99.2", "DOC-2"), effective_time=T0 + dt.timedelta(days=1)
    )
    return build_element(second)


def one(root: etree._Element, path: str) -> etree._Element:
    found = root.xpath(path, namespaces=NS)
    assert isinstance(found, list) and found, path
    node = found[0]
    assert isinstance(node, etree._Element)
    return node


def set_(path: str, attr: str, value: str | None) -> Mutation:
    def mutate(root: etree._Element) -> None:
        node = one(root, path)
        if value is None:
            del node.attrib[attr]
        else:
            node.set(attr, value)

    return mutate


def remove(path: str) -> Mutation:
    def mutate(root: etree._Element) -> None:
        for node in root.xpath(path, namespaces=NS):
            parent = node.getparent()
            assert parent is not None
            parent.remove(node)  # type: ignore[arg-type]

    return mutate


def text(path: str, value: str) -> Mutation:
    def mutate(root: etree._Element) -> None:
        one(root, path).text = value

    return mutate


def duplicate(path: str) -> Mutation:
    def mutate(root: etree._Element) -> None:
        node = one(root, path)
        node.addnext(copy.deepcopy(node))

    return mutate


def move_before(path: str, before: str) -> Mutation:
    def mutate(root: etree._Element) -> None:
        node = one(root, path)
        one(root, before).addprevious(node)

    return mutate


def add_child(path: str, tag: str, **attrs: str) -> Mutation:
    def mutate(root: etree._Element) -> None:
        etree.SubElement(one(root, path), f"{{{H}}}{tag}", attrs)

    return mutate


def both(*mutations: Mutation) -> Mutation:
    def mutate(root: etree._Element) -> None:
        for mutation in mutations:
            mutation(root)

    return mutate


DOC = "/h:ClinicalDocument"


def reuse_parent_id(root: etree._Element) -> None:
    document_id = one(root, "/h:ClinicalDocument/h:id")
    document_id.attrib.clear()
    document_id.attrib.update(one(root, "//h:relatedDocument/h:parentDocument/h:id").attrib)


ROLE = "//h:recordTarget/h:patientRole"
PATIENT = ROLE + "/h:patient"
AUTHOR = "//h:author/h:assignedAuthor"
LEGAL = "//h:legalAuthenticator"
EVENT = "//h:documentationOf/h:serviceEvent"
ENCOUNTER = "//h:componentOf/h:encompassingEncounter"
BODY_TEXT = "//h:nonXMLBody/h:text"
PARENT = "//h:relatedDocument/h:parentDocument"

# fmt: off
BROKEN: dict[str, tuple[Callable[[], etree._Element], Mutation, list[Expected]]] = {
    # -- header --------------------------------------------------------------------------
    "no realmCode": (v1, remove(f"{DOC}/h:realmCode"),
                     [("realm", "realmCode is missing", "/ClinicalDocument")]),
    "realm BE": (v1, set_(f"{DOC}/h:realmCode", "code", "BE"),
                 [("realm", "realmCode must be FR", "/realmCode[1]")]),
    "no typeId": (v1, remove(f"{DOC}/h:typeId"), [("type-id", "typeId is missing", "")]),
    "typeId root": (v1, set_(f"{DOC}/h:typeId", "root", "2.16.840.1.113883.1.4"),
                    [("type-id", "typeId must be", "/typeId[1]")]),
    "typeId extension": (v1, set_(f"{DOC}/h:typeId", "extension", "POCD_HD000041"),
                         [("type-id", "typeId must be", "/typeId[1]")]),
    "no HL7 France templateId": (
        v1, remove(f"{DOC}/h:templateId[@root='2.16.840.1.113883.2.8.2.1']"),
        [("template-id", "templateId 2.16.840.1.113883.2.8.2.1 is missing", "")]),
    "no CI-SIS templateId": (
        v1, remove(f"{DOC}/h:templateId[@root='1.2.250.1.213.1.1.1.1']"),
        [("template-id", "templateId 1.2.250.1.213.1.1.1.1 is missing", "")]),
    "no XDS-SD templateId": (
        v1, remove(f"{DOC}/h:templateId[@root='1.3.6.1.4.1.19376.1.2.20']"),
        [("template-id", "declares templateId 1.3.6.1.4.1.19376.1.2.20", "")]),
    "no id": (v1, remove(f"{DOC}/h:id"), [("id", "document id is missing", "")]),
    "id root not an OID": (v1, set_(f"{DOC}/h:id", "root", "2.25.01"),
                           [("id", "the document id root must be an OID", "/id[1]")]),
    "id root not ASCII": (v1, set_(f"{DOC}/h:id", "root", "2.25.１"),
                          [("id", "must be an OID", "/id[1]")]),
    "id without root": (v1, set_(f"{DOC}/h:id", "root", None),
                        [("id", "must be an OID", "/id[1]")]),
    "no type code": (v1, remove(f"{DOC}/h:code"), [("type-code", "type code is missing", "")]),
    "type code system": (v1, set_(f"{DOC}/h:code", "codeSystem", "2.16.840.1.113883.6.96"),
                         [("type-code", "must be LOINC", "/code[1]")]),
    "type code without @code": (v1, set_(f"{DOC}/h:code", "code", None),
                                [("type-code", "has no @code", "/code[1]")]),
    "no title": (v1, remove(f"{DOC}/h:title"), [("title", "title is missing", "")]),
    "blank title": (v1, text(f"{DOC}/h:title", " \n\t "),
                    [("title", "the title is empty", "/title[1]")]),
    "no effectiveTime": (v1, remove(f"{DOC}/h:effectiveTime"),
                         [("effective-time", "effectiveTime is missing", "")]),
    "effectiveTime without offset": (
        v1, set_(f"{DOC}/h:effectiveTime", "value", "20240301103000"),
        [("effective-time", "time zone offset", "/effectiveTime[1]")]),
    "effectiveTime date only": (v1, set_(f"{DOC}/h:effectiveTime", "value", "20240301+0100"),
                                [("effective-time", "to the minute", "/effectiveTime[1]")]),
    "effectiveTime nullFlavor": (
        v1, both(set_(f"{DOC}/h:effectiveTime", "value", None),
                 set_(f"{DOC}/h:effectiveTime", "nullFlavor", "UNK")),
        [("effective-time", "to the minute", "/effectiveTime[1]")]),
    "no confidentialityCode": (v1, remove(f"{DOC}/h:confidentialityCode"),
                               [("confidentiality", "confidentialityCode is missing", "")]),
    "confidentiality X": (v1, set_(f"{DOC}/h:confidentialityCode", "code", "X"),
                          [("confidentiality", "N, R or V", "/confidentialityCode[1]")]),
    "confidentiality system": (
        v1, set_(f"{DOC}/h:confidentialityCode", "codeSystem", "2.16.840.1.113883.5.26"),
        [("confidentiality", "2.16.840.1.113883.5.25", "/confidentialityCode[1]")]),
    "no languageCode": (v1, remove(f"{DOC}/h:languageCode"),
                        [("language", "languageCode is missing", "")]),
    "language fr-BE": (v1, set_(f"{DOC}/h:languageCode", "code", "fr-BE"),
                       [("language", "languageCode must be fr-FR", "/languageCode[1]")]),
    "no setId": (v1, remove(f"{DOC}/h:setId"), [("set-id", "setId is missing", "")]),
    "setId root not an OID": (v1, set_(f"{DOC}/h:setId", "root", "set-1"),
                              [("set-id", "the setId root must be an OID", "/setId[1]")]),
    "setId without root": (v1, set_(f"{DOC}/h:setId", "root", None),
                           [("set-id", "the setId root must be an OID", "/setId[1]")]),
    "no versionNumber": (v1, remove(f"{DOC}/h:versionNumber"),
                         [("version", "versionNumber is missing", "")]),
    "version 0": (v1, set_(f"{DOC}/h:versionNumber", "value", "0"),
                  [("version", "positive integer", "/versionNumber[1]")]),
    "version 01": (v1, set_(f"{DOC}/h:versionNumber", "value", "01"),
                   [("version", "positive integer", "/versionNumber[1]")]),
    "version 1.5": (v1, set_(f"{DOC}/h:versionNumber", "value", "1.5"),
                    [("version", "positive integer", "/versionNumber[1]")]),
    "version full-width": (v1, set_(f"{DOC}/h:versionNumber", "value", "２"),
                           [("version", "positive integer", "/versionNumber[1]")]),
    "version without value": (v1, set_(f"{DOC}/h:versionNumber", "value", None),
                              [("version", "positive integer", "/versionNumber[1]")]),
    # -- order ---------------------------------------------------------------------------
    "relatedDocument before documentationOf": (
        v2, move_before(f"{DOC}/h:relatedDocument", f"{DOC}/h:documentationOf"),
        [("header-order", "documentationOf must come before relatedDocument",
          "/documentationOf[1]")]),
    "title before code": (v1, move_before(f"{DOC}/h:title", f"{DOC}/h:code"),
                          [("header-order", "code must come before title", "/code[1]")]),
    # -- replacement ---------------------------------------------------------------------
    "two relatedDocuments": (v2, duplicate(f"{DOC}/h:relatedDocument"),
                             [("replacement", "replaces at most one document", "")]),
    "relation APND": (v2, set_(f"{DOC}/h:relatedDocument", "typeCode", "APND"),
                      [("replacement", "must be RPLC", "/relatedDocument[1]")]),
    # not a replacement: the version and setId rules of RPLC do not apply
    "relation APND in version 1": (
        v2, both(set_(f"{DOC}/h:relatedDocument", "typeCode", "APND"),
                 set_(f"{DOC}/h:versionNumber", "value", "1")),
        [("replacement", "must be RPLC", "/relatedDocument[1]")]),
    "no parent id": (v2, remove(f"{PARENT}/h:id"), [("replacement", "parent id is missing", "")]),
    "parent setId": (
        v2, lambda root: one(root, PARENT).append(copy.deepcopy(one(root, f"{DOC}/h:setId"))),
        [("replacement", "only id and versionNumber, not setId", "/parentDocument[1]/setId[1]")]),
    "parent setId of another set": (
        v2, add_child(PARENT, "setId", root="1.2.250.1.71.4.2.7.99.9"),
        [("replacement", "not setId", "/setId[1]"),
         ("replacement", "keeps the setId of its parent", "/ClinicalDocument/setId[1]")]),
    "parent title": (v2, add_child(PARENT, "code", code="x", codeSystem="1.2"),
                     [("replacement", "not code", "/parentDocument[1]/code[1]")]),
    "replacement in version 1": (v2, set_(f"{DOC}/h:versionNumber", "value", "1"),
                                 [("replacement", "has a version above 1", "/versionNumber[1]")]),
    "replacement with the parent's id": (
        v2, reuse_parent_id,
        [("replacement", "a replacement has a new id", "/ClinicalDocument/id[1]")]),
    # -- patient -------------------------------------------------------------------------
    "no patientRole": (v1, remove("//h:recordTarget"),
                       [("patient", "patientRole is missing", "")]),
    "patientRole without id": (v1, remove(f"{ROLE}/h:id"),
                               [("patient-id", "patientRole has no id", "/patientRole[1]")]),
    "patient id without root": (v1, set_(f"{ROLE}/h:id[2]", "root", None),
                                [("patient-id", "has no root", "/patientRole[1]/id[2]")]),
    "INS extension of 14": (v1, set_(f"{ROLE}/h:id[1]", "extension", "27903512151898"),
                            [("patient-ins", "15 characters", "/patientRole[1]/id[1]")]),
    "INS extension 2C": (v1, set_(f"{ROLE}/h:id[1]", "extension", "279032C21518989"),
                         [("patient-ins", "15 characters", "/id[1]")]),
    "INS extension full-width": (v1, set_(f"{ROLE}/h:id[1]", "extension", "27903512151898９"),
                                 [("patient-ins", "15 characters", "/id[1]")]),
    "INS without extension": (v1, set_(f"{ROLE}/h:id[1]", "extension", None),
                              [("patient-ins", "15 characters", "/id[1]")]),
    "no patient": (v1, remove(PATIENT), [("patient", "patient is missing", "/patientRole[1]")]),
    "INS without birth name": (v1, remove(f"{PATIENT}/h:name/h:family[@qualifier='BR']"),
                               [("patient-traits", "birth name (family qualifier BR)", "")]),
    "INS without first birth first name": (
        v1, remove(f"{PATIENT}/h:name/h:given[@qualifier='BR']"),
        [("patient-traits", "first birth first name (given BR)", "/patient[1]")]),
    "INS without birth first names": (v1, remove(f"{PATIENT}/h:name/h:given[not(@qualifier)]"),
                                      [("patient-traits", "birth first names (given)", "")]),
    "INS without birthTime": (v1, remove(f"{PATIENT}/h:birthTime"),
                              [("patient-traits", "birthTime", "")]),
    "INS without birth place": (v1, remove(f"{PATIENT}/h:birthplace"),
                                [("patient-traits", "birth place COG (county)", "")]),
    "INS without sex": (v1, remove(f"{PATIENT}/h:administrativeGenderCode"),
                        [("patient-traits", "administrativeGenderCode", "")]),
    "family qualified SP": (v1, set_(f"{PATIENT}/h:name/h:family[@qualifier='CL']",
                                     "qualifier", "SP"),
                            [("patient-name", "BR (birth) or CL", "/family[2]")]),
    "sex code system": (v1, set_(f"{PATIENT}/h:administrativeGenderCode", "codeSystem", "1.2.3"),
                        [("patient-sex", "2.16.840.1.113883.5.1", "/administrativeGenderCode[1]")]),
    "sex X": (v1, set_(f"{PATIENT}/h:administrativeGenderCode", "code", "X"),
              [("patient-sex", "M, F or U", "/administrativeGenderCode[1]")]),
    "birth place of 4": (v1, text(f"{PATIENT}//h:county", "6322"),
                         [("patient-birth-place", "5-character INSEE COG", "/county[1]")]),
    "birth place 2C": (v1, text(f"{PATIENT}//h:county", "2C020"),
                       [("patient-birth-place", "COG", "/county[1]")]),
    "birth place full-width": (v1, text(f"{PATIENT}//h:county", "６３２２０"),
                               [("patient-birth-place", "COG", "/county[1]")]),
    # -- participants --------------------------------------------------------------------
    "no author": (v1, remove("//h:author"), [("author", "the document has no author", "")]),
    "author without time": (v1, remove("//h:author/h:time"),
                            [("author", "author time is missing", "/author[1]")]),
    "author time without offset": (v1, set_("//h:author/h:time", "value", "20240301103000"),
                                   [("author", "time zone offset", "/author[1]/time[1]")]),
    "no assignedAuthor": (v1, remove(AUTHOR), [("author", "assignedAuthor is missing", "")]),
    "assignedAuthor without id": (v1, remove(f"{AUTHOR}/h:id"),
                                  [("author", "assignedAuthor/id is missing", "")]),
    "author neither person nor device": (
        v1, remove(f"{AUTHOR}/h:assignedPerson"),
        [("author", "a person or a software device", "/assignedAuthor[1]")]),
    "RPPS id without extension": (v1, set_(f"{AUTHOR}/h:id", "extension", " "),
                                  [("author", "needs its extension", "/assignedAuthor[1]/id[1]")]),
    "RPPS id without extension attribute": (
        v1, set_(f"{AUTHOR}/h:id", "extension", None),
        [("author", "needs its extension", "/assignedAuthor[1]/id[1]")]),
    "no custodian id": (v1, remove("//h:representedCustodianOrganization/h:id"),
                        [("custodian", "custodian organisation id is missing", "")]),
    "no legalAuthenticator": (v1, remove(LEGAL),
                              [("legal-authenticator", "legalAuthenticator is missing", "")]),
    "legal without time": (v1, remove(f"{LEGAL}/h:time"),
                           [("legal-authenticator", "legalAuthenticator/time is missing", "")]),
    "legal time without offset": (
        v1, set_(f"{LEGAL}/h:time", "value", "20240301103000"),
        [("legal-authenticator", "time zone offset", "/legalAuthenticator[1]/time[1]")]),
    "legal without signatureCode": (
        v1, remove(f"{LEGAL}/h:signatureCode"),
        [("legal-authenticator", "legalAuthenticator/signatureCode is missing", "")]),
    "legal signature X": (v1, set_(f"{LEGAL}/h:signatureCode", "code", "X"),
                          [("legal-authenticator", "signatureCode must be S", "/signatureCode[1]")]),
    "legal without entity id": (v1, remove(f"{LEGAL}/h:assignedEntity/h:id"),
                                [("legal-authenticator", "assignedEntity/id is missing", "")]),
    # -- context -------------------------------------------------------------------------
    "no documentationOf": (v1, remove("//h:documentationOf"),
                           [("service-event", "documentationOf/serviceEvent is missing", "")]),
    "serviceEvent without time": (v1, remove(f"{EVENT}/h:effectiveTime"),
                                  [("service-event", "serviceEvent/effectiveTime is missing", "")]),
    "two performers": (v1, duplicate(f"{EVENT}/h:performer"),
                       [("service-event", "at most one performer", "/serviceEvent[1]")]),
    "practice setting system": (v1, set_("//h:standardIndustryClassCode", "codeSystem", "1.2.3"),
                                [("practice-setting", "1.2.250.1.213.1.1.4.9",
                                  "/standardIndustryClassCode[1]")]),
    "no practice setting": (v1, remove("//h:standardIndustryClassCode"),
                            [("practice-setting", "is missing", "/serviceEvent[1]")]),
    "no componentOf": (v1, remove("//h:componentOf"),
                       [("encounter", "encompassingEncounter is missing", "")]),
    "encounter without time": (
        v1, remove(f"{ENCOUNTER}/h:effectiveTime"),
        [("encounter", "encompassingEncounter/effectiveTime is missing", "")]),
    "no facility code": (v1, remove("//h:healthCareFacility/h:code"),
                         [("facility-type", "healthCareFacility/code is missing", "")]),
    "facility code system": (v1, set_("//h:healthCareFacility/h:code", "codeSystem", "1.2.3"),
                             [("facility-type", "1.2.250.1.71.4.2.4", "/code[1]")]),
    # -- body ----------------------------------------------------------------------------
    "no body": (v1, remove(f"{DOC}/h:component"),
                [("body", "neither nonXMLBody nor structuredBody", "")]),
    "body text/html": (v1, set_(BODY_TEXT, "mediaType", "text/html"),
                       [("body-media-type", "'text/html' is not allowed", "/text[1]")]),
    "body without mediaType": (v1, set_(BODY_TEXT, "mediaType", None),
                               [("body-media-type", "'' is not allowed", "/text[1]")]),
    "body not B64": (v1, set_(BODY_TEXT, "representation", "TXT"),
                     [("body-encoding", "representation B64", "/text[1]")]),
    "body not base64": (v1, text(BODY_TEXT, "@@@"),
                        [("body-encoding", "not valid base64", "/text[1]")]),
    "body empty": (v1, text(BODY_TEXT, ""), [("body-encoding", "the body is empty", "/text[1]")]),
    "PDF body that is not a PDF": (v1, text(BODY_TEXT, base64.b64encode(b"hello").decode()),
                                   [("body-media-type", "no %PDF- signature", "/text[1]")]),
}
# fmt: on


def _errors(root: etree._Element) -> list[CdaIssue]:
    return [i for i in check_header(root) if i.severity == "error"]


@pytest.mark.parametrize("case", list(BROKEN))
def test_one_broken_thing_gives_exactly_its_issue(case: str) -> None:
    base, mutate, expected = BROKEN[case]
    root = base()
    assert _errors(root) == []
    mutate(root)
    errors = _errors(root)
    unmatched = list(errors)
    for rule, fragment, location in expected:
        found = next(
            (
                i
                for i in unmatched
                if i.rule == f"segurlink:{rule}"
                and fragment in i.message
                and i.location.endswith(location)
            ),
            None,
        )
        assert found is not None, (rule, fragment, location, errors)
        unmatched.remove(found)
        assert found.layer == "rules"
    assert unmatched == [], unmatched


# What each case says, whole, and where: the message and location a user reads in the CLI
# or a validation report.
# fmt: off
ISSUES: dict[str, list[tuple[str, str]]] = {
    'no realmCode': [('realmCode is missing (h:realmCode)', '/ClinicalDocument')],
    'realm BE': [('realmCode must be FR', '/ClinicalDocument/realmCode[1]')],
    'no typeId': [('typeId is missing (h:typeId)', '/ClinicalDocument')],
    'typeId root': [('typeId must be 2.16.840.1.113883.1.3 / POCD_HD000040', '/ClinicalDocument/typeId[1]')],
    'typeId extension': [('typeId must be 2.16.840.1.113883.1.3 / POCD_HD000040', '/ClinicalDocument/typeId[1]')],
    'no HL7 France templateId': [('templateId 2.16.840.1.113883.2.8.2.1 is missing', '/ClinicalDocument')],
    'no CI-SIS templateId': [('templateId 1.2.250.1.213.1.1.1.1 is missing', '/ClinicalDocument')],
    'no XDS-SD templateId': [('an unstructured (nonXMLBody) document declares templateId 1.3.6.1.4.1.19376.1.2.20', '/ClinicalDocument')],
    'no id': [('document id is missing (h:id)', '/ClinicalDocument')],
    'id root not an OID': [('the document id root must be an OID', '/ClinicalDocument/id[1]')],
    'id root not ASCII': [('the document id root must be an OID', '/ClinicalDocument/id[1]')],
    'id without root': [('the document id root must be an OID', '/ClinicalDocument/id[1]')],
    'no type code': [('document type code is missing (h:code)', '/ClinicalDocument')],
    'type code system': [("the document type code system must be LOINC (2.16.840.1.113883.6.1) or TRE_A05 (1.2.250.1.213.1.1.4.12), got '2.16.840.1.113883.6.96'", '/ClinicalDocument/code[1]')],
    'type code without @code': [('the document type code has no @code', '/ClinicalDocument/code[1]')],
    'no title': [('title is missing (h:title)', '/ClinicalDocument')],
    'blank title': [('the title is empty', '/ClinicalDocument/title[1]')],
    'no effectiveTime': [('effectiveTime is missing (h:effectiveTime)', '/ClinicalDocument')],
    'effectiveTime without offset': [("effectiveTime must be a timestamp to the minute at least with a time zone offset (e.g. 20240131143000+0100), got '20240301103000'", '/ClinicalDocument/effectiveTime[1]')],
    'effectiveTime date only': [("effectiveTime must be a timestamp to the minute at least with a time zone offset (e.g. 20240131143000+0100), got '20240301+0100'", '/ClinicalDocument/effectiveTime[1]')],
    'effectiveTime nullFlavor': [("effectiveTime must be a timestamp to the minute at least with a time zone offset (e.g. 20240131143000+0100), got ''", '/ClinicalDocument/effectiveTime[1]')],
    'no confidentialityCode': [('confidentialityCode is missing (h:confidentialityCode)', '/ClinicalDocument')],
    'confidentiality X': [('confidentialityCode must be N, R or V in 2.16.840.1.113883.5.25', '/ClinicalDocument/confidentialityCode[1]')],
    'confidentiality system': [('confidentialityCode must be N, R or V in 2.16.840.1.113883.5.25', '/ClinicalDocument/confidentialityCode[1]')],
    'no languageCode': [('languageCode is missing (h:languageCode)', '/ClinicalDocument')],
    'language fr-BE': [('languageCode must be fr-FR', '/ClinicalDocument/languageCode[1]')],
    'no setId': [('setId is missing (h:setId)', '/ClinicalDocument')],
    'setId root not an OID': [('the setId root must be an OID', '/ClinicalDocument/setId[1]')],
    'setId without root': [('the setId root must be an OID', '/ClinicalDocument/setId[1]')],
    'no versionNumber': [('versionNumber is missing (h:versionNumber)', '/ClinicalDocument')],
    'version 0': [('versionNumber must be a positive integer', '/ClinicalDocument/versionNumber[1]')],
    'version 01': [('versionNumber must be a positive integer', '/ClinicalDocument/versionNumber[1]')],
    'version 1.5': [('versionNumber must be a positive integer', '/ClinicalDocument/versionNumber[1]')],
    'version full-width': [('versionNumber must be a positive integer', '/ClinicalDocument/versionNumber[1]')],
    'version without value': [('versionNumber must be a positive integer', '/ClinicalDocument/versionNumber[1]')],
    'relatedDocument before documentationOf': [('documentationOf must come before relatedDocument (CDA R2 order)', '/ClinicalDocument/documentationOf[1]')],
    'title before code': [('code must come before title (CDA R2 order)', '/ClinicalDocument/code[1]')],
    'two relatedDocuments': [('a document replaces at most one document', '/ClinicalDocument')],
    'relation APND': [('relatedDocument/@typeCode must be RPLC (the only relation of the CI-SIS)', '/ClinicalDocument/relatedDocument[1]')],
    'relation APND in version 1': [('relatedDocument/@typeCode must be RPLC (the only relation of the CI-SIS)', '/ClinicalDocument/relatedDocument[1]')],
    'no parent id': [('parent id is missing (h:parentDocument/h:id)', '/ClinicalDocument/relatedDocument[1]')],
    'parent setId': [('parentDocument holds only id and versionNumber, not setId', '/ClinicalDocument/relatedDocument[1]/parentDocument[1]/setId[1]')],
    'parent setId of another set': [('parentDocument holds only id and versionNumber, not setId', '/ClinicalDocument/relatedDocument[1]/parentDocument[1]/setId[1]'), ('a replacement keeps the setId of its parent', '/ClinicalDocument/setId[1]')],
    'parent title': [('parentDocument holds only id and versionNumber, not code', '/ClinicalDocument/relatedDocument[1]/parentDocument[1]/code[1]')],
    'replacement in version 1': [('a replacement (RPLC) has a version above 1', '/ClinicalDocument/versionNumber[1]')],
    "replacement with the parent's id": [('a replacement has a new id', '/ClinicalDocument/id[1]')],
    'no patientRole': [('patientRole is missing (h:recordTarget/h:patientRole)', '/ClinicalDocument')],
    'patientRole without id': [('patientRole has no id', '/ClinicalDocument/recordTarget[1]/patientRole[1]')],
    'patient id without root': [('a patient identifier has no root (OID of its authority)', '/ClinicalDocument/recordTarget[1]/patientRole[1]/id[2]')],
    'INS extension of 14': [('an INS extension is 15 characters (matricule + key)', '/ClinicalDocument/recordTarget[1]/patientRole[1]/id[1]')],
    'INS extension 2C': [('an INS extension is 15 characters (matricule + key)', '/ClinicalDocument/recordTarget[1]/patientRole[1]/id[1]')],
    'INS extension full-width': [('an INS extension is 15 characters (matricule + key)', '/ClinicalDocument/recordTarget[1]/patientRole[1]/id[1]')],
    'INS without extension': [('an INS extension is 15 characters (matricule + key)', '/ClinicalDocument/recordTarget[1]/patientRole[1]/id[1]')],
    'no patient': [('patient is missing (h:patient)', '/ClinicalDocument/recordTarget[1]/patientRole[1]')],
    'INS without birth name': [('a patient identified by INS needs the birth name (family qualifier BR)', '/ClinicalDocument/recordTarget[1]/patientRole[1]/patient[1]')],
    'INS without first birth first name': [('a patient identified by INS needs the first birth first name (given BR)', '/ClinicalDocument/recordTarget[1]/patientRole[1]/patient[1]')],
    'INS without birth first names': [('a patient identified by INS needs the birth first names (given)', '/ClinicalDocument/recordTarget[1]/patientRole[1]/patient[1]')],
    'INS without birthTime': [('a patient identified by INS needs the birthTime', '/ClinicalDocument/recordTarget[1]/patientRole[1]/patient[1]')],
    'INS without birth place': [('a patient identified by INS needs the birth place COG (county)', '/ClinicalDocument/recordTarget[1]/patientRole[1]/patient[1]')],
    'INS without sex': [('a patient identified by INS needs the administrativeGenderCode', '/ClinicalDocument/recordTarget[1]/patientRole[1]/patient[1]')],
    'family qualified SP': [('a patient family name is qualified BR (birth) or CL (used name, RNIV)', '/ClinicalDocument/recordTarget[1]/patientRole[1]/patient[1]/name[1]/family[2]')],
    'sex code system': [('administrativeGenderCode code system must be 2.16.840.1.113883.5.1', '/ClinicalDocument/recordTarget[1]/patientRole[1]/patient[1]/administrativeGenderCode[1]')],
    'sex X': [('administrativeGenderCode must be M, F or U', '/ClinicalDocument/recordTarget[1]/patientRole[1]/patient[1]/administrativeGenderCode[1]')],
    'birth place of 4': [('the birth place is a 5-character INSEE COG code', '/ClinicalDocument/recordTarget[1]/patientRole[1]/patient[1]/birthplace[1]/place[1]/addr[1]/county[1]')],
    'birth place 2C': [('the birth place is a 5-character INSEE COG code', '/ClinicalDocument/recordTarget[1]/patientRole[1]/patient[1]/birthplace[1]/place[1]/addr[1]/county[1]')],
    'birth place full-width': [('the birth place is a 5-character INSEE COG code', '/ClinicalDocument/recordTarget[1]/patientRole[1]/patient[1]/birthplace[1]/place[1]/addr[1]/county[1]')],
    'no author': [('the document has no author', '/ClinicalDocument')],
    'author without time': [('author time is missing (h:time)', '/ClinicalDocument/author[1]')],
    'author time without offset': [("author/time must be a timestamp to the minute at least with a time zone offset (e.g. 20240131143000+0100), got '20240301103000'", '/ClinicalDocument/author[1]/time[1]')],
    'no assignedAuthor': [('assignedAuthor is missing (h:assignedAuthor)', '/ClinicalDocument/author[1]')],
    'assignedAuthor without id': [('assignedAuthor/id is missing (h:id)', '/ClinicalDocument/author[1]/assignedAuthor[1]')],
    'author neither person nor device': [('an author is a person or a software device', '/ClinicalDocument/author[1]/assignedAuthor[1]')],
    'RPPS id without extension': [('a professional id needs its extension (idNat_PS)', '/ClinicalDocument/author[1]/assignedAuthor[1]/id[1]')],
    'RPPS id without extension attribute': [('a professional id needs its extension (idNat_PS)', '/ClinicalDocument/author[1]/assignedAuthor[1]/id[1]')],
    'no custodian id': [('custodian organisation id is missing (h:custodian/h:assignedCustodian/h:representedCustodianOrganization/h:id)', '/ClinicalDocument')],
    'no legalAuthenticator': [('legalAuthenticator is missing (h:legalAuthenticator)', '/ClinicalDocument')],
    'legal without time': [('legalAuthenticator/time is missing (h:time)', '/ClinicalDocument/legalAuthenticator[1]')],
    'legal time without offset': [("legalAuthenticator/time must be a timestamp to the minute at least with a time zone offset (e.g. 20240131143000+0100), got '20240301103000'", '/ClinicalDocument/legalAuthenticator[1]/time[1]')],
    'legal without signatureCode': [('legalAuthenticator/signatureCode is missing (h:signatureCode)', '/ClinicalDocument/legalAuthenticator[1]')],
    'legal signature X': [('signatureCode must be S', '/ClinicalDocument/legalAuthenticator[1]/signatureCode[1]')],
    'legal without entity id': [('assignedEntity/id is missing (h:assignedEntity/h:id)', '/ClinicalDocument/legalAuthenticator[1]')],
    'no documentationOf': [('documentationOf/serviceEvent is missing', '/ClinicalDocument')],
    'serviceEvent without time': [('serviceEvent/effectiveTime is missing', '/ClinicalDocument/documentationOf[1]/serviceEvent[1]')],
    'two performers': [('a serviceEvent has at most one performer', '/ClinicalDocument/documentationOf[1]/serviceEvent[1]')],
    'practice setting system': [('standardIndustryClassCode code system must be 1.2.250.1.213.1.1.4.9', '/ClinicalDocument/documentationOf[1]/serviceEvent[1]/performer[1]/assignedEntity[1]/representedOrganization[1]/standardIndustryClassCode[1]')],
    'no practice setting': [('the practice setting (serviceEvent/performer/assignedEntity/representedOrganization/standardIndustryClassCode, JDV_J04) is missing', '/ClinicalDocument/documentationOf[1]/serviceEvent[1]')],
    'no componentOf': [('encompassingEncounter is missing (h:componentOf/h:encompassingEncounter)', '/ClinicalDocument')],
    'encounter without time': [('encompassingEncounter/effectiveTime is missing (h:effectiveTime)', '/ClinicalDocument/componentOf[1]/encompassingEncounter[1]')],
    'no facility code': [('healthCareFacility/code is missing (h:location/h:healthCareFacility/h:code)', '/ClinicalDocument/componentOf[1]/encompassingEncounter[1]')],
    'facility code system': [('healthCareFacility/code code system must be 1.2.250.1.71.4.2.4', '/ClinicalDocument/componentOf[1]/encompassingEncounter[1]/location[1]/healthCareFacility[1]/code[1]')],
    'no body': [('the document has neither nonXMLBody nor structuredBody', '/ClinicalDocument')],
    'body text/html': [("mediaType 'text/html' is not allowed; allowed: application/pdf, text/plain, text/rtf, image/jpeg, image/tiff", '/ClinicalDocument/component[1]/nonXMLBody[1]/text[1]')],
    'body without mediaType': [("mediaType '' is not allowed; allowed: application/pdf, text/plain, text/rtf, image/jpeg, image/tiff", '/ClinicalDocument/component[1]/nonXMLBody[1]/text[1]')],
    'body not B64': [('a level-1 body is base64 (representation B64)', '/ClinicalDocument/component[1]/nonXMLBody[1]/text[1]')],
    'body not base64': [('the body is not valid base64', '/ClinicalDocument/component[1]/nonXMLBody[1]/text[1]')],
    'body empty': [('the body is empty', '/ClinicalDocument/component[1]/nonXMLBody[1]/text[1]')],
    'PDF body that is not a PDF': [('the body is not a PDF (no %PDF- signature)', '/ClinicalDocument/component[1]/nonXMLBody[1]/text[1]')],
}
# fmt: on


def test_every_broken_case_has_its_issues() -> None:
    assert set(ISSUES) == set(BROKEN)


@pytest.mark.parametrize("case", list(BROKEN))
def test_one_broken_thing_says_it_whole(case: str) -> None:
    base, mutate, _ = BROKEN[case]
    root = base()
    mutate(root)
    assert [(i.message, i.location) for i in _errors(root)] == ISSUES[case]


def test_a_document_that_is_not_a_clinical_document() -> None:
    issues = check_header(etree.fromstring(b'<ClinicalDocument xmlns="urn:hl7-org:v2"/>'))
    assert [(i.rule, i.location) for i in issues] == [("segurlink:root", "/ClinicalDocument")]
    assert issues[0].message == "the root element is not {urn:hl7-org:v3}ClinicalDocument"


# Documents the rules must accept: each pins a literal or a boundary of a rule.
# fmt: off
ACCEPTED: dict[str, tuple[Callable[[], etree._Element], Mutation]] = {
    "version 2 as built": (v2, lambda root: None),
    "version 10": (v1, set_(f"{DOC}/h:versionNumber", "value", "10")),
    "parent without versionNumber": (v2, remove(f"{PARENT}/h:versionNumber")),
    "type code from TRE_A05": (v1, set_(f"{DOC}/h:code", "codeSystem", "1.2.250.1.213.1.1.4.12")),
    "confidentiality R": (v1, set_(f"{DOC}/h:confidentialityCode", "code", "R")),
    "confidentiality V": (v1, set_(f"{DOC}/h:confidentialityCode", "code", "V")),
    "time to the minute": (v1, set_(f"{DOC}/h:effectiveTime", "value", "202403011030+0100")),
    "time with fraction": (v1, set_(f"{DOC}/h:effectiveTime", "value",
                                    "20240301103000.250-0330")),
    "patient id nullFlavor": (v1, both(set_(f"{ROLE}/h:id[2]", "root", None),
                                       set_(f"{ROLE}/h:id[2]", "nullFlavor", "UNK"))),
    "INS extension 2A": (v1, set_(f"{ROLE}/h:id[1]", "extension", "297022A02077878")),
    "INS extension 2B": (v1, set_(f"{ROLE}/h:id[1]", "extension", "160012B02077713")),
    "sex U": (v1, set_(f"{PATIENT}/h:administrativeGenderCode", "code", "U")),
    "sex M": (v1, set_(f"{PATIENT}/h:administrativeGenderCode", "code", "M")),
    "sex nullFlavor": (v1, both(set_(f"{PATIENT}/h:administrativeGenderCode", "code", None),
                                set_(f"{PATIENT}/h:administrativeGenderCode", "codeSystem", None),
                                set_(f"{PATIENT}/h:administrativeGenderCode", "nullFlavor",
                                     "UNK"))),
    "birth place 2A": (v1, text(f"{PATIENT}//h:county", "2A004")),
    "birth place 2B": (v1, text(f"{PATIENT}//h:county", "2B033")),
    "birth place abroad": (v1, text(f"{PATIENT}//h:county", "99134")),
    "software author": (lambda: build_element(make_document(software_author=True)),
                        lambda root: None),
    "practice setting from TRE_A00": (v1, set_("//h:standardIndustryClassCode", "codeSystem",
                                               "1.2.250.1.213.1.1.4.6")),
    "facility code from TRE_A00": (v1, set_("//h:healthCareFacility/h:code", "codeSystem",
                                            "1.2.250.1.213.1.1.4.6")),
    "facility code nullFlavor": (v1, both(set_("//h:healthCareFacility/h:code", "codeSystem",
                                               None),
                                          set_("//h:healthCareFacility/h:code", "nullFlavor",
                                               "UNK"))),
    "a text body": (v1, both(set_(BODY_TEXT, "mediaType", "text/plain"),
                             text(BODY_TEXT, base64.b64encode(b"hello").decode()))),
    "base64 split on lines": (v1, lambda root: setattr(
        one(root, BODY_TEXT), "text", "\n".join(one(root, BODY_TEXT).text or ""))),
}
# fmt: on


@pytest.mark.parametrize("case", list(ACCEPTED))
def test_what_the_rules_accept(case: str) -> None:
    base, mutate = ACCEPTED[case]
    root = base()
    mutate(root)
    assert _errors(root) == []


def test_a_provisional_patient_needs_no_strict_traits() -> None:
    from .factory import provisional_patient

    root = build_element(make_document(patient=provisional_patient()))
    remove(f"{PATIENT}/h:birthplace")(root)
    remove(f"{PATIENT}/h:birthTime")(root)
    assert _errors(root) == []


def test_a_structured_body_is_a_body() -> None:
    root = v1()
    component = one(root, f"{DOC}/h:component")
    component.remove(one(root, "//h:nonXMLBody"))
    etree.SubElement(component, f"{{{H}}}structuredBody")
    # Without nonXMLBody, the XDS-SD templateId is not required either.
    remove(f"{DOC}/h:templateId[@root='1.3.6.1.4.1.19376.1.2.20']")(root)
    assert _errors(root) == []


def test_context_times_without_offset_are_warnings_only() -> None:
    root = v1()
    set_(f"{EVENT}/h:effectiveTime/h:low", "value", "20240228103000")(root)
    set_(f"{ENCOUNTER}/h:effectiveTime/h:low", "value", "202301261030")(root)
    issues = check_header(root)
    assert [(i.severity, i.rule) for i in issues] == [
        ("warning", "segurlink:context-time-zone"),
        ("warning", "segurlink:context-time-zone"),
    ]
    assert issues[0].location.endswith("/serviceEvent[1]/effectiveTime[1]/low[1]")
    # A date alone has no time of day, so no offset to ask for.
    set_(f"{EVENT}/h:effectiveTime/h:low", "value", "20240228")(root)
    assert len(check_header(root)) == 1
    # Anything longer than a date is a time of day.
    set_(f"{EVENT}/h:effectiveTime/h:low", "value", "202402281")(root)
    assert len(check_header(root)) == 2
    set_(f"{EVENT}/h:effectiveTime/h:low", "value", "20240228")(root)
    # The end of the interval too, and the time to the hour.
    set_(f"{EVENT}/h:effectiveTime/h:high", "value", "2024030110")(root)
    issues = check_header(root)
    assert [i.location.rsplit("/", 1)[-1] for i in issues] == ["high[1]", "low[1]"]
    assert all(i.severity == "warning" for i in issues)


# -- a male patient ----------------------------------------------------------------------------

#: ADRTROIS TOUSSAINT, a male test person of the INSi platform born in Haute-Corse (2B).
TOUSSAINT = IdentityTraits.from_input(
    birth_name="Adrtrois",
    first_names="Toussaint",
    sex="M",
    birth_date="1960-01-01",
    birth_place="2B020",
)


def male_document() -> etree._Element:
    record = IdentityRecord(
        TOUSSAINT,
        IdentityStatus.QUAL,
        Ins.parse("160012B02077713", "1.2.250.1.213.1.4.10"),
        id_document=IdDocumentKind.NATIONAL_ID_CARD,
    )
    patient = dataclasses.replace(qualified_patient(), identity=record)
    return build_element(make_document(patient=patient))


def test_a_male_patient() -> None:
    root = male_document()
    gender = one(root, f"{PATIENT}/h:administrativeGenderCode")
    assert dict(gender.attrib) == {  # type: ignore[misc]
        "code": "M",
        "displayName": "Masculin",
        "codeSystem": "2.16.840.1.113883.5.1",
    }
    assert check_header(root) == []
    header = parse_header(root)
    assert header.patient.sex == "M"
    assert header.patient.ins == Ins("160012B020777", "13", "1.2.250.1.213.1.4.10")
    assert header.patient.birth_place == "2B020"
    assert header.patient.birth_name == "ADRTROIS"
    assert [i.root for i in header.patient.ids] == ["1.2.250.1.213.1.4.10", IPP_ROOT]


def test_a_female_patient_is_feminin() -> None:
    gender = one(v1(), f"{PATIENT}/h:administrativeGenderCode")
    assert (gender.get("code"), gender.get("displayName")) == ("F", "Féminin")


# -- the order rule reads only the CDA header elements -------------------------------------


def test_the_order_is_checked_past_comments_and_foreign_elements() -> None:
    root = v1()
    root.insert(0, etree.Comment("produced by a DUI"))
    root.insert(1, etree.Element(f"{{{H}}}futureElement"))  # not a header element of CDA R2
    # an extension element named like a header element, in another namespace, at the end
    etree.SubElement(root, "{urn:hl7-org:sdtc}id", root="1.2.3")
    assert _errors(root) == []
    move_before(f"{DOC}/h:title", f"{DOC}/h:code")(root)
    assert [(i.message, i.location) for i in _errors(root)] == [
        ("code must come before title (CDA R2 order)", "/ClinicalDocument/code[1]")
    ]


def test_every_author_is_checked() -> None:
    root = v1()
    author = one(root, "//h:author")
    second = copy.deepcopy(author)
    author.addnext(second)
    author.remove(one(author, "h:assignedAuthor"))
    second.remove(one(second, "h:time"))
    assert [(i.message, i.location) for i in _errors(root)] == [
        ("assignedAuthor is missing (h:assignedAuthor)", "/ClinicalDocument/author[1]"),
        ("author time is missing (h:time)", "/ClinicalDocument/author[2]"),
    ]


def test_a_context_time_without_offset_says_so() -> None:
    root = v1()
    set_(f"{EVENT}/h:effectiveTime/h:low", "value", "20240228103000")(root)
    (issue,) = check_header(root)
    assert issue.message == (
        "a time of day needs its time zone offset (e.g. +0100), got '20240228103000'"
    )


# -- reading timestamps and codes ----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "read"),
    [
        ("20240131143015-0330", "2024-01-31T14:30:15-03:30"),
        ("20240131143015+0545", "2024-01-31T14:30:15+05:45"),
        ("202401311430+1000", "2024-01-31T14:30:00+10:00"),
        ("2024013114", "2024-01-31T14:00:00"),
        ("20240131", "2024-01-31T00:00:00"),
        ("202402", "2024-02-01T00:00:00"),
        ("2024", "2024-01-01T00:00:00"),
        ("20240131143015.250+0100", "2024-01-31T14:30:15+01:00"),
    ],
)
def test_parse_ts_reads_every_precision(value: str, read: str) -> None:
    from segurlink.cda import parse_ts

    parsed = parse_ts(value)
    assert parsed is not None and parsed.isoformat() == read


@pytest.mark.parametrize("value", [None, "", "2024-01-31", "20240231", "２０２４"])
def test_parse_ts_gives_none_for_what_is_no_timestamp(value: str | None) -> None:
    from segurlink.cda import parse_ts

    assert parse_ts(value) is None


def test_codes_without_display_name_read_as_empty_texts() -> None:
    root = v1()
    code = one(root, f"{DOC}/h:code")
    for name in ("displayName", "codeSystemName"):
        code.attrib.pop(name, "")
    header = parse_header(root)
    assert header.type_code is not None
    assert (header.type_code.display_name, header.type_code.code_system_name) == ("", "")
    set_(f"{DOC}/h:code", "codeSystem", None)(root)
    assert parse_header(root).type_code is None  # a code without its system is no code


def _rule_ids_in_the_source() -> set[str]:
    """Every rule id the header rules can report, read from their source (ast)."""
    import ast
    import importlib
    import inspect
    import re

    # segurlink.cda.validate is also the name of a function the package exports
    rules_module = importlib.import_module("segurlink.cda.validate")
    position = {"add": 0, "require": 2, "ts_with_tz": 1}
    tree = ast.parse(inspect.getsource(rules_module._Rules))
    # Under mutation testing the class also holds the mutants (``<name>__mutmut_<n>``).
    methods = [
        f
        for f in ast.walk(tree)
        if isinstance(f, ast.FunctionDef) and not re.search(r"__mutmut_\d+$", f.name)
    ]
    found: set[str] = set()
    for node in (n for method in methods for n in ast.walk(method)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in position
            and len(node.args) > position[node.func.attr]
        ):
            arg = node.args[position[node.func.attr]]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.add(arg.value)
    return found


def test_every_rule_has_a_failing_case() -> None:
    rules = _rule_ids_in_the_source()
    assert len(rules) > 25  # the reader finds them
    covered = {rule for _, _, expected in BROKEN.values() for rule, _, _ in expected}
    # root and context-time-zone have tests of their own above
    assert rules - covered == {"root", "context-time-zone"}
