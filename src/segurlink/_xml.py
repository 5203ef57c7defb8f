"""The one hardened XML parser: no DTD, no entities, no network, comments optional.

Every document segurlink reads (service answers, CDA, metadata, WSDL) goes through
:func:`parse_xml`. lxml's default parser resolves entities and may load DTDs; ours
refuses any DOCTYPE outright, which SOAP, CDA and FHIR never need.
"""

from __future__ import annotations

from lxml import etree

from .errors import MalformedResponse, XmlSecurityError

__all__ = ["hardened_parser", "local_name", "parse_xml"]

_MAX_BYTES_DEFAULT = 64 * 1024 * 1024
# A DOCTYPE in any encoding lxml reads without a declaration (UTF-8 and the UTF-16s).
_DOCTYPE_MARKERS = tuple(
    marker.encode(codec)
    for marker in ("<!DOCTYPE", "<!ENTITY")
    for codec in ("utf-8", "utf-16-le", "utf-16-be")
)


def hardened_parser(*, remove_comments: bool = False) -> etree.XMLParser:
    """A new lxml parser with entity resolution, DTD loading and network access off.

    lxml parsers are not thread-safe; building one per call is cheap (microseconds).
    """
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=remove_comments,
        remove_pis=True,
    )


def parse_xml(
    data: bytes | str,
    *,
    remove_comments: bool = False,
    max_bytes: int = _MAX_BYTES_DEFAULT,
    what: str = "document",
) -> etree._Element:
    """Parse ``data`` with the hardened parser and return the root element.

    Raises :class:`XmlSecurityError` when the document declares a DOCTYPE (entities are
    the classic XXE / billion-laughs vectors) and :class:`MalformedResponse` when the
    bytes are not well-formed XML.

    >>> parse_xml(b"<a><b/></a>").tag
    'a'
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > max_bytes:
        raise MalformedResponse(f"{what} is larger than {max_bytes} bytes")
    try:
        root = etree.fromstring(data, parser=hardened_parser(remove_comments=remove_comments))
    except etree.XMLSyntaxError as exc:
        # libxml2 may stop inside the DTD before we see it (billion laughs: "entity
        # amplification factor exceeded"): an entity attack is still an entity attack.
        if any(marker in data for marker in _DOCTYPE_MARKERS):
            raise XmlSecurityError(
                f"{what} declares a DOCTYPE or entities, which are refused"
            ) from exc
        raise MalformedResponse(f"{what} is not well-formed XML: {exc}") from exc
    if root is None:
        raise MalformedResponse(f"{what} is empty")
    docinfo = root.getroottree().docinfo
    if getattr(docinfo, "doctype", "") or docinfo.internalDTD is not None:
        raise XmlSecurityError(f"{what} declares a DOCTYPE, which is refused")
    return root


def local_name(element: etree._Element) -> str:
    """The tag of ``element`` without its namespace (``{ns}Body`` → ``Body``)."""
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return etree.QName(tag).localname
