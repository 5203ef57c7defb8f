"""The INSi mock driven over mutual TLS with raw ``requests`` and hand-written SOAP 1.2.

These tests do not use segurlink's INSi client: the mock is an independent witness, held
here against the wire contract (spec, official samples), not against the client's code.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from lxml import etree
from segurlink_mocks import InsiMock, InsiPerson, InsRecord, MockStack, TestPki
from segurlink_mocks.insi import DEFAULT_PERSONS

from segurlink._resources import schemas_dir
from segurlink.config import Settings
from segurlink.insi import InsiSettings

SOAP = "http://www.w3.org/2003/05/soap-envelope"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
WSA = "http://www.w3.org/2005/08/addressing"
LPS = "urn:siram:lps:ctxlps"
BAM = "urn:siram:bam:ctxbam"
SIRAM = "urn:siram"
RECSANS = "http://www.cnamts.fr/INSiRecSans"
RECVIT = "http://www.cnamts.fr/INSiRecVit"
RES = "http://www.cnamts.fr/INSiResultat"
TRAITS = "urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecTraitsIdentite"
VITALE = "urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecCarteVitale"
OU = "499700367909006"
IDAM = "SEGURLINK-DEMO-IDAM"
OID_NIR = "1.2.250.1.213.1.4.8"
OID_NIA = "1.2.250.1.213.1.4.9"


# -- request building (by hand, with lxml) ------------------------------------------------


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _el(parent: etree._Element, ns: str, tag: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ns}}}{tag}")
    if text is not None:
        element.text = text
    return element


def traits(
    name: str, first: str | list[str], sex: str, date: str, place: str | None = None
) -> etree._Element:
    body = etree.Element(f"{{{RECSANS}}}RECSANSVITALE", nsmap={None: RECSANS})  # type: ignore[dict-item]
    _el(body, RECSANS, "NomNaissance", name)
    for prenom in [first] if isinstance(first, str) else first:
        _el(body, RECSANS, "Prenom", prenom)
    _el(body, RECSANS, "Sexe", sex)
    _el(body, RECSANS, "DateNaissance", date)
    if place is not None:
        _el(body, RECSANS, "LieuNaissance", place)
    return body


def vitale(matricule: str, key: str, date: str, name: str | None = None) -> etree._Element:
    body = etree.Element(f"{{{RECVIT}}}RECVITALE", nsmap={"rv": RECVIT})
    ident = _el(body, RECVIT, "MatriculeIndividu")
    _el(ident, RECVIT, "NumIdentifiant", matricule)
    _el(ident, RECVIT, "Cle", key)
    if name is not None:
        _el(body, RECVIT, "NomNaissance", name)
    _el(body, RECVIT, "DateNaissance", date)
    _el(body, RECVIT, "RangNaissance", "1")
    return body


def envelope(
    body: etree._Element,
    *,
    action: str | None = TRAITS,
    message_id: str | None = "",
    idam: str | None = IDAM,
    emitter: str = OU,
    lps: bool = True,
    bam: bool = True,
    extra_header: etree._Element | None = None,
) -> bytes:
    root = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"soap": SOAP})
    header = _el(root, SOAP, "Header")
    if lps:
        ctx = etree.SubElement(
            header, f"{{{LPS}}}ContexteLPS", nsmap={"ctxlps": LPS}, Nature="CTXLPS",
            Version="01_00",
        )
        _el(ctx, LPS, "Id", str(uuid.uuid4()))
        _el(ctx, LPS, "Temps", _now())
        _el(ctx, LPS, "Emetteur", emitter)
        software = _el(ctx, LPS, "LPS")
        if idam is not None:
            _el(software, LPS, "IDAM", idam).set("R", "4")
        _el(software, LPS, "Version", "0.1.0")
        _el(software, LPS, "Instance", str(uuid.uuid4()))
        _el(software, LPS, "Nom", "urn:lps:segurlink-demo:0.1.0")
    if bam:
        ctx = etree.SubElement(header, f"{{{BAM}}}ContexteBAM", nsmap={"ctxbam": BAM},
                               Version="01_02")
        _el(ctx, BAM, "Id", str(uuid.uuid4()))
        _el(ctx, BAM, "Temps", _now())
        _el(ctx, BAM, "Emetteur", emitter)
        _el(ctx, BAM, "COUVERTURE")
    if action is not None:
        etree.SubElement(header, f"{{{WSA}}}Action", nsmap={"wsa": WSA}).text = action
    if message_id is not None:
        etree.SubElement(header, f"{{{WSA}}}MessageID", nsmap={"wsa": WSA}).text = (
            message_id or f"uuid:{uuid.uuid4()}"
        )
    if extra_header is not None:
        header.append(extra_header)
    _el(root, SOAP, "Body").append(body)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def content_type(action: str | None = TRAITS) -> str:
    base = "application/soap+xml; charset=utf-8"
    return f'{base}; action="{action}"' if action else base


# -- reading answers (by namespace, never by prefix) ---------------------------------------


@dataclass
class Answer:
    cr: str
    label: str
    individual: etree._Element | None

    @property
    def active(self) -> tuple[str, str, str]:
        assert self.individual is not None
        ins = self.individual.find(f"{{{RES}}}INSACTIF")
        assert ins is not None
        return _ins(ins)

    @property
    def history(self) -> list[tuple[str, str, str]]:
        assert self.individual is not None
        return [_ins(e) for e in self.individual.findall(f"{{{RES}}}INSHISTO")]

    def tiq(self, tag: str) -> str | None:
        assert self.individual is not None
        return self.individual.findtext(f"{{{RES}}}TIQ/{{{RES}}}{tag}")


def _ins(element: etree._Element) -> tuple[str, str, str]:
    return (
        element.findtext(f"{{{RES}}}IdIndividu/{{{RES}}}NumIdentifiant") or "",
        element.findtext(f"{{{RES}}}IdIndividu/{{{RES}}}Cle") or "",
        element.findtext(f"{{{RES}}}OID") or "",
    )


def _parse(data: bytes) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)
    return etree.fromstring(data, parser)


def answer(response: requests.Response) -> Answer:
    assert response.status_code == 200, response.text
    result = _parse(response.content).find(f"{{{SOAP}}}Body/{{{RES}}}RESULTAT")
    assert result is not None
    return Answer(
        result.findtext(f"{{{RES}}}CR/{{{RES}}}CodeCR") or "",
        result.findtext(f"{{{RES}}}CR/{{{RES}}}LibelleCR") or "",
        result.find(f"{{{RES}}}INDIVIDU"),
    )


@dataclass
class Fault:
    code: str
    subcode: str  # "{namespace}local" of the resolved QName
    reason: str
    lang: str
    detail_code: str
    severity: str
    message_id: str | None
    erreur: etree._Element


def _qname(element: etree._Element) -> str:
    prefix, _, local = (element.text or "").strip().rpartition(":")
    return f"{{{element.nsmap.get(prefix or None)}}}{local}"


def fault(response: requests.Response) -> Fault:
    assert response.status_code == 500, response.text
    assert response.headers["Content-Type"].startswith("application/soap+xml")
    root = _parse(response.content)
    node = root.find(f"{{{SOAP}}}Body/{{{SOAP}}}Fault")
    assert node is not None
    code = node.find(f"{{{SOAP}}}Code/{{{SOAP}}}Value")
    sub = node.find(f"{{{SOAP}}}Code/{{{SOAP}}}Subcode/{{{SOAP}}}Value")
    text = node.find(f"{{{SOAP}}}Reason/{{{SOAP}}}Text")
    erreur = node.find(f"{{{SOAP}}}Detail/{{{SIRAM}}}Erreur")
    assert code is not None and text is not None and erreur is not None
    return Fault(
        _qname(code),
        _qname(sub) if sub is not None else "",
        text.text or "",
        text.get("{http://www.w3.org/XML/1998/namespace}lang", ""),
        erreur.get("code", ""),
        erreur.get("severite", ""),
        erreur.get("messageID"),
        erreur,
    )


def siram_code(f: Fault) -> str:
    """The subcode local name whatever its prefix (``S:siram_40`` and ``siram:siram_40``)."""
    return f.subcode.rpartition("}")[2]


# -- fixtures -----------------------------------------------------------------------------


def _session(pki: TestPki, cert: str | None = "insi-auto") -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override session.verify
    session.verify = str(pki.ca)
    if cert is not None:
        session.cert = pki.client(cert).as_requests_cert()
    return session


@pytest.fixture
def http(segurlink_pki: TestPki) -> Iterator[requests.Session]:
    with _session(segurlink_pki) as session:
        yield session


@pytest.fixture
def post(insi_mock: InsiMock, http: requests.Session) -> Any:
    def send(
        body: etree._Element | bytes,
        *,
        action: str | None = TRAITS,
        ctype: str | None = None,
        session: requests.Session | None = None,
        timeout: float = 5.0,
        **kwargs: Any,
    ) -> requests.Response:
        data = body if isinstance(body, bytes) else envelope(body, action=action, **kwargs)
        return (session or http).post(
            insi_mock.endpoint,
            data=data,
            headers={"Content-Type": ctype or content_type(action)},
            timeout=timeout,
        )

    return send


@pytest.fixture(scope="module")
def resultat_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(schemas_dir() / "insi" / "xsd" / "INSiResultat.xsd")))


@pytest.fixture(scope="module")
def siram_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(schemas_dir() / "insi" / "xsd" / "siram.xsd")))


# -- the qualification platform's test persons ---------------------------------------------

FOUND = [
    # traits, (matricule, key, oid), ListePrenom
    (("ADRUN", "ZOE", "F", "1975-12-31"), ("2751263220749", "74", OID_NIR), "ZOE"),
    (("ADRTROIS", "DOMINIQUE", "F", "1997-02-26"), ("297022A020778", "78", OID_NIR), "DOMINIQUE"),
    (("ADRTROIS", "TOUSSAINT", "M", "1960-01-01"), ("160012B020777", "13", OID_NIR), "TOUSSAINT"),
    (
        ("ECETINSI", "PIERRE-ALAIN", "M", "2009-07-14"),
        ("1090763220834", "89", OID_NIR),
        "PIERRE-ALAIN MURIEL FLORIANT",
    ),
    (("TCHITCHI", "CATARINA", "F", "1936-06-21"), ("2360663220836", "56", OID_NIR),
     "CATARINA BELLA"),
    (("NESSI", "MICHELANGELO", "M", "2010-08-07"), ("1100863220830", "60", OID_NIR),
     "MICHELANGELO ANTHONY"),
    (("CORSE", "ANTHONY", "M", "1980-03-02"), ("180032B020401", "23", OID_NIR), "ANTHONY"),
    (("PROVISOIRE", "MATRICULE", "M", "2009-07-01"), ("1090763220888", "35", OID_NIA),
     "MATRICULE"),
    (("HERMANN", "GATIEN", "M", "1981-03-24"), ("1810363220456", "60", OID_NIR), "GATIEN"),
]


@pytest.mark.parametrize(("query", "ins", "first_names"), FOUND, ids=[f[0][0] for f in FOUND])
def test_each_test_person_is_found_with_its_ins(
    post: Any, query: tuple[str, str, str, str], ins: tuple[str, str, str], first_names: str
) -> None:
    result = answer(post(traits(*query)))
    assert (result.cr, result.label) == ("00", "OK")
    assert result.active == ins
    assert result.tiq("NomNaissance") == query[0]
    assert result.tiq("ListePrenom") == first_names
    assert result.tiq("Sexe") == query[2]
    assert result.tiq("DateNaissance") == query[3]


def test_answer_carries_the_response_action(post: Any) -> None:
    response = post(traits("ADRUN", "ZOE", "F", "1975-12-31"))
    assert response.headers["Content-Type"] == (
        f'application/soap+xml; charset=utf-8; action="{TRAITS}Response"'
    )


def test_tchitchi_is_found_with_her_premier_prenom_only(post: Any) -> None:
    assert answer(post(traits("TCHITCHI", "OLA", "F", "1936-06-21"))).cr == "01"
    assert answer(post(traits("TCHITCHI", "CATARINA", "F", "1936-06-21"))).cr == "00"
    assert answer(post(traits("TCHITCHI", "BELLA", "F", "1936-06-21"))).cr == "01"


@pytest.mark.parametrize("first", ["PIERRE", "PAUL", "JACQUES"])
def test_houilles_is_never_found(post: Any, first: str) -> None:
    result = answer(post(traits("HOUILLES", first, "M", "1993-01-27")))
    assert (result.cr, result.label, result.individual) == ("01", "Aucune identite trouvee", None)


def test_de_vinci_needs_the_birth_place(post: Any) -> None:
    several = answer(post(traits("DE VINCI", "LEONARDO", "M", "2014-02-01")))
    assert (several.cr, several.label) == ("02", "Plusieurs identites trouvees")
    assert several.individual is None
    paris = answer(post(traits("DE VINCI", "LEONARDO", "M", "2014-02-01", "75056")))
    marseille = answer(post(traits("DE VINCI", "LEONARDO", "M", "2014-02-01", "13055")))
    assert paris.cr == marseille.cr == "00"
    assert paris.active[0] != marseille.active[0]
    assert paris.tiq("LieuNaissance") == "75056"
    assert answer(post(traits("DE VINCI", "LEONARDO", "M", "2014-02-01", "63220"))).cr == "01"


def test_other_traits_must_all_match(post: Any) -> None:
    assert answer(post(traits("ADRUN", "ZOE", "M", "1975-12-31"))).cr == "01"
    assert answer(post(traits("ADRUN", "ZOE", "F", "1975-12-30"))).cr == "01"
    assert answer(post(traits("ADRUN", "ZOE", "F", "1975-12-31", "63220"))).cr == "00"
    assert answer(post(traits("ADRUN", "ZOE", "F", "1975-12-31", "63113"))).cr == "01"
    # the premier prénom, not another birth first name, and the first Prenom sent
    assert answer(post(traits("ECETINSI", "MURIEL", "M", "2009-07-14"))).cr == "01"
    assert answer(post(traits("ECETINSI", ["PIERRE-ALAIN", "MURIEL"], "M", "2009-07-14"))).cr == (
        "00"
    )
    assert answer(post(traits("ECETINSI", ["MURIEL", "PIERRE-ALAIN"], "M", "2009-07-14"))).cr == (
        "01"
    )


# -- shape drift ---------------------------------------------------------------------------


def test_ecetinsi_history_puts_dates_before_the_identifier(post: Any) -> None:
    response = post(traits("ECETINSI", "PIERRE-ALAIN", "M", "2009-07-14"))
    result = answer(response)
    assert result.history == [
        ("2090763220834", "39", OID_NIR),
        ("2090663220123", "55", OID_NIR),
    ]
    assert result.individual is not None
    first_histo = result.individual.find(f"{{{RES}}}INSHISTO")
    assert first_histo is not None
    assert [etree.QName(c).localname for c in first_histo] == [
        "DateDeb",
        "DateFin",
        "IdIndividu",
        "OID",
    ]


def test_provisoire_answer_has_comments_and_the_nia_oid(post: Any) -> None:
    response = post(traits("PROVISOIRE", "MATRICULE", "M", "2009-07-01"))
    assert b"<!--" in response.content
    with_comments = etree.fromstring(response.content, etree.XMLParser(resolve_entities=False))
    assert any(
        isinstance(node, etree._Comment)
        for node in with_comments.iter()
        if node is not with_comments
    )
    result = answer(response)
    assert result.active == ("1090763220888", "35", OID_NIA)
    assert result.tiq("Prenom") == "MATRICULE"


@pytest.mark.parametrize(
    ("query", "history"),
    [
        (("CORSE", "ANTHONY", "M", "1980-03-02"), [("180032B020401", "23", OID_NIR)]),
        (
            ("HERMANN", "GATIEN", "M", "1981-03-24"),
            [("1810363220456", "60", OID_NIR), ("2810363220456", "10", OID_NIR)],
        ),
    ],
)
def test_history_repeats_the_active_ins(
    post: Any, query: tuple[str, str, str, str], history: list[tuple[str, str, str]]
) -> None:
    result = answer(post(traits(*query)))
    assert result.history == history
    assert result.history[0] == result.active


def test_envelope_prefixes_vary_between_persons(post: Any) -> None:
    def prefixes(query: tuple[str, str, str, str]) -> tuple[str | None, str | None]:
        root = _parse(post(traits(*query)).content)
        body = root.find(f"{{{SOAP}}}Body")
        assert body is not None
        return root.prefix, body.prefix

    assert prefixes(("ADRUN", "ZOE", "F", "1975-12-31")) == ("soap", "S")
    assert prefixes(("ADRTROIS", "TOUSSAINT", "M", "1960-01-01")) == ("env", "env")
    assert prefixes(("TCHITCHI", "CATARINA", "F", "1936-06-21")) == ("soap", "soap")


def test_older_and_newer_answer_shapes(post: Any) -> None:
    newer = answer(post(traits("ADRUN", "ZOE", "F", "1975-12-31")))
    assert newer.tiq("Prenom") is None
    assert newer.individual is not None
    assert newer.individual.find(f".//{{{RES}}}TypeMatricule") is None
    older = answer(post(traits("ANCIEN", "MARCEL", "M", "1931-04-02")))
    assert older.tiq("Prenom") == "MARCEL"
    assert older.individual is not None
    assert older.individual.findtext(f".//{{{RES}}}TypeMatricule") == "NIR"
    assert older.individual.findtext(f"{{{RES}}}INSACTIF/{{{RES}}}DateDeb") == "1931-04-02"


def test_answers_in_nominal_order_are_valid_against_the_project_schema(
    post: Any, resultat_schema: etree.XMLSchema
) -> None:
    for person in DEFAULT_PERSONS:
        if person.ins is None or person.shape.dates_before_id:
            continue
        query = traits(person.birth_name, person.first_name, person.sex, person.birth_date,
                       person.birth_place or None)
        result = _parse(post(query).content).find(f"{{{SOAP}}}Body/{{{RES}}}RESULTAT")
        assert result is not None
        assert answer(post(query)).cr == "00", person.birth_name
        assert resultat_schema.validate(result), (person.birth_name, resultat_schema.error_log)


def test_default_persons_have_well_formed_matricules() -> None:
    def key(matricule: str) -> int:
        return 97 - int(matricule.replace("2A", "19").replace("2B", "18")) % 97

    for person in DEFAULT_PERSONS:
        for record in (person.ins, *person.history) if person.ins else ():
            assert len(record.matricule) == 13
            if person.birth_name != "HERMANN":  # served as given by the platform
                assert int(record.key) == key(record.matricule), person.birth_name


@pytest.mark.parametrize(
    "query",
    [
        ("ALAOUI", "YOUSSEF", "M", "1950-00-00"),
        ("D'ARTAGNAN", "CHARLES", "M", "1961-11-08"),
        ("MARTIN--DURAND", "ELISE", "F", "1988-05-17"),
        ("LE GOFF", "YANN", "M", "1972-09-30"),
        ("N'DIAYE", "JEAN-BAPTISTE", "M", "2001-12-25"),
    ],
)
def test_our_edge_case_persons_are_found(post: Any, query: tuple[str, str, str, str]) -> None:
    result = answer(post(traits(*query)))
    assert result.cr == "00"
    assert result.tiq("NomNaissance") == query[0]


def test_persons_can_be_added_and_are_reset(
    post: Any, insi_mock: InsiMock
) -> None:
    insi_mock.add_person(
        InsiPerson("NOUVEAU", ("ALIX",), "F", "2020-02-29", "63113",
                   InsRecord("2200263113001", "58"))
    )
    assert answer(post(traits("NOUVEAU", "ALIX", "F", "2020-02-29"))).active[0] == "2200263113001"
    insi_mock.reset()
    assert answer(post(traits("NOUVEAU", "ALIX", "F", "2020-02-29"))).cr == "01"


# -- Carte Vitale --------------------------------------------------------------------------


def test_carte_vitale_search_by_matricule_and_birth_date(post: Any) -> None:
    response = post(vitale("2751263220749", "74", "1975-12-31"), action=VITALE)
    assert response.headers["Content-Type"].endswith(f'action="{VITALE}Response"')
    assert answer(response).active == ("2751263220749", "74", OID_NIR)
    assert answer(post(vitale("2751263220749", "74", "1975-12-30"), action=VITALE)).cr == "01"
    assert answer(post(vitale("2751263220749", "74", "1975-12-31", "ADRUN"),
                       action=VITALE)).cr == "00"
    assert answer(post(vitale("2751263220749", "74", "1975-12-31", "AUTRE"),
                       action=VITALE)).cr == "01"
    # an older matricule on the card still finds the person
    old = answer(post(vitale("2090763220834", "39", "2009-07-14"), action=VITALE))
    assert old.active == ("1090763220834", "89", OID_NIR)


def test_body_must_match_the_action(post: Any) -> None:
    f = fault(post(vitale("2751263220749", "74", "1975-12-31"), action=TRAITS))
    assert (siram_code(f), f.detail_code) == ("siram_20", "insi_101")


# -- header and access faults --------------------------------------------------------------


def test_missing_contexte_lps_or_bam(post: Any) -> None:
    for kwargs in ({"lps": False}, {"bam": False}):
        f = fault(post(traits("ADRUN", "ZOE", "F", "1975-12-31"), **kwargs))
        assert f.code == f"{{{SOAP}}}Sender"
        assert (siram_code(f), f.detail_code) == ("siram_100", "desir_550")


@pytest.mark.parametrize("emitter", ["medecin@yopmail.com", "10B0152872", OU])
def test_emitter_is_not_held_to_the_certificate_ou(post: Any, emitter: str) -> None:
    # The real qualification platform answers CR 00 with Emetteur=medecin@yopmail.com
    # (automated tests of an open-source client, specs/insi.md): the mock must not refuse.
    response = post(traits("ADRUN", "ZOE", "F", "1975-12-31"), emitter=emitter)
    assert answer(response).active == ("2751263220749", "74", OID_NIR)


@pytest.mark.parametrize("idam", ["INCONNU", None])
def test_unknown_idam_is_refused(post: Any, idam: str | None) -> None:
    f = fault(post(traits("ADRUN", "ZOE", "F", "1975-12-31"), idam=idam))
    assert (siram_code(f), f.detail_code) == ("siram_100", "desir_550")
    assert f.erreur.text == "Numéro d'autorisation du logiciel inconnu."


def test_known_idams_are_configurable(post: Any, insi_mock: InsiMock) -> None:
    insi_mock.known_idams.add("AUTRE-IDAM")
    assert answer(post(traits("ADRUN", "ZOE", "F", "1975-12-31"), idam="AUTRE-IDAM")).cr == "00"


def test_certificate_cn_must_be_insi_auto_or_insi_manu(
    post: Any, segurlink_pki: TestPki
) -> None:
    query = traits("ADRUN", "ZOE", "F", "1975-12-31")
    with _session(segurlink_pki, "wrong-cn") as wrong:
        f = fault(post(query, session=wrong))
    assert (siram_code(f), f.detail_code, f.severity) == ("siram_100", "DESIR_560", "erreur")
    # the real text of a wrong certificate level (specs/insi.md)
    assert f.erreur.text == "Vous ne disposez pas des droits suffisants pour accéder à ce service"
    with _session(segurlink_pki, "insi-manu") as manu:
        assert answer(post(query, session=manu)).cr == "00"


@pytest.mark.parametrize("cert", ["untrusted-client", None])
def test_tls_refuses_unknown_or_missing_client_certificates(
    post: Any, segurlink_pki: TestPki, insi_mock: InsiMock, cert: str | None
) -> None:
    with _session(segurlink_pki, cert) as session, pytest.raises(
        requests.exceptions.ConnectionError
    ):
        post(traits("ADRUN", "ZOE", "F", "1975-12-31"), session=session)
    assert insi_mock.request_count == 0
    deadline = time.monotonic() + 2
    while insi_mock.handshake_failures == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert insi_mock.handshake_failures == 1


@pytest.mark.parametrize(
    ("kwargs", "subcode"),
    [
        ({"message_id": None}, "MessageAddressingHeaderRequired"),
        ({"action": None, "ctype": content_type(TRAITS)}, "MessageAddressingHeaderRequired"),
        ({"message_id": "urn:pas-un-uuid"}, "InvalidAddressingHeader"),
        ({"action": "urn:ServiceIdentiteCertifiee:1.0.0:supprimerIns"}, "ActionNotSupported"),
        ({"ctype": content_type(VITALE)}, "ActionMismatch"),
    ],
)
def test_ws_addressing_faults(post: Any, kwargs: dict[str, Any], subcode: str) -> None:
    f = fault(post(traits("ADRUN", "ZOE", "F", "1975-12-31"), **kwargs))
    assert f.code == f"{{{SOAP}}}Sender"
    assert f.subcode == f"{{{WSA}}}{subcode}"
    assert f.detail_code == "insi_101"


def test_action_may_come_from_ws_addressing_only(post: Any) -> None:
    response = post(traits("ADRUN", "ZOE", "F", "1975-12-31"), ctype=content_type(None))
    assert answer(response).cr == "00"


def test_unknown_must_understand_header(post: Any) -> None:
    extra = etree.Element("{urn:autre}Inconnu", nsmap={"x": "urn:autre"})
    extra.set(f"{{{SOAP}}}mustUnderstand", "true")
    f = fault(post(traits("ADRUN", "ZOE", "F", "1975-12-31"), extra_header=extra))
    assert f.code == f"{{{SOAP}}}MustUnderstand"


def test_card_mode_security_header_is_schema_checked_and_frees_the_emitter(post: Any) -> None:
    wsse = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
    saml = "urn:oasis:names:tc:SAML:2.0:assertion"
    security = etree.Element(f"{{{wsse}}}Security", nsmap={"wsse": wsse})
    assertion = etree.SubElement(security, f"{{{saml}}}Assertion", nsmap={"saml": saml})
    query = traits("ADRUN", "ZOE", "F", "1975-12-31")
    ok = post(query, emitter="810001234567", extra_header=security)
    assert answer(ok).cr == "00"
    security.remove(assertion)
    f = fault(post(traits("ADRUN", "ZOE", "F", "1975-12-31"), extra_header=security))
    assert f.detail_code == "insi_101"


# -- invalid requests ------------------------------------------------------------------------


def test_http_level_refusals(insi_mock: InsiMock, http: requests.Session) -> None:
    data = envelope(traits("ADRUN", "ZOE", "F", "1975-12-31"))
    soap11 = http.post(insi_mock.endpoint, data=data,
                       headers={"Content-Type": "text/xml; charset=utf-8"})
    assert soap11.status_code == 415
    latin1 = http.post(insi_mock.endpoint, data=data,
                       headers={"Content-Type": "application/soap+xml; charset=iso-8859-1"})
    assert latin1.status_code == 415
    assert http.get(insi_mock.endpoint).status_code == 405
    assert http.post(insi_mock.url + "/autre", data=data,
                     headers={"Content-Type": content_type()}).status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        ("ADRUN", "ZOE", "U", "1975-12-31", None),
        ("ADRUN", "ZOE", "F", "31/12/1975", None),
        ("ADRUN", "ZOE", "F", "1975-02-30", None),
        ("ADRUN", "ZOE", "F", "1975-13-00", None),
        ("Adrun", "ZOE", "F", "1975-12-31", None),
        ("ADRÜN", "ZOE", "F", "1975-12-31", None),
        ("ADRUN", "ZOE-", "F", "1975-12-31", None),
        ("ADRUN", "ANNE--MARIE", "F", "1975-12-31", None),
        ("ADRUN  DEUX", "ZOE", "F", "1975-12-31", None),
        (" ADRUN", "ZOE", "F", "1975-12-31", None),
        ("ADRUN", "ZOE", "F", "1975-12-31", "6322"),
        ("ADRUN", "ZOE", "F", "1975-12-31", "2C020"),
        ("", "ZOE", "F", "1975-12-31", None),
    ],
)
def test_traits_breaking_the_insi_rules_are_refused(
    post: Any, query: tuple[str, str, str, str, str | None]
) -> None:
    f = fault(post(traits(*query)))
    assert f.code == f"{{{SOAP}}}Sender"
    assert (siram_code(f), f.detail_code) == ("siram_20", "insi_101")


def test_missing_prenom_is_refused(post: Any) -> None:
    f = fault(post(traits("ADRUN", [], "F", "1975-12-31")))
    assert f.detail_code == "insi_101"


def test_schema_invalid_body_is_refused(post: Any) -> None:
    body = traits("ADRUN", "ZOE", "F", "1975-12-31")
    _el(body, RECSANS, "Commentaire", "inattendu")
    f = fault(post(body))
    assert (siram_code(f), f.detail_code) == ("siram_20", "insi_101")
    assert "schéma" in (f.erreur.text or "")


def test_doctype_is_refused_with_a_fault_and_the_server_survives(post: Any) -> None:
    data = envelope(traits("ADRUN", "ZOE", "F", "1975-12-31"))
    declaration, _, rest = data.partition(b"?>")
    evil = (
        declaration + b'?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + rest
    )
    f = fault(post(evil))
    assert f.detail_code == "insi_101"
    assert "DOCTYPE" in (f.erreur.text or "")
    assert b"root:" not in post(evil).content
    assert answer(post(traits("ADRUN", "ZOE", "F", "1975-12-31"))).cr == "00"


def test_not_xml_and_soap_11_are_refused(post: Any) -> None:
    assert fault(post(b"ceci n'est pas du XML")).detail_code == "insi_101"
    old = etree.Element(f"{{{SOAP11}}}Envelope", nsmap={"s": SOAP11})
    _el(old, SOAP11, "Body").append(traits("ADRUN", "ZOE", "F", "1975-12-31"))
    f = fault(post(etree.tostring(old)))
    assert f.code == f"{{{SOAP}}}VersionMismatch"


# -- fault styles --------------------------------------------------------------------------


def test_fault_styles_alternate_2022_then_2025(
    post: Any, siram_schema: etree.XMLSchema
) -> None:
    message_id = f"uuid:{uuid.uuid4()}"
    first = post(traits("ADRUN", "ZOE", "F", "1975-12-31"), idam="X", message_id=message_id)
    second = post(traits("ADRUN", "ZOE", "F", "1975-12-31"), idam="X", message_id=message_id)

    old, new = fault(first), fault(second)
    # 2022: env:Body, S:Fault, the subcode written with the SOAP prefix, English tag
    assert b"<env:Body" in first.content and b"<S:Fault" in first.content
    assert b"<S:Value>S:siram_100</S:Value>" in first.content
    assert old.subcode == f"{{{SOAP}}}siram_100"
    assert (old.lang, old.severity, old.message_id) == ("en", "erreur", None)
    # 2025 (FAULT_desir_550.xml): env:Body in soap:Envelope, soap:Fault, the subcode with
    # the envelope's prefix, French, "erreur" for an access refusal, messageID echoed
    assert b"<env:Body" in second.content and b"<soap:Fault>" in second.content
    assert b"<soap:Value>soap:siram_100</soap:Value>" in second.content
    assert new.subcode == f"{{{SOAP}}}siram_100"
    assert (new.lang, new.severity, new.message_id) == ("fr", "erreur", message_id)
    for f in (old, new):
        assert f.reason.startswith("L'accès par ce progiciel au service n'est pas autorisé.")
        assert siram_schema.validate(etree.ElementTree(f.erreur)), siram_schema.error_log


@pytest.mark.parametrize("style", ["2022", "2025"])
def test_fixed_fault_style(segurlink_pki: TestPki, style: str) -> None:
    with InsiMock(segurlink_pki, fault_style=style) as mock,  _session(segurlink_pki) as http:  # type: ignore[arg-type]
        for _ in range(2):
            response = http.post(
                mock.endpoint,
                data=envelope(traits("ADRUN", "ZOE", "F", "1975-12-31"), idam="X"),
                headers={"Content-Type": content_type()},
                timeout=5,
            )
            assert fault(response).lang == ("en" if style == "2022" else "fr")


# -- injected faults -----------------------------------------------------------------------


def test_unavailable_and_technical(post: Any, insi_mock: InsiMock) -> None:
    query = traits("ADRUN", "ZOE", "F", "1975-12-31")
    insi_mock.inject("unavailable")
    insi_mock.inject("technical")
    down = fault(post(query))
    assert down.code == f"{{{SOAP}}}Receiver"
    assert (siram_code(down), down.detail_code) == ("siram_40", "desir_1020")
    assert down.severity == "fatal"  # 2022 style (first fault since reset), as insi_102
    assert down.reason.startswith("Le service est temporairement inaccessible.")
    tech = fault(post(query))
    assert (siram_code(tech), tech.detail_code) == ("siram_40", "insi_102")
    assert tech.severity == "fatale"  # 2025 style
    assert tech.erreur.text == (
        "L'appel au service de recherche avec les traits d'identité renvoie une erreur technique."
    )
    assert answer(post(query)).cr == "00"


def test_fault_count_and_until_cleared(post: Any, insi_mock: InsiMock) -> None:
    query = traits("ADRUN", "ZOE", "F", "1975-12-31")
    insi_mock.inject("unavailable", count=2)
    assert [post(query).status_code for _ in range(3)] == [500, 500, 200]
    insi_mock.inject("unavailable", count=None)
    assert [post(query).status_code for _ in range(3)] == [500, 500, 500]
    assert insi_mock.faults == [("unavailable", None)]
    insi_mock.clear_faults()
    assert post(query).status_code == 200
    with pytest.raises(ValueError):
        insi_mock.inject("meteor")
    with pytest.raises(ValueError):
        insi_mock.inject("latency:soon")


def test_latency_makes_a_short_read_timeout_expire(post: Any, insi_mock: InsiMock) -> None:
    insi_mock.inject("latency:1.5")
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        post(traits("ADRUN", "ZOE", "F", "1975-12-31"), timeout=0.3)
    assert time.monotonic() - started < 1.0
    insi_mock.inject("latency:0.2")
    assert answer(post(traits("ADRUN", "ZOE", "F", "1975-12-31"))).cr == "00"


def test_reset_drops_requests_of_an_earlier_test(post: Any, insi_mock: InsiMock) -> None:
    insi_mock.inject("latency:5")
    insi_mock.fault_style = "2025"
    with pytest.raises(requests.exceptions.ReadTimeout):
        post(traits("ADRUN", "ZOE", "F", "1975-12-31"), timeout=0.2)
    started = time.monotonic()
    insi_mock.reset()  # what the fixture does before the next test
    time.sleep(0.1)  # the woken handler drops its connection
    assert insi_mock.requests == [] and insi_mock.request_count == 0
    assert insi_mock.fault_style == "alternate"
    assert answer(post(traits("ADRUN", "ZOE", "F", "1975-12-31"))).cr == "00"
    assert time.monotonic() - started < 2
    assert len(insi_mock.requests) == 1


def test_http500_html(post: Any, insi_mock: InsiMock) -> None:
    insi_mock.inject("http500_html")
    response = post(traits("ADRUN", "ZOE", "F", "1975-12-31"))
    assert response.status_code == 500
    assert response.headers["Content-Type"].startswith("text/html")
    assert b"<html>" in response.content


def test_truncated_answer(post: Any, insi_mock: InsiMock) -> None:
    insi_mock.inject("truncated")
    response = post(traits("ADRUN", "ZOE", "F", "1975-12-31"))
    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) == len(response.content)
    assert response.content.startswith(b"<?xml")
    with pytest.raises(etree.XMLSyntaxError):
        _parse(response.content)


def test_reset_gives_a_connection_error(post: Any, insi_mock: InsiMock) -> None:
    insi_mock.inject("reset")
    with pytest.raises(requests.exceptions.ConnectionError):
        post(traits("ADRUN", "ZOE", "F", "1975-12-31"))
    assert answer(post(traits("ADRUN", "ZOE", "F", "1975-12-31"))).cr == "00"
    assert insi_mock.requests[0].status == 0


def test_wrong_action(post: Any, insi_mock: InsiMock) -> None:
    insi_mock.inject("wrong_action")
    response = post(traits("ADRUN", "ZOE", "F", "1975-12-31"))
    assert response.status_code == 200
    assert response.headers["Content-Type"].endswith(f'action="{VITALE}Response"')
    root = _parse(response.content)
    assert root.findtext(f"{{{SOAP}}}Header/{{{WSA}}}Action") == f"{VITALE}Response"


def test_non_soap_200(post: Any, insi_mock: InsiMock) -> None:
    insi_mock.inject("non_soap_200")
    response = post(traits("ADRUN", "ZOE", "F", "1975-12-31"))
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")


# -- request log and control endpoint ------------------------------------------------------


def test_request_log_has_metadata_but_no_health_data(post: Any, insi_mock: InsiMock) -> None:
    post(traits("ADRUN", "ZOE", "F", "1975-12-31"))
    post(traits("ADRUN", "ZOE", "F", "1975-12-31"), idam="X")
    first, second = insi_mock.requests
    assert (first.status, first.details["cr"], first.client_cn) == (200, "00", "INSI-AUTO")
    assert first.details["operation"] == "rechercherInsAvecTraitsIdentite"
    assert (second.status, second.details["fault_detail"]) == (500, "desir_550")
    dumped = json.dumps([r.to_json() for r in insi_mock.requests])
    for secret in ("ADRUN", "ZOE", "1975-12-31", "2751263220749"):
        assert secret not in dumped


def test_control_endpoint_drives_faults_from_another_process(
    post: Any, insi_mock: InsiMock, segurlink_pki: TestPki
) -> None:
    control = insi_mock.url + "/_mock"
    # any certificate of the test CA opens the control endpoint, even one INSi refuses
    with _session(segurlink_pki, "wrong-cn") as admin:
        created = admin.post(control + "/faults", json={"fault": "technical", "count": 1})
        assert created.status_code == 201
        assert created.json() == {"faults": [{"fault": "technical", "remaining": 1}]}
        assert fault(post(traits("ADRUN", "ZOE", "F", "1975-12-31"))).detail_code == "insi_102"
        admin.post(control + "/faults", json={"fault": "unavailable", "count": None})
        assert admin.get(control + "/faults").json()["faults"][0]["remaining"] is None
        assert admin.delete(control + "/faults").json() == {"faults": []}
        assert post(traits("ADRUN", "ZOE", "F", "1975-12-31")).status_code == 200
        log = admin.get(control + "/requests").json()
        assert log["count"] == 2
        assert [r["status"] for r in log["requests"]] == [500, 200]
        assert "ADRUN" not in json.dumps(log)
        assert admin.post(control + "/faults", json={"fault": "meteor"}).status_code == 400
        assert admin.post(control + "/faults", data="x").status_code == 400
        assert admin.get(control + "/nothing").status_code == 404
        assert admin.post(control + "/reset").json() == {"reset": True}
        assert admin.get(control + "/requests").json()["count"] == 0


# -- lifecycle -----------------------------------------------------------------------------


def test_stop_is_quick_even_with_a_sleeping_handler(segurlink_pki: TestPki) -> None:
    mock = InsiMock(segurlink_pki).start()
    mock.inject("latency:30")
    errors: list[BaseException] = []

    def call() -> None:
        with _session(segurlink_pki) as http:
            try:
                http.post(mock.endpoint, data=envelope(traits("ADRUN", "ZOE", "F", "1975-12-31")),
                          headers={"Content-Type": content_type()}, timeout=10)
            except requests.RequestException as exc:
                errors.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    deadline = time.monotonic() + 2
    while mock.faults and time.monotonic() < deadline:  # the handler took the fault
        time.sleep(0.01)
    started = time.monotonic()
    mock.stop()
    assert time.monotonic() - started < 2.0
    caller.join(5)
    assert not caller.is_alive()
    assert errors  # the sleeping request was dropped, not answered
    assert not mock.running


def test_stack_writes_settings_that_segurlink_loads(tmp_path: Path) -> None:
    with MockStack(tmp_path) as stack:
        settings = Settings.from_toml(tmp_path / "segurlink.toml")
        assert settings == stack.settings()
        assert settings.software is not None and settings.software.idam == IDAM
        assert settings.software.name == "segurlink-demo"
        assert settings.structure is not None and settings.structure.finess == "010000016"
        assert settings.timeouts.as_tuple == (5.0, 10.0)
        insi = InsiSettings.from_settings(settings)
        assert insi.endpoint == stack.insi.endpoint
        insi.tls.check_files()
        assert insi.tls.ca_bundle == tmp_path / "pki" / "ca.pem"
        assert insi.tls.cert == tmp_path / "pki" / "insi-auto.pem"
        assert insi.tls.key is not None and insi.tls.key.is_file()
        with requests.Session() as http:
            http.trust_env = False
            http.verify = str(insi.tls.ca_bundle)
            http.cert = (str(insi.tls.cert), str(insi.tls.key))
            response = http.post(insi.endpoint,
                                 data=envelope(traits("ADRUN", "ZOE", "F", "1975-12-31")),
                                 headers={"Content-Type": content_type()}, timeout=5)
        assert answer(response).cr == "00"
        instance = settings.software.instance
        ca = (tmp_path / "pki" / "ca.pem").read_bytes()
    assert not (tmp_path / "segurlink.toml").exists()
    with MockStack(tmp_path) as again:  # restarts keep the CA and the software instance
        assert (tmp_path / "pki" / "ca.pem").read_bytes() == ca
        software = again.settings().software
        assert software is not None and software.instance == instance


def test_settings_fixture_points_at_the_mock(
    segurlink_mock_settings: Settings, insi_mock: InsiMock, segurlink_pki: TestPki
) -> None:
    insi = InsiSettings.from_settings(segurlink_mock_settings)
    assert insi.endpoint == insi_mock.endpoint
    assert insi.tls.cert == segurlink_pki.client("insi-auto").cert
    assert insi.tls.ca_bundle == segurlink_pki.ca
    assert segurlink_mock_settings.software is not None
    assert segurlink_mock_settings.software.idam == IDAM


def test_program_runs_until_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "SEGURLINK_MOCK_DIR": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "segurlink_mocks"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stderr is not None
        lines = []
        for line in process.stderr:
            lines.append(line)
            if line.strip().startswith("settings"):
                break
        assert (tmp_path / "segurlink.toml").is_file(), "".join(lines)
        endpoint = InsiSettings.from_settings(Settings.from_toml(tmp_path / "segurlink.toml")).endpoint
        assert any(endpoint in line for line in lines)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
        assert not (tmp_path / "segurlink.toml").exists()
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()  # waits and closes the pipe
