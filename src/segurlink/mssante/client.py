"""The MSSanté client: the I/O shell around :mod:`segurlink.mssante.messages`.

It moves bytes: SMTP submission (``smtplib``: STARTTLS on 587 or implicit TLS on 465) and
IMAP reading (``imaplib``: STARTTLS on 143 or implicit TLS on 993), always with the
IGC-Santé CA loaded explicitly, TLS 1.2 or later, and every socket operation bounded by
the configured timeout. SASL ``XOAUTH2`` / ``OAUTHBEARER`` take a fresh access token from
an :class:`~segurlink.mssante.AccessTokenSource` (PER/ORG mailboxes); ``EXTERNAL`` uses the
structure's certificate (APP mailboxes). Every failure is a segurlink error.

>>> with MssClient.from_settings(settings, tokens=provider) as mss:      # doctest: +SKIP
...     result = mss.send(mss.compose(Draft(sender=..., to=(...,), documents=(cda,))))
...     mss.status(result.message_id)
"""

from __future__ import annotations

import contextlib
import imaplib
import json
import logging
import re
import smtplib
import ssl
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Self

from .._clock import Clock, utc_datetime
from ..config import Settings
from ..errors import (
    ConfigurationError,
    InputError,
    MalformedResponse,
    MessageTooLarge,
    MssAuthenticationError,
    MssError,
    RecipientRefusal,
    SegurlinkError,
    TlsError,
    TransportError,
    TransportTimeout,
    XdmError,
    XmlSecurityError,
)
from . import messages
from .models import (
    AccessTokenSource,
    DeliveryStatus,
    Draft,
    OutgoingMessage,
    Receipt,
    ReceivedMessage,
    SendResult,
    SentMessageStore,
)
from .settings import MssSettings

__all__ = ["MAX_FETCH_SIZE", "MemorySentStore", "MssClient", "sasl_oauthbearer", "sasl_xoauth2"]

logger = logging.getLogger(__name__)

#: Largest message fetched over IMAP (bigger ones are listed but not downloaded).
MAX_FETCH_SIZE = 64 * 1024 * 1024
_ENHANCED = re.compile(rb"^\s*([245]\.[0-9]{1,3}\.[0-9]{1,3})\b")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_UID = re.compile(rb"UID (\d+)")


def sasl_xoauth2(user: str, token: str) -> bytes:
    """The XOAUTH2 initial client response: ``user=<u>\\x01auth=Bearer <t>\\x01\\x01``."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01".encode()


def sasl_oauthbearer(user: str, token: str, host: str = "", port: int = 0) -> bytes:
    """The OAUTHBEARER (RFC 7628) client response, with ``a=<user>`` in the GS2 header."""
    fields = [f"n,a={user.replace('=', '=3D').replace(',', '=2C')},"]
    if host:
        fields.append(f"host={host}")
    if port:
        fields.append(f"port={port}")
    fields.append(f"auth=Bearer {token}")
    return ("\x01".join(fields) + "\x01\x01").encode()


class MemorySentStore:
    """The Message-IDs of sent messages, in memory (a DUI keeps them in its database)."""

    def __init__(self, message_ids: Iterable[str] = ()) -> None:
        self._ids = {messages.normalize_message_id(m) for m in message_ids}

    def remember(self, message_id: str) -> None:
        self._ids.add(messages.normalize_message_id(message_id))

    def knows(self, message_id: str) -> bool:
        return messages.normalize_message_id(message_id) in self._ids

    def __len__(self) -> int:
        return len(self._ids)


class _Sasl:
    """The client side of one SASL exchange, driven by smtplib/imaplib challenges.

    The first challenge (empty) gets the credentials; any later one is the server's error
    challenge (base64 JSON for OAuth), which must be answered (empty line for XOAUTH2,
    ``\\x01`` for OAUTHBEARER) or the server waits until the timeout.
    """

    def __init__(self, mechanism: str, initial: bytes) -> None:
        self.mechanism = mechanism
        self.initial = initial
        self.calls = 0
        self.error = ""

    def answer(self, challenge: bytes | None) -> bytes:
        self.calls += 1
        if self.calls == 1 and not challenge:
            return self.initial
        if self.calls == 1 and self.mechanism == "EXTERNAL":
            return self.initial
        self.error = (challenge or b"").decode("utf-8", "replace")[:200]
        return b"\x01" if self.mechanism == "OAUTHBEARER" else b""

    def error_status(self) -> str:
        try:
            payload = json.loads(self.error) if self.error else {}
        except ValueError:
            return self.error
        return str(payload.get("status", "")) if isinstance(payload, dict) else ""


class MssClient:
    """MSSanté LPS client: compose, send over SMTP, read messages and receipts over IMAP.

    ``tokens`` is the :class:`AccessTokenSource` of PER/ORG mailboxes
    (:class:`segurlink.psc.PscTokenProvider`). ``store`` remembers sent Message-IDs so
    that receipts are correlated (``Receipt.known``). ``clock`` and ``uuid_factory`` make
    composition deterministic in tests.
    """

    def __init__(
        self,
        settings: MssSettings,
        *,
        tokens: AccessTokenSource | None = None,
        store: SentMessageStore | None = None,
        clock: Clock | None = None,
        uuid_factory: Callable[[], uuid.UUID] = uuid.uuid4,
    ) -> None:
        if settings.auth != "EXTERNAL" and tokens is None:
            raise ConfigurationError(
                f"mssante.auth {settings.auth} needs an access-token source (a PSC login)"
            )
        self.settings = settings
        self.tokens = tokens
        self.store: SentMessageStore = store if store is not None else MemorySentStore()
        self._clock = clock or time.time
        self._uuid = uuid_factory
        self._context: ssl.SSLContext | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        tokens: AccessTokenSource | None = None,
        store: SentMessageStore | None = None,
        clock: Clock | None = None,
        uuid_factory: Callable[[], uuid.UUID] = uuid.uuid4,
    ) -> Self:
        """A client for the ``[mssante]`` table of ``settings``."""
        return cls(
            MssSettings.from_settings(settings),
            tokens=tokens,
            store=store,
            clock=clock,
            uuid_factory=uuid_factory,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Nothing stays open between operations; kept for the context-manager shape."""

    # -- composition ---------------------------------------------------------------------

    def compose(self, draft: Draft) -> OutgoingMessage:
        """:func:`segurlink.mssante.compose` with this client's identity and clock."""
        software = self.settings.software
        return messages.compose(
            draft,
            now=utc_datetime(self._clock),
            uuid_factory=self._uuid,
            product_reference=self.settings.product_reference,
            application=software.name if software else "segurlink",
            version=software.version if software else "",
            vendor=software.lps_name if software else "",
            source_oid=self.settings.source_oid,
        )

    # -- TLS -----------------------------------------------------------------------------

    def _ssl_context(self) -> ssl.SSLContext:
        if self._context is None:
            from .._http import build_ssl_context

            tls = self.settings.tls
            if self.settings.auth != "EXTERNAL":
                # PER/ORG mailboxes authenticate with the token, not a certificate.
                from dataclasses import replace

                tls = replace(tls, cert=None, key=None, pkcs12=None)
            self._context = build_ssl_context(tls)
        return self._context

    def _credentials(self, mechanism: str, host: str, port: int) -> bytes:
        address = self.settings.address
        if mechanism == "EXTERNAL":
            return address.encode()
        assert self.tokens is not None
        token = self.tokens.access_token()  # fresh, just before use: lifetimes are short
        if mechanism == "OAUTHBEARER":
            return sasl_oauthbearer(address, token, host, port)
        return sasl_xoauth2(address, token)

    # -- SMTP ----------------------------------------------------------------------------

    def send(self, message: OutgoingMessage | Draft, *, notify: Iterable[str] = ()) -> SendResult:
        """Submit ``message`` (a draft is composed first); per-recipient results.

        ``notify`` asks the operator for delivery status notifications (RFC 3461
        ``NOTIFY=``, e.g. ``("SUCCESS", "FAILURE")``: a DSN for every recipient reached
        or not) when the server offers the ``DSN`` extension; without it the server's
        default applies (failures only).

        Raises :class:`~segurlink.errors.MessageTooLarge` before connecting,
        :class:`~segurlink.errors.MssAuthenticationError` for a refused login,
        :class:`~segurlink.errors.MssError` when the operator refuses the message or every
        recipient, :class:`~segurlink.errors.TlsError` /
        :class:`~segurlink.errors.TransportTimeout` /
        :class:`~segurlink.errors.TransportError` for the network.
        """
        if isinstance(message, Draft):
            message = self.compose(message)
        limit = self.settings.max_message_size
        if message.size > limit:
            raise MessageTooLarge(
                f"the message is {message.size} bytes, over the {limit}-byte limit: not sent",
                size=message.size,
                limit=limit,
            )
        s = self.settings
        where = f"smtp://{s.smtp_host}:{s.smtp_port}"
        with _network_errors(where, "SMTP"):
            smtp = self._smtp_connect()
            try:
                result = self._submit(smtp, message, _notify_option(notify))
            finally:
                with contextlib.suppress(smtplib.SMTPException, OSError, ValueError):
                    smtp.quit()
                smtp.close()
        remember = getattr(self.store, "remember", None)
        if callable(remember) and result.accepted:
            remember(result.message_id)
        logger.info(
            "MSSanté message %s sent: %d recipient(s) accepted, %d refused (%d bytes)",
            result.message_id,
            len(result.accepted),
            len(result.refused),
            result.size,
        )
        return result

    def _smtp_connect(self) -> smtplib.SMTP:
        s = self.settings
        context = self._ssl_context()
        timeouts = s.timeouts
        smtp: smtplib.SMTP
        if s.smtp_security == "tls":
            smtp = smtplib.SMTP_SSL(
                s.smtp_host, s.smtp_port, timeout=timeouts.connect, context=context
            )
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=timeouts.connect)
        try:
            if smtp.sock is not None:
                smtp.sock.settimeout(timeouts.read)
            smtp.timeout = timeouts.read
            smtp.ehlo()
            if s.smtp_security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise TlsError("the SMTP server offers no STARTTLS: nothing is sent in clear")
                code, _ = smtp.starttls(context=context)
                if code != 220:
                    raise TlsError(f"STARTTLS refused: {code}")
                smtp.ehlo()
            self._smtp_login(smtp)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _smtp_login(self, smtp: smtplib.SMTP) -> None:
        s = self.settings
        mechanism = s.auth
        offered = (smtp.esmtp_features.get("auth") or "").upper().split()
        if mechanism not in offered:
            offers = " ".join(offered) or "none"
            raise MssAuthenticationError(
                f"the SMTP server does not offer AUTH {mechanism} (offers {offers})"
            )
        sasl = _Sasl(mechanism, self._credentials(mechanism, s.smtp_host, s.smtp_port))
        try:
            # Long PSC tokens go after the 334 challenge, never in the AUTH line.
            smtp.auth(
                mechanism,
                lambda challenge=None: sasl.answer(challenge).decode("latin-1"),
                initial_response_ok=False,
            )
        except smtplib.SMTPAuthenticationError as exc:
            detail = sasl.error_status()
            raise MssAuthenticationError(
                f"SMTP AUTH {mechanism} refused: {exc.smtp_code}"
                + (f" (token {detail})" if detail else ""),
                code=exc.smtp_code,
                enhanced_status=_enhanced(exc.smtp_error),
            ) from exc

    def _submit(self, smtp: smtplib.SMTP, message: OutgoingMessage, notify: str) -> SendResult:
        options = [f"SIZE={message.size}"] if smtp.has_extn("size") else []
        code, reply = smtp.mail(message.sender, options)
        if code != 250:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                smtp.rset()
            raise MssError(
                f"MAIL FROM refused: {code} {_text(reply)}",
                code=code,
                enhanced_status=_enhanced(reply),
            )
        accepted: list[str] = []
        refused: list[RecipientRefusal] = []
        rcpt_options = [notify] if notify and smtp.has_extn("dsn") else []
        for recipient in message.recipients:
            code, reply = smtp.rcpt(recipient, rcpt_options)
            if code in (250, 251):
                accepted.append(recipient)
            else:
                refused.append(RecipientRefusal(recipient, code, _enhanced(reply), _text(reply)))
        if not accepted:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                smtp.rset()
            codes = ", ".join(f"{r.code} {r.enhanced_status}".strip() for r in refused)
            first = refused[0]
            raise MssError(
                f"every recipient was refused ({codes})",
                code=first.code,
                enhanced_status=first.enhanced_status,
                refused=refused,
            )
        final: bytes | str
        try:
            code, final = smtp.data(message.data)  # returns the final reply, never raises it
        except smtplib.SMTPDataError as exc:  # DATA itself refused (not 354)
            code, final = exc.smtp_code, exc.smtp_error
        if code != 250:
            raise MssError(
                f"the message was refused: {code} {_text(final)}",
                code=code,
                enhanced_status=_enhanced(final),
            )
        return SendResult(message.message_id, tuple(accepted), tuple(refused), message.size)

    # -- IMAP ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _imap(self, mailbox: str = "INBOX") -> Iterator[imaplib.IMAP4]:
        s = self.settings
        where = f"imap://{s.imap_server}:{s.imap_port}"
        with _network_errors(where, "IMAP"):
            context = self._ssl_context()
            imap: imaplib.IMAP4
            if s.imap_security == "tls":
                imap = imaplib.IMAP4_SSL(
                    s.imap_server, s.imap_port, ssl_context=context, timeout=s.timeouts.connect
                )
            else:
                imap = imaplib.IMAP4(s.imap_server, s.imap_port, timeout=s.timeouts.connect)
            try:
                imap.sock.settimeout(s.timeouts.read)
                if s.imap_security == "starttls":
                    if "STARTTLS" not in imap.capabilities:
                        raise TlsError("the IMAP server offers no STARTTLS")
                    imap.starttls(ssl_context=context)
                    imap.sock.settimeout(s.timeouts.read)
                self._imap_login(imap)
                typ, _ = imap.select(_quote(mailbox), readonly=True)
                if typ != "OK":
                    raise MssError(f"cannot open the mailbox folder {mailbox!r}")
                yield imap
            finally:
                with contextlib.suppress(imaplib.IMAP4.error, OSError, ValueError):
                    imap.logout()
                with contextlib.suppress(OSError):
                    imap.shutdown()

    def _imap_login(self, imap: imaplib.IMAP4) -> None:
        s = self.settings
        mechanism = s.auth
        if f"AUTH={mechanism}" not in imap.capabilities:
            raise MssAuthenticationError(f"the IMAP server does not offer AUTH={mechanism}")
        sasl = _Sasl(mechanism, self._credentials(mechanism, s.imap_server, s.imap_port))
        try:
            imap.authenticate(mechanism, sasl.answer)
        except imaplib.IMAP4.error as exc:
            detail = sasl.error_status()
            raise MssAuthenticationError(
                f"IMAP AUTHENTICATE {mechanism} refused" + (f" (token {detail})" if detail else "")
            ) from exc

    def _uids(self, imap: imaplib.IMAP4, criteria: str) -> list[int]:
        typ, data = imap.uid("SEARCH", criteria)
        if typ != "OK":
            raise MssError(f"IMAP SEARCH failed: {typ}")
        return [int(x) for x in b" ".join(d for d in data if isinstance(d, bytes)).split()]

    def _fetch(self, imap: imaplib.IMAP4, uid: int) -> bytes | None:
        typ, data = imap.uid("FETCH", str(uid), "(RFC822.SIZE)")
        size_line = b" ".join(d if isinstance(d, bytes) else d[0] for d in data if d)
        found = _SIZE.search(size_line)
        if typ != "OK" or found is None:
            return None
        if int(found.group(1)) > MAX_FETCH_SIZE:
            logger.warning("message uid %d is over %d bytes: not downloaded", uid, MAX_FETCH_SIZE)
            return None
        typ, data = imap.uid("FETCH", str(uid), "(BODY.PEEK[])")
        for item in data:
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
                return item[1]
        return None

    def messages(
        self, *, mailbox: str = "INBOX", since_uid: int = 0, unseen: bool = False
    ) -> list[ReceivedMessage]:
        """Messages of ``mailbox`` (UID above ``since_uid``), oldest first.

        An ``IHE_XDM.ZIP`` that fails the safety checks is not unpacked: the message comes
        back with ``xdm=None`` and the reason in ``xdm_error``.
        """
        out: list[ReceivedMessage] = []
        s = self.settings
        with self._imap(mailbox) as imap, _network_errors(f"imap://{s.imap_server}", "IMAP"):
            criteria = "UNSEEN" if unseen else "ALL"
            if since_uid:
                criteria = f"UID {since_uid + 1}:* {criteria}"
            for uid in self._uids(imap, criteria):
                if uid <= since_uid:
                    continue
                data = self._fetch(imap, uid)
                if data is None:
                    continue
                out.append(self._read(data, uid))
        logger.info("read %d message(s) from the MSSanté mailbox", len(out))
        return out

    def _read(self, data: bytes, uid: int) -> ReceivedMessage:
        try:
            return messages.parse_message(data, uid=uid, known=self.store.knows)
        except (XdmError, XmlSecurityError) as exc:
            logger.warning(
                "message uid %d: its XDM archive is refused (%s)", uid, type(exc).__name__
            )
            return messages.parse_message(
                data, uid=uid, known=self.store.knows, skip_xdm=str(exc.message)
            )

    def receipts(self, *, mailbox: str = "INBOX", since_uid: int = 0) -> list[Receipt]:
        """The MDNs, DSNs and KO mails of ``mailbox``, correlated with the store."""
        found: list[Receipt] = []
        for message in self.messages(mailbox=mailbox, since_uid=since_uid):
            found.extend(message.receipts)  # a DSN reports several recipients
        return found

    def status(self, message_id: str, *, mailbox: str = "INBOX") -> DeliveryStatus:
        """What the receipts in ``mailbox`` say about the sent message ``message_id``."""
        wanted = messages.normalize_message_id(message_id)
        return DeliveryStatus(
            wanted,
            tuple(r for r in self.receipts(mailbox=mailbox) if r.original_message_id == wanted),
        )

    def replies(self, message_id: str, *, mailbox: str = "INBOX") -> list[ReceivedMessage]:
        """Messages (not receipts) threaded to ``message_id`` by In-Reply-To/References."""
        wanted = messages.normalize_message_id(message_id)
        return [
            m for m in self.messages(mailbox=mailbox) if m.receipt is None and m.replies_to(wanted)
        ]


_NOTIFY_VALUES = ("SUCCESS", "FAILURE", "DELAY", "NEVER")


def _notify_option(notify: Iterable[str]) -> str:
    """``NOTIFY=SUCCESS,FAILURE`` (RFC 3461) from the wanted conditions; ``""`` for none."""
    values = [v.strip().upper() for v in notify]
    unknown = [v for v in values if v not in _NOTIFY_VALUES]
    if unknown or ("NEVER" in values and len(values) > 1):
        raise InputError(
            f"notify takes SUCCESS, FAILURE, DELAY or NEVER alone, not {','.join(values)!r}"
        )
    return f"NOTIFY={','.join(dict.fromkeys(values))}" if values else ""


def _quote(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return " ".join(text.split())[:300]


def _enhanced(reply: bytes | str) -> str:
    raw = reply.encode() if isinstance(reply, str) else reply
    found = _ENHANCED.match(raw)
    return found.group(1).decode() if found else ""


@contextlib.contextmanager
def _network_errors(where: str, protocol: str) -> Iterator[None]:
    """Map socket, TLS, smtplib and imaplib failures to segurlink errors."""
    try:
        yield
    except SegurlinkError:
        raise
    except TimeoutError as exc:
        raise TransportTimeout(f"{protocol}: no answer within the timeout", url=where) from exc
    except ssl.SSLError as exc:
        # Includes certificate verification failures and a server closing the handshake
        # (TLS below 1.2 is refused with an alert or a plain close).
        raise TlsError(f"{protocol}: TLS failed: {exc.reason or exc}", url=where) from exc
    except smtplib.SMTPServerDisconnected as exc:
        if isinstance(exc.__context__, TimeoutError):  # smtplib hides read timeouts so
            raise TransportTimeout("SMTP: no answer within the timeout", url=where) from exc
        raise TransportError(f"SMTP: the server closed the connection ({exc})", url=where) from exc
    except smtplib.SMTPResponseException as exc:
        raise MssError(
            f"SMTP: {exc.smtp_code} {_text(exc.smtp_error)}",
            code=exc.smtp_code,
            enhanced_status=_enhanced(exc.smtp_error),
        ) from exc
    except smtplib.SMTPException as exc:
        raise MalformedResponse(f"SMTP: {exc}", url=where) from exc
    except imaplib.IMAP4.abort as exc:
        raise TransportError(f"IMAP: the connection broke ({exc})", url=where) from exc
    except imaplib.IMAP4.error as exc:
        raise MssError(f"IMAP: {exc}") from exc
    except (ConnectionError, EOFError) as exc:
        raise TransportError(f"{protocol}: the connection broke ({exc})", url=where) from exc
    except OSError as exc:
        raise TransportError(f"{protocol}: cannot reach {where} ({exc})", url=where) from exc
