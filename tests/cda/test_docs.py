"""The runnable examples of docs/cda.md (blocks fenced as ```python run) really run."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "cda.md"
BLOCKS = re.findall(r"^```python run\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.M | re.S)


def test_docs_examples_run_in_order() -> None:
    # The blocks share one namespace: the validation example uses the document built above.
    assert len(BLOCKS) >= 2
    namespace: dict[str, object] = {"__name__": "docs_cda"}
    for code in BLOCKS:
        exec(compile(code, str(DOC), "exec"), namespace)
