"""The runnable examples of docs/outbox.md (blocks marked <!-- run -->) run, in order."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from segurlink.config import Settings
from segurlink.outbox import OutboxSettings
from tests.docs_blocks import DOCS, blocks

PAGE = "outbox.md"


def test_the_examples_run_in_order() -> None:
    runnable = blocks(PAGE, "run")
    assert len(runnable) >= 4
    namespace: dict[str, object] = {"__name__": "docs_outbox"}
    for code in runnable:
        exec(compile(code, str(DOCS / PAGE), "exec"), namespace)


def test_the_settings_shown_load(tmp_path: Path) -> None:
    text = (DOCS / PAGE).read_text(encoding="utf-8")
    (toml,) = re.findall(r"^```toml\n(.*?)^```", text, re.M | re.S)
    settings = Settings.from_mapping(tomllib.loads(toml), base_dir=tmp_path)
    config = OutboxSettings.from_settings(settings)
    assert config.store == str(tmp_path / "outbox.sqlite3")
    assert (config.workers, config.lease, config.poll_interval) == (2, 60.0, 1.0)
    assert (config.policy.initial, config.policy.maximum) == (2.0, 600.0)
    assert (config.policy.max_attempts, config.policy.deadline) == (50, 72 * 3600.0)
    assert config.structures == {"020000022": tmp_path / "ehpad-b.toml"}
