"""The runnable examples of docs/cda.md (Python blocks marked <!-- run -->) really run."""

from __future__ import annotations

from pathlib import Path

from tests.docs_blocks import blocks

DOC = Path(__file__).resolve().parents[2] / "docs" / "cda.md"
BLOCKS = blocks(DOC.name, "run")


def test_docs_examples_run_in_order() -> None:
    # The blocks share one namespace: the validation example uses the document built above.
    assert len(BLOCKS) >= 2
    namespace: dict[str, object] = {"__name__": "docs_cda"}
    for code in BLOCKS:
        exec(compile(code, str(DOC), "exec"), namespace)
