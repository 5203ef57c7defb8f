"""MTOM/XOP for the DMP mock: read a ``multipart/related`` request, write an MTOM answer.

Written for the mock only (the client has its own builder): a mock bug must not mirror a
client bug. The reader accepts CRLF (the standard) and bare LF line ends (the official
TD2.1 capture), quoted or bare parameters, and ``cid:`` references that are
percent-encoded.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from email.message import Message
from urllib.parse import unquote

__all__ = [
    "MimeError",
    "MimePart",
    "Multipart",
    "build_mtom",
    "parse_content_type",
    "parse_multipart",
]


class MimeError(ValueError):
    """The body is not a well-formed MTOM/XOP multipart."""


@dataclass(frozen=True, slots=True)
class MimePart:
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def content_id(self) -> str:
        return self.headers.get("content-id", "").strip().strip("<>")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


@dataclass(slots=True)
class Multipart:
    root: MimePart
    parts: dict[str, MimePart] = field(default_factory=dict)  # by Content-ID

    def attachment(self, href: str) -> bytes:
        """The bytes an ``xop:Include/@href`` (``cid:...``) points to."""
        if not href.startswith("cid:"):
            raise MimeError(f"xop:Include href is not a cid: URL: {href!r}")
        cid = unquote(href[4:])
        part = self.parts.get(cid)
        if part is None:
            raise MimeError(f"no MIME part with Content-ID <{cid}>")
        return part.body


def parse_content_type(value: str) -> tuple[str, dict[str, str]]:
    """``multipart/related; boundary="x"; ...`` -> ("multipart/related", {"boundary": "x"})."""
    message = Message()
    message["content-type"] = value
    raw = message.get_params(header="content-type") or []
    params = {k.lower(): v for k, v in raw[1:]}
    return message.get_content_type(), {k: str(v) for k, v in params.items()}


_HEADER_END = re.compile(rb"\r?\n\r?\n")


def parse_multipart(body: bytes, content_type: str) -> Multipart:
    """Split an MTOM body; the root part is ``start`` or else the first part."""
    media, params = parse_content_type(content_type)
    if media != "multipart/related":
        raise MimeError(f"expected multipart/related, got {media}")
    boundary = params.get("boundary")
    if not boundary:
        raise MimeError("multipart/related without a boundary")
    delimiter = b"--" + boundary.encode("ascii", "replace")
    # Each delimiter stands at the start of a line.
    pieces = re.split(rb"(?:^|\r?\n)" + re.escape(delimiter), body)
    if len(pieces) < 3:
        raise MimeError("no MIME part, or no closing delimiter")
    last = pieces[-1]
    if not last.startswith(b"--"):
        raise MimeError("the multipart has no closing delimiter (truncated?)")
    parts: list[MimePart] = []
    for piece in pieces[1:-1]:
        # After the delimiter: optional transport padding, then a line end.
        piece = re.sub(rb"^[ \t]*\r?\n", b"", piece, count=1)
        match = _HEADER_END.search(piece)
        if match is None:
            raise MimeError("a MIME part has no header/body separator")
        headers: dict[str, str] = {}
        for line in re.split(rb"\r?\n", piece[: match.start()]):
            if not line.strip():
                continue
            name, sep, value = line.decode("latin-1").partition(":")
            if not sep:
                raise MimeError(f"malformed MIME header line {line[:60]!r}")
            headers[name.strip().lower()] = value.strip()
        parts.append(MimePart(headers, piece[match.end() :]))
    start = params.get("start", "").strip().strip("<>")
    by_id = {p.content_id: p for p in parts if p.content_id}
    root = by_id.get(start) if start else parts[0]
    if root is None:
        raise MimeError(f"no root part with Content-ID <{start}>")
    if "application/xop+xml" not in root.content_type:
        raise MimeError("the root part is not application/xop+xml")
    return Multipart(root=root, parts=by_id)


def build_mtom(
    envelope: bytes, attachments: list[tuple[str, str, bytes]], action: str
) -> tuple[bytes, str]:
    """An MTOM message: the envelope (root) + ``(content_id, media_type, bytes)`` parts.

    Returns ``(body, content_type)``. The envelope refers to the parts by ``cid:``.
    """
    boundary = f"MIMEBoundary_{uuid.uuid4().hex}"
    root_id = f"root.message@{uuid.uuid4().hex}"
    chunks = [
        f"--{boundary}\r\n"
        f'Content-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"; '
        f'action="{action}"\r\n'
        "Content-Transfer-Encoding: binary\r\n"
        f"Content-ID: <{root_id}>\r\n\r\n".encode(),
        envelope,
    ]
    for cid, media, data in attachments:
        chunks.append(
            f"\r\n--{boundary}\r\n"
            f"Content-Type: {media}\r\n"
            "Content-Transfer-Encoding: binary\r\n"
            f"Content-ID: <{cid}>\r\n\r\n".encode()
        )
        chunks.append(data)
    chunks.append(f"\r\n--{boundary}--\r\n".encode())
    content_type = (
        f'multipart/related; boundary="{boundary}"; type="application/xop+xml"; '
        f'start="<{root_id}>"; start-info="application/soap+xml"; action="{action}"'
    )
    return b"".join(chunks), content_type
