"""Module sizes: every module under ``chainstudio/`` has at most 600 lines, and one over 400 lines says why.

The reason goes in the first paragraph of the module's docstring, in a sentence with the fixed words
``over 400 lines`` (any case) followed by the reason, e.g.::

    \"\"\"The run executor's scheduler. Over 400 lines because the three strategies share one ready-set
    loop that reads best in one place.

    The rest of the docstring...
    \"\"\"

Lines are counted as ``wc -l`` counts them (newline characters).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "chainstudio"
MOST = 600
EXPLAINED_ABOVE = 400
REASON = re.compile(r"over 400 lines\W+\w", re.IGNORECASE)  # the phrase, then at least a word of reason
MODULES = sorted(PACKAGE.rglob("*.py"))


def line_count(path: Path) -> int:
    return path.read_bytes().count(b"\n")


def first_paragraph(path: Path) -> str:
    """The first paragraph of the module's docstring ('' without one), its lines joined by spaces."""
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return " ".join(docstring.strip().split("\n\n")[0].split())


def explains_its_size(path: Path) -> bool:
    return REASON.search(first_paragraph(path)) is not None


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_module_size(path: Path) -> None:
    lines = line_count(path)
    assert lines <= MOST, f"{path.relative_to(PACKAGE.parent)} has {lines} lines; the most is {MOST}: split it"
    if lines > EXPLAINED_ABOVE:
        assert explains_its_size(path), (
            f"{path.relative_to(PACKAGE.parent)} has {lines} lines; over {EXPLAINED_ABOVE}, the first paragraph of "
            "its docstring must say why, with the words 'over 400 lines' and the reason"
        )


def test_the_package_has_modules() -> None:
    assert len(MODULES) > 50


def test_the_reason_is_read_from_the_first_paragraph_only(tmp_path: Path) -> None:
    explained = tmp_path / "explained.py"
    explained.write_text('"""A long module.\n\nOver 400 lines because\nit must be.\n"""\n', encoding="utf-8")
    assert not explains_its_size(explained)
    explained.write_text('"""A long module: over 400 lines\nbecause it must be.\n\nMore."""\n', encoding="utf-8")
    assert explains_its_size(explained)
    bare = tmp_path / "bare.py"
    bare.write_text('"""A long module, over 400 lines."""\n', encoding="utf-8")
    assert not explains_its_size(bare)
