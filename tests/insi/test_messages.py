"""Pure building and reading of INSi messages (no sockets)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

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
    InsNotFound,
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
    _schema("ctxlps.xsd").assertValid(etree.ElementTree(etree.fromstring(etree.tostring(lps))))  # type: ignore[arg-type]
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


# -- reading RESULTAT: one failing (or tolerant) case per rule ---------------------------------

OID_NIR = "1.2.250.1.213.1.4.8"


def _ins_block(tag: str = "INSACTIF", *, matricule: str = "2751263220749", key: str = "74",
               dates: str = "", id_individu: bool = True, oid: str = OID_NIR) -> str:
    ident = (
        f"<IdIndividu><NumIdentifiant>{matricule}</NumIdentifiant><Cle>{key}</Cle></IdIndividu>"
        if id_individu
        else ""
    )
    return f"<{tag}>{ident}<OID>{oid}</OID>{dates}</{tag}>"


TIQ_DEFAULTS = {
    "NomNaissance": "ADRUN",
    "Prenom": None,
    "ListePrenom": "ZOE",
    "Sexe": "F",
    "DateNaissance": "1975-12-31",
    "LieuNaissance": "63220",
}


def _tiq(**changes: str | None) -> str:
    parts = {**TIQ_DEFAULTS, **changes}
    return "<TIQ>" + "".join(
        f"<{name}>{value}</{name}>" for name, value in parts.items() if value is not None
    ) + "</TIQ>"


def _found(individu: str) -> bytes:
    return _answer(
        f"<RESULTAT {RESULT_NS}><CR><CodeCR>00</CodeCR><LibelleCR>OK</LibelleCR></CR>"
        f"<INDIVIDU>{individu}</INDIVIDU></RESULTAT>"
    )


def _identity(individu: str) -> Any:
    result = parse_answer(_found(individu))
    assert isinstance(result, InsFound)
    return result.identity


def test_the_minimal_found_answer_reads() -> None:
    identity = _identity(_ins_block() + _tiq())
    assert identity.ins.value == "275126322074974"
    assert identity.traits.first_names == ("ZOE",)
    assert identity.active.start is None and identity.active.end is None


def _unreadable_traits(**tiq: str | None) -> InvalidTraits:
    with pytest.raises(MalformedResponse, match=r"^INSi returned traits segurlink cannot read") as info:
        parse_answer(_found(_ins_block() + _tiq(**tiq)))
    cause = info.value.__cause__
    assert isinstance(cause, InvalidTraits)
    return cause


@pytest.mark.parametrize(
    ("tiq", "field"),
    [
        ({"NomNaissance": None}, "birth_name"),
        ({"NomNaissance": ""}, "birth_name"),
        ({"NomNaissance": "adrun"}, "birth_name"),
        ({"ListePrenom": None, "Prenom": None}, "first_names"),
        ({"ListePrenom": "", "Prenom": ""}, "first_names"),
        ({"DateNaissance": None}, "birth_date"),
        ({"DateNaissance": "31/12/1975"}, "birth_date"),
        ({"LieuNaissance": "6322"}, "birth_place"),
    ],
    ids=["no-birth-name", "empty-birth-name", "lower-case-name", "no-first-name",
         "empty-first-names", "no-birth-date", "french-birth-date", "short-birth-place"],
)
def test_traits_segurlink_cannot_read_are_a_malformed_answer(
    tiq: dict[str, str | None], field: str
) -> None:
    assert _unreadable_traits(**tiq).field == field


@pytest.mark.parametrize("sex", [None, "", "U", "f"])
def test_an_unknown_sexe_is_a_malformed_answer(sex: str | None) -> None:
    with pytest.raises(MalformedResponse, match=f"^INSi returned an unknown Sexe {sex!r}$"):
        parse_answer(_found(_ins_block() + _tiq(Sexe=sex)))


def test_first_names_come_from_liste_prenom_else_from_prenom() -> None:
    # Older answers carry TIQ/Prenom; ListePrenom (all birth first names) wins when present.
    only_prenom = _identity(_ins_block() + _tiq(ListePrenom=None, Prenom="ZOE"))
    assert (only_prenom.traits.first_names, only_prenom.first_name) == (("ZOE",), "ZOE")
    both = _identity(_ins_block() + _tiq(ListePrenom="CATARINA BELLA", Prenom="CATARINA"))
    assert (both.traits.first_names, both.first_name) == (("CATARINA", "BELLA"), "CATARINA")
    newer = _identity(_ins_block() + _tiq(ListePrenom=" PIERRE-ALAIN  MURIEL \n"))
    assert (newer.traits.first_names, newer.first_name) == (("PIERRE-ALAIN", "MURIEL"), None)


def test_birth_place_is_optional_and_text_is_trimmed() -> None:
    identity = _identity(_ins_block() + _tiq(LieuNaissance=None, NomNaissance="\n  ADRUN  "))
    assert (identity.traits.birth_place, identity.traits.birth_name) == (None, "ADRUN")
    assert _identity(_ins_block() + _tiq(LieuNaissance="")).traits.birth_place is None


@pytest.mark.parametrize(
    "individu",
    [_tiq(), _ins_block(), "", _ins_block("INSHISTO") + _tiq()],
    ids=["no-insactif", "no-tiq", "empty", "history-only"],
)
def test_individu_without_insactif_or_tiq_is_a_malformed_answer(individu: str) -> None:
    with pytest.raises(MalformedResponse, match=r"^INSi INDIVIDU lacks INSACTIF or TIQ$"):
        parse_answer(_found(individu))


@pytest.mark.parametrize("tag", ["INSACTIF", "INSHISTO"])
def test_ins_without_id_individu_is_a_malformed_answer(tag: str) -> None:
    blocks = _ins_block("INSACTIF", id_individu=tag != "INSACTIF")
    if tag == "INSHISTO":
        blocks += _ins_block("INSHISTO", id_individu=False)
    with pytest.raises(MalformedResponse, match=f"^INSi {tag} has no IdIndividu$"):
        parse_answer(_found(blocks + _tiq()))


def test_an_ins_segurlink_cannot_read_is_a_malformed_answer() -> None:
    with pytest.raises(MalformedResponse, match=r"^INSi returned an INS segurlink cannot read"):
        parse_answer(_found(_ins_block(key="7") + _tiq()))


@pytest.mark.parametrize(
    "dates",
    [
        "<DateDeb>2020-13-01</DateDeb>",
        "<DateDeb>01/01/2020</DateDeb>",
        "<DateDeb>2020-01-01</DateDeb><DateFin>2020-02-30</DateFin>",
    ],
)
def test_an_invalid_date_is_a_malformed_answer(dates: str) -> None:
    bad = dates.rpartition("<Date")[2].partition(">")[2].partition("<")[0]
    with pytest.raises(MalformedResponse, match=f"^INSi returned an invalid date '{bad}'$"):
        parse_answer(_found(_ins_block(dates=dates) + _tiq()))


@pytest.mark.parametrize("value", ["2020-01-01+01:00", "2020-01-01Z", "2020-01-01-05:00"])
def test_dates_with_a_time_zone_offset_keep_their_day(value: str) -> None:
    # xs:date allows an offset; the day is what INSi means.
    dates = f"<DateDeb>{value}</DateDeb><DateFin>{value.replace('2020', '2021')}</DateFin>"
    identity = _identity(_ins_block(dates=dates) + _tiq())
    assert (str(identity.active.start), str(identity.active.end)) == ("2020-01-01", "2021-01-01")


def test_empty_dates_are_absent_dates() -> None:
    identity = _identity(_ins_block(dates="<DateDeb></DateDeb><DateFin> </DateFin>") + _tiq())
    assert (identity.active.start, identity.active.end) == (None, None)


def test_the_oid_is_read_from_the_answer() -> None:
    nia = _identity(_ins_block(matricule="1090763220888", key="35", oid="1.2.250.1.213.1.4.9")
                    + _tiq())
    assert (nia.ins.value, nia.ins.oid) == ("109076322088835", "1.2.250.1.213.1.4.9")


def test_processing_instructions_inside_the_result_are_skipped() -> None:
    identity = _identity(_ins_block() + _tiq().replace("<TIQ>", "<TIQ><?trace x?>"))
    assert identity.traits.birth_name == "ADRUN"


def test_the_right_response_action_is_accepted() -> None:
    body = (
        f'<e:Envelope xmlns:e="{SOAP}"><e:Header><a:Action xmlns:a="http://www.w3.org/2005/08/addressing">'
        f"{ACTION_SEARCH_TRAITS}Response</a:Action></e:Header><e:Body>"
        f"<RESULTAT {RESULT_NS}><CR><CodeCR>01</CodeCR><LibelleCR>Aucune identite trouvee</LibelleCR></CR>"
        "</RESULTAT></e:Body></e:Envelope>"
    ).encode()
    assert parse_answer(body, expected_action=ACTION_SEARCH_TRAITS).code is CrCode.NOT_FOUND
    with pytest.raises(MalformedResponse, match="action"):
        parse_answer(body.replace(b"Response<", b"<"), expected_action=ACTION_SEARCH_TRAITS)


def test_history_is_kept_in_order_with_its_dates() -> None:
    identity = _identity(
        _ins_block()
        + _ins_block("INSHISTO", matricule="2090763220834", key="39",
                     dates="<DateDeb>2009-07-14</DateDeb><DateFin>2010-01-01</DateFin>")
        + _ins_block("INSHISTO", matricule="2090663220123", key="55")
        + _tiq()
    )
    assert [h.ins.value for h in identity.history] == ["209076322083439", "209066322012355"]
    assert (str(identity.history[0].start), str(identity.history[0].end)) == (
        "2009-07-14", "2010-01-01",
    )


def test_children_are_read_by_namespace_not_by_prefix() -> None:
    # A foreign element with the same local name is ignored; unqualified children are read.
    foreign = '<x:NomNaissance xmlns:x="urn:autre">AUTRE</x:NomNaissance>'
    tiq = _tiq().replace("<TIQ>", "<TIQ>" + foreign)
    assert _identity(_ins_block() + tiq).traits.birth_name == "ADRUN"
    unqualified = _answer(
        '<r:RESULTAT xmlns:r="http://www.cnamts.fr/INSiResultat"><CR><CodeCR>00</CodeCR>'
        f"<LibelleCR>OK</LibelleCR></CR><INDIVIDU>{_ins_block()}{_tiq()}</INDIVIDU></r:RESULTAT>"
    )
    result = parse_answer(unqualified)
    assert isinstance(result, InsFound) and result.label == "OK"
    assert result.identity.ins.value == "275126322074974"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_answer(""), "^INSi answer body holds nothing, expected RESULTAT$"),
        (_answer("<!-- rien -->"), "^INSi answer body holds nothing, expected RESULTAT$"),
        (
            f'<env:Envelope xmlns:env="{SOAP}"><env:Header/></env:Envelope>'.encode(),
            "^INSi answer has no SOAP Body$",
        ),
        (
            _answer('<RESULTAT xmlns="urn:autre"><CR/></RESULTAT>'),
            r"^INSi answer body holds '\{urn:autre\}RESULTAT', expected RESULTAT$",
        ),
        (_answer(f"<RESULTAT {RESULT_NS}/>"), "^INSi RESULTAT has no CR$"),
        (
            _answer(f"<RESULTAT {RESULT_NS}><CR><LibelleCR>OK</LibelleCR></CR></RESULTAT>"),
            r"^unknown INSi CodeCR None \(OK\)$",
        ),
    ],
    ids=["empty-body", "comment-only-body", "no-body", "foreign-resultat", "no-cr", "no-codecr"],
)
def test_envelopes_without_a_result_are_malformed(body: bytes, message: str) -> None:
    with pytest.raises(MalformedResponse, match=message):
        parse_answer(body)


def test_not_found_and_multiple_keep_the_service_label() -> None:
    for code, label, kind in (
        ("01", "Aucune identite trouvee", InsNotFound),
        ("02", "Plusieurs identites trouvees", MultipleIdentities),
    ):
        result = parse_answer(_answer(
            f"<RESULTAT {RESULT_NS}><CR><CodeCR>{code}</CodeCR>"
            f"<LibelleCR>{label}</LibelleCR></CR></RESULTAT>"
        ))
        assert isinstance(result, kind)
        assert (result.code.value, result.label) == (code, label)


# -- the vitale request, faults and labels whole (issue 19: mutation testing) ----------------

ACTION_SEARCH_VITALE = "urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecCarteVitale"


def test_vitale_request_whole(messages: InsiMessages) -> None:
    now = datetime(2026, 11, 23, 9, 30, 5, 500_000, tzinfo=UTC)
    query = VitaleQuery(
        "ADRUN", "1975-12-31", birth_rank=2,
        nir=("2751263220749", "74"), holder_nir=("1090763220888", "35"),
    )  # fmt: skip
    request = messages.search_by_vitale(query, message_id="uuid:vit-1", now=now)
    assert (request.operation, request.action, request.message_id) == (
        "rechercherInsAvecCarteVitale",
        ACTION_SEARCH_VITALE,
        "uuid:vit-1",
    )
    assert request.body.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n")
    env = etree.fromstring(request.body)
    body = env.find(f"{{{SOAP}}}Body")[0]
    assert [(etree.QName(c).localname, [g.text for g in c] or c.text) for c in body] == [
        ("MatriculeIndividu", ["2751263220749", "74"]),
        ("MatriculeOD", ["1090763220888", "35"]),
        ("NomNaissance", "ADRUN"),
        ("DateNaissance", "1975-12-31"),
        ("RangNaissance", "2"),
    ]
    _schema("INSiRecVit.xsd").assertValid(etree.ElementTree(body))
    header = env.find(f"{{{SOAP}}}Header")
    wsa = "http://www.w3.org/2005/08/addressing"
    assert [a.text for a in header.iter(f"{{{wsa}}}Action")] == [ACTION_SEARCH_VITALE]
    assert header.findtext(f"{{{wsa}}}MessageID") == "uuid:vit-1"
    temps = header.findtext("{urn:siram:lps:ctxlps}ContexteLPS/{urn:siram:lps:ctxlps}Temps")
    assert temps == "2026-11-23T09:30:05.500Z"


def test_the_siram_time_is_utc_whatever_the_machine_zone(
    messages: InsiMessages, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time
    from datetime import timedelta, timezone

    monkeypatch.setenv("TZ", "America/Cayenne")  # a French DUI outside metropolitan France
    time.tzset()
    try:
        paris = timezone(timedelta(hours=1))
        now = datetime(2026, 11, 23, 10, 30, 5, 999_999, tzinfo=paris)
        query = TraitsQuery.from_traits(_traits(), with_birth_place=False)
        env = etree.fromstring(messages.search_by_traits(query, now=now).body)
        ns = {"l": "urn:siram:lps:ctxlps", "b": "urn:siram:bam:ctxbam"}
        assert env.findtext(".//l:ContexteLPS/l:Temps", namespaces=ns) == "2026-11-23T09:30:05.999Z"
        assert env.findtext(".//b:ContexteBAM/b:Temps", namespaces=ns) == "2026-11-23T09:30:05.999Z"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_contract_wsdl_with_remote_imports_loads_through_the_url_map(tmp_path: Any) -> None:
    import shutil

    from segurlink.errors import ConfigurationError

    shutil.copytree(schemas_dir() / "insi", tmp_path / "insi")
    wsdl = tmp_path / "insi" / "insi.wsdl"
    remote = "https://contrat.test/INSiRecSans.xsd"
    text = wsdl.read_text("utf-8").replace(
        'schemaLocation="xsd/INSiRecSans.xsd"', f'schemaLocation="{remote}"'
    )
    wsdl.write_text(text, "utf-8")
    with pytest.raises(ConfigurationError, match="network fetch"):
        InsiMessages(SOFTWARE, emitter="E", wsdl=wsdl)
    mapped = InsiMessages(
        SOFTWARE,
        emitter="E",
        wsdl=wsdl,
        url_map={remote: tmp_path / "insi" / "xsd" / "INSiRecSans.xsd"},
    )
    request = mapped.search_by_traits(TraitsQuery.from_traits(_traits(), with_birth_place=False))
    assert b"<ns0:NomNaissance>TCHITCHI</ns0:NomNaissance>" in request.body


@pytest.mark.parametrize(
    ("fault", "message", "fields"),
    [
        (
            FAULT_2022,
            "INSi fault siram_40/insi_102: L'appel au service de recherche avec les traits "
            "d'identité renvoie une erreur technique.",
            ("Receiver", "siram_40", "insi_102", "fatal", ""),
        ),
        (
            FAULT_2025,
            "INSi fault siram_100/DESIR_560: Niveau d'accès insuffisant",
            ("Sender", "siram_100", "DESIR_560", "erreur", "uuid:42"),
        ),
    ],
)
def test_fault_messages_whole(fault: bytes, message: str, fields: tuple[str, ...]) -> None:
    with pytest.raises(InsiFault) as info:
        parse_answer(fault)
    error = info.value
    assert str(error) == message
    codes = (error.code, error.subcode, error.detail_code, error.severity, error.message_id)
    assert codes == fields


BARE_FAULT = (
    f'<S:Envelope xmlns:S="{SOAP}"><S:Body><S:Fault><S:Code><S:Value>S:Receiver</S:Value>'
    '</S:Code><S:Reason><S:Text xml:lang="fr">Erreur  interne</S:Text></S:Reason>{detail}'
    "</S:Fault></S:Body></S:Envelope>"
)


@pytest.mark.parametrize(
    "detail",
    ["", '<S:Detail><siram:Erreur xmlns:siram="urn:siram"/></S:Detail>'],
    ids=["none", "empty"],
)
def test_a_fault_without_detail_reads_its_code_and_reason(detail: str) -> None:
    with pytest.raises(InsiFault) as info:
        parse_answer(BARE_FAULT.format(detail=detail).encode())
    error = info.value
    assert str(error) == "INSi fault Receiver: Erreur interne"
    assert (error.code, error.subcode, error.detail_code, error.severity, error.message_id) == (
        "Receiver", "", "", "", "",
    )  # fmt: skip
    assert error.reason == "Erreur interne"


def test_a_result_without_label_has_an_empty_label() -> None:
    result = parse_answer(_answer(f"<RESULTAT {RESULT_NS}><CR><CodeCR>01</CodeCR></CR></RESULTAT>"))
    assert (result.code, result.label) == (CrCode.NOT_FOUND, "")
    found = parse_answer(
        _answer(
            f"<RESULTAT {RESULT_NS}><CR><CodeCR>00</CodeCR></CR>"
            f"<INDIVIDU>{_ins_block()}{_tiq()}</INDIVIDU></RESULTAT>"
        )
    )
    assert isinstance(found, InsFound)
    assert (found.code, found.label, found.found) == (CrCode.FOUND, "", True)


def test_found_without_individu_says_so() -> None:
    with pytest.raises(MalformedResponse) as info:
        parse_answer(_answer(f"<RESULTAT {RESULT_NS}><CR><CodeCR>00</CodeCR></CR></RESULTAT>"))
    assert str(info.value) == "INSi CR 00 without INDIVIDU"


@pytest.mark.parametrize(
    ("block", "reason"),
    [
        (
            "<INSACTIF><IdIndividu><Cle>74</Cle></IdIndividu><OID>1.2.250.1.213.1.4.8</OID></INSACTIF>",
            "not an INS matricule: '' (0 characters); expected 13 characters",
        ),
        (
            "<INSACTIF><IdIndividu><NumIdentifiant>2751263220749</NumIdentifiant></IdIndividu>"
            "<OID>1.2.250.1.213.1.4.8</OID></INSACTIF>",
            "an INS key is exactly 2 digits, given 0 characters",
        ),
        (
            "<INSACTIF><IdIndividu><NumIdentifiant>2751263220749</NumIdentifiant><Cle>74</Cle>"
            "</IdIndividu></INSACTIF>",
            "unknown INS OID ''; expected one of 1.2.250.1.213.1.4.10, 1.2.250.1.213.1.4.11, "
            "1.2.250.1.213.1.4.8, 1.2.250.1.213.1.4.9",
        ),
    ],
    ids=["no-matricule", "no-key", "no-oid"],
)
def test_an_ins_without_one_of_its_parts_says_which(block: str, reason: str) -> None:
    with pytest.raises(MalformedResponse) as info:
        parse_answer(_found(block + _tiq()))
    assert str(info.value) == f"INSi returned an INS segurlink cannot read: {reason}"


def test_zeep_refusing_a_value_is_an_invalid_traits_error(messages: InsiMessages) -> None:
    # A query that bypassed TraitsQuery's checks: zeep's own error never reaches the caller.
    from types import SimpleNamespace

    query = SimpleNamespace(
        birth_name="ADRUN",
        first_name=["ZOE"],
        sex=SimpleNamespace(value="F"),
        birth_date="1975-12-31",
        birth_place=None,
    )
    with pytest.raises(InvalidTraits) as info:
        messages.search_by_traits(query)  # type: ignore[arg-type]
    assert info.value.field == "request"
    assert str(info.value) == (
        "cannot build the INSi request: The String type doesn't accept collections as value"
    )
    assert isinstance(info.value.__cause__, ValueError)
