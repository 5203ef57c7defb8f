"""MTOM/XOP: build ``multipart/related`` SOAP requests, read MTOM answers.

zeep cannot send MTOM, so segurlink frames it itself. Parsing is strict about framing:
a missing closing boundary, a part without headers, or an ``xop:Include`` pointing to
no part raises :class:`MalformedResponse` (never returns partial content).

>>> body, ctype = build_mtom(b"<e/>", [MtomPart("doc1@segurlink", b"%PDF")], action="urn:a")
>>> parse_mtom(body, ctype).root
b'<e/>'
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

from lxml import etree

from ..errors import MalformedResponse

__all__ = ["XOP_NS", "MtomMessage", "MtomPart", "build_mtom", "parse_mtom", "resolve_xop"]

XOP_NS = "http://www.w3.org/2004/08/xop/include"
_CRLF = b"\r\n"


@dataclass(frozen=True, slots=True, repr=False)
class MtomPart:
    """A binary part referenced by ``<xop:Include href="cid:<content_id>"/>``."""

    content_id: str
    data: bytes
    content_type: str = "application/octet-stream"

    def __repr__(self) -> str:
        return f"MtomPart({self.content_id!r}, <{len(self.data)} bytes>, {self.content_type!r})"


@dataclass(frozen=True, slots=True, repr=False)
class MtomMessage:
    """A read multipart message: the root (SOAP envelope) bytes and the parts by cid."""

    root: bytes
    parts: Mapping[str, bytes] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"MtomMessage(root=<{len(self.root)} bytes>, parts={sorted(self.parts)})"


def build_mtom(
    envelope: bytes,
    parts: Iterable[MtomPart],
    *,
    action: str,
    boundary: str | None = None,
    root_id: str = "root.message@segurlink",
) -> tuple[bytes, str]:
    """The multipart body and its ``Content-Type`` header for a SOAP 1.2 MTOM request."""
    boundary = boundary or f"MIMEBoundary_{uuid.uuid4().hex}"
    sep = b"--" + boundary.encode("ascii")
    chunks = [
        sep,
        _CRLF,
        b'Content-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"',
        _CRLF,
        b"Content-Transfer-Encoding: binary",
        _CRLF,
        f"Content-ID: <{root_id}>".encode("ascii"),
        _CRLF + _CRLF,
        envelope,
        _CRLF,
    ]
    for part in parts:
        chunks += [
            sep,
            _CRLF,
            f"Content-Type: {part.content_type}".encode("ascii"),
            _CRLF,
            b"Content-Transfer-Encoding: binary",
            _CRLF,
            f"Content-ID: <{part.content_id}>".encode("ascii"),
            _CRLF + _CRLF,
            part.data,
            _CRLF,
        ]
    chunks += [sep, b"--", _CRLF]
    content_type = (
        f'multipart/related; boundary="{boundary}"; type="application/xop+xml"; '
        f'start="<{root_id}>"; start-info="application/soap+xml"; action="{action}"'
    )
    return b"".join(chunks), content_type


_PARAM = re.compile(r';\s*([A-Za-z-]+)\s*=\s*("([^"]*)"|[^;\s]+)')


def _params(content_type: str) -> dict[str, str]:
    return {
        m.group(1).lower(): (m.group(3) if m.group(3) is not None else m.group(2))
        for m in _PARAM.finditer(content_type)
    }


def parse_mtom(body: bytes, content_type: str) -> MtomMessage:
    """Split a ``multipart/related`` body into its root part and binary parts.

    A non-multipart ``content_type`` returns ``body`` as the root with no parts.
    """
    if not content_type.lower().lstrip().startswith("multipart/"):
        return MtomMessage(body, {})
    params = _params(content_type)
    boundary = params.get("boundary")
    if not boundary:
        raise MalformedResponse("multipart answer without a boundary parameter")
    sep = b"--" + boundary.encode("latin-1")
    start = body.find(sep)
    if start < 0:
        raise MalformedResponse("multipart answer: the boundary never appears")
    closing = body.find(sep + b"--", start)
    if closing < 0:
        raise MalformedResponse("multipart answer is truncated: no closing boundary")
    inner = body[start + len(sep) : closing]
    # The line break before a boundary belongs to the boundary, not to the part's data.
    newline = _CRLF if _CRLF + sep in inner or inner.endswith(_CRLF) else b"\n"
    if inner.endswith(newline):
        inner = inner[: -len(newline)]
    sections = inner.split(newline + sep)
    parts: dict[str, bytes] = {}
    root: bytes | None = None
    first_id: str | None = None
    wanted_root = params.get("start", "").strip("<>")
    for section in sections:
        if section.startswith(newline):
            section = section[len(newline) :]
        head, found, data = section.partition(newline + newline)
        if not found:
            raise MalformedResponse("multipart answer: a part has no header block")
        headers = _headers(head)
        cid = headers.get("content-id", "").strip().strip("<>")
        if headers.get("content-transfer-encoding", "").lower() == "base64":
            import base64
            import binascii

            try:
                data = base64.b64decode(data, validate=False)
            except binascii.Error as exc:
                raise MalformedResponse(f"multipart part {cid!r} is bad base64") from exc
        if root is None and (not wanted_root or cid == wanted_root):
            root, first_id = data, cid
            continue
        parts[cid] = data
    if root is None:
        raise MalformedResponse("multipart answer has no root part")
    parts.pop(first_id or "", None)
    return MtomMessage(root, parts)


def _headers(head: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in head.decode("latin-1").splitlines():
        name, colon, value = line.partition(":")
        if colon:
            out[name.strip().lower()] = value.strip()
    return out


def resolve_xop(element: etree._Element, parts: Mapping[str, bytes]) -> bytes:
    """The bytes an element holds: its ``xop:Include`` part, or its base64 text."""
    include = element.find(f"{{{XOP_NS}}}Include")
    if include is None:
        import base64
        import binascii

        try:
            return base64.b64decode((element.text or "").strip(), validate=True)
        except binascii.Error as exc:
            raise MalformedResponse("document content is neither XOP nor base64") from exc
    href = include.get("href", "")
    if not href.startswith("cid:"):
        raise MalformedResponse(f"xop:Include href is not a cid: URL: {href!r}")
    cid = href[4:]
    for candidate in (cid, unquote(cid)):
        if candidate in parts:
            return parts[candidate]
    raise MalformedResponse(f"xop:Include points to a missing part {cid!r} (answer truncated?)")
