"""The tree shows the architecture: one mock sub-package per service, no import cycles.

A deferred import (inside a function) still counts: it hides a cycle, it does not break it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {
    "segurlink": ROOT / "src" / "segurlink",
    "segurlink_mocks": ROOT / "mocks" / "segurlink_mocks",
}


def _module_name(package: str, base: Path, path: Path) -> str:
    parts = list(path.relative_to(base).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([package, *parts])


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Every import the module can execute, deferred ones included (not TYPE_CHECKING)."""
    found: list[ast.Import | ast.ImportFrom] = []

    class Visitor(ast.NodeVisitor):
        def visit_If(self, node: ast.If) -> None:
            if _is_type_checking(node):
                for statement in node.orelse:
                    self.visit(statement)
            else:
                self.generic_visit(node)

        def visit_Import(self, node: ast.Import) -> None:
            found.append(node)

        def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
            found.append(node)

    Visitor().visit(tree)
    return found


def _import_graph() -> dict[str, set[str]]:
    modules: dict[str, Path] = {}
    for package, base in PACKAGES.items():
        for path in base.rglob("*.py"):
            modules[_module_name(package, base, path)] = path
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:
                    anchor = name.split(".") if is_package else name.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base_name = ".".join([*anchor, node.module] if node.module else anchor)
                else:
                    base_name = node.module or ""
                targets = [base_name] + [f"{base_name}.{alias.name}" for alias in node.names]
            for target in targets:
                # Importing a.b.c runs a/__init__ and a/b/__init__ too.
                parts = target.split(".")
                for i in range(1, len(parts) + 1):
                    candidate = ".".join(parts[:i])
                    if candidate in modules and candidate != name:
                        graph[name].add(candidate)
    return graph


def test_no_import_cycles() -> None:
    graph = _import_graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            # A package importing its own sub-modules is how packages work, not a cycle.
            if node.startswith(nxt + "."):
                continue
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert cycles == []


SERVICES = ["insi", "dmp", "psc", "ror"]


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_has_its_mock_subpackage(service: str) -> None:
    library = PACKAGES["segurlink"] / service
    mock = PACKAGES["segurlink_mocks"] / service
    assert (library / "__init__.py").is_file()
    assert (mock / "__init__.py").is_file(), f"segurlink_mocks.{service} is not a sub-package"
    assert (mock / "server.py").is_file()
    assert (mock / "fixtures.py").is_file()


def test_mocks_top_level_holds_only_shared_parts() -> None:
    top = {p.name for p in PACKAGES["segurlink_mocks"].glob("*.py")}
    assert top <= {"__init__.py", "__main__.py", "stack.py", "pytest_plugin.py"}


#: Pure cores: they build and read messages and apply rules, without sockets, files or
#: databases; the I/O shells around them (clients, the gateway's service and jobs) do that.
PURE_CORES = [
    "segurlink.gateway.messages",
    "segurlink.gateway.models",
    "segurlink.gateway.rules",
    "segurlink.hl7.messages",
]
IO_MODULES = {
    "imaplib",
    "psycopg",
    "requests",
    "segurlink._http",
    "segurlink._transport",
    "segurlink.hl7.mllp",
    "segurlink.outbox.store",
    "smtplib",
    "socket",
    "socketserver",
    "sqlite3",
    "ssl",
    "urllib3",
    "zeep",
}


@pytest.mark.parametrize("module", PURE_CORES)
def test_pure_cores_reach_no_io_module(module: str) -> None:
    """Every import the core can run (deferred ones too, and those of the segurlink
    modules it imports in turn) stays away from sockets, databases and HTTP."""
    graph = _import_graph()
    paths = {
        _module_name(package, base, path): path
        for package, base in PACKAGES.items()
        for path in base.rglob("*.py")
    }
    reached: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name in reached:
            continue
        reached.add(name)
        todo.extend(graph[name])
    imported: set[str] = set()
    for name in reached:
        for node in _imports(ast.parse(paths[name].read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif not node.level and node.module:
                imported.add(node.module)
    prefixes = {".".join(i.split(".")[:n]) for i in imported for n in (1, 2, 3)}
    assert sorted((prefixes | reached) & IO_MODULES) == []
