"""Annuaire Santé lookup of MSSanté addresses, without sockets: queries, answers, the flow.

The Annuaire Santé FHIR API (``https://gateway.api.esante.gouv.fr/fhir/v2``) carries
MSSanté mailboxes as ``telecom`` entries (``system=email``) of ``Practitioner`` (a
professional's own PER or practice CAB mailboxes), ``PractitionerRole`` (PER mailboxes of
one exercise situation) and ``Organization`` (ORG and APP mailboxes). A telecom is an
MSSanté address when it carries the ``fr-core-contact-point-email-type`` extension with
``MSSANTE`` (TRE_R256) or the ``as-ext-mailbox-mss-metadata`` extension, whose
sub-extensions give the mailbox ``type`` (PER/ORG/APP/CAB), ``listeRouge``,
``description``, ``service`` and ``digitization``; an organisation's other e-mails are
not MSSanté addresses.

Rules of the live server that shape the flow (specs/mssante.md): one resource type per
query (no ``_type``, no batch), 50 resources per page at most, ``mailbox-mss-type``
not exposed (the mailbox type is filtered here), HTTP 429 to be honoured (the client's
retry policy).

* :class:`MailboxQuery`: what is looked up (a person, an organisation or an address),
  checked before anything is sent;
* :func:`parse_page`: a ``searchset`` Bundle to a :class:`Page`;
* :func:`parse_mailboxes`: the MSSanté mailboxes of one resource, red-listed ones
  flagged (``red_list``);
* :func:`lookup_flow`: the searches of one lookup as a pure flow: it yields
  :class:`Fetch` steps, receives the :class:`Page` of each, follows ``next`` links within
  the page cap, drops duplicates, withholds red-listed mailboxes and filters the types.

>>> query = MailboxQuery(rpps="10001234567", kinds=frozenset({MailboxKind.PER}))
>>> flow = lookup_flow(query, base_url="https://annuaire.invalid/fhir/v2")
>>> next(flow).url
'https://annuaire.invalid/fhir/v2/Practitioner?identifier=urn%3Aoid%3A1.2.250.1.71.4.2.1%7C810001234567&_count=50'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypedDict
from urllib.parse import urlencode, urlsplit

from .._ascii import describe_non_ascii
from .._finess import check_finess
from ..errors import InputError, Issue, MalformedResponse
from .models import MailboxKind

__all__ = [
    "EMAIL_TYPE_EXTENSION",
    "FINESS_SYSTEM",
    "ID_NAT_PS_SYSTEM",
    "MAILBOX_METADATA_EXTENSION",
    "MAX_PAGE_SIZE",
    "DirectoryMailbox",
    "Fetch",
    "MailboxCriteria",
    "MailboxLookup",
    "MailboxQuery",
    "Page",
    "lookup_flow",
    "outcome_issues",
    "parse_mailboxes",
    "parse_page",
]

#: The metadata extension of an MSSanté telecom (type, red list, description...).
MAILBOX_METADATA_EXTENSION = "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-ext-mailbox-mss-metadata"
#: The French core extension typing an e-mail (``MSSANTE`` for an MSSanté address).
EMAIL_TYPE_EXTENSION = (
    "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-contact-point-email-type"
)
#: The national identifier of a professional (idNatPs): ``8`` + RPPS, or ``0`` + ADELI.
ID_NAT_PS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"
#: The FINESS number of a structure.
FINESS_SYSTEM = "https://finess.esante.gouv.fr"
#: The most resources the Annuaire Santé serves in one page.
MAX_PAGE_SIZE = 50

Holder = Literal["Practitioner", "PractitionerRole", "Organization"]
Target = Literal["person", "organization", "address"]

_RPPS = re.compile(r"[0-9]{11}")
_ADELI = re.compile(r"(?:[0-9]{2}|2[AB])[0-9]{7}")
_MAX_TEXT = 100
_MAX_ADDRESS = 254  # RFC 5321: the longest forward path
_ALL_KINDS = frozenset(MailboxKind)


class MailboxCriteria(TypedDict, total=False):
    """The keywords of :meth:`~segurlink.mssante.AnnuaireClient.lookup` (see
    :class:`MailboxQuery`)."""

    name: str
    first_name: str
    rpps: str
    adeli: str
    finess: str
    organization: str
    address: str
    exact: bool
    kinds: Iterable[MailboxKind | str]


def _kinds(value: Iterable[MailboxKind | str] | None) -> frozenset[MailboxKind]:
    if value is None:
        return _ALL_KINDS
    if isinstance(value, str | MailboxKind):
        value = (value,)
    kinds = set()
    for item in value:
        try:
            kinds.add(MailboxKind(str(item).upper()))
        except ValueError:
            raise InputError(
                f"unknown mailbox type {item!r}: PER, ORG, APP or CAB (TRE_R257)"
            ) from None
    if not kinds:
        raise InputError("no mailbox type asked for: give at least one of PER, ORG, APP, CAB")
    return frozenset(kinds)


def _text(name: str, value: str) -> str:
    if not isinstance(value, str):
        raise InputError(f"{name} must be a string, not {type(value).__name__}")
    value = " ".join(value.split())
    if not value:
        raise InputError(f"{name} must not be empty")
    if len(value) > _MAX_TEXT:
        raise InputError(f"{name} is longer than {_MAX_TEXT} characters")
    if any(not c.isprintable() for c in value):
        raise InputError(f"{name} holds a control character")
    return value


@dataclass(frozen=True, slots=True)
class MailboxQuery:
    """What one lookup looks for: a person, an organisation, or an address.

    * a person: ``name`` (family name) and/or ``first_name`` (each matches the start of
      the name, case and accents ignored), or ``rpps`` (11 digits) or ``adeli`` (9
      characters); their own mailboxes (PER, CAB) and those of their exercise
      situations (PER, with the organisation);
    * an organisation: ``finess`` and/or ``organization`` (start of its name); its ORG and
      APP mailboxes and the PER mailboxes of the professionals working there;
    * an address: ``address`` contained in the mailbox address, or the whole address
      with ``exact``.

    ``kinds`` keeps the mailbox types asked for (all four by default; the client's
    :meth:`~segurlink.mssante.AnnuaireClient.lookup` also takes their names); a mailbox
    whose type the directory does not give is kept only when every type is asked for.
    Values are checked here: a bad one is an :class:`~segurlink.errors.InputError` and nothing
    is sent.

    >>> MailboxQuery(name="Medecin-Test", kinds=frozenset({MailboxKind.PER})).target
    'person'
    >>> MailboxQuery(rpps="123")
    Traceback (most recent call last):
    segurlink.errors.InputError: an RPPS number has 11 digits, not '123'
    """

    name: str = ""
    first_name: str = ""
    rpps: str = ""
    adeli: str = ""
    finess: str = ""
    organization: str = ""
    address: str = ""
    exact: bool = False
    kinds: frozenset[MailboxKind] = field(default=_ALL_KINDS)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "kinds", _kinds(self.kinds))
        for name in ("name", "first_name", "organization"):
            if getattr(self, name) != "":
                set_(self, name, _text(name.replace("_", " "), getattr(self, name)))
        if self.rpps != "":
            if not isinstance(self.rpps, str) or not _RPPS.fullmatch(self.rpps.strip()):
                raise InputError(f"an RPPS number has 11 digits, not {self.rpps!r}")
            set_(self, "rpps", self.rpps.strip())
        if self.adeli != "":
            adeli = self.adeli.strip().upper() if isinstance(self.adeli, str) else ""
            if not _ADELI.fullmatch(adeli):
                raise InputError(
                    f"an ADELI number has 9 characters (département, then 7 digits), "
                    f"not {self.adeli!r}"
                )
            set_(self, "adeli", adeli)
        if self.rpps and self.adeli:
            raise InputError("give an RPPS or an ADELI number, not both")
        if self.finess != "":
            set_(self, "finess", check_finess(self.finess))
        if self.address != "":
            set_(self, "address", _address(self.address, exact=bool(self.exact)))
        elif self.exact:
            raise InputError("exact applies to an address: give the address to look up")
        targets = {
            target
            for target, given in (
                ("person", self.name or self.first_name or self.rpps or self.adeli),
                ("organization", self.finess or self.organization),
                ("address", self.address),
            )
            if given
        }
        if not targets:
            raise InputError(
                "nothing to look up: give a name, an RPPS or ADELI number, an organisation "
                "or FINESS number, or an address"
            )
        if len(targets) > 1:
            raise InputError(
                "look up a person, an organisation or an address, one at a time "
                f"(got {' and '.join(sorted(targets))} criteria)"
            )

    @property
    def target(self) -> Target:
        if self.address:
            return "address"
        if self.finess or self.organization:
            return "organization"
        return "person"

    def matches_address(self, address: str) -> bool:
        """Whether ``address`` is one the query asks for (any, unless it is an address
        lookup: the resource found may hold other mailboxes)."""
        if not self.address:
            return True
        wanted, value = self.address.casefold(), address.casefold()
        return value == wanted if self.exact else wanted in value

    def keeps(self, kind: MailboxKind | None) -> bool:
        """Whether a mailbox of ``kind`` (``None``: not given) is asked for."""
        return self.kinds == _ALL_KINDS if kind is None else kind in self.kinds


def _address(value: str, *, exact: bool) -> str:
    if not isinstance(value, str):
        raise InputError(f"an address is a string, not {type(value).__name__}")
    address = value.strip()
    if not address:
        raise InputError("the address must not be empty")
    if len(address) > _MAX_ADDRESS:
        raise InputError(f"an address has at most {_MAX_ADDRESS} characters")
    non_ascii = describe_non_ascii(address)
    if non_ascii is not None:
        raise InputError(f"MSSanté addresses are ASCII: {non_ascii}")
    if any(c.isspace() or not c.isprintable() or c in ',"<>' for c in address):
        raise InputError(f"not an address: {address!r} (spaces, commas, quotes or <>)")
    if exact:
        local, at, domain = address.partition("@")
        if not (local and at and domain and "@" not in domain and "." in domain):
            raise InputError(f"not a whole address (local@domain): {address!r}")
    return address


# -- values -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DirectoryMailbox:
    """One MSSanté mailbox of the Annuaire Santé and who holds it.

    ``holder`` is the resource carrying it (``Practitioner``, ``PractitionerRole`` or
    ``Organization``) and ``holder_id`` its id. For a professional: ``family``,
    ``given``, ``national_id`` (idNatPs: ``8`` + RPPS or ``0`` + ADELI); for an
    organisation, or the one of an exercise situation: ``organization`` and ``finess``.
    ``kind`` is ``None`` when the directory does not give the type. ``red_list`` is True
    for a mailbox on the red list (*liste rouge*): :func:`parse_mailboxes` flags it, a
    lookup never returns it.
    """

    address: str
    kind: MailboxKind | None
    holder: Holder
    holder_id: str
    family: str = ""
    given: str = ""
    national_id: str = ""
    organization: str = ""
    finess: str = ""
    description: str = ""
    service: str = ""
    digitization: bool | None = None
    red_list: bool = False

    @property
    def rpps(self) -> str:
        """The RPPS number of the professional (``""`` when not an RPPS idNatPs)."""
        return self.national_id[1:] if self.national_id.startswith("8") else ""

    @property
    def adeli(self) -> str:
        """The ADELI number of the professional (``""`` when not an ADELI idNatPs)."""
        return self.national_id[1:] if self.national_id.startswith("0") else ""

    @property
    def name(self) -> str:
        """Who holds it, for a person to read: ``FAMILY Given``, or the organisation."""
        person = " ".join(p for p in (self.family, self.given) if p)
        return person or self.organization


@dataclass(frozen=True, slots=True)
class MailboxLookup:
    """The mailboxes a lookup found, without duplicates nor red-listed ones.

    ``withheld`` counts the red-listed addresses left out; ``truncated`` is True when a
    search stopped on the page cap with pages left; ``pages`` the pages read.
    """

    mailboxes: tuple[DirectoryMailbox, ...] = ()
    withheld: int = 0
    truncated: bool = False
    pages: int = 0

    def __iter__(self) -> Iterator[DirectoryMailbox]:
        return iter(self.mailboxes)

    def __len__(self) -> int:
        return len(self.mailboxes)

    @property
    def addresses(self) -> tuple[str, ...]:
        return tuple(m.address for m in self.mailboxes)


@dataclass(frozen=True, slots=True)
class Fetch:
    """Fetch the searchset page at ``url``; reply its :class:`Page`."""

    url: str


@dataclass(frozen=True, slots=True)
class Page:
    """One ``searchset`` page: the matches, the included resources (by ``Type/id``),
    the ``next`` link and the ``total`` when the server gives them."""

    matches: tuple[Mapping[str, Any], ...] = ()
    included: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    next_url: str | None = None
    total: int | None = None


# -- answers ------------------------------------------------------------------------------


def parse_page(bundle: Any, url: str = "") -> Page:
    """A ``searchset`` Bundle as a :class:`Page`; anything else is a
    :class:`~segurlink.errors.MalformedResponse`.

    >>> parse_page({"resourceType": "Bundle", "type": "searchset", "total": 0}).total
    0
    """
    if not isinstance(bundle, Mapping) or bundle.get("resourceType") != "Bundle":
        kind = bundle.get("resourceType") if isinstance(bundle, Mapping) else type(bundle).__name__
        raise MalformedResponse(f"the Annuaire Santé answered a {kind}, not a Bundle", url=url)
    if bundle.get("type") != "searchset":
        raise MalformedResponse(
            f"the Annuaire Santé answered a {bundle.get('type')!r} Bundle, not a searchset",
            url=url,
        )
    matches: list[Mapping[str, Any]] = []
    included: dict[str, Mapping[str, Any]] = {}
    for entry in _list(bundle, "entry", url):
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(resource, Mapping) or not isinstance(resource.get("resourceType"), str):
            raise MalformedResponse("a Bundle entry without a resource", url=url)
        search = entry.get("search")
        mode = search.get("mode") if isinstance(search, Mapping) else None
        if mode == "include":
            included[f"{resource['resourceType']}/{resource.get('id', '')}"] = resource
        elif mode in (None, "match"):
            matches.append(resource)
    next_url = None
    for link in _list(bundle, "link", url):
        if isinstance(link, Mapping) and link.get("relation") == "next":
            if not isinstance(link.get("url"), str) or not link["url"]:
                raise MalformedResponse("a next link without a URL", url=url)
            next_url = link["url"]
    total = bundle.get("total")
    if total is not None and (isinstance(total, bool) or not isinstance(total, int) or total < 0):
        raise MalformedResponse(f"the Bundle total is not a count: {total!r}", url=url)
    return Page(tuple(matches), included, next_url, total)


def _list(data: Mapping[str, Any], key: str, url: str) -> Sequence[Any]:
    value = data.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise MalformedResponse(f"{key} is not a list in the answer", url=url)
    return value


def _extensions(element: Mapping[str, Any], url: str) -> list[Mapping[str, Any]]:
    value = element.get("extension")
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(e, Mapping) for e in value):
        raise MalformedResponse("an extension list is not a list of objects", url=url)
    return list(value)


def _codes(concept: Any) -> list[str]:
    if not isinstance(concept, Mapping):
        return []
    codings = concept.get("coding")
    if isinstance(concept.get("code"), str):  # a Coding rather than a CodeableConcept
        codings = [concept]
    if not isinstance(codings, list):
        return []
    return [str(c["code"]) for c in codings if isinstance(c, Mapping) and c.get("code")]


def _is_mssante(extensions: list[Mapping[str, Any]]) -> bool:
    for extension in extensions:
        if extension.get("url") == MAILBOX_METADATA_EXTENSION:
            return True
        if extension.get("url") == EMAIL_TYPE_EXTENSION and "MSSANTE" in _codes(
            extension.get("valueCoding") or extension.get("valueCodeableConcept")
        ):
            return True
    return False


@dataclass(slots=True)
class _Metadata:
    kind: MailboxKind | None = None
    red_list: bool = False
    description: str = ""
    service: str = ""
    digitization: bool | None = None


def _metadata(extensions: list[Mapping[str, Any]], url: str) -> _Metadata:
    found = _Metadata()
    for extension in extensions:
        if extension.get("url") != MAILBOX_METADATA_EXTENSION:
            continue
        for sub in _extensions(extension, url):
            name = sub.get("url")
            if name == "type":
                codes = _codes(sub.get("valueCodeableConcept") or sub.get("valueCoding"))
                kinds = [MailboxKind(c) for c in codes if c in MailboxKind.__members__]
                found.kind = kinds[0] if kinds else None
            elif name == "listeRouge":
                found.red_list = _boolean(sub, url)
            elif name == "digitization":
                found.digitization = _boolean(sub, url)
            elif name == "description" and isinstance(sub.get("valueString"), str):
                found.description = sub["valueString"]
            elif name == "service" and isinstance(sub.get("valueString"), str):
                found.service = sub["valueString"]
    return found


def _boolean(extension: Mapping[str, Any], url: str) -> bool:
    value = extension.get("valueBoolean")
    if not isinstance(value, bool):
        # A red-list flag that cannot be read must not be taken for "not red-listed".
        raise MalformedResponse(
            f"the mailbox extension {extension.get('url')!r} is not a boolean", url=url
        )
    return value


def _identifier(resource: Mapping[str, Any], system: str, url: str) -> str:
    for identifier in _list(resource, "identifier", url):
        if isinstance(identifier, Mapping) and identifier.get("system") == system:
            value = identifier.get("value")
            if isinstance(value, str):
                return value
    return ""


def _person(resource: Mapping[str, Any], url: str) -> tuple[str, str]:
    names = [n for n in _list(resource, "name", url) if isinstance(n, Mapping)]
    names.sort(key=lambda n: n.get("use") != "official")
    for name in names:
        family = name.get("family")
        given = name.get("given")
        if isinstance(family, str) or isinstance(given, list):
            given_names = [g for g in given or () if isinstance(g, str)]
            return (family if isinstance(family, str) else "", " ".join(given_names))
    return ("", "")


def _reference(resource: Mapping[str, Any], element: str) -> str:
    value = resource.get(element)
    reference = value.get("reference") if isinstance(value, Mapping) else None
    return reference if isinstance(reference, str) else ""


def parse_mailboxes(
    resource: Mapping[str, Any],
    resources: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    url: str = "",
) -> list[DirectoryMailbox]:
    """The MSSanté mailboxes of a Practitioner, PractitionerRole or Organization.

    Red-listed mailboxes are returned flagged (``red_list=True``): leaving them out is
    the caller's decision (a lookup does). ``resources`` (``Type/id`` → resource) gives
    the practitioner and organisation a PractitionerRole refers to. Shapes that are not
    FHIR's (a telecom list that is not a list...) are a
    :class:`~segurlink.errors.MalformedResponse`.

    >>> practitioner = {"resourceType": "Practitioner", "id": "p1", "telecom": [
    ...     {"system": "email", "value": "a@x.mssante.fr", "extension": [
    ...         {"url": MAILBOX_METADATA_EXTENSION, "extension": [
    ...             {"url": "type", "valueCodeableConcept": {"coding": [{"code": "PER"}]}},
    ...             {"url": "listeRouge", "valueBoolean": True}]}]},
    ...     {"system": "email", "value": "a@example.org"}]}
    >>> [(m.address, m.kind.value, m.red_list) for m in parse_mailboxes(practitioner)]
    [('a@x.mssante.fr', 'PER', True)]
    """
    resources = resources or {}
    kind = resource.get("resourceType")
    if kind not in ("Practitioner", "PractitionerRole", "Organization"):
        return []
    holder_id = str(resource.get("id", ""))
    person: Mapping[str, Any] = {}
    organization: Mapping[str, Any] = {}
    if kind == "Practitioner":
        person = resource
    elif kind == "Organization":
        organization = resource
    else:
        person = resources.get(_reference(resource, "practitioner")) or {}
        organization = resources.get(_reference(resource, "organization")) or {}
    family, given = _person(person, url) if person else ("", "")
    holder = {
        "family": family,
        "given": given,
        "national_id": _identifier(person, ID_NAT_PS_SYSTEM, url) if person else "",
        "organization": str(organization.get("name") or "") if organization else "",
        "finess": _identifier(organization, FINESS_SYSTEM, url) if organization else "",
    }
    found = []
    for telecom in _list(resource, "telecom", url):
        if not isinstance(telecom, Mapping):
            raise MalformedResponse("a telecom entry is not an object", url=url)
        address = telecom.get("value")
        if telecom.get("system") != "email" or not isinstance(address, str) or not address:
            continue
        extensions = _extensions(telecom, url)
        if not _is_mssante(extensions):
            continue
        meta = _metadata(extensions, url)
        found.append(
            DirectoryMailbox(
                address=address.strip(),
                kind=meta.kind,
                holder=kind,
                holder_id=holder_id,
                description=meta.description,
                service=meta.service,
                digitization=meta.digitization,
                red_list=meta.red_list,
                **holder,
            )
        )
    return found


def outcome_issues(outcome: Any) -> tuple[Issue, ...]:
    """The issues of an OperationOutcome (``()`` when it is not one).

    >>> outcome_issues({"resourceType": "OperationOutcome", "issue": [
    ...     {"severity": "error", "code": "not-supported", "diagnostics": "no _type"}]})
    (Issue(severity='error', message='no _type', location='', rule='not-supported'),)
    """
    if not isinstance(outcome, Mapping) or outcome.get("resourceType") != "OperationOutcome":
        return ()
    issues = []
    for issue in outcome.get("issue") or ():
        if not isinstance(issue, Mapping):
            continue
        details = issue.get("details")
        text = details.get("text") if isinstance(details, Mapping) else None
        issues.append(
            Issue(
                severity=str(issue.get("severity", "error")),
                message=str(issue.get("diagnostics") or text or ""),
                rule=str(issue.get("code", "")),
            )
        )
    return tuple(issues)


# -- the lookup flow ----------------------------------------------------------------------


def _search_url(base_url: str, resource_type: str, params: Sequence[tuple[str, str]]) -> str:
    return f"{base_url.rstrip('/')}/{resource_type}?{urlencode(list(params))}"


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return (parts.scheme.lower(), parts.netloc.lower())


class _Collector:
    """The mailboxes found so far: one per address, red-listed ones withheld."""

    def __init__(self, query: MailboxQuery) -> None:
        self.query = query
        self.found: dict[str, DirectoryMailbox] = {}
        self.withheld: set[str] = set()
        self.pages = 0
        self.truncated = False

    def add(self, mailboxes: Iterable[DirectoryMailbox]) -> None:
        for mailbox in mailboxes:
            if not (self.query.matches_address(mailbox.address) and self.query.keeps(mailbox.kind)):
                continue
            key = mailbox.address.casefold()
            if mailbox.red_list:
                # Red-listed anywhere is red-listed: the address is withheld everywhere.
                self.withheld.add(key)
                self.found.pop(key, None)
                continue
            if key in self.withheld:
                continue
            known = self.found.get(key)
            if known is None:
                self.found[key] = mailbox
            elif not known.organization and mailbox.organization:
                # The exercise situation says where: keep the holder, add the place.
                self.found[key] = replace(
                    known, organization=mailbox.organization, finess=mailbox.finess
                )

    def result(self) -> MailboxLookup:
        return MailboxLookup(
            tuple(self.found.values()), len(self.withheld), self.truncated, self.pages
        )


def _walk(
    first_url: str,
    *,
    origin: tuple[str, str],
    max_pages: int | None,
    collector: _Collector,
    on_page: Callable[[Page, str], None],
) -> Generator[Fetch, Page, None]:
    """Fetch ``first_url`` and its ``next`` pages, at most ``max_pages``."""
    seen: set[str] = set()
    url: str | None = first_url
    read = 0
    while url is not None:
        if max_pages is not None and read >= max_pages:
            collector.truncated = True
            return
        if url in seen:
            raise MalformedResponse("the Annuaire Santé sent a paging loop", url=url)
        if _origin(url) != origin:
            # The API key goes with every request: never to another origin.
            raise MalformedResponse(f"the Annuaire Santé sent a link to another origin: {url}")
        seen.add(url)
        page = yield Fetch(url)
        read += 1
        collector.pages += 1
        on_page(page, url)
        url = page.next_url


def _chunks(values: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def lookup_flow(
    query: MailboxQuery,
    *,
    base_url: str,
    page_size: int = MAX_PAGE_SIZE,
    max_pages: int | None = None,
) -> Generator[Fetch, Page, MailboxLookup]:
    """The searches of one lookup; returns the :class:`MailboxLookup`.

    A person: ``Practitioner`` (their PER and CAB mailboxes), then the
    ``PractitionerRole`` of the practitioners found, with their organisation (PER). An
    organisation: ``Organization`` (ORG, APP), then the ``PractitionerRole`` at the
    organisations found, with their practitioner (PER). An address: ``mailbox-mss`` on
    each resource type that can hold the types asked for. Searches that cannot give a
    type asked for are not sent. ``max_pages`` caps each search (``truncated`` then).
    """
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InputError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, not {page_size}")
    if max_pages is not None and max_pages < 1:
        raise InputError(f"max_pages must be at least 1, not {max_pages}")
    collector = _Collector(query)
    origin = _origin(base_url)
    count = ("_count", str(page_size))
    kinds = query.kinds
    per = MailboxKind.PER in kinds
    known: dict[str, Mapping[str, Any]] = {}  # Type/id -> resource, for PractitionerRole

    def walk(url: str, on_page: Callable[[Page, str], None]) -> Generator[Fetch, Page, None]:
        return _walk(url, origin=origin, max_pages=max_pages, collector=collector, on_page=on_page)

    def collect(page: Page, url: str) -> None:
        resources = {**known, **page.included}
        for resource in page.matches:
            collector.add(parse_mailboxes(resource, resources, url=url))

    def collect_holders(kind: str) -> Callable[[Page, str], None]:
        def on_page(page: Page, url: str) -> None:
            for resource in page.matches:
                if resource.get("resourceType") == kind and resource.get("id"):
                    known[f"{kind}/{resource['id']}"] = resource
            collect(page, url)

        return on_page

    def roles(by: str, holders: str) -> Generator[Fetch, Page, None]:
        # The exercise situations of the holders found, a page of references at a time.
        ids = [key for key in known if key.startswith(holders + "/")]
        include = "practitioner" if by == "organization" else "organization"
        for chunk in _chunks(ids, page_size):
            params = [(by, ",".join(chunk)), ("_include", f"PractitionerRole:{include}"), count]
            yield from walk(_search_url(base_url, "PractitionerRole", params), collect)

    if query.target == "person":
        params: list[tuple[str, str]] = []
        if query.name:
            params.append(("family", query.name))
        if query.first_name:
            params.append(("given", query.first_name))
        if query.rpps or query.adeli:
            national_id = "8" + query.rpps if query.rpps else "0" + query.adeli
            params.append(("identifier", f"{ID_NAT_PS_SYSTEM}|{national_id}"))
        if kinds & {MailboxKind.PER, MailboxKind.CAB}:
            url = _search_url(base_url, "Practitioner", [*params, count])
            yield from walk(url, collect_holders("Practitioner"))
            if per:
                yield from roles("practitioner", "Practitioner")
    elif query.target == "organization":
        params = []
        if query.finess:
            params.append(("identifier", f"{FINESS_SYSTEM}|{query.finess}"))
        if query.organization:
            params.append(("name", query.organization))
        if kinds & {MailboxKind.ORG, MailboxKind.APP, MailboxKind.PER}:
            url = _search_url(base_url, "Organization", [*params, count])
            yield from walk(url, collect_holders("Organization"))
            if per:
                yield from roles("organization", "Organization")
    else:
        address = ("mailbox-mss:exact" if query.exact else "mailbox-mss:contains", query.address)
        searches: list[tuple[str, list[tuple[str, str]]]] = []
        if kinds & {MailboxKind.PER, MailboxKind.CAB}:
            searches.append(("Practitioner", []))
        if per:
            include = [
                ("_include", "PractitionerRole:practitioner"),
                ("_include", "PractitionerRole:organization"),
            ]
            searches.append(("PractitionerRole", include))
        if kinds & {MailboxKind.ORG, MailboxKind.APP}:
            searches.append(("Organization", []))
        for resource_type, extra in searches:
            params = [address, *extra, count]
            yield from walk(_search_url(base_url, resource_type, params), collect)
    return collector.result()
