"""No health data in any log line, at any level, from any logger (issue 10 item 9).

A full run through :func:`segurlink.cli.main` with ``-vv`` against a :class:`MockStack`:
``segurlink demo``, then the INSi, DMP (deposit, find, get, hide, archive, delete,
replacement), PSC and ROR commands. The root logger is at DEBUG and every logger —
segurlink's, the mocks', signxml, zeep, urllib3, authlib, werkzeug... — is captured.
Every captured line (message, exception text, extra fields) and stderr are scanned for
every INS, name, birth date and birth place of the mocks' test persons and patients, and
for document bytes (PDF markers, base64 of the test PDFs, a CDA root element).
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from segurlink.cda import build_document
from segurlink.cli import main
from tests.dmp import factory as f

_STANDARD_ATTRIBUTES = set(vars(logging.LogRecord("x", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}


class _Everything(logging.Handler):
    """Keeps the full text of every record: message, exception, stack, extra fields."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.loggers: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        parts = [record.name, record.getMessage()]
        if record.exc_info:
            parts.append(logging.Formatter().formatException(record.exc_info))
        if record.exc_text:
            parts.append(record.exc_text)
        if record.stack_info:
            parts.append(record.stack_info)
        parts += [f"{k}={v!r}" for k, v in vars(record).items() if k not in _STANDARD_ATTRIBUTES]
        self.lines.append(" | ".join(parts))
        self.loggers.add(record.name)


@pytest.fixture
def every_log() -> Iterator[_Everything]:
    """Root at DEBUG, every existing logger enabled and captured, restored afterwards."""
    handler = _Everything()
    root = logging.getLogger()
    saved: list[tuple[logging.Logger, int, bool, bool]] = []
    for name in list(logging.root.manager.loggerDict):
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.propagate, logger.disabled))
        logger.setLevel(logging.NOTSET)
        logger.disabled = False
        if not logger.propagate:
            logger.addHandler(handler)
    root_level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(root_level)
        for logger, level, _propagate, disabled in saved:
            logger.setLevel(level)
            logger.disabled = disabled
            if handler in logger.handlers:
                logger.removeHandler(handler)


def _health_data() -> dict[str, str]:
    """Every identifying value of the mocks' test persons, by a description of it."""
    from segurlink_mocks.dmp import DEFAULT_PATIENTS
    from segurlink_mocks.insi import DEFAULT_PERSONS

    from segurlink._commands.demo import RESIDENT

    needles: dict[str, str] = {}

    def dates(value: str, who: str) -> None:
        digits = value.replace("-", "")
        if len(digits) == 8:
            needles[f"{digits[:4]}-{digits[4:6]}-{digits[6:]}"] = f"birth date of {who}"
            needles[digits] = f"birth date of {who}"
            needles[f"{digits[6:]}/{digits[4:6]}/{digits[:4]}"] = f"birth date of {who}"

    for person in DEFAULT_PERSONS:
        who = f"INSi person {person.birth_name}"
        needles[person.birth_name] = f"name of {who}"
        for name in person.first_names:
            needles[name] = f"first name of {who}"
        dates(person.birth_date, who)
        if person.birth_place:
            needles[person.birth_place] = f"birth place of {who}"
        for record in (person.ins, *person.history):
            if record is not None:
                needles[record.matricule + record.key] = f"INS of {who}"
                needles[record.matricule] = f"INS of {who}"
    for patient in DEFAULT_PATIENTS:
        who = f"DMP patient {patient.family}"
        needles[patient.ins] = f"INS of {who}"
        needles[patient.ins[:13]] = f"INS of {who}"
        needles[patient.family] = f"name of {who}"
        needles[patient.given] = f"first name of {who}"
        dates(patient.birth_date, who)
    who = f"demo resident {RESIDENT['birth_name']}"
    needles[RESIDENT["birth_name"]] = f"name of {who}"
    for name in RESIDENT["first_names"].split():
        needles[name] = f"first name of {who}"
    dates(RESIDENT["birth_date"], who)
    needles[RESIDENT["birth_place"]] = f"birth place of {who}"
    return needles


def _document_markers() -> dict[str, str]:
    pdfs = [f.PDF, f.PDF + b"%v2\n", b"%PDF-1.7\n% segurlink log-privacy test\n%%EOF\n"]
    markers = {"%PDF": "PDF bytes", "JVBERi": "base64 of a PDF", "<ClinicalDocument": "a CDA"}
    for pdf in pdfs:
        markers[base64.b64encode(pdf).decode()[8:48]] = "base64 of a test PDF"
    return markers


def _findings(text: str) -> list[str]:
    found = []
    for needle, what in _health_data().items():
        if re.search(rf"(?<![A-Za-z0-9]){re.escape(needle)}(?![A-Za-z0-9])", text):
            found.append(f"{what}: {needle!r}")
    for needle, what in _document_markers().items():
        if needle in text:
            found.append(f"{what}: {needle!r}")
    return found


def _write_config(path: Path, stack_config: Path) -> None:
    path.write_text(stack_config.read_text(encoding="utf-8"), encoding="utf-8")


def _cli(capsys: pytest.CaptureFixture[str], stderr: list[str], *argv: str) -> tuple[int, str]:
    code = main(["-vv", *argv])
    captured = capsys.readouterr()
    stderr.append(captured.err)
    return code, captured.out


def test_a_full_run_at_debug_logs_no_health_data(
    every_log: _Everything, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from segurlink_mocks.stack import MockStack

    stderr: list[str] = []
    outputs: dict[str, int] = {}

    def run(*argv: str) -> str:
        code, out = _cli(capsys, stderr, *argv)
        outputs[" ".join(argv[2:5])] = code
        assert code in (0, 1), (argv, stderr[-1][-2000:])
        return out

    # segurlink demo: its own in-process stack, the whole admission story.
    run("demo")
    with MockStack(tmp_path / "stack") as stack:
        config = str(stack.config_path)
        # INSi
        for person in ("ADRTROIS/DOMINIQUE/F/1997-02-26/2A020", "ADRUN/ZOE/F/1975-12-31/63220"):
            family, given, sex, born, place = person.split("/")
            traits = ["--birth-name", family, "--first-names", given, "--sex", sex]
            traits += ["--birth-date", born, "--birth-place", place, "--send-birth-place"]
            run("--config", config, "insi", "search", *traits, "--json")
        run(
            "--config", config, "insi", "verify", "--ins", "297022A02077878",
            "--birth-name", "ADRTROIS", "--first-names", "DOMINIQUE", "--sex", "F",
            "--birth-date", "1997-02-26", "--birth-place", "2A020", "--json",
        )  # fmt: skip
        # DMP: every command, a CDA file, a PDF description, a replacement.
        ins = f.ZOE[0]
        run("--config", config, "dmp", "check", ins)
        v1 = f.make_document(seed=77)
        cda = tmp_path / "v1.xml"
        cda.write_bytes(build_document(v1))
        run("--config", config, "dmp", "deposit", str(cda), "--hide-from", "patient")
        description = tmp_path / "description.json"
        description.write_text(
            json.dumps(
                {
                    "type": "PPA",
                    "structure": {"finess": f.FINESS, "name": "EHPAD SEGURLINK TEST"},
                    "patient": {
                        "status": "QUAL",
                        "ins": ins,
                        "birth_name": f.ZOE[1],
                        "first_names": f.ZOE[2],
                        "sex": f.ZOE[3],
                        "birth_date": f.ZOE[4],
                        "birth_place": "63220",
                        "id_document": "PASSPORT",
                    },
                    "author": {
                        "rpps": "10001234567",
                        "family": "BLEEDER",
                        "given": "Roberta",
                        "profession": {"code": "G15_60"},
                    },
                    "legal_authenticator": {
                        "rpps": "10009876543",
                        "family": "CAMPARINI",
                        "given": "Marcel",
                        "profession": {"code": "G15_10"},
                    },
                }
            ),
            encoding="utf-8",
        )
        pdf = tmp_path / "report.pdf"
        pdf.write_bytes(b"%PDF-1.7\n% segurlink log-privacy test\n%%EOF\n")
        for _ in range(2):  # the second run finds the document
            run("--config", config, "dmp", "deposit", str(description), "--pdf", str(pdf))
        found = json.loads(run("--config", config, "dmp", "find", ins, "--json"))
        assert len(found) == 2
        uid = v1.id.xds_unique_id
        run("--config", config, "dmp", "get", ins, uid, "-o", str(tmp_path / "back.xml"))
        run("--config", config, "dmp", "get", ins, uid)  # the document on stdout, not in logs
        for operation in ("hide", "archive", "unarchive", "unhide"):
            run("--config", config, "dmp", operation, ins, uid)
        v2 = tmp_path / "v2.xml"
        v2.write_bytes(build_document(f.replacement(v1, seed=78)))
        run("--config", config, "dmp", "deposit", str(v2))
        run("--config", config, "dmp", "delete", ins, f.replacement(v1, seed=78).id.xds_unique_id)
        run("--config", config, "dmp", "find", ins, "--status", "deleted")
        run("--config", config, "dmp", "check", f.MICHELANGELO[0])  # exit 1: no DMP
        # PSC
        psc = stack.mocks["psc"]
        psc.ciba_script = ["approve"]  # type: ignore[attr-defined]
        tokens = tmp_path / "tokens.json"
        run("--config", config, "psc", "discover")
        run("--config", config, "psc", "ciba", "--login-hint", "810001234567",
            "--save-tokens", str(tokens))  # fmt: skip
        run("--config", config, "psc", "userinfo", "--tokens", str(tokens))
        run("--config", config, "psc", "introspect", "--tokens", str(tokens))
        # ROR
        marks: dict[str, Any] = stack.mocks["ror"].landmarks  # type: ignore[attr-defined]
        run("--config", config, "ror", "search", "organizations", "--finess", marks["ej_finess"])
        run("--config", config, "ror", "search", "services", "--finess", marks["ej_finess"])
        run("--config", config, "ror", "search", "locations", "--commune", "45234",
            "--max-pages", "1")  # fmt: skip
        run("--config", config, "ror", "capacity", marks["location_sync_id"], "--count", "3")
        run("--config", config, "ror", "export", "--out", str(tmp_path / "export"),
            "--type", "Organization", "--no-progress")  # fmt: skip

    assert [c for c, code in outputs.items() if code] == [f"dmp check {f.MICHELANGELO[0]}"], outputs
    lines = every_log.lines
    # The run was really logged at DEBUG, by segurlink and by the libraries it drives
    # (zeep's schema lines only when no earlier test of the process loaded the WSDL).
    assert len(lines) > 300
    for logger in ("segurlink.exchange", "signxml.processor", "urllib3.connectionpool"):
        assert logger in every_log.loggers, sorted(every_log.loggers)
    for body in (
        "insi rechercherInsAvecTraitsIdentite response body",
        "dmp TD2.1 request body",
        "dmp TD3.1 response body",
        "dmp TD3.2 response body",
        "dmp TD3.3 request body",
        "psc ",
        "ror ",
    ):
        assert any(body in line for line in lines), body
    text = "\n".join(lines) + "\n" + "\n".join(stderr)
    findings = _findings(text)
    assert not findings, findings[:20]
    print(
        f"log privacy: {len(lines)} records from {len(every_log.loggers)} loggers "
        f"({', '.join(sorted(every_log.loggers))}), "
        f"{len(_health_data())} health-data values and {len(_document_markers())} document "
        "markers searched, none found"
    )


def test_the_scan_finds_what_an_unprotected_run_would_log(every_log: _Everything) -> None:
    """The scan is not blind: signxml's own DEBUG line (what -vv printed before) and a
    masked exchange body are caught or clean as expected."""
    logging.getLogger("test.raw").debug("VIHF %s", "297022A02077878^^^&1.2.250.1.213.1.4.8")
    logging.getLogger("test.raw").debug("body %s", base64.b64encode(f.PDF).decode())
    text = "\n".join(every_log.lines)
    findings = _findings(text)
    assert any("INS of" in x for x in findings) and any("PDF" in x for x in findings)
    every_log.lines.clear()
    from segurlink._audit import _PrivateRecordFactory, protect_third_party_loggers

    factory = logging.getLogRecordFactory()
    if isinstance(factory, _PrivateRecordFactory):  # a client ran earlier in this process
        logging.setLogRecordFactory(factory.previous)
    try:
        logging.getLogger("signxml.processor").debug(
            "Canonicalized string: %s", "<a>297022A02077878 ADRTROIS</a>"
        )
    finally:
        protect_third_party_loggers()
    logging.getLogger("signxml.processor").debug(
        "Canonicalized string: %s", "<a>297022A02077878 ADRTROIS</a>"
    )
    logging.getLogger("urllib3.connectionpool").debug(
        '%s "%s %s HTTP/1.1" %s', "https://x", "GET", "/Location?commune=63220", 200
    )
    unprotected, withheld, masked = every_log.lines
    assert _findings(unprotected)  # what -vv printed before: the INS and the name
    assert not _findings(withheld) and "withheld" in withheld
    assert not _findings(masked) and "commune=***" in masked
