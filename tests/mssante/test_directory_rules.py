"""The Annuaire Santé lookup's rules, whole: each refusal's message, each bound accepted at
its limit and refused past it, the URLs of every search written out, every field read
from a telecom and its holder, and the URL an unreadable answer names.

test_directory.py walks the flows; this file holds the details a user reads or sends.
"""

from __future__ import annotations

from typing import Any

import pytest

from segurlink.errors import InputError, Issue, MalformedResponse
from segurlink.mssante import MailboxKind, MailboxQuery, lookup_flow
from segurlink.mssante.directory import (
    EMAIL_TYPE_EXTENSION,
    ID_NAT_PS_SYSTEM,
    MAILBOX_METADATA_EXTENSION,
    MailboxLookup,
    Page,
    outcome_issues,
    parse_mailboxes,
    parse_page,
)
from tests.mssante.test_directory import BASE, mss, organization, practitioner, role, run

ENC_BASE = BASE  # the URLs below are written out whole, percent-encoding included
NATIONAL_ID = "urn%3Aoid%3A1.2.250.1.71.4.2.1%7C"
FINESS_ID = "https%3A%2F%2Ffiness.esante.gouv.fr%7C"

# -- criteria: the whole message of each refusal ----------------------------------------------


@pytest.mark.parametrize(
    ("criteria", "message"),
    [
        ({}, "nothing to look up: give a name, an RPPS or ADELI number, an organisation "
             "or FINESS number, or an address"),
        ({"name": 5}, "name must be a string, not int"),
        ({"first_name": "  "}, "first name must not be empty"),
        ({"organization": "O" * 101}, "organization is longer than 100 characters"),
        ({"name": "A\tB\x07"}, "name holds a control character"),
        ({"rpps": 10001234567}, "an RPPS number has 11 digits, not 10001234567"),
        ({"adeli": 751234567}, "an ADELI number has 9 characters (département, then 7 digits), "
                               "not 751234567"),
        ({"rpps": "10001234567", "adeli": "751234567"},
         "give an RPPS or an ADELI number, not both"),
        ({"address": 5}, "an address is a string, not int"),
        ({"address": " "}, "the address must not be empty"),
        ({"address": "a" * 255}, "an address has at most 254 characters"),
        ({"address": "a,b@x.fr"}, "not an address: 'a,b@x.fr' (spaces, commas, quotes or <>)"),
        ({"address": 'a"b@x.fr'}, "not an address: 'a\"b@x.fr' (spaces, commas, quotes or <>)"),
        ({"address": "<a@x.fr>"}, "not an address: '<a@x.fr>' (spaces, commas, quotes or <>)"),
        ({"address": "a\x00b@x.fr"}, "not an address: 'a\\x00b@x.fr' (spaces, commas, quotes "
                                     "or <>)"),
        ({"address": "a@b@x.fr", "exact": True}, "not a whole address (local@domain): 'a@b@x.fr'"),
        ({"address": "a@mssante", "exact": True}, "not a whole address (local@domain): 'a@mssante'"),
        ({"address": "@x.fr", "exact": True}, "not a whole address (local@domain): '@x.fr'"),
        ({"address": "a@", "exact": True}, "not a whole address (local@domain): 'a@'"),
        ({"exact": True, "name": "X"}, "exact applies to an address: give the address to look up"),
        ({"name": "X", "finess": "010000016"},
         "look up a person, an organisation or an address, one at a time "
         "(got organization and person criteria)"),
        ({"rpps": "10001234567", "organization": "E", "address": "a@x.fr"},
         "look up a person, an organisation or an address, one at a time "
         "(got address and organization and person criteria)"),
        ({"name": "X", "kinds": []},
         "no mailbox type asked for: give at least one of PER, ORG, APP, CAB"),
        ({"name": "X", "kinds": "BAL"}, "unknown mailbox type 'BAL': PER, ORG, APP or CAB (TRE_R257)"),
    ],
)  # fmt: skip
def test_each_refusal_says_what_is_wrong(criteria: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError) as info:
        MailboxQuery(**criteria)
    assert str(info.value) == message


def test_each_bound_is_accepted_at_its_limit() -> None:
    assert MailboxQuery(name="N" * 100).name == "N" * 100
    address = "a" * 240 + "@x.mssante.fr"
    assert len(address) == 253 and MailboxQuery(address=address + "x").address == address + "x"
    assert MailboxQuery(address="a@b.mssante.fr", exact=True).address == "a@b.mssante.fr"
    # A part of an address is enough without exact.
    assert MailboxQuery(address="mssante.fr").address == "mssante.fr"


def test_one_type_may_be_given_alone() -> None:
    assert MailboxQuery(name="X", kinds="cab").kinds == {MailboxKind.CAB}  # type: ignore[arg-type]
    assert MailboxQuery(name="X", kinds=MailboxKind.APP).kinds == {MailboxKind.APP}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("criteria", "target"),
    [({"first_name": "Jo"}, "person"), ({"adeli": "751234567"}, "person"),
     ({"organization": "E"}, "organization"), ({"address": "a@x.fr"}, "address")],
)  # fmt: skip
def test_each_criterion_names_its_target(criteria: dict[str, Any], target: str) -> None:
    assert MailboxQuery(**criteria).target == target


def test_an_address_lookup_matches_a_part_or_the_whole_address_case_ignored() -> None:
    part = MailboxQuery(address="Dupont@")
    assert part.matches_address("jean.dupont@x.mssante.fr")
    assert not part.matches_address("jean.durand@x.mssante.fr")
    whole = MailboxQuery(address="Jean.Dupont@x.mssante.fr", exact=True)
    assert whole.matches_address("jean.dupont@X.mssante.fr")
    assert not whole.matches_address("jean.dupont@x.mssante.fr.example")
    assert MailboxQuery(name="X").matches_address("anything@x.fr")


def test_a_mailbox_without_type_is_kept_only_when_every_type_is_asked_for() -> None:
    assert MailboxQuery(name="X").keeps(None)
    assert not MailboxQuery(name="X", kinds=frozenset(MailboxKind) - {MailboxKind.CAB}).keeps(None)
    assert MailboxQuery(name="X", kinds=frozenset({MailboxKind.PER})).keeps(MailboxKind.PER)
    assert not MailboxQuery(name="X", kinds=frozenset({MailboxKind.PER})).keeps(MailboxKind.ORG)


# -- the searches, written out whole ----------------------------------------------------------


def _urls(query: MailboxQuery, pages: dict[str, Page] | None = None, **options: Any) -> list[str]:
    _, fetched = run(lookup_flow(query, base_url=BASE + "/", **options), pages or {})
    return fetched


def test_a_person_by_name_and_first_name() -> None:
    pages = {"Practitioner": Page((practitioner("p1", "X"),))}
    assert _urls(MailboxQuery(name="Le Gall", first_name="Jo"), pages) == [
        f"{ENC_BASE}/Practitioner?family=Le+Gall&given=Jo&_count=50",
        f"{ENC_BASE}/PractitionerRole?practitioner=Practitioner%2Fp1"
        "&_include=PractitionerRole%3Aorganization&_count=50",
    ]


def test_a_person_by_rpps_or_adeli_is_searched_by_their_national_id() -> None:
    assert _urls(MailboxQuery(rpps="10001234567", kinds=frozenset({MailboxKind.CAB}))) == [
        f"{ENC_BASE}/Practitioner?identifier={NATIONAL_ID}810001234567&_count=50"
    ]
    assert _urls(MailboxQuery(adeli="2A1234567"), page_size=7) == [
        f"{ENC_BASE}/Practitioner?identifier={NATIONAL_ID}02A1234567&_count=7"
    ]


def test_an_organisation_by_finess_and_name_then_the_roles_there() -> None:
    pages = {"Organization": Page((organization("o1", "E"),))}
    assert _urls(MailboxQuery(finess="010000016", organization="EHPAD X"), pages) == [
        f"{ENC_BASE}/Organization?identifier={FINESS_ID}010000016&name=EHPAD+X&_count=50",
        f"{ENC_BASE}/PractitionerRole?organization=Organization%2Fo1"
        "&_include=PractitionerRole%3Apractitioner&_count=50",
    ]


def test_an_address_is_searched_on_each_holder_that_can_have_the_types() -> None:
    assert _urls(MailboxQuery(address="a@x.fr", exact=True)) == [
        f"{ENC_BASE}/Practitioner?mailbox-mss%3Aexact=a%40x.fr&_count=50",
        f"{ENC_BASE}/PractitionerRole?mailbox-mss%3Aexact=a%40x.fr"
        "&_include=PractitionerRole%3Apractitioner&_include=PractitionerRole%3Aorganization"
        "&_count=50",
        f"{ENC_BASE}/Organization?mailbox-mss%3Aexact=a%40x.fr&_count=50",
    ]
    assert _urls(MailboxQuery(address="x.fr", kinds=frozenset({MailboxKind.CAB}))) == [
        f"{ENC_BASE}/Practitioner?mailbox-mss%3Acontains=x.fr&_count=50",
    ]


@pytest.mark.parametrize(
    ("criteria", "kinds"),
    [({"name": "X"}, {"ORG", "APP"}), ({"finess": "010000016"}, {"CAB"})],
)
def test_no_search_is_sent_for_types_a_holder_cannot_have(
    criteria: dict[str, Any], kinds: set[str]
) -> None:
    query = MailboxQuery(**criteria, kinds=frozenset(MailboxKind(k) for k in kinds))
    assert _urls(query) == []


def test_only_holders_of_the_searched_type_are_asked_for_their_roles() -> None:
    pages = {
        "Practitioner": Page(
            (
                practitioner("p1", "X"),
                {"resourceType": "Organization", "id": "o9"},
                {"resourceType": "Practitioner"},  # no id: nothing to refer to
            )
        )
    }
    assert _urls(MailboxQuery(name="X"), pages)[1:] == [
        f"{ENC_BASE}/PractitionerRole?practitioner=Practitioner%2Fp1"
        "&_include=PractitionerRole%3Aorganization&_count=50"
    ]


def test_the_smallest_paging_is_accepted_and_bad_paging_says_why() -> None:
    assert len(_urls(MailboxQuery(name="X"), page_size=1, max_pages=1)) == 1
    for options, message in (
        ({"page_size": 0}, "page_size must be between 1 and 50, not 0"),
        ({"max_pages": 0}, "max_pages must be at least 1, not 0"),
    ):
        with pytest.raises(InputError) as info:
            next(lookup_flow(MailboxQuery(name="X"), base_url=BASE, **options))
        assert str(info.value) == message


def test_a_next_link_is_followed_whatever_the_case_of_the_scheme_and_host() -> None:
    flow = lookup_flow(MailboxQuery(name="X", kinds=frozenset({MailboxKind.CAB})), base_url=BASE)
    next(flow)
    step = flow.send(Page(next_url="HTTPS://Annuaire.INVALID/fhir/v2?_getpages=x"))
    assert step.url == "HTTPS://Annuaire.INVALID/fhir/v2?_getpages=x"


def test_a_paging_loop_names_the_url_and_the_answer_s_errors_name_the_page() -> None:
    flow = lookup_flow(MailboxQuery(name="X"), base_url=BASE)
    first = next(flow)
    with pytest.raises(MalformedResponse) as info:
        flow.send(Page(next_url=first.url))
    assert str(info.value).startswith("the Annuaire Santé sent a paging loop")
    assert info.value.url == first.url
    flow = lookup_flow(MailboxQuery(name="X"), base_url=BASE)
    first = next(flow)
    broken = practitioner("p1", "X")
    broken["telecom"] = "a@x.fr"
    with pytest.raises(MalformedResponse) as info:
        flow.send(Page((broken,)))
    assert info.value.url == first.url


# -- the answers: every field of a mailbox ----------------------------------------------------


def _metadata_telecom(address: str, *sub: dict[str, Any]) -> dict[str, Any]:
    return {
        "system": "email",
        "value": address,
        "extension": [
            {"url": "https://example.org/other-extension", "valueString": "x"},
            {"url": MAILBOX_METADATA_EXTENSION, "extension": list(sub)},
        ],
    }


def test_every_metadata_field_is_read() -> None:
    telecom = _metadata_telecom(
        " a@x.mssante.fr ",
        {"url": "type", "valueCoding": {"code": "APP"}},
        {"url": "description", "valueString": "Secrétariat"},
        {"url": "service", "valueString": "Cardiologie"},
        {"url": "digitization", "valueBoolean": True},
        {"url": "listeRouge", "valueBoolean": False},
        {"url": "other", "valueString": "ignored"},
    )
    (mailbox,) = parse_mailboxes(organization("o1", "EHPAD X", telecom))
    assert (mailbox.address, mailbox.kind, mailbox.description, mailbox.service) == (
        "a@x.mssante.fr", MailboxKind.APP, "Secrétariat", "Cardiologie",
    )  # fmt: skip
    assert (mailbox.digitization, mailbox.red_list) == (True, False)
    (plain,) = parse_mailboxes(
        organization(
            "o1", "E", _metadata_telecom("b@x.fr", {"url": "digitization", "valueBoolean": False})
        )
    )
    assert (plain.kind, plain.description, plain.service, plain.digitization) == (
        None, "", "", False,
    )  # fmt: skip
    (bare,) = parse_mailboxes(organization("o1", "E", _metadata_telecom("c@x.fr")))
    assert (bare.digitization, bare.description, bare.service) == (None, "", "")


def test_a_type_outside_the_table_or_without_code_is_not_given() -> None:
    (unknown,) = parse_mailboxes(
        organization(
            "o1", "E", _metadata_telecom("a@x.fr", {"url": "type", "valueCoding": {"code": "BAL"}})
        )
    )
    assert unknown.kind is None
    concept = {"coding": [{"system": "https://example.org"}, "junk", {"code": "ORG"}]}
    (second,) = parse_mailboxes(
        organization(
            "o1", "E", _metadata_telecom("a@x.fr", {"url": "type", "valueCodeableConcept": concept})
        )
    )
    assert second.kind is MailboxKind.ORG


@pytest.mark.parametrize("flag", ["listeRouge", "digitization"])
def test_an_unreadable_flag_names_itself_and_the_page(flag: str) -> None:
    telecom = _metadata_telecom("a@x.fr", {"url": flag, "valueString": "true"})
    with pytest.raises(MalformedResponse) as info:
        parse_mailboxes(organization("o1", "E", telecom), url="https://annuaire.invalid/p")
    assert str(info.value).startswith(f"the mailbox extension {flag!r} is not a boolean")
    assert info.value.url == "https://annuaire.invalid/p"


def test_the_core_email_type_may_be_a_codeable_concept() -> None:
    telecom = {
        "system": "email",
        "value": "a@x.fr",
        "extension": [
            {"url": EMAIL_TYPE_EXTENSION, "valueCodeableConcept": {"coding": [{"code": "MSSANTE"}]}}
        ],
    }
    assert [m.address for m in parse_mailboxes(organization("o1", "E", telecom))] == ["a@x.fr"]


@pytest.mark.parametrize(
    ("resource", "message"),
    [
        ({"resourceType": "Organization", "telecom": {}}, "telecom is not a list in the answer"),
        ({"resourceType": "Practitioner", "name": "X", "telecom": [mss("a@x.fr")]},
         "name is not a list in the answer"),
        ({"resourceType": "Practitioner", "identifier": {}, "telecom": [mss("a@x.fr")]},
         "identifier is not a list in the answer"),
        ({"resourceType": "Organization", "identifier": {}, "telecom": [mss("a@x.fr")]},
         "identifier is not a list in the answer"),
        ({"resourceType": "Organization", "telecom": ["a@x.fr"]},
         "a telecom entry is not an object"),
        ({"resourceType": "Organization",
          "telecom": [{"system": "email", "value": "a@x.fr", "extension": ["x"]}]},
         "an extension list is not a list of objects"),
        ({"resourceType": "Organization",
          "telecom": [{"system": "email", "value": "a@x.fr", "extension": [
              {"url": MAILBOX_METADATA_EXTENSION, "extension": "x"}]}]},
         "an extension list is not a list of objects"),
    ],
)  # fmt: skip
def test_a_wrong_shape_says_which_and_names_the_page(
    resource: dict[str, Any], message: str
) -> None:
    with pytest.raises(MalformedResponse) as info:
        parse_mailboxes(resource, url="https://annuaire.invalid/p")
    assert str(info.value).startswith(message)
    assert info.value.url == "https://annuaire.invalid/p"


def test_the_official_name_is_preferred_and_partial_names_are_read() -> None:
    def holder(*names: Any) -> tuple[str, str]:
        resource = practitioner("p1", "X", mss("a@x.fr"))
        resource["name"] = list(names)
        (mailbox,) = parse_mailboxes(resource)
        return mailbox.family, mailbox.given

    usual = {"use": "usual", "family": "USUEL", "given": ["U"]}
    official = {"use": "official", "family": "OFFICIEL", "given": ["Anne", 3, "Marie"]}
    assert holder(usual, official) == ("OFFICIEL", "Anne Marie")
    assert holder(official, usual) == ("OFFICIEL", "Anne Marie")
    assert holder({"given": ["Jo"]}) == ("", "Jo")
    assert holder({"family": "SEUL"}) == ("SEUL", "")
    assert holder("junk", {"text": "no parts"}) == ("", "")
    assert holder() == ("", "")


def test_identifiers_of_other_systems_are_not_taken() -> None:
    resource = practitioner("p1", "X", mss("a@x.fr"))
    resource["identifier"] = [
        "junk",
        {"system": "urn:oid:1.2.250.1.71.4.2.9", "value": "999"},
        {"system": ID_NAT_PS_SYSTEM, "value": 810001234567},
        {"system": ID_NAT_PS_SYSTEM, "value": "810001234567"},
    ]
    (mailbox,) = parse_mailboxes(resource)
    assert (mailbox.national_id, mailbox.rpps) == ("810001234567", "10001234567")
    resource["identifier"] = [{"system": "urn:oid:1.2.250.1.71.4.2.9", "value": "999"}]
    (mailbox,) = parse_mailboxes(resource)
    assert (mailbox.national_id, mailbox.rpps, mailbox.adeli) == ("", "", "")
    org = organization("o1", "E", mss("o@x.fr", "ORG"))
    del org["identifier"]
    (mailbox,) = parse_mailboxes(org)
    assert (mailbox.finess, mailbox.national_id, mailbox.family, mailbox.holder_id) == (
        "", "", "", "o1",
    )  # fmt: skip


def test_a_practitioner_holds_its_mailbox_without_organisation() -> None:
    (mailbox,) = parse_mailboxes(practitioner("p1", "DUPONT", mss("a@x.fr")))
    assert (mailbox.holder, mailbox.holder_id, mailbox.family, mailbox.given) == (
        "Practitioner", "p1", "DUPONT", "Jo",
    )  # fmt: skip
    assert (mailbox.organization, mailbox.finess, mailbox.national_id) == ("", "", "8" + "1" * 11)
    anonymous = practitioner("", "X", mss("b@x.fr"))
    del anonymous["id"]
    assert parse_mailboxes(anonymous)[0].holder_id == ""


def test_a_role_whose_references_cannot_be_followed_has_no_names() -> None:
    resources = {
        "Practitioner/p1": practitioner("p1", "DUPONT"),
        "Organization/o1": organization("o1", "EHPAD X"),
    }
    broken = role("r1", "p1", "o1", mss("a@x.fr"))
    broken["practitioner"] = "Practitioner/p1"  # not a Reference object
    broken["organization"] = {"reference": 7}
    (mailbox,) = parse_mailboxes(broken, resources)
    assert (mailbox.family, mailbox.national_id, mailbox.organization, mailbox.finess) == (
        "", "", "", "",
    )  # fmt: skip
    unnamed = organization("o1", "")
    (mailbox,) = parse_mailboxes(
        role("r1", "p1", "o1", mss("a@x.fr")), {"Organization/o1": unnamed}
    )
    assert (mailbox.organization, mailbox.finess) == ("", "010000016")


def test_other_resources_hold_no_mailbox() -> None:
    assert parse_mailboxes({"resourceType": "Patient", "telecom": [mss("a@x.fr")]}) == []


# -- pages and outcomes --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bundle", "message"),
    [
        ({"resourceType": "Bundle", "type": "searchset", "link": {}}, "link is not a list in the answer"),
        ({"resourceType": "Bundle", "type": "searchset", "entry": {}}, "entry is not a list in the answer"),
        ({"resourceType": "Bundle", "type": "searchset", "entry": ["junk"]},
         "a Bundle entry without a resource"),
        ({"resourceType": "Bundle", "type": "searchset", "link": [{"relation": "next", "url": ""}]},
         "a next link without a URL"),
        ({"resourceType": "Bundle", "type": "searchset", "total": -1},
         "the Bundle total is not a count: -1"),
        ({"resourceType": "Bundle", "type": "searchset", "total": True},
         "the Bundle total is not a count: True"),
        ({"resourceType": "Bundle", "type": "searchset", "entry": [{"search": {"mode": "match"}}]},
         "a Bundle entry without a resource"),
        ({"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {"id": "x"}}]},
         "a Bundle entry without a resource"),
        ({"resourceType": "Bundle", "type": "batch-response"},
         "the Annuaire Santé answered a 'batch-response' Bundle, not a searchset"),
        ({"resourceType": "OperationOutcome"},
         "the Annuaire Santé answered a OperationOutcome, not a Bundle"),
        ([], "the Annuaire Santé answered a list, not a Bundle"),
    ],
)  # fmt: skip
def test_a_page_that_cannot_be_read_says_why_and_where(bundle: Any, message: str) -> None:
    with pytest.raises(MalformedResponse) as info:
        parse_page(bundle, "https://annuaire.invalid/p")
    assert str(info.value).startswith(message)
    assert info.value.url == "https://annuaire.invalid/p"


def test_a_page_keeps_the_last_next_link_and_entries_without_search_mode() -> None:
    page = parse_page(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "link": [
                "junk",
                {"relation": "previous", "url": "p"},
                {"relation": "next", "url": "n"},
            ],
            "entry": [{"resource": practitioner("p1", "X")}],
        }
    )
    assert ([r["id"] for r in page.matches], page.next_url, page.total) == (["p1"], "n", None)
    assert parse_page({"resourceType": "Bundle", "type": "searchset"}) == Page()


def test_an_operation_outcome_gives_each_issue_whole() -> None:
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [
            "junk",
            {"severity": "warning", "code": "too-costly", "details": {"text": "narrow it"}},
            {"code": "invalid", "diagnostics": "bad parameter", "details": {"text": "ignored"}},
            {},
        ],
    }
    assert outcome_issues(outcome) == (
        Issue(severity="warning", message="narrow it", rule="too-costly"),
        Issue(severity="error", message="bad parameter", rule="invalid"),
        Issue(severity="error", message="", rule=""),
    )
    assert outcome_issues({"resourceType": "Bundle", "issue": [{"code": "x"}]}) == ()
    assert outcome_issues(["not", "an", "outcome"]) == ()


# -- what a lookup keeps ---------------------------------------------------------------------


def test_the_place_of_an_exercise_situation_is_added_to_a_mailbox_found_without_one() -> None:
    pages = {
        "Practitioner": Page((practitioner("p1", "X", mss("a@x.fr"), mss("b@x.fr")),)),
        "PractitionerRole": Page(
            (
                role("r1", "p1", "o1", mss("A@X.fr")),
                role("r2", "p1", "o2", mss("a@x.fr")),  # a second place: the first one stays
            ),
            included={
                "Organization/o1": organization("o1", "EHPAD X"),
                "Organization/o2": {**organization("o2", "EHPAD Y"), "identifier": []},
            },
        ),
    }
    result, _ = run(lookup_flow(MailboxQuery(name="X"), base_url=BASE), pages)
    assert isinstance(result, MailboxLookup) and len(result) == 2
    a, b = result
    assert (a.address, a.holder, a.organization, a.finess) == (
        "a@x.fr", "Practitioner", "EHPAD X", "010000016",
    )  # fmt: skip
    assert (b.address, b.organization) == ("b@x.fr", "")


def test_every_red_listed_address_is_withheld_and_counted_once() -> None:
    pages = {
        "Practitioner": Page(
            (
                practitioner("p1", "X", mss("r1@x.fr", red_list=True), mss("ok@x.fr")),
                practitioner(
                    "p2", "X", mss("r2@x.fr", red_list=True), mss("R1@x.fr"), mss("ok2@x.fr")
                ),
            )
        ),
    }
    result, _ = run(
        lookup_flow(MailboxQuery(name="X", kinds=frozenset({MailboxKind.PER})), base_url=BASE),
        pages,
    )
    assert (result.addresses, result.withheld) == (("ok@x.fr", "ok2@x.fr"), 2)


def test_an_error_without_a_page_names_none() -> None:
    with pytest.raises(MalformedResponse) as info:
        parse_page([])
    assert info.value.url == ""
    with pytest.raises(MalformedResponse) as info:
        parse_mailboxes({"resourceType": "Organization", "telecom": {}})
    assert info.value.url == ""


def test_included_resources_are_kept_by_type_and_id() -> None:
    org = organization("o1", "E")
    anonymous = {"resourceType": "Organization", "name": "no id"}
    page = parse_page(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [
                {"resource": org, "search": {"mode": "include"}},
                {"resource": anonymous, "search": {"mode": "include"}},
            ],
        }
    )
    assert page.included == {"Organization/o1": org, "Organization/": anonymous}
    assert page.matches == ()


def test_telecoms_that_are_not_mssante_addresses_are_skipped_not_the_rest() -> None:
    skipped = [
        {"system": "phone", "value": "a@x.fr", "extension": mss("a@x.fr")["extension"]},
        {"system": "email", "value": "", "extension": mss("a@x.fr")["extension"]},
        {"system": "email", "value": 5, "extension": mss("a@x.fr")["extension"]},
        {"system": "email", "value": "plain@example.org"},
    ]
    resource = organization("o1", "E", *skipped, mss("ok@x.fr", "ORG"))
    assert [m.address for m in parse_mailboxes(resource)] == ["ok@x.fr"]


def test_a_mailbox_of_a_type_not_asked_for_does_not_hide_the_next_one() -> None:
    pages = {"Practitioner": Page((practitioner("p1", "X", mss("c@x.fr", "CAB"), mss("p@x.fr")),))}
    result, _ = run(
        lookup_flow(MailboxQuery(name="X", kinds=frozenset({MailboxKind.PER})), base_url=BASE),
        pages,
    )
    assert result.addresses == ("p@x.fr",)


def test_the_base_url_is_kept_as_given_apart_from_trailing_slashes() -> None:
    flow = lookup_flow(MailboxQuery(name="X"), base_url="https://annuaire.invalid/FHIR-X//")
    assert next(flow).url == "https://annuaire.invalid/FHIR-X/Practitioner?family=X&_count=50"
