"""The DMP client against the DMP mock (loopback, mutual TLS): flows, faults, retries."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from segurlink.cda import Organization, build_document
from segurlink.config import Settings
from segurlink.dmp import ARCHIVED, Audience, Authorisation, DmpClient, DmpSettings
from segurlink.errors import (
    ConfigurationError,
    HttpStatusError,
    IdentityStatusError,
    InputError,
    MalformedResponse,
    SoapFault,
    TransportError,
    TransportTimeout,
    XdsError,
)
from segurlink.identity import IdentityStatus
from tests.dmp import factory as f


@pytest.fixture
def client(dmp_settings: Settings) -> Any:
    with DmpClient.from_settings(dmp_settings) as c:
        yield c


def _with_timeouts(settings: Settings, read: float) -> Settings:
    data = settings.to_mapping()
    data["timeouts"] = {"connect": 2.0, "read": read}
    return Settings.from_mapping(data, base_dir=settings.base_dir)


def test_check_reports_each_test_patient(client: DmpClient) -> None:
    assert client.check(f.patient_ins(f.ZOE)).can_deposit
    refused = client.check(f.patient_ins(f.CATARINA))
    assert refused.exists and refused.authorisation is Authorisation.REFUSED
    missing = client.check(f.patient_ins(f.MICHELANGELO))
    assert not missing.exists and missing.query_code == "NF"
    assert missing.authorisation is Authorisation.NONE


def test_deposit_find_retrieve_replace_hide_delete(client: DmpClient, dmp_mock: Any) -> None:
    ins = f.patient_ins()
    document = f.make_document(seed=7)
    original = build_document(document)
    result = client.deposit(original)
    assert not result.already_deposited and result.unique_id == document.id.xds_unique_id

    (entry,) = client.find(ins)
    assert entry.unique_id == result.unique_id and entry.type_code == "80788-3"
    retrieved = client.retrieve(ins, entry.unique_id)
    assert retrieved.content == original  # byte-identical

    new = build_document(f.replacement(document, seed=8))
    replaced = client.replace(new)
    assert replaced.replaced_entry_uuid == entry.entry_uuid
    (current,) = client.find(ins)  # the new version only
    assert current.unique_id != entry.unique_id
    assert client.retrieve(ins, current.unique_id).content == new

    client.hide(current, Audience.PROFESSIONALS)
    (hidden,) = client.find(ins)
    assert Audience.PROFESSIONALS in hidden.hidden_from
    client.unhide(hidden, Audience.PROFESSIONALS)
    (shown,) = client.find(ins)
    assert not shown.hidden_from

    client.delete(shown)
    assert client.find(ins) == ()
    assert [d["uniqueId"] for d in dmp_mock.documents(ins.value) if "Deleted" in d["status"]]


def test_deposit_and_find_as_a_psc_professional(dmp_settings: Settings, dmp_mock: Any) -> None:
    from segurlink.psc.models import ProfessionalIdentity, PscActivity, PscExercice

    pro = ProfessionalIdentity(
        national_id="810001234567",
        given_name="Roberta",
        family_name="BLEEDER",
        exercices=(
            PscExercice(
                profession="60", activities=(PscActivity(sector="SA17", finess_site=f.FINESS),)
            ),
        ),
    )
    with DmpClient.from_settings(dmp_settings, professional=pro) as c:
        result = c.deposit(f.cda(seed=20))
        (entry,) = c.find(f.patient_ins())
    assert entry.unique_id == result.unique_id
    subjects = {r.details.get("subject") for r in dmp_mock.requests}
    assert subjects == {"810001234567"}


def test_content_type_comes_from_the_settings(dmp_settings: Settings) -> None:
    data = dmp_settings.to_mapping()
    data["dmp"] = {
        **data["dmp"],
        "content_type": "SA17",
        "content_type_system": "1.2.250.1.71.4.2.4",
        "content_type_display": "Etablissement pour personnes âgées",
    }
    settings = Settings.from_mapping(data, base_dir=dmp_settings.base_dir)
    with DmpClient.from_settings(settings) as c:
        _, ss, _, _, _ = c.prepare_deposit(f.cda(seed=23))
        assert (ss.content_type.code, ss.content_type.code_system) == (
            "SA17",
            "1.2.250.1.71.4.2.4",
        )
        c.deposit(f.cda(seed=23))  # the mock accepts it
    data["dmp"]["content_type_system"] = "1.2.3"
    with pytest.raises(ConfigurationError, match="JDV_J59"):
        DmpClient.from_settings(Settings.from_mapping(data, base_dir=dmp_settings.base_dir))


def test_archive_and_find_archived(client: DmpClient) -> None:
    ins = f.patient_ins()
    client.deposit(f.cda(seed=11))
    (entry,) = client.find(ins)
    client.archive(entry)
    assert client.find(ins) == ()
    (archived,) = client.find(ins, statuses=[ARCHIVED])
    assert archived.unique_id == entry.unique_id
    client.unarchive(archived)
    assert len(client.find(ins)) == 1


def test_deposit_hidden_from_patient_at_once(client: DmpClient) -> None:
    client.deposit(f.cda(seed=12), hidden_from=[Audience.PATIENT])
    (entry,) = client.find(f.patient_ins())
    assert entry.hidden_from == {Audience.PATIENT}


def test_deposit_for_a_patient_without_dmp_is_an_xds_error(client: DmpClient) -> None:
    with pytest.raises(XdsError) as info:
        client.deposit(f.cda(f.MICHELANGELO, seed=13))
    assert info.value.errors and info.value.errors[0].code == "XDSUnknownPatientId"
    assert info.value.errors[0].severity == "Error"


def test_registry_unavailable_is_typed(client: DmpClient, dmp_mock: Any) -> None:
    dmp_mock.inject("registry_unavailable")
    with pytest.raises(XdsError) as info:
        client.find(f.patient_ins())
    assert info.value.errors[0].code == "XDSRegistryNotAvailable"


def test_registry_error_carries_code_context_and_severity(client: DmpClient) -> None:
    with pytest.raises(XdsError) as info:
        client.deposit(f.cda(f.CATARINA, seed=18))  # the patient refused this structure
    (issue,) = info.value.errors
    assert issue.code == "XDSRegistryError" and issue.severity == "Error"
    assert "Accès refusé" in issue.context
    assert "XDSRegistryError" in str(info.value)


def test_soap_fault_is_typed_with_its_code(client: DmpClient, dmp_mock: Any) -> None:
    dmp_mock.inject("registry_unavailable")  # TD0.2 answers a SOAP Receiver fault
    with pytest.raises(SoapFault) as info:
        client.check(f.patient_ins())
    assert info.value.code.endswith("Receiver")
    assert "indisponible" in info.value.reason


@pytest.mark.parametrize("audience", list(Audience))
def test_hide_and_unhide_for_each_audience(
    client: DmpClient, dmp_mock: Any, audience: Audience
) -> None:
    client.deposit(f.cda(seed=19))
    (entry,) = client.find(f.patient_ins())
    client.hide(entry, audience)
    (hidden,) = client.find(f.patient_ins())
    assert hidden.hidden_from == {audience} and hidden.version == "2"
    (stored,) = [d for d in dmp_mock.documents(f.patient_ins().value) if d["version"] == 2]
    assert audience.value in stored["confidentiality"] and "N" in stored["confidentiality"]
    client.unhide(hidden, audience)
    (shown,) = client.find(f.patient_ins())
    assert not shown.hidden_from and shown.unique_id == entry.unique_id


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("wrong_action", MalformedResponse),
        ("http500_html", HttpStatusError),
        ("reset", TransportError),
    ],
)
def test_faults_are_typed(
    client: DmpClient, dmp_mock: Any, fault: str, error: type[Exception]
) -> None:
    dmp_mock.inject(fault)
    with pytest.raises(error):
        client.check(f.patient_ins())


def test_truncated_retrieve_is_malformed(client: DmpClient, dmp_mock: Any) -> None:
    client.deposit(f.cda(seed=14))
    (entry,) = client.find(f.patient_ins())
    dmp_mock.inject("truncated_multipart")
    with pytest.raises(MalformedResponse):
        client.retrieve(f.patient_ins(), entry.unique_id)


def test_latency_beyond_the_timeout_is_a_timeout(dmp_settings: Settings, dmp_mock: Any) -> None:
    dmp_mock.inject("latency:1.5")
    with (
        DmpClient.from_settings(_with_timeouts(dmp_settings, 0.5)) as c,
        pytest.raises(TransportTimeout),
    ):
        c.check(f.patient_ins())


def test_interrupted_deposit_is_not_duplicated(dmp_settings: Settings, dmp_mock: Any) -> None:
    dmp_mock.inject("timeout_after_commit:1.5")
    data = f.cda(seed=15)
    with DmpClient.from_settings(_with_timeouts(dmp_settings, 0.5)) as c:
        result = c.deposit(data)
    assert result.already_deposited and result.entry is not None
    stored = [
        d for d in dmp_mock.documents(f.patient_ins().value) if d["uniqueId"] == result.unique_id
    ]
    assert len(stored) == 1


def test_deposit_refused_before_sending_when_structures_differ(
    client: DmpClient, dmp_mock: Any
) -> None:
    other = Organization.from_finess("010000024", "AUTRE EHPAD")
    before = dmp_mock.request_count
    with pytest.raises(InputError, match="structure"):
        client.deposit(f.cda(seed=16, organization=other))
    wrong_identity = f.record(f.DOMINIQUE)
    with pytest.raises(InputError, match="INS"):
        client.deposit(f.cda(seed=17), identity=wrong_identity)
    not_qualified = dataclasses.replace(f.record(), status=IdentityStatus.VALI)
    with pytest.raises(IdentityStatusError):
        client.deposit(f.cda(seed=17), identity=not_qualified)
    assert dmp_mock.request_count == before


def test_signing_certificate_of_another_structure_is_a_configuration_error(
    dmp_settings: Settings, dmp_mock: Any
) -> None:
    cert, key = dmp_mock.other_signing_identity
    settings = dataclasses.replace(
        DmpSettings.from_settings(dmp_settings), signing_cert=Path(cert), signing_key=Path(key)
    )
    with pytest.raises(ConfigurationError, match="structure"):
        DmpClient(settings)


def test_no_health_data_in_info_logs_or_reprs(
    client: DmpClient, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.INFO)
    ins = f.patient_ins()
    result = client.deposit(f.cda(seed=24))
    (entry,) = client.find(ins)
    document = client.retrieve(ins, entry.unique_id)
    text = caplog.text + repr(result) + repr(entry) + repr(document) + repr(client)
    text += repr(client.check(ins)) + repr(client.settings)
    assert caplog.records  # the exchanges are logged...
    for secret in (ins.value, "ADRUN", "19751231", "810100000001"):
        assert secret not in text  # ...without INS, name, birth date or responsible id


# -- replacement read from the CDA header (issue 9 item 6) -----------------------------------


def _current_by_set(dmp_mock: Any, ins: str) -> dict[str, list[str]]:
    """The Approved uniqueIds of each setId in the mock."""
    approved: dict[str, list[str]] = {}
    for d in dmp_mock.documents(ins):
        if d["status"].endswith(":Approved"):
            approved.setdefault(d["setId"], []).append(d["uniqueId"])
    return approved


def test_a_new_version_is_a_replacement_without_being_told(
    client: DmpClient, dmp_mock: Any
) -> None:
    ins = f.patient_ins()
    v1 = f.make_document(seed=60)
    client.deposit(build_document(v1))
    (entry1,) = client.find(ins)
    v2 = f.replacement(v1, seed=61)
    result = client.deposit(build_document(v2))  # no replaces=, no replace()
    assert result.replaced_entry_uuid == entry1.entry_uuid and not result.already_deposited
    v3 = f.replacement(v2, seed=62, body=f.PDF + b"%v3\n")
    result = client.deposit(build_document(v3))
    (current,) = client.find(ins)
    assert current.unique_id == v3.id.xds_unique_id
    assert _current_by_set(dmp_mock, ins.value) == {v1.set_id.xds_unique_id: [current.unique_id]}
    statuses = [d["status"].rsplit(":", 1)[-1] for d in dmp_mock.documents(ins.value)]
    assert statuses == ["Deprecated", "Deprecated", "Approved"]
    # Sending v3 again (a re-run) deposits nothing and says so.
    again = client.deposit(build_document(v3))
    assert again.already_deposited and len(dmp_mock.documents(ins.value)) == 3
    # Other bytes under v3's id are not a re-run: v2 is no longer there to be replaced.
    other_v3 = dataclasses.replace(v3, title="Autre contenu")
    with pytest.raises(InputError, match="deprecated"):
        client.deposit(build_document(other_v3))
    assert len(dmp_mock.documents(ins.value)) == 3


def test_a_replacement_of_an_unknown_or_inactive_document_is_refused_before_sending(
    client: DmpClient, dmp_mock: Any
) -> None:
    ins = f.patient_ins()
    orphan = f.replacement(f.make_document(seed=63), seed=64)  # v1 was never deposited
    with pytest.raises(InputError, match="absent"):
        client.deposit(build_document(orphan))
    v1 = f.make_document(seed=65)
    client.deposit(build_document(v1))
    (entry,) = client.find(ins)
    client.archive(entry)
    with pytest.raises(InputError, match="archived"):
        client.deposit(build_document(f.replacement(v1, seed=66)))
    with pytest.raises(InputError, match="relatedDocument"):
        client.deposit(f.cda(seed=67), replaces=entry.entry_uuid)  # a v1 is no replacement
    with pytest.raises(InputError, match="relatedDocument"):
        client.replace(f.cda(seed=67))
    assert [d["uniqueId"] for d in dmp_mock.documents(ins.value)] == [entry.unique_id]


def test_a_replaces_argument_that_contradicts_the_cda_is_refused(
    client: DmpClient, dmp_mock: Any
) -> None:
    ins = f.patient_ins()
    v1, other = f.make_document(seed=68), f.make_document(seed=69)
    client.deposit(build_document(v1))
    client.deposit(build_document(other))
    other_entry = client.get(ins, unique_id=other.id.xds_unique_id)
    assert other_entry is not None
    with pytest.raises(InputError, match="not the current entry"):
        client.deposit(build_document(f.replacement(v1, seed=70)), replaces=other_entry.entry_uuid)
    assert len(dmp_mock.documents(ins.value)) == 2


@pytest.mark.parametrize(
    "content",
    [b"", b"not xml", b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>", b"<a/>"],
)
def test_a_bad_local_document_is_an_input_error(
    client: DmpClient, dmp_mock: Any, content: bytes
) -> None:
    before = dmp_mock.request_count
    with pytest.raises(InputError):
        client.deposit(content)
    assert dmp_mock.request_count == before
