"""segurlink: connect a DUI to the French national e-health services (Ségur / CI-SIS).

The public API is re-exported here — every client, its settings, every error — and
loaded lazily, so ``import segurlink`` stays cheap (zeep, lxml, requests and
cryptography are imported only when a client is used).

>>> import segurlink
>>> segurlink.Ins.parse("275126322074974")
Ins('27***********74', oid='1.2.250.1.213.1.4.8')
>>> issubclass(segurlink.InputError, ValueError)
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports
from ._version import __version__

if TYPE_CHECKING:
    from ._oauth import (
        AccessTokenSource,
    )
    from .config import (
        Limits,
        Secret,
        Settings,
        SoftwareIdentity,
        Structure,
        Timeouts,
        TlsConfig,
    )
    from .dmp import (
        DmpClient,
        DmpSettings,
    )
    from .errors import (
        ConfigurationError,
        FhirError,
        Hl7Error,
        HttpStatusError,
        IdentityStatusError,
        InputError,
        InsiFault,
        InvalidIdentifier,
        InvalidTraits,
        Issue,
        MalformedResponse,
        MessageTooLarge,
        MllpError,
        MssAuthenticationError,
        MssError,
        NotFound,
        OidcError,
        OutboxError,
        RecipientRefusal,
        SegurlinkError,
        ServiceError,
        SoapFault,
        TlsError,
        TransportError,
        TransportTimeout,
        ValidationError,
        XdmError,
        XdsError,
        XdsIssue,
        XmlSecurityError,
    )
    from .gateway import (
        Gateway,
        GatewaySettings,
    )
    from .hl7 import (
        MllpClient,
    )
    from .identity import (
        IdDocumentKind,
        IdentityRecord,
        IdentityStatus,
        IdentityTraits,
        Ins,
        InsOid,
        Sex,
    )
    from .insi import (
        InsiClient,
        InsiSettings,
    )
    from .mssante import (
        AnnuaireClient,
        AnnuaireSettings,
        MssClient,
        MssSettings,
    )
    from .outbox import (
        Outbox,
        OutboxSettings,
    )
    from .psc import (
        PscClient,
        PscSettings,
    )
    from .ror import (
        RorClient,
        RorSettings,
    )

__all__ = [
    "AccessTokenSource",
    "AnnuaireClient",
    "AnnuaireSettings",
    "ConfigurationError",
    "DmpClient",
    "DmpSettings",
    "FhirError",
    "Gateway",
    "GatewaySettings",
    "Hl7Error",
    "HttpStatusError",
    "IdDocumentKind",
    "IdentityRecord",
    "IdentityStatus",
    "IdentityStatusError",
    "IdentityTraits",
    "InputError",
    "Ins",
    "InsOid",
    "InsiClient",
    "InsiFault",
    "InsiSettings",
    "InvalidIdentifier",
    "InvalidTraits",
    "Issue",
    "Limits",
    "MalformedResponse",
    "MessageTooLarge",
    "MllpClient",
    "MllpError",
    "MssAuthenticationError",
    "MssClient",
    "MssError",
    "MssSettings",
    "NotFound",
    "OidcError",
    "Outbox",
    "OutboxError",
    "OutboxSettings",
    "PscClient",
    "PscSettings",
    "RecipientRefusal",
    "RorClient",
    "RorSettings",
    "Secret",
    "SegurlinkError",
    "ServiceError",
    "Settings",
    "Sex",
    "SoapFault",
    "SoftwareIdentity",
    "Structure",
    "Timeouts",
    "TlsConfig",
    "TlsError",
    "TransportError",
    "TransportTimeout",
    "ValidationError",
    "XdmError",
    "XdsError",
    "XdsIssue",
    "XmlSecurityError",
    "__version__",
]

_EXPORTS = {
    **dict.fromkeys(("AccessTokenSource",), "._oauth"),
    **dict.fromkeys(
        ("Limits", "Secret", "Settings", "SoftwareIdentity", "Structure", "Timeouts", "TlsConfig"),
        ".config",
    ),
    **dict.fromkeys(("DmpClient", "DmpSettings"), ".dmp"),
    **dict.fromkeys(
        (
            "ConfigurationError",
            "FhirError",
            "Hl7Error",
            "HttpStatusError",
            "IdentityStatusError",
            "InputError",
            "InsiFault",
            "InvalidIdentifier",
            "InvalidTraits",
            "Issue",
            "MalformedResponse",
            "MessageTooLarge",
            "MllpError",
            "MssAuthenticationError",
            "MssError",
            "NotFound",
            "OidcError",
            "OutboxError",
            "RecipientRefusal",
            "SegurlinkError",
            "ServiceError",
            "SoapFault",
            "TlsError",
            "TransportError",
            "TransportTimeout",
            "ValidationError",
            "XdmError",
            "XdsError",
            "XdsIssue",
            "XmlSecurityError",
        ),
        ".errors",
    ),
    **dict.fromkeys(("Gateway", "GatewaySettings"), ".gateway"),
    **dict.fromkeys(("MllpClient",), ".hl7"),
    **dict.fromkeys(
        (
            "IdDocumentKind",
            "IdentityRecord",
            "IdentityStatus",
            "IdentityTraits",
            "Ins",
            "InsOid",
            "Sex",
        ),
        ".identity",
    ),
    **dict.fromkeys(("InsiClient", "InsiSettings"), ".insi"),
    **dict.fromkeys(("AnnuaireClient", "AnnuaireSettings", "MssClient", "MssSettings"), ".mssante"),
    **dict.fromkeys(("Outbox", "OutboxSettings"), ".outbox"),
    **dict.fromkeys(("PscClient", "PscSettings"), ".psc"),
    **dict.fromkeys(("RorClient", "RorSettings"), ".ror"),
}
__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS, __all__)
