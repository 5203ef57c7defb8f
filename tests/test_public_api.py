"""The public API: one sorted __all__, every name importable, a cheap import."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import segurlink

PACKAGES = ["segurlink", "segurlink.errors", "segurlink.config", "segurlink.identity", "segurlink.insi", "segurlink.outbox", "segurlink.gateway"]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_importable(name: str) -> None:
    module = importlib.import_module(name)
    names = list(module.__all__)
    assert names == sorted(names), f"{name}.__all__ is not sorted"
    assert len(set(names)) == len(names)
    for attr in names:
        assert getattr(module, attr) is not None


def test_import_is_cheap() -> None:
    code = (
        "import sys, segurlink; heavy = {'zeep', 'lxml', 'requests', 'cryptography'}; "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_version_and_typed_marker() -> None:
    from importlib.resources import files

    assert segurlink.__version__.count(".") == 2
    assert files("segurlink").joinpath("py.typed").is_file()
