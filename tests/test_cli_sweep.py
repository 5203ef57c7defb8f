"""Every command of ``segurlink`` with bad values: no traceback, one line, the documented code.

The commands are found by walking the argparse tree, so a new command without bad-input
cases here fails :func:`test_every_command_has_bad_input_cases`. Each case runs twice:
as typed (exit code, exactly one line on stderr, nothing on stdout) and with ``--json``
(the same exit code, one JSON document on stdout: ``class``, ``code``, ``exit_code``,
``message``). The exit-code rule (docs/cli.md): 1 when the service or the document says
no, 2 for usage, configuration or input errors (nothing was sent). Every numeric option
also gets a negative and a non-numeric value, generated from the parser.

Commands that would keep running on a value they wrongly accept (``mock serve`` serves
forever, ``psc login`` waits for a browser) run in a child process with a timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from segurlink_mocks.stack import MockStack

from segurlink.cli import build_parser, main

INS = "275126322074974"  # ADRUN ZOE: a DMP patient of the mock
ADRTROIS = ["--birth-name", "ADRTROIS", "--first-names", "DOMINIQUE", "--sex", "F",
            "--birth-date", "1997-02-26"]
SUBPROCESS = {"mock serve", "psc login", "hl7 listen", "gateway serve"}


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    code: int
    verdict: bool = False  # exit 1 is the command's answer (stdout), not an error

    def __str__(self) -> str:
        return " ".join(repr(a) if not a or " " in a else a for a in self.args) or "(none)"


def case(*args: str, code: int = 2, verdict: bool = False) -> Case:
    return Case(args, code, verdict)


# {files} is replaced by the directory of prepared bad files (see `files` below).
CASES: dict[str, list[Case]] = {
    "identity check-nir": [
        case(""), case("12"), case("27512632207X9", "74"), case("not a nir"),
        case("2751263220749", "75", code=1, verdict=True),  # a wrong key is the verdict
    ],
    "insi search": [
        case(*ADRTROIS, "--birth-date", ""), case(*ADRTROIS, "--birth-date", "2099-01-01"),
        case(*ADRTROIS, "--birth-date", "31/02/2000"), case(*ADRTROIS, "--birth-name", ""),
        case(*ADRTROIS, "--first-names", "  "), case(*ADRTROIS, "--birth-name", "R2D2"),
        case(*ADRTROIS, "--birth-place", "ABC"), case(*ADRTROIS, "--sex", "X"),
        case("--sex", "F"),
    ],
    "insi verify": [
        case("--ins", "", *ADRTROIS), case("--ins", "123", *ADRTROIS),
        case("--ins", "297022A02077879", *ADRTROIS), case("--ins", "297022A02077878",
                                                            "--oid", "", *ADRTROIS),
    ],
    "cda build": [
        case("{files}/missing.json", "{files}/body.pdf"),
        case("{files}/a-directory", "{files}/body.pdf"),
        case("{files}/bad.json", "{files}/body.pdf"),
        case("{files}/bad.toml", "{files}/body.pdf"),
        case("{files}/bad.json", "{files}/missing.pdf"),
        case("{files}/bad.json", "{files}/body.pdf", "-o", "{files}/missing-dir/out.xml"),
        case("{files}/bad.json", "{files}/body.pdf", "-o", "{files}/a-directory"),
        case("", "{files}/body.pdf"),
    ],
    "cda validate": [
        # One unreadable file in a batch is reported and the others checked: the verdict, 1.
        case("{files}/missing.xml", "--rules-only", code=1, verdict=True),
        case("{files}/a-directory", "--rules-only", code=1, verdict=True),
        case(""),
        case("{files}/not-xml.xml", "--kit", "{files}/missing-kit"),
        case("{files}/not-xml.xml", "--schematron", "CI-SIS_X.sch"),
        case("{files}/not-xml.xml", "--rules-only", code=1, verdict=True),
        case("{files}/doctype.xml", "--rules-only", code=1, verdict=True),
    ],
    "cda types": [case("extra")],
    "psc login": [
        case("--port", "70000"), case("--timeout", "0"), case("--timeout", "nan"),
        case("--save-tokens", "{files}/missing-dir/tokens.json"),
        case("--save-tokens", "{files}/a-directory"),
    ],
    "psc ciba": [
        case("--login-hint", ""), case("--login-hint", "810001234567", "--channel", "SMS"),
        case("--login-hint", "810001234567", "--save-tokens", "{files}/missing-dir/t.json"),
        case(),
    ],
    "psc userinfo": [
        case("--tokens", "{files}/missing.json"), case("--tokens", "{files}/a-directory"),
        case("--tokens", "{files}/bad.json"), case("--access-token", ""), case(),
        case("--access-token", "not-a-token", code=1),  # PSC refuses it
    ],
    "psc introspect": [
        case("--tokens", "{files}/missing.json"), case("--tokens", "{files}/bad.json"), case(),
    ],
    "psc discover": [case("extra"), case("--config", "{files}/missing.toml")],
    "dmp check": [case(""), case("123"), case("275126322074975"), case(INS, "--oid", "")],
    "dmp deposit": [
        case("{files}/missing.xml"), case("{files}/a-directory"), case("{files}/not-xml.xml"),
        case("{files}/doctype.xml"), case("{files}/bad.json"),
        case("{files}/bad.json", "--pdf", "{files}/missing.pdf"),
        case("{files}/bad.json", "--pdf", "{files}/body.pdf"),
        case("{files}/not-xml.xml", "--hide-from", "everyone"),
    ],
    "dmp find": [case(""), case("12345"), case(INS, "--status", "lost")],
    "dmp get": [
        case("", "1.2.3"), case(INS, ""), case("275126322074975", "1.2.3"),
        case(INS, "1.2.3", "-o", "{files}/missing-dir/doc.xml"),
        case(INS, "1.2.250.1.999.404", code=1),  # the DMP has no such document
    ],
    **{
        f"dmp {name}": [
            case("", "1.2.3"), case(INS, ""), case("not-an-ins", "1.2.3"),
            case(INS, "1.2.250.1.999.404", code=1),  # NotFound: the DMP has no such entry
        ]
        for name in ("hide", "unhide", "archive", "unarchive", "delete")
    },
    "mss send": [
        case("--to", "a@segurlink-test.mssante.fr"),  # --document is required
        case("--to", "a@segurlink-test.mssante.fr", "--document", "{files}/missing.xml"),
        case("--to", "a@segurlink-test.mssante.fr", "--document", "{files}/a-directory"),
        case("--to", "a@segurlink-test.mssante.fr", "--document", "{files}/not-xml.xml"),
        case("--to", "a@segurlink-test.mssante.fr", "--document", "{files}/doctype.xml"),
        case("--to", "not-an-address", "--document", "{files}/not-xml.xml"),
        case("--to", "", "--document", "{files}/not-xml.xml"),
        case("--document", "{files}/not-xml.xml"),  # no recipient
        case("--to", "a@segurlink-test.mssante.fr", "--document", "{files}/not-xml.xml",
             "--pdf", "{files}/missing.pdf"),
        case("--to", "275126322074974@patient.mssante.fr", "--document", "{files}/not-xml.xml"),
        case("--to", "a@segurlink-test.mssante.fr", "--document", "{files}/not-xml.xml",
             "--tokens", "{files}/missing.json"),
        case("--to", "a@segurlink-test.mssante.fr", "--document", "{files}/not-xml.xml",
             "--access-token", ""),
    ],
    "mss inbox": [case("extra"), case("--tokens", "{files}/missing.json"),
                  case("--access-token", "")],
    "mss receipts": [case(""), case("no-at-sign"), case("<a b@c>"), case("a@b", "extra"),
                     case("--tokens", "{files}/bad.json")],
    "mss lookup": [
        case(), case(""), case("--rpps", "123"), case("--rpps", ""), case("--adeli", "abc"),
        case("--finess", "12"), case("--type", "XYZ", "MARTIN"), case("--address", ""),
        case("--address", "a b"), case("--address", "x.mssante.fr", "--exact"),
        case("--exact", "MARTIN"), case("MARTIN", "--finess", "010000016"),
        case("--first-name", "X" * 101), case("--rpps", "10001234567", "--adeli", "751234567"),
        case("NOBODY-IN-THE-DIRECTORY", code=1, verdict=True),  # nothing found: the answer
        case("DISCRET-TEST", code=1, verdict=True),  # only a red-listed mailbox
    ],
    "ror search organizations": [
        case("--count", "0"), case("--count", "1001"), case("--max-pages", "0"),
        case("--since", "yesterday"), case("--since", ""),
    ],
    "ror search services": [
        case("--age", "200"), case("--near", "abc"), case("--near", "1,2,3,4"),
        case("--near", "95,0"), case("--near", ""),
    ],
    "ror search locations": [case("--count", "0"), case("--near", "45,1,x")],
    "ror search prices": [
        case("--max-price", "-1"), case("--max-price", "cheap"), case("--count", "0"),
        case("--near", "1,2,3,4"),
    ],
    "ror search practitioners": [
        case(), case("--service", ""), case("--service", "1", "--finess", "450000088"),
        case("--finess", "12"), case("--service", "1", "--max-pages", "0"),
    ],
    "ror capacity": [
        case("UF00001", "--count", "1"), case("", "--count", "1"), case("/UF1", "--count", "1"),
        case("1450000088/UF1"),
        case("1450000088/UNKNOWN", "--count", "1", code=1, verdict=True),  # unknown location
    ],
    "ror export": [
        case("--out", "/proc/segurlink-sweep"), case("--out", ""),
        case("--out", "{files}/not-xml.xml"), case("--out", "{files}/x", "--since", "soon"),
        case(),
    ],
    "mock serve": [
        case("--insi-port", "70000"), case("--dir", "/proc/segurlink-sweep"),
        case("--host", ""), case("--dir", "{files}/not-xml.xml"),
    ],
    "hl7 parse": [
        case("{files}/missing.hl7"), case("{files}/a-directory"), case(""),
        case("{files}/bad.json"), case("{files}/not-xml.xml"),
    ],
    "hl7 listen": [
        case("--port", "0", "--forward", ""), case("--port", "0", "--forward", "nohost"),
        case("--port", "0", "--forward", "127.0.0.1:99999"),
        case("--port", "70000", "--forward", "127.0.0.1:2575"),
        case("--port", "0", "--forward", "127.0.0.1:2575", "--event", "A99"),
        case("--port", "0", "--forward", "127.0.0.1:2575", "--max-connections", "0"),
        case("--port", "0", "--forward", "127.0.0.1:2575", "--idle-timeout", "0"),
    ],
    "gateway serve": [
        case("--listen", "70000", "--reply", "127.0.0.1:2576"),
        case("--listen", "0", "--reply", ""), case("--listen", "0", "--reply", "nohost"),
        case("--listen", "0", "--reply", "127.0.0.1:99999"),
        case("--listen", "0", "--reply", "127.0.0.1:2576", "--workers", "0"),
        case("--listen", "0", "--reply", "127.0.0.1:2576", "--store", ""),
        case("--listen", "0", "--reply", "127.0.0.1:2576", "--store",
             "/proc/segurlink-sweep/outbox.db"),
        case("--listen", "0", "--reply", "127.0.0.1:2576", "--store", "{files}/not-xml.xml"),
        case("--listen", "0", "--reply", "127.0.0.1:2576", "--config", "{files}/bad.toml"),
    ],
    "gateway send": [
        case("{files}/missing.hl7"), case("{files}/a-directory"), case(""),
        case("{files}/not-xml.xml"), case("{files}/message.hl7", "--to", "nohost"),
        case("{files}/message.hl7", "--timeout", "0"),
        case("{files}/message.hl7", "--to", "127.0.0.1:1", code=1),  # refused: transport
    ],
    "outbox status": [
        case("--store", ""), case("--store", "/proc/segurlink-sweep/outbox.db"),
        case("--store", "{files}/a-directory"), case("--store", "mysql://nowhere/db"),
    ],
    "outbox work": [
        case("--workers", "0"), case("--store", "/proc/segurlink-sweep/outbox.db"),
        case("--store", "{files}/not-xml.xml", "--once"),
    ],
    "outbox retry": [case("not-a-number"), case(""), case("-5"), case()],
    "outbox dead": [case("--limit", "0"), case("--store", "{files}/a-directory")],
    "demo": [
        case("extra"), case("--config", "{files}/bad.toml"), case("--config", "{files}/a-directory"),
        case("--config", "{files}/missing.toml"),
    ],
}


def leaf_commands() -> dict[str, argparse.ArgumentParser]:
    leaves: dict[str, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs and path:
            leaves[path] = parser
        for action in subs:
            for name, child in action.choices.items():
                walk(child, f"{path} {name}".strip())

    walk(build_parser(), "")
    return leaves


def numeric_cases() -> list[tuple[str, Case]]:
    """A negative and a non-numeric value for every int or float option of every command."""
    generated = []
    for command, parser in leaf_commands().items():
        for action in parser._actions:
            if not action.option_strings or action.nargs == 0 or action.type is None:
                continue
            probe = getattr(action.type, "__name__", "")
            if action.type in (int, float) or probe in ("integer", "port", "positive_float"):
                option = action.option_strings[-1]
                generated += [(command, case(option, "-1")), (command, case(option, "x"))]
    return generated


ALL_CASES = [(command, c) for command, cases in CASES.items() for c in cases] + numeric_cases()


def test_every_command_has_bad_input_cases() -> None:
    commands = set(leaf_commands())
    assert commands - set(CASES) == set(), "commands without bad-input cases"
    assert set(CASES) - commands == set(), "cases for commands that do not exist"


def test_every_numeric_option_is_probed() -> None:
    probed = {(command, c.args[0]) for command, c in numeric_cases()}
    for option in ("--count", "--max-pages", "--age", "--min-capacity", "--port", "--timeout",
                   "--insi-port"):
        assert any(o == option for _, o in probed), option


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockStack]:
    with MockStack(tmp_path_factory.mktemp("sweep-stack")) as running:
        yield running


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Bad local files: not XML, a DOCTYPE, broken JSON and TOML, a directory..."""
    root = tmp_path_factory.mktemp("bad-files")
    (root / "a-directory").mkdir()
    (root / "not-xml.xml").write_text("this is not XML\n")
    (root / "doctype.xml").write_text('<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>')
    (root / "bad.json").write_text("{")
    (root / "bad.toml").write_text("= nope")
    (root / "body.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    (root / "message.hl7").write_text(
        "MSH|^~\\&|DUI|EHPAD|PFI|EHPAD|20240301103000||MDM^T02^MDM_T02|M1|P|2.6\n"
    )
    return root


def _argv(command: str, c: Case, files: Path, config: Path) -> list[str]:
    args = [a.replace("{files}", str(files)) for a in c.args]
    if "--config" not in args:
        args += ["--config", str(config)]
    return [*command.split(), *args]


def _run(argv: list[str], command: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    if command not in SUBPROCESS:
        code = main(argv)
        out, err = capsys.readouterr()
        return code, out, err
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEGURLINK_")}
    env["SEGURLINK_MOCK_DIR"] = os.environ["SEGURLINK_MOCK_DIR"]
    done = subprocess.run([sys.executable, "-m", "segurlink", *argv], capture_output=True,
                          text=True, env=env, timeout=60)
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize(("command", "bad"), ALL_CASES, ids=[f"{c}: {k}" for c, k in ALL_CASES])
def test_bad_values(
    command: str, bad: Case, stack: MockStack, files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _argv(command, bad, files, stack.config_path)

    code, out, err = _run(argv, command, capsys)
    assert "Traceback" not in err and "internal error" not in err, err
    assert code == bad.code, f"exit {code}, expected {bad.code}: {err}"
    if bad.verdict:
        assert err == "", "a verdict goes to stdout"
    else:
        assert out == "", "an error prints nothing on stdout without --json"
        assert len(err.splitlines()) == 1 and err.startswith("segurlink: "), err

    code, out, err = _run([*argv, "--json"], command, capsys)
    assert code == bad.code and "Traceback" not in err
    document = json.loads(out)  # exactly one JSON document
    if not bad.verdict:
        assert {"class", "code", "exit_code", "message"} <= set(document), document
        assert document["exit_code"] == bad.code and document["message"]
        assert document["code"] != "internal", document
