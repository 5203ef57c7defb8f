"""Pure ROR message rules: queries, bundles with includes, capacity patches, outcomes."""

from __future__ import annotations

import datetime as dt

import pytest

from segurlink.errors import InputError, MalformedResponse, ValidationError
from segurlink.ror import (
    CAPACITY_EXTENSION,
    CapacityUpdate,
    HealthcareService,
    Include,
    Near,
    PublicationStatus,
    capacity_patch,
    classify_capacity_answer,
    location_query,
    organization_query,
    outcome_issues,
    parse_bundle,
    service_query,
    to_fhir_model,
)


def test_organization_query_by_finess_with_delta_and_parents() -> None:
    q = organization_query(
        finess="450000088", updated_since=dt.date(2025, 1, 2), include={Include.PARENTS}, count=50
    )
    assert q.resource_type == "Organization"
    assert q.params == (
        ("identifier", "https://finess.esante.gouv.fr|450000088"),
        ("_include:iterate", "Organization:partof"),
        ("_lastUpdated", "ge2025-01-02"),
        ("_count", "50"),
    )


def test_service_query_hierarchy_age_and_distance() -> None:
    q = service_query(
        organization_finess="450000088",
        organization_hierarchy=True,
        age=80,
        near=Near(47.9, 1.9, 25),
        include={Include.ORGANIZATION, Include.LOCATIONS, Include.ROLES},
    )
    params = dict(q.params)
    assert params["organization.identifier:above"] == "https://finess.esante.gouv.fr|450000088"
    assert params["age-range-low"] == "le80" and params["age-range-high"] == "ge80"
    assert params["location.near"] == "47.9|1.9|25|km"
    assert ("_revinclude", "PractitionerRole:service") in q.params
    assert ("_include", "HealthcareService:organization") in q.params


@pytest.mark.parametrize(
    "bad",
    [
        lambda: Near(0, 0, 1001),
        lambda: Near(91, 0),
        lambda: organization_query(count=0),
        lambda: organization_query(count=1001),
        lambda: service_query(age=-5),
        lambda: location_query(min_capacity=-1),
        lambda: organization_query(updated_since="yesterday"),
        lambda: organization_query(updated_since="2025-13"),
    ],
)
def test_out_of_range_criteria_are_input_errors(bad: object) -> None:
    with pytest.raises(InputError):
        bad()  # type: ignore[operator]


def test_location_query_capacity_criteria_and_datetime_delta() -> None:
    since = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
    q = location_query(capacity_status="02", min_capacity=1, updated_since=since)
    assert ("nb-capacity", "ge1") in q.params
    assert ("_lastUpdated", "ge2025-03-01T12:00:00Z") in q.params


def _bundle() -> dict[str, object]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 7,
        "link": [{"relation": "next", "url": "https://h/fhir?_getpages=x&_getpagesoffset=1"}],
        "entry": [
            {
                "resource": {
                    "resourceType": "HealthcareService",
                    "id": "s1",
                    "name": "Gériatrie",
                    "providedBy": {"reference": "Organization/unit"},
                    "location": [{"reference": "https://h/fhir/Location/l1/_history/2"}],
                },
                "search": {"mode": "match"},
            },
            {
                "resource": {
                    "resourceType": "Organization",
                    "id": "unit",
                    "name": "Pôle",
                    "partOf": {"reference": "Organization/eg"},
                },
                "search": {"mode": "include"},
            },
            {
                "resource": {
                    "resourceType": "Organization",
                    "id": "eg",
                    "name": "Site",
                    "identifier": [{"system": "https://finess.esante.gouv.fr", "value": "1"}],
                    "partOf": {"reference": "Organization/ej"},
                },
                "search": {"mode": "include"},
            },
            {
                "resource": {
                    "resourceType": "Organization",
                    "id": "ej",
                    "name": "EJ",
                    "partOf": {"reference": "Organization/unit"},  # a cycle must not hang
                },
                "search": {"mode": "include"},
            },
            {
                "resource": {"resourceType": "Location", "id": "l1", "name": "UF 1"},
                "search": {"mode": "include"},
            },
            {
                "resource": {
                    "resourceType": "PractitionerRole",
                    "id": "r1",
                    "healthcareService": [{"reference": "HealthcareService/s1"}],
                },
                "search": {"mode": "include"},
            },
        ],
    }


def test_read_bundle_resolves_includes_into_linked_objects() -> None:
    page = parse_bundle(_bundle(), "HealthcareService")
    assert page.total == 7
    assert page.next_url is not None and "_getpages=x" in page.next_url
    [service] = page.matches
    assert isinstance(service, HealthcareService)
    assert service.organization is not None
    assert [o.name for o in service.organization.hierarchy] == ["Pôle", "Site", "EJ"]
    assert service.organization.parent is not None
    assert service.organization.parent.finess == "1"
    assert [loc.name for loc in service.locations] == ["UF 1"]
    assert [r.id for r in service.roles] == ["r1"]
    assert len(page.included) == 5


def test_read_bundle_refuses_other_resources() -> None:
    with pytest.raises(MalformedResponse):
        parse_bundle({"resourceType": "OperationOutcome"}, "Location")


def test_capacity_patch_replace_targets_the_indicator_and_is_valid_fhir() -> None:
    update = CapacityUpdate(count=5, gender="03")
    body = capacity_patch(update, "replace", now=dt.datetime(2025, 5, 1, tzinfo=dt.UTC))
    to_fhir_model(body)  # a valid R4 Parameters
    parts = {p["name"]: p for p in body["parameter"][0]["part"]}
    assert parts["type"]["valueString"] == "replace"
    path = parts["path"]["valueString"]
    assert path.startswith(f"Location.extension.where(url='{CAPACITY_EXTENSION}'")
    assert "url='capacityStatus' and valueCodeableConcept.coding[0].code='02'" in path
    assert "url='genderCapacityAvailable' and valueCodeableConcept.coding[0].code='03'" in path
    [extension] = parts["value"]["part"][0]["extension"]
    subs = {e["url"]: e for e in extension["extension"]}
    assert subs["nbCapacity"]["valueInteger"] == 5
    assert subs["capacityUpdateDate"]["valueDateTime"] == "2025-05-01T00:00:00Z"


def test_capacity_patch_add_appends_to_location() -> None:
    body = capacity_patch(CapacityUpdate(count=1), "add")
    parts = {p["name"]: p for p in body["parameter"][0]["part"]}
    assert parts["path"]["valueString"] == "Location"
    assert parts["name"]["valueString"] == "extension"


def test_negative_count_is_refused() -> None:
    with pytest.raises(InputError):
        capacity_patch(CapacityUpdate(count=-1), "replace")


def _outcome(code: str, expression: object) -> dict[str, object]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": "d", "expression": expression}],
    }


def test_replace_then_add_rule_follows_the_ans_outcomes() -> None:
    missing_indicator = _outcome(
        "not-found", f"Location.extension.where(url='{CAPACITY_EXTENSION}')"
    )  # the ROR sends this expression as a plain string
    assert classify_capacity_answer(404, missing_indicator, "replace") == "retry-add"
    assert classify_capacity_answer(404, missing_indicator, "add") is (
        PublicationStatus.UNKNOWN_LOCATION
    )
    unknown = _outcome("not-found", ["Location"])
    assert classify_capacity_answer(404, unknown, "replace") is PublicationStatus.UNKNOWN_LOCATION
    assert classify_capacity_answer(412, _outcome("multiple-matches", ["Location"]), "replace") is (
        PublicationStatus.AMBIGUOUS_LOCATION
    )
    assert classify_capacity_answer(400, _outcome("business-rule", []), "add") is (
        PublicationStatus.REJECTED
    )
    assert classify_capacity_answer(200, None, "add") is PublicationStatus.ADDED
    assert classify_capacity_answer(500, None, "replace") is None


def test_outcome_issues_keep_code_message_and_expression() -> None:
    [issue] = outcome_issues(_outcome("business-rule", ["Location.extension('x')"]))
    assert (issue.severity, issue.rule, issue.message, issue.location) == (
        "error",
        "business-rule",
        "d",
        "Location.extension('x')",
    )
    assert outcome_issues({"resourceType": "Bundle"}) == ()


def test_invalid_resource_fails_fhir_validation_with_issues() -> None:
    with pytest.raises(ValidationError) as info:
        to_fhir_model({"resourceType": "Location", "id": "x", "status": 12, "bogus": True})
    assert info.value.issues
