"""The executable-docs convention, read the same way by every docs test.

A Python block preceded by ``<!-- run -->`` is run (in order, one namespace per page); one
preceded by ``<!-- pytest -->`` is a test file an editor would write. The marker is an HTML
comment, so the fence stays a plain ```` ```python ```` block that every Markdown renderer
highlights, and the marker is invisible on the site.
"""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"


def blocks(page: str, kind: str | None = None) -> list[str]:
    """The ``python`` blocks of ``docs/<page>`` marked ``<!-- kind -->`` (all if ``None``)."""
    text = (DOCS / page).read_text(encoding="utf-8")
    marker = rf"<!-- {re.escape(kind)} -->\n" if kind else r"(?:<!-- \w+ -->\n)?"
    return re.findall(rf"^{marker}```python\n(.*?)^```", text, re.M | re.S)
