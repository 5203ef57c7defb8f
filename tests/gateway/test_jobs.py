"""The gateway's job builders and error mappings, without network nor servers: the jobs an
accepted message becomes (DMP deposit, one mail per audience), the ZAM jobs, the VIHF
subject of a PRT sender, the ERR-5 of a failed deposit or send (issue 19: mutation
testing). The deliveries themselves run end to end in test_end_to_end.py."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from segurlink.errors import (
    ConfigurationError,
    InputError,
    NotFound,
    SoapFault,
    TransportError,
    XdsError,
    XdsIssue,
)
from segurlink.gateway import Action, BusinessAck, BusinessAckKind
from segurlink.gateway.jobs import (
    SMTP_ERRORS,
    _dmp_error,
    _order_json,
    _professional,
    business_ack_job,
    message_jobs,
    smtp_error,
    zam_control_id,
)
from segurlink.gateway.models import DmpOrder, MailOrder, Routing
from segurlink.mssante import Draft
from segurlink.outbox.models import Job, JobState, NewJob
from segurlink.outbox.mssante import draft_of, message_id_for
from segurlink.psc.models import ProfessionalIdentity

STRUCTURE = "010000016"
KEY = "DUI|MSG0001|3f2a"  # the gateway's key of a message (sender, MSH-10, content)
SET_ID = "1.2.250.1.213.1.1.9.ST.42"
DOCUMENT = b"<ClinicalDocument>the CDA</ClinicalDocument>"
MAILBOX = "gateway@ehpad.mssante.fr"
DR = "dr.hoda@hopital.mssante.fr"
ZOE = "275126322074974@patient.mssante.fr"

ORDER = DmpOrder(
    action=Action.REPLACE,
    hidden_from=("INVISIBLE_PATIENT", "INVISIBLE_REPRESENTANTS_LEGAUX"),
    sender_id="801234567866",
    sender_family="DUPONT",
    sender_given="JEAN",
    content_type=("97", "1.2.250.1.213.2.2", "Établissement"),
)
TO_PS = MailOrder(
    audience="ps",
    to=(DR, "secretariat@clinique.mssante.fr"),
    text="Cher confrère",
    reply_to="sec@ehpad.mssante.fr",
    action=Action.REPLACE,
    delivery_receipts=True,
    read_receipts=False,
    people=((DR, "810001234567"),),
)
TO_PATIENT = MailOrder(
    audience="patient",
    to_patient=True,
    text="Bonjour",
    no_reply=True,
    action=Action.INITIAL,
    delivery_receipts=False,
    read_receipts=True,
    people=((ZOE, "275126322074974"),),
)


def jobs(routing: Routing, **changes: Any) -> list[NewJob]:
    arguments: dict[str, Any] = {
        "key": KEY,
        "structure": STRUCTURE,
        "control_id": "MSG0001",
        "producer": ("DUI", "EHPAD"),
        "processing_id": "T",
        "chain": SET_ID,
        "document": DOCUMENT,
        "routing": routing,
        "mail_sender": MAILBOX,
    }
    return message_jobs(**{**arguments, **changes})


def stored(new: NewJob) -> Job:
    """The job as the outbox gives it to a worker."""
    now = dt.datetime(2024, 3, 1, 10, 30, tzinfo=dt.UTC)
    return Job(
        1,
        new.kind,
        new.structure,
        new.key,
        JobState.RUNNING,
        1,
        now,
        now,
        now,
        now,
        payload=new.payload,
        blobs=new.blobs,
        ordering_key=new.ordering_key,
    )


# -- message_jobs: the DMP job -------------------------------------------------------------------


def test_the_dmp_job_carries_the_order_the_reference_and_the_cda() -> None:
    (job,) = jobs(Routing(dmp=ORDER, dmp_receipt=True), mail_sender="")  # no mailbox needed
    assert (job.kind, job.structure, job.key) == ("gateway.dmp", STRUCTURE, KEY)
    assert dict(job.payload) == {
        "action": "replace",
        "hidden_from": ["INVISIBLE_PATIENT", "INVISIBLE_REPRESENTANTS_LEGAUX"],
        "sender": ["801234567866", "DUPONT", "JEAN"],
        "content_type": ["97", "1.2.250.1.213.2.2", "Établissement"],
        "control_id": "MSG0001",
        "producer": ["DUI", "EHPAD"],
        "processing_id": "T",
        "receipt": True,
    }
    assert dict(job.blobs) == {"cda": DOCUMENT}


def test_the_dmp_job_asks_a_receipt_only_when_the_producer_did() -> None:
    (job,) = jobs(Routing(dmp=ORDER, dmp_receipt=False))
    assert job.payload["receipt"] is False


def test_dmp_jobs_of_one_document_are_chained_by_its_set_id() -> None:
    (t02,) = jobs(Routing(dmp=DmpOrder(Action.INITIAL)), key="DUI|MSG0001|a")
    (t10,) = jobs(Routing(dmp=ORDER), key="DUI|MSG0002|b")
    (other,) = jobs(Routing(dmp=ORDER), key="DUI|MSG0003|c", chain="1.2.3.ST.7")
    assert t02.ordering_key == t10.ordering_key == f"gateway-dmp:{STRUCTURE}:{SET_ID}"
    assert other.ordering_key == f"gateway-dmp:{STRUCTURE}:1.2.3.ST.7"
    assert len({t02.key, t10.key, other.key}) == 3


def test_an_order_as_the_job_keeps_it() -> None:
    assert _order_json(DmpOrder(Action.DELETE, sender_id="801234567866")) == {
        "action": "delete",
        "hidden_from": [],
        "sender": ["801234567866", "", ""],
        "content_type": None,  # the DMP client's default (the structure's)
    }
    assert _order_json(ORDER)["content_type"] == ["97", "1.2.250.1.213.2.2", "Établissement"]


# -- message_jobs: the mail jobs ------------------------------------------------------------------


def test_one_mail_job_per_audience_keyed_by_the_message_and_the_audience() -> None:
    dmp, ps, patient = jobs(Routing(dmp=ORDER, mails=(TO_PS, TO_PATIENT)))
    assert (dmp.kind, ps.kind, patient.kind) == ("gateway.dmp", "gateway.mail", "gateway.mail")
    # the job's key is the Message-ID derived from "<key>/<audience>"
    assert ps.key == message_id_for(f"{KEY}/ps", MAILBOX)
    assert patient.key == message_id_for(f"{KEY}/patient", MAILBOX)
    assert ps.key.endswith("@ehpad.mssante.fr>") and ps.key != patient.key
    assert (ps.structure, patient.structure) == (STRUCTURE, STRUCTURE)
    assert ps.ordering_key == f"gateway-mail:{STRUCTURE}:{SET_ID}:ps"
    assert patient.ordering_key == f"gateway-mail:{STRUCTURE}:{SET_ID}:patient"


def test_the_mail_to_professionals() -> None:
    (job,) = jobs(Routing(mails=(TO_PS,)))
    assert draft_of(stored(job)) == Draft(
        sender=MAILBOX,
        to=(DR, "secretariat@clinique.mssante.fr"),
        documents=(DOCUMENT,),
        text="Cher confrère",
        patient_from_document=False,
        patient_may_reply=True,
        action="replace",
        receipt=False,  # no read receipts asked
        reply_to="sec@ehpad.mssante.fr",
        message_id=message_id_for(f"{KEY}/ps", MAILBOX),
    )
    assert job.payload["notify"] == ["SUCCESS", "FAILURE"]  # delivery receipts asked
    assert job.payload["reference"] == {
        "control_id": "MSG0001",
        "producer": ["DUI", "EHPAD"],
        "processing_id": "T",
        "audience": "ps",
        "delivery_receipts": True,
        "read_receipts": False,
        "people": {DR: "810001234567"},
    }


def test_the_mail_to_the_patient() -> None:
    (job,) = jobs(Routing(mails=(TO_PATIENT,)))
    assert draft_of(stored(job)) == Draft(
        sender=MAILBOX,
        to=(),
        documents=(DOCUMENT,),
        text="Bonjour",
        patient_from_document=True,
        patient_may_reply=False,  # NTE FIN
        action=None,  # a first version
        receipt=True,  # read receipts asked
        reply_to=None,
        message_id=message_id_for(f"{KEY}/patient", MAILBOX),
    )
    assert job.payload["notify"] == ["FAILURE"]  # no delivery receipt asked: failures only
    assert job.payload["reference"] == {
        "control_id": "MSG0001",
        "producer": ["DUI", "EHPAD"],
        "processing_id": "T",
        "audience": "patient",
        "delivery_receipts": False,
        "read_receipts": True,
        "people": {ZOE: "275126322074974"},
    }


def test_a_deletion_is_mailed_as_one() -> None:
    deletion = MailOrder(audience="ps", to=(DR,), action=Action.DELETE)
    (job,) = jobs(Routing(mails=(deletion,)))
    assert draft_of(stored(job)).action == "delete"


def test_a_message_goes_somewhere() -> None:
    with pytest.raises(InputError) as caught:
        jobs(Routing(dmp_receipt=True))
    assert caught.value.message == "an accepted message goes to the DMP or by MSSanté"


def test_mails_need_the_gateways_mailbox() -> None:
    with pytest.raises(ConfigurationError) as caught:
        jobs(Routing(dmp=ORDER, mails=(TO_PATIENT,)), mail_sender="")
    assert caught.value.message == "the gateway's MSSanté mailbox ([mssante] address) is not set"
    with pytest.raises(ConfigurationError):  # nor when the caller gives none
        message_jobs(
            key=KEY,
            structure=STRUCTURE,
            control_id="MSG0001",
            producer=("DUI", "EHPAD"),
            processing_id="P",
            chain=SET_ID,
            document=DOCUMENT,
            routing=Routing(mails=(TO_PS,)),
        )


def test_the_same_message_gives_the_same_jobs() -> None:
    routing = Routing(dmp=ORDER, mails=(TO_PS, TO_PATIENT), dmp_receipt=True)
    first, again = jobs(routing), jobs(routing)
    assert [(j.kind, j.key, j.ordering_key, j.fingerprint) for j in first] == [
        (j.kind, j.key, j.ordering_key, j.fingerprint) for j in again
    ]
    other = jobs(routing, key="DUI|MSG0002|3f2a")
    assert {j.key for j in other}.isdisjoint(j.key for j in first)


# -- business_ack_job: the ZAM jobs ---------------------------------------------------------------

REFUSED = BusinessAck(
    BusinessAckKind.MSS_DELIVERY,
    "MSG0001",
    False,
    address="Dr.Hoda@hopital.mssante.fr",
    person_id="810001234567",
    error_code="550",
    error_label=SMTP_ERRORS["550"],
    error_system="SMTPERRORCODE",
)


def zam(ack: BusinessAck, discriminator: str = "<m1@ehpad.mssante.fr>") -> NewJob:
    return business_ack_job(
        ack, structure=STRUCTURE, producer=["DUI", "EHPAD"], discriminator=discriminator
    )


def test_a_zam_job_carries_the_acknowledgement_and_where_to_send_it() -> None:
    job = business_ack_job(
        REFUSED, structure=STRUCTURE, producer=("DUI", "EHPAD"), processing_id="T"
    )
    assert (job.kind, job.structure) == ("gateway.zam", STRUCTURE)
    assert dict(job.payload) == {
        "kind": "Z02",
        "original_control_id": "MSG0001",
        "success": False,
        "address": "Dr.Hoda@hopital.mssante.fr",
        "person_id": "810001234567",
        "error": ["550", SMTP_ERRORS["550"], "SMTPERRORCODE"],
        "producer": ["DUI", "EHPAD"],
        "processing_id": "T",
    }
    assert dict(job.blobs) == {}
    # the ZAMs of one message go in order, after each other
    assert job.ordering_key == f"gateway-zam:{STRUCTURE}:MSG0001"


def test_a_zam_is_in_production_unless_told() -> None:
    assert zam(REFUSED).payload["processing_id"] == "P"


def test_one_zam_job_per_message_event_recipient_and_outcome() -> None:
    one = zam(REFUSED)
    assert one.key == zam(REFUSED).key
    message, event, recipient, outcome = one.key.split("|")
    assert (message, event, outcome) == ("MSG0001", "Z02", "N")
    assert len(recipient) == 16 and "hoda" not in recipient.lower()  # no address in a key
    variants = [
        BusinessAck(BusinessAckKind.MSS_DELIVERY, "MSG0002", False, address=REFUSED.address),
        BusinessAck(BusinessAckKind.MSS_READ, "MSG0001", False, address=REFUSED.address),
        BusinessAck(BusinessAckKind.MSS_DELIVERY, "MSG0001", False, address="b@x.mssante.fr"),
        BusinessAck(BusinessAckKind.MSS_DELIVERY, "MSG0001", True, address=REFUSED.address),
    ]
    keys = {one.key} | {zam(ack).key for ack in variants}
    assert len(keys) == 5
    # another mail of the same message (another Message-ID) to the same person: another job
    assert zam(REFUSED, discriminator="<m2@ehpad.mssante.fr>").key != one.key
    # an error code or label does not make another acknowledgement
    assert zam(BusinessAck(REFUSED.kind, "MSG0001", False, REFUSED.address)).key == one.key


def test_a_recipient_is_the_same_whatever_the_case_of_its_address() -> None:
    upper = BusinessAck(REFUSED.kind, "MSG0001", False, address=REFUSED.address.upper())
    assert zam(upper).key == zam(REFUSED).key


def test_zam_job_keys_do_not_change_between_versions() -> None:
    # the outbox holds keys written by the previous release: an acknowledgement queued
    # again after an upgrade must find its job
    assert zam(REFUSED).key == "MSG0001|Z02|86da39acfe88f526|N"
    dmp = BusinessAck(BusinessAckKind.DMP_RECEIPT, "MSG0001", True)
    job = business_ack_job(dmp, structure=STRUCTURE, producer=["DUI", "EHPAD"])
    assert job.key == "MSG0001|Z01|96a296d224f285c6|Y"


def test_zam_control_ids_do_not_change_between_versions() -> None:
    # MSH-10 of a ZAM sent again (after a restart, an upgrade) is the same: the producer
    # recognises it
    assert zam_control_id("MSG0001|Z02|x|N") == "SZ0AA4DFF5289B6A305F"
    control_id = zam_control_id(zam(REFUSED).key)
    assert len(control_id) == 20 and control_id[:2] == "SZ"
    assert all(c in "0123456789ABCDEF" for c in control_id[2:])


# -- _professional: the VIHF subject of the PRT sender -----------------------------------------------


def test_a_prt_sender_signs_in_with_his_national_id_and_the_platforms_profession() -> None:
    assert _professional(["801234567866", "DUPONT", "JEAN"], "10") == ProfessionalIdentity(
        national_id="801234567866",
        family_name="DUPONT",
        given_name="JEAN",
        roles=("10^1.2.250.1.71.1.2.7",),
    )
    assert _professional(["801234567866", "DUPONT", "JEAN"], "21") == ProfessionalIdentity(
        national_id="801234567866",
        family_name="DUPONT",
        given_name="JEAN",
        roles=("21^1.2.250.1.71.1.2.7",),
    )


def test_a_sender_without_a_name_has_none() -> None:
    for sender in (["801234567866"], ["801234567866", "", ""]):
        assert _professional(sender, "10") == ProfessionalIdentity(
            national_id="801234567866", roles=("10^1.2.250.1.71.1.2.7",)
        )


def test_a_device_sender_signs_in_as_the_structures_responsible_person() -> None:
    assert _professional([], "10") is None
    assert _professional(["", "DUPONT", "JEAN"], "10") is None


# -- _dmp_error: ERR-5 of a failed deposit (Z01) ------------------------------------------------------

DMP_ERROR = "DMP_ERROR_CODE"
OTHER = "Autre erreur"
WRONG_VERSION = "Version du document incorrecte lors d'une demande de remplacement/suppression"


def test_an_xds_refusal_gives_its_first_error() -> None:
    refusal = XdsError(
        "refused",
        [
            XdsIssue("XDSUnknownPatientId", "Patient 275126322074974 inconnu", "Error"),
            XdsIssue("XDSRegistryError", "autre", "Error"),
        ],
    )
    assert _dmp_error(refusal, Action.INITIAL) == (
        "XDSUnknownPatientId",
        "Patient 27***********74 inconnu",  # no INS in a ZAM
        DMP_ERROR,
    )


def test_an_xds_refusal_without_errors_is_another_error() -> None:
    assert _dmp_error(XdsError("refused", []), Action.REPLACE) == (
        "906",
        OTHER,
        "applicationErrorCode",
    )


def test_a_dmp_error_label_is_cut_at_200_characters() -> None:
    context = "a" * 199 + "bc" + "d" * 100
    xds = XdsError("refused", [XdsIssue("XDSRegistryError", context, "Error")])
    assert _dmp_error(xds, Action.INITIAL)[1] == "a" * 199 + "b"
    fault = SoapFault("fault", code="Sender", reason=context)
    assert _dmp_error(fault, Action.INITIAL)[1] == "a" * 199 + "b"
    exact = "e" * 200
    assert _dmp_error(SoapFault(exact, code="Sender"), Action.INITIAL)[1] == exact


def test_a_soap_fault_gives_its_most_precise_code() -> None:
    def code(**codes: str) -> str:
        return _dmp_error(SoapFault("fault", reason="r", **codes), Action.INITIAL)[0]

    assert code(code="Sender", subcode="DMPClosed", detail_code="DMP_1234") == "DMP_1234"
    assert code(code="Sender", subcode="DMPClosed") == "DMPClosed"
    assert code(code="Receiver") == "Receiver"
    assert code() == "SOAP"


def test_a_soap_fault_gives_its_reason_else_its_message() -> None:
    with_reason = SoapFault(
        "HTTP 500 from the DMP", code="Sender", reason="Le patient 275126322074974 est inconnu"
    )
    assert _dmp_error(with_reason, Action.INITIAL) == (
        "Sender",
        "Le patient 27***********74 est inconnu",
        DMP_ERROR,
    )
    without = SoapFault("HTTP 500 from the DMP for 'ADRUN'", code="Sender")
    assert _dmp_error(without, Action.INITIAL) == (
        "Sender",
        "HTTP 500 from the DMP for '***'",
        DMP_ERROR,
    )


@pytest.mark.parametrize(
    ("error", "action", "code", "label"),
    [
        (InputError("the CDA carries no INS"), Action.DELETE, "900", WRONG_VERSION),
        (InputError("bad"), Action.REPLACE, "900", WRONG_VERSION),
        (NotFound("no document to delete"), Action.DELETE, "900", WRONG_VERSION),
        (NotFound("no document to replace"), Action.REPLACE, "900", WRONG_VERSION),
        (InputError("bad"), Action.INITIAL, "906", OTHER),
        (NotFound("gone"), Action.INITIAL, "906", OTHER),
        (TransportError("reset"), Action.DELETE, "906", OTHER),
        (TransportError("reset"), Action.INITIAL, "906", OTHER),
    ],
    ids=[
        "input-delete",
        "input-replace",
        "notfound-delete",
        "notfound-replace",
        "input-initial",
        "notfound-initial",
        "transport-delete",
        "transport-initial",
    ],
)
def test_other_failures_as_application_errors(
    error: Exception, action: Action, code: str, label: str
) -> None:
    # 900: the version to replace or delete is not the DMP's; anything else is 906
    assert _dmp_error(error, action) == (code, label, "applicationErrorCode")


# -- smtp_error: ERR-5 of a ZAM^Z02 ------------------------------------------------------------


def test_an_smtp_code_is_three_ascii_digits() -> None:
    # '²²²' and '٥٥٠' pass str.isdigit(); an SMTP reply code is ASCII (RFC 5321): such a
    # code is not one, the enhanced status decides
    assert smtp_error("²²²", "5.1.1") == ("550", SMTP_ERRORS["550"], "SMTPERRORCODE")
    assert smtp_error("٥٥٠", "4.2.2") == ("450", SMTP_ERRORS["450"], "SMTPERRORCODE")
    assert smtp_error("５５２") == ("554", SMTP_ERRORS["554"], "SMTPERRORCODE")


def test_the_smtp_reply_code_comes_first() -> None:
    assert smtp_error(552) == (
        "552",
        "Action abandonnée - Allocation de stockage dépassée.",
        "SMTPERRORCODE",
    )
    assert smtp_error("421", "5.1.1") == (
        "421",
        "Le service est indisponible en raison d'un problème de connexion.",
        "SMTPERRORCODE",
    )


def test_a_code_outside_the_table_has_no_label() -> None:
    assert smtp_error(571) == ("571", "", "SMTPERRORCODE")


def test_without_a_code_the_enhanced_status_class_decides() -> None:
    assert smtp_error(0, "5.1.1") == (
        "550",
        "Action non effectuée : boîte aux lettres non disponible",
        "SMTPERRORCODE",
    )
    assert smtp_error("", "4.4.1") == (
        "450",
        "Action non effectuée : boîte-aux-lettres non disponible",
        "SMTPERRORCODE",
    )
    assert smtp_error("55", "5.2.2")[0] == "550"  # not a code: two digits
    assert smtp_error("5500", "4.2.2")[0] == "450"  # nor four


def test_without_code_nor_failure_status_the_send_failed() -> None:
    assert smtp_error("") == ("554", "L'envoi a échoué.", "SMTPERRORCODE")
    assert smtp_error("", "2.0.0")[0] == "554"
    assert smtp_error("abc", "x")[0] == "554"
