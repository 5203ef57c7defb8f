"""The runnable example of docs/dmp.md (blocks fenced as ```python run) really runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "dmp.md"
BLOCKS = re.findall(r"^```python run\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.M | re.S)


def test_the_page_has_a_runnable_example() -> None:
    assert BLOCKS


@pytest.mark.parametrize("code", BLOCKS)
def test_docs_example_runs(code: str) -> None:
    exec(compile(code, str(DOC), "exec"), {"__name__": "docs_dmp"})
