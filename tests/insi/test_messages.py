"""Pure building and reading of INSi messages (no sockets)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from lxml import etree

from segurlink._resources import schemas_dir
from segurlink.config import SoftwareIdentity
from segurlink.errors import (
    InsiFault,
    InvalidIdentifier,
    InvalidTraits,
    MalformedResponse,
    XmlSecurityError,
)
from segurlink.identity import IdentityTraits
from segurlink.insi import (
    ACTION_SEARCH_TRAITS,
    CrCode,
    InsFound,
    InsiMessages,
    MultipleIdentities,
    TraitsQuery,
    VitaleQuery,
    parse_answer,
)

SOFTWARE = SoftwareIdentity("MonDUI", "4.2", "IDAM-42", "0c1f7c3e-5d1a-4b7e-9a51-2f9c6d1e8a77")
SOAP = "http://www.w3.org/2003/05/soap-envelope"
XSD = schemas_dir() / "insi" / "xsd"


@pytest.fixture(scope="module")
def messages() -> InsiMessages:
    return InsiMessages(SOFTWARE, emitter="499700367909006")


def _schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD / name)))


def _traits() -> IdentityTraits:
    return IdentityTraits.from_input(
        birth_name="Tchitchi", first_names=["Ola", "Catarina"], sex="F",
        birth_date="21/06/1936", birth_place="63220",
    )


def test_search_request_has_headers_and_body_in_contract_order(messages: InsiMessages) -> None:
    now = datetime(2026, 11, 23, 9, 30, 5, 123456, tzinfo=UTC)
    query = TraitsQuery.from_traits(_traits(), "CATARINA", with_birth_place=True)
    request = messages.search_by_traits(query, message_id="uuid:1234", now=now)
    assert request.action == ACTION_SEARCH_TRAITS
    assert request.content_type == (
        'application/soap+xml; charset=utf-8; action="' + ACTION_SEARCH_TRAITS + '"'
    )
    env = etree.fromstring(request.body)
    assert env.tag == f"{{{SOAP}}}Envelope"
    body = env.find(f"{{{SOAP}}}Body")[0]
    assert [etree.QName(c).localname for c in body] == [
        "NomNaissance", "Prenom", "Sexe", "DateNaissance", "LieuNaissance",
    ]
    assert [c.text for c in body] == ["TCHITCHI", "CATARINA", "F", "1936-06-21", "63220"]
    _schema("INSiRecSans.xsd").assertValid(etree.ElementTree(body))

    header = env.find(f"{{{SOAP}}}Header")
    lps = header.find("{urn:siram:lps:ctxlps}ContexteLPS")
    assert lps.get("Nature") == "CTXLPS" and lps.get("Version") == "01_00"
    ns = {"l": "urn:siram:lps:ctxlps"}
    assert lps.findtext("l:Temps", namespaces=ns) == "2026-11-23T09:30:05.123Z"
    assert lps.findtext("l:Emetteur", namespaces=ns) == "499700367909006"
    idam = lps.find("l:LPS/l:IDAM", namespaces=ns)
    assert (idam.text, idam.get("R")) == ("IDAM-42", "4")
    assert lps.findtext("l:LPS/l:Instance", namespaces=ns) == SOFTWARE.instance
    assert lps.findtext("l:LPS/l:Nom", namespaces=ns) == "urn:lps:MonDUI:4.2"
    _schema("ctxlps.xsd").assertValid(etree.ElementTree(etree.fromstring(etree.tostring(lps))))
    bam = header.find("{urn:siram:bam:ctxbam}ContexteBAM")
    assert bam.get("Version") == "01_02"
    couverture = bam.find("{urn:siram:bam:ctxbam}COUVERTURE")
    assert couverture is not None and len(couverture) == 0
    wsa = "http://www.w3.org/2005/08/addressing"
    assert header.findtext(f"{{{wsa}}}MessageID") == "uuid:1234"
    assert [a.text for a in header.iter(f"{{{wsa}}}Action")] == [ACTION_SEARCH_TRAITS]
    assert header.find("{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd}Security") is None


def test_birth_place_is_omitted_unless_asked(messages: InsiMessages) -> None:
    request = messages.search_by_traits(TraitsQuery.from_traits(_traits(), with_birth_place=False))
    assert b"LieuNaissance" not in request.body
    assert b"<ns0:Prenom>OLA</ns0:Prenom>" in request.body


def test_each_request_has_a_fresh_message_id(messages: InsiMessages) -> None:
    query = TraitsQuery.from_traits(_traits(), with_birth_place=False)
    ids = {messages.search_by_traits(query).message_id for _ in range(5)}
    assert len(ids) == 5 and all(i.startswith("uuid:") for i in ids)


def test_vitale_request_shape(messages: InsiMessages) -> None:
    request = messages.search_by_vitale(
        VitaleQuery("ADRUN", "1975-12-31", birth_rank=1, nir=("2751263220749", "74"))
    )
    body = etree.fromstring(request.body).find(f"{{{SOAP}}}Body")[0]
    assert etree.QName(body).text == "{http://www.cnamts.fr/INSiRecVit}RECVITALE"
    assert [etree.QName(c).localname for c in body] == [
        "MatriculeIndividu", "NomNaissance", "DateNaissance", "RangNaissance",
    ]
    _schema("INSiRecVit.xsd").assertValid(etree.ElementTree(body))


def _answer(inner: str, prefix: str = "env") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><{prefix}:Envelope xmlns:{prefix}="{SOAP}">'
        f"<{prefix}:Body>{inner}</{prefix}:Body></{prefix}:Envelope>"
    ).encode()


RESULT_NS = 'xmlns="http://www.cnamts.fr/INSiResultat"'


def test_multiple_identities() -> None:
    result = parse_answer(_answer(
        f"<RESULTAT {RESULT_NS}><CR><CodeCR>02</CodeCR>"
        "<LibelleCR>Plusieurs identites trouvees</LibelleCR></CR></RESULTAT>"
    ))
    assert isinstance(result, MultipleIdentities)
    assert not result.found


def test_found_with_old_shape_and_odd_prefixes() -> None:
    body = _answer(
        '<r:RESULTAT xmlns:r="http://www.cnamts.fr/INSiResultat"><r:CR><r:CodeCR>00</r:CodeCR>'
        "<r:LibelleCR>OK</r:LibelleCR></r:CR><r:INDIVIDU><r:INSACTIF><r:DateDeb>2020-01-01</r:DateDeb>"
        "<r:OID>1.2.250.1.213.1.4.8</r:OID><r:IdIndividu><r:NumIdentifiant>2751263220749</r:NumIdentifiant>"
        "<r:Cle>74</r:Cle><r:TypeMatricule>NIR</r:TypeMatricule></r:IdIndividu></r:INSACTIF>"
        "<!-- a comment --><r:TIQ><r:NomNaissance>ADRUN</r:NomNaissance><r:Prenom>ZOE</r:Prenom>"
        "<r:ListePrenom>ZOE</r:ListePrenom><r:Sexe>F</r:Sexe><r:DateNaissance>1975-12-31</r:DateNaissance>"
        "<r:LieuNaissance>63220</r:LieuNaissance></r:TIQ></r:INDIVIDU></r:RESULTAT>",
        prefix="S",
    )
    result = parse_answer(body)
    assert isinstance(result, InsFound)
    assert result.identity.ins.value == "275126322074974"
    assert result.identity.active.matricule_type == "NIR"
    assert str(result.identity.active.start) == "2020-01-01"
    assert result.identity.first_name == "ZOE"
    assert result.identity.traits.birth_place == "63220"
    # a result may end up in a log or a traceback: its repr shows no health data
    shown = repr(result)
    for value in ("ADRUN", "ZOE", "1975-12-31", "63220", "2751263220749"):
        assert value not in shown


FAULT_2022 = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope">'
    '<env:Body xmlns:S="http://www.w3.org/2003/05/soap-envelope" xmlns:env="http://www.w3.org/2003/05/soap-envelope">'
    "<S:Fault><S:Code><S:Value>S:Receiver</S:Value><S:Subcode><S:Value>S:siram_40</S:Value></S:Subcode></S:Code>"
    '<S:Reason><S:Text xml:lang="en">Le service est temporairement inaccessible.\nVeuillez renouveler votre demande.</S:Text></S:Reason>'
    '<S:Detail><siram:Erreur severite="fatal" code="insi_102" xmlns:siram="urn:siram">'
    "L'appel au service de recherche avec les traits d'identité renvoie une erreur technique.</siram:Erreur>"
    "</S:Detail></S:Fault></env:Body></soap:Envelope>"
).encode()

FAULT_2025 = (
    '<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:siram="urn:siram"><soap:Body>'
    "<soap:Fault><soap:Code><soap:Value>soap:Sender</soap:Value><soap:Subcode><soap:Value>siram:siram_100</soap:Value>"
    '</soap:Subcode></soap:Code><soap:Reason><soap:Text xml:lang="fr">Accès refusé</soap:Text></soap:Reason>'
    '<soap:Detail><siram:Erreur code="DESIR_560" severite="erreur" messageID="uuid:42">'
    "Niveau d'accès insuffisant</siram:Erreur></soap:Detail></soap:Fault></soap:Body></soap:Envelope>"
).encode()


def test_fault_2022_style() -> None:
    with pytest.raises(InsiFault) as info:
        parse_answer(FAULT_2022)
    fault = info.value
    assert (fault.code, fault.subcode, fault.detail_code, fault.severity) == (
        "Receiver", "siram_40", "insi_102", "fatal",
    )
    assert fault.is_temporary
    assert "erreur technique" in fault.message
    assert fault.reason.startswith("Le service est temporairement inaccessible.")


def test_fault_2025_style() -> None:
    with pytest.raises(InsiFault) as info:
        parse_answer(FAULT_2025)
    fault = info.value
    assert (fault.code, fault.subcode, fault.detail_code, fault.severity, fault.message_id) == (
        "Sender", "siram_100", "DESIR_560", "erreur", "uuid:42",
    )
    assert not fault.is_temporary


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"<html><body>Internal error</body></html>", MalformedResponse),
        (b"<env:Envelope xmlns:env='http://www.w3.org/2003/05/soap-envelope'><env:Bo", MalformedResponse),
        (_answer("<Other xmlns='urn:x'/>"), MalformedResponse),
        (_answer(f"<RESULTAT {RESULT_NS}><CR><CodeCR>07</CodeCR><LibelleCR>?</LibelleCR></CR></RESULTAT>"), MalformedResponse),
        (_answer(f"<RESULTAT {RESULT_NS}><CR><CodeCR>00</CodeCR><LibelleCR>OK</LibelleCR></CR></RESULTAT>"), MalformedResponse),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>&a;</env:Body></env:Envelope>', XmlSecurityError),
    ],
    ids=["html", "truncated", "wrong-body", "unknown-cr", "found-without-individu", "doctype"],
)
def test_unusable_answers_raise_typed_errors(body: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_answer(body)


def test_wrong_response_action_is_detected() -> None:
    body = (
        f'<e:Envelope xmlns:e="{SOAP}"><e:Header><a:Action xmlns:a="http://www.w3.org/2005/08/addressing">'
        "urn:other</a:Action></e:Header><e:Body>"
        f"<RESULTAT {RESULT_NS}><CR><CodeCR>01</CodeCR><LibelleCR>Aucune identite trouvee</LibelleCR></CR>"
        "</RESULTAT></e:Body></e:Envelope>"
    ).encode()
    with pytest.raises(MalformedResponse, match="action"):
        parse_answer(body, expected_action=ACTION_SEARCH_TRAITS)
    assert parse_answer(body).code is CrCode.NOT_FOUND


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"birth_name": "adrun"}, InvalidTraits),
        ({"birth_name": ""}, InvalidTraits),
        ({"birth_date": "31/12/1975"}, InvalidTraits),
        ({"birth_date": "1975-13-01"}, InvalidTraits),
        ({"birth_rank": 0}, InvalidTraits),
        ({"birth_rank": True}, InvalidTraits),
        ({"nir": ("275126322074", "74")}, InvalidIdentifier),
        ({"holder_nir": ("2751263220749", "7")}, InvalidIdentifier),
    ],
)
def test_vitale_query_refuses_malformed_card_data(
    changes: dict[str, object], error: type[Exception]
) -> None:
    values: dict[str, object] = {"birth_name": "ADRUN", "birth_date": "1975-12-31"}
    values.update(changes)
    with pytest.raises(error):
        VitaleQuery(**values)  # type: ignore[arg-type]


def test_vitale_query_accepts_lunar_dates_and_dependants() -> None:
    query = VitaleQuery("ADRUN", "1975-00-00", 2, holder_nir=("2751263220749", "74"))
    assert query.birth_rank == 2
