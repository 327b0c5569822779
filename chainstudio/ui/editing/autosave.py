"""Autosave every few seconds while there are unsaved edits, and offer to restore what a crashed or
killed session left behind (the storage is chainstudio.core.storage.autosave). Dialogs open with .open()."""

from __future__ import annotations

import os
import time

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QMessageBox, QWidget

from chainstudio.core.editing.changes import Changes
from chainstudio.core.editing.document import Document
from chainstudio.core.storage.autosave import Autosaver, Recoverable, recoverable
from chainstudio.ui.common.shell import ShowStatus

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
        try:
            self.saver.write(document.graph, str(document.path) if document.path else None)
        except OSError as exc:
            self.status(f"Autosave failed: {exc}", 8000)
            return
        self._dirty = False
        self.autosaves += 1

    def discard(self) -> None:
        """A clean exit: nothing to recover."""
        self.timer.stop()
        self.saver.clear()

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
