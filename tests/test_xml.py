from __future__ import annotations

import pytest

from segurlink._xml import local_name, parse_xml
from segurlink.errors import MalformedResponse, XmlSecurityError


def test_parses_and_keeps_comments_unless_asked() -> None:
    root = parse_xml(b"<a xmlns='urn:x'><!-- c --><b/></a>")
    assert local_name(root) == "a"
    assert len(root) == 2
    assert len(parse_xml(b"<a><!-- c --><b/></a>", remove_comments=True)) == 1


@pytest.mark.parametrize(
    "payload",
    [
        b'<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>',
        b'<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>',
        b'<!DOCTYPE a SYSTEM "http://127.0.0.1:9/evil.dtd"><a/>',
        b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><a>&lol2;</a>',
    ],
    ids=["internal-entity", "xxe-file", "external-dtd", "billion-laughs"],
)
def test_doctype_is_refused(payload: bytes) -> None:
    with pytest.raises(XmlSecurityError):
        parse_xml(payload)


def _billion_laughs(levels: int = 9) -> str:
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, levels + 1)
    ]
    return f"<!DOCTYPE lolz [\n{''.join(entities)}\n]>\n<lolz>&lol{levels};</lolz>"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_full_billion_laughs_is_a_security_error(encoding: str) -> None:
    """libxml2 gives up inside the DTD ("entity amplification factor exceeded") before the
    DOCTYPE check runs: still an XmlSecurityError, as docs/errors.md promises."""
    payload = _billion_laughs().encode(encoding)
    with pytest.raises(XmlSecurityError, match="DOCTYPE"):
        parse_xml(payload)


def test_not_xml_and_too_big() -> None:
    with pytest.raises(MalformedResponse, match="well-formed"):
        parse_xml(b"<a><b></a>")
    with pytest.raises(MalformedResponse, match="larger"):
        parse_xml(b"<a/>" * 10, max_bytes=8)
