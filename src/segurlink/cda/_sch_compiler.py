"""Schematron → XSLT, the same verdicts as the kit's ISO pipeline in a fraction of the size.

The kit's ``iso_svrl_for_xslt2.xsl`` turns StrucMin into a 10 MB stylesheet: every
``<extends rule="…"/>`` copies the abstract rule's asserts into the rule using it (12,925
asserts for 391 distinct tests), every pattern walks the document twice, and every
assert carries a full SVRL skeleton. Saxon-HE spends seconds compiling that and tens of
milliseconds running it on a 4 KB document.

This module mirrors what that skeleton generates, construct by construct, and writes it
smaller (the findings are the same: same failed asserts and reports, same ``role``,
``id``, ``location`` and message text, in the same order):

- an abstract rule becomes one named template, called where the ISO output inlines it —
  unless a variable crosses between the rule and the abstract rule, then it is inlined;
- each pattern walks the document once, and not at all when none of its rules can match
  an element the document has (the last step of every context names an element type);
- a context ``P/*[predicates]`` becomes ``(P/*) intersect (*[predicates])``: the same
  nodes, but Saxon tests the cheap parent path before the predicates;
- ``doc('…')`` value sets become global parameters, parsed once per process by the
  caller instead of once per document (their default is the same ``doc()`` call);
- no ``fired-rule`` elements, no per-pattern ``svrl:text``, no timestamps.

Anything outside the constructs the kit uses (diagnostics, properties, ``subject``,
fragment includes, ``@documents``…) raises :class:`Unsupported`; the caller then falls
back to the ISO pipeline.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from .._xml import hardened_parser

__all__ = [
    "CompiledXslt",
    "Unsupported",
    "compile_expanded",
    "resolve_includes",
]

SCH = "http://purl.oclc.org/dsdl/schematron"
XSL = "http://www.w3.org/1999/XSL/Transform"
SVRL = "http://purl.oclc.org/dsdl/svrl"
#: Our own names in the generated stylesheet (parameters, templates, variables).
SEG = "urn:segurlink:schematron"
XML_NS = "http://www.w3.org/XML/1998/namespace"

#: Namespaces the ISO skeleton declares on the stylesheet it generates; XPath in the
#: schematron may use these prefixes without an ``<ns>`` for them.
_SKELETON_NAMESPACES = {
    "xsl": XSL,
    "xs": "http://www.w3.org/2001/XMLSchema",
    "xsd": "http://www.w3.org/2001/XMLSchema",
    "saxon": "http://saxon.sf.net/",
    "iso": SCH,
    "schold": "http://www.ascc.net/xml/schematron",
    "xhtml": "http://www.w3.org/1999/xhtml",
}
_RULE_CHILDREN = {"let", "assert", "report", "extends", "title", "p"}
_TEXT_INLINE = {"emph", "dir", "span"}
_VARIABLE = re.compile(r"\$\s*((?:[^\W\d][\w.\-]*:)?[^\W\d][\w.\-]*)")
_NAME_TEST = re.compile(r"^(?:child::)?(?:([^\W\d][\w.\-]*):)?([^\W\d][\w.\-]*)$")


class Unsupported(Exception):
    """The schematron uses a construct this compiler does not mirror."""


def _sch(name: str) -> str:
    return f"{{{SCH}}}{name}"


def _xsl(name: str) -> str:
    return f"{{{XSL}}}{name}"


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


# -- step 1: includes (what iso_dsdl_include.xsl does for the kit's plain-file includes) ----


def _parse(path: Path) -> etree._Element:
    try:
        return etree.parse(str(path), hardened_parser(remove_comments=True)).getroot()
    except (OSError, etree.XMLSyntaxError) as exc:
        raise Unsupported(f"cannot read {path}: {exc}") from exc


def resolve_includes(sch: Path) -> etree._Element:
    """The schematron with every ``<include href="file"/>`` replaced by that file's root
    element, recursively (relative to the including file), as ``iso_dsdl_include.xsl``."""
    root = _parse(sch)
    _expand_includes(root, sch, depth=0)
    return root


def _expand_includes(node: etree._Element, base: Path, depth: int) -> None:
    if depth > 50:
        raise Unsupported("includes nested more than 50 deep")
    for include in list(
        node.iter(
            _sch("include"),
            "{http://www.ascc.net/xml/schematron}include",
            "{http://www.w3.org/2001/XInclude}include",
        )
    ):
        if include.tag != _sch("include"):
            raise Unsupported(f"unsupported include {include.tag}")
        href = include.get("href", "")
        if not href.strip() or "#" in href:
            raise Unsupported(f"include href {href!r}")
        target = (base.parent / href).resolve()
        if not target.is_file():
            raise Unsupported(f"included file missing: {target}")
        included = _parse(target)
        parent = include.getparent()
        if parent is None:
            raise Unsupported("include at the root")
        tail = include.tail
        if etree.QName(included).namespace == SCH and _local(included) != "schema":
            _expand_includes(included, target, depth + 1)
            included.tail = tail
            parent.replace(include, included)
        else:
            # The ISO step includes nothing then (and says so in a message).
            _drop(include)


def _drop(node: etree._Element) -> None:
    parent = node.getparent()
    assert parent is not None
    if node.tail:
        previous = node.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + node.tail
        else:
            parent.text = (parent.text or "") + node.tail
    parent.remove(node)


# -- XPath text helpers (quotes and brackets aware, no full parser) --------------------------


_LITERAL = r"'[^']*'|\"[^\"]*\""
_SPLITTERS: dict[tuple[str, ...], re.Pattern[str]] = {}


def _top_level_split(expr: str, separators: tuple[str, ...]) -> list[tuple[str, str]]:
    """Split ``expr`` at top level (outside literals, brackets, parentheses) on any of
    ``separators``; returns ``(separator_before, part)`` pairs."""
    splitter = _SPLITTERS.get(separators)
    if splitter is None:
        alternatives = "|".join(re.escape(s) for s in sorted(separators, key=len, reverse=True))
        splitter = _SPLITTERS[separators] = re.compile(
            rf"(?P<lit>{_LITERAL})|(?P<open>[\[(])|(?P<close>[\])])|(?P<quote>['\"])"
            rf"|(?P<sep>{alternatives})"
        )
    parts: list[tuple[str, str]] = []
    depth, start, sep_before = 0, 0, ""
    for token in splitter.finditer(expr):
        kind = token.lastgroup
        if kind == "open":
            depth += 1
        elif kind == "close":
            depth -= 1
        elif kind == "quote":
            raise Unsupported(f"unbalanced XPath: {expr[:80]}")
        elif kind == "sep" and depth == 0:
            parts.append((sep_before, expr[start : token.start()]))
            sep_before, start = token.group(), token.end()
    if depth:
        raise Unsupported(f"unbalanced XPath: {expr[:80]}")
    parts.append((sep_before, expr[start:]))
    return parts


def _strip_predicates(step: str) -> tuple[str, str]:
    """``name[p1][p2]`` → (``name``, ``[p1][p2]``); raises when the step is not that shape."""
    index = step.find("[")
    if index < 0:
        return step.strip(), ""
    head, tail = step[:index], step[index:]
    depth, quote = 0, ""
    for ch in tail:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif depth == 0 and not ch.isspace():
            raise Unsupported(f"unexpected step {step!r}")
    if depth or quote:
        raise Unsupported(f"unexpected step {step!r}")
    return head.strip(), tail


def _outside_literals(expr: str) -> Iterator[tuple[int, int]]:
    """Spans of ``expr`` outside string literals."""
    start = 0
    for literal in _LITERAL_RE.finditer(expr):
        yield start, literal.start()
        start = literal.end()
    yield start, len(expr)


_LITERAL_RE = re.compile(_LITERAL)


def variables_in(expr: str) -> set[str]:
    """Names referenced as ``$name`` outside string literals (over-approximates: XPath's own
    ``for``/``some``/``every`` variables are included)."""
    if "$" not in expr:
        return set()
    return set(_VARIABLE.findall(_LITERAL_RE.sub("''", expr)))


# -- step 3: the stylesheet ------------------------------------------------------------------


@dataclass
class CompiledXslt:
    """The generated stylesheet and what the caller needs to run it fast."""

    xslt: bytes
    #: Parameter local name (in :data:`SEG`) → the ``doc()``/``document()`` call it stands
    #: for, as written.
    documents: dict[str, str] = field(default_factory=dict)
    #: How many asserts and reports the stylesheet carries (inlined copies included).
    checks: int = 0


@dataclass(frozen=True)
class _Occurrence:
    """The variables one rule body reads and defines, reached from a template's rule
    through ``chain`` (the ``extends`` elements followed, outermost first)."""

    chain: tuple[int, ...]
    defined: frozenset[str]
    referenced: frozenset[str]


class _Generator:
    def __init__(self, schema: etree._Element, base_uri: str) -> None:
        if schema.tag != _sch("schema"):
            raise Unsupported(f"root is {schema.tag}, not an ISO schematron schema")
        if schema.get("queryBinding") not in ("xslt2", "xpath2"):
            raise Unsupported(f"queryBinding {schema.get('queryBinding')!r}")
        self.schema = schema
        self.base_uri = base_uri
        self.namespaces = dict(_SKELETON_NAMESPACES)
        for ns in schema.findall(_sch("ns")):
            prefix, uri = ns.get("prefix", ""), ns.get("uri", "")
            if not prefix or not uri:
                raise Unsupported("ns without prefix or uri")
            if prefix == "xml":
                continue
            if self.namespaces.get(prefix, uri) != uri:
                raise Unsupported(f"prefix {prefix} bound twice")
            self.namespaces[prefix] = uri
        self.documents: dict[str, str] = {}
        self.abstract_templates: dict[int, str] = {}
        self.pending_abstract: list[tuple[str, etree._Element]] = []
        self.checks = 0
        self.shared_checks: dict[bytes, list[tuple[etree._Element, etree._Element]]] = {}
        self._occurrences: dict[int, list[_Occurrence]] = {}
        self._rules_by_id: dict[str, list[etree._Element]] | None = None
        self.literal_lets: dict[str, str] = {}

    # -- phases and patterns ----------------------------------------------------------------

    def active_patterns(self) -> list[tuple[int, etree._Element]]:
        """(mode number, pattern) of the patterns the default phase runs, in order."""
        phase = self.schema.get("defaultPhase") or "#ALL"
        active: set[str] | None = None
        if phase != "#ALL":
            active = {
                a.get("pattern", "")
                for p in self.schema.findall(_sch("phase"))
                if p.get("id") == phase
                for a in p.findall(_sch("active"))
            }
        found = []
        for number, child in enumerate(c for c in self.schema if isinstance(c.tag, str)):
            if child.tag != _sch("pattern"):
                # ns, let, title, p, phase are read elsewhere or are documentation.
                if _local(child) in ("diagnostics", "properties") or (
                    etree.QName(child).namespace == XSL
                ):
                    raise Unsupported(f"top-level {child.tag}")
                continue
            if child.get("abstract") == "true":
                continue
            if child.get("documents") or child.get("is-a"):
                raise Unsupported("pattern with @documents or unexpanded @is-a")
            if active is not None and child.get("id") not in active:
                continue
            found.append((number, child))
        return found

    def build(self) -> CompiledXslt:
        nsmap = dict(self.namespaces)
        nsmap["svrl"] = SVRL
        nsmap["seg"] = SEG
        sheet = etree.Element(_xsl("stylesheet"), nsmap=nsmap)
        sheet.set(f"{{{XML_NS}}}base", self.base_uri)
        sheet.set("version", "2.0")
        sheet.set("exclude-result-prefixes", "#all")
        params_anchor = len(sheet)
        for skeleton_param in (
            "archiveDirParameter",
            "archiveNameParameter",
            "fileNameParameter",
            "fileDirParameter",
        ):
            etree.SubElement(sheet, _xsl("param"), name=skeleton_param)
        document_uri = etree.SubElement(sheet, _xsl("variable"), name="document-uri")
        etree.SubElement(document_uri, _xsl("value-of"), select="document-uri(/)")
        etree.SubElement(sheet, _xsl("output"), method="xml", indent="no")
        for let in self.schema.findall(_sch("let")):
            if let.get("value") is not None:
                param = etree.SubElement(sheet, _xsl("param"), name=let.get("name", ""))
                if let.get("value"):
                    param.set("select", self._xpath(let.get("value", "")))
            else:
                self._let_with_content(sheet, let)
        _location_templates(sheet)

        patterns = self.active_patterns()
        self.literal_lets = _literal_lets(self.schema, [p for _, p in patterns])
        root_template = etree.SubElement(sheet, _xsl("template"), match="/")
        report = etree.SubElement(root_template, f"{{{SVRL}}}schematron-output")
        guarded = False
        for number, pattern in patterns:
            marker = etree.SubElement(report, f"{{{SVRL}}}active-pattern")
            if pattern.get("id"):
                marker.set("id", pattern.get("id", ""))
            rules = [r for r in pattern.findall(_sch("rule")) if r.get("abstract") != "true"]
            if not rules:
                continue  # nothing can fire: the ISO output walks the document for nothing
            walk = etree.SubElement(report, _xsl("apply-templates"), select="/", mode=f"M{number}")
            witnesses = _witnesses(rules, self.namespaces)
            if witnesses is not None:
                guarded = True
                literals = ", ".join(_string_literal(w) for w in sorted(witnesses))
                guard = etree.Element(_xsl("if"), test=f"exists(key('seg:present', ({literals})))")
                walk.addprevious(guard)
                guard.append(walk)
        if guarded:
            # The element types and templateIds of the document, indexed once: a pattern
            # none of whose rules can match them cannot fire, so it is not walked.
            key = etree.Element(_xsl("key"), name="seg:present", match="*")
            key.set(
                "use",
                "(concat('{', namespace-uri(), '}', local-name()), "
                "if (local-name() = 'templateId') "
                "then concat('tid:{', namespace-uri(), '}', @root) else ())",
            )
            root_template.addprevious(key)

        for number, pattern in patterns:
            self._pattern(sheet, number, pattern)
        while self.pending_abstract:
            template_name, abstract = self.pending_abstract.pop(0)
            template = etree.SubElement(sheet, _xsl("template"), name=template_name)
            self._body(template, abstract, container=abstract)
        for number, uses in enumerate(self.shared_checks.values(), start=1):
            if len(uses) == 1:
                placeholder, block = uses[0]
                placeholder.getparent().replace(placeholder, block)  # type: ignore[union-attr]
                continue
            template = etree.SubElement(sheet, _xsl("template"), name=f"seg:check-{number}")
            template.append(uses[0][1])
            for placeholder, _ in uses:
                call = etree.Element(_xsl("call-template"), name=f"seg:check-{number}")
                placeholder.getparent().replace(placeholder, call)  # type: ignore[union-attr]
        for index, (param_name, doc_call) in enumerate(self.documents.items()):
            param = etree.Element(_xsl("param"), name=f"seg:{param_name}")
            param.set("select", doc_call)
            sheet.insert(params_anchor + index, param)
        etree.cleanup_namespaces(sheet, keep_ns_prefixes=list(nsmap))
        data = etree.tostring(sheet, xml_declaration=True, encoding="UTF-8")
        return CompiledXslt(data, dict(self.documents), self.checks)

    def _pattern(self, sheet: etree._Element, number: int, pattern: etree._Element) -> None:
        mode = f"M{number}"
        for let in pattern.findall(_sch("let")):
            # Pattern lets are global variables in the ISO output.
            self._let(sheet, let)
        rules = [r for r in pattern if isinstance(r.tag, str)]
        for child in rules:
            if child.tag != _sch("rule"):
                if (
                    _local(child) in ("let", "title", "p", "param")
                    and etree.QName(child).namespace == SCH
                ):
                    continue
                raise Unsupported(f"{child.tag} in a pattern")
        for index, rule in enumerate(rules):
            if rule.tag != _sch("rule") or rule.get("abstract") == "true":
                continue
            context = rule.get("context")
            if not context:
                raise Unsupported("rule without context")
            if rule.get("subject") or rule.get("properties"):
                raise Unsupported("rule with subject or properties")
            # ISO: priority 1000 + number of following sibling elements.
            priority = 1000 + (len(rules) - index - 1)
            template = etree.SubElement(
                sheet,
                _xsl("template"),
                match=_fast_match(self._xpath(context)),
                priority=str(priority),
                mode=mode,
            )
            witnesses = _witnesses([rule], self.namespaces)
            if witnesses is not None:
                # What a document needs for this rule to fire: without it, the rule can
                # be left out of the stylesheet (see CompiledSchematron).
                template.set(f"{{{SEG}}}needs", " ".join(sorted(witnesses)))
            self._body(template, rule, container=rule)
            etree.SubElement(template, _xsl("apply-templates"), select="*", mode=mode)
        if any(r.tag == _sch("rule") and r.get("abstract") != "true" for r in rules):
            etree.SubElement(sheet, _xsl("template"), match="text()", priority="-1", mode=mode)
            default = etree.SubElement(
                sheet, _xsl("template"), match="@*|node()", priority="-2", mode=mode
            )
            etree.SubElement(default, _xsl("apply-templates"), select="*", mode=mode)

    # -- rule bodies ------------------------------------------------------------------------

    def _body(
        self,
        out: etree._Element,
        rule: etree._Element,
        *,
        container: etree._Element,
        chain: tuple[int, ...] = (),
    ) -> None:
        """The children of ``rule`` (concrete or abstract) in order, into ``out``;
        ``container`` is the rule whose template ``out`` is, ``chain`` the extends that
        led from it to ``rule`` (for the variable analysis)."""
        for child in rule:
            if not isinstance(child.tag, str):
                continue
            if etree.QName(child).namespace != SCH or _local(child) not in _RULE_CHILDREN:
                raise Unsupported(f"{child.tag} in a rule")
            kind = _local(child)
            if kind == "let":
                self._let(out, child)
            elif kind == "assert":
                self._check(out, child, report=False, container=container)
            elif kind == "report":
                self._check(out, child, report=True, container=container)
            elif kind == "extends":
                self._extends(out, child, container, chain)
            # title and p: the ISO output has them as svrl:text the reader ignores.

    def _let(self, out: etree._Element, let: etree._Element) -> None:
        if let.get("value") is not None:
            etree.SubElement(
                out,
                _xsl("variable"),
                name=let.get("name", ""),
                select=self._xpath(let.get("value", "")),
            )
        else:
            self._let_with_content(out, let)

    def _let_with_content(self, out: etree._Element, let: etree._Element) -> None:
        variable = etree.SubElement(out, _xsl("variable"), name=let.get("name", ""))
        variable.text = let.text
        for child in let:
            variable.append(_copy(child))

    def _check(
        self,
        out: etree._Element,
        check: etree._Element,
        *,
        report: bool,
        container: etree._Element,
    ) -> None:
        for attribute in ("diagnostics", "properties", "subject"):
            if check.get(attribute):
                raise Unsupported(f"assert/report with @{attribute}")
        test = check.get("test")
        if test is None:
            raise Unsupported("assert without test")
        self.checks += 1
        plain = not report and not any(
            check.get(a) for a in ("id", "flag", f"{{{XML_NS}}}space", f"{{{XML_NS}}}lang")
        )
        if plain:
            # The failed-assert itself is built by one template (less for Saxon to compile).
            finding = etree.Element(_xsl("call-template"), name="seg:fail")
            etree.SubElement(
                finding,
                _xsl("with-param"),
                name="role",
                select=_string_literal(check.get("role", "")),
            )
            self._message(etree.SubElement(finding, _xsl("with-param"), name="text"), check)
        else:
            finding = self._finding(check, report=report)
        if report:
            block = etree.Element(_xsl("if"), test=self._xpath(test))
            block.append(finding)
        else:
            block = etree.Element(_xsl("choose"))
            etree.SubElement(block, _xsl("when"), test=self._xpath(test))
            otherwise = etree.SubElement(block, _xsl("otherwise"))
            otherwise.append(finding)
        referenced = variables_in(test)
        for node in check.iter(_sch("value-of"), _sch("name")):
            referenced |= variables_in(node.get("select") or node.get("path") or "")
        if referenced & self._defined_in(container):
            out.append(block)  # reads a local variable: stays in its template
            return
        # The same check in many rules (StrucMin: 2,048 checks, 875 distinct) is compiled
        # once, as a named template, when it reads no local variable.
        placeholder = etree.SubElement(out, f"{{{SEG}}}check")
        self.shared_checks.setdefault(etree.tostring(block), []).append((placeholder, block))

    def _finding(self, check: etree._Element, *, report: bool) -> etree._Element:
        """``svrl:failed-assert`` / ``svrl:successful-report`` as the ISO skeleton writes it."""
        finding = etree.Element(f"{{{SVRL}}}{'successful-report' if report else 'failed-assert'}")
        if report:
            finding.set("test", " ".join(check.get("test", "").split()))
        if check.get("id"):
            finding.set("id", check.get("id", ""))
        if check.get("flag"):
            finding.set("flag", check.get("flag", ""))
        for attribute in ("space", "lang"):
            value = check.get(f"{{{XML_NS}}}{attribute}")
            if value:
                finding.set(f"{{{XML_NS}}}{attribute}", value)
        if check.get("role"):
            finding.set("role", check.get("role", ""))
        location = etree.SubElement(finding, _xsl("attribute"), name="location")
        etree.SubElement(
            location, _xsl("apply-templates"), select=".", mode="schematron-select-full-path"
        )
        self._message(etree.SubElement(finding, f"{{{SVRL}}}text"), check)
        return finding

    def _message(self, out: etree._Element, node: etree._Element) -> None:
        """The ISO skeleton's ``text`` mode: text as is, value-of and name between empty
        ``xsl:text`` (so Saxon strips the same whitespace-only nodes), emph/dir/span text."""
        _append_text(out, node.text)
        for child in node:
            if isinstance(child.tag, str) and etree.QName(child).namespace == SCH:
                kind = _local(child)
                if kind in ("value-of", "name"):
                    if kind == "value-of":
                        select = child.get("select") or "."
                    else:
                        path = child.get("path")
                        select = f"name({path})" if path else "name(.)"
                    etree.SubElement(out, _xsl("text"))
                    etree.SubElement(out, _xsl("value-of"), select=self._xpath(select))
                    etree.SubElement(out, _xsl("text"))
                elif kind in _TEXT_INLINE:
                    etree.SubElement(out, _xsl("text"))
                    _append_text(out, "".join(str(s) for s in child.itertext()))
                    etree.SubElement(out, _xsl("text"))
            _append_text(out, child.tail)

    def _extends(
        self,
        out: etree._Element,
        extends: etree._Element,
        container: etree._Element,
        chain: tuple[int, ...],
    ) -> None:
        name = extends.get("rule")
        if not name or extends.get("href"):
            raise Unsupported("extends without @rule, or with @href")
        inner = (*chain, id(extends))
        for target in self._extended(extends):
            if target.get("abstract") != "true":
                raise Unsupported(f"extends {name} names a rule that is not abstract")
            if self._callable(container, inner):
                etree.SubElement(out, _xsl("call-template"), name=self._template_for(target))
            else:
                self._body(out, target, container=container, chain=inner)

    def _extended(self, extends: etree._Element) -> list[etree._Element]:
        """The rules ``extends`` stands for, as the ISO skeleton picks them: those of the
        same pattern first, else every rule of the schema with that id."""
        if self._rules_by_id is None:
            self._rules_by_id = {}
            for indexed in self.schema.iter(_sch("rule")):
                if indexed.get("id"):
                    self._rules_by_id.setdefault(indexed.get("id", ""), []).append(indexed)
        name = extends.get("rule", "")
        candidates = self._rules_by_id.get(name, [])
        rule = extends.getparent()
        pattern = rule.getparent() if rule is not None else None
        local = [r for r in candidates if r.getparent() is pattern]
        return local or list(candidates)

    def _template_for(self, abstract: etree._Element) -> str:
        key = id(abstract)
        name = self.abstract_templates.get(key)
        if name is None:
            name = f"seg:abstract-{len(self.abstract_templates) + 1}"
            self.abstract_templates[key] = name
            self.pending_abstract.append((name, abstract))
        return name

    def _callable(self, container: etree._Element, chain: tuple[int, ...]) -> bool:
        """Can what ``chain`` extends run as a named template from ``container``'s
        template? Not when a variable crosses: it reading a let of the rest of the
        template, or the rest of the template reading one of its lets."""
        inside: set[str] = set()
        outside: set[str] = set()
        defined_inside: set[str] = set()
        defined_outside: set[str] = set()
        for occurrence in self._occurrences_of(container):
            if occurrence.chain[: len(chain)] == chain:
                inside |= occurrence.referenced
                defined_inside |= occurrence.defined
            else:
                outside |= occurrence.referenced
                defined_outside |= occurrence.defined
        free = inside - defined_inside
        return not (free & defined_outside) and not (defined_inside & outside)

    def _defined_in(self, container: etree._Element) -> set[str]:
        """Every let of ``container``'s template, extends followed."""
        found: set[str] = set()
        for occurrence in self._occurrences_of(container):
            found |= occurrence.defined
        return found

    def _occurrences_of(self, container: etree._Element) -> list[_Occurrence]:
        key = id(container)
        found = self._occurrences.get(key)
        if found is None:
            found = self._occurrences[key] = []
            self._collect(container, (), found, [])
        return found

    def _collect(
        self,
        rule: etree._Element,
        chain: tuple[int, ...],
        out: list[_Occurrence],
        stack: list[etree._Element],
    ) -> None:
        if any(rule is seen for seen in stack) or len(stack) > 30:
            raise Unsupported(f"extends cycle through rule {rule.get('id')!r}")
        defined: set[str] = set()
        referenced: set[str] = set()
        extends: list[etree._Element] = []
        for node in rule.iter():
            if not isinstance(node.tag, str) or etree.QName(node).namespace != SCH:
                continue
            kind = _local(node)
            if kind == "let":
                defined.add(node.get("name", ""))
                referenced |= variables_in(node.get("value", ""))
                for inner in node.iter():
                    for attribute in ("select", "test"):
                        referenced |= variables_in(inner.get(attribute, ""))
            elif kind in ("assert", "report"):
                referenced |= variables_in(node.get("test", ""))
            elif kind == "value-of":
                referenced |= variables_in(node.get("select", ""))
            elif kind == "name":
                referenced |= variables_in(node.get("path", ""))
            elif kind == "extends":
                extends.append(node)
        out.append(_Occurrence(chain, frozenset(defined), frozenset(referenced)))
        for node in extends:
            for target in self._extended(node):
                self._collect(target, (*chain, id(node)), out, [*stack, rule])

    # -- XPath rewriting ----------------------------------------------------------------------

    def _xpath(self, expr: str) -> str:
        """``doc('literal')`` and ``document('literal')`` (the value sets) → a global
        parameter holding that document (the caller can bind it once per process; unbound,
        its value is the same call)."""
        if "doc" not in expr or not _doc_calls_are_code(expr):
            return expr
        expr = _DOC_CALL.sub(self._document_param, expr)
        return _DOC_VARIABLE_CALL.sub(self._document_param, expr)

    def _document_param(self, match: re.Match[str]) -> str:
        groups = match.groupdict()
        uri = groups.get("uri")
        if uri is None:
            # document($jdv_x): a global let holding the value set's path as a literal.
            uri = self.literal_lets.get(groups["variable"])
            if uri is None:
                return match.group(0)
        call = f"{match.group('function')}('{uri}')"
        for name, known in self.documents.items():
            if known == call:
                return f"$seg:{name}"
        name = f"doc{len(self.documents) + 1}"
        self.documents[name] = call
        return f"$seg:{name}"


_DOC_VARIABLE_CALL = re.compile(
    r"(?<![\w.\-:])(?P<function>doc|document)\(\s*\$(?P<variable>[^\W\d][\w.\-]*)\s*\)"
)
_STRING_LITERAL = re.compile(r"^\s*'(?P<value>[^'#]*)'\s*$")


def _literal_lets(schema: etree._Element, patterns: list[etree._Element]) -> dict[str, str]:
    """Global lets (schema or active pattern level) whose value is a string literal, and
    whose name no other let of the schema takes (so ``$name`` is always that literal)."""
    names: dict[str, int] = {}
    for let in schema.iter(_sch("let")):
        names[let.get("name", "")] = names.get(let.get("name", ""), 0) + 1
    found: dict[str, str] = {}
    for let in [
        *schema.findall(_sch("let")),
        *(let for p in patterns for let in p.findall(_sch("let"))),
    ]:
        name = let.get("name", "")
        literal = _STRING_LITERAL.match(let.get("value") or "")
        if literal and names.get(name) == 1 and "'" not in literal.group("value"):
            found[name] = literal.group("value")
    return found


_DOC_CALL = re.compile(r"(?<![\w.\-:])(?P<function>doc|document)\(\s*'(?P<uri>[^'#]+)'\s*\)")


def _doc_calls_are_code(expr: str) -> bool:
    """Every ``doc(…)``/``document(…)`` match starts outside a string literal (else leave
    the text)."""
    spans = list(_outside_literals(expr))
    for pattern in (_DOC_CALL, _DOC_VARIABLE_CALL):
        for match in pattern.finditer(expr):
            if not any(start <= match.start() < end for start, end in spans):
                return False
    return True


def _string_literal(value: str) -> str:
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    raise Unsupported(f"cannot quote {value!r}")


def _append_text(out: etree._Element, text: str | None) -> None:
    if not text:
        return
    if len(out):
        last = out[-1]
        last.tail = (last.tail or "") + text
    else:
        out.text = (out.text or "") + text


def _copy(node: etree._Element) -> etree._Element:
    from copy import deepcopy

    return deepcopy(node)


def _witnesses(rules: Iterable[etree._Element], namespaces: dict[str, str]) -> set[str] | None:
    """What the document must contain for one of ``rules`` to fire, as keys of the
    stylesheet's ``seg:present`` key; None when a context may match anything (``*``,
    ``node()``, ``/``, a function…).

    A context ``…A[cda:templateId/@root='X']…`` needs a templateId X somewhere in the
    document (key ``tid:{ns}X``); otherwise its last step names the element type it
    matches (key ``{ns}local``). A context ending on an attribute never fires: the walk
    visits elements only.
    """
    found: set[str] = set()
    try:
        for rule in rules:
            for _, alternative in _top_level_split(rule.get("context", ""), ("|",)):
                witness = _witness(alternative.strip(), namespaces)
                if witness is None:
                    return None
                found |= witness
    except Unsupported:
        return None
    return found


def _witness(alternative: str, namespaces: dict[str, str]) -> set[str] | None:
    steps = _top_level_split(alternative, ("//", "/"))
    for _, step in steps:
        if "templateId" not in step or "[" not in step:
            continue
        _, predicates = _strip_predicates(step)
        for predicate in _predicates(predicates):
            match = _TEMPLATE_PREDICATE.match(predicate)
            if match and match.group("prefix") in namespaces:
                return {f"tid:{{{namespaces[match.group('prefix')]}}}{match.group('root')}"}
    last = steps[-1][1].strip()
    if not last:
        return None  # "/": the document node
    test, _ = _strip_predicates(last)
    if test.startswith("@") or test.startswith("attribute::"):
        return set()
    if test in ("*", "child::*") and len(steps) > 1 and steps[-2][1].strip():
        # ``…/B/*``: the element matched has a B parent (or ancestor, after //).
        test, _ = _strip_predicates(steps[-2][1].strip())
    name = _NAME_TEST.match(test)
    if name is None:
        return None
    prefix, local = name.groups()
    if prefix is None:
        return {f"{{}}{local}"}
    if prefix not in namespaces:
        return None
    return {f"{{{namespaces[prefix]}}}{local}"}


_TEMPLATE_PREDICATE = re.compile(
    r"^\s*(?P<prefix>[^\W\d][\w.\-]*):templateId\s*/\s*@root\s*=\s*"
    r"(?P<q>['\"])(?P<root>[^'\"]*)(?P=q)\s*$"
)


def _predicates(tail: str) -> list[str]:
    """``[p1][p2]`` → ``["p1", "p2"]`` (``tail`` as :func:`_strip_predicates` returns it)."""
    found: list[str] = []
    depth, quote, start = 0, "", 0
    for i, ch in enumerate(tail):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "[(":
            if depth == 0:
                start = i + 1
            depth += 1
        elif ch in "])":
            depth -= 1
            if depth == 0:
                found.append(tail[start:i])
    return found


def _fast_match(context: str) -> str:
    """``P/*[preds]`` → ``(P/*) intersect (*[preds])``: the same nodes, cheaper to test."""
    try:
        alternatives = _top_level_split(context, ("|",))
        if len(alternatives) != 1:
            return context
        steps = _top_level_split(context.strip(), ("//", "/"))
    except Unsupported:
        return context
    if len(steps) < 2 or steps[-1][0] != "/":
        return context
    last = steps[-1][1]
    try:
        test, predicates = _strip_predicates(last)
    except Unsupported:
        return context
    if test != "*" or not predicates:
        return context
    head = context.strip()[: len(context.strip()) - len(last) - 1]
    if not head.strip():
        return context
    return f"({head}/*) intersect (*{predicates})"


def _location_templates(sheet: etree._Element) -> None:
    """The ISO skeleton's ``schematron-select-full-path`` (notation 2 in the kit), and
    ``seg:fail``: a failed-assert with only a role, as the skeleton writes it."""
    fail = etree.SubElement(sheet, _xsl("template"), name="seg:fail")
    etree.SubElement(fail, _xsl("param"), name="role")
    etree.SubElement(fail, _xsl("param"), name="text")
    finding = etree.SubElement(fail, f"{{{SVRL}}}failed-assert")
    role = etree.SubElement(finding, _xsl("if"), test="$role")
    etree.SubElement(role, _xsl("attribute"), name="role", select="$role")
    location = etree.SubElement(finding, _xsl("attribute"), name="location")
    etree.SubElement(
        location, _xsl("apply-templates"), select=".", mode="schematron-select-full-path"
    )
    etree.SubElement(etree.SubElement(finding, f"{{{SVRL}}}text"), _xsl("value-of"), select="$text")
    select = etree.SubElement(
        sheet, _xsl("template"), match="*", mode="schematron-select-full-path"
    )
    etree.SubElement(select, _xsl("apply-templates"), select=".", mode="schematron-get-full-path-2")
    path = etree.SubElement(
        sheet, _xsl("template"), match="node() | @*", mode="schematron-get-full-path-2"
    )
    each = etree.SubElement(path, _xsl("for-each"), select="ancestor-or-self::*")
    etree.SubElement(each, _xsl("text")).text = "/"
    etree.SubElement(each, _xsl("value-of"), select="name(.)")
    index = etree.SubElement(each, _xsl("if"), test="preceding-sibling::*[name(.)=name(current())]")
    etree.SubElement(index, _xsl("text")).text = "["
    etree.SubElement(
        index, _xsl("value-of"), select="count(preceding-sibling::*[name(.)=name(current())])+1"
    )
    etree.SubElement(index, _xsl("text")).text = "]"
    attribute = etree.SubElement(path, _xsl("if"), test="not(self::*)")
    etree.SubElement(attribute, _xsl("text"))
    attribute[-1].tail = "/@"
    etree.SubElement(attribute, _xsl("value-of"), select="name(.)")


def compile_expanded(schema: etree._Element, base_uri: str) -> CompiledXslt:
    """The stylesheet for an include-resolved, abstract-pattern-expanded schematron."""
    return _Generator(schema, base_uri).build()
