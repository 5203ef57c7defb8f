"""The INSi client against the INSi mock, over mutual TLS on loopback."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest

from segurlink.config import Secret, Settings, SoftwareIdentity, Timeouts, TlsConfig
from segurlink.errors import (
    HttpStatusError,
    InsiFault,
    MalformedResponse,
    TlsError,
    TransportError,
    TransportTimeout,
)
from segurlink.identity import IdentityTraits, Ins
from segurlink.insi import (
    ALL_FIRST_NAMES,
    CrCode,
    InsFound,
    InsiClient,
    InsiSettings,
    InsNotFound,
    MultipleIdentities,
    VitaleQuery,
)


def traits(**values: Any) -> IdentityTraits:
    return IdentityTraits.from_input(**values)


@pytest.fixture
def client(segurlink_mock_settings: Settings) -> Iterator[InsiClient]:
    with InsiClient.from_settings(segurlink_mock_settings) as c:
        yield c


def make_client(
    settings: Settings,
    *,
    tls: TlsConfig | None = None,
    software: SoftwareIdentity | None = None,
    timeouts: Timeouts | None = None,
) -> InsiClient:
    insi = InsiSettings.from_settings(settings)
    if tls is not None:
        insi = dataclasses.replace(insi, tls=tls)
    if software is not None:
        insi = dataclasses.replace(insi, software=software)
    if timeouts is not None:
        insi = dataclasses.replace(insi, timeouts=timeouts)
    return InsiClient(insi)


# -- the test persons ----------------------------------------------------------------------


def test_corsican_person_is_found(client: InsiClient) -> None:
    outcome = client.search(
        traits(birth_name="adrtrois", first_names="Dominique", sex="F", birth_date="1997-02-26")
    )
    assert isinstance(outcome.result, InsFound)
    identity = outcome.result.identity
    assert identity.ins == Ins("297022A020778", "78", "1.2.250.1.213.1.4.8")
    assert identity.traits.birth_place == "2A020"
    assert [a.code for a in outcome.attempts] == [CrCode.FOUND]


def test_each_birth_first_name_is_tried_in_turn(client: InsiClient) -> None:
    outcome = client.search(
        traits(birth_name="Tchitchi", first_names="Ola Catarina", sex="F", birth_date="1936-06-21")
    )
    assert outcome.found
    assert [(a.first_name_rank, a.code) for a in outcome.attempts] == [
        (1, CrCode.NOT_FOUND),
        (2, CrCode.FOUND),
    ]
    assert outcome.identity is not None
    assert outcome.identity.ins.value == "236066322083656"
    assert outcome.identity.traits.first_names == ("CATARINA", "BELLA")
    assert len({a.message_id for a in outcome.attempts}) == 2


def test_not_found_for_every_first_name_is_reported(client: InsiClient) -> None:
    outcome = client.search(
        traits(
            birth_name="Houilles", first_names="Pierre Paul Jacques", sex="M",
            birth_date="1993-01-27",
        )
    )
    assert isinstance(outcome.result, InsNotFound)
    assert outcome.result.label == "Aucune identite trouvee"
    # specs/insi.md: each first name alone, then the whole list in one Prenom (4 calls).
    assert [a.code for a in outcome.attempts] == [CrCode.NOT_FOUND] * 4
    assert [a.first_name_rank for a in outcome.attempts] == [1, 2, 3, ALL_FIRST_NAMES]


def test_houilles_takes_four_calls_on_the_mock(client: InsiClient, insi_mock: Any) -> None:
    before = len(insi_mock.requests)
    client.search(
        traits(
            birth_name="Houilles", first_names="Pierre Paul Jacques", sex="M",
            birth_date="1993-01-27",
        )
    )
    answered = insi_mock.requests[before:]
    assert [r.details.get("cr") for r in answered] == ["01"] * 4


def test_multiple_without_birth_place(client: InsiClient) -> None:
    outcome = client.search(
        traits(birth_name="De Vinci", first_names="Leonardo", sex="M", birth_date="2014-02-01")
    )
    assert isinstance(outcome.result, MultipleIdentities)
    assert [a.birth_place_sent for a in outcome.attempts] == [False]


def test_multiple_then_birth_place_is_added(client: InsiClient, insi_mock: Any) -> None:
    de_vinci = [p for p in insi_mock.persons if p.birth_name == "DE VINCI"]
    assert len(de_vinci) >= 2
    place = de_vinci[0].birth_place
    outcome = client.search(
        traits(
            birth_name="De Vinci", first_names="Leonardo", sex="M", birth_date="2014-02-01",
            birth_place=place,
        )
    )
    assert outcome.found
    assert [(a.birth_place_sent, a.code) for a in outcome.attempts] == [
        (False, CrCode.MULTIPLE),
        (True, CrCode.FOUND),
    ]


def test_history_nia_and_unchecked_keys(client: InsiClient) -> None:
    ecetinsi = client.search(
        traits(
            birth_name="ECETINSI", first_names="PIERRE-ALAIN", sex="M", birth_date="2009-07-14"
        )
    ).identity
    assert ecetinsi is not None
    assert [i.value for i in ecetinsi.previous_ins] == ["209076322083439", "209066322012355"]
    provisoire = client.search(
        traits(birth_name="PROVISOIRE", first_names="MATRICULE", sex="M", birth_date="2009-07-01")
    ).identity
    assert provisoire is not None and provisoire.ins.is_nia
    hermann = client.search(
        traits(birth_name="HERMANN", first_names="GATIEN", sex="M", birth_date="1981-03-24")
    ).identity
    assert hermann is not None
    assert hermann.ins.key == "60" and not hermann.ins.key_is_valid


def test_vitale_search(client: InsiClient) -> None:
    result = client.search_with_vitale(
        VitaleQuery("ADRUN", "1975-12-31", nir=("2751263220749", "74"))
    )
    assert isinstance(result, InsFound)
    assert result.identity.ins.value == "275126322074974"


# -- verify --------------------------------------------------------------------------------


def test_verify_ok(client: InsiClient) -> None:
    stored = traits(
        birth_name="ADRUN", first_names="ZOE", sex="F", birth_date="1975-12-31", birth_place="63220"
    )
    verification = client.verify(Ins.parse("275126322074974"), stored)
    assert verification.ok
    assert verification.mismatches == ()


def test_verify_reports_each_mismatch(client: InsiClient) -> None:
    stored = traits(
        birth_name="ECETINSI", first_names="PIERRE-ALAIN", sex="M", birth_date="2009-07-14",
        birth_place="63113",
    )
    verification = client.verify(Ins("2090763220834", "39"), stored)
    assert not verification.ok
    assert [m.field for m in verification.mismatches] == [
        "ins_superseded",
        "first_names",
        "birth_place",
    ]
    assert "63113" not in repr(verification.mismatches)


def test_verify_not_found_is_not_ok(client: InsiClient) -> None:
    stored = traits(birth_name="INCONNU", first_names="PERSONNE", sex="F", birth_date="1950-01-01")
    verification = client.verify(Ins.parse("275126322074974"), stored)
    assert not verification.ok and not verification.outcome.found


# -- access rules ----------------------------------------------------------------------------


def test_unknown_idam_is_refused(segurlink_mock_settings: Settings) -> None:
    software = dataclasses.replace(segurlink_mock_settings.require_software(), idam="UNKNOWN")
    with make_client(segurlink_mock_settings, software=software) as c, pytest.raises(InsiFault) as info:
        c.search(traits(birth_name="ADRUN", first_names="ZOE", sex="F", birth_date="1975-12-31"))
    assert (info.value.subcode, info.value.detail_code) == ("siram_100", "desir_550")


@pytest.mark.parametrize("name", ["insi-manu", "wrong-cn"])
def test_certificate_cn_rules(segurlink_mock_settings: Settings, segurlink_pki: Any, name: str) -> None:
    cert = segurlink_pki.client(name)
    tls = TlsConfig(cert=cert.cert, key=cert.key, ca_bundle=segurlink_pki.ca)
    person = traits(birth_name="ADRUN", first_names="ZOE", sex="F", birth_date="1975-12-31")
    with make_client(segurlink_mock_settings, tls=tls) as c:
        if name == "insi-manu":
            assert c.search(person).found
        else:
            with pytest.raises(InsiFault) as info:
                c.search(person)
            assert info.value.detail_code == "DESIR_560"
            assert info.value.subcode == "siram_100"


def test_an_email_emitter_is_answered_like_the_real_platform(
    segurlink_mock_settings: Settings, insi_mock: Any
) -> None:
    # [insi] emitter = an e-mail address: the real qualification platform answers CR 00.
    insi = dataclasses.replace(
        InsiSettings.from_settings(segurlink_mock_settings), emitter="medecin@yopmail.com"
    )
    with InsiClient(insi) as c:
        outcome = c.search(traits(**PERSON))
    assert outcome.identity is not None
    assert outcome.identity.ins.value == "275126322074974"
    assert insi_mock.requests[-1].details.get("cr") == "00"


def test_pkcs12_and_encrypted_key_identities(segurlink_mock_settings: Settings, segurlink_pki: Any) -> None:
    person = traits(birth_name="ADRUN", first_names="ZOE", sex="F", birth_date="1975-12-31")
    p12 = TlsConfig(pkcs12=segurlink_pki.insi_auto_p12, password=Secret("segurlink"), ca_bundle=segurlink_pki.ca)
    enc = TlsConfig(
        cert=segurlink_pki.client("insi-auto").cert,
        key=segurlink_pki.insi_auto_encrypted_key,
        password=Secret("segurlink"),
        ca_bundle=segurlink_pki.ca,
    )
    for tls in (p12, enc):
        with make_client(segurlink_mock_settings, tls=tls) as c:
            assert c.search(person).found


def test_server_outside_the_trusted_ca_is_a_tls_error(segurlink_mock_settings: Settings, segurlink_pki: Any) -> None:
    cert = segurlink_pki.client("insi-auto")
    tls = TlsConfig(cert=cert.cert, key=cert.key, ca_bundle=segurlink_pki.other_ca)
    with make_client(segurlink_mock_settings, tls=tls) as c, pytest.raises(TlsError):
        c.search(traits(birth_name="ADRUN", first_names="ZOE", sex="F", birth_date="1975-12-31"))


# -- injected faults -------------------------------------------------------------------------

PERSON = {"birth_name": "ADRUN", "first_names": "ZOE", "sex": "F", "birth_date": "1975-12-31"}


@pytest.mark.parametrize(
    ("fault", "error", "check"),
    [
        ("unavailable", InsiFault, lambda e: e.subcode == "siram_40" and e.detail_code.lower() == "desir_1020" and e.is_temporary),
        ("technical", InsiFault, lambda e: e.subcode == "siram_40" and e.detail_code == "insi_102" and e.is_temporary),
        ("http500_html", HttpStatusError, lambda e: e.status == 500),
        ("truncated", MalformedResponse, lambda e: True),
        ("wrong_action", MalformedResponse, lambda e: "action" in e.message),
        ("non_soap_200", MalformedResponse, lambda e: True),
        ("reset", TransportError, lambda e: not isinstance(e, TransportTimeout)),
    ],
)
def test_each_fault_gives_its_typed_error(
    segurlink_mock_settings: Settings, insi_mock: Any, fault: str, error: type[Exception], check: Any
) -> None:
    insi_mock.inject(fault)
    with make_client(segurlink_mock_settings, timeouts=Timeouts(connect=2, read=3)) as c:
        started = time.monotonic()
        with pytest.raises(error) as info:
            c.search(traits(**PERSON))
        assert time.monotonic() - started < 3.5
        assert check(info.value), info.value
        # the fault was one-shot: the next call works
        assert c.search(traits(**PERSON)).found


def test_latency_beyond_the_timeout(segurlink_mock_settings: Settings, insi_mock: Any) -> None:
    insi_mock.inject("latency:3")
    with make_client(segurlink_mock_settings, timeouts=Timeouts(connect=1, read=0.5)) as c:
        started = time.monotonic()
        with pytest.raises(TransportTimeout):
            c.search(traits(**PERSON))
        assert time.monotonic() - started < 2.0


def test_both_fault_styles_read_the_same(segurlink_mock_settings: Settings, insi_mock: Any) -> None:
    seen = []
    for style in ("2022", "2025"):
        insi_mock.fault_style = style
        insi_mock.inject("technical")
        with make_client(segurlink_mock_settings) as c, pytest.raises(InsiFault) as info:
            c.search(traits(**PERSON))
        seen.append((info.value.code, info.value.subcode, info.value.detail_code))
    assert seen[0] == seen[1] == ("Receiver", "siram_40", "insi_102")


# -- logging -----------------------------------------------------------------------------------


def test_info_logs_carry_no_health_data(client: InsiClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="segurlink"):
        client.search(
            traits(birth_name="TCHITCHI", first_names="OLA CATARINA", sex="F", birth_date="1936-06-21")
        )
    assert caplog.records, "exchanges are logged"
    for forbidden in ("TCHITCHI", "CATARINA", "1936-06-21", "2360663220836", "236066322083656"):
        assert forbidden not in caplog.text
    info = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert len(info) == 2 and all("outcome=0" in m for m in info)


def test_a_server_trickling_its_answer_cannot_outlast_the_timeouts(
    segurlink_mock_settings: Settings, insi_mock: Any
) -> None:
    # 20 pieces 0.25 s apart: every socket read gets bytes well within the 0.5 s read
    # timeout, so only the overall deadline (connect + read = 1 s) can stop the call.
    insi_mock.inject("trickle:0.25")
    with make_client(segurlink_mock_settings, timeouts=Timeouts(connect=0.5, read=0.5)) as c:
        started = time.monotonic()
        with pytest.raises(TransportTimeout):
            c.search(traits(**PERSON))
        # the trickled answer takes 5 s to arrive in full; the call gave up long before
        assert time.monotonic() - started < 4.0


def test_a_trickled_answer_within_the_deadline_is_read(
    segurlink_mock_settings: Settings, insi_mock: Any
) -> None:
    insi_mock.inject("trickle:0.01")
    with make_client(segurlink_mock_settings) as c:
        assert c.search(traits(**PERSON)).found
