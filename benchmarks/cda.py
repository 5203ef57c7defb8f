"""CDA build and validation throughput (prints figures; never asserts timings).

Run: ``python benchmarks/cda.py [--kit ../shared/cisis-kit]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from segurlink.cda import Attachment, CdaSettings, Validator, build_document
from segurlink.cda._schematron import CompiledSchematron
from tests.cda.factory import make_document


def _pdf(size: int) -> bytes:
    head = b"%PDF-1.4\n"
    return head + os.urandom(size - len(head))


def _rate(fn: object, seconds: float = 2.0) -> float:
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()  # type: ignore[operator]
        count += 1
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    default_kit = Path(__file__).resolve().parents[2] / "shared" / "cisis-kit"
    parser.add_argument("--kit", type=Path, default=default_kit)
    args = parser.parse_args()

    for label, size in (("100 KB", 100 * 1024), ("5 MB", 5 * 1024 * 1024)):
        document = make_document(body=Attachment(_pdf(size)))
        rate = _rate(lambda d=document: build_document(d))
        tracemalloc.start()
        build_document(document)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"build {label} PDF: {rate:8.1f} documents/s, peak memory {peak / size:.2f} x PDF size"
        )

    if not args.kit.is_dir():
        print(f"kit not found at {args.kit}: skipping XSD and schematron figures")
        return
    xml = build_document(make_document())
    with tempfile.TemporaryDirectory() as cache:
        validator = Validator(CdaSettings(kit=args.kit, cache_dir=Path(cache)))
        validator.validate(xml, layers=("xsd",))
        print(
            f"XSD validation: {_rate(lambda: validator.validate(xml, layers=('xsd',))):8.1f} docs/s"
        )
        start = time.perf_counter()
        validator.validate(xml, layers=("schematron",))
        cold = time.perf_counter() - start
        CompiledSchematron._cache.clear()  # same process, disk cache warm: XSLT load only
        start = time.perf_counter()
        validator.validate(xml, layers=("schematron",))
        disk = time.perf_counter() - start
        start = time.perf_counter()
        validator.validate(xml, layers=("schematron",))
        warm = time.perf_counter() - start
        print(
            f"schematron first call (compile .sch + load XSLT): {cold:6.2f} s; "
            f"disk cache warm, XSLT reloaded (as in a new process): {disk:6.2f} s; "
            f"warm call: {warm:6.3f} s "
            f"(ratio first/warm {cold / warm:,.0f}x)"
        )
        rate = _rate(lambda: validator.validate(xml, layers=("schematron",)))
        print(f"schematron validation (StrucMin + ModelesDeContenusCDA), warm: {rate:8.1f} docs/s")
        rate = _rate(lambda: validator.validate(xml))
        print(f"all three layers, warm: {rate:8.1f} docs/s")


if __name__ == "__main__":
    main()
