"""SOAP plumbing shared by the SOAP services (INSi, DMP): offline WSDL loading with zeep,
tolerant envelope reading and fault extraction.

zeep builds requests well; its schema-driven response parsing is too strict for the
answers seen in the wild (element order drift, comments in bodies), so answers are read
here by namespace and local name over the hardened parser.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from ._xml import local_name, parse_xml
from .errors import ConfigurationError, MalformedResponse

__all__ = [
    "SOAP11_NS",
    "SOAP12_NS",
    "FaultInfo",
    "load_wsdl",
    "parse_envelope",
]

SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
WSA_NS = "http://www.w3.org/2005/08/addressing"
_ENVELOPE_NS = (SOAP12_NS, SOAP11_NS)

_wsdl_cache: dict[tuple[Path, tuple[tuple[str, str], ...]], Any] = {}
_wsdl_lock = threading.Lock()


def load_wsdl(path: Path, url_map: Mapping[str, Path] | None = None) -> Any:
    """A zeep ``Client`` for the WSDL at ``path``, loaded once per process.

    Loading never touches the network: relative imports are read from disk and absolute
    URLs must be listed in ``url_map`` (URL → local file), otherwise loading fails with
    :class:`ConfigurationError`. The client is only used to build messages.
    """
    key = (path.resolve(), tuple(sorted((k, str(v)) for k, v in (url_map or {}).items())))
    with _wsdl_lock:
        client = _wsdl_cache.get(key)
        if client is None:
            client = _build_client(key[0], dict(url_map or {}))
            _wsdl_cache[key] = client
        return client


def _build_client(path: Path, url_map: dict[str, Path]) -> Any:
    import zeep
    from zeep.transports import Transport

    class _LocalOnlyTransport(Transport):
        """Reads WSDL/XSD from disk; any URL not mapped to a file is refused."""

        def load(self, url: str) -> bytes:
            if url in url_map:
                return url_map[url].read_bytes()
            if url.startswith("file://"):
                url = url[len("file://") :]
            if "://" in url:
                raise ConfigurationError(f"WSDL loading refused a network fetch of {url}")
            return Path(url).read_bytes()

    settings = zeep.Settings(
        strict=True,
        xml_huge_tree=False,
        forbid_dtd=True,
        forbid_entities=True,
        # External references reach _LocalOnlyTransport, which serves mapped URLs from disk
        # and refuses everything else: the network is never used.
        forbid_external=False,
    )
    if not path.is_file():
        raise ConfigurationError(f"WSDL not found: {path}")
    transport = _LocalOnlyTransport(cache=None)  # type: ignore[no-untyped-call]
    return zeep.Client(str(path), transport=transport, settings=settings)  # type: ignore[no-untyped-call]


@dataclass(frozen=True, slots=True)
class FaultInfo:
    """What a SOAP fault says, read tolerantly from SOAP 1.1 or 1.2.

    ``subcode`` has its prefix stripped (``S:siram_40`` → ``siram_40``). ``detail`` is the
    first element of the fault detail, if any.
    """

    code: str
    subcode: str
    reason: str
    detail: etree._Element | None


@dataclass(frozen=True, slots=True)
class Envelope:
    """A read SOAP envelope: its headers, its first body element, the fault if any."""

    soap_ns: str
    headers: tuple[etree._Element, ...]
    body: etree._Element | None
    fault: FaultInfo | None

    def header_text(self, namespace: str, name: str) -> str | None:
        for header in self.headers:
            if etree.QName(header).namespace == namespace and local_name(header) == name:
                return (header.text or "").strip()
        return None


def parse_envelope(data: bytes, *, what: str = "SOAP answer") -> Envelope:
    """Parse a SOAP envelope by namespace and local name, ignoring prefixes and comments."""
    root = parse_xml(data, remove_comments=True, what=what)
    ns = etree.QName(root).namespace
    if ns not in _ENVELOPE_NS or local_name(root) != "Envelope":
        raise MalformedResponse(f"{what} is not a SOAP envelope (root {root.tag!r})")
    header = root.find(f"{{{ns}}}Header")
    body = root.find(f"{{{ns}}}Body")
    if body is None:
        raise MalformedResponse(f"{what} has no SOAP Body")
    children = [c for c in body if isinstance(c.tag, str)]
    first = children[0] if children else None
    fault = None
    if first is not None and etree.QName(first).namespace == ns and local_name(first) == "Fault":
        fault = _read_fault(first, ns)
    headers = tuple(h for h in (header if header is not None else ()) if isinstance(h.tag, str))
    return Envelope(soap_ns=ns or "", headers=headers, body=first, fault=fault)


def _strip_prefix(qname_text: str) -> str:
    return qname_text.strip().rsplit(":", 1)[-1]


def _read_fault(fault: etree._Element, ns: str) -> FaultInfo:
    if ns == SOAP12_NS:
        code = fault.findtext(f"{{{ns}}}Code/{{{ns}}}Value") or ""
        subcode = fault.findtext(f"{{{ns}}}Code/{{{ns}}}Subcode/{{{ns}}}Value") or ""
        reason = fault.findtext(f"{{{ns}}}Reason/{{{ns}}}Text") or ""
        detail_parent = fault.find(f"{{{ns}}}Detail")
    else:
        code = fault.findtext("faultcode") or ""
        subcode = ""
        reason = fault.findtext("faultstring") or ""
        detail_parent = fault.find("detail")
    detail = None
    if detail_parent is not None:
        detail = next((c for c in detail_parent if isinstance(c.tag, str)), None)
    return FaultInfo(
        code=_strip_prefix(code),
        subcode=_strip_prefix(subcode),
        reason=reason.strip(),
        detail=detail,
    )
