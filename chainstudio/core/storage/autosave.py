"""Autosave and crash recovery.

Each running app instance writes its unsaved graph to ``autosave/<pid>-<token>.chain.json`` in the user
data directory (atomically), with a small ``.meta.json`` beside it saying which file it belongs to. A
clean exit or a save removes them. At the next launch, autosaves whose process is gone are offered for
restore: that is what is left after a crash or a SIGKILL. The file an autosave belongs to is recorded as an
absolute path, so a restore in a session started elsewhere saves to the same file.
"""

from __future__ import annotations

import json
import math
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chainstudio.core import strict_json
from chainstudio.core.graph.model import Graph
from chainstudio.core.storage.fileformat import LoadError, atomic_write_text, dumps, load
from chainstudio.paths import user_data_dir


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class Recoverable:
    graph_path: Path
    source_file: str | None  # the file the unsaved edits belong to (None: a new, never-saved graph)
    saved_at: float
    graph_name: str
    save_pins: bool | None = None  # whether the file keeps its pins (an autosave always keeps them)

    def load(self) -> Graph:
        graph = load(self.graph_path)
        if self.save_pins is not None:
            graph.save_pins = self.save_pins
        return graph

    def discard(self) -> None:
        _remove(self.graph_path)


def _meta_path(graph_path: Path) -> Path:
    return graph_path.with_name(graph_path.name.removesuffix(".chain.json") + ".meta.json")


def _remove(graph_path: Path) -> None:
    """Delete an autosave and its meta file (either may already be gone)."""
    graph_path.unlink(missing_ok=True)
    _meta_path(graph_path).unlink(missing_ok=True)


def autosave_dir() -> Path:
    path = user_data_dir() / "autosave"
    path.mkdir(parents=True, exist_ok=True)
    return path


class Autosaver:
    """One per open document in a running app."""

    def __init__(self, directory: Path | None = None):
        self.directory = directory or autosave_dir()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.graph_path = self.directory / f"{os.getpid()}-{uuid.uuid4().hex[:8]}.chain.json"

    def write(self, graph: Graph, source_file: str | None) -> None:
        """Autosave ``graph`` with its pins (pinned outputs typed by hand survive a crash), remembering
        whether the user keeps them in the file, and the unsaved state of ``source_file`` (recorded as an
        absolute path: the next session may start in another directory)."""
        atomic_write_text(self.graph_path, dumps(graph, pins=True))
        meta = {
            "pid": os.getpid(),
            "source_file": str(Path(source_file).absolute()) if source_file else None,
            "saved_at": time.time(),
            "graph_name": graph.name,
            "save_pins": graph.save_pins,
        }
        atomic_write_text(_meta_path(self.graph_path), json.dumps(meta))

    def clear(self) -> None:
        _remove(self.graph_path)


META_LIMIT = 1024 * 1024
PATH_LIMIT = 4096  # PATH_MAX
MAX_NAME = 200  # a graph's name, as the file format limits it


def _recoverable(graph_path: Path, meta: Any) -> Recoverable | None:
    """The autosave ``graph_path`` described by ``meta`` if its process is gone, else None. The note is read
    as written by someone else: a value of the wrong type or size is a ValueError (the window did not open:
    "internal error (ValueError: could not convert string to float: 'abc')")."""
    pid, saved_at = meta.get("pid", -1), meta.get("saved_at", 0.0)
    source, name = meta.get("source_file"), meta.get("graph_name", "")
    if type(pid) is not int or not -1 <= pid <= 2**31 - 1:  # os.kill takes a C int (10**30: OverflowError)
        raise ValueError("pid")
    if type(saved_at) not in (int, float) or not math.isfinite(saved_at):
        raise ValueError("saved_at")
    if not (source is None or (isinstance(source, str) and 0 < len(source) <= PATH_LIMIT)):
        raise ValueError("source_file")
    if not isinstance(name, str) or len(name) > MAX_NAME:
        raise ValueError("graph_name")
    if _pid_alive(pid) or not graph_path.exists():
        return None
    load(graph_path)
    save_pins = meta.get("save_pins")
    return Recoverable(graph_path, source, float(saved_at), name, save_pins if isinstance(save_pins, bool) else None)


def recoverable(directory: Path | None = None) -> list[Recoverable]:
    """Autosaves left by processes that are no longer running, newest first."""
    directory = directory or autosave_dir()
    found: list[Recoverable] = []
    for meta_path in directory.glob("*.meta.json"):
        graph_path = meta_path.with_name(meta_path.name.removesuffix(".meta.json") + ".chain.json")
        try:
            item = _recoverable(graph_path, strict_json.load_file(meta_path, META_LIMIT))
        except (OSError, ValueError, TypeError, AttributeError, LoadError):
            continue  # a note that is no note (a FIFO, /dev/zero, nested, 'saved_at': 'abc'): not offered
        if item is not None:
            found.append(item)
    return sorted(found, key=lambda r: r.saved_at, reverse=True)
