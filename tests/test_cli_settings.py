"""Where the ``segurlink`` command takes its settings from, and what it says when it cannot.

One rule: a file (``--config``, else ``$SEGURLINK_CONFIG``, else the ``segurlink.toml`` of
the mocks running in the state directory), then ``SEGURLINK_<TABLE>__<KEY>`` variables
over it. A file left by killed mocks is recognised as such; two ``mock serve`` never share
a directory.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from segurlink_mocks.stack import MockDirectoryBusy, MockStack, stack_status

from segurlink.cli import load_settings, main
from segurlink.errors import ConfigurationError
from segurlink.insi import InsiSettings

ADRTROIS = [
    "--birth-name",
    "ADRTROIS",
    "--first-names",
    "DOMINIQUE",
    "--sex",
    "F",
    "--birth-date",
    "1997-02-26",
]


@pytest.fixture(scope="module")
def _stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockStack]:
    with MockStack(tmp_path_factory.mktemp("state")) as stack:
        yield stack


@pytest.fixture
def running(_stack: MockStack, monkeypatch: pytest.MonkeyPatch) -> MockStack:
    """Mocks running in the default state directory, as after `segurlink mock serve`."""
    monkeypatch.setenv("SEGURLINK_MOCK_DIR", str(_stack.directory))
    return _stack


def _args(config: Path | None = None) -> argparse.Namespace:
    return argparse.Namespace(config=config)


def test_a_variable_that_is_not_a_setting_keeps_the_running_mocks(
    running: MockStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SEGURLINK_CISIS_KIT", "/nowhere/kit")  # docs/cda.md recommends it
    assert main(["insi", "search", *ADRTROIS]) == 0
    assert "297022A02077878" in capsys.readouterr().out


def test_variables_are_merged_over_the_running_mocks(
    running: MockStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEGURLINK_TIMEOUTS__READ", "7")
    monkeypatch.setenv("SEGURLINK_SOFTWARE__VERSION", "9.9")
    settings = load_settings(_args())
    assert InsiSettings.from_settings(settings).endpoint == running.insi.endpoint
    assert settings.timeouts.read == 7.0
    assert settings.require_software().version == "9.9"
    assert settings.tls_for("insi").cert == running.pki.directory / "insi-auto.pem"


def test_variables_are_merged_over_an_explicit_file_too(
    running: MockStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEGURLINK_TIMEOUTS__CONNECT", "2")
    settings = load_settings(_args(running.config_path))
    assert (settings.timeouts.connect, InsiSettings.from_settings(settings).endpoint) == (2.0, running.insi.endpoint)


def test_variables_alone_without_mocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEGURLINK_INSI__ENDPOINT", "https://127.0.0.1:9/lps")
    assert InsiSettings.from_settings(load_settings(_args())).endpoint == "https://127.0.0.1:9/lps"


def test_nothing_configured_says_where_it_looked(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["insi", "search", *ADRTROIS]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "no settings" in err and "mock serve" in err and os.environ["SEGURLINK_MOCK_DIR"] in err


def _serve_then_kill(directory: Path) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEGURLINK_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "segurlink", "mock", "serve", "--json", "--dir", str(directory)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        ready = json.loads(server.stdout.readline())
        assert stack_status(directory).running
    finally:
        server.send_signal(signal.SIGKILL)  # no chance to remove its settings file
        server.communicate(timeout=20)  # waits and closes the pipe
    return ready


def test_settings_left_by_killed_mocks_say_the_mocks_are_not_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "state"
    monkeypatch.setenv("SEGURLINK_MOCK_DIR", str(directory))
    _serve_then_kill(directory)
    assert (directory / "segurlink.toml").is_file()
    assert stack_status(directory).state == "stale"

    assert main(["--json", "insi", "search", *ADRTROIS]) == 2
    out, err = capsys.readouterr()
    assert "the mocks are not running" in err and "connection refused" not in err.lower()
    assert err.count("\n") == 1
    assert json.loads(out)["class"] == "ConfigurationError"

    # Variables still work, with a warning naming the stale file.
    monkeypatch.setenv("SEGURLINK_INSI__ENDPOINT", "https://127.0.0.1:9/lps")
    assert InsiSettings.from_settings(load_settings(_args())).endpoint == "https://127.0.0.1:9/lps"
    assert "the mocks are not running" in capsys.readouterr().err

    # Serving again in the same directory takes it over and says so.
    with MockStack(directory) as again:
        assert again.replaced_stale is not None
        assert stack_status(directory).running
        monkeypatch.delenv("SEGURLINK_INSI__ENDPOINT")
        assert InsiSettings.from_settings(load_settings(_args())).endpoint == again.insi.endpoint


def test_a_second_serve_in_a_busy_directory_is_refused_and_harms_nothing(
    running: MockStack, capsys: pytest.CaptureFixture[str]
) -> None:
    before = running.config_path.read_text()
    assert main(["mock", "serve", "--dir", str(running.directory)]) == 2
    err = capsys.readouterr().err
    assert f"process {os.getpid()}" in err and "in use" in err and err.count("\n") == 1
    with pytest.raises(MockDirectoryBusy):
        MockStack(running.directory).start()
    assert running.config_path.read_text() == before  # neither overwritten nor deleted
    assert stack_status(running.directory).running


def test_status_of_a_directory(tmp_path: Path) -> None:
    assert stack_status(tmp_path).state == "absent"
    with MockStack(tmp_path) as stack:
        status = stack_status(tmp_path)
        assert (status.state, status.pid) == ("running", os.getpid())
        assert status.config_path == stack.config_path
    assert stack_status(tmp_path).state == "absent"
    assert not (tmp_path / "mocks.json").exists()


def test_mock_serve_json_is_one_document_listing_each_mock_once(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEGURLINK_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "segurlink", "mock", "serve", "--json", "--dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert server.stdout is not None and server.stderr is not None
    ready = json.loads(server.stdout.readline())
    server.send_signal(signal.SIGTERM)
    out, err = server.communicate(timeout=20)
    assert server.returncode == 0
    assert out == "", "nothing after the ready document: stdout is one JSON document"
    assert sorted(ready["mocks"]) == ["annuaire", "dmp", "insi", "mssante", "psc", "ror"]
    assert ready["mocks"]["insi"].endswith("/lps")
    banner = [line for line in err.splitlines() if line.strip().startswith(("insi", "INSi"))]
    assert len(banner) == 1, err


def test_load_settings_error_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEGURLINK_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigurationError, match="cannot read settings file"):
        load_settings(_args())
