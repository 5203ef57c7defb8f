"""Pro Santé Connect: log professionals in with OpenID Connect and reuse the session.

>>> from segurlink.psc import PscClient, ProfessionalIdentity, parse_userinfo
>>> parse_userinfo('{"preferred_username": "810001234567"}').rpps
'10001234567'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .._oauth import AccessTokenSource
    from .client import PscClient, PscTokenProvider, tokens_from_json, tokens_to_json
    from .flows import ciba_polling
    from .messages import (
        PRESETS,
        end_session_url,
        new_authorization_request,
        parse_callback,
        parse_discovery,
        parse_introspection,
        parse_userinfo,
        validate_id_token,
    )
    from .models import (
        AuthorizationRequest,
        CibaRequest,
        IdTokenClaims,
        Introspection,
        OtherId,
        ProfessionalIdentity,
        ProviderMetadata,
        PscActivity,
        PscAddress,
        PscExercice,
        PscLogin,
        Rejection,
        TokenSet,
    )
    from .settings import PscSettings

__all__ = [
    "PRESETS",
    "AccessTokenSource",
    "AuthorizationRequest",
    "CibaRequest",
    "IdTokenClaims",
    "Introspection",
    "OtherId",
    "ProfessionalIdentity",
    "ProviderMetadata",
    "PscActivity",
    "PscAddress",
    "PscClient",
    "PscExercice",
    "PscLogin",
    "PscSettings",
    "PscTokenProvider",
    "Rejection",
    "TokenSet",
    "ciba_polling",
    "end_session_url",
    "new_authorization_request",
    "parse_callback",
    "parse_discovery",
    "parse_introspection",
    "parse_userinfo",
    "tokens_from_json",
    "tokens_to_json",
    "validate_id_token",
]

_EXPORTS = {
    "AccessTokenSource": ".._oauth",
    **dict.fromkeys(
        (
            "PscClient",
            "PscTokenProvider",
            "tokens_from_json",
            "tokens_to_json",
        ),
        ".client",
    ),
    "ciba_polling": ".flows",
    **dict.fromkeys(
        (
            "PRESETS",
            "end_session_url",
            "new_authorization_request",
            "parse_callback",
            "parse_discovery",
            "parse_introspection",
            "parse_userinfo",
            "validate_id_token",
        ),
        ".messages",
    ),
    **dict.fromkeys(
        (
            "AuthorizationRequest",
            "CibaRequest",
            "IdTokenClaims",
            "Introspection",
            "OtherId",
            "ProfessionalIdentity",
            "ProviderMetadata",
            "PscActivity",
            "PscAddress",
            "PscExercice",
            "PscLogin",
            "Rejection",
            "TokenSet",
        ),
        ".models",
    ),
    "PscSettings": ".settings",
}
__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS, __all__)
