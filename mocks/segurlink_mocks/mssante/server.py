"""The MSSanté mock: SMTP submission (aiosmtpd) and IMAP4rev1 (pymap) on loopback over TLS.

One asyncio loop in a daemon thread runs four listeners:

* SMTP submission with STARTTLS (the 587 of operators) and with implicit TLS (465);
* IMAP with STARTTLS (143) and with implicit TLS (993), served by pymap's IMAP server
  on an in-memory mailbox store.

Authentication follows the trust space and real servers' behaviour (specs/mssante.md):
``XOAUTH2`` / ``OAUTHBEARER`` with a token checked against a token list of the mock
(:meth:`MssMock.issue_token`) or the PSC mock's introspection, for PER/ORG mailboxes
(a bad or expired token gets the error challenge, then ``535 5.7.8`` /
``NO [AUTHENTICATIONFAILED]``); ``EXTERNAL`` with a client certificate of the test CA for
the APP mailbox. Only the mock operators' ``*.mssante.fr`` domains are reachable.
Submitted messages are checked (:mod:`.checks`: mandatory headers, XDM structure, size),
delivered into the mock's mailboxes, and answered with MDNs (automatic, or error MDNs
900-906 from the integrating mailbox), KO mails and DSNs.

The HTTPS server every mock runs on (:class:`~segurlink_mocks.MockServer`) serves the
shared control endpoint (``/_mock/faults``, ``/_mock/requests``, ``/_mock/reset``); an
exception in the SMTP or IMAP code is captured there too, and raised in the test by
:meth:`~segurlink_mocks.MockService.check_handler_errors`.

Faults (``inject``), each for one SMTP session: ``tempfail`` (``451 4.3.0`` at MAIL),
``refused_recipient`` (``550 5.1.1`` on the next RCPT), ``latency:<seconds>`` (slow
server: the DATA reply comes late), ``drop_after_data`` (the connection closes after the
data, without a reply; nothing is delivered), ``token_expired`` (the next OAuth login is
refused as with an expired token), ``reset`` (the connection drops at MAIL).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import contextlib
import contextvars
import datetime as dt
import json
import logging
import re
import ssl
import threading
import time
import uuid
from argparse import Namespace
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Self, Unpack

from werkzeug.wrappers import Request, Response

from .._core.exchange import PeerCertificate
from .._core.faults import HTTP_FAULTS, Fault, FaultCatalog, Latency, Reset, ServiceFault
from .._core.server import ServerOptions
from .._core.service import MockService
from . import checks, notify
from .data import (
    APP_CERT_CN,
    CLOSED_PATIENT,
    KNOWN_PATIENTS,
    LOCAL_DOMAIN,
    PATIENT_DOMAIN,
    TRUSTED_DOMAINS,
    Mailbox,
    default_mailboxes,
)

if TYPE_CHECKING:
    from ..pki import TestPki

__all__ = ["DEFAULT_MAX_SIZE", "MSS_FAULTS", "MssMock"]

logger = logging.getLogger("segurlink_mocks")

#: Faults of the MSSanté mock, one SMTP session each (``latency`` takes seconds).
MSS_FAULT_CATALOG = HTTP_FAULTS.only("latency", "reset").with_service(
    "tempfail", "refused_recipient", "drop_after_data", "token_expired"
)
MSS_FAULTS = MSS_FAULT_CATALOG.names
DEFAULT_MAX_SIZE = 25 * 1024 * 1024
_AUTH_LINE_LIMIT = 2048  # Postfix: longer AUTH lines (initial response) are refused
_AUTH_RESPONSE_LIMIT = 12_288  # responses after the 334 challenge may be that long
_XOAUTH2 = re.compile(rb"^user=([^\x01]+)\x01auth=[Bb][Ee][Aa][Rr][Ee][Rr] ([^\x01]+)\x01\x01$")
_PATIENT_LOCAL = re.compile(r"^[0-9]{5}(?:[0-9]{2}|2A|2B)[0-9]{8}$", re.IGNORECASE)
_WRITER: contextvars.ContextVar[asyncio.StreamWriter] = contextvars.ContextVar("mss_imap_writer")
# Third-party loggers that print protocol lines (message content, tokens) below WARNING.
_CHATTY_LOGGERS = ("mail.log", "mail.debug", "pymap", "pysasl")


class _LoginDataDeprecation(logging.Filter):
    """aiosmtpd 1.4 sets ``Session.login_data`` itself on every successful AUTH, then
    warns that it is deprecated: nothing the mock or its users can act on."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "login_data is deprecated" not in record.getMessage()


def _silence_content_loggers() -> None:
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    smtp_log = logging.getLogger("mail.log")
    if not any(isinstance(f, _LoginDataDeprecation) for f in smtp_log.filters):
        smtp_log.addFilter(_LoginDataDeprecation())


@dataclass(frozen=True, slots=True)
class _Verdict:
    mailbox: Mailbox | None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.mailbox is not None


@dataclass(frozen=True, slots=True)
class _Introspection:
    url: str
    client_id: str
    client_secret: str


class MssMock(MockService):
    """The MSSanté operator mock (SMTP submission + IMAP), with the control endpoint.

    ``max_message_size`` is the operator's cap (``552`` beyond). ``psc_introspection``
    (``(introspection URL, client_id, client_secret)``) makes OAuth logins also accept
    tokens of the PSC mock; :meth:`issue_token` makes tokens the mock itself accepts.

    >>> with MssMock(pki) as mss:                           # doctest: +SKIP
    ...     token = mss.issue_token("810001234567")
    ...     mss.smtp_port, mss.imap_port
    """

    name: ClassVar[str] = "mssante"
    fault_catalog: ClassVar[FaultCatalog] = MSS_FAULT_CATALOG

    def __init__(
        self,
        pki: TestPki,
        *,
        max_message_size: int = DEFAULT_MAX_SIZE,
        psc_introspection: tuple[str, str, str] | None = None,
        **options: Unpack[ServerOptions],
    ) -> None:
        super().__init__(pki, **options)
        self.max_message_size = max_message_size
        self.introspection = _Introspection(*psc_introspection) if psc_introspection else None
        self._tokens: dict[str, tuple[str, float]] = {}
        self._mail_lock = threading.Lock()
        self.mailboxes: Mapping[str, Mailbox] = default_mailboxes("")
        self.known_patients: set[str] = set(KNOWN_PATIENTS)
        self.blocked_authors: set[str] = set()
        self._integration = checks.Integration(frozenset(self.known_patients))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._listeners: dict[str, asyncio.base_events.Server] = {}
        self._store: dict[str, Any] = {}
        self._delivered: dict[str, list[bytes]] = {}
        self._handler = _SubmissionHandler(self)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> Self:
        from ..pki import STRUCTURE_OU

        _silence_content_loggers()
        self.pki.issue_client("mss-app", APP_CERT_CN)
        self.mailboxes = default_mailboxes(STRUCTURE_OU)
        super().start()
        try:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._loop_thread = threading.Thread(
                target=loop.run_forever, name="segurlink-mock-mssante-mail", daemon=True
            )
            self._loop_thread.start()
            asyncio.run_coroutine_threadsafe(self._start_listeners(), loop).result(10)
        except BaseException:
            self.stop()
            raise
        logger.info(
            "mssante mock: SMTP %d (STARTTLS) %d (TLS), IMAP %d (STARTTLS) %d (TLS)",
            self.smtp_port,
            self.smtps_port,
            self.imap_port,
            self.imaps_port,
        )
        return self

    def stop(self, timeout: float = 2.0) -> None:
        loop, thread = self._loop, self._loop_thread
        if loop is not None and thread is not None:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._stop_listeners(), loop).result(timeout)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            if not thread.is_alive():
                loop.close()
        self._loop = None
        self._loop_thread = None
        self._listeners = {}
        super().stop(timeout)

    async def _start_listeners(self) -> None:
        loop = asyncio.get_running_loop()
        context = self.pki.server_ssl_context(require_client_cert=False)
        host = self.host

        def smtp(implicit: bool) -> Any:
            return _Submission(self, implicit=implicit, tls_context=context, loop=loop)

        self._listeners["smtp"] = await loop.create_server(lambda: smtp(False), host, 0)
        self._listeners["smtps"] = await loop.create_server(
            lambda: smtp(True), host, 0, ssl=context
        )
        imap = _ImapEndpoint(self, context, implicit=False)
        imaps = _ImapEndpoint(self, context, implicit=True)
        self._listeners["imap"] = await asyncio.start_server(imap.connection, host, 0)
        self._listeners["imaps"] = await asyncio.start_server(
            imaps.connection, host, 0, ssl=context
        )

    async def _stop_listeners(self) -> None:
        for server in self._listeners.values():
            server.close()
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task():
                task.cancel()

    def _port(self, name: str) -> int:
        server = self._listeners.get(name)
        if server is None:
            raise RuntimeError("mssante mock is not started")
        return int(server.sockets[0].getsockname()[1])

    @property
    def smtp_port(self) -> int:
        """SMTP submission with STARTTLS (an operator's 587)."""
        return self._port("smtp")

    @property
    def smtps_port(self) -> int:
        """SMTP submission over implicit TLS (465)."""
        return self._port("smtps")

    @property
    def imap_port(self) -> int:
        """IMAP with STARTTLS (143)."""
        return self._port("imap")

    @property
    def imaps_port(self) -> int:
        """IMAP over implicit TLS (993)."""
        return self._port("imaps")

    @property
    def endpoint(self) -> str:
        """``smtp://host:port`` of the submission server (STARTTLS)."""
        return f"smtp://{self.url.split('://', 1)[1].rsplit(':', 1)[0]}:{self.smtp_port}"

    def reset(self) -> None:
        """No fault, empty log and mailboxes, no token, default patients and authors."""
        super().reset()
        with self._mail_lock:
            self._tokens.clear()
            self.known_patients = set(KNOWN_PATIENTS)
            self.blocked_authors = set()
            self._integration = checks.Integration(frozenset(self.known_patients))
        if self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._clear_store(), self._loop).result(5)

    async def _clear_store(self) -> None:
        self._store.clear()
        self._delivered.clear()

    def settings_table(
        self, pki_dir: str | None = None, *, auth: str = "EXTERNAL"
    ) -> dict[str, Any]:
        """The ``[mssante]`` table of a client on the APP mailbox (``EXTERNAL``), or on
        the PER mailbox of Dr Paul MEDECIN-TEST with ``auth="XOAUTH2"``/``"OAUTHBEARER"``.

        ``pki_dir`` makes certificate paths relative (the stack's settings file).
        """
        from .data import APP_MAILBOX, PER_MAILBOX

        base = pki_dir if pki_dir is not None else str(self.pki.directory)
        host = self.url.split("://", 1)[1].rsplit(":", 1)[0].strip("[]")
        table: dict[str, Any] = {
            "address": APP_MAILBOX if auth == "EXTERNAL" else PER_MAILBOX,
            "auth": auth,
            "smtp_host": host,
            "smtp_port": self.smtp_port,
            "smtp_security": "starttls",
            "imap_host": host,
            "imap_port": self.imap_port,
            "imap_security": "starttls",
            "ca_bundle": f"{base}/ca.pem",
            "max_message_size": self.max_message_size,
            "product_reference": "SEGURLINK-MOCK-NIL",
        }
        if auth == "EXTERNAL":
            table["cert"] = f"{base}/mss-app.pem"
            table["key"] = f"{base}/mss-app.key"
        return table

    # -- tokens and logins ---------------------------------------------------------------

    def issue_token(self, national_id: str, *, lifetime: float = 300.0, length: int = 40) -> str:
        """A bearer token the mock accepts for ``national_id`` (``8`` + RPPS) during
        ``lifetime`` seconds. ``length`` makes long tokens (PSC JWTs reach 1,500-12,000)."""
        token = base64.urlsafe_b64encode(uuid.uuid4().bytes * (1 + length // 16)).decode()
        token = token.replace("=", "")[: max(length, 16)]
        with self._mail_lock:
            self._tokens[token] = (national_id, time.time() + lifetime)
        return token

    def expire_tokens(self) -> None:
        """Every token issued by :meth:`issue_token` expires now."""
        with self._mail_lock:
            self._tokens = {t: (n, 0.0) for t, (n, _) in self._tokens.items()}

    def _token_owner(self, token: str) -> str | None:
        with self._mail_lock:
            found = self._tokens.get(token)
        if found is not None:
            national_id, expires = found
            return national_id if expires > time.time() else None
        if self.introspection is not None:
            return self._introspect(token)
        return None

    def _introspect(self, token: str) -> str | None:
        import requests

        spec = self.introspection
        assert spec is not None
        try:
            response = requests.post(
                spec.url,
                data={"token": token, "token_type_hint": "access_token"},
                auth=(spec.client_id, spec.client_secret),
                verify=str(self.pki.ca),
                timeout=5,
            )
            payload = response.json()
        except (requests.RequestException, ValueError):
            return None
        if not isinstance(payload, dict) or payload.get("active") is not True:
            return None
        return str(payload.get("preferred_username") or "") or None

    def _oauth_verdict(self, user: str, token: str, expired: bool) -> _Verdict:
        mailbox = self.mailboxes.get(user.strip().lower())
        if mailbox is None or mailbox.kind not in ("PER", "ORG", "CAB"):
            return _Verdict(None, "no such PER/ORG mailbox")
        if expired:
            return _Verdict(None, "invalid_token")
        owner = self._token_owner(token)
        if owner is None:
            return _Verdict(None, "invalid_token")
        if owner not in mailbox.owners:
            return _Verdict(None, "not an owner of the mailbox")
        return _Verdict(mailbox)

    def _certificate_verdict(self, der: bytes | None, authzid: str) -> _Verdict:
        if not der:
            return _Verdict(None, "no client certificate")
        peer = PeerCertificate.from_der(der)
        candidates = [
            box
            for box in self.mailboxes.values()
            if box.kind == "APP" and box.cert_cn == peer.cn and box.cert_ou == peer.ou
        ]
        if authzid:
            candidates = [box for box in candidates if box.address == authzid.strip().lower()]
        if not candidates:
            return _Verdict(None, "certificate not bound to an APP mailbox")
        return _Verdict(candidates[0])

    def _note(
        self,
        operation: str,
        status: int,
        started: float,
        fault: Fault | None = None,
        **details: str,
    ) -> None:
        spec = fault.spec if fault is not None else None
        self.server.record("SMTP", operation, status, started, fault=spec, details=details)

    # -- mailboxes -----------------------------------------------------------------------

    async def _mailbox_set(self, address: str) -> Any:
        from pymap.backend.dict.filter import FilterSet
        from pymap.backend.dict.mailbox import MailboxSet

        key = address.lower()
        if key not in self._store:
            self._store[key] = (MailboxSet(), FilterSet())
        return self._store[key]

    async def _append(self, address: str, data: bytes) -> None:
        from pymap.parsing.message import AppendMessage

        mailbox_set, _ = await self._mailbox_set(address)
        inbox = await mailbox_set.get_mailbox("INBOX")
        await inbox.append(AppendMessage(data, dt.datetime.now(dt.UTC)), recent=True)
        self._delivered.setdefault(address.lower(), []).append(data)

    async def _messages(self, address: str) -> list[bytes]:
        return list(self._delivered.get(address.lower(), ()))

    def mailbox(self, address: str) -> list[bytes]:
        """The messages delivered to ``address`` (raw bytes), oldest first."""
        if self._loop is None:
            raise RuntimeError("mssante mock is not started")
        return asyncio.run_coroutine_threadsafe(self._messages(address), self._loop).result(5)

    def deliver(self, address: str, data: bytes) -> None:
        """Put ``data`` into the mailbox of ``address`` (as if another operator sent it)."""
        if self._loop is None:
            raise RuntimeError("mssante mock is not started")
        asyncio.run_coroutine_threadsafe(self._append(address, data), self._loop).result(5)

    async def _deliver_submission(
        self,
        submitted: checks.SubmittedMessage,
        raw: bytes,
        sender: str,
        recipients: Sequence[str],
        conditions: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        now = dt.datetime.now(dt.UTC)
        stamped = f"Return-Path: <{sender}>\r\n".encode() + raw
        failed: list[tuple[str, str, str]] = []
        delivered: list[tuple[str, str, str]] = []
        asked = conditions or {}
        wants_mdn = bool(submitted.disposition_to) and _address(submitted.disposition_to) == sender
        for recipient in recipients:
            address = recipient.lower()
            local, _, domain = address.rpartition("@")
            if domain == PATIENT_DOMAIN and local.upper() == CLOSED_PATIENT:
                failed.append((recipient, "5.2.1", "550 5.2.1 mailbox closed (Mon espace santé)"))
                continue
            mailbox = self.mailboxes.get(address)
            if mailbox is None and domain != PATIENT_DOMAIN:
                failed.append((recipient, "5.1.1", "550 5.1.1 user unknown"))
                continue
            await self._append(address, stamped)
            if notify.wants(asked.get(address), "SUCCESS"):
                delivered.append((recipient, "2.0.0", "250 2.0.0 delivered to the mailbox"))
            error = None
            if mailbox is not None and mailbox.integrates:
                with self._mail_lock:
                    integration = self._integration
                    integration.known_patients = frozenset(self.known_patients)
                    integration.blocked_authors = frozenset(self.blocked_authors)
                error = integration.check(submitted, sender)
            if wants_mdn:
                report = checks.mdn(
                    reporter=recipient,
                    to=sender,
                    original=submitted,
                    raw=raw,
                    when=now,
                    error=error,
                )
                await self._append(sender, report)
            elif error is not None:
                report = checks.error_mail(
                    reporter=recipient,
                    to=sender,
                    original=submitted,
                    raw=raw,
                    when=now,
                    error=error,
                )
                await self._append(sender, report)
        failed = [f for f in failed if notify.wants(asked.get(f[0].lower()), "FAILURE")]
        for action, reported in (("failed", failed), ("delivered", delivered)):
            if reported:
                await self._append(
                    sender,
                    checks.dsn(
                        reporting_mta=f"smtp.{LOCAL_DOMAIN}",
                        to=sender,
                        failed=reported,
                        raw=raw,
                        when=now,
                        action=action,
                    ),
                )

    # -- HTTP: only the control endpoint ---------------------------------------------------

    def not_found(self, request: Request) -> Response:
        return Response(
            json.dumps({"error": "the MSSanté mock speaks SMTP and IMAP; see /_mock/"}),
            status=404,
            content_type="application/json",
        )


def _address(header_value: str) -> str:
    import email.utils

    found = email.utils.getaddresses([header_value])
    return found[0][1].lower() if found else ""


# -- SMTP --------------------------------------------------------------------------------------


def _smtp_classes() -> tuple[Any, Any, Any]:
    from aiosmtpd.smtp import MISSING, SMTP, AuthResult

    return SMTP, AuthResult, MISSING


def _make_submission_class() -> Any:
    SMTP, _, _ = _smtp_classes()

    class Submission(SMTP):  # type: ignore[misc, valid-type]
        """aiosmtpd's SMTP with the submission rules of an MSSanté operator."""

        # The stream limit must let an AUTH response after 334 be 12,288 characters.
        line_length_limit = _AUTH_RESPONSE_LIMIT + 2

        def __init__(
            self,
            mock: MssMock,
            *,
            implicit: bool,
            tls_context: ssl.SSLContext,
            loop: asyncio.AbstractEventLoop,
        ) -> None:
            super().__init__(
                mock._handler,
                hostname=f"smtp.{LOCAL_DOMAIN}",
                ident="segurlink MSSante mock ESMTP",
                tls_context=None if implicit else tls_context,
                require_starttls=not implicit,
                auth_required=False,  # refused late, at RCPT, as Postfix does
                auth_require_tls=not implicit,
                auth_exclude_mechanism=["PLAIN", "LOGIN"],
                data_size_limit=mock.max_message_size,
                timeout=30,
                loop=loop,
            )
            self.command_size_limits = collections.defaultdict(
                lambda: 512, {"AUTH": _AUTH_LINE_LIMIT}
            )
            self.mock = mock

        async def smtp_RCPT(self, arg: str | None) -> None:
            # The DSN extension (RFC 3461): its parameters reach handle_RCPT by the session.
            dsn: list[str] = []
            if arg is not None:
                arg, dsn = notify.split_dsn_parameters(arg)
            if self.session is not None:
                self.session.segurlink_dsn = dsn
            await super().smtp_RCPT(arg)

    return Submission


_SUBMISSION: Any = None


def _Submission(mock: MssMock, **kwargs: Any) -> Any:
    global _SUBMISSION
    if _SUBMISSION is None:
        _SUBMISSION = _make_submission_class()
    return _SUBMISSION(mock, **kwargs)


def _is(fault: Fault | None, name: str) -> bool:
    return isinstance(fault, ServiceFault) and fault.name == name


def _peer_der(transport: Any) -> bytes | None:
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    return bytes(der) if der else None


def _oauth_challenge(mechanism: str) -> str:
    # What Dovecot/Postfix send before refusing a bad token (specs/mssante.md).
    if mechanism == "OAUTHBEARER":
        return json.dumps({"status": "invalid_token", "scope": "mail"})
    return json.dumps({"status": "401", "schemes": "bearer", "scope": "mail"})


def _parse_oauth(mechanism: str, blob: bytes) -> tuple[str, str] | None:
    if mechanism == "XOAUTH2":
        match = _XOAUTH2.match(blob)
        return (match.group(1).decode(), match.group(2).decode()) if match else None
    header, sep, rest = blob.partition(b"\x01")
    if not sep or not header.startswith((b"n,", b"y,")):
        return None
    user = ""
    for item in header.split(b",")[1:]:
        if item.startswith(b"a="):
            user = item[2:].decode().replace("=2C", ",").replace("=3D", "=")
    token = ""
    for pair in rest.split(b"\x01"):
        if pair[:5].lower() == b"auth=" and pair[5:12].lower() == b"bearer ":
            token = pair[12:].decode()
    if not user or not token:  # Dovecot refuses a GS2 header without a=<user>
        return None
    return user, token


class _SubmissionHandler:
    """aiosmtpd handler: SASL mechanisms and the MAIL/RCPT/DATA rules of the trust space."""

    def __init__(self, mock: MssMock) -> None:
        self.mock = mock

    def _fault(self, session: Any) -> Fault | None:
        """The fault of this SMTP session, taken at its first command."""
        if not hasattr(session, "segurlink_fault"):
            session.segurlink_fault = self.mock.server.faults.take(None)
        fault: Fault | None = session.segurlink_fault
        return fault

    async def handle_exception(self, error: Exception) -> str:
        # aiosmtpd's hook for an exception in a command: the mock's own ones are kept for
        # check_handler_errors(); a client's broken TLS or connection is not a mock bug.
        from aiosmtpd.smtp import TLSSetupException

        client_side = (
            TLSSetupException,
            ConnectionError,
            asyncio.IncompleteReadError,
            ssl.SSLError,
        )
        if not isinstance(error, client_side):
            self.mock.server.capture_error(error)
        return "451 4.3.0 Error: local error in processing"

    async def _initial(self, server: Any, args: list[str]) -> bytes | None:
        _, _, missing = _smtp_classes()
        if len(args) == 2:
            if args[1] == "=":
                return b""
            try:
                return base64.b64decode(args[1], validate=True)
            except (binascii.Error, ValueError):
                await server.push("501 5.5.2 Cannot decode base64")
                return None
        answer = await server.challenge_auth("")
        return None if answer is missing else bytes(answer)

    async def _oauth(self, server: Any, args: list[str], mechanism: str) -> Any:
        _, auth_result, _ = _smtp_classes()
        started = time.monotonic()
        fault = self._fault(server.session)
        blob = await self._initial(server, args)
        if blob is None:
            return auth_result(success=False, handled=True)
        parsed = _parse_oauth(mechanism, blob)
        if parsed is None:
            self.mock._note(f"AUTH {mechanism}", 535, started, fault=fault)
            return auth_result(
                success=False, handled=False, message="535 5.7.8 Error: authentication failed"
            )
        user, token = parsed
        loop = asyncio.get_running_loop()
        verdict = await loop.run_in_executor(
            None, self.mock._oauth_verdict, user, token, _is(fault, "token_expired")
        )
        if verdict.ok:
            self.mock._note(f"AUTH {mechanism}", 235, started, kind=verdict.mailbox.kind)  # type: ignore[union-attr]
            return auth_result(success=True, auth_data=verdict.mailbox)
        # Not refused at once: the error challenge, which the client must answer.
        await server.challenge_auth(_oauth_challenge(mechanism))
        self.mock._note(f"AUTH {mechanism}", 535, started, fault=fault)
        return auth_result(
            success=False, handled=False, message="535 5.7.8 Error: authentication failed"
        )

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> Any:
        return await self._oauth(server, args, "XOAUTH2")

    async def auth_OAUTHBEARER(self, server: Any, args: list[str]) -> Any:
        return await self._oauth(server, args, "OAUTHBEARER")

    async def auth_EXTERNAL(self, server: Any, args: list[str]) -> Any:
        _, auth_result, _ = _smtp_classes()
        started = time.monotonic()
        self._fault(server.session)
        blob = await self._initial(server, args)
        if blob is None:
            return auth_result(success=False, handled=True)
        verdict = self.mock._certificate_verdict(_peer_der(server.transport), blob.decode())
        self.mock._note("AUTH EXTERNAL", 235 if verdict.ok else 535, started)
        if not verdict.ok:
            return auth_result(
                success=False, handled=False, message="535 5.7.8 Error: authentication failed"
            )
        return auth_result(success=True, auth_data=verdict.mailbox)

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        return notify.advertise(responses)

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        started = time.monotonic()
        fault = self._fault(session)
        if _is(fault, "tempfail"):
            self.mock._note("MAIL", 451, started, fault=fault)
            return "451 4.3.0 Temporary failure, please try again later"
        if isinstance(fault, Reset):
            self.mock._note("MAIL", 0, started, fault=fault)
            server.transport.abort()
            return "421 4.4.2 connection dropped"
        mailbox = session.auth_data if session.authenticated else None
        if isinstance(mailbox, Mailbox) and address.lower() != mailbox.address:
            self.mock._note("MAIL", 553, started)
            return f"553 5.7.1 <{address}>: Sender address rejected: not owned by the user"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        started = time.monotonic()
        fault = self._fault(session)
        domain = address.rpartition("@")[2].lower()
        local = address.rpartition("@")[0]
        reply = ""
        if not session.authenticated:
            reply = f"554 5.7.1 <{address}>: Access denied"
        elif _is(fault, "refused_recipient"):
            session.segurlink_fault = None  # one recipient only
            reply = f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        elif domain not in TRUSTED_DOMAINS:
            reply = f"554 5.7.1 <{address}>: Relay access denied (outside the MSSante trust space)"
        elif domain == LOCAL_DOMAIN and address.lower() not in self.mock.mailboxes:
            reply = (
                f"550 5.1.1 <{address}>: Recipient address rejected: "
                "User unknown in virtual mailbox table"
            )
        elif domain == PATIENT_DOMAIN and not _PATIENT_LOCAL.match(local):
            reply = f"550 5.1.3 <{address}>: Recipient address rejected: not a patient address"
        conditions = notify.notify_conditions(getattr(session, "segurlink_dsn", None) or options)
        if not reply and conditions is None:
            reply = "501 5.5.4 Invalid NOTIFY parameter"
        if reply:
            self.mock._note("RCPT", int(reply[:3]), started, fault=fault)
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        if not hasattr(envelope, "segurlink_notify"):
            envelope.segurlink_notify = {}
        assert conditions is not None
        envelope.segurlink_notify[address.lower()] = conditions
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        started = time.monotonic()
        fault = self._fault(session)
        if isinstance(fault, Latency):
            await asyncio.sleep(fault.seconds)
        if _is(fault, "drop_after_data"):
            self.mock._note("DATA", 0, started, fault=fault)
            server.transport.abort()
            return "421 4.4.2 connection dropped"
        raw = bytes(envelope.original_content or b"")
        try:
            submitted = checks.read_submission(raw, envelope.mail_from)
        except checks.ContentProblem as problem:
            self.mock._note("DATA", int(problem.reply[:3]), started, fault=fault)
            return problem.reply
        except (ValueError, LookupError, TypeError):
            self.mock._note("DATA", 550, started, fault=fault)
            return "550 5.6.0 Message refused: not a readable RFC 5322 message"
        await self.mock._deliver_submission(
            submitted,
            raw,
            envelope.mail_from,
            envelope.rcpt_tos,
            getattr(envelope, "segurlink_notify", None),
        )
        queue_id = uuid.uuid4().hex[:12].upper()
        self.mock._note(
            "DATA",
            250,
            started,
            fault=fault,
            recipients=str(len(envelope.rcpt_tos)),
            documents=str(len(submitted.documents)),
            size=str(len(raw)),
        )
        return f"250 2.0.0 Ok: queued as {queue_id}"


# -- IMAP (pymap) ------------------------------------------------------------------------------


class _ImapEndpoint:
    """One IMAP listener: pymap's IMAP server on the mock's mailboxes."""

    def __init__(self, mock: MssMock, context: ssl.SSLContext, *, implicit: bool) -> None:
        from pymap.backend.dict import Config
        from pymap.concurrent import Subsystem
        from pysasl import SASLAuth
        from pysasl.hashing import BuiltinHash

        self.server = mock.server

        mechanisms = [
            _imap_oauth_mechanism(mock, "XOAUTH2"),
            _imap_oauth_mechanism(mock, "OAUTHBEARER"),
            _imap_external_mechanism(mock),
        ]

        class ImapConfig(Config):
            @property
            def tls_auth(self) -> SASLAuth:
                return SASLAuth(mechanisms)

            @property
            def initial_auth(self) -> SASLAuth:
                # Before TLS nothing (LOGINDISABLED); over implicit TLS the mechanisms.
                return SASLAuth([]) if not implicit else SASLAuth(mechanisms)

            @property
            def greeting(self) -> bytes:
                return b"segurlink MSSante mock IMAP4rev1 ready"

        args = Namespace(proxy_protocol=None, passlib_cfg=None, inherited_sockets=None)
        self.config = ImapConfig(
            args,
            host=mock.host,
            port=0,
            demo_data=False,
            demo_user="",
            demo_password="",
            ssl_context=context,
            tls_enabled=not implicit,
            hash_context=BuiltinHash(),
            cpu_subsystem=Subsystem.for_asyncio(),
            invalid_user_sleep=0.0,
            reject_dnsbl=False,
            max_append_len=mock.max_message_size,
        )
        self.login = _imap_login(mock, self.config)

    async def connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        from proxyprotocol.sock import SocketInfoLocal
        from pymap.imap import IMAPServer

        class RemoteSocketInfo(SocketInfoLocal):
            # pymap trusts loopback clients with auth before TLS: the mock must not.
            @property
            def from_localhost(self) -> bool:
                return False

        _WRITER.set(writer)
        info = RemoteSocketInfo(writer, unique_id=uuid.uuid4().bytes)
        try:
            await IMAPServer(self.login, self.config)(reader, writer, info)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, OSError):
            writer.close()
        except Exception as exc:  # noqa: BLE001 - a bug of the mock's IMAP side: kept
            self.server.capture_error(exc)
            writer.close()


def _imap_credentials(mailbox: str) -> Any:
    from pysasl.creds.external import ExternalCredentials

    return ExternalCredentials(mailbox)


def _imap_oauth_mechanism(mock: MssMock, name: str) -> Any:
    from pysasl.mechanism import ServerChallenge, ServerMechanism

    class OAuth(ServerMechanism):
        def server_attempt(self, responses: Sequence[Any]) -> tuple[Any, None]:
            if not responses:
                raise ServerChallenge(b"")
            if len(responses) > 1:  # the client answered our error challenge
                return _imap_credentials(""), None
            parsed = _parse_oauth(name, responses[0].response)
            if parsed is None:
                return _imap_credentials(""), None
            with mock.server.capturing():  # pymap would turn a crash here into a NO
                verdict = mock._oauth_verdict(parsed[0], parsed[1], False)
            if verdict.ok:
                assert verdict.mailbox is not None
                return _imap_credentials(verdict.mailbox.address), None
            raise ServerChallenge(_oauth_challenge(name).encode())

    return OAuth(name)


def _imap_external_mechanism(mock: MssMock) -> Any:
    from pysasl.mechanism import ServerChallenge, ServerMechanism

    class External(ServerMechanism):
        def server_attempt(self, responses: Sequence[Any]) -> tuple[Any, None]:
            if not responses:
                raise ServerChallenge(b"")
            writer = _WRITER.get(None)
            der = _peer_der(writer) if writer is not None else None
            authzid = responses[0].response.decode("utf-8", "replace")
            with mock.server.capturing():
                verdict = mock._certificate_verdict(der, authzid)
            return _imap_credentials(verdict.mailbox.address if verdict.mailbox else ""), None

    return External("EXTERNAL")


def _imap_login(mock: MssMock, config: Any) -> Any:
    from pymap.backend.dict import Session
    from pymap.exceptions import AuthorizationFailure, InvalidAuth, NotAllowedError
    from pymap.interfaces.login import IdentityInterface, LoginInterface
    from pymap.token import AllTokens
    from pymap.user import UserMetadata

    class Identity(IdentityInterface):
        def __init__(self, address: str) -> None:
            self._address = address

        @property
        def name(self) -> str:
            return self._address

        @property
        def roles(self) -> frozenset[str]:
            return frozenset()

        @contextlib.asynccontextmanager
        async def new_session(self) -> AsyncIterator[Any]:
            mailbox_set, filter_set = await mock._mailbox_set(self._address)
            yield Session(self._address, config, mailbox_set, filter_set)

        async def new_token(self, *, expiration: dt.datetime | None = None) -> str | None:
            return None

        async def get(self) -> Any:
            return UserMetadata(config, self._address)

        async def set(self, metadata: Any) -> int | None:
            raise NotAllowedError("the mock's users are fixed")

        async def delete(self) -> None:
            raise NotAllowedError("the mock's users are fixed")

    class Login(LoginInterface):
        @property
        def tokens(self) -> Any:
            return AllTokens(config)

        async def authenticate(self, credentials: Any) -> Any:
            address = getattr(credentials, "authzid", "")
            if not address:
                raise InvalidAuth()
            return Identity(address)

        async def authorize(self, authenticated: Any, authzid: str) -> Any:
            if authzid and authzid.lower() != authenticated.name:
                raise AuthorizationFailure()
            return authenticated

    return Login()
