"""``segurlink dmp ...`` against the mock, through :func:`segurlink.cli.main`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from segurlink.cda import build_document
from segurlink.cli import main
from segurlink.config import Settings
from tests.dmp import factory as f


@pytest.fixture
def env(dmp_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    for table, values in dmp_settings.to_mapping().items():
        for key, value in values.items():
            monkeypatch.setenv(f"SEGURLINK_{table.upper()}__{key.upper()}", str(value))


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code = main([*argv, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else None


def test_cli_check_deposit_find_get_hide_delete(
    env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ins = f.ZOE[0]
    code, data = _run(capsys, "dmp", "check", ins)
    assert code == 0 and data["authorisation"] == "VALIDE"
    assert _run(capsys, "dmp", "check", f.CATARINA[0])[0] == 1

    doc = tmp_path / "doc.xml"
    doc.write_bytes(f.cda(seed=21))
    code, data = _run(capsys, "dmp", "deposit", str(doc))
    assert code == 0 and not data["already_deposited"]
    unique_id = data["unique_id"]

    code, data = _run(capsys, "dmp", "find", ins)
    assert [e["unique_id"] for e in data] == [unique_id]

    out = tmp_path / "back.xml"
    code, data = _run(capsys, "dmp", "get", ins, unique_id, "-o", str(out))
    assert code == 0 and out.read_bytes() == doc.read_bytes()

    assert _run(capsys, "dmp", "hide", ins, unique_id)[0] == 0
    code, data = _run(capsys, "dmp", "find", ins)
    assert "MASQUE_PS" in data[0]["confidentiality"]
    assert _run(capsys, "dmp", "delete", ins, unique_id)[0] == 0
    assert _run(capsys, "dmp", "find", ins)[1] == []


def test_cli_deposit_error_exit_code(
    env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = tmp_path / "doc.xml"
    doc.write_bytes(f.cda(f.MICHELANGELO, seed=22))
    assert main(["dmp", "deposit", str(doc)]) == 1
    assert "XDSUnknownPatientId" in capsys.readouterr().err


PDF_DESCRIPTION = {
    "type": "PPA",
    "effective_time": "2024-03-01T10:30:00+01:00",
    "id": {"root": "1.2.250.1.999.1.1.3", "extension": "DOC-PDF-1"},
    "set_id": {"root": "1.2.250.1.999.1.1.3", "extension": "SET-PDF-1"},
    "structure": {"finess": f.FINESS, "name": "EHPAD SEGURLINK TEST"},
    "patient": {
        "status": "QUAL",
        "ins": f.ZOE[0],
        "birth_name": f.ZOE[1],
        "first_names": f.ZOE[2],
        "sex": f.ZOE[3],
        "birth_date": f.ZOE[4],
        "birth_place": f.ZOE[0][5:10],
        "id_document": "PASSPORT",
        "ipp": {"root": f.IPP_ROOT, "extension": "IPP-PDF"},
    },
    "author": {
        "rpps": "10001234567",
        "family": "BLEEDER",
        "given": "Roberta",
        "profession": {"code": "G15_60", "display": "Infirmier"},
    },
    "legal_authenticator": {
        "rpps": "10009876543",
        "family": "CAMPARINI",
        "given": "Marcel",
        "profession": {"code": "G15_10"},
    },
}


def test_cli_deposit_pdf_builds_the_cda_on_the_fly(
    env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    description = tmp_path / "doc.json"
    description.write_text(json.dumps(PDF_DESCRIPTION), encoding="utf-8")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(f.PDF)
    code, data = _run(capsys, "dmp", "deposit", str(description), "--pdf", str(pdf))
    assert code == 0 and data["unique_id"] == "1.2.250.1.999.1.1.3^DOC-PDF-1"
    code, found = _run(capsys, "dmp", "find", f.ZOE[0])
    assert [e["unique_id"] for e in found] == [data["unique_id"]]
    out = tmp_path / "back.xml"
    assert _run(capsys, "dmp", "get", f.ZOE[0], data["unique_id"], "-o", str(out))[0] == 0
    from segurlink.cda import parse_header

    header = parse_header(out.read_bytes())
    assert header.media_type == "application/pdf"


# -- a re-run deposits nothing (issue 9 item 7) ------------------------------------------------


def _pdf_files(tmp_path: Path, *, pdf: bytes = f.PDF, **changes: Any) -> tuple[Path, Path]:
    description = {k: v for k, v in PDF_DESCRIPTION.items() if k not in ("id", "set_id")}
    description.pop("effective_time")  # "now": each run builds different bytes
    description.update(changes)
    desc = tmp_path / "description.json"
    desc.write_text(json.dumps(description), encoding="utf-8")
    body = tmp_path / "report.pdf"
    body.write_bytes(pdf)
    return desc, body


def test_cli_pdf_deposit_run_twice_deposits_once(
    env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], dmp_mock: Any
) -> None:
    desc, pdf = _pdf_files(tmp_path)
    code, first = _run(capsys, "dmp", "deposit", str(desc), "--pdf", str(pdf))
    assert code == 0 and not first["already_deposited"]
    assert first["unique_id"].startswith("2.25.")  # derived from the description and PDF
    requests_before = dmp_mock.request_count
    code, second = _run(capsys, "dmp", "deposit", str(desc), "--pdf", str(pdf))
    assert code == 0 and second["already_deposited"] and second["unique_id"] == first["unique_id"]
    assert dmp_mock.request_count == requests_before + 1  # one lookup, no ITI-41
    assert main(["dmp", "deposit", str(desc), "--pdf", str(pdf)]) == 0
    assert "already deposited" in capsys.readouterr().out
    assert len(dmp_mock.documents(f.ZOE[0])) == 1
    # Another PDF is another document.
    pdf.write_bytes(f.PDF + b"%other\n")
    code, third = _run(capsys, "dmp", "deposit", str(desc), "--pdf", str(pdf))
    assert code == 0 and not third["already_deposited"]
    assert third["unique_id"] != first["unique_id"]
    assert len(dmp_mock.documents(f.ZOE[0])) == 2


def test_cli_pdf_deposit_rerun_after_a_failed_run_that_committed(
    dmp_settings: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], dmp_mock: Any
) -> None:
    """The first run times out after the DMP stored the document and cannot even look it
    up (connection reset): it fails. The re-run finds the document and sends nothing."""
    config = tmp_path / "segurlink.toml"
    tables = dmp_settings.to_mapping()
    tables["timeouts"] = {"connect": 2.0, "read": 0.5}
    config.write_text(
        "\n".join(
            f"[{table}]\n"
            + "\n".join(
                f"{k} = {json.dumps(v if isinstance(v, int | float) else str(v))}"
                for k, v in values.items()
            )
            for table, values in tables.items()
        )
        + "\n",
        encoding="utf-8",
    )
    desc, pdf = _pdf_files(tmp_path)
    argv = ["dmp", "deposit", str(desc), "--pdf", str(pdf), "--config", str(config)]
    dmp_mock.inject("latency:0")  # the lookup before sending: answered
    dmp_mock.inject("timeout_after_commit:1.5")  # the deposit: stored, answered too late
    dmp_mock.inject("reset", count=None)  # every later request: no answer
    assert main(argv) == 1
    assert "Traceback" not in capsys.readouterr().err
    dmp_mock.clear_faults()
    (stored,) = dmp_mock.documents(f.ZOE[0])
    code = main([*argv, "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["already_deposited"] and data["unique_id"] == stored["uniqueId"]
    assert len(dmp_mock.documents(f.ZOE[0])) == 1


def test_cli_explicit_id_with_another_pdf_is_refused(
    env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], dmp_mock: Any
) -> None:
    desc, pdf = _pdf_files(tmp_path, id={"root": "1.2.250.1.999.1.1.3", "extension": "FIXED"})
    assert _run(capsys, "dmp", "deposit", str(desc), "--pdf", str(pdf))[0] == 0
    code, again = _run(capsys, "dmp", "deposit", str(desc), "--pdf", str(pdf))
    assert code == 0 and again["already_deposited"]  # same PDF (compared with the DMP's copy)
    pdf.write_bytes(f.PDF + b"%changed\n")
    assert main(["dmp", "deposit", str(desc), "--pdf", str(pdf)]) == 2
    assert "already has another document" in capsys.readouterr().err
    assert len(dmp_mock.documents(f.ZOE[0])) == 1


def test_cli_cda_run_twice_deposits_once(
    env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], dmp_mock: Any
) -> None:
    doc = tmp_path / "doc.xml"
    doc.write_bytes(f.cda(seed=31))
    assert _run(capsys, "dmp", "deposit", str(doc))[0] == 0
    code, again = _run(capsys, "dmp", "deposit", str(doc))
    assert code == 0 and again["already_deposited"]
    assert len(dmp_mock.documents(f.ZOE[0])) == 1
    # A v2 needs no --replace: the CDA says it replaces v1.
    v1 = f.make_document(seed=31)
    doc.write_bytes(build_document(f.replacement(v1, seed=32)))
    code, replaced = _run(capsys, "dmp", "deposit", str(doc))
    assert code == 0 and replaced["replaced_entry_uuid"]
    assert [d["status"].rsplit(":", 1)[-1] for d in dmp_mock.documents(f.ZOE[0])] == [
        "Deprecated",
        "Approved",
    ]


# -- every local-file path of the DMP commands (issue 10 item 7) ------------------------------


def _bad_inputs(tmp_path: Path) -> list[tuple[str, list[str], str]]:
    desc, pdf = _pdf_files(tmp_path)
    not_pdf = tmp_path / "notes.txt"
    not_pdf.write_text("not a pdf")
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    toml = tmp_path / "desc.toml"
    toml.write_text('type = "PPA"\n')
    garbage = tmp_path / "garbage.xml"
    garbage.write_bytes(b"\x00\x01 not xml")
    other_xml = tmp_path / "other.xml"
    other_xml.write_text("<html/>")
    missing = tmp_path / "missing.xml"
    return [
        ("description without --pdf", ["dmp", "deposit", str(toml)], "is a description"),
        ("json description without --pdf", ["dmp", "deposit", str(desc)], "is a description"),
        ("missing document", ["dmp", "deposit", str(missing)], "no such file"),
        ("document is a directory", ["dmp", "deposit", str(tmp_path)], "not a regular file"),
        ("document is not XML", ["dmp", "deposit", str(garbage)], "not a readable CDA"),
        ("document is not a CDA", ["dmp", "deposit", str(other_xml)], "not a CDA"),
        ("missing PDF", ["dmp", "deposit", str(desc), "--pdf", str(missing)], "no such file"),
        ("PDF is not a PDF", ["dmp", "deposit", str(desc), "--pdf", str(not_pdf)], "not a PDF"),
        ("description not JSON", ["dmp", "deposit", str(bad_json), "--pdf", str(pdf)], "JSON"),
        ("description a list", ["dmp", "deposit", str(listed), "--pdf", str(pdf)], "not a list"),
        ("description incomplete", ["dmp", "deposit", str(toml), "--pdf", str(pdf)], ""),
        (
            "output in a missing directory",
            ["dmp", "get", f.ZOE[0], "2.25.1", "-o", str(tmp_path / "no" / "out.xml")],
            "",
        ),
    ]


def test_cli_bad_local_files_are_input_errors(
    env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], dmp_mock: Any
) -> None:
    for name, argv, message in _bad_inputs(tmp_path):
        code = main(argv)
        err = capsys.readouterr().err
        if name.startswith("output"):
            # An unwritable -o is refused before anything is asked of the DMP.
            assert code == 2 and "no such directory" in err and "Traceback" not in err, name
            continue
        assert code == 2, (name, err)
        # A path argparse can refuse is a usage error; what needs reading is an input error.
        assert err.startswith(("segurlink: InputError:", "segurlink: UsageError:")), (name, err)
        assert err.count("\n") == 1, (name, err)
        assert message in err and "Traceback" not in err, (name, err)
    assert dmp_mock.documents(f.ZOE[0]) == []


def test_cli_get_output_that_cannot_be_written_is_refused_before_asking(
    env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = tmp_path / "doc.xml"
    doc.write_bytes(f.cda(seed=33))
    _, data = _run(capsys, "dmp", "deposit", str(doc))
    for target in (tmp_path / "missing" / "out.xml", tmp_path):  # no directory; a directory
        assert main(["dmp", "get", f.ZOE[0], data["unique_id"], "-o", str(target)]) == 2
        err = capsys.readouterr().err
        assert "UsageError" in err and ("no such directory" in err or "is a directory" in err)
        assert err.count("\n") == 1 and "Traceback" not in err
