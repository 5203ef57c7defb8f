"""Mock of the INSi teleservice (search of the INS by identity traits or Carte Vitale).

:class:`InsiMock` speaks the wire contract of the real service (SOAP 1.2 over mutual TLS,
one endpoint ``/lps``, two operations), validates what it receives against segurlink's
own XSDs (``schemas/insi/xsd``) and the value rules of the real service, and answers from
a registry of test persons (:data:`DEFAULT_PERSONS`: the qualification platform's test
persons plus a few of ours). It is an independent witness of the client: it shares the
schemas and the test PKI, never the code that builds or reads the client's messages.

Answers reproduce, person by person, the shape drift of the real service: envelope
prefixes (``soap:``/``S:``, ``env:``, ``soap:`` only), older answers with ``TIQ/Prenom``
and ``TypeMatricule``, ``DateDeb``/``DateFin`` before ``IdIndividu`` (ECETINSI), XML
comments inside the body (PROVISOIRE), ``INSHISTO`` repeating the active INS (CORSE,
HERMANN). Faults come in the two styles of the real faults in
``insi-contract/samples/FAULT_*.xml``: 2022 (``S:Fault`` in an ``env:Body``, subcode
``S:siram_40``, ``xml:lang="en"``, ``severite="fatal"``) and 2025 (``soap:Fault`` in an
``env:Body``, subcode ``soap:siram_100``, ``fr``, ``messageID``, ``severite="erreur"``
for an access refusal).

>>> with InsiMock(pki) as insi:                       # doctest: +SKIP
...     insi.inject("technical")
...     client.search(...)          # -> siram_40 / insi_102

Search rule (documented in docs/mocks.md): a person matches when birth name, sex and
birth date are equal, the *first* ``Prenom`` sent equals the person's *premier prénom*
(first element of ``ListePrenom``), and the birth place, when sent, is equal. 0 match ->
CR 01, 1 -> CR 00 with the person, more -> CR 02.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Unpack

from lxml import etree
from werkzeug.wrappers import Request, Response

from .._core.exchange import Exchange
from .._core.faults import HTTP_FAULTS, FaultCatalog
from .._core.installation import DEFAULT_IDAM
from .._core.routing import Route
from .._core.server import ServerOptions
from .._core.service import MockService

if TYPE_CHECKING:
    from ..pki import TestPki

__all__ = [
    "ACTION_CARTE_VITALE",
    "ACTION_TRAITS",
    "DEFAULT_IDAM",
    "DEFAULT_PERSONS",
    "FaultStyle",
    "InsRecord",
    "InsiMock",
    "InsiPerson",
    "ResponseShape",
    "find_by_carte_vitale",
    "find_by_traits",
]

# -- contract constants -------------------------------------------------------------------

SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
WSA_NS = "http://www.w3.org/2005/08/addressing"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
CTXLPS_NS = "urn:siram:lps:ctxlps"
CTXBAM_NS = "urn:siram:bam:ctxbam"
SIRAM_NS = "urn:siram"
RECSANS_NS = "http://www.cnamts.fr/INSiRecSans"
RECVIT_NS = "http://www.cnamts.fr/INSiRecVit"
RESULTAT_NS = "http://www.cnamts.fr/INSiResultat"

ACTION_TRAITS = "urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecTraitsIdentite"
ACTION_CARTE_VITALE = "urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecCarteVitale"
_BODY_OF_ACTION = {
    ACTION_TRAITS: f"{{{RECSANS_NS}}}RECSANSVITALE",
    ACTION_CARTE_VITALE: f"{{{RECVIT_NS}}}RECVITALE",
}

OID_INS_NIR = "1.2.250.1.213.1.4.8"
OID_INS_NIA = "1.2.250.1.213.1.4.9"
OID_INS_NIR_TEST = "1.2.250.1.213.1.4.10"

ALLOWED_CERTIFICATE_CNS = frozenset({"INSI-AUTO", "INSI-MANU"})

_CR_LABELS = {"00": "OK", "01": "Aucune identite trouvee", "02": "Plusieurs identites trouvees"}

# The project's XSDs, one per namespace (they import nothing).
_SCHEMA_FILES = (
    "INSiRecSans.xsd",
    "INSiRecVit.xsd",
    "INSiResultat.xsd",
    "ctxlps.xsd",
    "ctxbam.xsd",
    "siram.xsd",
    "ws-addressing.xsd",
    "wsse.xsd",
)

FaultStyle = Literal["2022", "2025", "alternate"]

# -- persons ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InsRecord:
    """One INS matricule as the service returns it (``INSACTIF`` or ``INSHISTO``)."""

    matricule: str  # 13 characters (NIR or NIA)
    key: str  # 2 digits, served as given (even when it fails the mod 97 check)
    oid: str = OID_INS_NIR
    start: str | None = None  # DateDeb
    end: str | None = None  # DateFin


@dataclass(frozen=True, slots=True)
class ResponseShape:
    """How the answer about one person is written (the drift seen in real answers).

    ``envelope``: ``"soap+S"`` (``soap:Envelope`` + ``S:Body``, as in the platform's
    samples), ``"env"`` (``env:`` throughout) or ``"soap"`` (``soap:`` throughout).
    """

    envelope: Literal["soap+S", "env", "soap"] = "soap+S"
    pretty: bool = False
    with_prenom: bool = False  # older answers: TIQ/Prenom
    with_type_matricule: bool = False  # older answers: IdIndividu/TypeMatricule
    dates_before_id: bool = False  # DateDeb/DateFin before IdIndividu (TEST_2.04 cas 2)
    comments: bool = False  # XML comments inside the body (TEST_2.05)


@dataclass(frozen=True, slots=True)
class InsiPerson:
    """A person of the mock's reference base.

    ``first_names`` are the birth first names in order (``ListePrenom``; the first one is
    the *premier prénom*). ``ins=None`` is a person the service never finds (CR 01).
    """

    birth_name: str
    first_names: tuple[str, ...]
    sex: Literal["M", "F"]
    birth_date: str
    birth_place: str = ""  # INSEE COG, "" when unknown
    ins: InsRecord | None = None
    history: tuple[InsRecord, ...] = ()
    shape: ResponseShape = field(default_factory=ResponseShape)
    note: str = ""

    @property
    def first_name(self) -> str:
        """The *premier prénom* (first birth first name)."""
        return self.first_names[0] if self.first_names else ""


def _ins(matricule: str, key: str, oid: str = OID_INS_NIR, **dates: str) -> InsRecord:
    return InsRecord(matricule, key, oid, dates.get("start"), dates.get("end"))


_COMPACT = ResponseShape()
_OLDER = ResponseShape(pretty=True, with_prenom=True)

#: The built-in reference base: the qualification platform's test persons (spec table),
#: then persons of our own for edge cases.
DEFAULT_PERSONS: tuple[InsiPerson, ...] = (
    InsiPerson(
        "ADRUN",
        ("ZOE",),
        "F",
        "1975-12-31",
        "63220",
        _ins("2751263220749", "74"),
        shape=_COMPACT,
    ),
    InsiPerson(
        "ADRTROIS",
        ("DOMINIQUE",),
        "F",
        "1997-02-26",
        "2A020",
        _ins("297022A020778", "78"),
        shape=_COMPACT,
        note="Corsica (2A)",
    ),
    InsiPerson(
        "ADRTROIS",
        ("TOUSSAINT",),
        "M",
        "1960-01-01",
        "2B020",
        _ins("160012B020777", "13"),
        shape=ResponseShape(envelope="env", pretty=True),
        note="Corsica (2B)",
    ),
    InsiPerson(
        "ECETINSI",
        ("PIERRE-ALAIN", "MURIEL", "FLORIANT"),
        "M",
        "2009-07-14",
        "63220",
        _ins("1090763220834", "89"),
        history=(
            _ins("2090763220834", "39", start="2009-07-20", end="2019-02-28"),
            _ins("2090663220123", "55"),
        ),
        shape=ResponseShape(dates_before_id=True),
        note="history; DateDeb/DateFin before IdIndividu",
    ),
    InsiPerson(
        "TCHITCHI",
        ("CATARINA", "BELLA"),
        "F",
        "1936-06-21",
        "63220",
        _ins("2360663220836", "56"),
        shape=ResponseShape(envelope="soap", pretty=True),
        note="OLA -> 01, CATARINA -> 00",
    ),
    InsiPerson(
        "DE VINCI",
        ("LEONARDO",),
        "M",
        "2014-02-01",
        "75056",
        _ins("1140275056123", "27"),
        shape=ResponseShape(envelope="env"),
        note="homonym: CR 02 without birth place",
    ),
    InsiPerson(
        "DE VINCI",
        ("LEONARDO",),
        "M",
        "2014-02-01",
        "13055",
        _ins("1140213055045", "63"),
        shape=ResponseShape(envelope="env"),
        note="homonym: CR 02 without birth place",
    ),
    InsiPerson(
        "HOUILLES",
        ("PIERRE", "PAUL", "JACQUES"),
        "M",
        "1993-01-27",
        note="never found: CR 01 for every first name",
    ),
    InsiPerson(
        "NESSI",
        ("MICHELANGELO", "ANTHONY"),
        "M",
        "2010-08-07",
        "63220",
        _ins("1100863220830", "60"),
        shape=_OLDER,
    ),
    InsiPerson(
        "CORSE",
        ("ANTHONY",),
        "M",
        "1980-03-02",
        "2B020",
        _ins("180032B020401", "23"),
        history=(_ins("180032B020401", "23"),),
        shape=_OLDER,
        note="INSHISTO repeats the active INS",
    ),
    InsiPerson(
        "PROVISOIRE",
        ("MATRICULE",),
        "M",
        "2009-07-01",
        "63220",
        _ins("1090763220888", "35", OID_INS_NIA),
        shape=ResponseShape(pretty=True, with_prenom=True, comments=True),
        note="NIA (OID .9); comments in the body",
    ),
    InsiPerson(
        "HERMANN",
        ("GATIEN",),
        "M",
        "1981-03-24",
        "63220",
        _ins("1810363220456", "60"),
        history=(_ins("1810363220456", "60"), _ins("2810363220456", "10")),
        shape=_OLDER,
        note="keys fail mod 97: served as given; INSHISTO repeats the active INS",
    ),
    # -- ours --------------------------------------------------------------------------
    InsiPerson(
        "ALAOUI",
        ("YOUSSEF", "KARIM"),
        "M",
        "1950-00-00",
        "99350",
        _ins("1502099350017", "53", OID_INS_NIR_TEST),
        note="lunar birth date, born abroad (Maroc)",
    ),
    InsiPerson(
        "D'ARTAGNAN",
        ("CHARLES", "OGIER"),
        "M",
        "1961-11-08",
        "64445",
        _ins("1611164445031", "70", OID_INS_NIR_TEST),
        shape=ResponseShape(envelope="env"),
        note="apostrophe in the birth name",
    ),
    InsiPerson(
        "MARTIN--DURAND",
        ("ELISE", "MARIE-CLAIRE"),
        "F",
        "1988-05-17",
        "69123",
        _ins("2880569123402", "92", OID_INS_NIR_TEST),
        shape=ResponseShape(envelope="soap"),
        note="double hyphen in the birth name",
    ),
    InsiPerson(
        "ANCIEN",
        ("MARCEL", "HENRI"),
        "M",
        "1931-04-02",
        "63113",
        _ins("1310463113008", "89", start="1931-04-02"),
        shape=ResponseShape(
            envelope="env", pretty=True, with_prenom=True, with_type_matricule=True
        ),
        note="older answer shape: Prenom, TypeMatricule, DateDeb on INSACTIF",
    ),
    InsiPerson(
        "LE GOFF",
        ("YANN", "PIERRE"),
        "M",
        "1972-09-30",
        "29019",
        _ins("1720929019077", "83"),
        history=(_ins("1720929019066", "94", start="1972-10-15", end="2005-06-30"),),
        note="blank in the birth name; history with dates after OID",
    ),
    InsiPerson(
        "N'DIAYE",
        ("JEAN-BAPTISTE", "MAMADOU"),
        "M",
        "2001-12-25",
        "99341",
        _ins("1011299341005", "86", OID_INS_NIR_TEST),
        shape=ResponseShape(pretty=True),
        note="compound premier prénom: JEAN alone -> 01",
    ),
)


# -- search (pure) ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _TraitsQuery:
    birth_name: str
    first_name: str
    sex: str
    birth_date: str
    birth_place: str | None


@dataclass(frozen=True, slots=True)
class _VitaleQuery:
    matricule: str
    key: str
    birth_date: str
    birth_name: str | None


def find_by_traits(
    persons: Iterable[InsiPerson],
    *,
    birth_name: str,
    first_name: str,
    sex: str,
    birth_date: str,
    birth_place: str | None = None,
) -> list[InsiPerson]:
    """Persons matched by a search with traits (the mock's rule, see the module doc)."""
    return [
        p
        for p in persons
        if p.ins is not None
        and p.birth_name == birth_name
        and p.first_name == first_name
        and p.sex == sex
        and p.birth_date == birth_date
        and (birth_place is None or p.birth_place == birth_place)
    ]


def find_by_carte_vitale(
    persons: Iterable[InsiPerson],
    *,
    matricule: str,
    key: str,
    birth_date: str,
    birth_name: str | None = None,
) -> list[InsiPerson]:
    """Persons whose active or historical matricule (and key) is the card's, same birth date."""
    return [
        p
        for p in persons
        if p.ins is not None
        and any(r.matricule == matricule and r.key == key for r in (p.ins, *p.history))
        and p.birth_date == birth_date
        and (birth_name is None or p.birth_name == birth_name)
    ]


# -- faults -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Fault:
    code: str  # Sender | Receiver | VersionMismatch | MustUnderstand
    subcode: str | None  # "siram_40" or "wsa:ActionNotSupported"
    reason: str
    detail_code: str
    detail_text: str
    # siram severity: the real access refusal (desir_550) is "erreur", the real technical
    # error (insi_102) "fatal(e)". Unavailability is read as fatal like insi_102 (assumption).
    severity: Literal["erreur", "fatale"] = "erreur"


class _Refused(Exception):
    def __init__(self, fault: _Fault) -> None:
        super().__init__(fault.detail_text)
        self.fault = fault


_REASON_UNAVAILABLE = (
    "Le service est temporairement inaccessible. Veuillez renouveler votre demande "
    "ultérieurement. Si le problème persiste, contactez l'éditeur du progiciel ou votre "
    "responsable informatique."
)
_REASON_ACCESS = (
    "L'accès par ce progiciel au service n'est pas autorisé. Contactez l'éditeur du "
    "progiciel ou votre responsable informatique."
)
_REASON_INVALID = (
    "La requête transmise au service est invalide. Contactez l'éditeur du progiciel ou "
    "votre responsable informatique."
)


def _unavailable() -> _Fault:
    return _Fault(
        "Receiver",
        "siram_40",
        _REASON_UNAVAILABLE,
        "desir_1020",
        "Le service est temporairement indisponible.",
        "fatale",
    )


def _technical(action: str | None) -> _Fault:
    what = "la carte Vitale" if action == ACTION_CARTE_VITALE else "les traits d'identité"
    return _Fault(
        "Receiver",
        "siram_40",
        _REASON_UNAVAILABLE,
        "insi_102",
        f"L'appel au service de recherche avec {what} renvoie une erreur technique.",
        "fatale",
    )


def _unknown_idam() -> _Fault:
    return _Fault(
        "Sender",
        "siram_100",
        _REASON_ACCESS,
        "desir_550",
        "Numéro d'autorisation du logiciel inconnu.",
    )


def _access_level() -> _Fault:
    # The real text of a wrong certificate level (specs/insi.md).
    return _Fault(
        "Sender",
        "siram_100",
        _REASON_ACCESS,
        "DESIR_560",
        "Vous ne disposez pas des droits suffisants pour accéder à ce service",
    )


def _missing_context(label: str) -> _Fault:
    # The acceptance rule groups a missing ContexteLPS / ContexteBAM with an unknown IDAM:
    # without its context the software cannot be identified (siram_100 / desir_550).
    return _Fault(
        "Sender",
        "siram_100",
        _REASON_ACCESS,
        "desir_550",
        f"Contexte d'appel absent : en-tête {label} absent, logiciel non identifié.",
    )


def _bad_context(problem: str) -> _Fault:
    # Assumption (not in the official material): code desir_510 for a missing or invalid
    # SIRAM context header.
    return _Fault(
        "Sender",
        "siram_100",
        _REASON_ACCESS,
        "desir_510",
        f"Contexte d'appel absent ou invalide : {problem}",
    )


def _invalid(problem: str, subcode: str | None = "siram_20", code: str = "Sender") -> _Fault:
    # Assumption: subcode siram_20 and detail code insi_101 for a request the service
    # cannot read (not XML, schema-invalid, traits breaking the INSi character rules).
    return _Fault(code, subcode, _REASON_INVALID, "insi_101", f"Requête invalide : {problem}")


def render_fault(fault: _Fault, style: Literal["2022", "2025"], message_id: str = "") -> bytes:
    """A SOAP 1.2 fault written like the real ones of that year (``samples/FAULT_*.xml``).

    Both styles put an ``env:Body`` (declared on itself) under a ``soap:Envelope`` and
    write the siram subcode with the fault's own SOAP prefix (``S:siram_40``,
    ``soap:siram_100``: a QName in the SOAP namespace, as served). 2022: ``S:Fault``
    declaring ``ns4`` (SOAP 1.1), ``xml:lang="en"`` on a French text, ``severite`` then
    ``code``, ``fatal`` (sic, outside the siram enumeration) for a fatal fault, no
    ``messageID``. 2025: ``soap:Fault``, ``xml:lang="fr"``, ``code``, ``messageID`` (the
    request's ``wsa:MessageID``) then ``severite`` (``fatale`` or ``erreur``).
    """
    if style == "2022":
        p, lang = "S", "en"
        severity = "fatal" if fault.severity == "fatale" else fault.severity
        body = f'<env:Body xmlns:S="{SOAP12_NS}" xmlns:env="{SOAP12_NS}">'
        fault_open = f'<S:Fault xmlns:ns4="{SOAP11_NS}">'
        attributes = f'severite="{severity}" code="{_esc(fault.detail_code)}"'
    else:
        p, lang = "soap", "fr"
        body = f'<env:Body xmlns:env="{SOAP12_NS}">'
        fault_open = "<soap:Fault>"
        attributes = f'code="{_esc(fault.detail_code)}"'
        if message_id:
            attributes += f' messageID="{_esc(message_id)}"'
        attributes += f' severite="{fault.severity}"'
    code = f"<{p}:Code><{p}:Value>{p}:{fault.code}</{p}:Value>"
    if fault.subcode is not None:
        if fault.subcode.startswith("wsa:"):
            subcode_value = f' xmlns:wsa="{WSA_NS}">{fault.subcode}'
        else:
            subcode_value = f">{p}:{fault.subcode}"
        code += f"<{p}:Subcode><{p}:Value{subcode_value}</{p}:Value></{p}:Subcode>"
    code += f"</{p}:Code>"
    reason = f'<{p}:Reason><{p}:Text xml:lang="{lang}">{_esc(fault.reason)}</{p}:Text></{p}:Reason>'
    detail = (
        f'<{p}:Detail><siram:Erreur {attributes} xmlns:siram="{SIRAM_NS}">'
        f"{_esc(fault.detail_text)}</siram:Erreur></{p}:Detail>"
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<soap:Envelope xmlns:soap="{SOAP12_NS}">{body}{fault_open}'
        f"{code}{reason}{detail}</{p}:Fault></env:Body></soap:Envelope>"
    ).encode()


def _esc(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


# -- answers ------------------------------------------------------------------------------


def render_result(
    cr: str,
    person: InsiPerson | None = None,
    *,
    shape: ResponseShape | None = None,
    header_action: str | None = None,
    relates_to: str = "",
) -> bytes:
    """The SOAP envelope carrying ``RESULTAT`` for CR ``cr`` (and ``person`` for CR 00).

    ``header_action`` adds a ``wsa:Action`` header (used by the ``wrong_action`` fault).
    """
    shape = shape or (person.shape if person is not None else ResponseShape())
    if shape.envelope == "soap+S":
        envelope = etree.Element(f"{{{SOAP12_NS}}}Envelope", nsmap={"soap": SOAP12_NS})
        body_nsmap: dict[str, str] = {"S": SOAP12_NS}
    else:
        envelope = etree.Element(f"{{{SOAP12_NS}}}Envelope", nsmap={shape.envelope: SOAP12_NS})
        body_nsmap = {}
    if header_action is not None:
        header = etree.SubElement(envelope, f"{{{SOAP12_NS}}}Header")
        action = etree.SubElement(header, f"{{{WSA_NS}}}Action", nsmap={"wsa": WSA_NS})
        action.text = header_action
        if relates_to:
            etree.SubElement(header, f"{{{WSA_NS}}}RelatesTo").text = relates_to
    body = etree.SubElement(envelope, f"{{{SOAP12_NS}}}Body", nsmap=body_nsmap or None)
    # RESULTAT in the default namespace, with the two request namespaces declared, as served.
    result_nsmap: dict[Any, str] = {"ns3": RECVIT_NS, "ns2": RECSANS_NS, None: RESULTAT_NS}
    result = etree.Element(f"{{{RESULTAT_NS}}}RESULTAT", nsmap=result_nsmap)
    body.append(result)

    def sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
        element = etree.SubElement(parent, f"{{{RESULTAT_NS}}}{tag}")
        if text is not None:
            element.text = text
        return element

    report = sub(result, "CR")
    sub(report, "CodeCR", cr)
    sub(report, "LibelleCR", _CR_LABELS[cr])
    if person is not None and person.ins is not None:
        individual = sub(result, "INDIVIDU")
        if shape.comments:
            individual.append(etree.Comment(" identite de test du mock segurlink "))
        _append_ins(individual, "INSACTIF", person.ins, shape, sub)
        for record in person.history:
            _append_ins(individual, "INSHISTO", record, shape, sub)
        traits = sub(individual, "TIQ")
        sub(traits, "NomNaissance", person.birth_name)
        if shape.with_prenom:
            sub(traits, "Prenom", person.first_name)
        sub(traits, "ListePrenom", " ".join(person.first_names))
        sub(traits, "Sexe", person.sex)
        sub(traits, "DateNaissance", person.birth_date)
        if person.birth_place:
            sub(traits, "LieuNaissance", person.birth_place)
    if shape.pretty:
        etree.indent(envelope, space="\t")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(
        envelope, encoding="UTF-8", xml_declaration=False
    )


def _append_ins(
    parent: etree._Element,
    tag: str,
    record: InsRecord,
    shape: ResponseShape,
    sub: _Sub,
) -> None:
    element = sub(parent, tag)
    dates = [(name, value) for name, value in (("DateDeb", record.start), ("DateFin", record.end))]

    def add_dates() -> None:
        for name, value in dates:
            if value is not None:
                sub(element, name, value)

    if shape.dates_before_id:
        add_dates()
    identifier = sub(element, "IdIndividu")
    sub(identifier, "NumIdentifiant", record.matricule)
    sub(identifier, "Cle", record.key)
    if shape.with_type_matricule:
        sub(identifier, "TypeMatricule", "NIA" if record.oid == OID_INS_NIA else "NIR")
    sub(element, "OID", record.oid)
    if shape.comments and record.oid == OID_INS_NIA:
        element.append(etree.Comment(" OID NIA "))
    if not shape.dates_before_id:
        add_dates()


if TYPE_CHECKING:
    from typing import Protocol

    class _Sub(Protocol):
        def __call__(
            self, parent: etree._Element, tag: str, text: str | None = None
        ) -> etree._Element: ...


# -- request checks (pure helpers) --------------------------------------------------------

_UUID_RE = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_COG_RE = re.compile(r"(?:\d{2}|2[AB])\d{3}")
_NAME_CHARS_RE = re.compile(r"[A-Z' -]+")
_BAD_SEPARATORS_RE = re.compile(r"  |''|---|[ '][ '-]|-[ ']")
_MATRICULE_RE = re.compile(r"\d{6}[0-9AB]\d{6}")
_MAX_NAME = 100


def _name_problem(label: str, value: str, *, birth_name: bool) -> str | None:
    if not value:
        return f"{label} est vide"
    if len(value) > _MAX_NAME:
        return f"{label} dépasse {_MAX_NAME} caractères"
    if not _NAME_CHARS_RE.fullmatch(value):
        return f"{label} contient des caractères non autorisés (A-Z, espace, apostrophe, tiret)"
    if not (value[0].isalpha() and value[-1].isalpha()):
        return f"{label} doit commencer et finir par une lettre"
    if _BAD_SEPARATORS_RE.search(value) or ("--" in value and not birth_name):
        return f"{label} contient des séparateurs doublés ou mal placés"
    return None


def _date_problem(label: str, value: str) -> str | None:
    match = _DATE_RE.fullmatch(value)
    if match is None:
        return f"{label} doit être au format AAAA-MM-JJ"
    year, month, day = (int(g) for g in match.groups())
    if year == 0 or month > 12 or day > 31:
        return f"{label} n'est pas une date valide"
    if month and day:  # month or day 00: "lunar" date, allowed
        try:
            dt.date(year, month, day)
        except ValueError:
            return f"{label} n'est pas une date valide"
    return None


def _utc_problem(label: str, value: str) -> str | None:
    if not (value.endswith("Z") or value.endswith("+00:00")):
        return f"{label} doit être en UTC"
    return None


def _text(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    return (element.text or "").strip()


# -- the mock -----------------------------------------------------------------------------


class InsiMock(MockService):
    """The INSi mock server; the service is at :attr:`endpoint` (``<url>/lps``).

    ``persons`` is the reference base (default :data:`DEFAULT_PERSONS`), a list tests may
    extend with :meth:`add_person`; :meth:`reset` restores it. ``known_idams`` are the
    accepted ``ContexteLPS/LPS/IDAM`` values. ``fault_style`` chooses how faults are
    written: ``"2022"``, ``"2025"``, or ``"alternate"`` (2022, 2025, 2022... from the
    last reset) so that clients meet both.

    Service faults for :meth:`inject`: ``unavailable`` (siram_40 + desir_1020),
    ``technical`` (siram_40 + insi_102), ``wrong_action`` (a correct answer carrying the
    other operation's action).
    """

    name: ClassVar[str] = "insi"
    fault_catalog: ClassVar[FaultCatalog] = HTTP_FAULTS.with_service(
        "unavailable", "technical", "wrong_action"
    )
    path: ClassVar[str] = "/lps"

    def __init__(
        self,
        pki: TestPki,
        *,
        known_idams: Iterable[str] = (DEFAULT_IDAM,),
        persons: Sequence[InsiPerson] | None = None,
        fault_style: FaultStyle = "alternate",
        schema_dir: Path | None = None,
        **options: Unpack[ServerOptions],
    ) -> None:
        super().__init__(pki, **options)  # mutual TLS: the certificate is the credential
        if fault_style not in ("2022", "2025", "alternate"):
            raise ValueError(f"fault_style must be 2022, 2025 or alternate, not {fault_style!r}")
        self.fault_style: FaultStyle = fault_style
        self._initial_fault_style: FaultStyle = fault_style
        self._initial_idams = frozenset(known_idams)
        self._initial_persons = tuple(DEFAULT_PERSONS if persons is None else persons)
        self.known_idams: set[str] = set(self._initial_idams)
        self.persons: list[InsiPerson] = list(self._initial_persons)
        self._faults_served = 0
        self._faults_served_lock = threading.Lock()
        self._schemas = _load_schemas(schema_dir)
        # lxml validators keep their error log on the object: one validation at a time.
        self._schema_lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        """The service URL, e.g. ``https://127.0.0.1:43127/lps``."""
        return self.url + self.path

    def add_person(self, person: InsiPerson) -> None:
        """Add a person to the reference base (until :meth:`reset`)."""
        self.persons.append(person)

    def reset(self) -> None:
        """No fault, empty log; initial persons, IDAMs and fault style (alternation at 2022)."""
        super().reset()
        self.persons[:] = self._initial_persons
        self.known_idams.clear()
        self.known_idams.update(self._initial_idams)
        self.fault_style = self._initial_fault_style
        with self._faults_served_lock:
            self._faults_served = 0

    # -- request handling ----------------------------------------------------------------

    def routes(self) -> list[Route]:
        return [Route(self.path, "lps", self._search, methods=("POST",))]

    def _search(self, request: Request, exchange: Exchange) -> Response:
        if request.mimetype != "application/soap+xml":
            return _unsupported_media(request.content_type or "(none)")
        charset = request.mimetype_params.get("charset", "")
        if charset.lower() != "utf-8":
            return _unsupported_media(request.content_type or "(none)")
        http_action = request.mimetype_params.get("action")
        exchange.details["http_action"] = http_action or ""

        from segurlink._xml import parse_xml
        from segurlink.errors import MalformedResponse, XmlSecurityError

        root: etree._Element | None = None
        parse_problem = ""
        try:
            root = parse_xml(request.get_data(), what="la requête")
        except XmlSecurityError:
            parse_problem = "le document déclare un DOCTYPE, ce qui est interdit"
        except MalformedResponse:
            parse_problem = "le document n'est pas du XML bien formé"
        message_id = _message_id(root)
        if message_id:
            exchange.details["message_id"] = message_id
        wsa_action = _wsa_action(root)
        if exchange.has_fault("unavailable"):
            return self._fault(_unavailable(), message_id, exchange)
        if exchange.has_fault("technical"):
            return self._fault(_technical(wsa_action or http_action), message_id, exchange)
        try:
            if root is None:
                raise _Refused(_invalid(parse_problem))
            return self._process(root, http_action, exchange)
        except _Refused as refused:
            return self._fault(refused.fault, message_id, exchange)

    def _process(
        self, envelope: etree._Element, http_action: str | None, exchange: Exchange
    ) -> Response:
        if envelope.tag == f"{{{SOAP11_NS}}}Envelope":
            raise _Refused(
                _invalid("enveloppe SOAP 1.1 reçue, SOAP 1.2 attendu", None, "VersionMismatch")
            )
        if envelope.tag != f"{{{SOAP12_NS}}}Envelope":
            raise _Refused(_invalid("l'élément racine n'est pas une enveloppe SOAP 1.2"))
        header, body = _envelope_parts(envelope)
        headers = _header_map(header)
        self._check_must_understand(header)

        # Certificate mode: the TLS client certificate is the caller's credential.
        peer = exchange.client
        if peer is None or peer.cn not in ALLOWED_CERTIFICATE_CNS:
            raise _Refused(_access_level())

        action = self._check_addressing(headers, http_action)
        operation = action.rsplit(":", 1)[-1]
        exchange.details["operation"] = operation

        card_mode = f"{{{WSSE_NS}}}Security" in headers
        lps = self._single(headers, f"{{{CTXLPS_NS}}}ContexteLPS", "ContexteLPS")
        bam = self._single(headers, f"{{{CTXBAM_NS}}}ContexteBAM", "ContexteBAM")
        # Emetteur is not checked against the certificate: the real qualification platform
        # answers CR 00 to an e-mail address there (specs/insi.md).
        self._check_lps(lps)
        self._check_bam(bam)
        idam = _text(lps.find(f"{{{CTXLPS_NS}}}LPS/{{{CTXLPS_NS}}}IDAM")) or ""
        exchange.details["idam"] = idam
        if idam not in self.known_idams:
            raise _Refused(_unknown_idam())
        if card_mode:  # the assertion itself is not checked: the mock serves certificate mode
            self._validate(headers[f"{{{WSSE_NS}}}Security"][0], "wsse:Security", _invalid)

        expected_body = _BODY_OF_ACTION[action]
        children = [c for c in body if isinstance(c.tag, str)]
        if len(children) != 1:
            raise _Refused(_invalid("le corps SOAP doit contenir exactement un élément"))
        request_element = children[0]
        if request_element.tag != expected_body:
            raise _Refused(
                _invalid(
                    f"le corps {etree.QName(request_element).localname} ne correspond pas "
                    f"à l'action {operation}"
                )
            )
        self._validate(request_element, etree.QName(request_element).localname, _invalid)
        persons = list(self.persons)
        if action == ACTION_TRAITS:
            traits = _traits_query(request_element)
            found = find_by_traits(
                persons,
                birth_name=traits.birth_name,
                first_name=traits.first_name,
                sex=traits.sex,
                birth_date=traits.birth_date,
                birth_place=traits.birth_place,
            )
        else:
            card = _vitale_query(request_element)
            found = find_by_carte_vitale(
                persons,
                matricule=card.matricule,
                key=card.key,
                birth_date=card.birth_date,
                birth_name=card.birth_name,
            )
        cr = "00" if len(found) == 1 else "01" if not found else "02"
        exchange.details["cr"] = cr
        response_action = action + "Response"
        header_action = None
        if exchange.has_fault("wrong_action"):
            other = ACTION_CARTE_VITALE if action == ACTION_TRAITS else ACTION_TRAITS
            response_action = header_action = other + "Response"
        data = render_result(
            cr,
            found[0] if cr == "00" else None,
            header_action=header_action,
            relates_to=exchange.details.get("message_id", ""),
        )
        return Response(
            data,
            status=200,
            content_type=f'application/soap+xml; charset=utf-8; action="{response_action}"',
        )

    # -- checks --------------------------------------------------------------------------

    def _check_must_understand(self, header: etree._Element | None) -> None:
        if header is None:
            return
        understood = {WSA_NS, WSSE_NS, CTXLPS_NS, CTXBAM_NS}
        for child in header:
            if not isinstance(child.tag, str):
                continue
            flag = child.get(f"{{{SOAP12_NS}}}mustUnderstand", "false").strip()
            if flag in ("true", "1") and etree.QName(child).namespace not in understood:
                raise _Refused(
                    _invalid(
                        f"en-tête {etree.QName(child).localname} non compris (mustUnderstand)",
                        None,
                        "MustUnderstand",
                    )
                )

    def _check_addressing(
        self, headers: dict[str, list[etree._Element]], http_action: str | None
    ) -> str:
        for local in ("Action", "MessageID"):
            found = headers.get(f"{{{WSA_NS}}}{local}", [])
            if not found:
                raise _Refused(
                    _invalid(f"en-tête wsa:{local} absent", "wsa:MessageAddressingHeaderRequired")
                )
            if len(found) > 1:
                raise _Refused(
                    _invalid(f"en-tête wsa:{local} en double", "wsa:InvalidAddressingHeader")
                )
            self._validate(
                found[0],
                f"wsa:{local}",
                lambda p: _invalid(p, "wsa:InvalidAddressingHeader"),
            )
        message_id = _text(headers[f"{{{WSA_NS}}}MessageID"][0]) or ""
        if not (message_id.startswith("uuid:") and _UUID_RE.fullmatch(message_id[5:])):
            raise _Refused(
                _invalid(
                    "wsa:MessageID doit être de la forme uuid:<UUID>", "wsa:InvalidAddressingHeader"
                )
            )
        action = _text(headers[f"{{{WSA_NS}}}Action"][0]) or ""
        if action not in _BODY_OF_ACTION:
            raise _Refused(_invalid(f"action inconnue {action!r}", "wsa:ActionNotSupported"))
        if http_action is not None and http_action != action:
            raise _Refused(
                _invalid(
                    "l'action du Content-Type ne correspond pas à wsa:Action", "wsa:ActionMismatch"
                )
            )
        return action

    def _single(
        self, headers: dict[str, list[etree._Element]], tag: str, label: str
    ) -> etree._Element:
        found = headers.get(tag, [])
        if not found:
            raise _Refused(_missing_context(label))
        if len(found) > 1:
            raise _Refused(_bad_context(f"en-tête {label} en double"))
        self._validate(found[0], label, _bad_context)
        return found[0]

    def _check_lps(self, lps: etree._Element) -> None:
        def child(path: str) -> str | None:
            return _text(lps.find("/".join(f"{{{CTXLPS_NS}}}{p}" for p in path.split("/"))))

        problem = (
            _attr_problem(lps, "Nature", "CTXLPS", "ContexteLPS")
            or _attr_problem(lps, "Version", "01_00", "ContexteLPS")
            or _uuid_problem("ContexteLPS/Id", child("Id"))
            or _utc_problem("ContexteLPS/Temps", child("Temps") or "")
        )
        if problem is None:
            software = lps.find(f"{{{CTXLPS_NS}}}LPS")
            if software is None:
                problem = "ContexteLPS/LPS absent"
            else:
                idam = software.find(f"{{{CTXLPS_NS}}}IDAM")
                version = child("LPS/Version") or ""
                name = child("LPS/Nom") or ""
                if idam is not None and idam.get("R") != "4":
                    problem = 'ContexteLPS/LPS/IDAM doit porter R="4"'
                elif not version:
                    problem = "ContexteLPS/LPS/Version absent"
                else:
                    problem = _uuid_problem("ContexteLPS/LPS/Instance", child("LPS/Instance"))
                    if problem is None and not (
                        re.fullmatch(r"urn:lps:[^:]+:.+", name) and name.endswith(":" + version)
                    ):
                        problem = "ContexteLPS/LPS/Nom doit valoir urn:lps:<nom>:<version>"
        if problem is not None:
            raise _Refused(_bad_context(problem))

    def _check_bam(self, bam: etree._Element) -> None:
        def child(local: str) -> str | None:
            return _text(bam.find(f"{{{CTXBAM_NS}}}{local}"))

        problem = (
            _attr_problem(bam, "Version", "01_02", "ContexteBAM")
            or _uuid_problem("ContexteBAM/Id", child("Id"))
            or _utc_problem("ContexteBAM/Temps", child("Temps") or "")
        )
        if problem is not None:
            raise _Refused(_bad_context(problem))

    def _validate(self, element: etree._Element, label: str, refusal: _RefusalFactory) -> None:
        namespace = etree.QName(element).namespace or ""
        schema = self._schemas.get(namespace)
        if schema is None:  # pragma: no cover - every checked element has its schema
            raise RuntimeError(f"no schema for namespace {namespace}")
        document = copy.deepcopy(element)
        with self._schema_lock:
            valid = schema.validate(document)
            error: Any = getattr(schema.error_log, "last_error", None)
        if not valid:
            message = str(error.message) if error is not None else "invalide"
            raise _Refused(refusal(f"{label} ne respecte pas le schéma : {message}"))

    # -- fault rendering -----------------------------------------------------------------

    def payload_too_large(self, request: Request, limit: int) -> Response:
        fault = _invalid(f"le message dépasse {limit} octets")
        body = render_fault(fault, "2025" if self.fault_style == "2025" else "2022")
        return Response(body, status=413, content_type="application/soap+xml; charset=utf-8")

    def _fault(self, fault: _Fault, message_id: str, exchange: Exchange) -> Response:
        with self._faults_served_lock:
            served = self._faults_served
            if exchange.is_current():  # a late request of an earlier test: no count
                self._faults_served += 1
        if self.fault_style == "alternate":
            style: Literal["2022", "2025"] = "2022" if served % 2 == 0 else "2025"
        else:
            style = self.fault_style
        exchange.details["fault_subcode"] = fault.subcode or fault.code
        exchange.details["fault_detail"] = fault.detail_code
        exchange.details["fault_style"] = style
        return Response(
            render_fault(fault, style, message_id),
            status=500,
            content_type="application/soap+xml; charset=utf-8",
        )


if TYPE_CHECKING:
    from collections.abc import Callable

    _RefusalFactory = Callable[[str], _Fault]


def _load_schemas(schema_dir: Path | None) -> dict[str, etree.XMLSchema]:
    from segurlink._resources import schemas_dir
    from segurlink._xml import parse_xml

    directory = schema_dir or schemas_dir() / "insi" / "xsd"
    schemas: dict[str, etree.XMLSchema] = {}
    for name in _SCHEMA_FILES:
        path = directory / name
        root = parse_xml(path.read_bytes(), what=str(path))
        schemas[root.get("targetNamespace", "")] = etree.XMLSchema(root)
    return schemas


def _unsupported_media(content_type: str) -> Response:
    return Response(
        f"Unsupported Content-Type: {content_type} "
        "Supported ones are: [application/soap+xml; charset=utf-8]\n",
        status=415,
        content_type="text/plain; charset=utf-8",
    )


def _envelope_parts(
    envelope: etree._Element,
) -> tuple[etree._Element | None, etree._Element]:
    children = [c for c in envelope if isinstance(c.tag, str)]
    header = None
    if children and children[0].tag == f"{{{SOAP12_NS}}}Header":
        header = children.pop(0)
    if len(children) != 1 or children[0].tag != f"{{{SOAP12_NS}}}Body":
        raise _Refused(_invalid("l'enveloppe doit contenir un Header facultatif puis un Body"))
    return header, children[0]


def _header_map(header: etree._Element | None) -> dict[str, list[etree._Element]]:
    headers: dict[str, list[etree._Element]] = {}
    if header is not None:
        for child in header:
            if isinstance(child.tag, str):
                headers.setdefault(child.tag, []).append(child)
    return headers


def _header_text(root: etree._Element | None, tag: str) -> str:
    if root is None:
        return ""
    found = root.find(f"{{{SOAP12_NS}}}Header/{tag}")
    return (_text(found) or "") if found is not None else ""


def _message_id(root: etree._Element | None) -> str:
    return _header_text(root, f"{{{WSA_NS}}}MessageID")[:200]


def _wsa_action(root: etree._Element | None) -> str:
    return _header_text(root, f"{{{WSA_NS}}}Action")


def _attr_problem(element: etree._Element, name: str, expected: str, label: str) -> str | None:
    if element.get(name) != expected:
        return f'{label} doit porter {name}="{expected}"'
    return None


def _uuid_problem(label: str, value: str | None) -> str | None:
    if not value or not _UUID_RE.fullmatch(value):
        return f"{label} doit être un UUID"
    return None


def _traits_query(element: etree._Element) -> _TraitsQuery:
    def values(local: str) -> list[str]:
        return [(e.text or "") for e in element.findall(f"{{{RECSANS_NS}}}{local}")]

    birth_name = values("NomNaissance")
    first_names = values("Prenom")
    sex = values("Sexe")
    birth_date = values("DateNaissance")
    birth_place = values("LieuNaissance")
    problem = None
    if not birth_name:
        problem = "NomNaissance est obligatoire"
    elif not first_names:
        problem = "au moins un Prenom est obligatoire"
    elif not sex:
        problem = "Sexe est obligatoire"
    elif not birth_date:
        problem = "DateNaissance est obligatoire"
    problem = problem or _name_problem("NomNaissance", birth_name[0], birth_name=True)
    for first_name in first_names:
        problem = problem or _name_problem("Prenom", first_name, birth_name=False)
    if problem is None and sex[0] not in ("M", "F"):
        problem = "Sexe doit valoir M ou F"
    problem = problem or _date_problem("DateNaissance", birth_date[0])
    if problem is None and birth_place and not _COG_RE.fullmatch(birth_place[0]):
        problem = "LieuNaissance doit être un code officiel géographique de 5 caractères"
    if problem is not None:
        raise _Refused(_invalid(problem))
    return _TraitsQuery(
        birth_name[0],
        first_names[0],
        sex[0],
        birth_date[0],
        birth_place[0] if birth_place else None,
    )


def _vitale_query(element: etree._Element) -> _VitaleQuery:
    def value(path: str) -> str | None:
        found = element.find("/".join(f"{{{RECVIT_NS}}}{p}" for p in path.split("/")))
        return None if found is None else (found.text or "")

    matricule = value("MatriculeIndividu/NumIdentifiant")
    key = value("MatriculeIndividu/Cle")
    birth_date = value("DateNaissance")
    birth_name = value("NomNaissance")
    rank = value("RangNaissance")
    problem = None
    if matricule is None or not _MATRICULE_RE.fullmatch(matricule):
        problem = "MatriculeIndividu/NumIdentifiant doit comporter 13 caractères"
    elif key is None or not re.fullmatch(r"\d{2}", key):
        problem = "MatriculeIndividu/Cle doit comporter 2 chiffres"
    elif birth_date is None:
        problem = "DateNaissance est obligatoire"
    elif rank is not None and not re.fullmatch(r"\d{1,3}", rank):
        problem = "RangNaissance doit être numérique"
    problem = problem or _date_problem("DateNaissance", birth_date or "")
    if problem is None and birth_name is not None:
        problem = _name_problem("NomNaissance", birth_name, birth_name=True)
    if problem is not None:
        raise _Refused(_invalid(problem))
    assert matricule is not None and key is not None and birth_date is not None
    return _VitaleQuery(matricule, key, birth_date, birth_name)
