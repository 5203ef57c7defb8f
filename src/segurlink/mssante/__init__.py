"""MSSanté: send CI-SIS documents in IHE XDM messages, read replies and receipts.

>>> from segurlink.mssante import MssClient, Draft                     # doctest: +SKIP
>>> with MssClient.from_settings(settings) as mss:                      # doctest: +SKIP
...     sent = mss.send(Draft(sender=mss.settings.address, to=(doctor,), documents=(cda,)))
...     mss.status(sent.message_id).receipts

Pure parts: :mod:`~segurlink.mssante.messages` (compose, read messages and receipts),
:mod:`~segurlink.mssante.xdm` (build and read ``IHE_XDM.ZIP``) and
:mod:`~segurlink.mssante.directory` (look up addresses in the Annuaire Santé). I/O:
:class:`MssClient` (SMTP, IMAP) and :class:`AnnuaireClient` (the Annuaire Santé FHIR API).

>>> with AnnuaireClient.from_settings(settings) as annuaire:           # doctest: +SKIP
...     doctor = annuaire.lookup(rpps="10001234567", kinds={"PER"}).addresses[0]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .annuaire import AnnuaireClient
    from .client import MemorySentStore, MssClient, sasl_oauthbearer, sasl_xoauth2
    from .directory import (
        DirectoryMailbox,
        MailboxLookup,
        MailboxQuery,
        lookup_flow,
        parse_mailboxes,
    )
    from .messages import (
        SUBJECT_PREFIX,
        compose,
        normalize_message_id,
        parse_message,
        parse_receipts,
        patient_address,
        readable_pdf_name,
        subject_for,
    )
    from .messages import (
        read_message as read_message,
    )
    from .messages import (
        read_receipts as read_receipts,
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
    from .settings import (
        ANNUAIRE_ENDPOINT,
        DEFAULT_MAX_MESSAGE_SIZE,
        AnnuaireSettings,
        MssSettings,
    )
    from .xdm import XDM_FILENAME, XdmLimits, build_xdm, document_file_name, parse_xdm
    from .xdm import read_xdm as read_xdm

__all__ = [
    "ANNUAIRE_ENDPOINT",
    "APPLICATION_ERRORS",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "PATIENT_DOMAIN",
    "SUBJECT_PREFIX",
    "XDM_FILENAME",
    "AccessTokenSource",
    "AnnuaireClient",
    "AnnuaireSettings",
    "ApplicationError",
    "Attachment",
    "DeliveryStatus",
    "DirectoryMailbox",
    "Draft",
    "MailboxKind",
    "MailboxLookup",
    "MailboxQuery",
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
    "lookup_flow",
    "normalize_message_id",
    "parse_mailboxes",
    "parse_message",
    "parse_receipts",
    "parse_xdm",
    "patient_address",
    "readable_pdf_name",
    "sasl_oauthbearer",
    "sasl_xoauth2",
    "subject_for",
]

_EXPORTS = {
    "AnnuaireClient": ".annuaire",
    **dict.fromkeys(
        (
            "MemorySentStore",
            "MssClient",
            "sasl_oauthbearer",
            "sasl_xoauth2",
        ),
        ".client",
    ),
    **dict.fromkeys(
        (
            "DirectoryMailbox",
            "MailboxLookup",
            "MailboxQuery",
            "lookup_flow",
            "parse_mailboxes",
        ),
        ".directory",
    ),
    **dict.fromkeys(
        (
            "SUBJECT_PREFIX",
            "compose",
            "normalize_message_id",
            "parse_message",
            "parse_receipts",
            "patient_address",
            "read_message",
            "read_receipts",
            "readable_pdf_name",
            "subject_for",
        ),
        ".messages",
    ),
    **dict.fromkeys(
        (
            "APPLICATION_ERRORS",
            "PATIENT_DOMAIN",
            "AccessTokenSource",
            "ApplicationError",
            "Attachment",
            "DeliveryStatus",
            "Draft",
            "MailboxKind",
            "OutgoingMessage",
            "Receipt",
            "ReceiptKind",
            "ReceivedMessage",
            "RecipientRefusal",
            "SendResult",
            "SentMessageStore",
            "XdmDocument",
            "XdmEntry",
            "XdmPackage",
        ),
        ".models",
    ),
    **dict.fromkeys(
        (
            "ANNUAIRE_ENDPOINT",
            "AnnuaireSettings",
            "DEFAULT_MAX_MESSAGE_SIZE",
            "MssSettings",
        ),
        ".settings",
    ),
    **dict.fromkeys(
        (
            "XDM_FILENAME",
            "XdmLimits",
            "build_xdm",
            "document_file_name",
            "parse_xdm",
            "read_xdm",
        ),
        ".xdm",
    ),
}
__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS, __all__)
