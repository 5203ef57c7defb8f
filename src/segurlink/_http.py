"""The one ``requests.Session`` factory: mutual TLS, explicit CA bundle, timeouts, pooling.

Every client of segurlink takes a session built here (or one the caller built the same
way). TLS verification is always on: the trust store is the configured IGC-Santé bundle,
or the system/certifi store when none is given. Client identities come from PEM files
(optionally encrypted) or a PKCS#12 file.

Timeouts: a socket timeout only bounds one ``recv``, so a server sending one byte just
before each read timeout could hold a call for ever. Sessions built here also give every
call an overall deadline of ``connect + read`` seconds (the timeout tuple of the call),
enforced on each socket operation: the call fails with :class:`TransportTimeout` once it
is spent, however slowly the server trickles. With ``stream=True`` the same deadline holds
while the caller reads the body, unless the call runs inside :func:`bounded` with a
deadline of its own (a long download: ROR ``$export``).

Size: an answer body may hold at most ``limits.max_answer_mb`` MiB (``max_download_mb``
for a body streamed inside :func:`bounded`). The count is kept while the body is read,
decoded, a buffer at a time: a longer answer fails with :class:`MalformedResponse` once
it passes the limit (at once when its ``Content-Length`` says so), and the connection is
closed, so memory never holds more than the limit.

:func:`request_errors` turns ``requests``/``urllib3`` exceptions into segurlink's own.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import socket
import ssl
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.util.retry import Retry

from ._version import __version__
from .config import Limits, Timeouts, TlsConfig
from .errors import (
    ConfigurationError,
    InputError,
    MalformedResponse,
    TlsError,
    TransportError,
    TransportTimeout,
)

__all__ = ["bounded", "build_session", "build_ssl_context", "request_errors"]


def build_ssl_context(tls: TlsConfig) -> ssl.SSLContext:
    """An SSL context that verifies the server and presents the client identity of ``tls``."""
    tls.check_files()
    try:
        ctx = ssl.create_default_context(
            cafile=str(tls.ca_bundle) if tls.ca_bundle is not None else None
        )
    except (ssl.SSLError, OSError) as exc:
        raise ConfigurationError(f"cannot load CA bundle {tls.ca_bundle}: {exc}") from exc
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    # Sockets of this context honour the overall deadline of the call (see module doc).
    ctx.sslsocket_class = _DeadlineSSLSocket
    password = tls.password.reveal() if tls.password is not None else None
    try:
        if tls.cert is not None:
            ctx.load_cert_chain(
                str(tls.cert), str(tls.key) if tls.key is not None else None, password
            )
        elif tls.pkcs12 is not None:
            _load_pkcs12(ctx, tls.pkcs12, password)
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot load the client certificate/key: {exc}") from exc
    return ctx


def _load_pkcs12(ctx: ssl.SSLContext, path: Path, password: str | None) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    bundle = pkcs12.load_pkcs12(path.read_bytes(), password.encode() if password else None)
    if bundle.key is None or bundle.cert is None:
        raise InputError(f"{path} holds no key/certificate pair")
    chain = bundle.cert.certificate.public_bytes(serialization.Encoding.PEM) + b"".join(
        c.certificate.public_bytes(serialization.Encoding.PEM) for c in bundle.additional_certs
    )
    key = bundle.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # ssl only loads identities from files: write them to a private directory that lives
    # only for the duration of the call.
    with tempfile.TemporaryDirectory(prefix="segurlink-") as tmp:
        cert_path = Path(tmp, "cert.pem")
        key_path = Path(tmp, "key.pem")
        cert_path.write_bytes(chain)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
        ctx.load_cert_chain(str(cert_path), str(key_path))


#: The monotonic time by which the current call must be over (``None``: no deadline).
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "segurlink_http_deadline", default=None
)


def _bounded_timeout(base: float | None) -> float | None:
    """The socket timeout for the next operation: ``base``, cut to what the deadline leaves."""
    deadline = _deadline.get()
    if deadline is None:
        return base
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("the call's overall deadline has passed")
    return remaining if base is None else min(base, remaining)


class _DeadlineSSLSocket(ssl.SSLSocket):
    """TLS socket whose reads and writes stop at the call's deadline."""

    _base_timeout: float | None = None

    def settimeout(self, value: float | None) -> None:
        self._base_timeout = value
        super().settimeout(value)

    def _apply_deadline(self) -> None:
        timeout = _bounded_timeout(self._base_timeout)
        if timeout != self.gettimeout():
            super().settimeout(timeout)

    def do_handshake(self, block: bool = False) -> None:
        self._apply_deadline()
        super().do_handshake(block)

    def read(self, len: int = 1024, buffer: Any = None) -> Any:
        self._apply_deadline()
        return super().read(len, buffer)

    def send(self, data: Any, flags: int = 0) -> int:
        self._apply_deadline()
        return super().send(data, flags)


class _DeadlineSocket(socket.socket):
    """Plain TCP socket (``http://`` endpoints) whose operations stop at the deadline."""

    _base_timeout: float | None = None

    def settimeout(self, value: float | None) -> None:
        self._base_timeout = value
        super().settimeout(value)

    def _apply_deadline(self) -> None:
        timeout = _bounded_timeout(self._base_timeout)
        if timeout != self.gettimeout():
            super().settimeout(timeout)

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        self._apply_deadline()
        return super().recv(bufsize, flags)

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        self._apply_deadline()
        return super().recv_into(buffer, nbytes, flags)

    def send(self, data: Any, flags: int = 0) -> int:
        self._apply_deadline()
        return super().send(data, flags)

    def sendall(self, data: Any, flags: int = 0) -> None:
        self._apply_deadline()
        super().sendall(data, flags)


class _DeadlineHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        raw = super()._new_conn()
        if type(raw) is not socket.socket:
            return raw
        timeout = raw.gettimeout()
        sock = _DeadlineSocket(raw.family, raw.type, raw.proto, fileno=raw.detach())
        sock.settimeout(timeout)
        return sock


class _DeadlineHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _DeadlineHTTPConnection


@dataclass(frozen=True, slots=True)
class _Bounds:
    until: float | None  # monotonic time by which everything in the block must be over
    max_stream_bytes: int | None  # size limit of streamed bodies (None: the session's)


_bounds: contextvars.ContextVar[_Bounds | None] = contextvars.ContextVar(
    "segurlink_http_bounds", default=None
)


@contextlib.contextmanager
def bounded(*, until: float | None = None, max_stream_bytes: int | None = None) -> Iterator[None]:
    """Bounds for the calls made in the block (by this thread).

    ``until`` (a :func:`time.monotonic` value): no call, status, headers or body, lasts
    past it; a body read with ``stream=True`` may take until then rather than the call's
    ``connect + read`` budget. ``max_stream_bytes``: the size limit of streamed bodies
    (a download to disk) instead of the session's answer limit.
    """
    token = _bounds.set(_Bounds(until, max_stream_bytes))
    try:
        yield
    finally:
        _bounds.reset(token)


_READ_SIZE = 64 * 1024
_NO_RETRY = Retry(total=0, connect=0, read=0, raise_on_status=False)


class _BoundedBody:
    """The urllib3 response of one call, read under its deadline and size limit.

    requests reads bodies through ``raw.stream()`` / ``raw.read()``: both are served here,
    each read with the call's deadline in force on the socket and its size counted
    (decoded bytes: a compressed bomb is stopped too). Everything else goes to the urllib3
    response.
    """

    def __init__(self, raw: Any, *, url: str, limit: int, deadline: float | None) -> None:
        self._raw = raw
        self._url = url
        self._limit = limit
        self._deadline = deadline
        self._seen = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)

    def read(
        self, amt: int | None = None, decode_content: bool | None = None, **kwargs: Any
    ) -> bytes:
        if amt is None:  # "everything": still read a buffer at a time, counted
            parts = []
            while chunk := self.read(_READ_SIZE, decode_content, **kwargs):
                parts.append(chunk)
            return b"".join(parts)
        token = _deadline.set(self._deadline)
        try:
            data: bytes = self._raw.read(amt, decode_content=decode_content, **kwargs)
        finally:
            _deadline.reset(token)
        self._seen += len(data)
        if self._seen > self._limit:
            self._raw.close()  # stop reading: the rest stays on the wire, then is dropped
            raise MalformedResponse(
                f"the answer from {self._url} is larger than the {_mib(self._limit)} limit "
                "(settings [limits])",
                url=self._url,
            )
        return data

    def stream(self, amt: int | None = _READ_SIZE, decode_content: bool | None = None) -> Any:
        while data := self.read(amt or _READ_SIZE, decode_content=decode_content):
            yield data


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):g} MiB"


def _declared_length(response: requests.Response) -> int | None:
    value = response.headers.get("Content-Length", "")
    return int(value) if value.strip().isdigit() else None


def _call_budget(timeout: Any) -> float | None:
    """``connect + read`` of a requests timeout (tuple, number or urllib3 ``Timeout``)."""
    if isinstance(timeout, tuple):
        parts = list(timeout)
    elif isinstance(timeout, int | float):
        parts = [timeout, timeout]
    else:
        parts = [getattr(timeout, "connect_timeout", None), getattr(timeout, "read_timeout", None)]
    if any(not isinstance(p, int | float) for p in parts):
        return None
    return float(sum(parts))


class _SegurlinkAdapter(HTTPAdapter):
    """Adapter carrying our SSL context and a default timeout for every request."""

    def __init__(
        self,
        ssl_context: ssl.SSLContext,
        timeouts: Timeouts,
        *,
        pool_maxsize: int,
        limits: Limits,
    ) -> None:
        self._ssl_context = ssl_context
        self._timeouts = timeouts
        self._limits = limits
        # No retry here: a request is retried by its operation's RetryPolicy, which knows
        # whether it is idempotent (segurlink._retry).
        super().__init__(pool_maxsize=pool_maxsize, max_retries=_NO_RETRY)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._ssl_context
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            **self.poolmanager.pool_classes_by_scheme,
            "http": _DeadlineHTTPConnectionPool,
        }

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        proxy_kwargs["ssl_context"] = self._ssl_context
        return super().proxy_manager_for(proxy, **proxy_kwargs)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeouts.as_tuple
        budget = _call_budget(kwargs["timeout"])
        bounds = _bounds.get()
        until = bounds.until if bounds is not None else None
        deadline = time.monotonic() + budget if budget is not None else None
        if until is not None:
            deadline = until if deadline is None else min(deadline, until)
        stream = bool(kwargs.get("stream"))
        kwargs["stream"] = True
        limit = self._limits.max_answer_bytes
        body_deadline = deadline
        if stream and bounds is not None:
            body_deadline = until if until is not None else deadline
            if bounds.max_stream_bytes is not None:
                limit = bounds.max_stream_bytes
        url = request.url or ""
        token = _deadline.set(deadline)
        try:
            response = super().send(request, **kwargs)
            declared = _declared_length(response)
            if declared is not None and declared > limit and request.method != "HEAD":
                response.close()
                raise MalformedResponse(
                    f"the answer from {url} announces {declared} bytes, more than the "
                    f"{_mib(limit)} limit (settings [limits])",
                    url=url,
                )
            response.raw = _BoundedBody(response.raw, url=url, limit=limit, deadline=body_deadline)
            if not stream:
                # Read the body here, under the deadline (requests would read it later).
                try:
                    _ = response.content
                except MalformedResponse:
                    response.close()
                    raise
            return response
        finally:
            _deadline.reset(token)


def build_session(
    tls: TlsConfig,
    timeouts: Timeouts | None = None,
    *,
    pool_maxsize: int = 10,
    headers: Mapping[str, str] | None = None,
    limits: Limits | None = None,
) -> requests.Session:
    """A session for one service identity.

    The session never retries (an operation's :class:`~segurlink._retry.RetryPolicy`
    does, knowing whether it is safe). ``limits`` bounds the size of every
    answer (:class:`~segurlink.config.Limits`; its defaults when not given).

    >>> from segurlink.config import TlsConfig
    >>> s = build_session(TlsConfig())
    >>> s.verify
    True
    """
    timeouts = timeouts or Timeouts()
    ctx = build_ssl_context(tls)
    adapter = _SegurlinkAdapter(ctx, timeouts, pool_maxsize=pool_maxsize, limits=limits or Limits())
    session = requests.Session()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    # requests adds these CAs to our context; keep them identical to the explicit bundle.
    session.verify = str(tls.ca_bundle) if tls.ca_bundle is not None else True
    session.trust_env = False  # no REQUESTS_CA_BUNDLE / netrc surprises from the env
    session.headers["User-Agent"] = f"segurlink/{__version__}"
    if headers:
        session.headers.update(headers)
    return session


@contextlib.contextmanager
def request_errors(url: str) -> Iterator[None]:
    """Translate ``requests`` exceptions raised in the block into segurlink errors."""
    try:
        yield
    except requests.exceptions.SSLError as exc:
        raise TlsError(f"TLS failure with {url}: {_reason(exc)}", url=url) from exc
    except (requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout) as exc:
        raise TransportTimeout(f"no answer from {url} within the timeout", url=url) from exc
    except requests.exceptions.Timeout as exc:
        raise TransportTimeout(f"timeout talking to {url}", url=url) from exc
    except (
        requests.exceptions.ChunkedEncodingError,
        requests.exceptions.ContentDecodingError,
    ) as exc:
        raise MalformedResponse(f"the answer from {url} was cut short: {exc}", url=url) from exc
    except requests.exceptions.ConnectionError as exc:
        if _is_timeout(exc):
            raise TransportTimeout(f"no answer from {url} within the timeout", url=url) from exc
        if _is_tls_failure(exc):
            raise TlsError(f"TLS failure with {url}: {_reason(exc)}", url=url) from exc
        raise TransportError(f"connection to {url} failed: {_reason(exc)}", url=url) from exc
    except requests.exceptions.RequestException as exc:
        raise TransportError(f"request to {url} failed: {exc}", url=url) from exc


def _is_timeout(exc: BaseException) -> bool:
    # With a urllib3 Retry object, a read timeout surfaces as MaxRetryError(reason=
    # ReadTimeoutError) wrapped in requests' ConnectionError.
    # NewConnectionError (refused, unreachable) subclasses ConnectTimeoutError in urllib3.
    from urllib3.exceptions import NewConnectionError
    from urllib3.exceptions import TimeoutError as Urllib3Timeout

    for arg in exc.args:
        reason = getattr(arg, "reason", arg)
        if isinstance(reason, Urllib3Timeout) and not isinstance(reason, NewConnectionError):
            return True
        # The overall deadline passing while the request is sent surfaces as
        # ProtocolError("Connection aborted", TimeoutError(...)).
        if isinstance(reason, BaseException) and any(
            isinstance(a, TimeoutError) for a in reason.args
        ):
            return True
    return False


def _is_tls_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        text = str(seen)
        if "SSL" in text or "TLSV1_ALERT" in text or "certificate" in text.lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _reason(exc: BaseException) -> str:
    args = exc.args
    if args and hasattr(args[0], "reason"):
        return str(args[0].reason)
    return str(exc)
