"""docs/walkthrough.md: the admission story's blocks run in order against a mock stack
(in the directory of its ``segurlink.toml``), and leave in the mocks what the page says."""

from __future__ import annotations

import email
from pathlib import Path
from typing import Any, cast

import pytest
from segurlink_mocks.dmp import DmpMock
from segurlink_mocks.mssante import MssMock
from segurlink_mocks.ror import RorMock
from segurlink_mocks.stack import MockStack

from tests.docs_blocks import DOCS, blocks
from tests.test_demo import ror_places_for_women

PAGE = "walkthrough.md"


def test_the_walkthrough_runs_and_leaves_its_traces_in_the_mocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    runnable = blocks(PAGE, "run")
    assert len(runnable) == 7  # settings, then the six steps
    with MockStack(tmp_path / "mocks") as stack:
        monkeypatch.chdir(stack.config_path.parent)
        namespace: dict[str, Any] = {"__name__": "docs_walkthrough"}
        for code in runnable:
            exec(compile(code, str(DOCS / PAGE), "exec"), namespace)

        # What the page prints is what it says in its comments.
        printed = capsys.readouterr().out.splitlines()
        assert printed == [
            "Claire INFIRMIERE-TEST 10009876543 eidas1",
            "QUAL 297022A02077878@patient.mssante.fr",
            "('rules',)",
            "Approved",
            "['297022A02077878@patient.mssante.fr', 'paul.medecin-test@segurlink-test.mssante.fr']",
            "0",
        ]
        unique_id = namespace["plan"].id.xds_unique_id
        dmp = cast(DmpMock, stack.mocks["dmp"])
        assert [e.unique_id for e in dmp.entries("297022A02077878") if e.unique_id == unique_id]
        mss = cast(MssMock, stack.mocks["mssante"])
        message_id = namespace["sent"].result["message_id"]
        for mailbox in (
            "paul.medecin-test@segurlink-test.mssante.fr",
            "297022A02077878@patient.mssante.fr",
        ):
            ids = [email.message_from_bytes(m)["Message-ID"] for m in mss.mailbox(mailbox)]
            assert ids == [message_id]
        ror = cast(RorMock, stack.mocks["ror"])
        assert len(ror.patches) == 1 and ror_places_for_women(ror) == 0
        for mock in stack.mocks.values():
            mock.check_handler_errors()


def test_the_walkthrough_is_in_the_site_navigation() -> None:
    nav = (DOCS.parent / "mkdocs.yml").read_text(encoding="utf-8")
    assert f": {PAGE}" in nav
    assert "walkthrough.md" in (DOCS / "index.md").read_text(encoding="utf-8")
