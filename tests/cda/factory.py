"""A complete, deterministic document model for the CDA tests (and the benchmark)."""

from __future__ import annotations

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
    SoftwareDevice,
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
#: A minimal valid PDF (tests do not need a real page).
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
IPP_ROOT = "1.2.250.1.71.4.2.7.99.1"

TRAITS = IdentityTraits.from_input(
    birth_name="Pat-Trois",
    first_names="Dominique Marie-Louise",
    sex="F",
    birth_date="1979-03-28",
    birth_place="51215",
    used_name="Durand",
    used_first_name="Domi",
)
# Test INS (OID .10 = NIR de test): the key matches the matricule.
INS = Ins.parse("279035121518989", "1.2.250.1.213.1.4.10")


def qualified_patient() -> Patient:
    record = IdentityRecord(TRAITS, IdentityStatus.QUAL, INS, id_document=IdDocumentKind.PASSPORT)
    return Patient(record, (InstanceId(IPP_ROOT, "IPP0001"),))


def provisional_patient(*, with_ipp: bool = True) -> Patient:
    record = IdentityRecord(TRAITS, IdentityStatus.PROV)
    return Patient(record, (InstanceId(IPP_ROOT, "IPP0001"),) if with_ipp else ())


NURSE = Professional(
    "10001234567",
    PersonName("BLEEDER", ("Roberta",), prefix="MME"),
    Code("G15_60", "1.2.250.1.213.1.1.4.5", "Infirmier"),
)
DOCTOR = Professional(
    "10009876543",
    PersonName("CAMPARINI", ("Marcel",), suffix="DR"),
    Code("G15_10/SM26", "1.2.250.1.213.1.1.4.5", "Qualifié en Médecine Générale (SM)"),
)
EHPAD = Organization.from_finess("010000016", "EHPAD Les Tilleuls")


def make_document(
    type_key: str = "PPA",
    *,
    patient: Patient | None = None,
    body: Attachment | None = None,
    software_author: bool = False,
    seed: int = 1,
) -> ClinicalDocument:
    ids = iter(uuid.UUID(int=seed * 1000 + n) for n in range(10))
    if software_author:
        author = Author(
            T0,
            EHPAD,
            device=SoftwareDevice(
                InstanceId("1.2.250.1.71.4.2.2", "1010000016"), "MonDUI 4.2", "MonDUI"
            ),
        )
    else:
        author = Author(T0, EHPAD, professional=NURSE)
    return ClinicalDocument(
        document_type=document_type(type_key),
        id=InstanceId.new(uuid_factory=lambda: next(ids)),
        set_id=InstanceId.new(uuid_factory=lambda: next(ids)),
        effective_time=T0,
        patient=patient or qualified_patient(),
        authors=(author,),
        custodian=EHPAD,
        legal_authenticator=LegalAuthenticator(T0, DOCTOR),
        service_event=ServiceEvent(
            start=T0 - dt.timedelta(days=2),
            end=T0,
            practice_setting=practice_setting("ESSMS"),
            performer=NURSE,
            organization=EHPAD,
        ),
        encounter=Encounter(
            start=T0 - dt.timedelta(days=400), facility_type=facility_type("SA17"), facility=EHPAD
        ),
        body=body or Attachment(PDF),
        confidentiality=confidentiality("N"),
    )
