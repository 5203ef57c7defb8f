"""The Annuaire Santé mock held by plain ``requests``, as any FHIR client would use it: the
API key, search rules, paging at 50, includes, what the live server refuses, the red list
served flagged, and faults through the shared control endpoint. Nothing here uses
segurlink's reader (segurlink.mssante.directory)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from segurlink_mocks.annuaire import (
    API_HEADER,
    API_KEY,
    CLAIRE_RPPS,
    EHPAD_FINESS,
    JEANNE_RPPS,
    MARTIN_COUNT,
    MAX_PAGE,
    PAUL_ADDRESS,
    RED_LISTED,
    AnnuaireMock,
)
from segurlink_mocks.pki import TestPki

META = "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-ext-mailbox-mss-metadata"


@pytest.fixture
def http(segurlink_pki: TestPki) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        session.verify = str(segurlink_pki.ca)
        session.headers[API_HEADER] = API_KEY
        yield session


@pytest.fixture
def control(segurlink_pki: TestPki) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        session.verify = str(segurlink_pki.ca)
        session.cert = segurlink_pki.client("insi-auto").as_requests_cert()
        yield session


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def get(http: requests.Session, mock: AnnuaireMock, path: str, **params: Any) -> Any:
    response = http.get(mock.endpoint + path, params=params, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/fhir+json")
    return response.json()


def every_page(http: requests.Session, first: dict[str, Any]) -> list[dict[str, Any]]:
    pages, bundle = [first], first
    while True:
        links = {link["relation"]: link["url"] for link in bundle["link"]}
        if "next" not in links:
            return pages
        bundle = http.get(links["next"], timeout=10).json()
        pages.append(bundle)


def resources(bundles: list[dict[str, Any]], mode: str = "match") -> list[dict[str, Any]]:
    return [
        e["resource"] for b in bundles for e in b.get("entry", ()) if e["search"]["mode"] == mode
    ]


def emails(resource: dict[str, Any]) -> list[str]:
    return [t["value"] for t in resource.get("telecom", ()) if t["system"] == "email"]


# -- the gateway -----------------------------------------------------------------------------


def test_the_api_key_is_required(http: requests.Session, annuaire_mock: AnnuaireMock) -> None:
    url = annuaire_mock.endpoint + "/Practitioner"
    for headers in ({API_HEADER: ""}, {API_HEADER: "wrong"}):
        refused = http.get(url, headers=headers, params={"family": "MARTIN"}, timeout=10)
        assert refused.status_code == 401
        assert refused.json() == {"message": "Unauthorized", "http_status_code": 401}
    assert http.get(url, params={"family": "MARTIN"}, timeout=10).status_code == 200


def test_metadata_lists_the_search_parameters(
    http: requests.Session, annuaire_mock: AnnuaireMock
) -> None:
    statement = get(http, annuaire_mock, "/metadata")
    params = {
        r["type"]: {p["name"] for p in r["searchParam"]} for r in statement["rest"][0]["resource"]
    }
    assert {"mailbox-mss", "family", "given", "identifier"} <= params["Practitioner"]
    assert {"mailbox-mss", "practitioner", "organization"} <= params["PractitionerRole"]
    assert "mailbox-mss-type" not in params["Organization"]


# -- searches ----------------------------------------------------------------------------------


def test_family_matches_the_start_case_and_accents_ignored(
    http: requests.Session, annuaire_mock: AnnuaireMock
) -> None:
    bundle = get(http, annuaire_mock, "/Practitioner", family="medecin")
    assert [r["name"][0]["family"] for r in resources([bundle])] == ["MEDECIN-TEST"]
    assert get(http, annuaire_mock, "/Practitioner", family="test")["total"] == 0
    assert get(http, annuaire_mock, "/Practitioner", **{"family:contains": "test"})["total"] >= 5
    exact = get(http, annuaire_mock, "/Practitioner", **{"family:exact": "medecin-test"})
    assert exact["total"] == 0
    accents = resources(every_page(http, get(http, annuaire_mock, "/Practitioner", given="elise")))
    assert accents and all(fold(r["name"][0]["given"][0]) == "elise" for r in accents)


def test_identifier_token_and_comma_as_or(
    http: requests.Session, annuaire_mock: AnnuaireMock
) -> None:
    system = "urn:oid:1.2.250.1.71.4.2.1"
    one = get(http, annuaire_mock, "/Practitioner", identifier=f"{system}|8{CLAIRE_RPPS}")
    assert [r["id"] for r in resources([one])] == ["pp-claire"]
    assert (
        get(http, annuaire_mock, "/Practitioner", identifier=f"other|8{CLAIRE_RPPS}")["total"] == 0
    )
    either = get(http, annuaire_mock, "/Practitioner", identifier=f"8{CLAIRE_RPPS},8{JEANNE_RPPS}")
    assert either["total"] == 2
    finess = get(
        http,
        annuaire_mock,
        "/Organization",
        identifier=f"https://finess.esante.gouv.fr|{EHPAD_FINESS}",
    )
    assert [r["name"] for r in resources([finess])] == ["EHPAD SEGURLINK TEST"]


def test_mailbox_mss_matches_any_email_of_the_resource(
    http: requests.Session, annuaire_mock: AnnuaireMock
) -> None:
    exact = get(http, annuaire_mock, "/Practitioner", **{"mailbox-mss:exact": PAUL_ADDRESS})
    (paul,) = resources([exact])
    assert PAUL_ADDRESS in emails(paul) and len(emails(paul)) == 3  # PER, CAB, ordinary
    ordinary = get(http, annuaire_mock, "/Organization", **{"mailbox-mss:contains": "example"})
    assert [r["id"] for r in resources([ordinary])] == ["org-ehpad"]


def test_fifty_a_page_and_every_page_once(
    http: requests.Session, annuaire_mock: AnnuaireMock
) -> None:
    first = get(http, annuaire_mock, "/Practitioner", family="MARTIN", _count="500")
    assert first["total"] == MARTIN_COUNT and len(first["entry"]) == MAX_PAGE
    pages = every_page(http, first)
    ids = [r["id"] for r in resources(pages)]
    assert len(pages) == 2 and len(ids) == len(set(ids)) == MARTIN_COUNT
    small = every_page(
        http, get(http, annuaire_mock, "/Practitioner", family="MARTIN", _count="20")
    )
    assert [len(p["entry"]) for p in small] == [20, 20, 20, 4]


def test_roles_with_their_organisation_or_practitioner_included(
    http: requests.Session, annuaire_mock: AnnuaireMock
) -> None:
    bundle = get(
        http,
        annuaire_mock,
        "/PractitionerRole",
        practitioner="Practitioner/pp-claire,pp-robert",
        _include="PractitionerRole:organization",
    )
    roles, included = resources([bundle]), resources([bundle], "include")
    assert {r["id"] for r in roles} == {"ps-claire-ehpad", "ps-robert-hopital"}
    assert {r["name"] for r in included} == {"EHPAD SEGURLINK TEST", "HOPITAL SEGURLINK"}
    by_org = get(
        http,
        annuaire_mock,
        "/PractitionerRole",
        organization="org-ehpad",
        _include="PractitionerRole:practitioner",
    )
    assert [r["name"][0]["family"] for r in resources([by_org], "include")] == ["INFIRMIERE-TEST"]


def test_red_listed_mailboxes_are_served_flagged(
    http: requests.Session, annuaire_mock: AnnuaireMock
) -> None:
    bundle = get(http, annuaire_mock, "/Practitioner", identifier=f"8{JEANNE_RPPS}")
    (jeanne,) = resources([bundle])
    (telecom,) = jeanne["telecom"]
    (metadata,) = [e for e in telecom["extension"] if e["url"] == META]
    assert {"url": "listeRouge", "valueBoolean": True} in metadata["extension"]
    assert telecom["value"] in RED_LISTED


# -- what the live server refuses ------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "status", "words"),
    [
        ("/Practitioner", {"mailbox-mss-type": "PER"}, 400, "Parameter mailbox-mss-type not found"),
        ("/Organization", {"family": "X"}, 400, "Parameter family not found"),
        ("/Practitioner", {"family:fuzzy": "X"}, 400, ":fuzzy"),
        ("/Practitioner", {"_include": "PractitionerRole:organization"}, 400, "_include"),
        ("", {"_type": "Practitioner,PractitionerRole"}, 400, "_type"),
        ("", {"_getpages": "no-such-search"}, 410, "does not exist"),
        ("/Practitioner", {"_count": "0"}, 400, "_count"),
        ("/Location", {}, 404, "Location"),
        ("/Practitioner/nobody", {}, 404, "nobody"),
    ],
)
def test_refusals_are_operation_outcomes(
    http: requests.Session,
    annuaire_mock: AnnuaireMock,
    path: str,
    params: dict[str, str],
    status: int,
    words: str,
) -> None:
    response = http.get(annuaire_mock.endpoint + path, params=params, timeout=10)
    assert response.status_code == status
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert words in outcome["issue"][0]["diagnostics"]


def test_no_batch(http: requests.Session, annuaire_mock: AnnuaireMock) -> None:
    batch = {"resourceType": "Bundle", "type": "batch", "entry": []}
    response = http.post(annuaire_mock.endpoint, json=batch, timeout=10)
    assert response.status_code == 405 and response.json()["resourceType"] == "OperationOutcome"


# -- faults through the control endpoint ---------------------------------------------------------


def test_faults_through_the_control_endpoint(
    http: requests.Session, control: requests.Session, annuaire_mock: AnnuaireMock
) -> None:
    faults = annuaire_mock.url + "/_mock/faults"
    url = annuaire_mock.endpoint + "/Practitioner"
    assert control.post(faults, json={"fault": "http429", "count": 1}).status_code == 201
    limited = http.get(url, params={"family": "MARTIN"}, timeout=10)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
    assert http.get(url, params={"family": "MARTIN"}, timeout=10).status_code == 200

    control.post(faults, json={"fault": "foreign_next"})
    foreign = http.get(url, params={"family": "MARTIN"}, timeout=10).json()
    (next_url,) = [link["url"] for link in foreign["link"] if link["relation"] == "next"]
    assert not next_url.startswith(annuaire_mock.url)

    control.post(faults, json={"fault": "loop_next"})
    looping = http.get(url, params={"family": "MARTIN"}, timeout=10).json()
    links = {link["relation"]: link["url"] for link in looping["link"]}
    assert links["next"] == links["self"]

    control.post(faults, json={"fault": "redirect"})
    moved = http.get(url, params={"family": "MARTIN"}, timeout=10, allow_redirects=False)
    assert moved.status_code == 302 and "elsewhere.invalid" in moved.headers["Location"]

    control.post(faults, json={"fault": "not_a_bundle"})
    assert http.get(url, timeout=10).json()["resourceType"] == "Parameters"

    control.post(faults, json={"fault": "http500"})
    assert http.get(url, timeout=10).status_code == 500

    refused = control.post(faults, json={"fault": "tempfail"})
    assert refused.status_code == 400
    assert (
        requests.post(faults, json={"fault": "http429"}, verify=http.verify, timeout=5).status_code
        == 403
    )
    assert [r.status for r in annuaire_mock.requests][-1] == 500


# -- consistency with the MSSanté mock -----------------------------------------------------------


def test_its_addresses_on_the_mssante_mock_operator_are_mailboxes_there() -> None:
    """An address found in the directory can be written to: on the MSSanté mock's own
    domain, each one the directory publishes (red list aside) is a mailbox of that kind."""
    from segurlink_mocks.annuaire import directory
    from segurlink_mocks.mssante.data import LOCAL_DOMAIN, MAILBOXES

    published: dict[str, str] = {}
    for resource in directory().values():
        for telecom in resource.get("telecom", ()):
            for extension in telecom.get("extension", ()):
                if extension["url"] != META:
                    continue
                subs = {s["url"]: s for s in extension["extension"]}
                if not subs["listeRouge"]["valueBoolean"]:
                    code = subs["type"]["valueCodeableConcept"]["coding"][0]["code"]
                    published[telecom["value"]] = code
    local = {a: kind for a, kind in published.items() if a.endswith("@" + LOCAL_DOMAIN)}
    assert len(local) == 5
    for address, kind in local.items():
        assert address in MAILBOXES and MAILBOXES[address].kind == kind, address
    remote = {a for a in published if a in MAILBOXES and not a.endswith("@" + LOCAL_DOMAIN)}
    assert remote == {
        "dr.destinataire@hopital-test.mssante.fr",
        "integration@hopital-test.mssante.fr",
    }
