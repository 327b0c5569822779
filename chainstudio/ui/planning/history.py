"""The History feature: the dock it fills with the run history of the open graph, refreshed after each
run; a recorded run (or several, to compare) opens on the Gantt."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QDockWidget

from chainstudio.core.editing.changes import Changes
from chainstudio.core.editing.document import Document
from chainstudio.core.run.state import RunState
from chainstudio.core.storage.history import RunHistory
from chainstudio.ui.common.shell import ShowStatus
from chainstudio.ui.planning.history_panel import HistoryPanel


class HistoryUi(QObject):
    def __init__(
        self,
        history: RunHistory,
        document: Document,
        *,
        dock: QDockWidget,
        status: ShowStatus,
        show_runs: Callable[[list[RunState]], None],
        parent: QObject | None = None,
    ) -> None:
        """``show_runs(states)`` opens recorded runs on the Gantt."""
        super().__init__(parent)
        self.document = document
        self.show_runs = show_runs
        self.panel = HistoryPanel(history)
        dock.setWidget(self.panel)
        self.panel.openRun.connect(self._open)
        self.panel.compareRuns.connect(self._open)
        self.panel.exported.connect(lambda path: status(f"Exported {path}", 6000))
        self.panel.set_graph_name(document.graph.name)
        document.subscribe(self._document_changed)

    def refresh(self) -> None:
        """A run was recorded: list it."""
        self.panel.refresh()

    def _open(self, states: RunState | list[RunState]) -> None:
        self.show_runs(states if isinstance(states, list) else [states])

    def _document_changed(self, changes: Changes) -> None:
        if changes.reset or changes.graph_info:
            self.panel.set_graph_name(self.document.graph.name)
