"""The exception tree in ``chainstudio/core/errors.py``'s docstring is the truth about the classes.

Every module of ``chainstudio.core`` and ``chainstudio.cli`` is imported; every subclass of
``ChainStudioError`` they define must stand in the docstring's tree under its real parent and with its real
module, and the tree must name nothing else. No module there may define an exception outside the tree.
Nothing but the base is written down here: the classes come from the code, the tree from the docstring.

The tree's format (one class a line, four characters of indent a level, box-drawing characters allowed)::

    ChainStudioError              core.errors             the base
    ├── Refused                   core.errors             something asked for is not done
    │   └── CommandError          core.editing.rules      an edit that breaks a rule
    └── LoadError                 core.storage.fileformat a graph file that cannot be loaded

that is, each line is the class name, the module it is defined in (below ``chainstudio.``) and what it is for.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from dataclasses import dataclass
from types import ModuleType

import pytest

import chainstudio.cli
import chainstudio.core
from chainstudio.core import errors
from chainstudio.core.errors import ChainStudioError

PACKAGES = (chainstudio.core, chainstudio.cli)
_LINE = re.compile(
    r"^(?P<prefix>[│├└─ ]*)(?P<name>[A-Za-z_]\w*)\s+(?P<module>(?:core|cli)(?:\.\w+)*)(?:\s+(?P<what>.*))?$"
)


@dataclass(frozen=True)
class Documented:
    name: str
    parent: str | None
    module: str  # the full module name, ``chainstudio.`` included
    what: str


def documented_tree(doc: str) -> dict[str, Documented]:
    """The classes of the tree drawn in ``doc``, by name."""
    lines = doc.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(ChainStudioError.__name__))
    indent = len(lines[start]) - len(lines[start].lstrip())
    tree: dict[str, Documented] = {}
    parents: list[str] = []  # parents[depth] is the last class seen at that depth
    for line in lines[start:]:
        if not line.strip():
            break
        match = _LINE.match(line[indent:])
        assert match, f"a line of the tree in errors.py does not read 'Name  module  what': {line!r}"
        offset = len(match["prefix"])
        assert offset % 4 == 0, f"the tree's levels are four characters wide: {line!r}"
        depth = offset // 4
        assert depth <= len(parents), f"{match['name']} is indented deeper than under a parent: {line!r}"
        del parents[depth:]
        name = match["name"]
        assert name not in tree, f"{name} stands twice in the tree"
        tree[name] = Documented(name, parents[-1] if parents else None, f"chainstudio.{match['module']}", match["what"])
        parents.append(name)
    return tree


def all_modules() -> list[ModuleType]:
    modules = list(PACKAGES)
    for package in PACKAGES:
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
            modules.append(importlib.import_module(info.name))
    return modules


def defined_classes(module: ModuleType) -> list[type]:
    return [cls for _, cls in inspect.getmembers(module, inspect.isclass) if cls.__module__ == module.__name__]


def project_errors() -> dict[str, type[ChainStudioError]]:
    """Every subclass of the base defined in the core or the CLI, by name (the base included)."""
    walked = {module.__name__ for module in all_modules()}
    found: dict[str, type[ChainStudioError]] = {}
    pending: list[type[ChainStudioError]] = [ChainStudioError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__ not in walked:
            continue  # e.g. a test's own subclass
        other = found.setdefault(cls.__name__, cls)
        assert other is cls, f"two error classes are called {cls.__name__}: in {other.__module__} and {cls.__module__}"
    return found


def tree_parent(cls: type) -> str | None:
    """The one base of ``cls`` inside the tree (None for the base itself)."""
    if cls is ChainStudioError:
        return None
    bases = [base for base in cls.__bases__ if issubclass(base, ChainStudioError)]
    assert len(bases) == 1, f"{cls.__name__} derives from {len(bases)} classes of the tree; one is its parent"
    return bases[0].__name__


def test_the_tree_in_the_docstring_lists_exactly_the_error_classes() -> None:
    assert errors.__doc__
    tree = documented_tree(errors.__doc__)
    classes = project_errors()
    undocumented, gone = sorted(set(classes) - set(tree)), sorted(set(tree) - set(classes))
    assert not undocumented, f"classes missing from the tree in errors.py: {undocumented}"
    assert not gone, f"the tree in errors.py names classes the code does not define: {gone}"
    for name, cls in classes.items():
        entry = tree[name]
        assert entry.parent == tree_parent(cls), f"{name}: the tree says parent {entry.parent}"
        assert entry.module == cls.__module__, f"{name} is defined in {cls.__module__}, the tree says {entry.module}"
        assert entry.what, f"{name}: the tree says what it is for"


@pytest.mark.parametrize("module", all_modules(), ids=lambda m: m.__name__)
def test_no_module_defines_an_exception_outside_the_tree(module: ModuleType) -> None:
    strays = [
        cls.__name__
        for cls in defined_classes(module)
        if issubclass(cls, BaseException) and not issubclass(cls, ChainStudioError)
    ]
    assert not strays, f"{module.__name__} defines exceptions outside the tree in chainstudio/core/errors.py: {strays}"


def test_the_parser_reads_the_documented_format() -> None:
    assert __doc__
    tree = documented_tree(__doc__)
    assert tree == {
        "ChainStudioError": Documented("ChainStudioError", None, "chainstudio.core.errors", "the base"),
        "Refused": Documented(
            "Refused", "ChainStudioError", "chainstudio.core.errors", "something asked for is not done"
        ),
        "CommandError": Documented(
            "CommandError", "Refused", "chainstudio.core.editing.rules", "an edit that breaks a rule"
        ),
        "LoadError": Documented(
            "LoadError", "ChainStudioError", "chainstudio.core.storage.fileformat", "a graph file that cannot be loaded"
        ),
    }


def test_the_parser_refuses_a_line_it_cannot_read() -> None:
    with pytest.raises(AssertionError, match="does not read"):
        documented_tree("    ChainStudioError  core.errors  base\n    └── Broken\n")
