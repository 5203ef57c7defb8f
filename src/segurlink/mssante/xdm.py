"""IHE XDM (ITI-32) archives: build the ``IHE_XDM.ZIP`` of a message, read one safely.

Pure: no clock, no random, no I/O. The same inputs give the same bytes (fixed entry
times, order and compression).

Layout written::

    README.TXT                      sender, application name/version/vendor
    INDEX.HTM                       XHTML index linking README and the documents
    IHE_XDM/SUBSET01/METADATA.XML   ebRIM SubmitObjectsRequest (the DMP's XDS metadata
                                    plus the URI, size and hash slots)
    IHE_XDM/SUBSET01/DOC0001.XML    the CDA documents

Reading follows METADATA.XML (any subset folder, URIs relative to the subset or to
``IHE_XDM/``), refuses absolute names, ``..``, links, oversized or over-compressed
entries before extracting them, and parses XML with the hardened parser.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import posixpath
import stat
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from lxml import etree

from .._xml import parse_xml
from ..dmp.metadata import (
    DE_CLASS,
    DE_FORMAT,
    DE_PATIENT_ID,
    DE_TYPE,
    DE_UNIQUE_ID,
    LCM_NS,
    RIM_NS,
    SS_PATIENT_ID,
    SS_SOURCE_ID,
    SS_UNIQUE_ID,
    Association,
    DocumentEntryMetadata,
    SubmissionSetMetadata,
    submit_objects_request,
)
from ..errors import InputError, XdmError
from .models import XdmDocument, XdmEntry, XdmPackage

__all__ = [
    "ACTION_CODES",
    "XDM_FILENAME",
    "XdmLimits",
    "build_xdm",
    "document_file_name",
    "parse_xdm",
]

#: Name of the archive attached to MSSanté messages.
XDM_FILENAME = "IHE_XDM.ZIP"
#: XDM extra-metadata ``action`` slot values.
ACTION_CODES = {"replace": "C", "delete": "D"}
ACTION_SLOT = "action"

_SUBSET = "IHE_XDM/SUBSET01"
_METADATA = "METADATA.XML"


@dataclass(frozen=True, slots=True)
class XdmLimits:
    """What :func:`parse_xdm` accepts before extracting anything (zip-bomb guards)."""

    max_entries: int = 1000
    max_total_size: int = 200 * 1024 * 1024
    max_entry_size: int = 100 * 1024 * 1024
    max_ratio: int = 200  # uncompressed / compressed, per entry


def document_file_name(index: int) -> str:
    """``DOC0001.XML``: ISO-9660 style names (8.3, upper case), 1-based."""
    if not 1 <= index <= 9999:
        raise InputError("an XDM subset holds 1 to 9999 documents")
    return f"DOC{index:04d}.XML"


def _zip_info(name: str, when: dt.datetime) -> zipfile.ZipInfo:
    stamp = (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second)
    info = zipfile.ZipInfo(name, date_time=stamp)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    info.create_system = 3  # unix: the attributes above mean what they say
    return info


def _readme(sender: str, application: str, version: str, vendor: str) -> bytes:
    lines = [
        "IHE XDM - Distribute Document Set on Media (ITI-32)",
        "",
        f"Sender: {sender}",
        f"Application: {application}",
        f"Version: {version}",
        f"Vendor: {vendor}",
        "",
        "Content: IHE_XDM/SUBSET01/METADATA.XML describes the documents of the subset.",
        "",
    ]
    return "\r\n".join(lines).encode("utf-8")


def _index(uris: Sequence[str], titles: Sequence[str]) -> bytes:
    items = "\n".join(
        f'    <li><a href="{_SUBSET}/{escape(uri)}">{escape(title or uri)}</a></li>'
        for uri, title in zip(uris, titles, strict=True)
    )
    page = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="fr">\n'
        "  <head><title>IHE XDM</title></head>\n"
        "  <body>\n"
        '    <p><a href="README.TXT">README.TXT</a></p>\n'
        f'    <p><a href="{_SUBSET}/{_METADATA}">{_METADATA}</a></p>\n'
        "    <ul>\n"
        f"{items}\n"
        "    </ul>\n"
        "  </body>\n"
        "</html>\n"
    )
    return page.encode("utf-8")


def build_xdm(
    submission_set: SubmissionSetMetadata,
    entries: Sequence[DocumentEntryMetadata],
    documents: Sequence[bytes],
    associations: Sequence[Association],
    *,
    created: dt.datetime,
    sender: str,
    application: str,
    version: str,
    vendor: str,
) -> bytes:
    """The ``IHE_XDM.ZIP`` bytes for ``documents`` described by ``entries``.

    ``entries[i]`` must describe ``documents[i]`` and carry its ``uri``
    (:func:`document_file_name`). ``METADATA.XML`` is
    :func:`segurlink.dmp.metadata.submit_objects_request`: the same XDS metadata as a DMP
    deposit. ``created`` stamps the zip entries (deterministic output).
    """
    if len(entries) != len(documents) or not documents:
        raise InputError("one DocumentEntry per document, and at least one document")
    metadata = etree.tostring(
        submit_objects_request(submission_set, entries, associations),
        xml_declaration=True,
        encoding="UTF-8",
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            _zip_info("README.TXT", created), _readme(sender, application, version, vendor)
        )
        archive.writestr(
            _zip_info("INDEX.HTM", created),
            _index([e.uri for e in entries], [e.title for e in entries]),
        )
        archive.writestr(_zip_info(f"{_SUBSET}/{_METADATA}", created), metadata)
        for entry, content in zip(entries, documents, strict=True):
            archive.writestr(_zip_info(f"{_SUBSET}/{entry.uri}", created), content)
    return buffer.getvalue()


# -- reading ---------------------------------------------------------------------------------


def _safe_name(name: str) -> str:
    """The normalised entry name, or :class:`XdmError` for a path that escapes."""
    if not name or "\x00" in name or "\\" in name:
        raise XdmError(f"unsafe file name in the XDM archive: {name[:80]!r}")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise XdmError(f"absolute path in the XDM archive: {name[:80]!r}")
    parts = name.split("/")
    if ".." in parts:
        raise XdmError(f"'..' in a file name of the XDM archive: {name[:80]!r}")
    return posixpath.normpath(name)


def _check_entries(archive: zipfile.ZipFile, limits: XdmLimits) -> dict[str, zipfile.ZipInfo]:
    infos = archive.infolist()
    if len(infos) > limits.max_entries:
        raise XdmError(f"the XDM archive has {len(infos)} entries (limit {limits.max_entries})")
    total = 0
    by_name: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        name = _safe_name(info.filename)
        mode = info.external_attr >> 16
        if info.create_system == 3 and stat.S_ISLNK(mode):
            raise XdmError(f"symbolic link in the XDM archive: {name[:80]!r}")
        if info.is_dir():
            continue
        if info.file_size > limits.max_entry_size:
            raise XdmError(
                f"{name[:80]!r} would be {info.file_size} bytes (limit {limits.max_entry_size})"
            )
        if info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise XdmError(f"{name[:80]!r} is compressed beyond {limits.max_ratio}:1 (zip bomb)")
        total += info.file_size
        if total > limits.max_total_size:
            raise XdmError(f"the XDM archive expands beyond {limits.max_total_size} bytes")
        key = name.upper()
        if key in by_name:
            raise XdmError(f"duplicate entry in the XDM archive: {name[:80]!r}")
        by_name[key] = info
    return by_name


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    # The declared size was checked; read no byte beyond it even if the header lies.
    try:
        with archive.open(info) as handle:
            data = handle.read(info.file_size + 1)
    except (
        zipfile.BadZipFile,
        OSError,
        EOFError,
        RuntimeError,
        NotImplementedError,
        zlib.error,
    ) as exc:
        # CRC mismatch, encrypted entry, unknown compression, corrupt deflate stream
        raise XdmError(f"{info.filename[:80]!r} cannot be extracted: {exc}") from exc
    if len(data) != info.file_size:
        raise XdmError(f"{info.filename[:80]!r} does not have its declared size")
    return data


def _slot(element: etree._Element, name: str) -> str:
    for slot in element.findall(f"{{{RIM_NS}}}Slot"):
        if slot.get("name") == name:
            value = slot.find(f"{{{RIM_NS}}}ValueList/{{{RIM_NS}}}Value")
            return (value.text or "").strip() if value is not None else ""
    return ""


def _classified(element: etree._Element, scheme: str) -> str:
    for cla in element.findall(f"{{{RIM_NS}}}Classification"):
        if cla.get("classificationScheme") == scheme:
            return cla.get("nodeRepresentation", "")
    return ""


def _identifier(element: etree._Element, scheme: str) -> str:
    for ident in element.findall(f"{{{RIM_NS}}}ExternalIdentifier"):
        if ident.get("identificationScheme") == scheme:
            return ident.get("value", "")
    return ""


def _entry(eo: etree._Element) -> XdmEntry:
    size = _slot(eo, "size")
    name = eo.find(f"{{{RIM_NS}}}Name/{{{RIM_NS}}}LocalizedString")
    return XdmEntry(
        entry_id=eo.get("id", ""),
        unique_id=_identifier(eo, DE_UNIQUE_ID),
        patient_id=_identifier(eo, DE_PATIENT_ID),
        uri=_slot(eo, "URI"),
        mime_type=eo.get("mimeType", ""),
        title=name.get("value", "") if name is not None else "",
        type_code=_classified(eo, DE_TYPE),
        class_code=_classified(eo, DE_CLASS),
        format_code=_classified(eo, DE_FORMAT),
        creation_time=_slot(eo, "creationTime"),
        hash=_slot(eo, "hash").lower(),
        size=int(size) if size.isascii() and size.isdigit() else None,
        action=_slot(eo, ACTION_SLOT),
    )


def _resolve(uri: str, subset: str, names: dict[str, zipfile.ZipInfo]) -> zipfile.ZipInfo:
    """The archive entry of a METADATA URI: relative to the subset folder, else to
    ``IHE_XDM/`` (ANS imaging example), else to the root."""
    if not uri:
        raise XdmError("a DocumentEntry of METADATA.XML has no URI slot")
    relative = _safe_name(uri)
    for base in (subset, "IHE_XDM", ""):
        candidate = posixpath.normpath(posixpath.join(base, relative)).upper()
        if candidate in names:
            return names[candidate]
    raise XdmError(f"METADATA.XML names {uri[:80]!r}, which is not in the archive")


def parse_xdm(data: bytes, *, limits: XdmLimits | None = None) -> XdmPackage:
    """Read an ``IHE_XDM.ZIP`` received from outside: every check before extraction.

    Raises :class:`~segurlink.errors.XdmError` (unsafe names, zip bomb, no or broken
    METADATA, a document whose size or SHA-1 differs from its metadata) and
    :class:`~segurlink.errors.XmlSecurityError` for XML with a DOCTYPE.
    """
    limits = limits or XdmLimits()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise XdmError(f"not a readable zip archive: {exc}") from exc
    with archive:
        names = _check_entries(archive, limits)
        subsets = sorted(
            key
            for key in names
            if key.startswith("IHE_XDM/") and key.endswith("/" + _METADATA) and key.count("/") == 2
        )
        if not subsets:
            raise XdmError("the archive has no IHE_XDM/<subset>/METADATA.XML")
        metadata_info = names[subsets[0]]
        subset = posixpath.dirname(_safe_name(metadata_info.filename))
        root = parse_xml(_read(archive, metadata_info), what="METADATA.XML")
        documents = _documents(archive, root, subset, names)
        readme_info = names.get("README.TXT")
        readme = (
            _read(archive, readme_info).decode("utf-8", "replace")
            if readme_info is not None
            else ""
        )
    package = root.find(f".//{{{RIM_NS}}}RegistryPackage")
    if package is None:
        raise XdmError("METADATA.XML has no SubmissionSet (RegistryPackage)")
    return XdmPackage(
        subset=subset,
        submission_unique_id=_identifier(package, SS_UNIQUE_ID),
        source_id=_identifier(package, SS_SOURCE_ID),
        patient_id=_identifier(package, SS_PATIENT_ID),
        submission_time=_slot(package, "submissionTime"),
        documents=documents,
        readme=readme,
    )


def _documents(
    archive: zipfile.ZipFile,
    root: etree._Element,
    subset: str,
    names: dict[str, zipfile.ZipInfo],
) -> tuple[XdmDocument, ...]:
    if root.tag != f"{{{LCM_NS}}}SubmitObjectsRequest":
        raise XdmError("METADATA.XML is not an ebRIM SubmitObjectsRequest")
    entries = [_entry(eo) for eo in root.iter(f"{{{RIM_NS}}}ExtrinsicObject")]
    if not entries:
        raise XdmError("METADATA.XML describes no document")
    out: list[XdmDocument] = []
    for entry in entries:
        content = _read(archive, _resolve(entry.uri, subset, names))
        if entry.size is not None and entry.size != len(content):
            raise XdmError(
                f"{entry.uri[:80]!r} is {len(content)} bytes, METADATA says {entry.size}"
            )
        digest = hashlib.sha1(content).hexdigest()  # noqa: S324 - XDS mandates SHA-1
        if entry.hash and entry.hash != digest:
            raise XdmError(f"the SHA-1 of {entry.uri[:80]!r} differs from METADATA.XML")
        out.append(XdmDocument(entry, content))
    return tuple(out)


#: The former name of :func:`parse_xdm` (parsers are named ``parse_*``).
read_xdm = parse_xdm
