"""``segurlink hl7 parse|listen``: in process through ``main(argv)``, and the two-process flow
``segurlink mock serve`` + ``segurlink hl7 listen`` with python-hl7's MLLP client."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import hl7.client
import pytest

from segurlink.cli import main
from segurlink.config import Settings
from segurlink.hl7 import AckCode, parse_ack, parse_message
from tests.conftest import shared_path
from tests.hl7.conftest import SAMPLE_INS, SAMPLES, Receiver, adt, write


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_parse_prints_the_identity_as_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "hl7", "parse", str(shared_path(SAMPLES, "SGL_admission.er7")))
    assert code == 0, err
    lines = dict(line.split(None, 1) if " " in line else (line, "") for line in out.splitlines())  # type: ignore[misc]
    assert out.splitlines()[0].startswith("message      ADT^A01 control id 3975 from GAM/CHU-X")
    assert f"INS          {SAMPLE_INS}  OID 1.2.250.1.213.1.4.10  since 2010-12-07" in out
    assert "birth name   PAT-TROIS" in out
    assert "first names  DOMINIQUE" in out
    assert "birth date   1979-03-28" in out
    assert "birth place  63220" in out
    assert "PID-32       VALI (status VALI)" in out
    assert "local id     000003 (CHU-X, PI)" in out
    assert lines


def test_parse_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "m.hl7",
        adt(
            event="A40",
            used_name="MARTIN",
            status="PROV~HOMD",
            extra_segments="MRG|OLD1^^^X^PI",
            separator="\n",
        ),
    )
    code, out, _ = run(capsys, "hl7", "parse", str(path), "--json")
    assert code == 0
    data = json.loads(out)
    assert (data["event"], data["control_id"], data["segments"]) == (
        "A40",
        "MSG0001",
        ["MSH", "EVN", "PID", "PV1", "MRG"],
    )
    identity = data["identity"]
    assert identity["ins"] is None
    assert (identity["birth_name"], identity["first_names"], identity["used_name"]) == (
        "ADRUN",
        ["ZOE"],
        "MARTIN",
    )
    assert (identity["birth_date"], identity["sex"], identity["birth_place"]) == (
        "1975-12-31",
        "F",
        "63220",
    )
    assert (identity["reliability_codes"], identity["status"]) == (["PROV", "HOMD"], "PROV")
    assert identity["local_ids"][0]["value"] == "LOC123"
    assert data["prior_identifiers"][0]["value"] == "OLD1"


def test_parse_json_of_an_ins(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path, "m.hl7", adt(ins="275126322074974").encode("utf-8"))
    code, out, _ = run(capsys, "--json", "hl7", "parse", str(path))
    assert code == 0
    assert json.loads(out)["identity"]["ins"] == {
        "value": "275126322074974",
        "oid": "1.2.250.1.213.1.4.8",
        "effective_date": "2010-12-07",
    }


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (adt(birth_date="19751341"), "PID-7"),
        ("not hl7 at all", "MSH segment"),
        (adt() + adt(), "2 messages"),
    ],
)
def test_parse_bad_input_exits_2_without_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, error: str
) -> None:
    code, out, err = run(capsys, "hl7", "parse", str(write(tmp_path, "bad.hl7", content)))
    assert code == 2 and out == ""
    assert err.startswith("segurlink: Hl7Error: ") and error in err
    assert "Traceback" not in err


def test_parse_json_error_names_segment_and_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(tmp_path, "bad.hl7", adt(birth_date="19751341"))
    code, out, _ = run(capsys, "--json", "hl7", "parse", str(path))
    assert code == 2
    assert {k: json.loads(out)[k] for k in ("class", "segment", "field")} == {
        "class": "Hl7Error",
        "segment": "PID",
        "field": 7,
    }


def test_parse_missing_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "hl7", "parse", str(tmp_path / "none.hl7"))
    assert code == 2 and "no such file" in err


@pytest.mark.parametrize("forward", ["nope", "host:", ":2575", "host:0", "host:70000", "host:x"])
def test_listen_bad_forward_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], forward: str
) -> None:
    code, out, err = run(capsys, "hl7", "listen", "--port", "0", "--forward", forward)
    assert code == 2 and out == ""
    assert "HOST:PORT" in err and err.count("\n") == 1


def settings_file(settings: Settings, path: Path) -> Path:
    lines = []
    for table, values in settings.to_mapping().items():
        lines.append(f"[{table}]")
        lines += [
            f"{key} = {json.dumps(value if isinstance(value, int | float) else str(value))}"
            for key, value in values.items()
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_listen_bad_limits_and_busy_port_exit_2(
    capsys: pytest.CaptureFixture[str], segurlink_mock_settings: Settings, tmp_path: Path
) -> None:
    config = settings_file(segurlink_mock_settings, tmp_path / "segurlink.toml")
    code, _, err = run(
        capsys,
        "hl7",
        "listen",
        "--port",
        "0",
        "--forward",
        "127.0.0.1:1",
        "--max-connections",
        "0",
        "--config",
        str(config),
    )
    assert code == 2 and "must be from 1 to 10000, not 0" in err
    busy = socket.create_server(("127.0.0.1", 0))
    try:
        code, _, err = run(
            capsys,
            "hl7",
            "listen",
            "--port",
            str(busy.getsockname()[1]),
            "--forward",
            "127.0.0.1:1",
            "--config",
            str(config),
        )
    finally:
        busy.close()
    assert code == 2 and "ConfigurationError: cannot listen on 127.0.0.1" in err
    assert "Traceback" not in err


def test_parser_imports_neither_python_hl7_nor_the_bridge() -> None:
    code = (
        "import sys; from segurlink.cli import build_parser; build_parser(); "
        "print(sorted(m for m in ('hl7', 'segurlink.hl7', 'zeep', 'lxml') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_mock_serve_then_hl7_listen_qualifies_and_forwards(
    tmp_path: Path, receiver: Receiver
) -> None:
    """The README flow: `segurlink mock serve` in one process, `segurlink hl7 listen` in
    another (embedded default settings), a sender using python-hl7's MLLP client."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEGURLINK_")}
    env["SEGURLINK_MOCK_DIR"] = str(tmp_path / "state")
    mocks = subprocess.Popen(
        [sys.executable, "-m", "segurlink", "mock", "serve", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    listener = None
    try:
        assert mocks.stdout is not None
        json.loads(mocks.stdout.readline())
        listener = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "segurlink",
                "hl7",
                "listen",
                "--port",
                "0",
                "--forward",
                f"127.0.0.1:{receiver.port}",
                "--json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert listener.stdout is not None
        ready = json.loads(listener.stdout.readline())
        with hl7.client.MLLPClient("127.0.0.1", ready["port"]) as client:
            ack = parse_ack(client.send_message(adt(control_id="CLI1")).strip(b"\x0b\x1c\r"))
            refused = parse_ack(
                client.send_message(adt(control_id="CLI2", birth_name="NOBODY")).strip(
                    b"\x0b\x1c\r"
                )
            )
        assert (ack.code, ack.acknowledged_id) == (AckCode.AA, "CLI1")
        assert refused.code is AckCode.AE
        (forwarded,) = receiver.messages
        assert parse_message(forwarded).identity.ins is not None
        listener.send_signal(signal.SIGTERM)
        out, err = listener.communicate(timeout=20)
        assert listener.returncode == 0, err
        final = json.loads(out)
        assert final["messages"]["AA"] == 1 and final["messages"]["AE"] == 1
        assert "ADRUN" not in err and "275126322074974" not in err
    finally:
        if listener is not None and listener.poll() is None:
            listener.kill()
            listener.wait()
        mocks.send_signal(signal.SIGTERM)
        mocks.communicate(timeout=20)  # waits and closes the pipe
