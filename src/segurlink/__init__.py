"""segurlink: connect a DUI to the French national e-health services (Ségur / CI-SIS).

The public API is re-exported here and loaded lazily, so ``import segurlink`` stays cheap
(zeep, lxml and cryptography are imported only when a client is used).

>>> import segurlink
>>> segurlink.Ins.parse("275126322074974")
Ins('27***********74', oid='1.2.250.1.213.1.4.8')
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .config import (
        InsiSettings,
        Secret,
        Settings,
        SoftwareIdentity,
        Structure,
        Timeouts,
        TlsConfig,
    )
    from .errors import (
        ConfigurationError,
        HttpStatusError,
        IdentityStatusError,
        InputError,
        InsiFault,
        InvalidIdentifier,
        InvalidTraits,
        MalformedResponse,
        SegurlinkError,
        ServiceError,
        SoapFault,
        TlsError,
        TransportError,
        TransportTimeout,
        ValidationError,
    )
    from .identity import IdDocumentKind, IdentityRecord, IdentityStatus, IdentityTraits, Ins, Sex
    from .insi import InsiClient

__all__ = [
    "ConfigurationError",
    "HttpStatusError",
    "IdDocumentKind",
    "IdentityRecord",
    "IdentityStatus",
    "IdentityStatusError",
    "IdentityTraits",
    "InputError",
    "Ins",
    "InsiClient",
    "InsiFault",
    "InsiSettings",
    "InvalidIdentifier",
    "InvalidTraits",
    "MalformedResponse",
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
    "__version__",
]

_LAZY: dict[str, str] = {
    "InsiSettings": ".config",
    "Secret": ".config",
    "Settings": ".config",
    "SoftwareIdentity": ".config",
    "Structure": ".config",
    "Timeouts": ".config",
    "TlsConfig": ".config",
    "IdDocumentKind": ".identity",
    "IdentityRecord": ".identity",
    "IdentityStatus": ".identity",
    "IdentityTraits": ".identity",
    "Ins": ".identity",
    "Sex": ".identity",
    "InsiClient": ".insi",
}
_LAZY.update({name: ".errors" for name in __all__ if name not in _LAZY and name != "__version__"})


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'segurlink' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
