"""HL7 v2 identity bridge: read identities from a PAM FR feed, qualify them with INSi,
write the result back (an A31) and acknowledge (ACK), over MLLP.

* :mod:`~segurlink.hl7.messages` (pure): :func:`parse_message`, :func:`build_identity_update`,
  :func:`build_ack`, :func:`parse_ack`;
* :mod:`~segurlink.hl7.qualification` (pure): the rules that decide what is written back;
* :mod:`~segurlink.hl7.mllp`: :class:`MllpListener`, :class:`MllpClient` (framing, timeouts);
* :mod:`~segurlink.hl7.bridge`: :class:`Hl7InsiBridge`, message in -> INSi -> A31 out.

Names are loaded lazily: ``import segurlink.hl7`` imports neither python-hl7 nor zeep.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .bridge import BridgeSettings, Hl7InsiBridge, MemoryMessageStore, MessageStore
    from .messages import (
        build_ack,
        build_identity_update,
        escape_value,
        parse_ack,
        parse_header,
        parse_message,
    )
    from .messages import read_header as read_header
    from .mllp import MllpClient, MllpListener, frame_message
    from .models import (
        AckCode,
        AckError,
        Acknowledgement,
        IdentityUpdate,
        MessageHeader,
        PamIdentity,
        PamMessage,
        PatientIdentifier,
    )
    from .qualification import Refusal, decide, status_after_insi, traits_for_insi

__all__ = [
    "AckCode",
    "AckError",
    "Acknowledgement",
    "BridgeSettings",
    "Hl7InsiBridge",
    "IdentityUpdate",
    "MemoryMessageStore",
    "MessageHeader",
    "MessageStore",
    "MllpClient",
    "MllpListener",
    "PamIdentity",
    "PamMessage",
    "PatientIdentifier",
    "Refusal",
    "build_ack",
    "build_identity_update",
    "decide",
    "escape_value",
    "frame_message",
    "parse_ack",
    "parse_header",
    "parse_message",
    "status_after_insi",
    "traits_for_insi",
]

_EXPORTS = {
    **dict.fromkeys(
        ("BridgeSettings", "Hl7InsiBridge", "MemoryMessageStore", "MessageStore"), ".bridge"
    ),
    **dict.fromkeys(
        (
            "build_ack",
            "build_identity_update",
            "escape_value",
            "parse_ack",
            "parse_message",
            "parse_header",
            "read_header",
        ),
        ".messages",
    ),
    **dict.fromkeys(("MllpClient", "MllpListener", "frame_message"), ".mllp"),
    **dict.fromkeys(
        (
            "AckCode",
            "AckError",
            "Acknowledgement",
            "IdentityUpdate",
            "MessageHeader",
            "PamIdentity",
            "PamMessage",
            "PatientIdentifier",
        ),
        ".models",
    ),
    **dict.fromkeys(
        ("Refusal", "decide", "status_after_insi", "traits_for_insi"), ".qualification"
    ),
}
__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS, __all__)
