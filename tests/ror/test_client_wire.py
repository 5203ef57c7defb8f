"""The ROR client against the ROR mock over TLS: searches, paging, errors, PATCH, $export."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from segurlink_mocks.ror import MTLS_CLIENT_ID, RorMock

from segurlink.config import Secret, Settings
from segurlink.errors import FhirError, MalformedResponse, OidcError
from segurlink.ror import (
    CapacityUpdate,
    ExportProgress,
    Include,
    Near,
    PublicationStatus,
    RorClient,
    RorSettings,
    iter_export_resources,
)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(ror_settings: Settings, sleeps: list[float]) -> Any:
    with RorClient.from_settings(ror_settings, sleep=sleeps.append) as c:
        yield c


def _operations(mock: RorMock) -> list[str]:
    return [r.details.get("operation", "") for r in mock.requests]


def test_organisation_by_finess_with_its_legal_entity(client: RorClient, ror_mock: RorMock) -> None:
    marks = ror_mock.landmarks
    results = client.organizations(finess=marks["eg_finess"], include={Include.PARENTS})
    org = results.first()
    assert org is not None
    assert org.finess == marks["eg_finess"]
    assert org.id_nat_struct == marks["eg_id_nat_struct"]
    assert org.parent is not None and org.parent.finess == marks["ej_finess"]
    assert results.total == 1


def test_token_is_cached_across_calls(client: RorClient, ror_mock: RorMock) -> None:
    client.organizations(name="EHPAD", count=5, max_pages=1).first()
    client.locations(commune="45234", count=5, max_pages=1).first()
    assert _operations(ror_mock).count("token") == 1


def test_services_under_a_legal_entity_with_hierarchy(
    client: RorClient, ror_mock: RorMock
) -> None:
    marks = ror_mock.landmarks
    services = list(
        client.services(
            organization_finess=marks["ej_finess"], organization_hierarchy=True,
            include={Include.ORGANIZATION, Include.LOCATIONS, Include.PARENTS},
        )
    )
    assert services
    for service in services:
        assert service.organization is not None
        finesses = [o.finess for o in service.organization.hierarchy]
        assert marks["ej_finess"] in finesses
        assert service.locations and service.locations[0].capacities
    direct = list(client.services(organization_finess=marks["ej_finess"]))
    assert direct == []  # services hang off the geographic entity or its units, not the EJ


def test_services_for_a_person_near_a_point(client: RorClient) -> None:
    orleans = Near(47.9029, 1.9093, 20)
    found = list(client.services(age=85, near=orleans, count=50))
    assert found
    for service in found:
        assert service.age_low is not None and service.age_low <= 85
        assert service.age_high is not None and service.age_high >= 85
        location = service.locations[0]
        assert location.latitude is not None and location.longitude is not None
        assert _km(47.9029, 1.9093, location.latitude, location.longitude) <= 20


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    import math

    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 6371.0 * 2 * math.asin(math.sqrt(a))


def test_paging_follows_next_links_and_reports_total(client: RorClient) -> None:
    results = client.locations(region="24", count=40, validation="fast")
    ids = [loc.id for loc in results]
    assert results.total == len(ids) == len(set(ids))
    assert results.pages_read == -(-len(ids) // 40) > 1


def test_page_cap_stops_and_says_so(client: RorClient) -> None:
    results = client.locations(count=10, max_pages=2)
    assert len(list(results)) == 20
    assert results.truncated and results.total is not None and results.total > 20


def test_min_capacity_is_a_sum_over_the_matching_indicators(
    client: RorClient, ror_mock: RorMock
) -> None:
    """Available beds are published per gender: "at least 5 available beds" sums them."""
    results = client.locations(capacity_status="02", capacity_type="01", min_capacity=5,
                               region="53", count=100)
    found = list(results)
    assert found
    for location in found:
        assert sum(c.count or 0 for c in location.capacities if c.is_available and c.is_bed) >= 5
    # The sum, not one indicator: some locations hold 5 only across several indicators.
    assert any(all((c.count or 0) < 5 for c in loc.capacities if c.is_available)
               for loc in found)
    # And none is missed: every location of the region with 5 available beds came back.
    expected = {
        r["id"] for r in ror_mock.data.of_type("Location")
        if r["meta"]["tag"][0]["code"] == "53" and _available_beds(r) >= 5
    }
    assert {loc.id for loc in found} == expected
    assert results.dropped > 0 and results.total == len(found) + results.dropped


def _available_beds(resource: dict[str, Any]) -> int:
    from segurlink.ror import parse_location

    return parse_location(resource).available_beds() or 0


def test_delta_since_a_date(client: RorClient) -> None:
    everything = client.organizations(region="53", count=1, max_pages=1)
    everything.first()
    recent = client.organizations(region="53", updated_since="2025-01-01", count=1, max_pages=1)
    recent.first()
    assert everything.total is not None and recent.total is not None
    assert 0 < recent.total < everything.total


def test_missing_ror_headers_are_refused(ror_settings: Settings) -> None:
    settings = replace(RorSettings.from_settings(ror_settings), profile_code="")
    with RorClient(settings) as c, pytest.raises(FhirError) as info:
        c.organizations(name="x").first()
    assert info.value.status == 403
    assert "Ror-Profil-Utilisateur-Code" in info.value.issues[0].message


def test_expired_token_is_renewed_once(client: RorClient, ror_mock: RorMock) -> None:
    client.organizations(name="EHPAD", count=1, max_pages=1).first()
    ror_mock.inject("expired_token")
    assert client.organizations(name="EHPAD", count=1, max_pages=1).first() is not None
    assert _operations(ror_mock).count("token") == 2


def test_token_refused_twice_raises(client: RorClient, ror_mock: RorMock) -> None:
    ror_mock.inject("expired_token", count=2)
    with pytest.raises(FhirError) as info:
        client.organizations(name="EHPAD").first()
    assert info.value.status == 401


def test_429_waits_retry_after(client: RorClient, ror_mock: RorMock, sleeps: list[float]) -> None:
    ror_mock.inject("http429")
    assert client.organizations(name="EHPAD", count=1, max_pages=1).first() is not None
    assert sleeps == [float(ror_mock.retry_after)]


def test_503_that_persists_becomes_a_typed_error(
    client: RorClient, ror_mock: RorMock, sleeps: list[float]
) -> None:
    ror_mock.inject("http503", count=None)
    with pytest.raises(FhirError) as info:
        client.organizations(name="EHPAD").first()
    assert info.value.status == 503 and len(sleeps) == 3
    ror_mock.clear_faults()


def test_500_outcome_becomes_a_fhir_error(client: RorClient, ror_mock: RorMock) -> None:
    ror_mock.inject("http500")
    with pytest.raises(FhirError) as info:
        client.locations(commune="45234").first()
    assert info.value.status == 500
    assert info.value.issues[0].rule == "exception"


def test_unknown_search_parameter_is_reported(client: RorClient) -> None:
    with pytest.raises(FhirError) as info:
        client.locations(extra=[("colour", "blue")]).first()
    assert info.value.status == 400 and info.value.issues[0].rule == "not-supported"


def test_wrong_secret_is_an_oidc_error(ror_settings: Settings) -> None:
    settings = replace(RorSettings.from_settings(ror_settings), client_secret=Secret("nope"))
    with RorClient(settings) as c, pytest.raises(OidcError) as info:
        c.token()
    assert info.value.error == "invalid_client"


def test_mtls_client_credentials(ror_mock: RorMock, segurlink_pki: Any) -> None:
    cert = segurlink_pki.client("insi-auto")
    settings = Settings.from_mapping(
        {
            "tls": {"ca_bundle": str(segurlink_pki.ca)},
            "ror": {
                "endpoint": ror_mock.fhir_base,
                "token_url": ror_mock.token_url,
                "client_id": MTLS_CLIENT_ID,
                "cert": str(cert.cert),
                "key": str(cert.key),
            },
        }
    )
    with RorClient.from_settings(settings) as c:
        assert c.locations(commune="45234", count=1, max_pages=1).first() is not None


def test_next_link_to_another_origin_is_refused(client: RorClient) -> None:
    with pytest.raises(MalformedResponse):
        client._check_same_origin("https://elsewhere.example/fhir?_getpages=x")


def test_publish_capacity_replace_then_add(client: RorClient, ror_mock: RorMock) -> None:
    marks = ror_mock.landmarks
    replaced = client.publish_capacity(
        marks["location_sync_id"], CapacityUpdate(count=9, capacity_type="02", gender="03")
    )
    assert replaced.status is PublicationStatus.REPLACED and replaced.ok
    stored = ror_mock.resource(f"Location/{marks['location_id']}")
    assert stored is not None
    client_view = client.read("Location", marks["location_id"])
    assert any(c.count == 9 and c.gender and c.gender.code == "03" for c in client_view.capacities)
    # A new indicator (temporality 02 "prévisionnel"): replace is 404 on the extension, then add.
    added = client.publish_capacity(
        marks["location_sync_id"],
        CapacityUpdate(count=2, capacity_type="02", temporality="02", gender="01"),
    )
    assert added.status is PublicationStatus.ADDED
    kinds = [r.details.get("patch") for r in ror_mock.requests if r.details.get("patch")]
    assert kinds[-2:] == ["replace", "add"]


def test_publish_capacity_typed_failures(client: RorClient, ror_mock: RorMock) -> None:
    marks = ror_mock.landmarks
    ambiguous = client.publish_capacity(marks["duplicate_sync_id"], CapacityUpdate(count=1))
    assert ambiguous.status is PublicationStatus.AMBIGUOUS_LOCATION
    assert ambiguous.http_status == 412
    unknown = client.publish_capacity("1999999999/NOPE", CapacityUpdate(count=1))
    assert unknown.status is PublicationStatus.UNKNOWN_LOCATION
    rejected = client.publish_capacity(
        marks["location_sync_id"], CapacityUpdate(count=1, status="01", gender="02")
    )
    assert rejected.status is PublicationStatus.REJECTED and not rejected.ok
    assert rejected.issues[0].rule == "business-rule"


def test_export_downloads_every_resource_with_progress(
    client: RorClient, ror_mock: RorMock, tmp_path: Path, sleeps: list[float]
) -> None:
    seen: list[ExportProgress] = []
    result = client.export(tmp_path / "out", types=["Organization", "Location"],
                           progress=seen.append)
    phases = [p.phase for p in seen]
    assert phases[0] == "kick-off" and phases[-1] == "done" and "waiting" in phases
    assert len(sleeps) == ror_mock.export_polls
    counts: dict[str, int] = {}
    for item in result.files:
        counts[item.resource_type] = counts.get(item.resource_type, 0) + sum(
            1 for _ in iter_export_resources(item.path)
        )
    assert counts == {
        "Organization": ror_mock.data.count("Organization"),
        "Location": ror_mock.data.count("Location"),
    }


def test_token_is_renewed_shortly_before_expiry(ror_settings: Settings, ror_mock: RorMock) -> None:
    now = [1000.0]
    with RorClient.from_settings(ror_settings, clock=lambda: now[0]) as c:
        first = c.token()
        now[0] += ror_mock.token_lifetime - 31  # still more than the 30 s margin left
        assert c.token() == first
        now[0] += 2  # inside the margin: renewed before the server would refuse it
        assert c.token() != first
    assert _operations(ror_mock).count("token") == 2


def test_slow_page_is_a_timeout_within_the_configured_read_timeout(
    ror_mock: RorMock, segurlink_pki: Any
) -> None:
    from segurlink.errors import TransportTimeout

    settings = Settings.from_mapping(
        {
            "tls": {"ca_bundle": str(segurlink_pki.ca)},
            "timeouts": {"connect": 2.0, "read": 0.5},
            "ror": ror_mock.settings_table(),
        }
    )
    with RorClient.from_settings(settings) as c:
        c.token()
        ror_mock.inject("latency:3")
        with pytest.raises(TransportTimeout):
            c.locations(commune="45234", count=1, max_pages=1).first()
    ror_mock.clear_faults()


def _codes(codings: Any) -> set[str]:
    return {c.code for c in codings}


@pytest.mark.parametrize(
    ("criteria", "holds"),
    [
        ({"category": "110"}, lambda s: "110" in _codes(s.categories)),
        ({"type": "04"}, lambda s: "04" in _codes(s.types)),
        ({"specialty": "210"}, lambda s: "210" in _codes(s.specialties)),
        ({"characteristic": "28"}, lambda s: "28" in _codes(s.characteristics)),
        ({"patient_type": "02"}, lambda s: "02" in _codes(s.patient_types)),
        ({"age": 10}, lambda s: s.age_low <= 10 <= s.age_high),
        ({"commune": "37261"}, lambda s: s.locations[0].commune_cog.code == "37261"),
        ({"name": "pédiatrie"}, lambda s: "PÉDIATRIE" in s.name.upper()),
        ({"region": "53"}, lambda s: s.region == "53"),
    ],
    ids=lambda v: ",".join(v) if isinstance(v, dict) else "",
)
def test_typed_service_searches(client: RorClient, criteria: dict[str, Any], holds: Any) -> None:
    results = client.services(count=100, max_pages=1, **criteria)
    found = list(results)
    assert found and results.total is not None and results.total >= len(found)
    assert all(holds(service) for service in found)
    assert all(s.organization is not None and s.locations for s in found)


def test_organisations_by_id_nat_struct_and_type(client: RorClient, ror_mock: RorMock) -> None:
    marks = ror_mock.landmarks
    [org] = list(client.organizations(id_nat_struct=marks["eg_id_nat_struct"]))
    assert org.finess == marks["eg_finess"]
    ehpads = list(client.organizations(type="500", region="24", count=50))
    assert ehpads and all("500" in {t.code for t in o.types} for o in ehpads)


def test_revinclude_links_practitioner_roles_to_their_service(client: RorClient) -> None:
    services = list(client.services(include={Include.ORGANIZATION, Include.LOCATIONS, Include.ROLES}, region="24", count=30, max_pages=1))
    with_roles = [s for s in services if s.roles]
    assert with_roles and len(with_roles) < len(services)
    for service in with_roles:
        assert all(f"HealthcareService/{service.id}" in r.service_refs for r in service.roles)


def test_resource_breaking_the_r4_model_is_a_validation_error(
    client: RorClient, ror_mock: RorMock
) -> None:
    from segurlink.errors import ValidationError

    key = f"Location/{ror_mock.landmarks['location_id']}"
    stored = ror_mock.data.resources[key]
    original = stored["status"]
    stored["status"] = 12
    try:
        with pytest.raises(ValidationError) as info:
            client.read("Location", ror_mock.landmarks["location_id"])
        assert info.value.issues[0].location == "Location.status"
        fast = client.locations(extra=[("_id", ror_mock.landmarks["location_id"])],
                                validation="fast").first()
        assert fast is not None and fast.status == "12"
    finally:
        stored["status"] = original


def test_revinclude_links_services_to_their_location(client: RorClient) -> None:
    locations = list(client.locations(commune="45234", include={Include.SERVICES}, count=20,
                                      max_pages=1))
    assert locations and all(loc.services for loc in locations)
    for location in locations:
        for service in location.services:
            assert f"Location/{location.id}" in service.location_refs
            assert service.organization_ref is not None
            assert [loc.id for loc in service.locations] == [location.id]
    plain = client.locations(commune="45234", count=20, max_pages=1).first()
    assert plain is not None and plain.services == ()


# -- hardening (issue 10): deadlines, typed errors for hostile answers ---------------------


def test_export_download_is_held_to_the_export_timeout(
    ror_settings: Settings, ror_mock: RorMock, tmp_path: Path
) -> None:
    """A server trickling the output file (a piece every 0.5 s: each read gets bytes before
    the 20 s read timeout) is cut at the export's own 2 s deadline."""
    import time

    from segurlink.errors import TransportTimeout

    def trickle_when_fetching(progress: ExportProgress) -> None:
        if progress.phase == "fetching" and progress.message == "downloading":
            ror_mock.inject("trickle:0.5")

    with RorClient.from_settings(ror_settings, sleep=lambda _s: None) as c:
        started = time.monotonic()
        with pytest.raises(TransportTimeout, match="not downloaded within 2 s"):
            c.export(tmp_path, types=["Organization"], progress=trickle_when_fetching,
                     timeout=2.0)
        elapsed = time.monotonic() - started
    ror_mock.clear_faults()
    assert elapsed < 8  # the trickled file alone would take 20 pieces x 0.5 s = 10 s


def test_export_into_an_unusable_directory_is_a_configuration_error(client: RorClient) -> None:
    from segurlink.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="/proc/x"):
        client.export("/proc/x")


def test_publish_capacity_without_a_slash_is_an_input_error(
    client: RorClient, ror_mock: RorMock
) -> None:
    from segurlink.errors import InputError

    ror_mock.clear_requests()
    for bad in ("no-slash", "/UF1", "1450000088/", " / "):
        with pytest.raises(InputError, match="idNatStructEG"):
            client.publish_capacity(bad, CapacityUpdate(count=1))
    assert ror_mock.request_count == 0


def _nested(depth: int) -> bytes:
    return b'{"resourceType": "Bundle", "type": "searchset", "entry": ' + b"[" * depth + b"]" * depth + b"}"


def _nested_resource(depth: int) -> bytes:
    return (
        b'{"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": '
        b'{"resourceType": "Location", "id": "1", "note": ' + b"[" * depth + b"]" * depth + b"}}]}"
    )


@pytest.mark.parametrize(
    ("body", "validation"),
    [
        (_nested(5000), "full"),  # the JSON parser gives up (depth ~1000)
        (_nested(5000), "fast"),
        (_nested_resource(600), "full"),  # parsed, but too deep for the validator
    ],
    ids=["parser", "parser-fast", "validator"],
)
def test_deeply_nested_json_is_a_malformed_response(
    body: bytes, validation: str, ror_settings: Settings, segurlink_pki: Any
) -> None:
    from tests.hostile_server import HostileServer

    context = segurlink_pki.server_ssl_context(require_client_cert=False)
    with HostileServer("fixed", ssl_context=context, body=body,
                       content_type="application/fhir+json") as server:
        data = ror_settings.to_mapping()
        data["ror"] = {**data["ror"], "endpoint": server.url + "/ws-diffusion-fhir"}
        with RorClient.from_settings(Settings.from_mapping(data)) as c:
            with pytest.raises(MalformedResponse):
                for _ in c.locations(validation=validation):  # type: ignore[arg-type]
                    pass


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<html><body>Maintenance en cours</body></html>", "text/html"),
        (b"", "application/json"),
        (b'{"access_token": "eyJhbGciOi', "application/json"),
        (b"[1, 2]", "application/json"),
    ],
    ids=["html", "empty", "truncated", "not-an-object"],
)
def test_token_endpoint_200_without_a_token_is_a_malformed_response(
    body: bytes, content_type: str, ror_settings: Settings, segurlink_pki: Any
) -> None:
    from tests.hostile_server import HostileServer

    context = segurlink_pki.server_ssl_context(require_client_cert=False)
    with HostileServer("fixed", ssl_context=context, body=body,
                       content_type=content_type) as server:
        data = ror_settings.to_mapping()
        data["ror"] = {**data["ror"], "token_url": server.url + "/token"}
        with RorClient.from_settings(Settings.from_mapping(data)) as c:
            with pytest.raises(MalformedResponse, match="HTTP 200 without a JSON token"):
                c.token()


def test_token_endpoint_html_500_stays_an_http_status_error(
    ror_settings: Settings, segurlink_pki: Any
) -> None:
    from segurlink.errors import HttpStatusError
    from tests.hostile_server import HostileServer

    context = segurlink_pki.server_ssl_context(require_client_cert=False)
    with HostileServer("fixed", ssl_context=context, status=500, body=b"<html>500</html>",
                       content_type="text/html") as server:
        data = ror_settings.to_mapping()
        data["ror"] = {**data["ror"], "token_url": server.url + "/token"}
        with RorClient.from_settings(Settings.from_mapping(data)) as c:
            with pytest.raises(HttpStatusError) as info:
                c.token()
    assert info.value.status == 500
