"""Structured exchange log with health data masked, and privacy of third-party loggers.

Each exchange with a national service is logged once on the ``segurlink.exchange``
logger: at INFO only non-identifying facts (service, operation, message id, status,
duration, outcome code); at DEBUG the request/response bodies too, with health data
(INS, names, birth dates and places) masked unless the caller opted in explicitly with
``reveal_health_data=True``. Documents never reach a log: MTOM attachments and long
base64 runs (a CDA body, a PDF) are replaced by a size marker, opt-in or not.

Libraries segurlink drives log what they handle: signxml logs every canonicalised XML it
signs or verifies (the VIHF names the patient's INS), zeep logs every SOAP body it sends
or receives, authlib logs tokens and PKCE verifiers, urllib3 logs request URLs. Every
client applies :class:`ThirdPartyPrivacyFilter` to those libraries' records
(:func:`protect_third_party_loggers`): their payload-carrying messages are withheld,
the others masked, whatever level or handler the application configured.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Exchange",
    "ExchangeLog",
    "ThirdPartyPrivacyFilter",
    "mask_body",
    "mask_identifier",
    "mask_text",
    "mask_xml",
    "protect_third_party_loggers",
]

logger = logging.getLogger("segurlink.exchange")

# Elements of the national services' messages that carry health data.
SENSITIVE_XML_ELEMENTS: frozenset[str] = frozenset(
    {
        "NomNaissance",
        "Prenom",
        "ListePrenom",
        "DateNaissance",
        "LieuNaissance",
        "NumIdentifiant",
        "Cle",
        "Num",
        "DateNai",
        "given",
        "family",
        "birthTime",
        "Value",  # XDS slot values (patient ids, names)
        # CDA addresses, the birth place among them (birthplace/place/addr/county)
        "county",
        "city",
        "postalCode",
        "streetAddressLine",
        "houseNumber",
        "censusTract",
    }
)

# A start tag and the text right after it, up to the next tag or the end of the excerpt
# (a body cut short still has its last value masked).
_XML_ELEMENT = re.compile(
    rb"(?P<open><(?:[A-Za-z_][\w.-]*:)?(?P<tag>[A-Za-z_][\w.-]*))"
    rb"(?P<attrs>\s[^<>]*?)?(?P<end>/?>|$)(?P<text>[^<]*)"
)
_XML_ATTRIBUTE = re.compile(
    rb"""(?P<name>[\w.:-]+)(?P<eq>\s*=\s*)(?P<q>["'])(?:(?!(?P=q)).)*(?:(?P=q)|$)""", re.S
)
_CDATA = re.compile(rb"<!\[CDATA\[.*?(?:\]\]>|$)", re.S)
_DIGITS = re.compile(r"\b(\d{2})(\d[\dAB]{8,})(\d{2})\b")
# A base64 run long enough to be a document (a CDA body, a PDF, an attachment): 120+
# characters of the alphabet, whitespace allowed between them.
_BASE64_RUN = re.compile(rb"[A-Za-z0-9+/]{40}(?:[\sA-Za-z0-9+/]{80,})=*")
_BASE64_TEXT_RUN = re.compile(r"[A-Za-z0-9+/]{40}(?:[\sA-Za-z0-9+/]{80,})=*")
_PDF_MARKER = re.compile(rb"%PDF-")


def mask_identifier(value: str) -> str:
    """Keep the first two and last two characters of an identifier.

    >>> mask_identifier("275126322074974")
    '27***********74'
    """
    if len(value) <= 4:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


def mask_text(text: str) -> str:
    """Mask long digit runs that look like NIR/INS in free text."""
    return _DIGITS.sub(lambda m: mask_identifier(m.group(0)), text)


def mask_xml(
    body: bytes, sensitive: Iterable[str] = SENSITIVE_XML_ELEMENTS, *, max_bytes: int = 8192
) -> str:
    """A printable excerpt of ``body`` with the text of sensitive elements masked.

    Works on bytes without parsing, so truncated or broken XML can still be logged. The
    text and attribute values (``<birthTime value="..."/>``) of sensitive elements are
    masked, CDATA sections are always masked (they carry embedded documents), and long
    digit runs that look like a NIR are masked wherever they are.

    >>> mask_xml(b"<TIQ><NomNaissance>ADRUN</NomNaissance><Sexe>F</Sexe><ListePrenom>ZO")
    '<TIQ><NomNaissance>***</NomNaissance><Sexe>F</Sexe><ListePrenom>***'
    """
    names = frozenset(sensitive)

    def _mask_attribute(m: re.Match[bytes]) -> bytes:
        if m.group("name").startswith(b"xmlns"):
            return m.group(0)
        return m.group("name") + m.group("eq") + m.group("q") + b"***" + m.group("q")

    def _sub(m: re.Match[bytes]) -> bytes:
        if m.group("tag").decode("ascii", "replace") not in names:
            return m.group(0)
        attrs = _XML_ATTRIBUTE.sub(_mask_attribute, m.group("attrs") or b"")
        text = m.group("text")
        return m.group("open") + attrs + m.group("end") + (b"***" if text.strip() else text)

    excerpt = _without_documents(_CDATA.sub(b"<![CDATA[***]]>", body[:max_bytes]))
    masked = _XML_ELEMENT.sub(_sub, excerpt)
    text = masked.decode("utf-8", "replace")
    suffix = f"... ({len(body)} bytes)" if len(body) > max_bytes else ""
    return mask_text(text) + suffix


def _without_documents(body: bytes) -> bytes:
    """``body`` with base64 runs and raw PDF bytes replaced by size markers."""
    body = _BASE64_RUN.sub(lambda m: b"[base64: %d characters withheld]" % len(m.group(0)), body)
    found = _PDF_MARKER.search(body)
    if found is not None:  # a raw PDF: nothing after its header is loggable
        body = body[: found.start()] + b"[PDF: %d bytes withheld]" % (len(body) - found.start())
    return body


def mask_body(
    body: bytes, content_type: str = "", *, reveal: bool = False, max_bytes: int = 8192
) -> str:
    r"""A loggable view of a request or response body: never a document.

    A ``multipart/related`` body (MTOM: the DMP's ITI-41 request, ITI-43 answer) shows
    its root (SOAP) part only, each other part as ``[part <id>: <type>, N bytes
    withheld]``. XML is masked with :func:`mask_xml` unless ``reveal``; base64 runs and
    PDF bytes are replaced by size markers in every case.

    >>> mtom = (b"--b\r\nContent-Type: application/xop+xml\r\n\r\n<a/>\r\n--b\r\n"
    ...         b"Content-ID: <doc>\r\n\r\n%PDF-1.4 ...\r\n--b--")
    >>> mask_body(mtom, 'multipart/related; boundary="b"')
    '<a/> [part <doc>: application/octet-stream, 12 bytes withheld]'
    """
    boundary = _boundary(content_type)
    if boundary is None:
        return _mask_xml_or_reveal(body, reveal, max_bytes)
    delimiter = b"--" + boundary
    pieces = body.split(delimiter)
    shown: list[str] = []
    for index, piece in enumerate(pieces[1:]):
        if piece.startswith(b"--"):
            break
        head, _, content = piece.lstrip(b"\r\n").partition(b"\r\n\r\n")
        if not _:
            head, _, content = piece.lstrip(b"\n").partition(b"\n\n")
        content = content.removesuffix(b"\r\n").removesuffix(b"\n")
        headers = _part_headers(head)
        if index == 0:
            shown.append(_mask_xml_or_reveal(content, reveal, max_bytes))
        else:
            shown.append(
                f"[part {headers.get('content-id', '?')}: "
                f"{headers.get('content-type', 'application/octet-stream').split(';')[0]}, "
                f"{len(content)} bytes withheld]"
            )
    if not shown:  # not really multipart: treat as a plain body
        return _mask_xml_or_reveal(body, reveal, max_bytes)
    return " ".join(shown)


def _mask_xml_or_reveal(body: bytes, reveal: bool, max_bytes: int) -> str:
    if reveal:
        return _without_documents(body).decode("utf-8", "replace")
    return mask_xml(body, max_bytes=max_bytes)


def _boundary(content_type: str) -> bytes | None:
    if not content_type.lower().startswith("multipart/"):
        return None
    found = re.search(r'boundary="?([^";]+)"?', content_type, re.I)
    return found.group(1).encode("latin-1", "replace") if found else None


def _part_headers(head: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in head.decode("latin-1", "replace").splitlines():
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers


@dataclass(slots=True)
class Exchange:
    """Facts of one exchange, filled in as it goes; ``outcome`` is the service code."""

    service: str
    operation: str
    message_id: str = ""
    url: str = ""
    http_status: int | None = None
    outcome: str = ""
    error: str = ""
    started: float = field(default_factory=time.perf_counter)
    duration_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class ExchangeLog:
    """Logs exchanges; one per client. ``reveal_health_data`` un-masks DEBUG bodies."""

    reveal_health_data: bool = False

    @contextmanager
    def exchange(self, service: str, operation: str, *, url: str = "") -> Iterator[Exchange]:
        record = Exchange(service=service, operation=operation, url=url)
        try:
            yield record
        except Exception as exc:
            record.error = type(exc).__name__
            raise
        finally:
            record.duration_ms = (time.perf_counter() - record.started) * 1000
            logger.info(
                "%s %s id=%s http=%s outcome=%s error=%s %.1fms",
                service,
                operation,
                record.message_id or "-",
                record.http_status if record.http_status is not None else "-",
                record.outcome or "-",
                record.error or "-",
                record.duration_ms,
                extra={"segurlink_exchange": record},
            )

    def __post_init__(self) -> None:
        protect_third_party_loggers()

    def body(self, record: Exchange, direction: str, body: bytes, content_type: str = "") -> None:
        """Log a request/response body at DEBUG (:func:`mask_body`: masked unless revealing
        was asked for; attachments and documents never)."""
        if not logger.isEnabledFor(logging.DEBUG):
            return
        text = mask_body(body, content_type, reveal=self.reveal_health_data)
        logger.debug("%s %s %s body: %s", record.service, record.operation, direction, text)


# -- third-party loggers ------------------------------------------------------------------

#: Loggers of the libraries segurlink drives, and what their messages may carry. Those
#: marked ``True`` log payloads (XML signed or sent, tokens): their messages below WARNING
#: are withheld whole. The others are masked (query strings, XML, identifiers).
THIRD_PARTY_LOGGERS: dict[str, bool] = {
    "signxml": True,  # canonicalised XML of every signature (VIHF with the INS, XAdES)
    "zeep": True,  # zeep.transports: every SOAP request and answer body
    "authlib": True,  # tokens, PKCE code verifiers
    "xmlsec": True,  # XML signature internals (if installed)
    "mail": True,  # aiosmtpd's "mail.log": the SMTP conversation, message data included
    "imapclient": True,  # IMAP commands and answers, messages included
    "urllib3": False,  # request lines: method, URL (query strings masked), status
    "requests": False,
    "charset_normalizer": False,  # encoding guesses on answer bodies
    "fhir_core": False,  # FHIR validation messages (ROR)
    "werkzeug": False,  # request lines of the in-process mocks
    "stamina": False,  # retry notes with the exception that caused them
    "psycopg": False,  # connection and pool events (outbox)
}

_QUERY = re.compile(r"(\?|&)([^=&#\s\"']+)=([^&#\s\"']*)")


class ThirdPartyPrivacyFilter(logging.Filter):
    """Withholds payload-carrying messages of third-party loggers, masks the others.

    Applied to each record as it is created (:func:`protect_third_party_loggers`), so an
    application logging at DEBUG to any sink never receives the XML or tokens these
    libraries print. It can also be added to a handler (``handler.addFilter(...)``).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        package = record.name.split(".", 1)[0]
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string: log nothing of it
            message = str(record.msg)
        if THIRD_PARTY_LOGGERS.get(package, False) and record.levelno < logging.WARNING:
            record.msg = (
                f"[{package}: {len(message)} characters withheld by segurlink "
                "(this library logs message contents)]"
            )
        else:
            record.msg = mask_log_text(message)
        record.args = None
        return True


def mask_log_text(text: str) -> str:
    """Free log text without health data: query values, XML, documents, NIR-like ids.

    >>> mask_log_text('"GET /fhir/Location?commune=63220&_count=5 HTTP/1.1" 200')
    '"GET /fhir/Location?commune=***&_count=*** HTTP/1.1" 200'
    """
    text = _QUERY.sub(lambda m: f"{m.group(1)}{m.group(2)}=***", text)
    text = _BASE64_TEXT_RUN.sub(lambda m: f"[base64: {len(m.group(0))} characters withheld]", text)
    if "<" in text:
        return mask_xml(text.encode("utf-8"), max_bytes=len(text.encode("utf-8")) + 1)
    return mask_text(text)


_protect_lock = threading.Lock()
_FILTER = ThirdPartyPrivacyFilter()


class _PrivateRecordFactory:
    """The process's log-record factory, with :class:`ThirdPartyPrivacyFilter` applied to
    the records of :data:`THIRD_PARTY_LOGGERS` as they are created."""

    def __init__(self, previous: Callable[..., logging.LogRecord]) -> None:
        self.previous = previous

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.previous(*args, **kwargs)
        if record.name.split(".", 1)[0] in THIRD_PARTY_LOGGERS:
            _FILTER.filter(record)
        return record


def protect_third_party_loggers() -> None:
    """Apply :class:`ThirdPartyPrivacyFilter` to every record of the libraries above.

    Their loggers are named after their modules (``signxml.processor``,
    ``zeep.transports``...), created at import or later, and a filter on a logger does
    not see its children's records: the filter is applied where every record is made,
    in the log-record factory (the previous factory is kept and called first). Any
    handler the application attaches, at any level, then receives the filtered record.
    Idempotent.
    """
    with _protect_lock:
        current = logging.getLogRecordFactory()
        if not isinstance(current, _PrivateRecordFactory):
            logging.setLogRecordFactory(_PrivateRecordFactory(current))
