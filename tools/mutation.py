"""Mutation testing on demand: mutmut 3, one module at a time with the tests that hold its rules.

Never part of CI or of ``pytest``: a developer runs it before closing an issue that adds or
changes rules, reads the surviving mutants, and writes the failing cases they call for.

    python tools/mutation.py list                       # the configured modules
    python tools/mutation.py run identity/nir.py -j 1   # mutate one module, run its tests
    python tools/mutation.py run --all                  # every configured module, in turn
    python tools/mutation.py report [MODULE...]         # scores and survivors of the last runs
    python tools/mutation.py show MUTANT                # the diff of one mutant

The modules and their tests are the ``[tool.segurlink.mutation.modules]`` table of
pyproject.toml; the settings every run shares are ``[tool.mutmut]``. Each module runs in its
own workspace ``.mutation/<module>/`` (git-ignored): a ``pyproject.toml`` that narrows
``[tool.mutmut]`` to the module and its tests, symbolic links to ``src``, ``tests`` and
``schemas``, and mutmut's ``mutants/`` copy with its results. Every run starts from a new
workspace and re-tests every mutant of the module: mutmut 3 keeps the verdict of a mutant
whose function did not change, so a test added since would not be tried on the survivors
of an earlier run (``--incremental`` keeps that cache, for a quick look only).

Surviving mutants judged equivalent (no input can tell them from the original) are listed
with the reason in ``tools/mutation_equivalents.toml``; the report gives the raw score and the
score without them, and names any listed mutant that no longer survives.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKSPACES = ROOT / ".mutation"
EQUIVALENTS = Path(__file__).resolve().parent / "mutation_equivalents.toml"
PACKAGE = "segurlink"
LINKED = ("src", "tests", "schemas")
KILLED = {"killed", "timeout", "caught by type check"}


@dataclass(frozen=True)
class Module:
    """One module under ``src/segurlink`` and the test files that hold its rules."""

    path: str  # relative to src/segurlink, e.g. "identity/nir.py"
    tests: tuple[str, ...]
    functions: tuple[str, ...] = ()  # "name" or "Class.method", fnmatch patterns; () = all

    @property
    def dotted(self) -> str:
        return f"{PACKAGE}." + self.path.removesuffix(".py").replace("/", ".")

    @property
    def workspace(self) -> Path:
        return WORKSPACES / self.path.removesuffix(".py").replace("/", "-")

    def mutant_patterns(self) -> list[str]:
        """mutmut's names for this module's mutants: ``<module>.x_<function>__mutmut_<n>``."""
        if not self.functions:
            return [f"{self.dotted}.x*"]
        patterns = []
        for function in self.functions:
            owner, dot, name = function.rpartition(".")
            mangled = f"xǁ{owner}ǁ{name}" if dot else f"x_{name}"
            patterns.append(f"{self.dotted}.{mangled}__mutmut_*")
        return patterns


@dataclass
class Score:
    module: Module
    status: dict[str, str] = field(default_factory=dict)  # mutant -> mutmut's status

    def count(self, *statuses: str) -> int:
        return sum(1 for s in self.status.values() if s in statuses)

    @property
    def killed(self) -> int:
        return self.count(*KILLED)

    @property
    def tested(self) -> int:
        # "skipped" mutants were excluded by a pragma; every other one counts, including
        # the ones no test reached ("no tests"): those are gaps too.
        return sum(1 for s in self.status.values() if s not in {"skipped", "not checked"})

    def not_killed(self) -> list[str]:
        survivors = (m for m, s in self.status.items() if s not in KILLED | {"skipped"})
        return sorted(survivors, key=_natural)


def load_modules() -> dict[str, Module]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    table = pyproject["tool"]["segurlink"]["mutation"]["modules"]
    return {
        path: Module(path, tuple(entry["tests"]), tuple(entry.get("functions", ())))
        for path, entry in table.items()
    }


def load_equivalents() -> dict[str, str]:
    if not EQUIVALENTS.is_file():
        return {}
    return dict(tomllib.loads(EQUIVALENTS.read_text("utf-8")))


def _toml_table(name: str, values: dict[str, object]) -> str:
    # JSON scalars and arrays of them are valid TOML values.
    lines = [f"[{name}]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def prepare(module: Module, *, fresh: bool) -> None:
    """Lay out the module's workspace: its mutmut settings and links to the checkout."""
    if fresh and module.workspace.exists():
        shutil.rmtree(module.workspace)
    module.workspace.mkdir(parents=True, exist_ok=True)
    for name in LINKED:
        link = module.workspace / name
        if not link.is_symlink():
            link.symlink_to(ROOT / name, target_is_directory=True)
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    mutmut = dict(pyproject["tool"]["mutmut"])
    mutmut["only_mutate"] = [f"src/{PACKAGE}/{module.path}"]
    mutmut["pytest_add_cli_args_test_selection"] = list(module.tests)
    text = "# Written by tools/mutation.py for one module; edit pyproject.toml instead.\n"
    text += _toml_table("tool.pytest.ini_options", pyproject["tool"]["pytest"]["ini_options"])
    text += _toml_table("tool.mutmut", mutmut)
    (module.workspace / "pyproject.toml").write_text(text, "utf-8")


def _mutmut(
    module: Module, *args: str, log: Path | None = None
) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "mutmut"), *args]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("CI", None)  # tests that CI must run would fail instead of skipping
    if log is None:
        return subprocess.run(
            command, cwd=module.workspace, env=env, capture_output=True, text=True, check=False
        )
    with log.open("w", encoding="utf-8") as out:
        return subprocess.run(
            command,
            cwd=module.workspace,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )


def run(module: Module, *, jobs: int, incremental: bool = False) -> Score:
    prepare(module, fresh=not incremental)
    log = module.workspace / "run.log"
    print(f"{module.path}: mutmut run (log: {log.relative_to(ROOT)})", flush=True)
    done = _mutmut(module, "run", "--max-children", str(jobs), *module.mutant_patterns(), log=log)
    if done.returncode != 0:
        tail = log.read_text("utf-8", errors="replace")[-3000:]
        raise SystemExit(f"{module.path}: mutmut failed ({done.returncode}):\n{tail}")
    return read_score(module)


_RESULT = re.compile(r"^\s*(?P<mutant>\S+__mutmut_\d+): (?P<status>.+?)\s*$")


def read_score(module: Module) -> Score:
    """The statuses of the module's last run, read with ``mutmut results --all true``."""
    score = Score(module)
    if not (module.workspace / "mutants").is_dir():
        return score
    done = _mutmut(module, "results", "--all", "true")
    patterns = [re.compile(_glob(p)) for p in module.mutant_patterns()]
    for line in done.stdout.splitlines():
        match = _RESULT.match(line)
        if match and any(p.fullmatch(match["mutant"]) for p in patterns):
            score.status[match["mutant"]] = match["status"]
    return score


def _natural(mutant: str) -> tuple[str, int]:
    name, _, number = mutant.rpartition("__mutmut_")
    return name, int(number)


def _glob(pattern: str) -> str:
    return ".*".join(re.escape(part) for part in pattern.split("*"))


# One process reads every diff of a module: `mutmut show` looks the mutant up in every
# file of src/ and takes seconds per mutant. mutmut's own reader is used, in the workspace.
_DIFFS_SCRIPT = """
import json, sys
from mutmut.mutation.diff_apply import get_diff_for_mutant
path, names = sys.argv[1], json.loads(sys.stdin.read())
print(json.dumps({name: get_diff_for_mutant(name, path=path) for name in names}))
"""


def _diffs(module: Module, mutants: list[str]) -> dict[str, str]:
    """The changed lines of each mutant, indented for the report."""
    if not mutants:
        return {}
    done = subprocess.run(
        [sys.executable, "-c", _DIFFS_SCRIPT, f"src/{PACKAGE}/{module.path}"],
        cwd=module.workspace,
        input=json.dumps(mutants),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode == 0:
        shown = json.loads(done.stdout)
    else:  # another mutmut layout: one `mutmut show` each, slower
        shown = {mutant: _mutmut(module, "show", mutant).stdout for mutant in mutants}
    return {mutant: _changed_lines(text) for mutant, text in shown.items()}


def _changed_lines(diff: str) -> str:
    lines = diff.splitlines()
    changed = [line for line in lines if line[:1] in "+-" and line[:3] not in {"+++", "---"}]
    return "\n".join("        " + line for line in changed)


def report(scores: list[Score], *, verbose: bool, diffs: bool = False) -> int:
    equivalents = load_equivalents()
    print()
    print(
        f"{'module':28} {'mutants':>7} {'killed':>6} {'survived':>8} {'no test':>7} "
        f"{'equiv.':>6} {'score':>6} {'w/o eq.':>7}"
    )
    below = 0
    for score in scores:
        if not score.status:
            print(f"{score.module.path:28} {'(not run)':>7}")
            continue
        survivors = score.not_killed()
        judged = [m for m in survivors if m in equivalents]
        tested = score.tested
        raw = 100 * score.killed / tested if tested else 0.0
        adjusted = 100 * score.killed / (tested - len(judged)) if tested > len(judged) else 100.0
        below += adjusted < 85
        print(
            f"{score.module.path:28} {tested:7} {score.killed:6} {score.count('survived'):8} "
            f"{score.count('no tests'):7} {len(judged):6} {raw:5.1f}% {adjusted:6.1f}%"
        )
        if verbose:
            unjudged = [m for m in survivors if m not in equivalents]
            shown = _diffs(score.module, unjudged) if diffs else {}
            for mutant in survivors:
                why = equivalents.get(mutant)
                print(
                    f"    {score.status[mutant]:10} {mutant}"
                    + (f"  [equivalent: {why}]" if why else "")
                )
                if diffs and not why:
                    print(shown[mutant])
        mine = [m for m in equivalents if m.startswith(score.module.dotted + ".x")]
        stale = [m for m in mine if score.status.get(m) in KILLED or m not in score.status]
        for mutant in stale:
            now = score.status.get(mutant, "gone")
            print(f"    stale entry in {EQUIVALENTS.name}: {mutant} ({now})")
    return below


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the configured modules and their tests")
    run_parser = commands.add_parser("run", help="mutate modules and run their tests")
    run_parser.add_argument("modules", nargs="*", help="paths under src/segurlink (see list)")
    run_parser.add_argument("--all", action="store_true", help="every configured module")
    run_parser.add_argument("-j", "--jobs", type=int, default=1, help="mutmut workers (1)")
    run_parser.add_argument(
        "--fresh", action="store_true", help="(the default) start from a new workspace"
    )
    run_parser.add_argument(
        "--incremental",
        action="store_true",
        help="keep mutmut's cached verdicts (survivors are not tried on new tests)",
    )
    report_parser = commands.add_parser("report", help="scores and survivors of the last runs")
    report_parser.add_argument("modules", nargs="*")
    report_parser.add_argument("-q", "--quiet", action="store_true", help="the table only")
    report_parser.add_argument("--diff", action="store_true", help="each survivor's change")
    show_parser = commands.add_parser("show", help="the diff of one mutant")
    show_parser.add_argument("mutant")
    args = parser.parse_args(argv)

    modules = load_modules()
    if args.command == "list":
        for module in modules.values():
            scope = ", ".join(module.functions) if module.functions else "all functions"
            print(f"{module.path}  ({scope})\n    " + "\n    ".join(module.tests))
        return 0
    if args.command == "show":
        owner = next((m for m in modules.values() if args.mutant.startswith(m.dotted + ".")), None)
        if owner is None:
            parser.error(f"no configured module owns {args.mutant}")
        done = _mutmut(owner, "show", args.mutant)
        print(done.stdout + done.stderr, end="")
        return done.returncode

    chosen = list(modules) if getattr(args, "all", False) or not args.modules else args.modules
    unknown = [m for m in chosen if m not in modules]
    if unknown:
        parser.error(f"not configured in [tool.segurlink.mutation.modules]: {', '.join(unknown)}")
    if args.command == "run":
        if not args.modules and not args.all:
            parser.error("name the modules to run, or --all")
        scores = [run(modules[m], jobs=args.jobs, incremental=args.incremental) for m in chosen]
        report(scores, verbose=True)
        return 0
    scores = [read_score(modules[m]) for m in chosen]
    report(scores, verbose=not args.quiet, diffs=args.diff)
    return 0


if __name__ == "__main__":
    sys.exit(main())
