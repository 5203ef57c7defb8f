"""The runnable examples of docs/ror.md run, in order, against the ROR mock."""

from __future__ import annotations

import pytest
from segurlink_mocks.ror import RorMock

from segurlink.config import Settings
from tests.docs_blocks import DOCS, blocks


def test_ror_page_examples_run(ror_settings: Settings, ror_mock: RorMock,
                               capsys: pytest.CaptureFixture[str]) -> None:
    runnable = blocks("ror.md", "run")
    assert len(runnable) >= 5
    namespace: dict[str, object] = {"__name__": "docs_ror", "settings": ror_settings}
    try:
        for code in runnable:
            exec(compile(code, str(DOCS / "ror.md"), "exec"), namespace)
    finally:
        ror_mock.reset()  # the page publishes a capacity
    assert "EHPAD LES TILLEULS" in capsys.readouterr().out
