"""Griffe extension: segurlink's reST-flavoured docstrings, read as Markdown by mkdocstrings.

The docstrings are written for ``help()`` and doctest: ``>>>`` examples, ``:class:`X```
roles, ``::`` literal blocks. Markdown would show the examples as nested quotes and the
roles as text, so each docstring is rewritten once when the API reference is built:
doctest runs become ``pycon`` fences, roles become code spans, ``::`` a plain colon.
Nothing in the package changes; ``help()`` and the doctests read the originals.
"""

from __future__ import annotations

import re
from typing import Any

from griffe import Extension, Object

_ROLE = re.compile(r":(?:class|meth|func|mod|data|attr|exc|obj|const):`~?([^`]+)`")
_PROMPT = re.compile(r"^(\s*)>>> ")


def markdown_docstring(text: str) -> str:
    """``text`` with doctest runs fenced, reST roles as code spans, ``::`` as ``:``."""
    text = _ROLE.sub(lambda m: f"`{m[1]}`", text)
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        prompt = _PROMPT.match(line)
        if prompt is None:
            if line.rstrip().endswith("::"):
                line = line.rstrip()[:-1] if line.strip() != "::" else ""
            out.append(line)
            i += 1
            continue
        indent = prompt[1]
        if out and out[-1].strip():
            out.append("")
        out.append(f"{indent}```pycon")
        while i < len(lines) and lines[i].strip():
            out.append(lines[i])
            i += 1
        out.append(f"{indent}```")
    return "\n".join(out)


class MarkdownDocstrings(Extension):
    """Rewrites every docstring of the loaded packages (see :func:`markdown_docstring`)."""

    def on_package(self, *, pkg: Object, **kwargs: Any) -> None:
        self._rewrite(pkg, set())

    def _rewrite(self, obj: Object, seen: set[str]) -> None:
        if obj.path in seen:
            return
        seen.add(obj.path)
        if obj.docstring is not None:
            obj.docstring.value = markdown_docstring(obj.docstring.value)
        for member in obj.members.values():
            if not member.is_alias:
                self._rewrite(member, seen)  # type: ignore[arg-type]
