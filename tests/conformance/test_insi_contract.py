"""segurlink's INSi schemas and reader held against the official contract in ../shared."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from segurlink._resources import schemas_dir
from segurlink._soap import load_wsdl
from segurlink.config import SoftwareIdentity
from segurlink.identity import IdentityTraits
from segurlink.insi import (
    CrCode,
    InsFound,
    InsiMessages,
    InsNotFound,
    TraitsQuery,
    VitaleQuery,
    parse_answer,
)
from tests.conftest import shared_path

pytestmark = pytest.mark.conformance

WS_ADDR_URL = "http://www.w3.org/2006/03/addressing/ws-addr.xsd"
SECURITY = "{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd}Security"


def _official_client() -> Any:
    wsdl_dir = shared_path("insi-contract", "wsdl")
    return load_wsdl(
        wsdl_dir / "DESIR_ICIR_EXP_1.5.0.wsdl", {WS_ADDR_URL: wsdl_dir / "xsd" / "ws-addr.xsd"}
    )


def _describe_element(element: Any, depth: int = 0) -> Any:
    """Name, cardinality, attributes and children of a zeep element, recursively."""
    if element.qname is not None and element.qname.text == SECURITY:
        return (element.qname.text, "opaque")  # assertion content is segurlink's own business
    xsd_type = element.type
    children = [
        (name, _describe_element(child, depth + 1))
        for name, child in getattr(xsd_type, "elements", [])
    ] if depth < 8 else []
    attributes = sorted(name for name, _ in getattr(xsd_type, "attributes", []))
    return (
        element.qname.text if element.qname is not None else element.name,
        element.min_occurs,
        element.max_occurs,
        attributes,
        children,
    )


def _describe(client: Any) -> dict[str, Any]:
    services = list(client.wsdl.services.values())
    assert len(services) == 1
    ports = list(services[0].ports.values())
    assert len(ports) == 1
    binding = ports[0].binding
    view: dict[str, Any] = {}
    for name, op in sorted(binding._operations.items()):
        view[name] = {
            "soapaction": op.soapaction,
            "style": op.style,
            "input": _describe_element(op.input.body),
            "headers": [
                (part, _describe_element(el)) for part, el in op.input.header.type.elements
            ],
            "output": _describe_element(op.output.body),
        }
    view["binding"] = type(binding).__name__
    return view


def test_zeep_sees_the_same_operations_actions_and_shapes() -> None:
    ours = _describe(load_wsdl(schemas_dir() / "insi" / "insi.wsdl"))
    official = _describe(_official_client())
    assert set(ours) == set(official) == {
        "binding",
        "rechercherInsAvecCarteVitale",
        "rechercherInsAvecTraitsIdentite",
    }
    for name in official:
        assert ours[name] == official[name], name


@pytest.mark.parametrize(
    ("sample", "code", "ins", "oid", "history", "birth_name", "first_names"),
    [
        ("REP_CR01.xml", CrCode.NOT_FOUND, None, None, (), None, None),
        (
            "TEST_2.04_cas2.xml",
            CrCode.FOUND,
            "109076322083489",
            "1.2.250.1.213.1.4.8",
            ("209076322083439", "209066322012355"),
            "ECETINSI",
            ("PIERRE-ALAIN", "MURIEL", "FLORIANT"),
        ),
        (
            "TEST_2.05.xml",
            CrCode.FOUND,
            "109076322088835",
            "1.2.250.1.213.1.4.9",
            (),
            "PROVISOIRE",
            ("MATRICULE",),
        ),
        (
            "TEST_2.08_cas1.xml",
            CrCode.FOUND,
            "180032B02040123",
            "1.2.250.1.213.1.4.8",
            (),
            "CORSE",
            ("ANTHONY",),
        ),
        (
            "TEST_2.08_cas2.xml",
            CrCode.FOUND,
            "181036322045660",
            "1.2.250.1.213.1.4.8",
            ("281036322045610",),
            "HERMANN",
            ("GATIEN",),
        ),
    ],
)
def test_every_real_answer_parses_into_the_right_result(
    sample: str,
    code: CrCode,
    ins: str | None,
    oid: str | None,
    history: tuple[str, ...],
    birth_name: str | None,
    first_names: tuple[str, ...] | None,
) -> None:
    data = shared_path("insi-contract", "samples", sample).read_bytes()
    result = parse_answer(data)
    assert result.code is code
    if code is CrCode.NOT_FOUND:
        assert isinstance(result, InsNotFound)
        assert result.label == "Aucune identite trouvee"
        return
    assert isinstance(result, InsFound)
    identity = result.identity
    assert identity.ins.value == ins
    assert identity.ins.oid == oid
    assert tuple(i.value for i in identity.previous_ins) == history
    assert identity.traits.birth_name == birth_name
    assert identity.traits.first_names == first_names


def test_history_dates_are_kept_whatever_their_position() -> None:
    data = shared_path("insi-contract", "samples", "TEST_2.04_cas2.xml").read_bytes()
    result = parse_answer(data)
    assert isinstance(result, InsFound)
    first = result.identity.history[0]
    assert (str(first.start), str(first.end)) == ("2019-03-01", "2019-02-28")


def test_hermann_key_that_fails_mod97_is_kept_as_returned() -> None:
    data = shared_path("insi-contract", "samples", "TEST_2.08_cas2.xml").read_bytes()
    result = parse_answer(data)
    assert isinstance(result, InsFound)
    assert result.identity.ins.key == "60"
    assert result.identity.ins.key_is_valid is False


def _official_schema(*parts: str) -> etree.XMLSchema:
    path = shared_path("insi-contract", "wsdl", "xsd", *parts)
    return etree.XMLSchema(etree.parse(str(path)))


SOFTWARE = SoftwareIdentity("MonDUI", "2.1", "IDAM-TEST", "2b1c8f0e-1111-4a4a-9b9b-123456789abc")


def test_requests_built_by_segurlink_validate_against_the_official_xsds() -> None:
    traits = IdentityTraits.from_input(
        birth_name="Adrtrois", first_names="Dominique", sex="F", birth_date="1997-02-26",
        birth_place="2A020",
    )
    messages = InsiMessages(SOFTWARE, emitter="499700367909006")
    requests = [
        messages.search_by_traits(TraitsQuery.from_traits(traits, with_birth_place=True)),
        messages.search_by_vitale(
            VitaleQuery("ADRTROIS", "1997-02-26", nir=("297022A020778", "78"))
        ),
    ]
    checks = {
        "{http://www.cnamts.fr/INSiRecSans}RECSANSVITALE": _official_schema(
            "ServiceIdentiteCertifiee", "INSi_RECSANS_INS.xsd"
        ),
        "{http://www.cnamts.fr/INSiRecVit}RECVITALE": _official_schema(
            "ServiceIdentiteCertifiee", "INSi_RECVITALE_INS.xsd"
        ),
        "{urn:siram:lps:ctxlps}ContexteLPS": _official_schema("CTX", "ROOT_ctxlps_CTXLPS_V01_00.xsd"),
        "{urn:siram:bam:ctxbam}ContexteBAM": _official_schema("CTX", "ROOT_ctxbam_CTXBAM_V01_02.xsd"),
        "{http://www.w3.org/2005/08/addressing}MessageID": _official_schema("ws-addr.xsd"),
        "{http://www.w3.org/2005/08/addressing}Action": _official_schema("ws-addr.xsd"),
    }
    for request in requests:
        envelope = etree.fromstring(request.body)
        seen = set()
        for element in envelope.iter():
            schema = checks.get(element.tag)
            if schema is not None:
                seen.add(element.tag)
                schema.assertValid(etree.ElementTree(etree.fromstring(etree.tostring(element))))
        body_tag = next(iter(envelope[1])).tag
        assert body_tag in seen
        assert {
            "{urn:siram:lps:ctxlps}ContexteLPS",
            "{urn:siram:bam:ctxbam}ContexteBAM",
            "{http://www.w3.org/2005/08/addressing}MessageID",
            "{http://www.w3.org/2005/08/addressing}Action",
        } <= seen


def test_our_result_schema_accepts_the_real_answers_in_nominal_order() -> None:
    """The real answers whose element order is nominal validate against our INSiResultat.xsd."""
    ours = etree.XMLSchema(etree.parse(str(schemas_dir() / "insi" / "xsd" / "INSiResultat.xsd")))
    for name in ("REP_CR01.xml", "TEST_2.05.xml", "TEST_2.08_cas1.xml", "TEST_2.08_cas2.xml"):
        root = etree.parse(str(shared_path("insi-contract", "samples", name))).getroot()
        resultat = root.find(".//{http://www.cnamts.fr/INSiResultat}RESULTAT")
        assert resultat is not None
        ours.assertValid(etree.ElementTree(etree.fromstring(etree.tostring(resultat))))
