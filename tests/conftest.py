"""Shared test fixtures: a clean environment and the path to ../shared when present."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# ../shared next to the repository; a git worktree one level deeper finds it higher up.
SHARED = next(
    (p / "shared" for p in REPO.parents if (p / "shared" / "specs").is_dir()),
    REPO.parent / "shared",
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No SEGURLINK_* variable leaks into a test, and the mock state dir is private."""
    import os

    for name in list(os.environ):
        if name.startswith("SEGURLINK_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SEGURLINK_MOCK_DIR", str(tmp_path / "mock-state"))
    yield


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test with the reason."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: the official reference material is not available here")
    return path
