"""``segurlink identity check-nir``: one NIR per call, as 15 characters or as 13 + key.

Two NIRs given together used to be joined into one string; now the arguments are either
one NIR (15 characters) or its matricule and key (13 + 2), and anything else is an input
error: exit 2 with a one-line message, never a traceback.
"""

from __future__ import annotations

import json

import pytest

from segurlink.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["identity", "check-nir", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.mark.parametrize(
    "argv",
    [
        ["275126322074974"],
        ["2 75 12 63 220 749 74"],  # quoted by the shell: one argument
        ["2751263220749", "74"],
        ["297022a020778", "78"],
        ["2 97 02 2A 020 778", "78"],
        ["160012B02077713"],
    ],
)
def test_a_right_key_exits_0(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    assert out.strip().endswith(": valid key")
    assert err == ""


@pytest.mark.parametrize("argv", [["275126322074975"], ["2751263220749", "75"]])
def test_a_wrong_key_exits_1_with_the_expected_key(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, out, _ = run(capsys, *argv)
    assert code == 1
    assert out.strip() == "2751263220749 75: invalid key, expected 74"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        # Two NIRs are not one NIR: each would pass alone.
        (["275126322074974", "297022A02077878"], "two arguments of 15 and 15 characters"),
        (["275126322074974", "74"], "two arguments of 15 and 2 characters"),
        (["27512632207497", "4"], "two arguments of 14 and 1 characters"),
        (["2751263220749", "745"], "two arguments of 13 and 3 characters"),
        # Typed with spaces but not quoted: the shell made seven arguments.
        (["2", "75", "12", "63", "220", "749", "74"], "got 7 arguments"),
        (["275126322074974", "297022A02077878", "160012B02077713"], "got 3 arguments"),
    ],
)
def test_arguments_that_are_not_one_nir_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("segurlink: InputError: check-nir takes one NIR")
    assert message in err
    # The message never echoes an identifier.
    assert not any(len(a) > 4 and a in err for a in argv)


@pytest.mark.parametrize(
    "argv",
    [["12"], ["2751263220749", "7A"], ["27512632207X974"], ["275122C22074974"], [""]],
)
def test_values_that_are_not_a_nir_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("segurlink: InvalidIdentifier: ")


def test_json_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--json", "297022A020778", "79")
    assert code == 1
    assert json.loads(out) == {
        "matricule": "297022A020778",
        "key": "79",
        "expected_key": "78",
        "valid": False,
    }


def test_json_input_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--json", "275126322074974", "297022A02077878")
    assert code == 2
    assert json.loads(out)["class"] == "InputError"
