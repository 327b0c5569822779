"""Autosave and crash recovery.

Each running app instance writes its unsaved graph to ``autosave/<pid>-<token>.chain.json`` in the user
data directory (atomically), with a small ``.meta.json`` beside it saying which file it belongs to. A
clean exit or a save removes them. At the next launch, autosaves whose process is gone are offered for
restore: that is what is left after a crash or a SIGKILL.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

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
        whether the user keeps them in the file."""
        atomic_write_text(self.graph_path, dumps(graph, pins=True))
        meta = {
            "pid": os.getpid(),
            "source_file": source_file,
            "saved_at": time.time(),
            "graph_name": graph.name,
            "save_pins": graph.save_pins,
        }
        atomic_write_text(_meta_path(self.graph_path), json.dumps(meta))

    def clear(self) -> None:
        _remove(self.graph_path)


def recoverable(directory: Path | None = None) -> list[Recoverable]:
    """Autosaves left by processes that are no longer running, newest first."""
    directory = directory or autosave_dir()
    found: list[Recoverable] = []
    for meta_path in directory.glob("*.meta.json"):
        graph_path = meta_path.with_name(meta_path.name.removesuffix(".meta.json") + ".chain.json")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            pid = int(meta.get("pid", -1))
        except (OSError, ValueError, TypeError, AttributeError):
            continue
        if _pid_alive(pid) or not graph_path.exists():
            continue
        try:
            load(graph_path)
        except LoadError:
            continue
        save_pins = meta.get("save_pins")
        found.append(
            Recoverable(
                graph_path,
                meta.get("source_file"),
                float(meta.get("saved_at", 0.0)),
                str(meta.get("graph_name", "")),
                save_pins if isinstance(save_pins, bool) else None,
            )
        )
    return sorted(found, key=lambda r: r.saved_at, reverse=True)
