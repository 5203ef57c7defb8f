"""``segurlink ror ...`` through the CLI entry point, against the mock."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from segurlink_mocks.ror import RorMock

from segurlink.cli import main


@pytest.fixture
def config(ror_mock: RorMock, segurlink_pki: object, tmp_path: Path) -> str:
    lines = ["[tls]", f'ca_bundle = "{segurlink_pki.ca}"', "[ror]"]  # type: ignore[attr-defined]
    lines += [f'{k} = "{v}"' for k, v in ror_mock.settings_table().items()]
    path = tmp_path / "segurlink.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_search_services_json(
    config: str, ror_mock: RorMock, capsys: pytest.CaptureFixture[str]
) -> None:
    finess = ror_mock.landmarks["ej_finess"]
    code = main(
        [
            "--config",
            config,
            "ror",
            "search",
            "services",
            "--finess",
            finess,
            "--hierarchy",
            "--json",
        ]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["returned"] == data["total"] > 0
    assert all(row["organization"] for row in data["results"])


def test_search_locations_table(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "--config",
            config,
            "ror",
            "search",
            "locations",
            "--commune",
            "45234",
            "--count",
            "3",
            "--max-pages",
            "1",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[0].split()[:3] == ["ID", "NAME", "SYNC_ID"]
    assert "use --max-pages" in out


def test_capacity_exit_codes(
    config: str, ror_mock: RorMock, capsys: pytest.CaptureFixture[str]
) -> None:
    marks = ror_mock.landmarks
    assert (
        main(
            [
                "--config",
                config,
                "ror",
                "capacity",
                marks["location_sync_id"],
                "--count",
                "4",
                "--gender",
                "03",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "--config",
                config,
                "ror",
                "capacity",
                marks["duplicate_sync_id"],
                "--count",
                "4",
                "--json",
            ]
        )
        == 1
    )
    out = capsys.readouterr().out
    assert '"status": "ambiguous-location"' in out


def test_export_writes_files_and_draws_progress(
    config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "export"
    assert (
        main(["--config", config, "ror", "export", "--out", str(out_dir), "--type", "Organization"])
        == 0
    )
    captured = capsys.readouterr()
    assert sorted(p.name for p in out_dir.iterdir())[0] == "Organization-1.json"
    # stderr is not a terminal here: plain lines, one per phase, no carriage-return frames
    assert "\r" not in captured.err
    lines = captured.err.splitlines()
    assert lines[-1].startswith("export: done") and len(lines) == len(set(lines)) <= 5


def test_export_draws_a_bar_on_a_terminal(
    config: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert (
        main(
            [
                "--config",
                config,
                "ror",
                "export",
                "--out",
                str(tmp_path / "x"),
                "--type",
                "Organization",
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "\r" in err and "[" in err and "done" in err


# -- bad values: a typed error, one line on stderr, exit 2, nothing sent -------------------

USAGE = "UsageError"  # argparse refused the value itself: one line, exit 2

BAD_VALUES = [
    (["search", "organizations", "--count", "0"], USAGE),
    (["search", "organizations", "--count", "-3"], USAGE),
    (["search", "organizations", "--count", "1001"], USAGE),
    (["search", "organizations", "--count", "ten"], USAGE),
    (["search", "organizations", "--max-pages", "0"], USAGE),
    (["search", "organizations", "--since", "yesterday"], USAGE),
    (["search", "organizations", "--since", "2025-02-30"], USAGE),
    (["search", "services", "--age", "-5"], USAGE),
    (["search", "services", "--age", "151"], USAGE),
    (["search", "services", "--count", "0"], USAGE),
    (["search", "services", "--near", "47.9"], USAGE),
    (["search", "services", "--near", "95,1.9"], USAGE),
    (["search", "services", "--near", "47.9,1.9,5000"], USAGE),
    (["search", "locations", "--min-capacity", "-1"], USAGE),
    (["search", "locations", "--count", "-3"], USAGE),
    (["search", "locations", "--near", "a,b"], USAGE),
    (["search", "locations", "--since", "06/01/2025"], USAGE),
    (["search", "nothing"], USAGE),
    (["capacity", "UF00001", "--count", "3"], USAGE),
    (["capacity", "/UF00001", "--count", "3"], USAGE),
    (["capacity", "1450000088/", "--count", "3"], USAGE),
    (["capacity", "1450000088/UF1", "--count", "-1"], USAGE),
    (["capacity", "1450000088/UF1", "--count", "x"], USAGE),
    (["capacity", "1450000088/UF1"], USAGE),
    (["export", "--out", "/proc/x"], "ConfigurationError"),
    (["export", "--out", "/dev/null/x"], "ConfigurationError"),
    (["export", "--out", "{tmp}/out", "--since", "last week"], USAGE),
    (["export"], USAGE),
    (["search", "prices", "--max-price", "-1"], "InputError"),
    (["search", "prices", "--count", "0"], USAGE),
    (["search", "prices", "--near", "1,2,3,4"], USAGE),
    (["search", "services", "--home-care", "--disability"], "InputError"),
    (["search", "services", "--name", "x", "--name-match", "regex"], USAGE),
    (["search", "practitioners"], USAGE),
    (["search", "practitioners", "--service", "1", "--max-pages", "0"], "InputError"),
    (["search", "locations", "--min-capacity", "x"], USAGE),
]


@pytest.mark.parametrize(
    ("argv", "error"), BAD_VALUES, ids=lambda v: " ".join(v) if isinstance(v, list) else v
)
def test_bad_values_are_typed_one_line_exit_2(
    argv: list[str],
    error: str,
    config: str,
    ror_mock: RorMock,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    ror_mock.clear_requests()
    code = main(["--config", config, "ror", *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert err.startswith(f"segurlink: {error}: ") and err.count("\n") == 1
    assert ror_mock.request_count == 0  # refused before anything was sent


def test_bad_value_json_error_names_the_class(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--config", config, "--json", "ror", "search", "services", "--age", "-5"])
    assert code == 2
    data = json.loads(capsys.readouterr().out)
    assert data["class"] == "UsageError" and "--age" in data["message"]


def test_missing_settings_file_is_a_configuration_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--config", str(tmp_path / "none.toml"), "ror", "search", "organizations"])
    assert code == 2
    assert capsys.readouterr().err.startswith("segurlink: ConfigurationError: ")


def test_deeply_nested_answer_is_one_line_exit_1(
    segurlink_pki: Any, ror_mock: RorMock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.hostile_server import HostileServer

    body = b'{"resourceType": "Bundle", "entry": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    context = segurlink_pki.server_ssl_context(require_client_cert=False)
    with HostileServer("fixed", ssl_context=context, body=body) as server:
        table = {**ror_mock.settings_table(), "endpoint": server.url + "/ws-diffusion-fhir"}
        lines = ["[tls]", f'ca_bundle = "{segurlink_pki.ca}"', "[ror]"]
        lines += [f'{k} = "{v}"' for k, v in table.items()]
        path = tmp_path / "hostile.toml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        code = main(["--config", str(path), "ror", "search", "locations"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert err.startswith("segurlink: MalformedResponse: ") and err.count("\n") == 1


# -- the help and the docs name what the mock holds -----------------------------------------


def _epilog_commands() -> list[list[str]]:
    from segurlink._commands.ror import SEARCH_EPILOG

    return [
        line.split()[3:]
        for line in SEARCH_EPILOG.splitlines()
        if line.strip().startswith("segurlink ror search")
    ]


@pytest.mark.parametrize("argv", _epilog_commands(), ids=" ".join)
def test_every_example_of_the_search_help_finds_something(
    argv: list[str], config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [a for a in argv if a != "--json"]
    assert main(["--config", config, "--json", "ror", "search", *argv]) == 0
    assert json.loads(capsys.readouterr().out)["returned"] > 0


def test_identifiers_of_the_help_and_the_docs_exist_in_the_mock(ror_mock: RorMock) -> None:
    import re

    from segurlink._commands.ror import SEARCH_EPILOG
    from tests.docs_blocks import DOCS

    text = SEARCH_EPILOG + (DOCS / "ror.md").read_text(encoding="utf-8")
    values = {
        str(i.get("value"))
        for r in ror_mock.data.resources.values()
        for i in r.get("identifier") or ()
    }
    finess = set(re.findall(r"\b(?:45|37)0\d{6}\b", text))
    sync_ids = set(re.findall(r"\b1\d{9}/\w+", text))
    assert finess and sync_ids
    assert finess <= values, finess - values
    assert sync_ids <= values, sync_ids - values


def test_home_care_services_covering_a_commune(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "--config",
            config,
            "--json",
            "ror",
            "search",
            "services",
            "--intervention-zone",
            "45232",
            "--home-care",
        ]
    )
    assert code == 0
    rows = json.loads(capsys.readouterr().out)["results"]
    assert rows and all("45232" in row["intervention_zone"] for row in rows)
    assert any(row["organization"] == "SSIAD DE L'ORLEANAIS" for row in rows)
    assert all(row["contacts"] and row["opening_hours"] for row in rows)


def test_prices_are_listed_per_nursing_home(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "--config",
            config,
            "--json",
            "ror",
            "search",
            "prices",
            "--region",
            "24",
            "--max-price",
            "80",
            "--residential-type",
            "01",
        ]
    )
    assert code == 0
    rows = json.loads(capsys.readouterr().out)["results"]
    assert rows
    for row in rows:
        assert row["prices"] and all(p["amount"] <= 80 for p in row["prices"])
        assert all(p["room"].startswith("01") for p in row["prices"])


def test_practitioners_of_an_entity(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["--config", config, "--json", "ror", "search", "practitioners", "--finess", "450000088"]
    )
    assert code == 0
    rows = json.loads(capsys.readouterr().out)["results"]
    assert rows and all(r["id_nat_ps"] and r["identifier"] and r["name"] for r in rows)
