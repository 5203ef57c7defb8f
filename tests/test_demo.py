"""``segurlink demo``: the admission story, in-process and through the CLI, checked against
what the mocks hold afterwards (the DMP's document, the MSSanté mailboxes, the ROR's
capacity, the PSC mock's authorization request), and its failures (bad options, bad
settings, a service saying no) as one typed line with the documented exit code."""

from __future__ import annotations

import email
import json
import re
import sqlite3
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from segurlink_mocks.dmp import DmpMock
from segurlink_mocks.mssante import MssMock
from segurlink_mocks.ror import RorMock
from segurlink_mocks.stack import MockStack

from segurlink._commands.demo import (
    ATTENDING_DOCTOR,
    NURSE,
    RESIDENT,
    ROR_LOCATION,
    AdmissionStory,
    Step,
    _pdf,
)
from segurlink.cli import main
from tests.conftest import shared_path

RESIDENT_INS = "297022A02077878"  # the INSi mock's ADRTROIS DOMINIQUE
PATIENT_MAILBOX = f"{RESIDENT_INS}@patient.mssante.fr"
STEPS = ["login", "identity", "document", "dmp", "mssante", "ror"]


@pytest.fixture(scope="module")
def running_mocks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockStack]:
    with MockStack(tmp_path_factory.mktemp("demo-stack")) as running:
        yield running


@pytest.fixture
def stack(running_mocks: MockStack) -> Iterator[MockStack]:
    """The module's mocks in their start state (no fault, no document, no mail, the
    nurse auto-approved), checked for handler errors afterwards. The ROR mock keeps its
    counts (regenerating its offer takes a second): the tests read them before and after."""
    for name, mock in running_mocks.mocks.items():
        if name == "ror":
            mock.clear_faults()
            mock.clear_requests()
        else:
            mock.reset()
    yield running_mocks
    for mock in running_mocks.mocks.values():
        mock.check_handler_errors()


def _dmp(stack: MockStack) -> DmpMock:
    return cast(DmpMock, stack.mocks["dmp"])


def _mss(stack: MockStack) -> MssMock:
    return cast(MssMock, stack.mocks["mssante"])


def _ror(stack: MockStack) -> RorMock:
    return cast(RorMock, stack.mocks["ror"])


def ror_places_for_women(ror: RorMock) -> int:
    """The indicator the story changes, read from the mock's own store."""
    location_id = ror.landmarks["location_id"]
    location = ror.resource(f"Location/{location_id}")
    assert location is not None
    for capacity in location["extension"]:
        if not capacity["url"].endswith("ror-location-supported-capacity"):
            continue
        parts = {e["url"]: e for e in capacity["extension"]}
        codes = {
            name: parts[name]["valueCodeableConcept"]["coding"][0]["code"]
            for name in ("capacityType", "capacityStatus", "genderCapacityAvailable")
            if name in parts
        }
        if codes == {"capacityType": "02", "capacityStatus": "02", "genderCapacityAvailable": "01"}:
            return int(parts["nbCapacity"]["valueInteger"])
    raise AssertionError("no indicator of available places for women")


def _check_against_the_mocks(stack: MockStack, steps: list[dict[str, Any]]) -> None:
    """What each step reported is what the mocks hold."""
    by_name = {s["step"]: s for s in steps}
    assert [s["step"] for s in steps] == STEPS
    # 1. PSC: a PKCE code flow for the nurse, and her identity from UserInfo.
    sent = stack.psc.last_authorization
    assert (sent["code_challenge_method"], sent["login_hint"]) == ("S256", NURSE)
    login = by_name["login"]
    assert (login["national_id"], login["rpps"], login["profession"]) == (NURSE, NURSE[1:], "60")
    assert login["works_at_structure"] and login["activity"]["finess_legal_entity"] == "010000016"
    # 2. INSi: found, verified, qualified.
    identity = by_name["identity"]
    assert identity["search"]["code"] == "00" and identity["verified"] is True
    assert identity["statuses"] == ["PROV", "RECUP", "QUAL"]
    assert (identity["ins"], identity["mssante_address"]) == (RESIDENT_INS, PATIENT_MAILBOX)
    # 3. + 4. The DMP mock holds the validated document, deposited by the outbox.
    document, dmp = by_name["document"], by_name["dmp"]
    assert document["validation"]["ok"] and document["validation"]["errors"] == 0
    (stored,) = [
        e for e in _dmp(stack).entries(RESIDENT_INS) if e.unique_id == document["unique_id"]
    ]
    assert stored.status.endswith("Approved") and len(stored.content) == document["bytes"]
    assert b"80788-3" in stored.content  # the projet personnalisé d'accompagnement
    assert dmp["job"]["kind"] == "dmp.deposit" and dmp["job"]["state"] == "done"
    assert dmp["found"] == {"unique_id": document["unique_id"], "status": "Approved"}
    # 5. MSSanté: the doctor's and the resident's mailboxes got the message; two MDNs back.
    mail = by_name["mssante"]
    assert mail["recipients"] == [ATTENDING_DOCTOR, PATIENT_MAILBOX] and mail["accepted"] == 2
    for mailbox in (ATTENDING_DOCTOR, PATIENT_MAILBOX):
        (delivered,) = [
            m
            for m in _mss(stack).mailbox(mailbox)
            if email.message_from_bytes(m)["Message-ID"] == mail["message_id"]
        ]
        assert b"IHE_XDM.ZIP" in delivered
    assert sorted(r["recipient"].lower() for r in mail["receipts"]) == sorted(
        [ATTENDING_DOCTOR, PATIENT_MAILBOX.lower()]
    )
    assert all(r["kind"] == "mdn" and r["ok"] for r in mail["receipts"])
    # Sent from the structure's APP mailbox by an outbox worker, keyed by its Message-ID.
    assert mail["via"] == "outbox" and mail["job"]["kind"] == "mssante.send"
    assert mail["job"]["state"] == "done" and mail["job"]["result"]["accepted"] == 2
    assert mail["job"]["result"]["message_id"] == mail["message_id"]
    # 6. ROR: the mock stores the published count, the one read back.
    ror = by_name["ror"]
    assert ror["location"] == ROR_LOCATION
    assert ror["published"] == max(ror["before"] - 1, 0) == ror["read_back"]
    assert ror_places_for_women(_ror(stack)) == ror["published"]
    assert ror["job"]["kind"] == "ror.capacity" and ror["job"]["state"] == "done"


# -- in-process --------------------------------------------------------------------------------


def test_the_story_against_the_mocks(stack: MockStack, tmp_path: Path) -> None:
    shown: list[Step] = []
    before = ror_places_for_women(_ror(stack))
    steps = AdmissionStory(stack.settings(), tmp_path, on_step=shown.append).run()
    assert shown == steps and [s.number for s in steps] == [1, 2, 3, 4, 5, 6]
    data = [s.to_json() for s in steps]
    _check_against_the_mocks(stack, data)
    assert data[-1]["before"] == before
    # No CI-SIS kit in this environment: the header rules ran, and the step says so.
    validation = data[2]["validation"]
    assert validation["layers"] == ["rules"] and validation["kit"] is None
    assert "no CI-SIS kit configured" in " ".join(steps[2].lines)
    # The outbox is an SQLite file in the work directory: the three jobs done.
    with sqlite3.connect(tmp_path / "outbox.sqlite3") as db:
        rows = db.execute("SELECT kind, state FROM segurlink_outbox_job ORDER BY id").fetchall()
    assert rows == [("dmp.deposit", "done"), ("mssante.send", "done"), ("ror.capacity", "done")]


def test_the_story_validates_with_the_cisis_kit_when_one_is_configured(
    stack: MockStack,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kit = shared_path("cisis-kit")
    monkeypatch.setenv("SEGURLINK_CISIS_KIT", str(kit))
    # The CDA tests' cache: compiled once per session.
    cache = tmp_path_factory.getbasetemp() / "schematron-cache"
    monkeypatch.setenv("SEGURLINK_CDA__CACHE_DIR", str(cache))
    steps = AdmissionStory(stack.settings(), tmp_path).run()
    validation = steps[2].data["validation"]
    assert validation["layers"] == ["rules", "xsd", "schematron"]
    assert validation["schematrons"] and validation["errors"] == 0
    assert validation["kit"] == str(kit)


def test_the_pdf_body_is_a_readable_pdf() -> None:
    pdf = _pdf(["Projet personnalisé d'accompagnement", "a (parenthesis) and \\"])
    assert pdf.startswith(b"%PDF-1.4\n") and pdf.endswith(b"%%EOF\n")
    # Every object starts at the offset the cross-reference table gives.
    xref = int(re.search(rb"startxref\n(\d+)\n", pdf).group(1))
    assert pdf[xref:].startswith(b"xref\n0 6\n")
    offsets = [int(o) for o in re.findall(rb"^(\d{10}) 00000 n $", pdf, re.M)]
    assert [pdf[o:].split(b" ", 1)[0] for o in offsets] == [b"1", b"2", b"3", b"4", b"5"]
    length = int(re.search(rb"/Length (\d+)", pdf).group(1))
    stream = pdf.split(b"stream\n", 1)[1].split(b"\nendstream", 1)[0]
    assert len(stream) == length
    assert b"(Projet personnalis\xe9 d'accompagnement) '" in stream  # WinAnsi
    assert b"a \\(parenthesis\\) and \\\\" in stream


# -- through the CLI ---------------------------------------------------------------------------


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_demo_json_starts_its_own_mocks(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "--json", "demo")
    assert code == 0, err
    result = json.loads(out)
    assert result["mocks"] == "mocks started in this process"
    steps = result["steps"]
    assert [s["step"] for s in steps] == STEPS
    assert all(s["title"] and s["seconds"] >= 0 for s in steps)
    assert steps[1]["statuses"] == ["PROV", "RECUP", "QUAL"] and steps[1]["ins"] == RESIDENT_INS
    assert steps[3]["found"]["unique_id"] == steps[2]["unique_id"]
    assert steps[4]["via"] == "outbox" and len(steps[4]["receipts"]) == 2
    assert steps[5]["read_back"] == steps[5]["published"]
    assert result["seconds"] >= sum(s["seconds"] for s in steps)


def test_demo_json_against_running_mocks_matches_their_state(
    stack: MockStack, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "demo", "--json", "--config", str(stack.config_path))
    assert code == 0, err
    result = json.loads(out)
    assert result["mocks"] == f"the mocks of {stack.config_path}"
    _check_against_the_mocks(stack, result["steps"])


def test_demo_text_tells_each_step(stack: MockStack, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "--config", str(stack.config_path), "demo")
    assert code == 0 and err == ""
    titles = re.findall(r"^(\d)\. (\S+)", out, re.M)
    assert titles == [
        ("1", "Pro"),
        ("2", "INSi:"),
        ("3", "CDA:"),
        ("4", "DMP:"),
        ("5", "MSSanté:"),
        ("6", "ROR:"),
    ]
    assert "Claire INFIRMIERE-TEST logged in" in out
    assert "PROV -> RECUP -> QUAL" in out and f"INS {RESIDENT_INS}" in out
    assert "MDN from the resident" in out and "MDN from Dr Paul MEDECIN-TEST" in out
    assert re.search(r"^done in \d+\.\d s$", out, re.M)


def test_demo_with_settings_missing_a_service_is_refused_before_anything_is_sent(
    stack: MockStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = tomllib.loads(stack.config_path.read_text(encoding="utf-8"))
    del settings["psc"]
    lines = []
    for table, values in settings.items():
        lines.append(f"[{table}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    config = tmp_path / "no-psc.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "pki").symlink_to(stack.pki.directory)  # the relative paths of the file
    code, out, err = _run(capsys, "demo", "--config", str(config))
    assert code == 2 and out == ""
    assert err.startswith("segurlink: ConfigurationError: psc.") and len(err.splitlines()) == 1
    assert sum(mock.request_count for mock in stack.mocks.values()) == 0


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["demo", "extra"], "UsageError"),
        (["demo", "--resident", "x"], "UsageError"),
        (["demo", "--config"], "UsageError"),
        (["demo", "--config", "{tmp}/missing.toml"], "ConfigurationError"),
        (["demo", "--config", "{tmp}/bad.toml"], "ConfigurationError"),
        (["demo", "--config", "{tmp}"], "ConfigurationError"),
        (["demo", "--config", "{tmp}/empty.toml"], "ConfigurationError"),
    ],
)
def test_bad_options_and_settings_are_one_line_exit_2(
    argv: list[str], error: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.toml").write_text("[psc\nissuer = ", encoding="utf-8")
    (tmp_path / "empty.toml").write_text("", encoding="utf-8")
    args = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, out, err = _run(capsys, *args)
    assert code == 2 and out == ""
    assert err.startswith(f"segurlink: {error}: ") and len(err.splitlines()) == 1, err
    code, out, _ = _run(capsys, *args, "--json")
    assert code == 2 and json.loads(out)["class"] == error


def test_a_service_saying_no_stops_the_story_with_exit_1(
    stack: MockStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # The resident forbade the structure her DMP: the deposit is refused, the job is dead.
    _dmp(stack).add_patient(RESIDENT_INS, True, "INTERDIT")
    code, out, err = _run(capsys, "demo", "--config", str(stack.config_path))
    assert code == 1 and "Traceback" not in err
    assert err.startswith("segurlink: ServiceError: the DMP deposit was refused (outbox job 1")
    assert "XDSRegistryError" in err and len(err.splitlines()) == 1
    assert "3. CDA:" in out and "4. DMP" not in out  # the steps before it were shown
    code, out, _ = _run(capsys, "--json", "demo", "--config", str(stack.config_path))
    assert code == 1 and json.loads(out)["class"] == "ServiceError"
    assert not _mss(stack).mailbox(ATTENDING_DOCTOR)  # nothing sent after the refusal


def test_the_psc_login_page_is_a_configuration_error(
    stack: MockStack, capsys: pytest.CaptureFixture[str]
) -> None:
    stack.psc.auto_approve = False  # `segurlink mock serve --psc-login-page`
    code, out, err = _run(capsys, "--json", "demo", "--config", str(stack.config_path))
    assert code == 2 and json.loads(out)["class"] == "ConfigurationError"
    assert "--psc-login-page" in err and stack.insi.request_count == 0


def test_an_unknown_resident_is_the_services_no(
    stack: MockStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from segurlink._commands import demo
    from segurlink.errors import NotFound

    monkeypatch.setattr(demo, "RESIDENT", {**RESIDENT, "birth_name": "INCONNU"})
    story = AdmissionStory(stack.settings(), tmp_path)
    with pytest.raises(NotFound, match="INSi found no single INS for the resident: CR 01"):
        story.run()
    assert [s.name for s in story.steps] == ["login"]
    assert not _dmp(stack).entries(RESIDENT_INS)
