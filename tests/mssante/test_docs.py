"""The runnable example of docs/mssante.md (Python blocks marked <!-- run -->) really runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs_blocks import blocks

DOC = Path(__file__).resolve().parents[2] / "docs" / "mssante.md"
BLOCKS = blocks(DOC.name, "run")


def test_the_page_has_a_runnable_example() -> None:
    assert BLOCKS


@pytest.mark.parametrize("code", BLOCKS)
def test_docs_example_runs(code: str) -> None:
    exec(compile(code, str(DOC), "exec"), {"__name__": "docs_mssante"})
