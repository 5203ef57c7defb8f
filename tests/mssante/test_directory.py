"""The Annuaire Santé lookup without a server: criteria checks, answer reading, and the
lookup flow walked step by step with made-up pages."""

from __future__ import annotations

import doctest
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from segurlink.errors import InputError, MalformedResponse
from segurlink.mssante import DirectoryMailbox, MailboxKind, MailboxQuery, lookup_flow
from segurlink.mssante.directory import (
    EMAIL_TYPE_EXTENSION,
    MAILBOX_METADATA_EXTENSION,
    Fetch,
    Page,
    parse_mailboxes,
    parse_page,
)

BASE = "https://annuaire.invalid/fhir/v2"


def mss(address: str, kind: str | None = "PER", *, red_list: bool | None = False) -> dict[str, Any]:
    sub: list[dict[str, Any]] = []
    if kind:
        sub.append({"url": "type", "valueCodeableConcept": {"coding": [{"code": kind}]}})
    if red_list is not None:
        sub.append({"url": "listeRouge", "valueBoolean": red_list})
    return {
        "system": "email",
        "value": address,
        "extension": [{"url": MAILBOX_METADATA_EXTENSION, "extension": sub}],
    }


def practitioner(rid: str, family: str, *telecom: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Practitioner",
        "id": rid,
        "identifier": [{"system": "urn:oid:1.2.250.1.71.4.2.1", "value": "8" + "1" * 11}],
        "name": [{"family": family, "given": ["Jo"]}],
        "telecom": list(telecom),
    }


def organization(rid: str, name: str, *telecom: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "id": rid,
        "name": name,
        "identifier": [{"system": "https://finess.esante.gouv.fr", "value": "010000016"}],
        "telecom": list(telecom),
    }


def role(rid: str, who: str, where: str, *telecom: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "PractitionerRole",
        "id": rid,
        "practitioner": {"reference": f"Practitioner/{who}"},
        "organization": {"reference": f"Organization/{where}"},
        "telecom": list(telecom),
    }


def types_(*names: str) -> frozenset[MailboxKind]:
    return frozenset(MailboxKind(n) for n in names)


def params(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query)


def run(flow: Any, pages: dict[str, Page]) -> tuple[Any, list[str]]:
    """Drive ``flow`` answering each fetched URL's path+query from ``pages`` (by resource
    type, or by the exact URL); returns the result and the URLs fetched."""
    fetched: list[str] = []
    try:
        step = next(flow)
        while True:
            assert isinstance(step, Fetch)
            fetched.append(step.url)
            kind = urlsplit(step.url).path.rsplit("/", 1)[-1]
            page = pages.get(step.url) or pages.get(kind) or Page()
            step = flow.send(page)
    except StopIteration as stop:
        return stop.value, fetched


# -- criteria -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("criteria", "message"),
    [
        ({}, "nothing to look up"),
        ({"name": "   "}, "must not be empty"),
        ({"name": "X" * 101}, "longer than 100"),
        ({"name": "A\x00B"}, "control character"),
        ({"rpps": "1234567890"}, "11 digits"),
        ({"rpps": "1000123456７"}, "11 digits"),  # a full-width digit is not a digit here
        ({"adeli": "12345678"}, "9 characters"),
        ({"rpps": "10001234567", "adeli": "751234567"}, "not both"),
        ({"finess": "010000017"}, "key mismatch"),
        ({"address": "  "}, "must not be empty"),
        ({"address": "a b@x.fr"}, "not an address"),
        ({"address": "é@x.fr"}, "ASCII"),
        ({"address": "x.mssante.fr", "exact": True}, "whole address"),
        ({"exact": True, "name": "X"}, "exact applies to an address"),
        ({"name": "X", "finess": "010000016"}, "one at a time"),
        ({"organization": "E", "address": "a@b.fr"}, "one at a time"),
        ({"name": "X", "kinds": ["PER", "XYZ"]}, "unknown mailbox type"),
        ({"name": "X", "kinds": []}, "at least one"),
    ],
)
def test_bad_criteria_are_refused_before_anything_is_sent(
    criteria: dict[str, Any], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        MailboxQuery(**criteria)


def test_criteria_are_normalised() -> None:
    query = MailboxQuery(name="  Le   Gall ", adeli="2a1234567", kinds=["cab", MailboxKind.PER])  # type: ignore[arg-type]
    assert (query.name, query.adeli) == ("Le Gall", "2A1234567")
    assert query.kinds == {MailboxKind.CAB, MailboxKind.PER} and query.target == "person"
    assert MailboxQuery(finess="2b0000000").finess == "2B0000000"
    assert MailboxQuery(address="Dr.X@Hopital.mssante.fr", exact=True).target == "address"


# -- answers --------------------------------------------------------------------------------


def test_only_mssante_telecoms_are_mailboxes() -> None:
    typed_by_core_extension = {
        "system": "email",
        "value": "b@x.mssante.fr",
        "extension": [{"url": EMAIL_TYPE_EXTENSION, "valueCoding": {"code": "MSSANTE"}}],
    }
    resource = organization(
        "o1",
        "EHPAD X",
        mss("a@x.mssante.fr", "ORG"),
        typed_by_core_extension,
        {"system": "email", "value": "contact@x.example"},
        {"system": "phone", "value": "0100000000"},
        {
            "system": "email",
            "value": "c@x.example",
            "extension": [{"url": EMAIL_TYPE_EXTENSION, "valueCoding": {"code": "MSSANTE-NON"}}],
        },
    )
    found = parse_mailboxes(resource)
    assert [(m.address, m.kind) for m in found] == [
        ("a@x.mssante.fr", MailboxKind.ORG),
        ("b@x.mssante.fr", None),  # no metadata: the type is not given
    ]
    assert found[0].organization == "EHPAD X" and found[0].finess == "010000016"
    assert found[0].name == "EHPAD X" and found[0].holder == "Organization"


def test_a_role_names_its_practitioner_and_organisation() -> None:
    resources = {
        "Practitioner/p1": practitioner("p1", "DUPONT"),
        "Organization/o1": organization("o1", "EHPAD X"),
    }
    (mailbox,) = parse_mailboxes(role("r1", "p1", "o1", mss("a@x.mssante.fr")), resources)
    assert (mailbox.family, mailbox.given, mailbox.organization) == ("DUPONT", "Jo", "EHPAD X")
    assert mailbox.rpps == "1" * 11 and mailbox.adeli == "" and mailbox.holder_id == "r1"
    # Without the included resources the role still gives its mailbox.
    (bare,) = parse_mailboxes(role("r1", "p1", "o1", mss("a@x.mssante.fr")))
    assert bare.name == "" and bare.address == "a@x.mssante.fr"


def test_the_red_list_is_read_and_an_unreadable_flag_is_refused() -> None:
    (flagged,) = parse_mailboxes(practitioner("p", "X", mss("a@x.fr", red_list=True)))
    assert flagged.red_list
    broken = mss("a@x.fr")
    broken["extension"][0]["extension"][1] = {"url": "listeRouge", "valueString": "false"}
    with pytest.raises(MalformedResponse, match="listeRouge"):
        parse_mailboxes(practitioner("p", "X", broken))


@pytest.mark.parametrize(
    "bundle",
    [
        [],
        "Bundle",
        {"resourceType": "OperationOutcome"},
        {"resourceType": "Bundle", "type": "collection"},
        {"resourceType": "Bundle", "type": "searchset", "entry": {}},
        {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": []}]},
        {"resourceType": "Bundle", "type": "searchset", "link": [{"relation": "next"}]},
        {"resourceType": "Bundle", "type": "searchset", "total": "12"},
    ],
)
def test_answers_that_are_not_a_searchset_are_malformed(bundle: Any) -> None:
    with pytest.raises(MalformedResponse):
        parse_page(bundle, BASE)


def test_wrong_shapes_inside_a_resource_are_malformed() -> None:
    with pytest.raises(MalformedResponse):
        parse_mailboxes({"resourceType": "Practitioner", "telecom": {"value": "a@b"}})
    with pytest.raises(MalformedResponse):
        parse_mailboxes({"resourceType": "Practitioner", "telecom": ["a@b"]})
    with pytest.raises(MalformedResponse):
        parse_mailboxes(
            {
                "resourceType": "Organization",
                "telecom": [{"system": "email", "value": "a@b", "extension": "x"}],
            }
        )


def test_a_page_separates_matches_and_included_resources() -> None:
    page = parse_page(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": 3,
            "link": [{"relation": "self", "url": "s"}, {"relation": "next", "url": "n"}],
            "entry": [
                {"resource": role("r1", "p1", "o1"), "search": {"mode": "match"}},
                {"resource": organization("o1", "E"), "search": {"mode": "include"}},
                {"resource": {"resourceType": "OperationOutcome"}, "search": {"mode": "outcome"}},
            ],
        }
    )
    assert [r["id"] for r in page.matches] == ["r1"]
    assert list(page.included) == ["Organization/o1"]
    assert (page.next_url, page.total) == ("n", 3)


# -- the flow -------------------------------------------------------------------------------


def test_a_person_lookup_follows_pages_then_asks_for_their_roles() -> None:
    first = f"{BASE}/Practitioner?family=DUPONT&_count=2"
    second = f"{BASE}?_getpages=abc&_getpagesoffset=2&_count=2"
    pages = {
        first: Page(
            (
                practitioner("p1", "DUPONT", mss("a@x.fr")),
                practitioner("p2", "DUPONT", mss("b@x.fr", "CAB")),
            ),
            next_url=second,
        ),
        second: Page((practitioner("p3", "DUPONTEL", mss("c@x.fr", red_list=True)),)),
        "PractitionerRole": Page(
            (role("r1", "p1", "o1", mss("a@x.fr")), role("r2", "p2", "o1", mss("d@x.fr"))),
            included={"Organization/o1": organization("o1", "EHPAD X")},
        ),
    }
    result, fetched = run(
        lookup_flow(MailboxQuery(name="DUPONT"), base_url=BASE, page_size=2), pages
    )
    assert fetched[:2] == [first, second]
    # Roles asked for every practitioner found, two references a page, with organisations.
    assert [params(u) for u in fetched[2:]] == [
        [
            ("practitioner", "Practitioner/p1,Practitioner/p2"),
            ("_include", "PractitionerRole:organization"),
            ("_count", "2"),
        ],
        [
            ("practitioner", "Practitioner/p3"),
            ("_include", "PractitionerRole:organization"),
            ("_count", "2"),
        ],
    ]
    assert result.addresses == ("a@x.fr", "b@x.fr", "d@x.fr")  # a@ once
    a, _, d = result.mailboxes
    assert a.holder == "Practitioner" and a.organization == "EHPAD X"  # place added
    assert (d.family, d.organization) == ("DUPONT", "EHPAD X")  # name from the first search
    assert (result.withheld, result.truncated, result.pages) == (1, False, 4)


def test_a_red_listed_address_is_withheld_wherever_else_it_appears() -> None:
    pages = {
        "Practitioner": Page((practitioner("p1", "X", mss("a@x.fr")),)),
        "PractitionerRole": Page((role("r1", "p1", "o1", mss("A@x.fr", red_list=True)),)),
    }
    result, _ = run(lookup_flow(MailboxQuery(name="X"), base_url=BASE), pages)
    assert result.mailboxes == () and result.withheld == 1


def test_types_asked_for_choose_the_searches_and_filter_the_mailboxes() -> None:
    pages = {
        "Organization": Page(
            (
                organization(
                    "o1",
                    "E",
                    mss("org@x.fr", "ORG"),
                    mss("app@x.fr", "APP"),
                    mss("untyped@x.fr", None),
                ),
            )
        ),
        "PractitionerRole": Page((role("r1", "p1", "o1", mss("per@x.fr")),)),
    }
    everything, fetched = run(lookup_flow(MailboxQuery(finess="010000016"), base_url=BASE), pages)
    assert set(everything.addresses) == {"org@x.fr", "app@x.fr", "untyped@x.fr", "per@x.fr"}
    assert [urlsplit(u).path.rsplit("/", 1)[-1] for u in fetched] == [
        "Organization",
        "PractitionerRole",
    ]
    app, fetched = run(
        lookup_flow(MailboxQuery(finess="010000016", kinds=types_("APP")), base_url=BASE), pages
    )
    assert app.addresses == ("app@x.fr",) and len(fetched) == 1  # no PractitionerRole search
    cab, fetched = run(
        lookup_flow(MailboxQuery(organization="E", kinds=types_("CAB")), base_url=BASE), pages
    )
    assert cab.mailboxes == () and fetched == []  # an organisation holds no CAB


def test_an_address_lookup_searches_each_holder_and_keeps_the_matching_address() -> None:
    pages = {
        "Practitioner": Page((practitioner("p1", "X", mss("a.b@x.fr"), mss("other@x.fr")),)),
        "Organization": Page((organization("o1", "E", mss("a.b@x.fr", "ORG")),)),
    }
    query = MailboxQuery(address="a.b@x.fr", exact=True)
    result, fetched = run(lookup_flow(query, base_url=BASE), pages)
    assert [params(u)[0] for u in fetched] == [("mailbox-mss:exact", "a.b@x.fr")] * 3
    assert "_include" in dict(params(fetched[1]))
    assert result.addresses == ("a.b@x.fr",)
    contains, fetched = run(
        lookup_flow(MailboxQuery(address="a.b", kinds=types_("ORG")), base_url=BASE), pages
    )
    assert [params(u)[0] for u in fetched] == [("mailbox-mss:contains", "a.b")]
    assert contains.mailboxes[0].kind is MailboxKind.ORG


def test_the_page_cap_stops_a_search_and_says_so() -> None:
    endless = {"Practitioner": Page((), next_url=f"{BASE}?_getpages=x&_getpagesoffset=1")}
    pages = dict(endless)
    pages[f"{BASE}?_getpages=x&_getpagesoffset=1"] = Page(
        (), next_url=f"{BASE}?_getpages=x&_getpagesoffset=2"
    )
    result, fetched = run(
        lookup_flow(
            MailboxQuery(rpps="10001234567", kinds=types_("CAB")), base_url=BASE, max_pages=2
        ),
        pages,
    )
    assert len(fetched) == 2 and result.truncated


def test_a_paging_loop_or_a_link_elsewhere_is_malformed() -> None:
    flow = lookup_flow(MailboxQuery(name="X"), base_url=BASE)
    first = next(flow)
    with pytest.raises(MalformedResponse, match="loop"):
        flow.send(Page(next_url=first.url))
    flow = lookup_flow(MailboxQuery(name="X"), base_url=BASE)
    next(flow)
    with pytest.raises(MalformedResponse, match="another origin"):
        flow.send(Page(next_url="https://elsewhere.invalid/fhir/v2?_getpages=x"))


@pytest.mark.parametrize(("size", "pages"), [(0, None), (51, None), (50, 0)])
def test_paging_bounds_are_checked(size: int, pages: int | None) -> None:
    with pytest.raises(InputError):
        next(lookup_flow(MailboxQuery(name="X"), base_url=BASE, page_size=size, max_pages=pages))


def test_a_mailbox_knows_its_holder() -> None:
    mailbox = DirectoryMailbox(
        "a@x.fr",
        MailboxKind.PER,
        "Practitioner",
        "p1",
        family="X",
        given="Jo",
        national_id="0751234567",
    )
    assert (mailbox.adeli, mailbox.rpps, mailbox.name) == ("751234567", "", "X Jo")


@pytest.mark.parametrize("module", ["segurlink.mssante.directory", "segurlink.mssante.settings"])
def test_module_examples(module: str) -> None:
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted >= 3 and result.failed == 0


# -- settings -------------------------------------------------------------------------------


def test_annuaire_settings_from_a_table_or_the_environment(tmp_path: Any) -> None:
    from segurlink.config import Secret, Settings
    from segurlink.mssante import ANNUAIRE_ENDPOINT, AnnuaireSettings

    settings = Settings.from_mapping(
        {
            "tls": {"ca_bundle": "/igc-sante.pem"},
            "annuaire": {"api_key": "k-123", "ca_bundle": "/public.pem", "max_pages": "3"},
        }
    )
    assert "k-123" not in repr(settings)  # an *api_key value is a Secret in the settings
    annuaire = AnnuaireSettings.from_settings(settings)
    assert "k-123" not in repr(annuaire) and annuaire.api_key == Secret("k-123")
    assert annuaire.endpoint == ANNUAIRE_ENDPOINT and annuaire.max_pages == 3
    assert str(annuaire.tls.ca_bundle) == "/public.pem"  # the gateway's CA, not IGC-Santé
    from_env = Settings.from_env({"SEGURLINK_ANNUAIRE__API_KEY": "k-456"})
    assert AnnuaireSettings.from_settings(from_env).api_key.reveal() == "k-456"


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ({}, "api_key"),
        ({"api_key": "k", "endpoint": "http://annuaire.example/fhir"}, "https"),
        ({"api_key": "k", "page_size": "51"}, "page_size"),
        ({"api_key": "k", "page_size": "ten"}, "page_size"),
        ({"api_key": "k", "max_pages": "0"}, "max_pages"),
        ({"api_key": "k", "retry_deadline": "0"}, "retry_deadline"),
        ({"api_key": "k", "max_retry_wait": "-1"}, "max_retry_wait"),
    ],
)
def test_annuaire_settings_refuse_bad_values(table: dict[str, str], words: str) -> None:
    from segurlink.config import Settings
    from segurlink.errors import ConfigurationError
    from segurlink.mssante import AnnuaireSettings

    with pytest.raises(ConfigurationError, match=words):
        AnnuaireSettings.from_settings(Settings.from_mapping({"annuaire": table}))
