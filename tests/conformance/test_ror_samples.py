"""Every file of ../shared/ror-samples parses with the R4 models and decodes as expected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from segurlink.ror import parse_location, parse_service, to_fhir_model
from tests.conftest import SHARED, shared_path

pytestmark = pytest.mark.conformance

SAMPLES = sorted((SHARED / "ror-samples").glob("*.json")) if SHARED.exists() else []


def _load(name: str) -> dict[str, object]:
    return json.loads(shared_path("ror-samples", name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_every_sample_parses_with_fhir_models(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    model = to_fhir_model(data)
    assert model.__class__.__name__ == data["resourceType"]


def test_samples_are_present() -> None:
    shared_path("ror-samples")
    assert len(SAMPLES) >= 5


def test_location_capacities_are_decoded() -> None:
    location = parse_location(_load("Location-ror-location-exemple-1-capacities.json"))
    assert location.ror_id == "24/1073"
    assert location.region == "24"
    assert location.commune_cog is not None and location.commune_cog.code == "45234"
    assert len(location.capacities) == 5
    installed = location.capacities[0]
    assert installed.count == 15 and installed.status is not None
    assert installed.status.code == "01" and installed.is_bed
    additional = location.capacities[1]
    assert additional.additional_bed_type is not None
    assert additional.additional_bed_type.code == "03"
    assert additional.crisis_type is not None and additional.crisis_type.code == "02"
    genders = [c.gender.code for c in location.capacities if c.gender]
    assert genders == ["02", "01", "03"]
    assert location.available_beds() == 3
    assert location.latitude == pytest.approx(47.834781)


def test_service_sample_is_decoded() -> None:
    service = parse_service(_load("HealthcareService-1234564.json"))
    assert service.organization_ref == "Organization/999999"
    assert service.location_refs == ("Location/888888",)
    assert (service.age_low, service.age_high) == (15, 150)
    assert service.specialties[0].code == "022"
    assert service.identifiers[0].type_code == "35"


def test_search_parameters_of_the_mock_are_in_the_capability_statements() -> None:
    from segurlink_mocks.ror import SEARCH_PARAMS

    declared: dict[str, set[str]] = {}
    for name in ("CapabilityStatement-ror-serveur.json", "CapabilityStatement-ror-consommateur.json"):
        for r in _load(name)["rest"][0]["resource"]:  # type: ignore[index]
            declared.setdefault(r["type"], set()).update(p["name"] for p in r.get("searchParam", []))
    for kind in ("Organization", "HealthcareService", "Location", "Practitioner",
                 "PractitionerRole"):
        assert set(SEARCH_PARAMS[kind]) <= declared[kind], kind


def _indicators(location: dict[str, object]) -> list[dict[str, object]]:
    from segurlink.ror import CAPACITY_EXTENSION

    return [e for e in location["extension"] if e["url"] == CAPACITY_EXTENSION]  # type: ignore[attr-defined,index]


def _shape(extension: dict[str, object]) -> set[tuple[str, str, str]]:
    out = set()
    for sub in extension["extension"]:  # type: ignore[attr-defined]
        if "valueCodeableConcept" in sub:
            coding = sub["valueCodeableConcept"]["coding"][0]
            out.add((sub["url"], coding["system"], coding["code"]))
        else:
            value = next(v for k, v in sub.items() if k.startswith("value"))
            out.add((sub["url"], "", str(value)))
    return out


def test_published_indicator_has_the_shape_of_the_ig_example() -> None:
    """The PATCH value carries an extension coded exactly as the IG's example Location."""
    import datetime as dt

    from segurlink_mocks.ror.capacity import indicator_keys, path_criteria, stored_indicator

    from segurlink.ror import CapacityUpdate, capacity_patch

    sample = _load("Location-ror-location-exemple-1-capacities.json")
    available_men = _indicators(sample)[2]  # 02 Disponible, genderCapacityAvailable 02 Homme
    update = CapacityUpdate(
        count=0, gender="02", source_type="01", updated=dt.datetime(2024, 7, 8, 18, 15, 39, tzinfo=dt.UTC)
    )
    for operation in ("replace", "add"):
        body = capacity_patch(update, operation)  # type: ignore[arg-type]
        to_fhir_model(body)
        [parameter] = body["parameter"]
        parts = {p["name"]: p for p in parameter["part"]}
        assert parts["type"]["valueString"] == operation  # as in the ANS guide's examples
        [extension] = parts["value"]["part"][0]["extension"]
        assert _shape(extension) == _shape(available_men)
    # The replace path selects that indicator and no other one of the example.
    path = capacity_patch(update, "replace")["parameter"][0]["part"][1]["valueString"]
    targeted = [e for e in _indicators(sample) if indicator_keys(e) == path_criteria(path)]
    assert targeted == [available_men]
    # What the mock stores of it is the example's indicator, displays and order included.
    [extension] = capacity_patch(update, "add")["parameter"][0]["part"][3]["part"][0]["extension"]
    assert stored_indicator(extension) == available_men
