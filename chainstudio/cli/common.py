"""Helpers shared by subcommands: loading graphs with readable errors, and the usage error."""

from __future__ import annotations

import sys

from chainstudio.core.errors import Refused
from chainstudio.core.graph.model import Graph
from chainstudio.core.storage.fileformat import LoadError, load


class UsageError(Refused):
    """A flag or file problem explained in one line; the command exits 2."""


def load_or_explain(path: str) -> Graph | None:
    """Load a graph or print each problem as ``path: error: where: why`` and return None."""
    try:
        return load(path)
    except LoadError as exc:
        for problem in exc.problems:
            print(f"{path}: error: {problem}", file=sys.stderr)
        return None
