"""The mutation testing table of pyproject.toml stays usable (tools/mutation.py, on demand).

Mutation runs are not part of the suite, so a module renamed or a test file that mutmut
cannot collect would only show when someone next runs them; these checks show it now.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _settings() -> tuple[dict[str, dict[str, list[str]]], dict[str, object]]:
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]
    return tool["segurlink"]["mutation"]["modules"], tool["mutmut"]


def _test_files(modules: dict[str, dict[str, list[str]]]) -> list[str]:
    return sorted({t for m in modules.values() for t in m["tests"] if t.startswith("tests/")})


def test_every_configured_module_and_test_file_exists() -> None:
    modules, _ = _settings()
    assert modules
    for path, entry in modules.items():
        assert (ROOT / "src" / "segurlink" / path).is_file(), path
        assert entry["tests"], path
    for test in _test_files(modules):
        assert (ROOT / test).is_file(), test


def test_the_configured_tests_collect_the_way_mutmut_runs_them() -> None:
    # mutmut hands pytest back the node ids it collected, unescaped (pyproject's
    # [tool.mutmut] pytest_add_cli_args): a bytes parameter without ids breaks that.
    modules, mutmut = _settings()
    args = [str(a) for a in mutmut["pytest_add_cli_args"]]  # type: ignore[attr-defined]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", *args, *_test_files(modules)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
