"""The public API: one sorted ``__all__`` per package, every name importable and
documented, every client and every error at the top level, a cheap import."""

from __future__ import annotations

import importlib
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import segurlink
import segurlink.errors

DOCS = Path(__file__).resolve().parent.parent / "docs"
# Every public package (no leading underscore) and the two public modules of the core.
PACKAGES = sorted(
    ["segurlink", "segurlink.errors", "segurlink.config", "segurlink.testing"]
    + [
        f"segurlink.{info.name}"
        for info in pkgutil.iter_modules(segurlink.__path__)
        if info.ispkg and not info.name.startswith("_")
    ]
)


def _isort_order(name: str) -> tuple[int, str]:
    """ruff's RUF022 order: CONSTANTS, then Classes, then functions (each sorted)."""
    if len(name) > 1 and name.upper() == name and any(c.isalpha() for c in name):
        return (0, name)
    return (1 if name[:1].isupper() else 2, name)


def test_every_public_package_is_listed() -> None:
    expected = {
        "cda",
        "dmp",
        "gateway",
        "hl7",
        "identity",
        "insi",
        "mssante",
        "outbox",
        "psc",
        "ror",
    }
    assert expected | {"testing"} <= {p.rpartition(".")[2] for p in PACKAGES}


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_importable(name: str) -> None:
    module = importlib.import_module(name)
    names = list(module.__all__)
    assert names == sorted(names, key=_isort_order), f"{name}.__all__ is not sorted"
    assert len(set(names)) == len(names)
    for attr in names:
        assert getattr(module, attr) is not None
    assert set(names) <= set(dir(module))


def test_no_export_is_shadowed_by_a_submodule_of_the_same_name() -> None:
    """A package exporting ``f`` from its submodule ``f`` must still give the function after
    every submodule was imported (the import system sets the package attribute to the
    module). Run in a fresh process: this one has imported things in its own order."""
    code = (
        "import importlib, pkgutil, types, segurlink\n"
        "mods = [m.name for m in pkgutil.walk_packages(segurlink.__path__, 'segurlink.')\n"
        "        if not m.name.endswith('__main__')]\n"
        "for m in mods: importlib.import_module(m)\n"
        "bad = [f'{m}.{n}' for m in mods if hasattr(importlib.import_module(m), '__path__')\n"
        "       for n in getattr(importlib.import_module(m), '__all__', ())\n"
        "       if isinstance(getattr(importlib.import_module(m), n), types.ModuleType)]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (out.returncode, out.stdout.strip()) == (0, "[]"), out.stderr


@pytest.mark.parametrize("name", [p for p in PACKAGES if p != "segurlink"])
def test_every_package_has_its_api_reference_page(name: str) -> None:
    """Each package is rendered by mkdocstrings on a page of the API reference, in the
    navigation (tests/browser/test_docs_site.py checks each name's entry on it)."""
    pages = [p for p in (DOCS / "api").glob("*.md") if f"::: {name}\n" in p.read_text("utf-8")]
    assert pages, f"no docs/api page renders {name}"
    nav = (DOCS.parent / "mkdocs.yml").read_text(encoding="utf-8")
    assert f"api/{pages[0].name}" in nav


def test_the_top_level_exports_every_client_and_every_error() -> None:
    public = set(segurlink.__all__)
    missing_errors = set(segurlink.errors.__all__) - public
    assert not missing_errors, f"segurlink lacks {sorted(missing_errors)}"
    clients = {
        attr
        for package in PACKAGES
        if package.count(".") == 1 and package != "segurlink.testing"
        for attr in importlib.import_module(package).__all__
        if re.fullmatch(r"[A-Z]\w*Client", attr)
    }
    assert {"InsiClient", "DmpClient", "PscClient", "RorClient", "MssClient"} <= clients
    assert clients <= public, f"segurlink lacks {sorted(clients - public)}"
    for client in clients:
        settings = client.removesuffix("Client") + "Settings"
        home = getattr(segurlink, client).__module__.split(".")[1]
        if hasattr(importlib.import_module(f"segurlink.{home}"), settings):
            assert settings in public, f"segurlink lacks {settings}"


def test_former_parser_names_still_import() -> None:
    from segurlink.cda import parse_header, read_header
    from segurlink.ror import parse_bundle, read_bundle

    assert read_header is parse_header and read_bundle is parse_bundle


def test_import_is_cheap() -> None:
    code = (
        "import sys, segurlink; heavy = {'zeep', 'lxml', 'requests', 'cryptography'}; "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (out.returncode, out.stdout.strip()) == (0, "[]"), out.stderr


def test_version_and_typed_marker() -> None:
    from importlib.resources import files

    assert segurlink.__version__.count(".") == 2
    assert files("segurlink").joinpath("py.typed").is_file()
