"""OAuth 2.0 pieces every service shares: the token-source protocol, client credentials,
and the reading of OAuth errors (RFC 6749 §5.2, RFC 6750 §3) — in one place.

Two token sources implement :class:`AccessTokenSource`: :class:`ClientCredentials` (a
system's own token: ROR, later the Annuaire Santé) and
:class:`segurlink.psc.PscTokenProvider` (a professional's Pro Santé Connect session, for
MSSanté and RFC 8693 exchanges).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ._clock import Clock
from ._transport import EXCERPT_CHARS
from .config import Secret
from .errors import HttpStatusError, MalformedResponse, OidcError

if TYPE_CHECKING:
    from ._transport import HttpTransport

__all__ = [
    "AccessTokenSource",
    "ClientCredentials",
    "bearer_error",
    "oauth_error",
]

#: Seconds before expiry when a cached token is renewed (at most a tenth of its lifetime).
TOKEN_MARGIN = 30.0
#: Lifetime assumed when a token answer gives no ``expires_in`` (seconds).
DEFAULT_TOKEN_LIFETIME = 300.0


@runtime_checkable
class AccessTokenSource(Protocol):
    """Anything that hands out a currently valid access token.

    Implemented by :class:`segurlink.psc.PscTokenProvider` (a professional's session,
    refreshed before it expires) and by the client-credentials source of the system
    services (ROR). MSSanté's SASL XOAUTH2/OAUTHBEARER login takes one.
    """

    def access_token(self) -> str: ...


def oauth_error(payload: Any, *, status: int, who: str = "the provider") -> OidcError | None:
    """The :class:`OidcError` of an OAuth error answer, or ``None`` when it is not one.

    >>> oauth_error({"error": "invalid_client"}, status=401).error
    'invalid_client'
    >>> oauth_error({"access_token": "x"}, status=200) is None
    True
    """
    if isinstance(payload, Mapping) and isinstance(payload.get("error"), str) and payload["error"]:
        error = payload["error"]
        description = str(payload.get("error_description") or "")
        text = f"{error}: {description}" if description else error
        return OidcError(
            f"{who} refused (HTTP {status}): {text}", error=error, description=description
        )
    return None


def bearer_error(headers: Mapping[str, str]) -> str:
    """The ``error`` of a ``WWW-Authenticate: Bearer`` challenge (RFC 6750), or ``""``.

    >>> bearer_error({"WWW-Authenticate": 'Bearer error="invalid_token"'})
    'invalid_token'
    """
    header = headers.get("WWW-Authenticate", "")
    marker = 'error="'
    start = header.find(marker)
    if start < 0:
        return ""
    end = header.find('"', start + len(marker))
    return header[start + len(marker) : end] if end > 0 else ""


class ClientCredentials:
    """A system's access token (``grant_type=client_credentials``), fetched and cached.

    The client authenticates with ``client_secret`` in the form, or — without one — with
    the mutual-TLS identity of the transport's session. The token is renewed when less
    than :data:`TOKEN_MARGIN` seconds (or a tenth of its lifetime) remain, or on
    :meth:`refresh` (the API answered 401). Thread-safe.

    ``name`` names the service in error messages (``ROR``).
    """

    def __init__(
        self,
        transport: HttpTransport,
        *,
        token_url: str,
        client_id: str,
        client_secret: Secret | None = None,
        name: str = "the",
        clock: Clock = time.time,
    ) -> None:
        self._transport = transport
        self.token_url = token_url
        self.client_id = client_id
        self._secret = client_secret
        self._name = name
        self._clock = clock
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ClientCredentials(token_url={self.token_url!r}, client_id={self.client_id!r})"

    def access_token(self) -> str:
        """A valid access token (the cached one while it lasts)."""
        return self._get(refresh=False)

    def refresh(self) -> str:
        """A new access token, whatever the cache holds (the API refused the old one)."""
        return self._get(refresh=True)

    def _get(self, *, refresh: bool) -> str:
        with self._lock:
            if not refresh and self._token is not None and self._clock() < self._expires:
                return self._token
            form = {"grant_type": "client_credentials", "client_id": self.client_id}
            if self._secret is not None:
                form["client_secret"] = self._secret.reveal()
            answer = self._transport.send(
                "token", "POST", self.token_url, form=form, headers={"Accept": "application/json"}
            )
            payload = answer.json()
            url = self.token_url
            if answer.status == 200 and not isinstance(payload, Mapping):
                # A front page, an empty or cut answer: the protocol was not followed.
                raise MalformedResponse(
                    f"the {self._name} token endpoint answered HTTP 200 without a JSON token "
                    f"({answer.content_type or 'no content type'}, {len(answer.content)} bytes)",
                    url=url,
                )
            if answer.status != 200 or not isinstance(payload, Mapping):
                error = oauth_error(
                    payload, status=answer.status, who=f"the {self._name} token endpoint"
                )
                if error is not None:
                    raise error
                raise HttpStatusError(
                    f"{self._name} token endpoint answered HTTP {answer.status}",
                    status=answer.status,
                    url=url,
                    body_excerpt=answer.text[:EXCERPT_CHARS],
                )
            token = payload.get("access_token")
            if not isinstance(token, str) or not token:
                raise MalformedResponse("the token answer has no access_token", url=url)
            lifetime = payload.get("expires_in", DEFAULT_TOKEN_LIFETIME)
            if isinstance(lifetime, bool) or not isinstance(lifetime, int | float):
                lifetime = DEFAULT_TOKEN_LIFETIME
            margin = min(TOKEN_MARGIN, float(lifetime) / 10)
            self._token = token
            self._expires = self._clock() + float(lifetime) - margin
            return token
