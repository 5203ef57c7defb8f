"""WSDL loading stays offline; envelopes are read by namespace, not prefix."""

from __future__ import annotations

from pathlib import Path

import pytest

from segurlink._soap import load_wsdl, parse_envelope
from segurlink.errors import ConfigurationError, MalformedResponse

WSDL = """<?xml version="1.0"?>
<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t">
  <wsdl:types><xs:schema>
    <xs:import namespace="urn:remote" schemaLocation="http://127.0.0.1:9/remote.xsd"/>
  </xs:schema></wsdl:types>
</wsdl:definitions>
"""


def test_unmapped_remote_import_is_refused_not_fetched(tmp_path: Path) -> None:
    wsdl = tmp_path / "remote.wsdl"
    wsdl.write_text(WSDL)
    with pytest.raises(ConfigurationError, match="refused a network fetch"):
        load_wsdl(wsdl)


def test_mapped_remote_import_is_read_from_disk(tmp_path: Path) -> None:
    wsdl = tmp_path / "mapped.wsdl"
    wsdl.write_text(WSDL)
    local = tmp_path / "remote.xsd"
    local.write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:remote">'
        '<xs:element name="X" type="xs:string"/></xs:schema>'
    )
    client = load_wsdl(wsdl, {"http://127.0.0.1:9/remote.xsd": local})
    assert client.get_element("{urn:remote}X") is not None


def test_envelope_prefixes_do_not_matter() -> None:
    env = parse_envelope(
        b'<x:Envelope xmlns:x="http://www.w3.org/2003/05/soap-envelope"><x:Header>'
        b'<a:Action xmlns:a="http://www.w3.org/2005/08/addressing">urn:y</a:Action></x:Header>'
        b"<x:Body><!-- note --><r xmlns='urn:r'/></x:Body></x:Envelope>"
    )
    assert env.body is not None and env.body.tag == "{urn:r}r"
    assert env.header_text("http://www.w3.org/2005/08/addressing", "Action") == "urn:y"
    assert env.fault is None


def test_soap11_fault_is_read() -> None:
    env = parse_envelope(
        b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>'
        b"<faultcode>s:Server</faultcode><faultstring>boom</faultstring></s:Fault></s:Body></s:Envelope>"
    )
    assert env.fault is not None
    assert (env.fault.code, env.fault.reason) == ("Server", "boom")


def test_not_an_envelope() -> None:
    with pytest.raises(MalformedResponse, match="not a SOAP envelope"):
        parse_envelope(b"<html/>")
