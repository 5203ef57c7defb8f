"""The documentation site as a person sees it: built, served, opened in headless Chromium.

``mkdocs build --strict`` proves the Markdown links resolve, not that the pages render: a
fence the renderer does not recognise, a table split by a blank line or an admonition
without its extension all build cleanly and show up as raw Markdown in the browser. So the
site is built into a temporary directory, served on loopback, and every page is opened in
a real Chromium; what the Markdown says must be what the browser shows:

- every fenced block is a code block (no literal fence in the text, as many ``pre`` as
  fences), every table a table (no raw ``| ... |`` rows, no ``\\|``), every admonition an
  admonition (no ``!!!``);
- every heading of the Markdown is a heading of the page and is in the page's outline;
- nothing is loaded from anywhere but the site itself (no CDN, no web font).
"""

from __future__ import annotations

import functools
import html
import importlib.util
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"

# -- what the Markdown says ------------------------------------------------------------------

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<mark>`{3,}|~{3,})(?P<info>.*)$")
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_SNIPPET = re.compile(r'^--8<--\s+"([^"]+)"\s*$')
_ADMONITION = re.compile(r"^\s*(!!!|\?\?\?\+?)\s+\w+")


@dataclass
class MarkdownPage:
    """The structure a page's Markdown declares."""

    path: Path
    headings: list[str] = field(default_factory=list)
    fences: int = 0
    tables: int = 0
    admonitions: int = 0
    generated: bool = False  # holds mkdocstrings ``:::`` blocks (code blocks of their own)

    @property
    def url_path(self) -> str:
        relative = self.path.relative_to(DOCS).with_suffix("")
        if relative.name == "index":
            relative = relative.parent
        return "/" if str(relative) == "." else f"/{relative.as_posix()}/"


def _plain(markdown_inline: str) -> str:
    """A heading's text as the browser shows it (inline Markdown removed)."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", markdown_inline)  # links
    text = text.replace("`", "").replace("**", "").replace("__", "")
    text = re.sub(r"(?<!\w)[*_]([^*_]+)[*_](?!\w)", r"\1", text)  # emphasis
    text = re.sub(r"\s*\{[#.][^}]*\}\s*$", "", text)  # attr_list {#id}
    return " ".join(html.unescape(text).split())


def read_markdown(path: Path) -> MarkdownPage:
    page = MarkdownPage(path)
    lines: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        snippet = _SNIPPET.match(line)  # pymdownx.snippets: the included file is the page
        if snippet:
            lines += (REPO / snippet[1]).read_text(encoding="utf-8").splitlines()
        else:
            lines.append(line)
    fence: str | None = None
    previous = ""
    for line in lines:
        match = _FENCE.match(line)
        if fence is not None:
            if match and match["mark"][0] == fence[0] and len(match["mark"]) >= len(fence):
                if not match["info"].strip():
                    fence = None
            continue
        if match:
            fence = match["mark"]
            page.fences += 1
            previous = ""
            continue
        if line.startswith(":::"):
            page.generated = True
        heading = _HEADING.match(line)
        if heading:
            page.headings.append(_plain(heading[2]))
        if _TABLE_SEPARATOR.match(line) and previous.lstrip().startswith("|"):
            page.tables += 1
        if _ADMONITION.match(line):
            page.admonitions += 1
        previous = line
    return page


def markdown_pages() -> list[MarkdownPage]:
    return [read_markdown(p) for p in sorted(DOCS.rglob("*.md"))]


# -- the built and served site ---------------------------------------------------------------


def _require_mkdocs() -> None:
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
        reason = "mkdocs-material is not installed (pip install -e '.[docs]')"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: CI must build the site")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _require_mkdocs()
    out = tmp_path_factory.mktemp("site")
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--quiet",
            "-f",
            str(REPO / "mkdocs.yml"),
            "-d",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert build.returncode == 0, f"mkdocs build --strict failed:\n{build.stderr}"
    return out


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site_url(site_dir: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# What the browser shows: the page's content with its code blocks set apart.
_RENDERED = r"""
const root = document.querySelector('article.md-content__inner')
  || document.querySelector('[role=main]') || document.body;
const prose = root.cloneNode(true);
prose.querySelectorAll('pre, .headerlink').forEach(e => e.remove());
const clean = t => t.replace(/\u00b6/g, '').replace(/\s+/g, ' ').trim();
const headings = [...root.querySelectorAll('h1, h2, h3, h4, h5, h6')];
const outside = [...document.querySelectorAll('a[href^="#"]')].filter(a => !root.contains(a));
return {
  prose: prose.innerText,
  pre: root.querySelectorAll('pre').length,
  tables: root.querySelectorAll('table').length,
  admonitions: root.querySelectorAll('.admonition, details').length,
  nestedQuotes: root.querySelectorAll('blockquote blockquote').length,
  headings: headings.map(h => ({text: clean(h.innerText), id: h.id, level: h.tagName})),
  outline: outside.map(a => a.getAttribute('href')),
  resources: performance.getEntriesByType('resource').map(e => e.name),
  title: document.title,
};
"""


def page_defects(page: MarkdownPage, shown: dict[str, Any], origin: str) -> list[str]:
    """What differs between the Markdown of ``page`` and what the browser ``shown``."""
    defects: list[str] = []
    prose: str = shown["prose"]
    for line in prose.splitlines():
        stripped = line.strip()
        if "```" in stripped or "~~~" in stripped:
            defects.append(f"literal fence in the text: {stripped[:70]!r}")
        if re.match(r"^\|.*\|$", stripped) or "|---" in stripped:
            defects.append(f"raw table row: {stripped[:70]!r}")
        if "!!!" in stripped:
            defects.append(f"admonition shown as text: {stripped[:70]!r}")
        if stripped.startswith(">>>"):
            defects.append(f"doctest shown as a quote, not as code: {stripped[:70]!r}")
        if "\\|" in stripped:
            defects.append(f"escaped pipe shown with its backslash: {stripped[:70]!r}")
    if shown["nestedQuotes"]:
        # `>>> x` read as Markdown is three nested quotes: a doctest that lost its fence
        defects.append(f"{shown['nestedQuotes']} nested quotes (doctests shown as quotes)")
    if not page.generated and shown["pre"] != page.fences:
        defects.append(
            f"{page.fences} fenced blocks in the Markdown, {shown['pre']} code blocks shown"
        )
    if shown["tables"] != page.tables:
        defects.append(f"{page.tables} tables in the Markdown, {shown['tables']} shown")
    if shown["admonitions"] != page.admonitions:
        defects.append(
            f"{page.admonitions} admonitions in the Markdown, {shown['admonitions']} shown"
        )
    rendered = {h["text"]: h for h in shown["headings"]}
    outline = set(shown["outline"])
    for heading in page.headings:
        found = rendered.get(heading)
        if found is None:
            defects.append(f"heading missing from the page: {heading!r}")
        elif found["level"] in ("H2", "H3") and f"#{found['id']}" not in outline:
            defects.append(f"heading missing from the page outline: {heading!r}")
    for url in shown["resources"]:
        if not url.startswith(origin + "/"):
            defects.append(f"loads a resource from elsewhere: {url}")
    return defects


def test_every_page_renders_what_its_markdown_says(
    chromium: Any, site_dir: Path, site_url: str
) -> None:
    pages = markdown_pages()
    built = {
        "/" + (p.parent.relative_to(site_dir).as_posix() + "/").lstrip("./")
        for p in site_dir.rglob("index.html")
    }
    assert built == {p.url_path for p in pages}, "every Markdown page is a page of the site"
    report: dict[str, list[str]] = {}
    for page in pages:
        chromium.get(site_url + page.url_path)
        shown = chromium.execute_script(_RENDERED)
        assert shown["title"], page.path.name
        defects = page_defects(page, shown, site_url)
        if defects:
            report[page.path.relative_to(DOCS).as_posix()] = defects
    summary = "\n".join(
        f"{name}: {len(found)} defect(s)\n" + "\n".join(f"  - {d}" for d in found)
        for name, found in report.items()
    )
    assert not report, f"{len(report)} of {len(pages)} pages render broken:\n{summary}"


# What makes a browser fetch a URL by itself (a plain link is only followed on a click).
_HTML_LOADS = re.compile(
    r"<(?:script|img|iframe|source|audio|video|embed)\b[^>]*\bsrc=[\"']?((?:https?:)?//[^\"' >]+)"
    r"|<link\b[^>]*\bhref=[\"']?((?:https?:)?//[^\"' >]+)",
    re.I,
)
_CSS_LOADS = re.compile(r"(?:@import\s+|url\()\s*[\"']?((?:https?:)?//[^\"' )]+)", re.I)
_CODE = re.compile(r"<(pre|code)\b.*?</\1>", re.I | re.S)
_STYLE = re.compile(r"<style\b.*?</style>|\bstyle=\"[^\"]*\"", re.I | re.S)


def remote_loads(path: Path) -> list[str]:
    """The URLs outside the site that ``path`` (HTML or CSS) makes the browser fetch."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".css":
        return [m[1] for m in _CSS_LOADS.finditer(text)]
    text = _CODE.sub("", text)  # URLs shown in examples are text, not loads
    found = [next(g for g in m.groups() if g) for m in _HTML_LOADS.finditer(text)]
    for style in _STYLE.finditer(text):
        found += [m[1] for m in _CSS_LOADS.finditer(style[0])]
    return found


def test_the_site_loads_nothing_from_the_internet(site_dir: Path) -> None:
    """No CDN script, web font or remote stylesheet in any built file: the site works offline."""
    remote = [
        f"{path.relative_to(site_dir)}: {url}"
        for path in sorted(site_dir.rglob("*"))
        if path.suffix in (".html", ".css") and path.is_file()
        for url in remote_loads(path)
    ]
    assert not remote, "\n".join(remote)


def test_remote_loads_are_recognised(tmp_path: Path) -> None:
    page = tmp_path / "p.html"
    page.write_text(
        '<link rel="stylesheet" href="https://cdn.example/x.css">'
        '<script src="//cdn.example/x.js"></script><a href="https://ameli.fr">ameli</a>'
        '<pre><code>url("https://ror.example/fhir")</code></pre>'
        '<div style="background: url(https://img.example/a.png)"></div>'
    )
    assert remote_loads(page) == [
        "https://cdn.example/x.css",
        "//cdn.example/x.js",
        "https://img.example/a.png",
    ]


def test_search_finds_a_page(chromium: Any, site_url: str) -> None:
    """The offline search (lunr in a web worker, no server) answers from the built index."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    chromium.get(site_url + "/")
    box = WebDriverWait(chromium, 10).until(
        expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, "input.md-search__input"))
    )
    box.click()
    box.send_keys("Vitale")
    WebDriverWait(chromium, 20).until(
        expected_conditions.presence_of_element_located(
            (By.CSS_SELECTOR, ".md-search-result__item a")
        )
    )
    links = [
        a.get_attribute("href")
        for a in chromium.find_elements(By.CSS_SELECTOR, ".md-search-result__item a")
    ]
    assert links and all((href or "").startswith(site_url + "/") for href in links), links
    assert any("/insi/" in (href or "") for href in links), links


def test_markdown_reader_sees_what_a_renderer_needs(tmp_path: Path) -> None:
    """The Markdown side of the comparison: fences, tables, admonitions, headings."""
    sample = tmp_path / "sample.md"
    text = (
        "# Title `code`\n\n<!-- run -->\n```python\nx = 1  # ## not a heading\n```\n\n"
        '| a | b |\n|---|---|\n| 1 | 2 |\n\n!!! note "n"\n    body\n\n## [Link](x.md) *here*\n'
    )
    sample.write_text(text, encoding="utf-8")
    page = read_markdown(sample)
    assert page.headings == ["Title code", "Link here"]
    assert (page.fences, page.tables, page.admonitions) == (1, 1, 1)


API_PAGES = {
    "segurlink.config": "api/config",
    "segurlink.errors": "api/errors",
    "segurlink.identity": "api/identity",
    "segurlink.insi": "api/insi",
    "segurlink.cda": "api/cda",
    "segurlink.dmp": "api/dmp",
    "segurlink.psc": "api/psc",
    "segurlink.ror": "api/ror",
    "segurlink.mssante": "api/mssante",
    "segurlink.gateway": "api/gateway",
    "segurlink.hl7": "api/hl7",
    "segurlink.outbox": "api/outbox",
    "segurlink.testing": "api/testing",
    "segurlink_mocks": "api/mocks",
}
# A public name that is also the name of its module is documented under the module's path.
_SHADOWED = {"segurlink.cda.validate": "segurlink.cda.validate.validate"}


def test_api_reference_documents_every_public_name_once(site_dir: Path) -> None:
    """Each name of a public package's ``__all__`` has its entry, generated from its
    docstring, on its package's page; the names ``segurlink`` re-exports are documented
    there, not a second time on the top-level page."""
    import importlib

    import segurlink

    anchors: dict[str, set[str]] = {}
    for package, page in API_PAGES.items():
        text = (site_dir / page / "index.html").read_text(encoding="utf-8")
        anchors[package] = set(re.findall(r'id="([\w.]+)"', text))
        public = importlib.import_module(package).__all__
        missing = [
            name
            for name in public
            if _SHADOWED.get(f"{package}.{name}", f"{package}.{name}") not in anchors[package]
        ]
        assert not missing, f"{page}: no entry for {missing}"
    top = (site_dir / "api" / "index.html").read_text(encoding="utf-8")
    assert not re.findall(r'id="segurlink\.[A-Z]\w*"', top), "re-exports documented twice"
    for name in set(segurlink.__all__) - {"__version__"}:
        homes = [p for p in API_PAGES if f"{p}.{name}" in anchors[p]]
        assert homes, f"segurlink.{name} is documented on no API page"
