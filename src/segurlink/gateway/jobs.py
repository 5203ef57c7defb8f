"""The gateway's outbox jobs: every step after the ACK is a durable job.

An accepted message becomes, in one transaction written before the ``AA`` is sent, a
``gateway.dmp`` job (deposit, replacement or deletion with the VIHF of the PRT sender)
and one ``gateway.mail`` job per audience (the outbox's MSSanté send, keyed by the
Message-ID); each of them queues the business acknowledgements, ``gateway.zam`` jobs that
send a ZAM to the producer over MLLP until it answers ``AA``. Mails received in the APP
mailbox become ``gateway.inbound`` jobs (an MDM to the DUI).

Nothing is lost and nothing is done twice when a process dies between two steps: each
job's key is derived from the message (queuing it again returns the same job), a DMP
deposit tried again finds the document already there, a mail tried again carries the
same Message-ID, a ZAM tried again carries the same MSH-10. Jobs of one document are
chained (its CDA ``setId``): a T10 is delivered after the T02 it replaces.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from .._ascii import is_ascii_digits
from ..errors import (
    ConfigurationError,
    InputError,
    MssError,
    NotFound,
    ServiceError,
    SoapFault,
    TransportError,
    XdsError,
)
from ..outbox.models import JobKind, NewJob
from .models import (
    APPLICATION_ERRORS,
    Action,
    BusinessAck,
    BusinessAckKind,
    DmpOrder,
    Routing,
)

if TYPE_CHECKING:
    from ..config import Settings
    from ..dmp import DmpClient
    from ..hl7.mllp import MllpClient
    from ..mssante import SendResult
    from ..outbox.models import Job
    from ..outbox.store import Store

__all__ = [
    "DMP",
    "INBOUND",
    "MAIL",
    "SMTP_ERRORS",
    "ZAM",
    "GatewayContext",
    "business_ack_job",
    "gateway_kinds",
    "message_jobs",
    "smtp_error",
    "zam_control_id",
]

logger = logging.getLogger(__name__)

DMP: Final = "gateway.dmp"
MAIL: Final = "gateway.mail"
ZAM: Final = "gateway.zam"
INBOUND: Final = "gateway.inbound"

#: SMTP codes of the guide's SMTPERRORCODE table (ERR-5 of a ZAM^Z02), the common ones.
SMTP_ERRORS: Final = {
    "421": "Le service est indisponible en raison d'un problème de connexion.",
    "450": "Action non effectuée : boîte-aux-lettres non disponible",
    "451": "Action arrêtée : erreur de traitement",
    "452": "Action non effectuée : manque de ressources système.",
    "550": "Action non effectuée : boîte aux lettres non disponible",
    "551": "Utilisateur non local",
    "552": "Action abandonnée - Allocation de stockage dépassée.",
    "553": "Le nom de la boîte aux lettres n'est pas valide.",
    "554": "L'envoi a échoué.",
}
_PROFESSION_SYSTEM = "1.2.250.1.71.1.2.7"


@dataclass(frozen=True, slots=True)
class GatewayContext:
    """What the deliveries need besides their job: the store (to queue the next steps),
    the structure (FINESS), the producer's MLLP address, this platform's MSH-3/4, the MSH-5/6
    of the MDMs sent to the DUI, the VIHF role of PRT senders (a profession code of
    ``1.2.250.1.71.1.2.7``), the MLLP timeouts."""

    store: Store
    structure: str
    reply: tuple[str, int]
    application: str = "SEGURLINK"
    facility: str = ""
    dui_application: str = "DUI"
    dui_facility: str = ""
    sender_profession: str = "10"
    connect_timeout: float = 5.0
    ack_timeout: float = 30.0


def _digest(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8") + b"\x00")
    return digest.hexdigest()


def zam_control_id(key: str) -> str:
    """MSH-10 of a ZAM or an inbound MDM: stable per job (20 characters)."""
    return "SZ" + _digest(key)[:18].upper()


# -- builders ----------------------------------------------------------------------------------


def _order_json(order: DmpOrder) -> dict[str, Any]:
    return {
        "action": order.action.value,
        "hidden_from": list(order.hidden_from),
        "sender": [order.sender_id, order.sender_family, order.sender_given],
        "content_type": list(order.content_type) if order.content_type else None,
    }


def message_jobs(
    *,
    key: str,
    structure: str,
    control_id: str,
    producer: tuple[str, str],
    processing_id: str,
    chain: str,
    document: bytes,
    routing: Routing,
    mail_sender: str = "",
) -> list[NewJob]:
    """The jobs of an accepted message, to write in one transaction before the ``AA``.

    ``key`` identifies the message (sender, MSH-10 and content): the same message sent
    again gives the same jobs. ``chain`` orders the messages of one document (its setId).
    ``mail_sender`` is the APP mailbox the mails are sent from.
    """
    if routing.empty:
        raise InputError("an accepted message goes to the DMP or by MSSanté")
    from ..mssante import Draft
    from ..outbox.mssante import mail_job

    reference = {
        "control_id": control_id,
        "producer": list(producer),
        "processing_id": processing_id,
    }
    jobs: list[NewJob] = []
    if routing.dmp is not None:
        jobs.append(
            NewJob(
                DMP,
                structure,
                key,
                {**_order_json(routing.dmp), **reference, "receipt": routing.dmp_receipt},
                {"cda": document},
                ordering_key=f"gateway-dmp:{structure}:{chain}",
            )
        )
    if routing.mails and not mail_sender:
        raise ConfigurationError("the gateway's MSSanté mailbox ([mssante] address) is not set")
    for mail in routing.mails:
        draft = Draft(
            sender=mail_sender,
            to=mail.to,
            documents=(document,),
            text=mail.text,
            patient_from_document=mail.to_patient,
            patient_may_reply=not mail.no_reply,
            action=None if mail.action is Action.INITIAL else mail.action.value,  # type: ignore[arg-type]
            receipt=mail.read_receipts,
            reply_to=mail.reply_to,
        )
        jobs.append(
            mail_job(
                draft,
                structure=structure,
                key=f"{key}/{mail.audience}",
                notify=("SUCCESS", "FAILURE") if mail.delivery_receipts else ("FAILURE",),
                reference={
                    **reference,
                    "audience": mail.audience,
                    "delivery_receipts": mail.delivery_receipts,
                    "read_receipts": mail.read_receipts,
                    "people": dict(mail.people),
                },
                kind=MAIL,
                ordering_key=f"gateway-mail:{structure}:{chain}:{mail.audience}",
            )
        )
    return jobs


def business_ack_job(
    ack: BusinessAck,
    *,
    structure: str,
    producer: tuple[str, str] | list[str],
    processing_id: str = "P",
    discriminator: str = "",
) -> NewJob:
    """A ZAM to send to the producer; one per (original message, event, recipient,
    outcome): queuing the same acknowledgement again is the same job."""
    key = "|".join(
        (
            ack.original_control_id,
            ack.kind.value,
            _digest(ack.address.lower(), discriminator)[:16],
            "Y" if ack.success else "N",
        )
    )
    payload = {
        "kind": ack.kind.value,
        "original_control_id": ack.original_control_id,
        "success": ack.success,
        "address": ack.address,
        "person_id": ack.person_id,
        "error": [ack.error_code, ack.error_label, ack.error_system],
        "producer": list(producer),
        "processing_id": processing_id,
    }
    return NewJob(
        ZAM,
        structure,
        key,
        payload,
        ordering_key=f"gateway-zam:{structure}:{ack.original_control_id}",
    )


def _queue_ack(ctx: GatewayContext, job: Job, ack: BusinessAck, discriminator: str = "") -> None:
    reference = job.payload.get("reference") or job.payload
    ctx.store.enqueue(
        business_ack_job(
            ack,
            structure=ctx.structure,
            producer=reference["producer"],
            processing_id=str(reference.get("processing_id") or "P"),
            discriminator=discriminator,
        )
    )


# -- gateway.dmp --------------------------------------------------------------------------------


class _DmpClients:
    """The structure's DMP client, and one per professional for the deletions (whose
    request takes no per-call professional)."""

    def __init__(self, settings: Settings) -> None:
        from ..dmp import DmpClient

        self.settings = settings
        self.default: DmpClient = DmpClient.from_settings(settings)
        self._by_professional: dict[str, DmpClient] = {}

    def for_professional(self, professional: Any) -> DmpClient:
        from ..dmp import DmpClient

        if professional is None:
            return self.default
        client = self._by_professional.get(professional.national_id)
        if client is None:
            client = DmpClient.from_settings(self.settings, professional=professional)
            self._by_professional[professional.national_id] = client
        return client

    def close(self) -> None:
        self.default.close()
        for client in self._by_professional.values():
            client.close()


def _professional(sender: list[str], profession: str) -> Any:
    """The VIHF subject of a PRT sender: PRT-5.1 the national id, PRT-5.2/5.3 the name;
    the role is not in the message (the guide: "via the DPI or the annuaire"), it is the
    platform's ``sender_profession``. A device sender (no PRT-5) signs in as the
    settings' responsible person."""
    from ..psc.models import ProfessionalIdentity

    national_id, family, given = [*sender, "", "", ""][:3]
    if not national_id:
        return None
    return ProfessionalIdentity(
        national_id=national_id,
        family_name=family or None,
        given_name=given or None,
        roles=(f"{profession}^{_PROFESSION_SYSTEM}",),
    )


def _dmp_error(exc: Exception, action: Action) -> tuple[str, str, str]:
    from ..outbox.classify import safe_message

    if isinstance(exc, XdsError) and exc.errors:
        issue = exc.errors[0]
        return issue.code, safe_message(issue.context)[:200], "DMP_ERROR_CODE"
    if isinstance(exc, SoapFault):
        code = exc.detail_code or exc.subcode or exc.code or "SOAP"
        return code, safe_message(exc.reason or exc.message)[:200], "DMP_ERROR_CODE"
    code = (
        "900" if isinstance(exc, InputError | NotFound) and action is not Action.INITIAL else "906"
    )
    return code, APPLICATION_ERRORS[code], "applicationErrorCode"


def _deliver_dmp(ctx: GatewayContext, clients: _DmpClients, job: Job) -> Mapping[str, Any]:
    from ..cda import parse_header
    from ..cda.models import Code
    from ..dmp import DELETED
    from ..outbox.classify import classify

    p = job.payload
    action = Action(p["action"])
    document = job.blob("cda")
    professional = _professional(p.get("sender") or [], ctx.sender_profession)
    try:
        if action is Action.DELETE:
            header = parse_header(document)
            ins = header.patient.ins
            if ins is None:
                raise InputError("the CDA carries no INS")
            entry = clients.default.get(ins, unique_id=header.id.xds_unique_id)
            if entry is None:
                raise NotFound("the DMP has no document with this CDA's id to delete")
            already = entry.status == DELETED
            if not already:
                clients.for_professional(professional).delete(entry)
            outcome: dict[str, Any] = {"unique_id": entry.unique_id, "already_applied": already}
        else:
            content_type = p.get("content_type")
            result = clients.default.deposit(
                document,
                hidden_from=list(p.get("hidden_from") or ()),
                professional=professional,
                retries=0,
                content_type=Code(*content_type) if content_type else None,
            )
            outcome = {
                "unique_id": result.unique_id,
                "already_deposited": result.already_deposited,
            }
    except Exception as exc:
        if p.get("receipt") and not classify(exc).retry:
            code, label, system = _dmp_error(exc, action)
            _queue_ack(
                ctx,
                job,
                BusinessAck(
                    BusinessAckKind.DMP_RECEIPT,
                    str(p["control_id"]),
                    False,
                    error_code=code,
                    error_label=label,
                    error_system=system,
                ),
            )
        raise
    if p.get("receipt"):
        _queue_ack(ctx, job, BusinessAck(BusinessAckKind.DMP_RECEIPT, str(p["control_id"]), True))
    return outcome


# -- gateway.mail --------------------------------------------------------------------------------


def smtp_error(code: int | str, status: str = "") -> tuple[str, str, str]:
    """ERR-5 of a ZAM^Z02 for an SMTP answer: ``(code, label, "SMTPERRORCODE")``; a DSN
    that gives only an enhanced status (``5.1.1``) maps to 550 (4.x.x to 450). A code is
    three ASCII digits (``'²²²'`` or Arabic-Indic digits are not one)."""
    text = str(code or "")
    if not (len(text) == 3 and is_ascii_digits(text)):
        text = {"4": "450", "5": "550"}.get(status[:1], "554")
    return text, SMTP_ERRORS.get(text, ""), "SMTPERRORCODE"


def _deliver_mail(ctx: GatewayContext, client: Any, job: Job) -> Mapping[str, Any]:
    from ..outbox.classify import classify
    from ..outbox.mssante import send_mail

    reference = job.payload.get("reference") or {}
    wants = bool(reference.get("delivery_receipts"))
    try:
        result: SendResult = send_mail(client, job)
    except MssError as exc:
        if wants and not classify(exc).retry:
            for refusal in exc.refused:
                _refused_ack(ctx, job, refusal.address, refusal.code, refusal.enhanced_status)
        raise
    if wants:
        for refusal in result.refused:
            _refused_ack(ctx, job, refusal.address, refusal.code, refusal.enhanced_status)
    return {
        "message_id": result.message_id,
        "accepted": len(result.accepted),
        "refused": [{"code": r.code, "status": r.enhanced_status} for r in result.refused],
    }


def _refused_ack(ctx: GatewayContext, job: Job, address: str, code: int, status: str) -> None:
    error_code, label, system = smtp_error(code, status)
    reference = job.payload.get("reference") or {}
    _queue_ack(
        ctx,
        job,
        BusinessAck(
            BusinessAckKind.MSS_DELIVERY,
            str(reference["control_id"]),
            False,
            address=address,
            person_id=str((reference.get("people") or {}).get(address.lower(), "")),
            error_code=error_code,
            error_label=label,
            error_system=system,
        ),
        discriminator=str(job.payload.get("message_id", "")),
    )


# -- gateway.zam and gateway.inbound: MLLP to the producer -----------------------------------------


def _mllp(ctx: GatewayContext) -> MllpClient:
    from ..hl7.mllp import MllpClient

    host, port = ctx.reply
    return MllpClient(host, port, connect_timeout=ctx.connect_timeout, ack_timeout=ctx.ack_timeout)


def _exchange(client: MllpClient, message: bytes, control_id: str, what: str) -> str:
    """Send over MLLP; ``AA`` done, ``AR`` (or a lost ACK) retried, ``AE`` refused."""
    from ..hl7.messages import parse_ack
    from ..hl7.models import AckCode

    ack = parse_ack(client.send(message))
    if ack.acknowledged_id != control_id:
        raise TransportError(f"the producer acknowledged another message than the {what}")
    if ack.accepted:
        return ack.code.value
    codes = ",".join(e.code for e in ack.errors) or "-"
    if ack.code in (AckCode.AE, AckCode.CE):
        raise ServiceError(f"the producer refused the {what}: {ack.code.value} ({codes})")
    raise TransportError(f"the producer answered {ack.code.value} to the {what} ({codes})")


def _deliver_zam(ctx: GatewayContext, client: MllpClient, job: Job) -> Mapping[str, Any]:
    import datetime as dt

    from .messages import build_business_ack

    p = job.payload
    error = [*(p.get("error") or ()), "", "", ""]
    ack = BusinessAck(
        BusinessAckKind(p["kind"]),
        str(p["original_control_id"]),
        bool(p["success"]),
        address=str(p.get("address") or ""),
        person_id=str(p.get("person_id") or ""),
        error_code=str(error[0]),
        error_label=str(error[1]),
        error_system=str(error[2]),
    )
    control_id = zam_control_id(job.key)
    producer = [*(p.get("producer") or ()), "", ""]
    message = build_business_ack(
        ack,
        control_id=control_id,
        now=dt.datetime.now().astimezone(),
        application=ctx.application,
        facility=ctx.facility,
        producer_application=str(producer[0]),
        producer_facility=str(producer[1]),
        processing_id=str(p.get("processing_id") or "P"),
    )
    code = _exchange(client, message, control_id, f"ZAM^{ack.kind.value}")
    return {"zam": ack.kind.value, "control_id": control_id, "ack": code}


def _deliver_inbound(ctx: GatewayContext, client: MllpClient, job: Job) -> Mapping[str, Any]:
    import datetime as dt

    from ..cda import parse_header
    from .messages import build_inbound_mdm

    p = job.payload
    document = job.blob("cda")
    header = parse_header(document)
    control_id = zam_control_id(job.key)
    type_code = header.type_code
    message = build_inbound_mdm(
        action=Action(p["action"]),
        document=document,
        patient=header.patient,
        document_id=header.id.xds_unique_id,
        parent_id=header.parent_document.id.xds_unique_id if header.parent_document else None,
        type_code=(
            (type_code.code, type_code.display_name, "LN")
            if type_code is not None
            else ("", "", "")
        ),
        message_id=str(p["message_id"]),
        subject=str(p.get("subject") or ""),
        body=str(p.get("body") or ""),
        sender=str(p["sender"]),
        recipients=list(p.get("recipients") or ()),
        flags=dict(p.get("flags") or {}),
        control_id=control_id,
        now=dt.datetime.now().astimezone(),
        application=ctx.application,
        facility=ctx.facility,
        receiver_application=ctx.dui_application,
        receiver_facility=ctx.dui_facility,
    )
    code = _exchange(client, message, control_id, f"MDM^{Action(p['action']).event}")
    return {"control_id": control_id, "ack": code}


# -- the kinds -------------------------------------------------------------------------------


def gateway_kinds(ctx: GatewayContext) -> dict[str, JobKind]:
    """The gateway's job kinds bound to ``ctx`` (the workers take them with the builtin
    ones)."""

    def dmp_connect(settings: Settings) -> _DmpClients:
        return _DmpClients(settings)

    def mail_connect(settings: Settings) -> Any:
        from ..mssante import MssClient

        return MssClient.from_settings(settings)

    def mllp_connect(settings: Settings) -> MllpClient:
        return _mllp(ctx)

    return {
        DMP: JobKind(DMP, "gateway-dmp", dmp_connect, lambda c, job: _deliver_dmp(ctx, c, job)),
        MAIL: JobKind(
            MAIL, "gateway-mail", mail_connect, lambda c, job: _deliver_mail(ctx, c, job)
        ),
        ZAM: JobKind(ZAM, "gateway-mllp", mllp_connect, lambda c, job: _deliver_zam(ctx, c, job)),
        INBOUND: JobKind(
            INBOUND, "gateway-mllp", mllp_connect, lambda c, job: _deliver_inbound(ctx, c, job)
        ),
    }
