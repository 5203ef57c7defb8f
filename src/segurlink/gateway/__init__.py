"""HL7 v2 document gateway (ANS "Transmission d'un document CDA-R2 en HL7 v2"): a producer
(the DUI) sends each CDA in an MDM^T02/T10/T04 (HL7 2.6) or ORU^R01 (2.5); the gateway
checks it, answers the ACK, deposits it in the DMP and/or mails it by MSSanté as its
metadata OBX say, and sends back the business acknowledgements (ZAM^Z01 DMP receipt,
ZAM^Z02 MSSanté delivery, ZAM^Z03 MSSanté read). Mails with documents received in the
APP mailbox go to the DUI as MDMs (guide "Transmission au LPS d'un document CDA provenant
d'un courriel MSSanté").

* :mod:`~segurlink.gateway.messages` (pure): :func:`parse_document_message`,
  :func:`parse_extract`, :func:`document_ack`, :func:`build_business_ack`,
  :func:`build_inbound_mdm`;
* :mod:`~segurlink.gateway.rules` (pure): :func:`check` (the guide's rules, the MSSanté
  matrix :data:`~segurlink.gateway.rules.MSSANTE_MATRIX`) and the routing;
* :mod:`~segurlink.gateway.jobs`: the outbox jobs of every step after the ACK;
* :mod:`~segurlink.gateway.receipts`: receipts → ZAM, received documents → MDM;
* :class:`Gateway`: MLLP listener, workers and mailbox reader together.

Names load lazily: ``import segurlink.gateway`` imports neither python-hl7 nor lxml.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .jobs import GatewayContext, gateway_kinds
    from .messages import (
        build_business_ack,
        build_inbound_mdm,
        document_ack,
        parse_document_message,
        parse_extract,
    )
    from .models import (
        Action,
        BusinessAck,
        BusinessAckKind,
        DmpOrder,
        DocumentMessage,
        MailOrder,
        Participant,
        Rejection,
        Routing,
    )
    from .receipts import MailboxWatcher, business_acks, inbound_jobs
    from .rules import Accepted, Policy, check, matrix_row
    from .service import Gateway
    from .settings import GatewaySettings

__all__ = [
    "Accepted",
    "Action",
    "BusinessAck",
    "BusinessAckKind",
    "DmpOrder",
    "DocumentMessage",
    "Gateway",
    "GatewayContext",
    "GatewaySettings",
    "MailOrder",
    "MailboxWatcher",
    "Participant",
    "Policy",
    "Rejection",
    "Routing",
    "build_business_ack",
    "build_inbound_mdm",
    "business_acks",
    "check",
    "document_ack",
    "gateway_kinds",
    "inbound_jobs",
    "matrix_row",
    "parse_document_message",
    "parse_extract",
]

_EXPORTS = {
    **dict.fromkeys(("GatewayContext", "gateway_kinds"), ".jobs"),
    **dict.fromkeys(
        (
            "build_business_ack",
            "build_inbound_mdm",
            "document_ack",
            "parse_document_message",
            "parse_extract",
        ),
        ".messages",
    ),
    **dict.fromkeys(
        (
            "Action",
            "BusinessAck",
            "BusinessAckKind",
            "DmpOrder",
            "DocumentMessage",
            "MailOrder",
            "Participant",
            "Rejection",
            "Routing",
        ),
        ".models",
    ),
    **dict.fromkeys(("MailboxWatcher", "business_acks", "inbound_jobs"), ".receipts"),
    **dict.fromkeys(("Accepted", "Policy", "check", "matrix_row"), ".rules"),
    "Gateway": ".service",
    "GatewaySettings": ".settings",
}
__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS, __all__)
