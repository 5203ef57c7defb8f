"""The two real INSi faults of ../shared against segurlink's reader and the mock's writer.

``insi-contract/samples/FAULT_desir_550.xml`` (2025: access refused, unknown software) and
``FAULT_insi_102.xml`` (2022: technical error). The mock is driven over the wire into the
same situation; its fault must have the real one's structure element by element (names,
prefixes, namespace declarations, attributes, texts), and segurlink must read the real
fault and the mock's into the same typed error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from lxml import etree
from segurlink_mocks.insi import InsiMock
from segurlink_mocks.pki import TestPki

from segurlink.config import Settings
from segurlink.errors import InsiFault
from segurlink.identity import IdentityTraits
from segurlink.insi import InsiMessages, TraitsQuery, parse_answer
from tests.conftest import shared_path

pytestmark = pytest.mark.conformance

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>'
#: The messageID of FAULT_desir_550.xml: the request's wsa:MessageID, echoed.
REAL_MESSAGE_ID = "uuid:b3549edd-4ae9-472a-b26f-fd2fb4ef397f"


def _real(name: str) -> bytes:
    return shared_path("insi-contract", "samples", name).read_bytes()


def _declared(element: etree._Element) -> dict[str | None, str]:
    """The namespace declarations written on ``element`` itself."""
    parent = element.getparent()
    inherited = parent.nsmap if parent is not None else {}
    return {k: v for k, v in element.nsmap.items() if inherited.get(k) != v}


def _assert_same_structure(real: etree._Element, mock: etree._Element, path: str = "") -> None:
    here = f"{path}/{real.prefix}:{etree.QName(real).localname}"
    assert etree.QName(mock).text == etree.QName(real).text, here
    assert mock.prefix == real.prefix, here
    assert _declared(mock) == _declared(real), here
    assert dict(mock.attrib) == dict(real.attrib), here  # type: ignore[misc]
    assert (mock.text or "").strip() == (real.text or "").strip(), here
    real_children = [c for c in real if isinstance(c.tag, str)]
    mock_children = [c for c in mock if isinstance(c.tag, str)]
    assert [etree.QName(c).text for c in mock_children] == [
        etree.QName(c).text for c in real_children
    ], here
    for real_child, mock_child in zip(real_children, mock_children, strict=True):
        _assert_same_structure(real_child, mock_child, here)


def _read(data: bytes) -> InsiFault:
    with pytest.raises(InsiFault) as info:
        parse_answer(data)
    return info.value


def _fields(fault: InsiFault) -> tuple[str, ...]:
    return (
        fault.code,
        fault.subcode,
        fault.detail_code,
        fault.severity,
        fault.message_id,
        fault.reason,
        fault.message,
    )


@pytest.fixture
def post(
    insi_mock: InsiMock, segurlink_mock_settings: Settings, segurlink_pki: TestPki
) -> Iterator[Any]:
    """Send a traits search built by segurlink; return the raw HTTP answer."""
    software = segurlink_mock_settings.require_software()
    person = IdentityTraits.from_input(
        birth_name="ADRUN", first_names="ZOE", sex="F", birth_date="1975-12-31"
    )
    with requests.Session() as session:
        session.trust_env = False
        session.verify = str(segurlink_pki.ca)
        session.cert = segurlink_pki.client("insi-auto").as_requests_cert()

        def send(*, idam: str | None = None, message_id: str | None = None) -> requests.Response:
            identity = dataclasses.replace(software, idam=idam) if idam else software
            built = InsiMessages(identity, emitter="499700367909006").search_by_traits(
                TraitsQuery.from_traits(person, with_birth_place=False), message_id=message_id
            )
            return session.post(
                insi_mock.endpoint,
                data=built.body,
                headers={"Content-Type": built.content_type},
                timeout=10,
            )

        yield send


def test_reader_reads_the_real_faults() -> None:
    refused = _read(_real("FAULT_desir_550.xml"))
    assert _fields(refused)[:5] == ("Sender", "siram_100", "desir_550", "erreur", REAL_MESSAGE_ID)
    assert refused.reason.startswith("L'accès par ce progiciel au service n'est pas autorisé.")
    assert "Numéro d'autorisation du logiciel inconnu." in refused.message
    assert not refused.is_temporary
    technical = _read(_real("FAULT_insi_102.xml"))
    # "fatal" is outside the XSD's severity list: it is kept as served, not refused
    assert _fields(technical)[:5] == ("Receiver", "siram_40", "insi_102", "fatal", "")
    assert technical.is_temporary


def test_mock_refusal_of_an_unknown_software_is_the_real_2025_fault(
    insi_mock: InsiMock, post: Any
) -> None:
    insi_mock.fault_style = "2025"
    real = _real("FAULT_desir_550.xml")
    answer = post(idam="IDAM-INCONNU", message_id=REAL_MESSAGE_ID)
    assert answer.status_code == 500
    assert answer.content.startswith(XML_DECLARATION) and real.startswith(XML_DECLARATION)
    _assert_same_structure(etree.fromstring(real), etree.fromstring(answer.content))
    assert _fields(_read(answer.content)) == _fields(_read(real))


def test_mock_technical_error_is_the_real_2022_fault(insi_mock: InsiMock, post: Any) -> None:
    insi_mock.fault_style = "2022"
    insi_mock.inject("technical")
    real = _real("FAULT_insi_102.xml")
    answer = post()
    assert answer.status_code == 500
    assert answer.content.startswith(XML_DECLARATION) and real.startswith(XML_DECLARATION)
    _assert_same_structure(etree.fromstring(real), etree.fromstring(answer.content))
    assert _fields(_read(answer.content)) == _fields(_read(real))


def test_the_structure_comparison_sees_the_drifts_of_the_old_mock() -> None:
    # What the mock's 2025 faults used to be: each drift alone must fail the comparison.
    real = _real("FAULT_desir_550.xml")
    drifts = [
        real.replace(b">soap:siram_100<", b' xmlns:siram="urn:siram">siram:siram_100<'),
        real.replace(b'severite="erreur"', b'severite="fatale"'),
        real.replace(b"<env:Body xmlns:env", b"<soap:Body xmlns:env").replace(
            b"</env:Body>", b"</soap:Body>"
        ),
        real.replace("Numéro d'autorisation".encode(), b"Niveau d'autorisation"),
    ]
    for drifted in drifts:
        assert drifted != real
        with pytest.raises(AssertionError):
            _assert_same_structure(etree.fromstring(real), etree.fromstring(drifted))
