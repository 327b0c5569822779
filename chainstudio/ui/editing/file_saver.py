"""Save a big graph without stopping the window: over ``SMALL_GRAPH_ITEMS`` steps and edges, File → Save
writes a snapshot of the graph on a worker thread (writing the 10,000-step graph took 0.6 s of the window's
thread) and marks the document saved as of that snapshot once it is written (``Document.saved``: an edit made
meanwhile keeps it modified). One save at a time; what comes after it (closing, opening another file) waits
for it. A smaller graph is written at once, as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from chainstudio.core.editing.document import Document
from chainstudio.core.editing.problem_check import SMALL_GRAPH_ITEMS
from chainstudio.core.graph.model import Graph
from chainstudio.core.run.topology import snapshot
from chainstudio.core.storage import fileformat
from chainstudio.ui.common.tasks import loop_running


def worth_a_thread(document: Document) -> bool:
    graph = document.graph
    return len(graph.nodes) + len(graph.edges) > SMALL_GRAPH_ITEMS and loop_running()


class FileSaver:
    """``save(path, done, failed)``: ``done(path)`` once written, ``failed(error)`` if it could not be."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.busy = False
        self._writer: ThreadPoolExecutor | None = None

    def save(self, path: str | Path, done: Callable[[Path], object], failed: Callable[[OSError], object]) -> None:
        if self.busy:  # one at a time (a second Ctrl+S while the first writes)
            return
        self.busy = True
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chainstudio-save")
        serial, graph = self.document.serial, self.document.graph
        future = self._writer.submit(fileformat.save, snapshot(graph), path)
        writing = asyncio.wrap_future(future)
        asyncio.ensure_future(self._written(writing, Path(path), graph, serial, done, failed))

    async def _written(
        self,
        writing: asyncio.Future[None],
        path: Path,
        graph: Graph,
        serial: int,
        done: Callable[[Path], object],
        failed: Callable[[OSError], object],
    ) -> None:
        try:
            await writing
        except OSError as exc:
            self.busy = False
            failed(exc)
            return
        self.busy = False
        if self.document.graph is graph:  # (another graph opened meanwhile: the file is written, that is all)
            path = self.document.saved(path, serial)
        done(path)
