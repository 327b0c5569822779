"""Autosave every few seconds while there are unsaved edits, and offer to restore what a crashed or
killed session left behind (the storage is chainstudio.core.storage.autosave). Dialogs open with .open().

A graph of over ``SMALL_GRAPH_ITEMS`` steps and edges is written on a worker thread from a snapshot of it
(writing the 10,000-step graph took 0.6-0.7 s of the window's thread after every edit); one write at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QMessageBox, QWidget

from chainstudio.core.editing.changes import Changes
from chainstudio.core.editing.document import Document
from chainstudio.core.editing.problem_check import is_small
from chainstudio.core.graph.model import Graph
from chainstudio.core.run.topology import snapshot
from chainstudio.core.storage.autosave import Autosaver, Recoverable, recoverable
from chainstudio.ui.common.shell import ShowStatus
from chainstudio.ui.common.tasks import loop_running

DEFAULT_INTERVAL_MS = 3000


class AutosaveUi(QObject):
    def __init__(
        self, document: Document, *, host: QWidget, status: ShowStatus, interval_ms: int | None = None
    ) -> None:
        """``host`` parents the restore question."""
        super().__init__(host)
        self.document = document
        self.host = host
        self.status = status
        self.saver = Autosaver()
        self._dirty = False
        self.autosaves = 0
        self._writer: ThreadPoolExecutor | None = None  # big graphs: written on this one worker thread
        self._writing: Future[None] | None = None
        self.offer: QMessageBox | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms or int(os.environ.get("CHAINSTUDIO_AUTOSAVE_MS", DEFAULT_INTERVAL_MS)))
        self.timer.timeout.connect(self.autosave)
        self.timer.start()
        document.subscribe(self._changed)

    def _changed(self, changes: Changes) -> None:
        self._dirty = self._dirty or not (changes.problems or changes.checked)  # (the graph is the same)

    def autosave(self, force: bool = False) -> None:
        """Write the unsaved graph now (atomically); remove the autosave once the document is clean.
        ``force``: write it even if it was written since the last change (the app is about to end)."""
        document = self.document
        if not document.modified:
            if self._dirty:
                self.saver.clear()
                self._dirty = False
            return
        if not self._dirty and not force:
            return
        graph, source = document.graph, str(document.path) if document.path else None
        if not force and not is_small(graph) and loop_running():
            self._write_on_worker(graph, source)
            return
        self._finish_writing()  # (at the end: the worker's write may not come after this one)
        try:
            self.saver.write(graph, source)
        except OSError as exc:
            self.status(f"Autosave failed: {exc}", 8000)
            return
        self._dirty = False
        self.autosaves += 1

    def _write_on_worker(self, graph: Graph, source: str | None) -> None:
        if self._writing is not None:  # one write at a time: still dirty, the next tick writes again
            return
        self._dirty = False
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chainstudio-autosave")
        self._writing = self._writer.submit(self.saver.write, snapshot(graph), source)
        asyncio.ensure_future(self._written(self._writing))

    async def _written(self, writing: Future[None]) -> None:
        try:
            await asyncio.wrap_future(writing)
        except OSError as exc:
            self._dirty = True
            self.status(f"Autosave failed: {exc}", 8000)
        else:
            self.autosaves += 1
        finally:
            self._writing = None
        if not self.document.modified:  # saved meanwhile: nothing to recover
            self.saver.clear()

    def _finish_writing(self) -> None:
        """Wait for a write under way on the worker (a few hundred ms at most), so none lands after this."""
        writing = self._writing
        if writing is not None:
            with contextlib.suppress(Exception):  # its failure was or will be said; the caller writes or clears
                writing.result(timeout=30)

    def discard(self) -> None:
        """A clean exit: nothing to recover."""
        self.timer.stop()
        self._finish_writing()
        self.saver.clear()
        if self._writer is not None:
            self._writer.shutdown(wait=False)

    # --- after a crash --------------------------------------------------------------------------
    def offer_restore(self) -> Recoverable | None:
        """If an earlier session left unsaved edits, ask (non-blocking) whether to restore them."""
        items = recoverable()
        if not items:
            return None
        item = items[0]
        when = time.strftime("%H:%M:%S on %Y-%m-%d", time.localtime(item.saved_at))
        target = item.source_file or f"the unsaved graph '{item.graph_name}'"
        more = f"\n\n({len(items) - 1} older autosave(s) will be kept for later.)" if len(items) > 1 else ""
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Restore unsaved changes?",
            f"ChainStudio did not close normally. Unsaved changes to {target} were autosaved at "
            f"{when}.\n\nRestore them?{more}",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Discard,
            self.host,
        )
        box.button(QMessageBox.StandardButton.Yes).setText("Restore")
        box.finished.connect(lambda result: self._answer(item, result == QMessageBox.StandardButton.Yes))
        self.offer = box
        box.open()
        return item

    def _answer(self, item: Recoverable, restore: bool) -> None:
        if restore:
            graph = item.load()
            self.document.replace(graph, item.source_file, unsaved=True)
            self.status("Restored the autosaved changes; save to keep them", 8000)
            self._dirty = True
            self.autosave()  # the restored edits are now this session's autosave
        item.discard()
