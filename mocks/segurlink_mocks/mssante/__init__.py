"""The MSSanté mock: SMTP submission and IMAP over TLS, trust-space rules, MDNs and DSNs.

Names load lazily: importing the fixtures module costs nothing until a mock starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from segurlink._lazy import lazy_exports

if TYPE_CHECKING:
    from .data import (
        APP_MAILBOX,
        CAB_MAILBOX,
        CLOSED_PATIENT,
        INTEGRATION_MAILBOX,
        KNOWN_PATIENTS,
        LOCAL_DOMAIN,
        ORG_MAILBOX,
        PER_MAILBOX,
        PER_MAILBOX_2,
        REMOTE_DOMAIN,
        REMOTE_PER_MAILBOX,
        Mailbox,
    )
    from .server import MSS_FAULTS, MssMock

__all__ = [
    "APP_MAILBOX",
    "CAB_MAILBOX",
    "CLOSED_PATIENT",
    "INTEGRATION_MAILBOX",
    "KNOWN_PATIENTS",
    "LOCAL_DOMAIN",
    "MSS_FAULTS",
    "ORG_MAILBOX",
    "PER_MAILBOX",
    "PER_MAILBOX_2",
    "REMOTE_DOMAIN",
    "REMOTE_PER_MAILBOX",
    "Mailbox",
    "MssMock",
]

__getattr__, __dir__ = lazy_exports(
    globals(),
    {
        "APP_MAILBOX": ".data",
        "CAB_MAILBOX": ".data",
        "CLOSED_PATIENT": ".data",
        "INTEGRATION_MAILBOX": ".data",
        "KNOWN_PATIENTS": ".data",
        "LOCAL_DOMAIN": ".data",
        "MSS_FAULTS": ".server",
        "Mailbox": ".data",
        "MssMock": ".server",
        "ORG_MAILBOX": ".data",
        "PER_MAILBOX": ".data",
        "PER_MAILBOX_2": ".data",
        "REMOTE_DOMAIN": ".data",
        "REMOTE_PER_MAILBOX": ".data",
    },
    __all__,
)
