"""Structured exchange log with health data masked.

Each exchange with a national service is logged once on the ``segurlink.exchange``
logger: at INFO only non-identifying facts (service, operation, message id, status,
duration, outcome code); at DEBUG the request/response bodies too, with health data
(INS, names, birth dates and places) masked unless the caller opted in explicitly with
``reveal_health_data=True``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

__all__ = ["Exchange", "ExchangeLog", "mask_identifier", "mask_text", "mask_xml"]

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

    excerpt = _CDATA.sub(b"<![CDATA[***]]>", body[:max_bytes])
    masked = _XML_ELEMENT.sub(_sub, excerpt)
    text = masked.decode("utf-8", "replace")
    suffix = f"... ({len(body)} bytes)" if len(body) > max_bytes else ""
    return mask_text(text) + suffix


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

    def body(self, record: Exchange, direction: str, body: bytes) -> None:
        """Log a request/response body at DEBUG, masked unless revealing was asked for."""
        if not logger.isEnabledFor(logging.DEBUG):
            return
        text = body.decode("utf-8", "replace") if self.reveal_health_data else mask_xml(body)
        logger.debug("%s %s %s body: %s", record.service, record.operation, direction, text)
