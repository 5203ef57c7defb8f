"""Run the ANS kit's XSLT-2 schematrons with saxonche, compiled once and cached on disk.

Pipeline (the kit's own ISO stylesheets in ``schematrons/moteur/``):
``.sch`` → ``iso_dsdl_include.xsl`` → ``iso_abstract_expand.xsl`` →
``iso_svrl_for_xslt2.xsl`` → an XSLT, written to the cache directory under a name keyed
by the hash of every input (the ``.sch`` and its includes, the ISO stylesheets, the kit
path). The compiled XSLT gets ``xml:base`` = the ``.sch`` location so the relative
``doc()``/``document()`` paths of the kit still resolve; value sets the kit lacks
(``voc-<oid>-DYNAMIC.xml``) are generated from ``jeuxDeValeurs/`` into the cache.

Two engines produce that XSLT from the kit:

- ``segurlink`` (the default): includes resolved here, the kit's
  ``iso_abstract_expand.xsl``, then :mod:`segurlink.cda._sch_compiler`, which writes
  what ``iso_svrl_for_xslt2.xsl`` would, smaller (StrucMin: ~1 MB instead of 10 MB) and
  quicker to run, with the same findings; a construct it does not mirror falls back to
- ``iso``: the kit's three ISO stylesheets as they are (kept for comparison: the
  verdict-equality test and ``benchmarks/cda.py`` run both).

Saxon-HE cannot save a compiled stylesheet (exporting needs Saxon-EE), so each process
pays the XSLT compile once; executables are kept in memory per path. The value sets the
``segurlink`` output reads through global parameters are parsed once per process.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from copy import deepcopy
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar, Literal

from lxml import etree

from ..errors import ConfigurationError, InputError

__all__ = [
    "CompiledSchematron",
    "Kit",
    "PreparedDocument",
    "SchematronFinding",
    "compile_schematron",
    "prepare",
]

logger = logging.getLogger(__name__)

#: Bump when the compile pipeline changes: old cache entries are then ignored.
_PIPELINE_VERSION = "1"
Engine = Literal["segurlink", "iso"]
ENGINES: tuple[Engine, ...] = ("segurlink", "iso")
_SEG = "urn:segurlink:schematron"
_DOC_PARAM = re.compile(
    r"<xsl:param name=\"seg:(doc\d+)\" select=\"(?:doc|document)\('([^']+)'\)\""
)
_STEPS = ("iso_dsdl_include.xsl", "iso_abstract_expand.xsl", "iso_svrl_for_xslt2.xsl")
_INCLUDE = re.compile(r"<(?:\w+:)?include\s+href=\"([^\"]+)\"")
_DOC_LITERAL = re.compile(r"doc\('([^'()]+\.xml)'\)")
_VOC = re.compile(r"voc-(?P<oid>[0-9.]+)-DYNAMIC\.xml$")
#: A CI-SIS model templateId asserted in a schematron: ``templateId[@root='…']`` or
#: ``templateId/@root="…"``, either quote, multi-part models (``….1.1.1.5.1``) included.
_MODEL_TEMPLATE = re.compile(
    r"templateId(?:\s*/\s*@root|\s*\[\s*@root)\s*=\s*[\"'](1\.2\.250\.1\.213\.1\.1\.1(?:\.\d+)+)[\"']"
)
_SCH_VERSION = re.compile(r"_(\d{4}\.\d{2})$")
_SVRL = "http://purl.oclc.org/dsdl/svrl"
_SVS = "urn:ihe:iti:svs:2008"
_CISIS = "1.2.250.1.213.1.1.1.1"
_XDS_SD = "1.3.6.1.4.1.19376.1.2.20"

#: Profile schematrons applied to every document, relative to ``schematrons/``.
STRUCMIN = "profils/structurationMinimale/ASIP-STRUCT-MIN-StrucMin.sch"
MODELES = "profils/CI-SIS_ModelesDeContenusCDA.sch"
DEFAULT_PROFILES = (STRUCMIN, MODELES)


@dataclass(frozen=True, slots=True)
class SchematronFinding:
    """One ``failed-assert`` or ``successful-report`` of an SVRL report."""

    severity: str
    message: str
    location: str
    rule: str


class Kit:
    """An ANS TestContenuCDA kit directory.

    >>> Kit(Path("/nonexistent"))  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ConfigurationError: ...
    """

    def __init__(self, path: Path) -> None:
        path = Path(path).expanduser().resolve()
        if not (path / "schematrons" / "moteur").is_dir():
            raise ConfigurationError(
                f"{path} is not a CI-SIS kit (no schematrons/moteur/): set SEGURLINK_CISIS_KIT "
                "or [cda] kit to the TestContenuCDA directory"
            )
        self.path = path

    def __repr__(self) -> str:
        return f"Kit({str(self.path)!r})"

    @property
    def xsd(self) -> Path:
        return self.path / "infrastructure" / "cda" / "CDA_extended.xsd"

    @property
    def schematrons(self) -> Path:
        return self.path / "schematrons"

    @property
    def examples(self) -> Path:
        return self.path / "ExemplesCDA"

    @property
    def value_sets(self) -> Path:
        return self.path / "jeuxDeValeurs"

    def schematron(self, name: str) -> Path:
        """A schematron by file name, stem, path relative to ``schematrons/``, or model
        name without version (``CI-SIS_VSM`` → the latest ``CI-SIS_VSM_<version>.sch``)."""
        candidates = [Path(name)]
        if not name.endswith(".sch"):
            candidates.append(Path(name + ".sch"))
        for candidate in candidates:
            for path in (candidate, self.schematrons / candidate):
                if path.is_file():
                    return path.resolve()
            matches = sorted(self.schematrons.rglob(candidate.name))
            if matches:
                return matches[0].resolve()
        # A model name without its version (``CI-SIS_DLU-EHPAD-DLU``): the latest version.
        versions = [
            p
            for p in self.schematrons.glob(f"{Path(name).name}_*.sch")
            if _SCH_VERSION.search(p.stem)
        ]
        if versions:
            return max(versions, key=lambda p: _version_key((p, frozenset()))).resolve()
        raise ConfigurationError(f"no schematron {name!r} in {self.schematrons}")

    @cached_property
    def model_templates(self) -> dict[Path, frozenset[str]]:
        """Each top-level ``CI-SIS_*.sch`` → the CI-SIS model templateIds it asserts.

        Read from the schematron itself and its header (``Entete``) includes, where the
        model's templateId is asserted; the generic CI-SIS one is left out. A schematron
        asserting none (e.g. CSE-MDE) can only be named explicitly.
        """
        found: dict[Path, frozenset[str]] = {}
        for sch in sorted(self.schematrons.glob("CI-SIS_*.sch")):
            templates = self._model_templates(sch) - {_CISIS}
            if templates:
                found[sch] = frozenset(templates)
        return found

    @property
    def model_index(self) -> dict[str, list[Path]]:
        """Model templateId → the schematrons asserting it, latest version last."""
        index: dict[str, list[Path]] = {}
        for sch, templates in sorted(self.model_templates.items(), key=_version_key):
            for template in templates:
                index.setdefault(template, []).append(sch)
        return index

    def _model_templates(self, sch: Path) -> set[str]:
        text = sch.read_text(encoding="utf-8", errors="replace")
        found = set(_MODEL_TEMPLATE.findall(text))
        for href in _INCLUDE.findall(text):
            if "entete" not in href.lower() and "en-tete" not in href.lower():
                continue
            include = (sch.parent / href).resolve()
            if include.is_file():
                found.update(
                    _MODEL_TEMPLATE.findall(include.read_text(encoding="utf-8", errors="replace"))
                )
        return found

    def schematrons_for(self, template_ids: tuple[str, ...] | list[str]) -> list[Path]:
        """The schematrons that apply to a document declaring ``template_ids``.

        The two profiles always; plus each model schematron whose asserted templateIds
        the document all declares (so a CSE-CS8 document, declaring ``….1.1.1.5`` and
        ``….1.1.1.5.1``, does not get the CS9 or CS24 schematrons that share
        ``….1.1.1.5``); of several versions asserting the same templateIds, the latest.
        """
        chosen = [self.schematrons / p for p in DEFAULT_PROFILES]
        if _XDS_SD in template_ids:
            # A level-1 document: the model schematrons check structured bodies.
            return chosen
        declared = set(template_ids)
        latest: dict[frozenset[str], Path] = {}
        for sch, templates in sorted(self.model_templates.items(), key=_version_key):
            if templates <= declared:
                latest[templates] = sch  # sorted by version: a later one replaces
        chosen.extend(sorted(latest.values()))
        return chosen

    @cached_property
    def _value_set_files(self) -> dict[str, Path]:
        index: dict[str, Path] = {}
        pattern = re.compile(rb"<(?:\w+:)?ValueSet\b[^>]*?\bid=\"([0-9.]+)\"", re.S)
        for path in sorted(self.value_sets.glob("*.xml")):
            with path.open("rb") as fh:
                head = fh.read(4096)
            match = pattern.search(head)
            if match:
                index.setdefault(match.group(1).decode("ascii"), path)
        return index

    def value_set_codes(self, oid: str) -> list[tuple[str, str, str]]:
        """The concepts of the SVS value set ``oid`` from ``jeuxDeValeurs/``."""
        from .._xml import parse_xml

        path = self._value_set_files.get(oid)
        if path is None:
            return []
        root = parse_xml(path.read_bytes(), what=str(path))
        return [
            (c.get("code", ""), c.get("codeSystem", ""), c.get("displayName", ""))
            for c in root.iter(f"{{{_SVS}}}Concept")
            if c.get("code") and c.get("codeSystem")
        ]


def _version_key(item: tuple[Path, frozenset[str]]) -> tuple[str, str]:
    """Sort key: the ``_YYYY.NN`` version of a kit schematron, then its name."""
    match = _SCH_VERSION.search(item[0].stem)
    return (match.group(1) if match else "", item[0].name)


# -- compile --------------------------------------------------------------------------------


def _include_closure(sch: Path) -> Iterator[Path]:
    seen: set[Path] = set()
    stack = [sch.resolve()]
    while stack:
        path = stack.pop()
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        yield path
        text = path.read_text(encoding="utf-8", errors="replace")
        stack.extend((path.parent / href).resolve() for href in _INCLUDE.findall(text))


def _cache_key(kit: Kit, sch: Path, engine: Engine = "iso") -> str:
    digest = hashlib.sha256(_PIPELINE_VERSION.encode())
    if engine != "iso":
        from . import _sch_compiler

        # The compiler's own source: a change to it is a new cache entry.
        digest.update(engine.encode())
        digest.update(Path(_sch_compiler.__file__).read_bytes())
    digest.update(str(sch).encode())
    for step in _STEPS:
        digest.update((kit.schematrons / "moteur" / step).read_bytes())
    for path in sorted(_include_closure(sch)):
        digest.update(
            str(path.relative_to(kit.path) if path.is_relative_to(kit.path) else path).encode()
        )
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_PROCESSOR_LOCK = threading.RLock()
_processor: Any = None


def _saxon() -> Any:
    """The process-wide Saxon processor (SaxonC wants one per process)."""
    global _processor
    with _PROCESSOR_LOCK:
        if _processor is None:
            try:
                from saxonche import PySaxonProcessor
            except ImportError as exc:  # pragma: no cover - saxonche is a dependency
                raise ConfigurationError(
                    "schematron validation needs saxonche (pip install saxonche)"
                ) from exc
            _processor = PySaxonProcessor(license=False)
        return _processor


def _generate_vocabularies(kit: Kit, sch: Path, xslt: str, cache_dir: Path) -> str:
    """Point ``doc('include/voc-<oid>-DYNAMIC.xml')`` calls the kit cannot satisfy to files
    generated from its SVS value sets (the kit lacks e.g. the JDV_J07 one)."""

    def fix(match: re.Match[str]) -> str:
        href = match.group(1)
        if (sch.parent / href).is_file():
            return match.group(0)
        voc = _VOC.search(href)
        if voc is None:
            return match.group(0)
        concepts = kit.value_set_codes(voc.group("oid"))
        if not concepts:
            logger.warning("value set %s missing from the kit and jeuxDeValeurs", voc["oid"])
            return match.group(0)
        root = etree.Element("valueSets")
        value_set = etree.SubElement(root, "valueSet", id=voc.group("oid"))
        concept_list = etree.SubElement(value_set, "conceptList")
        for code, system, display in concepts:
            etree.SubElement(
                concept_list, "concept", code=code, codeSystem=system, displayName=display
            )
        data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        target = (
            cache_dir / "vocabularies" / hashlib.sha256(data).hexdigest()[:16] / Path(href).name
        )
        if not target.is_file():
            _atomic_write(target, data)
        return f"doc('{target.as_uri()}')"

    return _DOC_LITERAL.sub(fix, xslt)


def compile_schematron(kit: Kit, sch: Path, cache_dir: Path, engine: Engine = "segurlink") -> Path:
    """The compiled XSLT of ``sch`` in ``cache_dir``; compiled now when not cached."""
    if engine not in ENGINES:
        raise ConfigurationError(f"unknown schematron engine {engine!r}")
    sch = sch.resolve()
    key = _cache_key(kit, sch, engine)
    suffix = "" if engine == "iso" else f".{engine}"
    target = cache_dir / f"{sch.stem}-{key[:24]}{suffix}.xsl"
    if target.is_file():
        return target
    logger.info("compiling schematron %s with the %s engine (cache miss)", sch.name, engine)
    text = None
    if engine == "segurlink":
        from ._sch_compiler import Unsupported

        try:
            text = _compile_segurlink(kit, sch)
        except Unsupported as exc:
            logger.info("%s: %s; compiling with the kit's ISO stylesheets", sch.name, exc)
    if text is None:
        text = _compile_iso(kit, sch)
    text = _generate_vocabularies(kit, sch, text, cache_dir)
    # xml:base: the kit's relative doc()/document() paths resolve against the .sch folder.
    if 'xml:base="' not in text[:2000]:
        text, count = re.subn(
            r"<xsl:stylesheet\b", f'<xsl:stylesheet xml:base="{sch.as_uri()}"', text, count=1
        )
        if count != 1:
            raise ConfigurationError(f"unexpected output compiling {sch}: no xsl:stylesheet")
    _atomic_write(target, text.encode("utf-8"))
    return target


def _compile_iso(kit: Kit, sch: Path) -> str:
    """The kit's pipeline: include, abstract-pattern expansion, SVRL skeleton."""
    processor = _saxon()
    with _PROCESSOR_LOCK:
        try:
            xslt30 = processor.new_xslt30_processor()
            current = processor.parse_xml(xml_file_name=str(sch))
            text = ""
            for step in _STEPS:
                executable = xslt30.compile_stylesheet(
                    stylesheet_file=str(kit.schematrons / "moteur" / step)
                )
                text = executable.transform_to_string(xdm_node=current)
                current = processor.parse_xml(xml_text=text)
        except Exception as exc:
            raise ConfigurationError(f"cannot compile schematron {sch}: {exc}") from exc
    return str(text)


def _compile_segurlink(kit: Kit, sch: Path) -> str:
    """Includes here, the kit's abstract-pattern expansion, then our SVRL generator."""
    from .._xml import parse_xml
    from ._sch_compiler import compile_expanded, resolve_includes

    included = resolve_includes(sch)
    processor = _saxon()
    with _PROCESSOR_LOCK:
        try:
            executable = processor.new_xslt30_processor().compile_stylesheet(
                stylesheet_file=str(kit.schematrons / "moteur" / _STEPS[1])
            )
            node = processor.parse_xml(xml_text=etree.tostring(included, encoding="unicode"))
            expanded = str(executable.transform_to_string(xdm_node=node))
        except Exception as exc:
            raise ConfigurationError(f"cannot compile schematron {sch}: {exc}") from exc
    schema = parse_xml(expanded.encode("utf-8"), what=f"expanded {sch.name}")
    return compile_expanded(schema, sch.as_uri()).xslt.decode("utf-8")


class CompiledSchematron:
    """A compiled schematron ready to run; one per XSLT file per process."""

    _cache: ClassVar[dict[Path, CompiledSchematron]] = {}
    _loaded: ClassVar[dict[tuple[Path, Path, Path, str], CompiledSchematron]] = {}
    #: Value-set documents bound to the ``segurlink`` stylesheets' parameters, by URI.
    _documents: ClassVar[dict[str, Any]] = {}

    def __init__(self, name: str, xslt: Path) -> None:
        self.name = name
        self._xslt = xslt
        self._fallback: CompiledSchematron | None = None
        self._fallback_loader: Callable[[], CompiledSchematron] | None = None
        #: The segurlink engine's rules and what each needs from a document to fire.
        self._rules = _RuleIndex.read(xslt)
        #: The stylesheet compiled with the rules the first document needed (rules that
        #: cannot match anything in a document are left out: same findings), then
        #: with all of them when a document needs more.
        self._variant: tuple[frozenset[int], Any] | None = None
        self._by_shape: dict[frozenset[str], Any] = {}
        self._bindings: list[tuple[str, Any]] = []
        with _PROCESSOR_LOCK:
            self._bindings = self._read_bindings(xslt)
            if self._rules is None:
                self._executable = self._compile(None)

    def _compile(self, kept: frozenset[int] | None) -> Any:
        """The stylesheet (with only the ``kept`` rules when given), compiled, value sets
        bound."""
        processor = _saxon()
        try:
            xslt30 = processor.new_xslt30_processor()
            if kept is None or self._rules is None:
                executable = xslt30.compile_stylesheet(stylesheet_file=str(self._xslt))
            else:
                executable = xslt30.compile_stylesheet(stylesheet_text=self._rules.subset(kept))
        except Exception as exc:
            raise ConfigurationError(
                f"cannot load compiled schematron {self._xslt}: {_saxon_error(str(exc))}"
            ) from exc
        for name, node in self._bindings:
            executable.set_parameter(name, node)
        return executable

    def _executable_for(self, shape: frozenset[str] | None) -> Any:
        if self._rules is None:
            return self._executable
        if shape is None:
            shape = frozenset()
            kept = frozenset(range(len(self._rules.needs)))  # unknown document: all rules
        else:
            found = self._by_shape.get(shape)
            if found is not None:
                return found
            kept = self._rules.needed(shape)
        if self._variant is not None and kept <= self._variant[0]:
            executable = self._variant[1]
        else:
            if self._variant is not None or len(kept) > 0.7 * len(self._rules.needs):
                # A document needing more than the first one: every rule, once, so a
                # process compiles at most twice whatever documents follow.
                kept = frozenset(range(len(self._rules.needs)))
            executable = self._compile(kept)
            self._variant = (kept, executable)
            self._by_shape.clear()
        if len(self._by_shape) < 256:
            self._by_shape[shape] = executable
        return executable

    def _read_bindings(self, xslt: Path) -> list[tuple[str, Any]]:
        """The value sets a ``segurlink`` stylesheet reads, parsed once per process, as
        (parameter, document) pairs (an unbound parameter is the stylesheet's own
        ``doc()`` call: same answer, parsed for every document)."""
        with xslt.open(encoding="utf-8") as fh:
            head = fh.read(65536)
        base = re.search(r'xml:base="([^"]+)"', head)
        if base is None:
            return []
        processor = _saxon()
        bindings = []
        for name, uri in _DOC_PARAM.findall(head):
            absolute = _resolve_uri(base.group(1), uri)
            node = self._documents.get(absolute)
            if node is None:
                path = _file_path(absolute)
                if path is None or not path.is_file():
                    continue
                try:
                    node = processor.parse_xml(xml_file_name=str(path))
                except Exception as exc:  # noqa: BLE001
                    # Left unbound: the stylesheet's own doc() call then reports it.
                    logger.warning("cannot preload %s: %s", path, exc)
                    continue
                self._documents[absolute] = node
            bindings.append((f"{{{_SEG}}}{name}", node))
        return bindings

    @classmethod
    def load(
        cls, kit: Kit, sch: Path, cache_dir: Path, engine: Engine = "segurlink"
    ) -> CompiledSchematron:
        """Compile (or take from the disk cache) and load, once per process.

        The cache key hashes the schematron and all it includes (StrucMin: 140 files):
        it is computed once per process, not per document.
        """
        loaded_key = (kit.path, sch, cache_dir, engine)
        found = cls._loaded.get(loaded_key)
        if found is not None:
            return found
        xslt = compile_schematron(kit, sch, cache_dir, engine)
        with _PROCESSOR_LOCK:
            found = cls._cache.get(xslt)
            if found is None:
                try:
                    found = cls(sch.name, xslt)
                except ConfigurationError as exc:
                    if engine == "iso":
                        raise
                    # Saxon refuses what the segurlink engine wrote: the kit's way then.
                    logger.warning("%s; using the kit's ISO stylesheets", exc)
                    found = cls.load(kit, sch, cache_dir, "iso")
                if engine != "iso" and found._rules is not None:
                    found._fallback_loader = lambda: cls.load(kit, sch, cache_dir, "iso")
                cls._cache[xslt] = found
            cls._loaded[loaded_key] = found
            return found

    @classmethod
    def forget(cls) -> None:
        """Drop every loaded stylesheet (the next load reads the disk cache again)."""
        with _PROCESSOR_LOCK:
            cls._cache.clear()
            cls._loaded.clear()

    def run(self, document: str | PreparedDocument) -> list[SchematronFinding]:
        """Validate the document (serialised, or prepared once for several schematrons);
        findings from its SVRL report."""
        with _PROCESSOR_LOCK:
            if isinstance(document, str):
                document = prepare(document)
            if self._fallback is not None:
                return self._fallback.run(document)
            try:
                executable = self._executable_for(document.shape)
            except ConfigurationError as exc:
                if self._fallback_loader is None:
                    raise
                logger.warning("%s; using the kit's ISO stylesheets", exc)
                self._fallback = self._fallback_loader()
                return self._fallback.run(document)
            try:
                if document.node is None:
                    raise InputError(document.error)
                svrl = executable.transform_to_string(xdm_node=document.node)
            except Exception as exc:  # noqa: BLE001
                message = _saxon_error(str(exc))
                return [
                    SchematronFinding(
                        "error", f"schematron could not run: {message}", "/", f"{self.name}#runtime"
                    )
                ]
        return _read_svrl(svrl, self.name)


@dataclass(frozen=True, slots=True)
class PreparedDocument:
    """A document parsed by Saxon once, to run several schematrons on (``node`` is None
    and ``error`` says why when Saxon could not parse it); ``shape``: its element types
    and templateIds (see :func:`document_shape`)."""

    node: Any
    error: str = ""
    shape: frozenset[str] | None = None


def prepare(document_text: str, root: etree._Element | None = None) -> PreparedDocument:
    """Parse ``document_text`` for :meth:`CompiledSchematron.run`; ``root``, the same
    document parsed by lxml, gives its shape (else the text is parsed for it)."""
    if root is None:
        from .._xml import parse_xml
        from ..errors import SegurlinkError

        try:
            root = parse_xml(document_text, what="document")
        except SegurlinkError:
            root = None
    shape = document_shape(root) if root is not None else None
    processor = _saxon()
    with _PROCESSOR_LOCK:
        try:
            return PreparedDocument(processor.parse_xml(xml_text=document_text), shape=shape)
        except Exception as exc:  # noqa: BLE001 - reported by run() as a finding
            return PreparedDocument(None, " ".join(str(exc).split())[:500])


def document_shape(root: etree._Element) -> frozenset[str]:
    """What the segurlink stylesheets' rules need from a document: its element types
    (``{ns}local``) and templateIds (``tid:{ns}root``), as their ``seg:present`` key."""
    shape: set[str] = set()
    for element in root.iter():
        tag = element.tag
        if not isinstance(tag, str):
            continue
        shape.add(tag if tag.startswith("{") else f"{{}}{tag}")
        if tag.endswith("}templateId") or tag == "templateId":
            namespace = tag[1 : tag.index("}")] if tag.startswith("{") else ""
            shape.add(f"tid:{{{namespace}}}{element.get('root', '')}")
    return frozenset(shape)


class _RuleIndex:
    """The rule templates of a segurlink stylesheet and what each needs to fire."""

    _NEEDS = f"{{{_SEG}}}needs"
    _XSL = "http://www.w3.org/1999/XSL/Transform"

    def __init__(self, tree: etree._Element, rules: list[etree._Element]) -> None:
        self.tree = tree
        self.rules = rules
        self.needs = [
            frozenset(r.get(self._NEEDS, "").split()) if r.get(self._NEEDS) is not None else None
            for r in rules
        ]

    @classmethod
    def read(cls, xslt: Path) -> _RuleIndex | None:
        data = xslt.read_bytes()
        if cls._NEEDS.split("}")[0][1:].encode() not in data[:4096]:
            return None  # the ISO pipeline's output (or a fallback): compiled whole
        from .._xml import hardened_parser

        try:
            tree = etree.fromstring(data, hardened_parser())
        except etree.XMLSyntaxError:
            return None
        rules = [
            t
            for t in tree.iterchildren(f"{{{cls._XSL}}}template")
            if t.get("match")
            and t.get("mode", "").startswith("M")
            and t.get("priority", "").isdigit()
        ]
        if not any(r.get(cls._NEEDS) is not None for r in rules):
            return None
        return cls(tree, rules)

    def needed(self, shape: frozenset[str]) -> frozenset[int]:
        return frozenset(
            i for i, needs in enumerate(self.needs) if needs is None or not needs.isdisjoint(shape)
        )

    def subset(self, kept: frozenset[int]) -> str:
        """The stylesheet without the rules not ``kept`` nor the named templates only
        they called."""
        dropped = {id(r) for i, r in enumerate(self.rules) if i not in kept}
        call = f"{{{self._XSL}}}call-template"
        templates = list(self.tree.iterchildren(f"{{{self._XSL}}}template"))
        named = {t.get("name"): t for t in templates if t.get("name")}
        reachable: set[str] = set()
        pending = [t for t in templates if not t.get("name") and id(t) not in dropped]
        while pending:
            for called in pending.pop().iter(call):
                name = called.get("name", "")
                if name not in reachable and name in named:
                    reachable.add(name)
                    pending.append(named[name])
        copy = deepcopy(self.tree)
        for original, copied in zip(list(self.tree), list(copy), strict=True):
            if id(original) in dropped or (
                original.tag == f"{{{self._XSL}}}template"
                and original.get("name")
                and original.get("name") not in reachable
            ):
                copy.remove(copied)
        return etree.tostring(copy, encoding="unicode")


_ERROR_CODE = re.compile(r"\b([A-Z]{4}\d{4})\b(.*?)(?:\n\s*(?:In |at |invoked )|$)", re.S)


def _saxon_error(text: str) -> str:
    """Saxon's error code and message, without where in which stylesheet (the same
    error reads the same whichever engine compiled the schematron)."""
    match = _ERROR_CODE.search(text)
    if match:
        text = f"{match.group(1)} {match.group(2)}"
    return " ".join(text.split())[:500]


def _resolve_uri(base: str, uri: str) -> str:
    from urllib.parse import urljoin

    return urljoin(base, uri)


def _file_path(uri: str) -> Path | None:
    from urllib.parse import unquote, urlparse

    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    return Path(unquote(parsed.path))


def _read_svrl(svrl: str, name: str) -> list[SchematronFinding]:
    from .._xml import parse_xml

    root = parse_xml(svrl.encode("utf-8"), what="SVRL report")
    findings: list[SchematronFinding] = []
    pattern = ""
    for node in root:
        tag = etree.QName(node).localname if isinstance(node.tag, str) else ""
        if tag == "active-pattern":
            pattern = node.get("id") or node.get("name") or ""
            continue
        if tag not in ("failed-assert", "successful-report"):
            continue
        role = (node.get("role") or node.get("flag") or "").lower()
        if role in ("warning", "warn"):
            severity = "warning"
        elif role in ("info", "information", "note"):
            severity = "info"
        elif role in ("error", "fatal", "") and tag == "failed-assert":
            severity = "error"
        else:
            # A report without role is a notice, not a failure.
            severity = "error" if role in ("error", "fatal") else "info"
        text = " ".join("".join(str(t) for t in node.itertext()).split())
        rule = node.get("id") or pattern
        findings.append(
            SchematronFinding(
                severity, text, node.get("location", ""), f"{name}#{rule}" if rule else name
            )
        )
    return findings
