"""Helpers shared by subcommands: loading graphs with readable errors."""

from __future__ import annotations

import sys

from chainstudio.core.storage.fileformat import LoadError, load
from chainstudio.core.graph.model import Graph


class CommandError(Exception):
    """A failure already explained to the user; the command exits with ``code``."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def load_or_explain(path: str) -> Graph | None:
    """Load a graph or print each problem as ``path: error: where: why`` and return None."""
    try:
        return load(path)
    except LoadError as exc:
        for problem in exc.problems:
            print(f"{path}: error: {problem}", file=sys.stderr)
        return None
