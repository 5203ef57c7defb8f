"""Every order of hide / unhide / archive / unarchive / delete, through the API and the CLI.

A generated matrix of command sequences: every permutation of the five commands (120
orders) and every pair of commands (25, repeats included). Each sequence runs on a new
document — a first version, or for every fifth permutation the third version of a
document replaced v1 → v2 → v3. After each step the mock's registry is held against a
model of the DMP: one current (non-deprecated) version with the expected status and
visibility, a new metadata version for each effective visibility change, the replaced
versions still deprecated, at most one approved document per setId. A command that the
current state does not allow is refused before anything is sent (``InputError``, exit 2
on the CLI) and changes nothing.

The library runs every sequence (145). The CLI, which maps each command to the same
library call with a fresh client per command (about three times the cost), runs every
pair and every fourth permutation by default (55, six of them on a third version);
``SEGURLINK_TEST_FULL_MATRIX=1`` makes it run all 145 too (about 30 s more on two idle
cores).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from segurlink.cda import build_document
from segurlink.cda.models import ClinicalDocument
from segurlink.cli import main
from segurlink.config import Settings
from segurlink.dmp import DmpClient
from segurlink.errors import InputError
from tests.dmp import factory as f

OPERATIONS = ("hide", "unhide", "archive", "unarchive", "delete")
PERMUTATIONS = list(itertools.permutations(OPERATIONS))
PAIRS = list(itertools.product(OPERATIONS, repeat=2))
SEQUENCES = [*PERMUTATIONS, *PAIRS]
#: Permutations that run on a third version (v1 → v2 → v3) rather than a first one.
ON_A_THIRD_VERSION = frozenset(PERMUTATIONS[::5])
# Read at collection time (the autouse fixture clears SEGURLINK_* variables later).
_FULL_CLI = os.environ.get("SEGURLINK_TEST_FULL_MATRIX") == "1"
CLI_SEQUENCES = SEQUENCES if _FULL_CLI else [*PERMUTATIONS[::4], *PAIRS]


def _ids(sequences: list[tuple[str, ...]]) -> list[str]:
    return ["-".join(s) + ("@v3" if s in ON_A_THIRD_VERSION else "") for s in sequences]


@dataclasses.dataclass
class Model:
    """What the DMP should hold for the document after each command."""

    status: str = "Approved"
    hidden: bool = False
    version: int = 1

    def apply(self, operation: str) -> bool:
        """Apply ``operation``; False (and no change) when the DMP state refuses it."""
        if operation in ("hide", "unhide"):
            if self.status == "Deleted":
                return False
            wanted = operation == "hide"
            if self.hidden != wanted:
                self.hidden, self.version = wanted, self.version + 1
            return True
        allowed = {
            "archive": ({"Approved"}, "Archived"),
            "unarchive": ({"Archived"}, "Approved"),
            "delete": ({"Approved", "Archived"}, "Deleted"),
        }
        sources, target = allowed[operation]
        if self.status not in sources:
            return False
        self.status = target
        return True


def _chain(seed: int, length: int) -> list[ClinicalDocument]:
    """v1, v2... of one document (same setId, each replacing the previous one)."""
    documents = [f.make_document(seed=seed)]
    for n in range(1, length):
        documents.append(
            f.replacement(documents[-1], seed=seed + n, body=f.PDF + f"%v{n + 1}\n".encode())
        )
    return documents


def _check_registry(mock: Any, chain: list[ClinicalDocument], model: Model, step: str) -> None:
    ins = f.ZOE[0]
    stored = mock.documents(ins)
    target = chain[-1].id.xds_unique_id
    versions = [d for d in stored if d["uniqueId"] == target]
    live = [d for d in versions if not d["status"].endswith(":Deprecated")]
    assert len(live) == 1, step
    (current,) = live
    assert current["status"].rsplit(":", 1)[-1] == model.status, step
    assert ("MASQUE_PS" in current["confidentiality"]) is model.hidden, step
    assert current["version"] == model.version == len(versions), step
    for older in chain[:-1]:  # replaced versions stay replaced
        assert all(
            d["status"].endswith(":Deprecated")
            for d in stored
            if d["uniqueId"] == older.id.xds_unique_id
        ), step
    approved = [d for d in stored if d["status"].endswith(":Approved")]
    assert len({d["setId"] for d in approved}) == len(approved), step


def _run(
    mock: Any,
    sequence: tuple[str, ...],
    chain: list[ClinicalDocument],
    deposit: Callable[[bytes], None],
    command: Callable[[str, str], bool],
) -> None:
    for document in chain:
        deposit(build_document(document))
    model = Model()
    _check_registry(mock, chain, model, "after the deposits")
    done: list[str] = []
    for operation in sequence:
        expected = model.apply(operation)
        done.append(operation)
        before = mock.documents(f.ZOE[0])
        accepted = command(operation, chain[-1].id.xds_unique_id)
        assert accepted is expected, " → ".join(done)
        if not accepted:
            assert mock.documents(f.ZOE[0]) == before, " → ".join(done)
        _check_registry(mock, chain, model, " → ".join(done))


# -- through the library ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def api_client(dmp_mock_session: Any, segurlink_pki: Any) -> Iterator[DmpClient]:
    from segurlink_mocks._core.installation import base_tables

    tables: dict[str, dict[str, Any]] = base_tables(segurlink_pki)
    tables["dmp"] = dict(dmp_mock_session.settings_table())
    with DmpClient.from_settings(Settings.from_mapping(tables)) as client:
        yield client


def _api_command(client: DmpClient) -> Callable[[str, str], bool]:
    """Each command gets the entry as first found after the deposit: stale after the first
    hide (that version is then Deprecated), the client must act on the current one."""
    found: dict[str, Any] = {}

    def command(operation: str, unique_id: str) -> bool:
        if unique_id not in found:
            (found[unique_id],) = client.find(f.patient_ins())
            assert found[unique_id].unique_id == unique_id
        try:
            getattr(client, operation)(found[unique_id])
        except InputError:
            return False
        return True

    return command


@pytest.mark.parametrize("sequence", SEQUENCES, ids=_ids(SEQUENCES))
def test_api_lifecycle_orders(
    api_client: DmpClient, dmp_mock: Any, sequence: tuple[str, ...]
) -> None:
    versions = 3 if sequence in ON_A_THIRD_VERSION else 1
    chain = _chain(100 + SEQUENCES.index(sequence) * 10, versions)
    _run(
        dmp_mock,
        sequence,
        chain,
        lambda data: api_client.deposit(data) and None,  # type: ignore[arg-type]
        _api_command(api_client),
    )


def test_api_lifecycle_with_a_stale_entry(api_client: DmpClient, dmp_mock: Any) -> None:
    """An entry read before a hide is stale (its version is now Deprecated): every command
    given that stale entry still acts on the current version."""
    (document,) = _chain(90, 1)
    api_client.deposit(build_document(document))
    (stale,) = api_client.find(f.patient_ins())
    api_client.hide(stale)
    api_client.archive(stale)
    api_client.unarchive(stale)
    api_client.unhide(stale)
    api_client.delete(stale)
    versions = [d for d in dmp_mock.documents(f.ZOE[0])]
    assert [(d["version"], d["status"].rsplit(":", 1)[-1]) for d in versions] == [
        (1, "Deprecated"),
        (2, "Deprecated"),
        (3, "Deleted"),
    ]


# -- through the CLI --------------------------------------------------------------------------


@pytest.fixture
def cli_env(dmp_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "segurlink.toml"
    lines = []
    for table, values in dmp_settings.to_mapping().items():
        lines.append(f"[{table}]")
        lines.extend(f"{key} = {json.dumps(str(value))}" for key, value in values.items())
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


def _cli_command(config: Path, capsys: pytest.CaptureFixture[str]) -> Callable[[str, str], bool]:
    def command(operation: str, unique_id: str) -> bool:
        code = main(["dmp", operation, f.ZOE[0], unique_id, "--config", str(config), "--json"])
        captured = capsys.readouterr()
        if code == 0:
            data = json.loads(captured.out)
            assert data == {"unique_id": unique_id, "operation": operation, "ok": True}
            return True
        assert code == 2, captured.err  # refused before sending: an input error
        assert "Traceback" not in captured.err
        assert "segurlink: InputError:" in captured.err
        return False

    return command


def _cli_deposit(config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    def deposit(data: bytes) -> None:
        path = tmp_path / "document.xml"
        path.write_bytes(data)
        code = main(["dmp", "deposit", str(path), "--config", str(config), "--json"])
        out = capsys.readouterr().out
        assert code == 0 and not json.loads(out)["already_deposited"]

    return deposit


@pytest.mark.parametrize("sequence", CLI_SEQUENCES, ids=_ids(CLI_SEQUENCES))
def test_cli_lifecycle_orders(
    cli_env: Path,
    api_client: DmpClient,
    dmp_mock: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    sequence: tuple[str, ...],
) -> None:
    # The documents are deposited with the library (the CLI deposit has its own tests),
    # every lifecycle command goes through `segurlink dmp ...`.
    versions = 3 if sequence in ON_A_THIRD_VERSION else 1
    chain = _chain(5000 + SEQUENCES.index(sequence) * 10, versions)
    _run(
        dmp_mock,
        sequence,
        chain,
        lambda data: api_client.deposit(data) and None,  # type: ignore[arg-type]
        _cli_command(cli_env, capsys),
    )
