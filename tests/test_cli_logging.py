"""``-v`` anywhere on the command line, and what each level shows on stderr."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from segurlink_mocks.stack import MockStack

from segurlink import cli
from segurlink.cli import main

ADRTROIS = [
    "--birth-name", "ADRTROIS", "--first-names", "DOMINIQUE", "--sex", "F",
    "--birth-date", "1997-02-26",
]
_RECORD = re.compile(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL) ([\w.]+): ", re.M)


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with MockStack(tmp_path_factory.mktemp("stack")) as stack:
        yield str(stack.config_path)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    yield
    if cli._handler is not None:
        root.removeHandler(cli._handler)
        cli._handler = None
    root.setLevel(level)


def _loggers(err: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for level, name in _RECORD.findall(err):
        found.setdefault(level, set()).add(name)
    return found


@pytest.mark.parametrize(
    "argv",
    [
        ["-v", "insi", "search", *ADRTROIS],
        ["insi", "search", *ADRTROIS, "-v"],
        ["insi", "search", "-v", *ADRTROIS, "--json"],
    ],
    ids=["before", "after", "between"],
)
def test_verbose_is_accepted_before_and_after_the_command(
    argv: list[str], config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", config, *argv]) == 0
    loggers = _loggers(capsys.readouterr().err)
    assert "segurlink.exchange" in loggers["INFO"]
    assert "DEBUG" not in loggers


def test_counts_add_up_across_the_command(config: str) -> None:
    parser = cli.build_parser()
    args = parser.parse_args(["-v", "--config", config, "insi", "search", *ADRTROIS, "-vv"])
    assert args.verbose + args.verbose_after == 3


def test_debug_shows_segurlink_and_not_the_libraries(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """-vv used to print 124 zeep schema lines for 3 of segurlink's."""
    assert main(["-vv", "--config", config, "insi", "search", *ADRTROIS]) == 0
    err = capsys.readouterr().err
    loggers = _loggers(err)
    assert any(name.startswith("segurlink") for name in loggers.get("DEBUG", ()))
    foreign = {n for names in loggers.values() for n in names if not n.startswith("segurlink")}
    assert foreign == set(), f"third-party loggers at -vv: {foreign}"


def test_third_party_records_pass_from_warning_or_from_info_at_vvv() -> None:
    def record(name: str, level: int) -> logging.LogRecord:
        return logging.LogRecord(name, level, __file__, 1, "m", None, None)

    quiet, loud = cli._OwnLogsFirst(logging.WARNING), cli._OwnLogsFirst(logging.INFO)
    assert quiet.filter(record("segurlink.insi.client", logging.DEBUG))
    assert quiet.filter(record("segurlink_mocks.insi", logging.DEBUG))
    assert not quiet.filter(record("zeep.xsd.schema", logging.DEBUG))
    assert not quiet.filter(record("urllib3.connectionpool", logging.INFO))
    assert quiet.filter(record("urllib3.connectionpool", logging.WARNING))
    assert loud.filter(record("urllib3.connectionpool", logging.INFO))
    assert not loud.filter(record("signxml", logging.DEBUG))  # raw messages: never shown


def test_running_main_twice_logs_each_record_once(
    config: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    main(["-v", "--config", config, "insi", "search", *ADRTROIS])
    capsys.readouterr()
    main(["-v", "--config", config, "insi", "search", *ADRTROIS])
    lines = [line for line in capsys.readouterr().err.splitlines() if "segurlink.exchange" in line]
    assert len(lines) == len(set(lines))
