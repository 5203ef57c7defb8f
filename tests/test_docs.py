"""The examples of the core, identity, INSi and mocks pages of docs/ really run.

Python blocks marked ``<!-- run -->`` are executed in order, one namespace per page, in a directory
holding the ``segurlink.toml`` of a running mock stack (the file ``segurlink mock serve``
writes). Blocks marked ``<!-- pytest -->`` are test files an editor would write: they run
together under pytest with the installed plugin. Blocks written as doctests (``>>>``) are
checked as doctests. The TOML layout of docs/configuration.md loads.
"""

from __future__ import annotations

import doctest
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from segurlink_mocks.stack import MockStack

from segurlink.config import Settings
from segurlink.insi import InsiSettings
from tests.docs_blocks import DOCS, blocks

pytest_plugins = ["pytester"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockStack]:
    with MockStack(tmp_path_factory.mktemp("docs-stack")) as running:
        yield running


@pytest.mark.parametrize(
    "page", ["index.md", "configuration.md", "insi.md", "mocks.md", "production.md", "testing.md"]
)
def test_runnable_examples_run_in_order(
    page: str, stack: MockStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    runnable = blocks(page, "run")
    assert runnable, f"{page} has no runnable example"
    monkeypatch.chdir(stack.config_path.parent)  # where `segurlink.toml` is
    namespace: dict[str, object] = {"__name__": f"docs_{page[:-3]}"}
    for code in runnable:
        exec(compile(code, str(DOCS / page), "exec"), namespace)


def test_mocks_page_test_examples_pass_under_pytest(pytester: pytest.Pytester) -> None:
    tests = blocks("mocks.md", "pytest")
    assert len(tests) >= 3
    pytester.makepyfile(test_from_the_docs="\n\n".join(tests))
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=sum(len(re.findall(r"^def test_", b, re.M)) for b in tests))


def test_identity_page_doctests() -> None:
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    examples = blocks("identity.md")
    assert len(examples) >= 5
    # One doctest for the page: later blocks use the names of earlier ones.
    test = parser.get_doctest("\n".join(examples), {}, "identity.md", str(DOCS), 0)
    runner.run(test)
    assert runner.failures == 0 and runner.tries > 20


def test_configuration_toml_layout_loads() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    (toml,) = re.findall(r"^```toml\n(.*?)^```", text, re.M | re.S)
    settings = Settings.from_mapping(tomllib.loads(toml), base_dir=Path("/etc/mondui"))
    assert settings.require_software().idam == "R1234567"
    insi = InsiSettings.from_settings(settings)
    assert insi.endpoint.startswith("https://")
    assert insi.tls.cert == Path("/etc/mondui/insi-auto.pem")
    assert insi.tls.ca_bundle == Path("/etc/mondui/igc-sante-ca.pem")


def test_every_python_block_of_the_docs_runs_somewhere() -> None:
    """A ```python block is marked ``<!-- run -->`` or ``<!-- pytest -->``, or is a doctest;
    and every page with runnable blocks is named by a docs test that runs them."""
    tests_text = "\n".join(
        p.read_text(encoding="utf-8") for p in Path(__file__).parent.rglob("test_*.py")
    )
    unmarked = []
    for page in sorted(DOCS.rglob("*.md")):
        name = page.relative_to(DOCS).as_posix()
        every = blocks(name)
        marked = blocks(name, "run") + blocks(name, "pytest")
        unmarked += [
            f"{name}: {code.splitlines()[0]!r}"
            for code in every
            if code not in marked and not code.lstrip().startswith(">>>")
        ]
        if marked:
            assert f'"{page.name}"' in tests_text or f"'{page.name}'" in tests_text, name
    assert unmarked == []
