"""Job values, job builders (DMP, ROR), the [outbox] settings and the registry: their rules."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from segurlink.cda import build_document, parse_header
from segurlink.config import Settings
from segurlink.errors import ConfigurationError, InputError
from segurlink.outbox import (
    DEFAULT_POLICY,
    Job,
    JobError,
    JobKind,
    JobState,
    KindCounts,
    NewJob,
    OutboxSettings,
    StatusReport,
    builtin_kinds,
)
from segurlink.outbox.dmp import deposit_job, entry_job, replace_job
from segurlink.outbox.kinds import registry
from segurlink.outbox.ror import capacity_job
from segurlink.ror import CapacityUpdate
from tests.dmp import factory as f
from tests.outbox.conftest import write_settings

# -- NewJob ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": "deposit"}, "service.operation"),
        ({"kind": "DMP.deposit"}, "service.operation"),
        ({"kind": "dmp.deposit!"}, "service.operation"),
        ({"structure": "01000001"}, "9-character FINESS"),
        ({"structure": "0100000167"}, "9-character FINESS"),
        ({"structure": "01000001a"}, "9-character FINESS"),
        ({"key": ""}, "1 to 400"),
        ({"key": "k" * 401}, "1 to 400"),
        ({"ordering_key": ""}, "ordering key"),
        ({"ordering_key": "o" * 401}, "ordering key"),
        ({"blobs": {"CDA": b"x"}}, "blob name"),
        ({"blobs": {"cda": "text"}}, "bytes"),
        ({"payload": {"when": dt.datetime(2024, 1, 1)}}, "not JSON"),
    ],
)
def test_a_new_job_is_checked(changes: dict[str, Any], message: str) -> None:
    values: dict[str, Any] = {"kind": "dmp.deposit", "structure": "010000016", "key": "1.2.3"}
    values.update(changes)
    with pytest.raises(InputError, match=message):
        NewJob(**values)


def test_the_boundaries_of_a_new_job_are_accepted() -> None:
    job = NewJob("mssante.send", "2A0000123", "k" * 400, {"a": [1]}, {"mail.eml": b"x"}, "o" * 400)
    assert "k" * 400 in repr(job) and "mail" not in repr(job)


def test_the_fingerprint_covers_payload_blob_names_and_contents() -> None:
    base = NewJob("dmp.deposit", "010000016", "k", {"a": 1}, {"cda": b"x"})
    same = NewJob("dmp.deposit", "010000016", "k", {"a": 1}, {"cda": b"x"})
    assert base.fingerprint == same.fingerprint and len(base.fingerprint) == 64
    others = [
        NewJob("dmp.deposit", "010000016", "k", {"a": 2}, {"cda": b"x"}),
        NewJob("dmp.deposit", "010000016", "k", {"a": 1}, {"cda": b"y"}),
        NewJob("dmp.deposit", "010000016", "k", {"a": 1}, {"pdf": b"x"}),
        NewJob("dmp.deposit", "010000016", "k", {"a": 1}, {"cda": b"x", "pdf": b""}),
    ]
    assert len({base.fingerprint, *(o.fingerprint for o in others)}) == 5


def test_a_missing_blob_names_the_job() -> None:
    now = dt.datetime.now(dt.UTC)
    job = Job(3, "dmp.deposit", "010000016", "k", JobState.RUNNING, 1, now, now, now, now)
    with pytest.raises(KeyError, match=r"job 3 \(dmp\.deposit\) has no blob 'cda'"):
        job.blob("cda")


def test_status_report_counts() -> None:
    report = StatusReport(
        (KindCounts("a.b", pending=1, running=2, done=3, dead=4), KindCounts("c.d", dead=1)),
        oldest_pending_id=7,
        oldest_pending_age=1.5,
        schema_version=2,
    )
    assert report.total == 11 and report.kinds[0].total == 10
    assert [report.count(s) for s in JobState] == [1, 2, 3, 5]
    assert report.to_json() == {
        "schema_version": 2,
        "states": {"pending": 1, "running": 2, "done": 3, "dead": 5},
        "kinds": {
            "a.b": {"pending": 1, "running": 2, "done": 3, "dead": 4},
            "c.d": {"pending": 0, "running": 0, "done": 0, "dead": 1},
        },
        "oldest_pending": {"job": 7, "age_seconds": 1.5},
    }
    with pytest.raises(ValueError):
        report.count("sleeping")


# -- DMP builders ------------------------------------------------------------------------------


def test_a_deposit_job_is_keyed_by_the_document_and_chained_by_its_set() -> None:
    document = f.make_document(seed=501)
    data = build_document(document)
    job = deposit_job(data, hidden_from=["INVISIBLE_PATIENT", "MASQUE_PS", "MASQUE_PS"])
    header = parse_header(data)
    assert (job.kind, job.structure, job.key) == (
        "dmp.deposit",
        "010000016",
        header.id.xds_unique_id,
    )
    assert job.ordering_key == f"dmp:010000016:{header.set_id.xds_unique_id}"  # type: ignore[union-attr]
    assert job.payload == {"hidden_from": ["INVISIBLE_PATIENT", "MASQUE_PS"], "content_type": None}
    assert job.blobs == {"cda": data}
    replacement = build_document(f.replacement(document, seed=502))
    again = replace_job(replacement, content_type=f.Code("SA17", "1.2.250.1.71.4.2.4", "EHPAD"))  # type: ignore[attr-defined]
    assert again.kind == "dmp.replace" and again.ordering_key == job.ordering_key
    assert again.payload["content_type"] == ["SA17", "1.2.250.1.71.4.2.4", "EHPAD"]


def test_deposit_builders_refuse_what_the_dmp_would_refuse() -> None:
    with pytest.raises(InputError, match="bytes"):
        deposit_job("<xml/>")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="unknown DMP audience"):
        deposit_job(f.cda(seed=503), hidden_from=["EVERYONE"])
    other = f.Organization.from_finess("020000022", "AUTRE EHPAD")  # type: ignore[attr-defined]
    with pytest.raises(InputError, match="authored for structure 020000022"):
        deposit_job(f.cda(seed=504, organization=other), structure="010000016")
    assert deposit_job(f.cda(seed=504, organization=other)).structure == "020000022"


def test_a_cda_without_ins_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import segurlink.cda

    real = segurlink.cda.parse_header

    def without_ins(document: bytes) -> Any:
        header = real(document)
        import dataclasses

        return dataclasses.replace(header, patient=dataclasses.replace(header.patient, ins=None))

    monkeypatch.setattr(segurlink.cda, "parse_header", without_ins)
    with pytest.raises(InputError, match="no INS"):
        deposit_job(f.cda(seed=505))


def test_entry_jobs_keys_chains_and_payload() -> None:
    ins = f.patient_ins()
    hide = entry_job("dmp.hide", ins, "1.2.3", structure="010000016", chain=None)
    assert hide.key == "1.2.3/hide/MASQUE_PS"
    assert hide.ordering_key == "dmp:010000016:1.2.3"
    assert hide.payload == {
        "ins": ins.value,
        "oid": ins.oid,
        "unique_id": "1.2.3",
        "audience": "MASQUE_PS",
    }
    patient = entry_job(
        "dmp.hide", ins, "1.2.3", structure="010000016", chain="dmp:x", audience="INVISIBLE_PATIENT"
    )
    assert (patient.key, patient.ordering_key) == ("1.2.3/hide/INVISIBLE_PATIENT", "dmp:x")
    archive = entry_job("dmp.archive", ins, "1.2.3", structure="010000016", chain=None)
    delete = entry_job("dmp.delete", ins, "1.2.3", structure="010000016", chain=None, key="mine")
    assert (archive.key, delete.key) == ("1.2.3/archive", "mine")
    assert "audience" not in archive.payload
    with pytest.raises(InputError, match="not an entry operation"):
        entry_job("dmp.deposit", ins, "1.2.3", structure="010000016", chain=None)
    with pytest.raises(InputError, match="uniqueId is required"):
        entry_job("dmp.delete", ins, "", structure="010000016", chain=None)


# -- ROR builder -------------------------------------------------------------------------------


def test_a_capacity_job_is_keyed_by_indicator_and_time() -> None:
    when = dt.datetime(2024, 3, 1, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    job = capacity_job("1010000016/UF12", CapacityUpdate(count=4, gender="03", updated=when))
    assert job.kind == "ror.capacity" and job.structure == "010000016"
    indicator = "01|02|01|03||||01"
    assert job.key == f"1010000016/UF12|{indicator}|2024-03-01T08:00:00+00:00"
    assert job.ordering_key == f"ror:1010000016/UF12|{indicator}"
    assert job.payload["location"] == "1010000016/UF12"
    assert job.payload["update"]["count"] == 4
    assert job.payload["update"]["updated"] == "2024-03-01T08:00:00+00:00"
    later = capacity_job(
        "1010000016/UF12", CapacityUpdate(count=5, gender="03"), now=when + dt.timedelta(minutes=5)
    )
    assert later.ordering_key == job.ordering_key and later.key != job.key
    assert (
        capacity_job(
            "X/UF1", CapacityUpdate(count=0, updated=when), structure="010000016"
        ).structure
        == "010000016"
    )


@pytest.mark.parametrize(
    ("location", "update", "message"),
    [
        ("1010000016", CapacityUpdate(count=1), "idNatStructEG"),
        ("/UF1", CapacityUpdate(count=1), "idNatStructEG"),
        ("1010000016/UF1", CapacityUpdate(count=-1), "whole number"),
        ("1010000016/UF1", CapacityUpdate(count=True), "whole number"),
        ("X/UF1", CapacityUpdate(count=1), "give the structure"),
        ("2010000016/UF1", CapacityUpdate(count=1), "give the structure"),
        ("1010000016/UF1", CapacityUpdate(count=1, updated=dt.datetime(2024, 1, 1)), "zone"),
    ],
)
def test_capacity_jobs_refuse_bad_input(location: str, update: Any, message: str) -> None:
    with pytest.raises(InputError, match=message):
        capacity_job(location, update)


# -- registry, settings ----------------------------------------------------------------------


def test_the_builtin_kinds() -> None:
    kinds = builtin_kinds()
    assert sorted(kinds) == [
        "dmp.archive",
        "dmp.delete",
        "dmp.deposit",
        "dmp.hide",
        "dmp.replace",
        "mssante.send",
        "ror.capacity",
    ]
    assert {k.service for k in kinds.values()} == {"dmp", "mssante", "ror"}
    assert all(name == kind.name for name, kind in kinds.items())
    twice = JobKind("a.b", "a", lambda s: None, lambda c, j: {})
    with pytest.raises(ValueError, match="twice"):
        registry([twice, twice])


def test_default_settings_and_policy(tmp_path: Path) -> None:
    config = OutboxSettings.from_settings(Settings.from_mapping({}, base_dir=tmp_path))
    assert config.store == str(tmp_path / "segurlink-outbox.sqlite3")
    assert (config.workers, config.lease, config.poll_interval) == (1, 60.0, 1.0)
    assert config.policy == DEFAULT_POLICY
    assert (DEFAULT_POLICY.initial, DEFAULT_POLICY.maximum, DEFAULT_POLICY.multiplier) == (
        2.0,
        600.0,
        2.0,
    )
    assert (DEFAULT_POLICY.max_attempts, DEFAULT_POLICY.deadline) == (50, 259200.0)
    assert DEFAULT_POLICY.jitter and config.password is None and config.structures == {}
    url = OutboxSettings.from_settings(
        Settings.from_mapping({"outbox": {"store": "postgresql://db/dui", "password": "pw"}})
    )
    assert url.store == "postgresql://db/dui" and url.password is not None
    assert url.password.reveal() == "pw" and "pw" not in repr(url)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"sotre": "x"}, "unknown \\[outbox\\] key"),
        ({"workers": 0}, "must be > 0"),
        ({"lease": 0}, "must be > 0"),
        ({"poll_interval": -1}, "must be > 0"),
        ({"lease": "long"}, "must be a number"),
        ({"lease": True}, "must be a number"),
        ({"retry_initial": 0}, "initial"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"structures": "b.toml"}, "is a table"),
        ({"structures": {"ehpad-b": "b.toml"}}, "not a FINESS"),
    ],
)
def test_bad_outbox_settings(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        OutboxSettings.from_settings(Settings.from_mapping({"outbox": table}))


def test_the_structures_served(tmp_path: Path) -> None:
    write_settings(tmp_path / "b.toml", {"structure": {"finess": "020000022"}})
    write_settings(tmp_path / "c.toml", {"structure": {"finess": "030000038"}})
    main = Settings.from_mapping(
        {"structure": {"finess": "010000016"}, "outbox": {"structures": {"020000022": "b.toml"}}},
        base_dir=tmp_path,
    )
    served = OutboxSettings.from_settings(main).structure_settings(main)
    assert sorted(served) == ["010000016", "020000022"]
    assert served["020000022"].structure.finess == "020000022"  # type: ignore[union-attr]
    wrong = Settings.from_mapping(
        {"outbox": {"structures": {"020000022": "c.toml"}}}, base_dir=tmp_path
    )
    with pytest.raises(ConfigurationError, match="not the settings of structure 020000022"):
        OutboxSettings.from_settings(wrong).structure_settings(wrong)
    assert OutboxSettings.from_settings(Settings()).structure_settings(Settings()) == {}


def test_importing_the_outbox_loads_nothing_heavy() -> None:
    code = (
        "import sys, segurlink.outbox; heavy = {'lxml', 'requests', 'psycopg', 'zeep', "
        "'cryptography', 'segurlink.dmp', 'segurlink.ror'}; "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_structure_comes_from_the_authors_organisation() -> None:
    from segurlink.cda import Author, InstanceId, Organization

    document = f.make_document(seed=506)
    other = Organization.from_finess("020000022", "AUTRE EHPAD")
    two = f.replace_fields(
        document,
        authors=(document.authors[0], Author(f.T0, other, professional=f.NURSE)),
    )
    with pytest.raises(InputError, match="several structures"):
        deposit_job(build_document(two))
    foreign = Organization(InstanceId("1.2.250.1.71.4.2.2", "3010000016"), "SIRET-like")
    unknown = f.replace_fields(document, authors=(Author(f.T0, foreign, professional=f.NURSE),))
    with pytest.raises(InputError, match="no structure"):
        deposit_job(build_document(unknown))
    assert deposit_job(build_document(unknown), structure="010000016").structure == "010000016"


def test_a_job_error_as_a_person_reads_it() -> None:
    assert str(JobError("XdsError", "XDSDocumentUniqueIdError", "déjà déposé")) == (
        "XdsError [XDSDocumentUniqueIdError]: déjà déposé"
    )
    assert str(JobError("TransportError", message="timeout")) == "TransportError: timeout"


def test_an_ordering_key_of_one_character_is_accepted() -> None:
    assert NewJob("dmp.deposit", "010000016", "k", ordering_key="o").ordering_key == "o"


def test_a_status_report_without_pending_job() -> None:
    report = StatusReport((KindCounts("a.b", done=1),))
    assert report.to_json()["oldest_pending"] is None
