"""An in-process fake of the HTTP services: a ``requests`` adapter that calls a function."""

from __future__ import annotations

import json as jsonlib
import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

__all__ = ["MissingTimeout", "MockTransport", "NoAnswer", "Request", "Response", "Unreachable"]


@dataclass(frozen=True, slots=True)
class Request:
    """One request as the fake service received it.

    ``timeout`` is the ``(connect, read)`` pair the client passed.
    """

    method: str
    url: str
    headers: Mapping[str, str]
    content: bytes
    timeout: tuple[float, float]

    def json(self) -> Any:
        """The body read as JSON."""
        return jsonlib.loads(self.content)

    def form(self) -> dict[str, str]:
        """The body read as an url-encoded form (an OAuth token request)."""
        return dict(parse_qsl(self.content.decode("utf-8")))

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class Response:
    """The answer a handler gives: status, body (bytes, text or JSON) and headers.

    >>> Response(503, headers={"Retry-After": "2"}).status
    503
    """

    status: int = 200
    content: bytes | str = b""
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def body(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if self.json is not None:
            headers.setdefault("Content-Type", "application/json")
            return jsonlib.dumps(self.json).encode(), headers
        data = self.content.encode() if isinstance(self.content, str) else self.content
        return data, headers


class MissingTimeout(AssertionError):
    """A request reached the fake service without a finite ``(connect, read)`` timeout:
    in production it could wait for ever. A test failure, not a service error."""


class Unreachable(Exception):
    """Raise it in a handler: the connection is refused (a :class:`TransportError`)."""


class NoAnswer(Exception):
    """Raise it in a handler: the service does not answer in time (a ``TransportTimeout``)."""


Handler = Callable[[Request], Response]


class MockTransport(BaseAdapter):
    """A ``requests`` adapter answering every request with ``handler(request)``.

    Mount it on a session (:meth:`session` does) and give that session to a client: no
    socket is opened. ``requests`` lists what was sent, in order. A request without a
    finite ``(connect, read)`` timeout raises :class:`MissingTimeout`: a call that could
    hang.
    """

    def __init__(self, handler: Handler) -> None:
        super().__init__()
        self.handler = handler
        self.requests: list[Request] = []
        self._lock = threading.Lock()

    def session(self) -> requests.Session:
        """A new session whose every http(s) request goes to this transport."""
        session = requests.Session()
        session.trust_env = False
        session.mount("https://", self)
        session.mount("http://", self)
        return session

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        pair = _timeout_pair(timeout)
        body = request.body or b""
        content = body.encode() if isinstance(body, str) else bytes(body)
        seen = Request(
            method=request.method or "GET",
            url=request.url or "",
            headers=dict(request.headers),
            content=content,
            timeout=pair,
        )
        with self._lock:
            self.requests.append(seen)
        try:
            answer = self.handler(seen)
        except NoAnswer as exc:
            raise requests.exceptions.ReadTimeout(str(exc) or "no answer", request=request) from exc
        except Unreachable as exc:
            raise requests.exceptions.ConnectionError(
                str(exc) or "connection refused", request=request
            ) from exc
        data, headers = answer.body()
        response = requests.Response()
        response.status_code = answer.status
        response.headers = CaseInsensitiveDict(headers)
        response._content = data
        response.url = seen.url
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        """Nothing to release (no socket was opened)."""


def _timeout_pair(timeout: Any) -> tuple[float, float]:
    if isinstance(timeout, int | float) and not isinstance(timeout, bool):
        timeout = (timeout, timeout)
    if (
        isinstance(timeout, tuple)
        and len(timeout) == 2
        and all(isinstance(t, int | float) and math.isfinite(t) and t > 0 for t in timeout)
    ):
        return (timeout[0], timeout[1])
    raise MissingTimeout(
        f"a request was sent without a finite (connect, read) timeout: {timeout!r}"
    )
