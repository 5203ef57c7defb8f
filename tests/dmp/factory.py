"""Deterministic CDA documents and an RSA signer for the DMP tests (and the benchmark)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

from segurlink.cda import (
    Attachment,
    Author,
    ClinicalDocument,
    Encounter,
    InstanceId,
    LegalAuthenticator,
    Organization,
    Patient,
    PersonName,
    Professional,
    ServiceEvent,
    build_document,
    confidentiality,
    document_type,
    facility_type,
    practice_setting,
)
from segurlink.cda.models import Code
from segurlink.identity import IdentityRecord, IdentityStatus, IdentityTraits, Ins
from segurlink.identity.rniv import IdDocumentKind

PARIS = dt.timezone(dt.timedelta(hours=1))
T0 = dt.datetime(2024, 3, 1, 10, 30, 0, tzinfo=PARIS)
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
IPP_ROOT = "1.2.250.1.999.1.1.2"
FINESS = "010000016"
STRUCTURE_ID = "1" + FINESS
STRUCTURE = Organization.from_finess(FINESS, "EHPAD SEGURLINK TEST")

#: Test patients of the DMP mock (contract).
ZOE = ("275126322074974", "ADRUN", "ZOE", "F", "1975-12-31")
DOMINIQUE = ("297022A02077878", "ADRTROIS", "DOMINIQUE", "F", "1997-02-01")
CATARINA = ("236066322083656", "TCHITCHI", "CATARINA", "F", "1936-06-01")
MICHELANGELO = ("110086322083060", "NESSI", "MICHELANGELO", "M", "2010-08-07")

NURSE = Professional(
    "10001234567",
    PersonName("BLEEDER", ("Roberta",)),
    Code("G15_60", "1.2.250.1.213.1.1.4.5", "Infirmier"),
)
DOCTOR = Professional(
    "10009876543",
    PersonName("CAMPARINI", ("Marcel",)),
    Code("G15_10/SM26", "1.2.250.1.213.1.1.4.5", "Qualifié en Médecine Générale (SM)"),
)


def record(person: tuple[str, str, str, str, str] = ZOE) -> IdentityRecord:
    ins_value, family, given, sex, birth = person
    traits = IdentityTraits.from_input(
        birth_name=family,
        first_names=given,
        sex=sex,
        birth_date=birth,
        birth_place=ins_value[5:10],  # the NIR carries the birth place code
    )
    ins = Ins(ins_value[:13], ins_value[13:], "1.2.250.1.213.1.4.8")
    return IdentityRecord(traits, IdentityStatus.QUAL, ins, id_document=IdDocumentKind.PASSPORT)


def patient_ins(person: tuple[str, str, str, str, str] = ZOE) -> Ins:
    return Ins(person[0][:13], person[0][13:], "1.2.250.1.213.1.4.8")


def make_document(
    person: tuple[str, str, str, str, str] = ZOE,
    *,
    seed: int = 1,
    body: bytes = PDF,
    organization: Organization = STRUCTURE,
    type_key: str = "PPA",
) -> ClinicalDocument:
    ids = iter(uuid.UUID(int=seed * 1000 + n) for n in range(10))
    return ClinicalDocument(
        document_type=document_type(type_key),
        id=InstanceId.new(uuid_factory=lambda: next(ids)),
        set_id=InstanceId.new(uuid_factory=lambda: next(ids)),
        effective_time=T0,
        patient=Patient(record(person), (InstanceId(IPP_ROOT, f"IPP{seed:04d}"),)),
        authors=(Author(T0, organization, professional=NURSE),),
        custodian=organization,
        legal_authenticator=LegalAuthenticator(T0, DOCTOR),
        service_event=ServiceEvent(
            start=T0 - dt.timedelta(days=2),
            end=T0,
            practice_setting=practice_setting("ESSMS"),
            performer=NURSE,
            organization=organization,
        ),
        encounter=Encounter(
            start=T0 - dt.timedelta(days=400),
            facility_type=facility_type("SA17"),
            facility=organization,
        ),
        body=Attachment(body),
        confidentiality=confidentiality("N"),
    )


def cda(person: tuple[str, str, str, str, str] = ZOE, **kwargs: object) -> bytes:
    return build_document(make_document(person, **kwargs))  # type: ignore[arg-type]


def replacement(
    document: ClinicalDocument, *, seed: int, body: bytes = PDF + b"%v2\n"
) -> ClinicalDocument:
    new_id = InstanceId.new(uuid_factory=lambda: uuid.UUID(int=seed * 1000 + 99))
    return document.replacement(
        id=new_id, effective_time=T0 + dt.timedelta(hours=1), body=Attachment(body)
    )


def replace_fields(document: ClinicalDocument, **changes: object) -> ClinicalDocument:
    return dataclasses.replace(document, **changes)  # type: ignore[arg-type]
