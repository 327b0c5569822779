"""docs/performance.md is shared by the benchmark scripts: each one replaces only its own section."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"


def write_section(heading: str, text: str, doc: Path = DOC) -> None:
    """Replace the section that starts with the line ``heading`` (e.g. "## Stress") by ``text``, or append it."""
    doc.parent.mkdir(parents=True, exist_ok=True)
    current = doc.read_text(encoding="utf-8") if doc.exists() else "# Performance\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(current):
        updated = pattern.sub(lambda _m: text.rstrip("\n") + "\n\n", current, count=1)
    else:
        updated = current.rstrip("\n") + "\n\n" + text
    doc.write_text(updated.rstrip("\n") + "\n", encoding="utf-8")
