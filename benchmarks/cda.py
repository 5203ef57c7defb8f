"""CDA build and validation throughput (prints figures and ratios; never asserts timings).

Run: ``python benchmarks/cda.py [--kit ../shared/cisis-kit]``.

Baselines, run in the same process: base64-encoding the PDF alone (the irreducible cost
of a level-1 build) and parsing the CDA alone (the floor under any validation). Peak
memory is the growth of the peak RSS of a fresh child process while it builds one
document (it includes libxml2's buffers, which ``tracemalloc`` does not see), relative
to the PDF size; the Python-heap peak from ``tracemalloc`` is shown next to it.
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from segurlink._xml import parse_xml  # noqa: E402
from segurlink.cda import Attachment, CdaSettings, Validator, build_document  # noqa: E402
from segurlink.cda._schematron import CompiledSchematron  # noqa: E402
from tests.cda.factory import make_document  # noqa: E402

# VmHWM (peak RSS of this address space), not ru_maxrss: Linux carries ru_maxrss over
# execve, so a child would start at the parent's peak.
_CHILD = """
import os, sys
sys.path.insert(0, sys.argv[2])
from segurlink.cda import Attachment, build_document
from tests.cda.factory import make_document
def peak():
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) * 1024 for l in fh if l.startswith("VmHWM:"))
size = int(sys.argv[1])
document = make_document(body=Attachment(b"%PDF-1.4\\n" + os.urandom(size - 9)))
build_document(make_document())  # imports and first-call costs before the measure
before = peak()
xml = build_document(document)
print(peak() - before)
"""


def _pdf(size: int) -> bytes:
    head = b"%PDF-1.4\n"
    return head + os.urandom(size - len(head))


def _rate(fn: Callable[[], object], seconds: float = 2.0) -> float:
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        count += 1
    return count / (time.perf_counter() - start)


def _peak_rss_growth(size: int) -> int:
    """Bytes the peak RSS of a fresh process grows by while building one document."""
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(size), str(ROOT)],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(out.stdout.strip())


def _python_heap_peak(document: object) -> int:
    tracemalloc.start()
    build_document(document)  # type: ignore[arg-type]
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser()
    default_kit = ROOT.parent / "shared" / "cisis-kit"
    parser.add_argument("--kit", type=Path, default=default_kit)
    args = parser.parse_args()

    for label, size in (("100 KB", 100 * 1024), ("5 MB", 5 * 1024 * 1024)):
        pdf = _pdf(size)
        document = make_document(body=Attachment(pdf))
        baseline = _rate(lambda p=pdf: base64.b64encode(p))
        rate = _rate(lambda d=document: build_document(d))
        rss = _peak_rss_growth(size)
        heap = _python_heap_peak(document)
        print(
            f"build {label} PDF: {rate:8.1f} documents/s "
            f"({baseline / rate:.1f}x the time of base64-encoding the PDF alone); "
            f"peak memory {rss / size:.2f} x PDF size (RSS), {heap / size:.2f} x (Python heap)"
        )

    if not args.kit.is_dir():
        print(f"kit not found at {args.kit}: skipping XSD and schematron figures")
        return
    xml = build_document(make_document())
    parse_rate = _rate(lambda: parse_xml(xml))
    with tempfile.TemporaryDirectory() as cache:
        validator = Validator(CdaSettings(kit=args.kit, cache_dir=Path(cache)))
        validator.validate(xml, layers=("xsd",))
        xsd_rate = _rate(lambda: validator.validate(xml, layers=("xsd",)))
        print(
            f"XSD validation: {xsd_rate:8.1f} docs/s "
            f"({parse_rate / xsd_rate:.1f}x the time of parsing alone, {parse_rate:.0f} parses/s)"
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
            f"disk cache warm, XSLT reloaded (as in a new process): {disk:6.2f} s "
            f"(ratio first/disk-cached {cold / disk:.1f}x); warm call: {warm:6.3f} s "
            f"(ratio first/warm {cold / warm:,.0f}x)"
        )
        sch_rate = _rate(lambda: validator.validate(xml, layers=("schematron",)))
        print(
            f"schematron validation (StrucMin + ModelesDeContenusCDA), warm: {sch_rate:8.1f} "
            f"docs/s ({xsd_rate / sch_rate:,.0f}x the time of XSD validation)"
        )
        all_rate = _rate(lambda: validator.validate(xml))
        print(f"all three layers, warm: {all_rate:8.1f} docs/s")


if __name__ == "__main__":
    main()
