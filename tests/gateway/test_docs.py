"""The examples of docs/gateway.md (Python blocks marked <!-- run -->) run in order, in one
namespace, in a directory holding the settings of a running mock stack."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from segurlink_mocks.stack import MockStack

from tests.docs_blocks import DOCS, blocks

PAGE = "gateway.md"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockStack]:
    with MockStack(tmp_path_factory.mktemp("gateway-docs")) as running:
        yield running


def test_the_page_has_runnable_examples() -> None:
    assert len(blocks(PAGE, "run")) >= 3


def test_runnable_examples_run_in_order(stack: MockStack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(stack.config_path.parent)  # where `segurlink.toml` is
    namespace: dict[str, object] = {"__name__": "docs_gateway"}
    for code in blocks(PAGE, "run"):
        exec(compile(code, str(DOCS / PAGE), "exec"), namespace)


def test_page_is_in_the_site_navigation() -> None:
    assert "gateway.md" in (DOCS.parent / "mkdocs.yml").read_text(encoding="utf-8")
