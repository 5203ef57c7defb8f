"""segurlink's Annuaire Santé client against the mock over TLS: lookups, paging, the red
list, mailbox types, retries, failures, privacy, and a looked-up address receiving a message.

Expected results are computed from the mock's raw directory (plain dictionaries), never
with the client's own reader.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from segurlink_mocks.annuaire import (
    API_KEY,
    APP_ADDRESS,
    CAB_ADDRESS,
    CLAIRE_ADDRESS,
    CLAIRE_RPPS,
    EHPAD_FINESS,
    HOPITAL_FINESS,
    INTEGRATION_ADDRESS,
    JEANNE_RPPS,
    LOUISE_ADELI,
    ORG_ADDRESS,
    PAUL_ADDRESS,
    PAUL_RPPS,
    RED_LISTED,
    AnnuaireMock,
    directory,
)
from segurlink_mocks.mssante import MssMock

from segurlink.config import Settings
from segurlink.errors import (
    FhirError,
    HttpStatusError,
    InputError,
    MalformedResponse,
    TransportError,
    TransportTimeout,
)
from segurlink.mssante import (
    AnnuaireClient,
    AnnuaireSettings,
    Draft,
    MailboxKind,
    MailboxQuery,
    MemorySentStore,
    MssClient,
    MssSettings,
)
from tests.dmp.factory import cda

META = "as-ext-mailbox-mss-metadata"


# -- the mock's directory, read plainly -------------------------------------------------------


def _raw_mailboxes(resource: dict[str, Any]) -> list[tuple[str, str | None, bool]]:
    """(address, type, red-listed) of every MSSanté telecom of a raw resource."""
    found = []
    for telecom in resource.get("telecom", ()):
        urls = [e["url"] for e in telecom.get("extension", ())]
        if not any("contact-point-email-type" in u or u.endswith(META) for u in urls):
            continue
        kind, red = None, False
        for extension in telecom.get("extension", ()):
            if extension["url"].endswith(META):
                for sub in extension["extension"]:
                    if sub["url"] == "type":
                        kind = sub["valueCodeableConcept"]["coding"][0]["code"]
                    if sub["url"] == "listeRouge":
                        red = sub["valueBoolean"]
        found.append((telecom["value"], kind, red))
    return found


def _expected(holders: list[dict[str, Any]], kinds: set[str] | None = None) -> set[str]:
    kept = set()
    for resource in holders:
        for address, kind, red in _raw_mailboxes(resource):
            if not red and (kinds is None or kind in kinds):
                kept.add(address)
    return kept


def _of(kind: str) -> list[dict[str, Any]]:
    return [r for r in directory().values() if r["resourceType"] == kind]


def _family(resource: dict[str, Any]) -> str:
    return str(resource["name"][0]["family"])


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(annuaire_settings: Settings, sleeps: list[float]) -> Iterator[AnnuaireClient]:
    with AnnuaireClient.from_settings(annuaire_settings, sleep=sleeps.append) as c:
        yield c


def _client(settings: Settings, **changes: Any) -> AnnuaireClient:
    typed = dataclasses.replace(AnnuaireSettings.from_settings(settings), **changes)
    return AnnuaireClient(typed, sleep=lambda s: None)


def _operations(mock: AnnuaireMock) -> list[str]:
    return [r.details.get("operation", "") for r in mock.requests]


# -- lookups -------------------------------------------------------------------------------------


def test_a_professional_by_name_with_their_own_mailboxes(client: AnnuaireClient) -> None:
    found = client.lookup(name="medecin-test", first_name="paul")
    assert found.addresses == (PAUL_ADDRESS, CAB_ADDRESS)  # not the ordinary e-mail beside
    per, cab = found.mailboxes
    assert (per.kind, cab.kind) == (MailboxKind.PER, MailboxKind.CAB)
    assert (per.family, per.given, per.rpps) == ("MEDECIN-TEST", "Paul", PAUL_RPPS)
    assert cab.description == "Cabinet médical de la Paix" and per.holder == "Practitioner"


def test_a_name_matches_its_start_case_and_accents_ignored(client: AnnuaireClient) -> None:
    assert client.lookup(name="Médecin").addresses == client.lookup(name="MEDECIN-TEST").addresses
    assert client.lookup(name="TEST-MEDECIN").mailboxes == ()


def test_an_address_held_twice_comes_once_with_its_place(client: AnnuaireClient) -> None:
    # Claire's PER mailbox is on her Practitioner and on her exercise situation.
    found = client.lookup(rpps=CLAIRE_RPPS)
    (claire,) = found.mailboxes
    assert claire.address == CLAIRE_ADDRESS and claire.holder == "Practitioner"
    assert (claire.organization, claire.finess) == ("EHPAD SEGURLINK TEST", EHPAD_FINESS)


def test_a_professional_by_adeli(client: AnnuaireClient) -> None:
    (louise,) = client.lookup(adeli=LOUISE_ADELI).mailboxes
    assert louise.adeli == LOUISE_ADELI and louise.rpps == "" and louise.given == "Louise"


def test_an_organisation_by_finess_with_the_professionals_working_there(
    client: AnnuaireClient,
) -> None:
    found = client.lookup(finess=EHPAD_FINESS)
    assert found.addresses == (ORG_ADDRESS, APP_ADDRESS, CLAIRE_ADDRESS)
    org, app, claire = found.mailboxes
    assert (org.kind, org.service, org.description) == (
        MailboxKind.ORG,
        "Accueil",
        "Secrétariat médical",
    )
    assert app.kind is MailboxKind.APP and app.name == "EHPAD SEGURLINK TEST"
    assert claire.holder == "PractitionerRole" and claire.name == "INFIRMIERE-TEST Claire"
    assert found.withheld == 1  # direction@ is on the red list


def test_every_page_is_read_without_duplicates(
    client: AnnuaireClient, annuaire_mock: AnnuaireMock
) -> None:
    practitioners = [p for p in _of("Practitioner") if _family(p) == "MARTIN"]
    assert len(practitioners) > 50  # more than one page at 50 a page
    ids = {f"Practitioner/{p['id']}" for p in practitioners}
    roles = [r for r in _of("PractitionerRole") if r["practitioner"]["reference"] in ids]
    found = client.lookup(name="MARTIN")
    assert len(found.addresses) == len(set(found.addresses))
    assert set(found.addresses) == _expected(practitioners + roles)
    operations = _operations(annuaire_mock)
    # Practitioner: two pages; their roles: two searches (50 references a search).
    assert operations == [
        "search Practitioner",
        "page",
        "search PractitionerRole",
        "search PractitionerRole",
    ]
    assert found.pages == len(operations)
    assert not found.truncated


def test_an_organisation_name_needing_pages(client: AnnuaireClient) -> None:
    organizations = [o for o in _of("Organization") if o["name"].startswith("EHPAD")]
    assert len(organizations) > 50
    found = client.lookup(organization="ehpad", kinds={"ORG", "APP"})
    assert set(found.addresses) == _expected(organizations, {"ORG", "APP"})
    assert len(found.addresses) == len(set(found.addresses))


def test_the_page_cap_truncates_and_says_so(client: AnnuaireClient) -> None:
    found = client.lookup(name="MARTIN", kinds={"CAB"}, max_pages=1)
    assert found.truncated and found.pages == 1 and 0 < len(found) < 9


def test_an_address_exact_or_contained(client: AnnuaireClient) -> None:
    (found,) = client.lookup(address=INTEGRATION_ADDRESS, exact=True).mailboxes
    assert found.kind is MailboxKind.APP and found.organization == "HOPITAL SEGURLINK"
    assert client.lookup(address="integration@hopital", exact=False).addresses == (
        INTEGRATION_ADDRESS,
    )
    contained = client.lookup(address="martin0")
    assert contained.addresses and all("martin0" in a for a in contained.addresses)


# -- the red list, the types -------------------------------------------------------------------


@pytest.mark.parametrize(
    "criteria",
    [
        {"name": "MARTIN"},
        {"organization": "EHPAD"},
        {"address": "mssante.fr"},
        {"rpps": JEANNE_RPPS},
        {"address": "direction@segurlink-test.mssante.fr", "exact": True},
    ],
)
def test_red_listed_mailboxes_are_never_returned(
    client: AnnuaireClient, criteria: dict[str, Any]
) -> None:
    assert RED_LISTED  # the mock serves some, flagged (tests/mocks/annuaire)
    found = client.lookup(**criteria)
    assert not set(found.addresses) & RED_LISTED
    assert found.withheld >= 1


def test_a_professional_entirely_red_listed_is_not_found(client: AnnuaireClient) -> None:
    found = client.lookup(rpps=JEANNE_RPPS)
    assert (found.mailboxes, found.withheld) == ((), 1)


@pytest.mark.parametrize("kind", list(MailboxKind))
def test_each_mailbox_type_filter(client: AnnuaireClient, kind: MailboxKind) -> None:
    everything = client.lookup(address="mssante.fr")
    only = client.lookup(address="mssante.fr", kinds={kind})
    assert only.mailboxes and {m.kind for m in only} == {kind}
    assert set(only.addresses) == {m.address for m in everything if m.kind is kind}


def test_an_untyped_mailbox_only_when_every_type_is_asked_for(client: AnnuaireClient) -> None:
    everything = client.lookup(finess=HOPITAL_FINESS)
    assert any(m.kind is None for m in everything)
    typed = client.lookup(finess=HOPITAL_FINESS, kinds={"ORG", "APP"})
    assert all(m.kind is not None for m in typed)


def test_searches_that_cannot_give_the_types_are_not_sent(
    client: AnnuaireClient, annuaire_mock: AnnuaireMock
) -> None:
    client.lookup(finess=EHPAD_FINESS, kinds={"APP"})
    assert _operations(annuaire_mock) == ["search Organization"]
    annuaire_mock.clear_requests()
    client.lookup(name="MEDECIN-TEST", kinds={"CAB"})
    assert _operations(annuaire_mock) == ["search Practitioner"]


# -- 429 and 503 ---------------------------------------------------------------------------------


def test_429_then_success_within_the_deadline(
    client: AnnuaireClient, annuaire_mock: AnnuaireMock, sleeps: list[float]
) -> None:
    annuaire_mock.inject("http429", count=2)
    found = client.lookup(rpps=PAUL_RPPS, kinds={"CAB"})
    assert found.addresses == (CAB_ADDRESS,)
    assert len(sleeps) == 2 and all(s >= annuaire_mock.retry_after for s in sleeps)
    assert [r.status for r in annuaire_mock.requests] == [429, 429, 200]


def test_503_is_waited_for_too(
    client: AnnuaireClient, annuaire_mock: AnnuaireMock, sleeps: list[float]
) -> None:
    annuaire_mock.inject("http503")
    assert client.lookup(rpps=PAUL_RPPS, kinds={"CAB"}).addresses == (CAB_ADDRESS,)
    assert len(sleeps) == 1


def test_429_beyond_the_deadline_is_a_transient_error(
    annuaire_settings: Settings, annuaire_mock: AnnuaireMock
) -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    settings = dataclasses.replace(
        AnnuaireSettings.from_settings(annuaire_settings), retry_deadline=2.0
    )
    annuaire_mock.inject("http429", count=None)
    with AnnuaireClient(settings, clock=lambda: now[0], sleep=sleep) as client:
        with pytest.raises(HttpStatusError) as caught:
            client.lookup(rpps=PAUL_RPPS)
    assert caught.value.status == 429 and caught.value.is_transient
    assert 2 <= annuaire_mock.request_count <= 3 and now[0] <= 2.0


def test_a_retry_after_longer_than_allowed_is_not_waited_for(
    client: AnnuaireClient, annuaire_mock: AnnuaireMock, sleeps: list[float]
) -> None:
    annuaire_mock.retry_after = 120  # over max_retry_wait (30 s)
    try:
        annuaire_mock.inject("http429")
        with pytest.raises(HttpStatusError, match="429"):
            client.lookup(rpps=PAUL_RPPS)
    finally:
        annuaire_mock.retry_after = 1
    assert sleeps == [] and annuaire_mock.request_count == 1


# -- failures --------------------------------------------------------------------------------------


def test_server_errors_are_typed(client: AnnuaireClient, annuaire_mock: AnnuaireMock) -> None:
    annuaire_mock.inject("http500")
    with pytest.raises(FhirError) as fhir:
        client.lookup(name="MEDECIN-TEST")
    assert fhir.value.status == 500 and fhir.value.is_transient
    assert fhir.value.issues[0].rule == "exception"
    annuaire_mock.inject("http500_html")
    with pytest.raises(HttpStatusError) as html:
        client.lookup(name="MEDECIN-TEST")
    assert html.value.status == 500 and "<html>" in html.value.body_excerpt.lower()


def test_a_refused_search_carries_the_operation_outcome(client: AnnuaireClient) -> None:
    # Not reachable through lookup(): the criteria are checked first. A raw unknown
    # parameter shows how a FHIR refusal comes back.
    with pytest.raises(FhirError, match="Parameter mailbox-mss-type not found") as refused:
        client._get(
            client.settings.endpoint + "/Practitioner?mailbox-mss-type=PER", operation="test"
        )
    assert refused.value.status == 400 and refused.value.exit_code == 1


def test_no_answer_within_the_timeout_is_typed_in_time(
    annuaire_settings: Settings, annuaire_mock: AnnuaireMock
) -> None:
    data = annuaire_settings.to_mapping()
    data["timeouts"] = {"connect": 2.0, "read": 1.0}
    annuaire_mock.inject("latency:4")
    with AnnuaireClient.from_settings(Settings.from_mapping(data)) as client:
        started = time.monotonic()
        with pytest.raises(TransportTimeout):
            client.lookup(name="MEDECIN-TEST")
        elapsed = time.monotonic() - started
    assert elapsed < 3.0  # the read timeout (1 s), not the server's 4 s


def test_a_dropped_connection_is_a_transport_error(
    client: AnnuaireClient, annuaire_mock: AnnuaireMock
) -> None:
    annuaire_mock.inject("reset")
    with pytest.raises(TransportError):
        client.lookup(name="MEDECIN-TEST")


@pytest.mark.parametrize("fault", ["truncated", "non_soap_200", "not_a_bundle"])
def test_answers_that_are_not_a_searchset_are_malformed(
    client: AnnuaireClient, annuaire_mock: AnnuaireMock, fault: str
) -> None:
    annuaire_mock.inject(fault)
    with pytest.raises(MalformedResponse):
        client.lookup(name="MEDECIN-TEST")


def test_a_paging_loop_is_malformed(client: AnnuaireClient, annuaire_mock: AnnuaireMock) -> None:
    annuaire_mock.inject("loop_next")
    with pytest.raises(MalformedResponse, match="loop"):
        client.lookup(name="MARTIN")
    assert annuaire_mock.request_count == 1  # its "next" is itself: not asked again


def test_the_api_key_never_leaves_for_another_server(
    client: AnnuaireClient, annuaire_mock: AnnuaireMock
) -> None:
    annuaire_mock.inject("foreign_next")
    with pytest.raises(MalformedResponse, match="another origin"):
        client.lookup(name="MARTIN")
    assert annuaire_mock.request_count == 1
    annuaire_mock.clear_requests()
    annuaire_mock.inject("redirect")
    with pytest.raises(HttpStatusError, match="not followed") as redirected:
        client.lookup(name="MARTIN")
    assert redirected.value.status == 302 and annuaire_mock.request_count == 1


def test_a_wrong_api_key_says_which_setting(
    annuaire_settings: Settings, annuaire_mock: AnnuaireMock
) -> None:
    data = annuaire_settings.to_mapping()
    data["annuaire"] = {**data["annuaire"], "api_key": "not-the-key"}
    with AnnuaireClient.from_settings(Settings.from_mapping(data)) as client:
        with pytest.raises(HttpStatusError, match=r"\[annuaire\] api_key") as refused:
            client.lookup(name="MEDECIN-TEST")
    assert refused.value.status == 401 and "not-the-key" not in str(refused.value)


def test_bad_criteria_send_nothing(client: AnnuaireClient, annuaire_mock: AnnuaireMock) -> None:
    for criteria in ({}, {"rpps": "12"}, {"name": "X", "finess": EHPAD_FINESS}):
        with pytest.raises(InputError):
            client.lookup(**criteria)  # type: ignore[arg-type]
    with pytest.raises(InputError):
        client.lookup(MailboxQuery(name="X"), name="Y")
    with pytest.raises(InputError):
        client.lookup(name="X", max_pages=0)
    assert annuaire_mock.request_count == 0


# -- privacy ---------------------------------------------------------------------------------------


def test_no_name_address_identifier_nor_key_in_any_log(
    annuaire_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with AnnuaireClient.from_settings(annuaire_settings, sleep=lambda s: None) as client:
        found = [
            *client.lookup(name="INFIRMIERE-TEST", first_name="Claire"),
            *client.lookup(rpps=PAUL_RPPS),
            *client.lookup(address=ORG_ADDRESS, exact=True),
        ]
        text = repr(client.settings) + repr(annuaire_settings)
    assert len(found) == 4
    lines = [r.getMessage() for r in caplog.records] + [text]
    assert any("annuaire search" in line for line in lines)  # the exchanges are logged
    secrets = [
        API_KEY,
        PAUL_RPPS,
        CLAIRE_RPPS,
        "INFIRMIERE",
        "Claire",
        "MEDECIN",
        "Paul",
        "secretariat",
        "paul.medecin",
        "EHPAD SEGURLINK",
    ]
    for line in lines:
        for secret in secrets:
            assert secret.lower() not in line.lower(), (secret, line)


# -- chained: look up, then send -------------------------------------------------------------------


def test_looked_up_addresses_receive_a_message(
    client: AnnuaireClient, mss_mock: MssMock, mss_settings: Settings
) -> None:
    (claire,) = client.lookup(name="INFIRMIERE-TEST", kinds={"PER"}).mailboxes
    (secretariat,) = client.lookup(finess=EHPAD_FINESS, kinds={"ORG"}).mailboxes
    (practice,) = client.lookup(rpps=PAUL_RPPS, kinds={"CAB"}).mailboxes
    to = (claire.address, secretariat.address, practice.address)
    with MssClient(MssSettings.from_settings(mss_settings), store=MemorySentStore()) as mss:
        sent = mss.send(
            Draft(sender=mss.settings.address, to=to, documents=(cda(),), text="Bonjour")
        )
    assert set(sent.accepted) == set(to) and sent.complete
    assert all(mss_mock.mailbox(address) for address in to)
