"""CDA build and validation throughput (prints figures and ratios; never asserts timings).

Run: ``python benchmarks/cda.py [--kit ../shared/cisis-kit]``.

Baselines, run in the same process: base64-encoding the PDF alone (the irreducible cost
of a level-1 build) and parsing the CDA alone (the floor under any validation). Peak
memory is the growth of the peak RSS of a fresh child process while it builds one
document (it includes libxml2's buffers, which ``tracemalloc`` does not see), relative
to the PDF size; the Python-heap peak from ``tracemalloc`` is shown next to it.

Schematron layer (StrucMin + ModelesDeContenusCDA, what every level-1 document gets):
today's path (the kit's ISO pipeline, called as ``Validator.validate`` did before the
segurlink engine: see :func:`validate_like_today`) against the segurlink engine, each in
fresh child processes: cold (empty cache: compile, load, first verdict), new process with
the cache warm (load, first verdict), and warm (median per level-1 document, all three
layers). Wall and CPU time (all threads of the child) and peak RSS (VmHWM), with the
ratios now/today. The machine is shared: the load average is printed, and CPU times are
the steadier figure when it is high.
"""

from __future__ import annotations

import argparse
import base64
import json
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

from lxml import etree  # noqa: E402

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
    parser.add_argument(
        "--repeat", type=int, default=25, help="warm rounds over the level-1 documents"
    )
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
    _schematron_figures(args.kit, args.repeat)


# -- schematron: today's path (the kit's ISO pipeline) against the segurlink engine ----------

#: Each figure comes from a fresh child process, so it includes what a CLI call or a
#: CI job pays: imports, Saxon start, compile or cache load, the first validation.
_SCHEMATRON_CHILD = """
import json, os, statistics, sys, time
wall0, cpu0 = time.perf_counter(), time.process_time()
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[1] + "/src")
from pathlib import Path
from benchmarks.cda import validate_like_today, level1_documents
from segurlink.cda import CdaSettings, Validator
mode, engine, kit, cache = sys.argv[2:6]
documents = level1_documents()
if engine == "iso":
    def check(xml):
        return validate_like_today(Path(kit), Path(cache), xml)
else:
    validator = Validator(CdaSettings(kit=Path(kit), cache_dir=Path(cache)))
    def check(xml):
        return validator.validate(xml)
def peak():
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) * 1024 for l in fh if l.startswith("VmHWM:"))
result = {}
if mode == "first":
    check(documents[0])
    result = {"wall": time.perf_counter() - wall0, "cpu": time.process_time() - cpu0}
else:
    for xml in documents:
        check(xml)
    walls, cpus = [], []
    for _ in range(int(sys.argv[6])):
        for xml in documents:
            w, c = time.perf_counter(), time.process_time()
            check(xml)
            walls.append(time.perf_counter() - w)
            cpus.append(time.process_time() - c)
    result = {"wall": statistics.median(walls), "cpu": statistics.median(cpus)}
result["rss"] = peak()
print(json.dumps(result))
"""


def level1_documents() -> list[bytes]:
    """Level-1 documents as a DUI produces them: professional or software author,
    qualified or provisional identity, several types."""
    from tests.cda.factory import provisional_patient

    return [
        build_document(make_document()),
        build_document(make_document("LETTRE_LIAISON_SORTIE_ESMS", software_author=True)),
        build_document(make_document(patient=provisional_patient())),
        build_document(make_document("DLU")),
    ]


def validate_like_today(kit: Path, cache: Path, xml: bytes) -> list[object]:
    """All three layers as ``Validator.validate`` did before the segurlink engine: the
    ISO pipeline's XSLT, the cache key recomputed and the document re-parsed by Saxon
    for each schematron, for each document."""
    from segurlink.cda._schematron import Kit, compile_schematron
    from segurlink.cda.validate import _schema, _xsd_issues, check_header

    found = Kit(kit)
    root = parse_xml(xml)
    issues: list[object] = [*check_header(root), *_xsd_issues(_schema(found.xsd), root)]
    template_ids = tuple(t.get("root", "") for t in root.findall("{urn:hl7-org:v3}templateId"))
    text = etree.tostring(root, encoding="unicode")
    for path in found.schematrons_for(template_ids):
        xslt = compile_schematron(found, path, cache, "iso")
        compiled = CompiledSchematron._cache.get(xslt)
        if compiled is None:
            compiled = CompiledSchematron._cache[xslt] = CompiledSchematron(path.name, xslt)
        issues.extend(compiled.run(text))
    return issues


def _child(mode: str, engine: str, kit: Path, cache: Path, repeat: int = 0) -> dict[str, float]:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            _SCHEMATRON_CHILD,
            str(ROOT),
            mode,
            engine,
            str(kit),
            str(cache),
            str(repeat),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _schematron_figures(kit: Path, repeat: int) -> None:
    load = os.getloadavg()[0]
    print(
        f"schematron layer, StrucMin + ModelesDeContenusCDA on level-1 documents "
        f"(load average {load:.1f} on {os.cpu_count()} cores: wall times stretch with it, "
        "CPU times much less)"
    )
    figures: dict[str, dict[str, dict[str, float]]] = {}
    for engine in ("iso", "segurlink"):
        with tempfile.TemporaryDirectory() as cache:
            figures[engine] = {
                "cold": _child("first", engine, kit, Path(cache)),
                "new process": _child("first", engine, kit, Path(cache)),
                "warm": _child("warm", engine, kit, Path(cache), repeat),
            }
    today, now = figures["iso"], figures["segurlink"]
    for what, unit, scale in (("cold", "s", 1), ("new process", "s", 1), ("warm", "ms", 1000)):
        before, after = today[what], now[what]
        label = {
            "cold": "first compile (no cache), to the first verdict",
            "new process": "new process, cache warm, to the first verdict",
            "warm": "warm, per level-1 document, all three layers (median)",
        }[what]
        b_wall, b_cpu = before["wall"] * scale, before["cpu"] * scale
        a_wall, a_cpu = after["wall"] * scale, after["cpu"] * scale
        print(
            f"  {label}:\n"
            f"    today {b_wall:8.2f} {unit} wall {b_cpu:8.2f} {unit} CPU"
            f" | now {a_wall:8.2f} {unit} wall {a_cpu:8.2f} {unit} CPU"
            f" | ratio now/today: wall {a_wall / b_wall:.3f}, CPU {a_cpu / b_cpu:.3f}"
        )
        print(
            f"    peak memory (RSS) today {before['rss'] / 2**20:6.0f} MB, now "
            f"{after['rss'] / 2**20:6.0f} MB: ratio {after['rss'] / before['rss']:.3f}"
        )


if __name__ == "__main__":
    main()
