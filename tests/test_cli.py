"""The ``segurlink`` command, run in-process through ``main(argv)``."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from segurlink_mocks.stack import MockStack

from segurlink.cli import main

ADRTROIS = [
    "--birth-name", "ADRTROIS", "--first-names", "DOMINIQUE", "--sex", "F",
    "--birth-date", "1997-02-26",
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockStack]:
    with MockStack(tmp_path_factory.mktemp("stack")) as running:
        yield running


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("segurlink ")


def test_version_and_parser_import_nothing_heavy() -> None:
    code = (
        "import sys; from segurlink.cli import build_parser; build_parser(); "
        "heavy = {'zeep', 'lxml', 'requests', 'cryptography', 'saxonche', 'authlib', "
        "'joserfc', 'fhir', 'pydantic'}; print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_search_text_and_json(stack: MockStack, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--config", str(stack.config_path), "insi", "search", *ADRTROIS)
    assert code == 0
    assert "297022A02077878" in out
    code, out, _ = run(capsys, "--config", str(stack.config_path), "insi", "search", "--json", *ADRTROIS)
    assert code == 0
    data = json.loads(out)
    assert data["code"] == "00"
    assert data["ins"] == {"value": "297022A02077878", "oid": "1.2.250.1.213.1.4.8"}


def test_embedded_default_is_the_running_mock(
    stack: MockStack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEGURLINK_MOCK_DIR", str(stack.directory))
    code, out, _ = run(capsys, "insi", "search", *ADRTROIS)
    assert code == 0 and "297022A02077878" in out


def test_not_found_exits_1(stack: MockStack, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "--config", str(stack.config_path), "insi", "search",
        "--birth-name", "HOUILLES", "--first-names", "PIERRE", "--sex", "M",
        "--birth-date", "1993-01-27",
    )
    assert code == 1 and "CR 01" in out


def test_verify_mismatch_exits_1_and_lists_fields(
    stack: MockStack, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "--json", "--config", str(stack.config_path), "insi", "verify",
        "--ins", "297022A02077878", *ADRTROIS, "--birth-place", "2B020",
    )
    data = json.loads(out)
    assert code == 1
    assert data["ok"] is False
    assert [m["field"] for m in data["mismatches"]] == ["birth_place"]


def test_service_fault_exits_1_with_codes(
    stack: MockStack, capsys: pytest.CaptureFixture[str]
) -> None:
    stack.insi.inject("technical")
    code, out, err = run(
        capsys, "--json", "--config", str(stack.config_path), "insi", "search", *ADRTROIS
    )
    assert code == 1
    data = json.loads(out)
    assert (data["class"], data["subcode"], data["detail_code"]) == ("InsiFault", "siram_40", "insi_102")
    assert "InsiFault" in err


def test_bad_traits_exit_2_and_nothing_is_sent(
    stack: MockStack, capsys: pytest.CaptureFixture[str]
) -> None:
    before = stack.insi.request_count
    code, _, err = run(
        capsys, "--config", str(stack.config_path), "insi", "search",
        "--birth-name", "R2D2", "--first-names", "X", "--sex", "M", "--birth-date", "1977-05-25",
    )
    assert code == 2 and "InvalidTraits" in err
    assert stack.insi.request_count == before


def test_configuration_errors_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "insi", "search", *ADRTROIS)
    assert code == 2 and "mock serve" in err
    bad = tmp_path / "bad.toml"
    bad.write_text("[insi]\nendpoint = 'https://127.0.0.1:9/lps'\n")
    code, _, err = run(capsys, "--config", str(bad), "insi", "search", *ADRTROIS)
    assert code == 2 and "[software]" in err


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["insi", "search", "--sex", "X"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--sex" in err and "--help" in err


@pytest.mark.parametrize(
    ("argv", "code", "text"),
    [
        (["identity", "check-nir", "2751263220749", "74"], 0, "valid key"),
        (["identity", "check-nir", "297022A02077878"], 0, "valid key"),
        (["identity", "check-nir", "2751263220749", "75"], 1, "expected 74"),
        (["identity", "check-nir", "12"], 2, "InvalidIdentifier"),
    ],
)
def test_check_nir(
    capsys: pytest.CaptureFixture[str], argv: list[str], code: int, text: str
) -> None:
    got, out, err = run(capsys, *argv)
    assert got == code
    assert text in out + err


def test_check_nir_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "identity", "check-nir", "--json", "2751263220749", "75")
    assert code == 1
    assert json.loads(out) == {
        "matricule": "2751263220749", "key": "75", "expected_key": "74", "valid": False,
    }


def test_mock_serve_as_a_program_then_search_from_another_process(tmp_path: Path) -> None:
    """The two-terminal flow of the README: `mock serve` in one process, `insi search` in another."""
    import os
    import signal

    env = {k: v for k, v in os.environ.items() if not k.startswith("SEGURLINK_")}
    env["SEGURLINK_MOCK_DIR"] = str(tmp_path / "state")
    server = subprocess.Popen(
        [sys.executable, "-m", "segurlink", "mock", "serve", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        ready = json.loads(server.stdout.readline())
        assert Path(ready["settings"]).is_file()
        assert set(ready["mocks"]) >= {"insi"}
        search = subprocess.run(
            [sys.executable, "-m", "segurlink", "--json", "insi", "search", *ADRTROIS],
            capture_output=True, text=True, env=env, timeout=60,
        )
        assert search.returncode == 0, search.stderr
        assert json.loads(search.stdout)["ins"]["value"] == "297022A02077878"
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=20)  # waits and closes the pipes
    assert server.returncode == 0
    assert not Path(ready["settings"]).exists()


def _leaf_parsers() -> list[tuple[str, object]]:
    import argparse

    from segurlink.cli import build_parser

    leaves: list[tuple[str, object]] = []

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            leaves.append((path, parser))
        for action in subs:
            for name, child in action.choices.items():
                walk(child, f"{path} {name}".strip())

    walk(build_parser(), "")
    return leaves


def test_every_command_takes_json_and_config_after_its_name() -> None:
    leaves = _leaf_parsers()
    assert {"insi search", "insi verify", "identity check-nir", "mock serve", "demo"} <= {
        path for path, _ in leaves
    }
    for path, parser in leaves:
        options = set(parser._option_string_actions)  # type: ignore[attr-defined]
        assert {"--json", "--config"} <= options, path


def test_config_after_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[insi]\nendpoint = 'https://127.0.0.1:9/lps'\n")
    code, out, err = run(capsys, "insi", "search", *ADRTROIS, "--json", "--config", str(bad))
    assert code == 2 and "[software]" in err
    assert json.loads(out)["class"] == "ConfigurationError"
