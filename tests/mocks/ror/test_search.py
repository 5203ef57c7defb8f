"""The ROR mock's search rules, seen over HTTP: strings, repeated structures one instance
at a time, result parameters, Practitioner, what a capacity PATCH leaves stored."""

from __future__ import annotations

from typing import Any

import pytest
from segurlink_mocks.ror import CLIENT_ID, CLIENT_SECRET, RorMock

from tests.mocks.ror.capability import CAP, SD, Mock, fold, has_code, subs


@pytest.fixture
def mock(ror_mock: RorMock, segurlink_pki: Any) -> Mock:
    return Mock(ror_mock.fhir_base, ror_mock.token_url, CLIENT_ID, CLIENT_SECRET,
                str(segurlink_pki.ca))


def _names(mock: Mock, kind: str, params: list[tuple[str, str]]) -> list[str]:
    return [r["name"] for r in mock.search(kind, params)]


# -- strings: starts-with, case and accents ignored, :contains, :exact ----------------------


def test_name_is_starts_with_not_contains(mock: Mock) -> None:
    contains = _names(mock, "Organization", [("name:contains", "hospitalier")])
    assert any(fold(n).startswith("groupement centre hospitalier") for n in contains)
    assert _names(mock, "Organization", [("name", "hospitalier")]) == []
    starts = _names(mock, "Organization", [("name", "centre hospit")])
    assert starts and all(fold(n).startswith("centre hospit") for n in starts)


def test_name_ignores_case_and_accents_unless_exact(mock: Mock) -> None:
    assert _names(mock, "Organization", [("name", "ehpad les tilleuls")]) == ["EHPAD LES TILLEULS"]
    pole = _names(mock, "Organization", [("name", "pole 1")])
    assert pole and all(n.startswith("PÔLE 1") for n in pole)
    assert _names(mock, "Organization", [("name:exact", "EHPAD LES TILLEULS")]) == [
        "EHPAD LES TILLEULS"]
    assert _names(mock, "Organization", [("name:exact", "ehpad les tilleuls")]) == []
    assert _names(mock, "Organization", [("name:exact", "EHPAD LES")]) == []


def test_unknown_modifier_is_a_400_naming_it(mock: Mock) -> None:
    response = mock.get("Organization", [("name:fuzzy", "x")])
    assert response.status_code == 400
    assert ":fuzzy" in response.json()["issue"][0]["diagnostics"]


# -- repeated structures: one instance at a time ------------------------------------------------


def _indicators(location: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in location.get("extension", ()) if e["url"] == CAP]


def _count(indicator: dict[str, Any]) -> int:
    return int(subs(indicator, "nbCapacity")[0])


def _status(indicator: dict[str, Any]) -> str:
    return str(subs(indicator, "capacityStatus")[0]["coding"][0]["code"])


def test_capacity_criteria_hold_for_one_and_the_same_indicator(
    mock: Mock, ror_mock: RorMock
) -> None:
    found = list(mock.search("Location", [("capacity-status", "02"), ("nb-capacity", "ge3")]))
    assert found
    for location in found:
        assert any(_status(i) == "02" and _count(i) >= 3 for i in _indicators(location))
    # Locations with an available indicator and an indicator of 3 or more, but not both
    # at once (e.g. 30 installed, 1 available) are left out.
    split = [
        r for r in ror_mock.data.of_type("Location")
        if any(_status(i) == "02" for i in _indicators(r))
        and any(_count(i) >= 3 for i in _indicators(r))
        and not any(_status(i) == "02" and _count(i) >= 3 for i in _indicators(r))
    ]
    assert split
    assert not {r["id"] for r in split} & {r["id"] for r in found}


def test_price_criteria_hold_for_one_and_the_same_price(mock: Mock) -> None:
    params = [("price-type", "02"), ("price-amount-value", "le75")]
    found = list(mock.search("Organization", params))
    assert found
    for org in found:
        prices = [e for e in org["extension"] if e["url"] == SD + "ror-organization-price"]
        assert any(has_code(subs(p, "priceType")[0], "02") and subs(p, "amount")[0]["value"] <= 75
                   for p in prices)
    # Chained from the services (the ROR guide's query): the same reading.
    services = list(mock.search("HealthcareService", [
        ("organization.price-type", "02"), ("organization.price-amount-value", "le75"),
    ]))
    assert {s["providedBy"]["reference"] for s in services} == {
        f"Organization/{o['id']}" for o in found}


def test_additional_beds_carry_a_crisis_type(mock: Mock) -> None:
    found = list(mock.search("Location", [("capacity-status", "06")]))
    assert found
    for location in found:
        for indicator in _indicators(location):
            if _status(indicator) == "06":
                assert subs(indicator, "crisisType") and subs(indicator, "additionalBedType")
    assert list(mock.search("Location", [("crisis-type", "02"), ("capacity-status", "06")]))


# -- result parameters ------------------------------------------------------------------------


def test_count_zero_and_summary_count_give_the_total_only(mock: Mock) -> None:
    full = mock.get("Location", [("_tag", "https://mos.esante.gouv.fr/NOS/TRE_R30-RegionOM/FHIR/"
                                          "TRE-R30-RegionOM|24")]).json()
    for extra in (("_count", "0"), ("_summary", "count")):
        bundle = mock.get("Location", [("_tag", "https://mos.esante.gouv.fr/NOS/TRE_R30-RegionOM"
                                                "/FHIR/TRE-R30-RegionOM|24"), extra]).json()
        assert bundle["total"] == full["total"] > 0
        assert "entry" not in bundle
        assert all(link["relation"] != "next" for link in bundle["link"])
    assert mock.get("Location", [("_summary", "true")]).status_code == 400


def test_elements_keep_the_listed_elements_of_the_matches(mock: Mock) -> None:
    bundle = mock.get("HealthcareService", [
        ("_elements", "name,location"), ("_include", "HealthcareService:location"),
        ("_count", "3"),
    ]).json()
    matches = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "match"]
    included = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "include"]
    assert len(matches) == 3 and included
    for match in matches:
        assert set(match) == {"resourceType", "id", "meta", "name", "location"}
        assert any(t["code"] == "SUBSETTED" for t in match["meta"]["tag"])
    assert all("extension" in r for r in included)  # included resources are whole


# -- practitioners ----------------------------------------------------------------------------


def test_every_role_points_at_a_served_practitioner(mock: Mock, ror_mock: RorMock) -> None:
    roles = list(mock.search("PractitionerRole", []))
    practitioners = {p["id"] for p in mock.search("Practitioner", [])}
    assert roles and practitioners
    assert all(r["practitioner"]["reference"].split("/")[1] in practitioners for r in roles)
    assert all(r["identifier"][0]["value"] for r in roles)
    one = ror_mock.landmarks["practitioner_id"]
    assert mock.get(f"Practitioner/{one}", []).json()["id"] == one


def test_practitioners_of_a_service_in_one_search(mock: Mock, ror_mock: RorMock) -> None:
    service = ror_mock.landmarks["ehpad_service_id"]
    bundle = mock.get("HealthcareService", [
        ("_id", service), ("_revinclude", "PractitionerRole:service"),
        ("_include:iterate", "PractitionerRole:practitioner"),
    ]).json()
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds[0] == "HealthcareService" and "PractitionerRole" in kinds
    assert "Practitioner" in kinds


def test_task_is_refused_by_name(mock: Mock) -> None:
    response = mock.get("HealthcareService", [("_revinclude", "Task:focus")])
    assert response.status_code == 400 and "Task" in response.json()["issue"][0]["diagnostics"]


# -- what the ROR keeps after a capacity PATCH --------------------------------------------------


def test_a_published_indicator_is_stored_as_the_ror_codes_it(
    ror_settings: Any, ror_mock: RorMock
) -> None:
    from segurlink.ror import CapacityUpdate, RorClient

    marks = ror_mock.landmarks
    with RorClient.from_settings(ror_settings) as client:
        outcome = client.publish_capacity(
            marks["location_sync_id"], CapacityUpdate(count=2, temporality="03", gender="02")
        )
    assert outcome.ok
    stored = ror_mock.resource(f"Location/{marks['location_id']}")
    assert stored is not None
    [indicator] = [i for i in _indicators(stored)
                   if has_code(subs(i, "temporalityCapacity")[0], "03")]
    order = [e["url"] for e in indicator["extension"]]
    assert order.index("nbCapacity") < order.index("capacityStatus")  # the IG example's order
    source = subs(indicator, "capacitySourceType")[0]["coding"][0]
    assert (source["code"], source["display"]) == ("04", "Dossier patient informatisé (DPI)")
    for sub in indicator["extension"]:
        if "valueCodeableConcept" in sub:
            coding = sub["valueCodeableConcept"]["coding"][0]
            assert coding["system"].startswith("https://mos.esante.gouv.fr/NOS/TRE_R3")
            assert coding["display"]  # the ROR's label, whatever the client sent
    ror_mock.reset()
