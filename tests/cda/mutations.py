"""Mutated CDA documents that each break a rule of the kit's schematrons.

The corpus holds the ``segurlink`` schematron engine to the kit's ISO pipeline: every
mutant must get the same findings from both (tests/cda/test_schematron.py).

Bases: documents built by :mod:`tests.cda.factory` (level 1) and the kit's official
examples (structured bodies: the model schematrons). Mutation operators, applied to one
element at a time: remove it, duplicate it, give it a nullFlavor, add an unknown child,
blank its text, and for each attribute: remove it, set it to ``X``, set it to ``""``.

``data/schematron_mutations.json`` is the corpus: the mutants that made the schematrons
report a finding no earlier mutant had (a rule of their own). Regenerate it with
``python -m tests.cda.mutations [--kit ../shared/cisis-kit]``, then ``--bodies`` (mutants
of the structured examples' bodies, added to it): it runs the fast engine
on every candidate, then the ISO pipeline on every kept mutant and on one other
candidate in ten, and stops on the first disagreement.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from lxml import etree

HL7 = "urn:hl7-org:v3"
CORPUS = Path(__file__).resolve().parent / "data" / "schematron_mutations.json"
OPERATORS = ("remove", "duplicate", "null", "child", "blank")
ATTRIBUTE_OPERATORS = ("drop", "bogus", "empty")
#: Elements of a structured example mutated at most (its header first, then its body).
PER_EXAMPLE = 25
#: Body elements of a structured example mutated in the ``--bodies`` pass.
BODY_ELEMENTS = 40


@dataclass(frozen=True)
class Mutation:
    base: str
    path: str
    op: str
    attribute: str = ""
    #: What the ISO pipeline reported for it that no earlier mutant had.
    target: str = ""


def base_documents(kit: Path) -> dict[str, bytes]:
    """Level-1 documents from the test factory, and the kit's examples."""
    from segurlink.cda import build_document
    from tests.cda.factory import make_document

    bases = {
        "factory:qualified": build_document(make_document()),
        "factory:software-author": build_document(make_document(software_author=True)),
    }
    for path in sorted((kit / "ExemplesCDA").glob("*.xml")):
        bases[f"example:{path.name}"] = path.read_bytes()
    return bases


def _parse(data: bytes) -> etree._ElementTree:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)
    return etree.ElementTree(etree.fromstring(data, parser))


def _elements(tree: etree._ElementTree, base: str, bodies: bool) -> list[etree._Element]:
    root = tree.getroot()
    found = [e for e in root.iter() if isinstance(e.tag, str)]
    if bodies:
        # Entries and sections of structured bodies (the model schematrons' ground).
        body = root.find(f"{{{HL7}}}component/{{{HL7}}}structuredBody")
        inside = [e for e in found if body is not None and _inside(e, body)]
        return inside[:: max(len(inside) // BODY_ELEMENTS, 1)][:BODY_ELEMENTS]
    if base.startswith("factory:") or len(found) <= PER_EXAMPLE:
        return found
    body = root.find(f"{{{HL7}}}component")
    header = [e for e in found if body is None or not _inside(e, body)]
    rest = [e for e in found if body is not None and _inside(e, body)]
    room = max(PER_EXAMPLE - len(header), 0)
    stride = max(len(rest) // room, 1) if room else len(rest) + 1
    return header[:PER_EXAMPLE] + rest[::stride][:room]


def _inside(node: etree._Element, ancestor: etree._Element) -> bool:
    while node is not None:
        if node is ancestor:
            return True
        node = node.getparent()  # type: ignore[assignment]
    return False


def _path(element: etree._Element) -> str:
    """``/*[i]/*[j]…``: positions among element children, whatever the namespaces."""
    steps = []
    while element.getparent() is not None:
        parent = element.getparent()
        siblings = [c for c in parent if isinstance(c.tag, str)]
        steps.append(f"*[{siblings.index(element) + 1}]")
        element = parent  # type: ignore[assignment]
    return "/" + "/".join(["*", *reversed(steps)])


def candidates(base: str, data: bytes, *, bodies: bool = False) -> Iterator[Mutation]:
    tree = _parse(data)
    for element in _elements(tree, base, bodies):
        path = _path(element)
        is_root = element.getparent() is None
        for op in OPERATORS:
            if is_root and op in ("remove", "duplicate"):
                continue
            if op == "blank" and not (element.text or "").strip():
                continue
            if element.tag == f"{{{HL7}}}text" and op != "remove":
                continue  # the PDF payload: nothing checks its bytes
            yield Mutation(base, path, op)
        for attribute in sorted(element.attrib):
            for op in ATTRIBUTE_OPERATORS:
                yield Mutation(base, path, op, attribute)  # type: ignore[arg-type]


def apply(data: bytes, mutation: Mutation) -> str:
    """The mutant, serialised (no XML declaration: what Saxon is given)."""
    tree = _parse(data)
    found = tree.xpath(mutation.path)
    if not found:
        raise LookupError(f"{mutation.path} not in {mutation.base}")
    element = found[0]
    op = mutation.op
    if op == "remove":
        element.getparent().remove(element)  # type: ignore[arg-type]
    elif op == "duplicate":
        element.addnext(copy.deepcopy(element))  # type: ignore[arg-type]
    elif op == "null":
        element.set("nullFlavor", "UNK")
    elif op == "child":
        etree.SubElement(element, f"{{{HL7}}}segurlinkUnknown")  # type: ignore[arg-type]
    elif op == "blank":
        element.text = ""
    elif op == "drop":
        del element.attrib[mutation.attribute]
    elif op == "bogus":
        element.set(mutation.attribute, "X")
    elif op == "empty":
        element.set(mutation.attribute, "")
    else:
        raise ValueError(op)
    return etree.tostring(tree.getroot(), encoding="unicode")


# -- running both engines ---------------------------------------------------------------------

Finding = tuple[str, str, str, str, str]


class Engines:
    """The ISO pipeline and the segurlink engine on one kit, compiled once."""

    def __init__(self, kit: Path, cache: Path) -> None:
        from segurlink.cda._schematron import Kit

        self.kit = Kit(kit)
        self.cache = cache

    def schematrons(self, data: bytes) -> list[Path]:
        # The document's own templateIds (header level), as the validator chooses.
        root = _parse(data).getroot()
        header = tuple(t.get("root", "") for t in root.findall(f"{{{HL7}}}templateId"))
        return self.kit.schematrons_for(header)

    def findings(self, engine: str, paths: list[Path], text: str) -> list[Finding]:
        from segurlink.cda._schematron import CompiledSchematron, prepare

        prepared = prepare(text)
        found: list[Finding] = []
        for path in paths:
            compiled = CompiledSchematron.load(self.kit, path, self.cache, engine)  # type: ignore[arg-type]
            found.extend(
                (path.name, f.severity, f.rule, f.location, f.message)
                for f in compiled.run(prepared)
            )
        return found


def rule_of(finding: Finding) -> str:
    """A finding's rule: schematron, pattern and message without the values it quotes."""
    _, severity, rule, _, message = finding
    message = re.sub(r'"[^"]*"', '"…"', message)
    message = re.sub(r"\d+", "N", message)
    return f"{rule} [{severity}] {message[:160]}"


def _select(
    engines: Engines,
    bases: dict[str, bytes],
    log: Callable[[str], None],
    *,
    bodies: bool = False,
    covered: set[str] | None = None,
) -> tuple[list[Mutation], list[Mutation]]:
    """Keep each candidate that brings a rule no earlier one broke (found with the fast
    engine); check one other candidate in ``SAMPLE`` against the ISO pipeline.
    Returns the kept mutants and the sampled ones the engines disagree on."""
    chosen: list[Mutation] = []
    disagreements: list[Mutation] = []
    covered = set() if covered is None else covered
    sampled = 0
    for base, data in bases.items():
        paths = engines.schematrons(data)
        text = data.decode("utf-8")
        original = {rule_of(f) for f in engines.findings("segurlink", paths, text)}
        for index, mutation in enumerate(candidates(base, data, bodies=bodies)):
            text = apply(data, mutation)
            new = engines.findings("segurlink", paths, text)
            fresh = sorted({rule_of(f) for f in new} - original - covered)
            if fresh:
                covered.update(fresh)
                chosen.append(Mutation(**{**asdict(mutation), "target": fresh[0]}))
            elif index % SAMPLE == 0:
                sampled += 1
                if engines.findings("iso", paths, text) != new:
                    disagreements.append(mutation)
        log(
            f"{base}: {len(chosen)} kept so far, {len(covered)} rules, {sampled} others "
            f"checked against the ISO pipeline, {len(disagreements)} disagreements"
        )
    return chosen, disagreements


#: One candidate in SAMPLE that brings no new rule is also checked against the ISO pipeline.
SAMPLE = 10


def _verify(
    engines: Engines, bases: dict[str, bytes], chosen: list[Mutation], log: Callable[[str], None]
) -> list[Mutation]:
    """The kept mutants on which the ISO pipeline does not say what the fast engine says."""
    disagreements = []
    for number, mutation in enumerate(chosen, start=1):
        data = bases[mutation.base]
        paths = engines.schematrons(data)
        text = apply(data, mutation)
        if engines.findings("iso", paths, text) != engines.findings("segurlink", paths, text):
            disagreements.append(mutation)
        if number % 50 == 0:
            log(f"  {number}/{len(chosen)} kept mutants checked, {len(disagreements)} disagree")
    return disagreements


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    root = Path(__file__).resolve().parents[2]
    parser.add_argument("--kit", type=Path, default=root.parent / "shared" / "cisis-kit")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/segurlink-mutations-cache"))
    parser.add_argument(
        "--bodies",
        action="store_true",
        help="add mutants of the structured examples' bodies to the existing corpus",
    )
    args = parser.parse_args()
    start = time.perf_counter()
    engines = Engines(args.kit, args.cache)
    bases = base_documents(args.kit)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    existing = load_corpus() if args.bodies else []
    if args.bodies:
        bases = {k: v for k, v in bases.items() if b"structuredBody" in v}
    chosen, sampled_disagreements = _select(
        engines, bases, log, bodies=args.bodies, covered={m.target for m in existing}
    )
    chosen = existing + chosen
    CORPUS.parent.mkdir(exist_ok=True)
    CORPUS.write_text(
        json.dumps([asdict(m) for m in chosen], indent=1, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    log(f"{len(chosen)} mutants in {time.perf_counter() - start:.0f} s → {CORPUS}")
    fresh = chosen[len(existing) :]
    disagreements = sampled_disagreements + _verify(engines, bases, fresh, log)
    for mutation in disagreements:
        log(f"DISAGREEMENT {mutation}")
    log(f"done in {time.perf_counter() - start:.0f} s: {len(disagreements)} disagreements")
    if disagreements:
        raise SystemExit(1)


def load_corpus() -> list[Mutation]:
    return [Mutation(**m) for m in json.loads(CORPUS.read_text(encoding="utf-8"))]


if __name__ == "__main__":
    main()
