"""Save a big graph without stopping the window: over ``SMALL_GRAPH_ITEMS`` steps and edges, File → Save
writes a snapshot of the graph on a worker thread (writing the 10,000-step graph took 0.6 s of the window's
thread) and marks the document saved as of that snapshot once it is written (``Document.saved``: an edit made
meanwhile keeps it modified). One save at a time; what comes after it (closing, opening another file) waits
for it. A smaller graph is written at once, as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from chainstudio.core.editing.document import Document
from chainstudio.core.editing.problem_check import is_small
from chainstudio.core.graph.model import Graph
from chainstudio.core.run.topology import snapshot
from chainstudio.core.storage import fileformat
from chainstudio.ui.common.tasks import loop_running
from chainstudio.ui.common.worker import run_in_thread


def worth_a_thread(document: Document) -> bool:
    return not is_small(document.graph) and loop_running()


class FileSaver:
    """``save(path, done, failed)``: ``done(path)`` once written, ``failed(error)`` if it could not be."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.busy = False

    def save(self, path: str | Path, done: Callable[[Path], object], failed: Callable[[OSError], object]) -> None:
        if self.busy:  # one at a time (a second Ctrl+S while the first writes)
            return
        self.busy = True
        graph = self.document.graph  # the state now: edits made while it is written are not in the file
        written = run_in_thread(fileformat.save, snapshot(graph), Path(path))
        asyncio.ensure_future(self._written(written, Path(path), graph, self.document.serial, done, failed))

    async def _written(
        self,
        writing: Coroutine[Any, Any, None],
        path: Path,
        graph: Graph,
        serial: int,
        done: Callable[[Path], object],
        failed: Callable[[OSError], object],
    ) -> None:
        try:
            await writing
        except OSError as exc:
            failed(exc)
            return
        finally:
            self.busy = False
        if self.document.graph is graph:  # (another graph opened meanwhile: the file is written, that is all)
            path = self.document.saved(path, serial)
        done(path)
