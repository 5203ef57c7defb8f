"""MSSanté: send CI-SIS documents in IHE XDM messages, read replies and receipts.

>>> from segurlink.mssante import MssClient, Draft                     # doctest: +SKIP
>>> with MssClient.from_settings(settings) as mss:                      # doctest: +SKIP
...     sent = mss.send(Draft(sender=mss.settings.address, to=(doctor,), documents=(cda,)))
...     mss.status(sent.message_id).receipts

Pure parts: :mod:`~segurlink.mssante.messages` (compose, read messages and receipts) and
:mod:`~segurlink.mssante.xdm` (build and read ``IHE_XDM.ZIP``). I/O: :class:`MssClient`.
"""

from __future__ import annotations

from .client import MemorySentStore, MssClient, sasl_oauthbearer, sasl_xoauth2
from .messages import (
    SUBJECT_PREFIX,
    compose,
    normalize_message_id,
    patient_address,
    read_message,
    read_receipts,
    readable_pdf_name,
    subject_for,
)
from .models import (
    APPLICATION_ERRORS,
    PATIENT_DOMAIN,
    AccessTokenSource,
    ApplicationError,
    Attachment,
    DeliveryStatus,
    Draft,
    MailboxKind,
    OutgoingMessage,
    Receipt,
    ReceiptKind,
    ReceivedMessage,
    RecipientRefusal,
    SendResult,
    SentMessageStore,
    XdmDocument,
    XdmEntry,
    XdmPackage,
)
from .settings import DEFAULT_MAX_MESSAGE_SIZE, MssSettings
from .xdm import XDM_FILENAME, XdmLimits, build_xdm, document_file_name, read_xdm

__all__ = [
    "APPLICATION_ERRORS",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "PATIENT_DOMAIN",
    "SUBJECT_PREFIX",
    "XDM_FILENAME",
    "AccessTokenSource",
    "ApplicationError",
    "Attachment",
    "DeliveryStatus",
    "Draft",
    "MailboxKind",
    "MemorySentStore",
    "MssClient",
    "MssSettings",
    "OutgoingMessage",
    "Receipt",
    "ReceiptKind",
    "ReceivedMessage",
    "RecipientRefusal",
    "SendResult",
    "SentMessageStore",
    "XdmDocument",
    "XdmEntry",
    "XdmLimits",
    "XdmPackage",
    "build_xdm",
    "compose",
    "document_file_name",
    "normalize_message_id",
    "patient_address",
    "read_message",
    "read_receipts",
    "read_xdm",
    "readable_pdf_name",
    "sasl_oauthbearer",
    "sasl_xoauth2",
    "subject_for",
]
