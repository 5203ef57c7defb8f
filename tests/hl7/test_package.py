"""segurlink.hl7's public API: one sorted __all__, every name importable, a cheap import."""

from __future__ import annotations

import subprocess
import sys

import segurlink.hl7


def test_all_is_sorted_and_importable() -> None:
    names = list(segurlink.hl7.__all__)
    assert names == sorted(names) and len(set(names)) == len(names)
    for name in names:
        assert getattr(segurlink.hl7, name) is not None
    assert sorted(dir(segurlink.hl7)) == names


def test_importing_the_package_imports_neither_python_hl7_nor_zeep() -> None:
    code = (
        "import sys, segurlink.hl7, segurlink.hl7.models; "
        "print(sorted(m for m in ('hl7', 'zeep', 'lxml', 'requests') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
