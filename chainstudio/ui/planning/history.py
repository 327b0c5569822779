"""The History feature: the dock it fills with the run history of the open graph, refreshed after each
run, and whenever runs were recorded meanwhile (a comparison, the CLI in another process): while the dock
is in view it checks the history's stamp (a count and the newest time) every ``POLL_MS``; a recorded run
(or several, to compare) opens on the Gantt."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QDockWidget

from chainstudio.core.editing.changes import Changes
from chainstudio.core.editing.document import Document
from chainstudio.core.run.state import RunState
from chainstudio.core.storage.history import RunHistory
from chainstudio.ui.common.shell import ShowStatus
from chainstudio.ui.planning.history_panel import HistoryPanel

POLL_MS = 1500


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
        self.history = history
        self.dock = dock
        self._stamp: tuple[int, float] | None = None
        self.panel = HistoryPanel(history)
        dock.setWidget(self.panel)
        self.panel.openRun.connect(self._open)
        self.panel.compareRuns.connect(self._open)
        self.panel.exported.connect(lambda path: status(f"Exported {path}", 6000))
        self.panel.set_graph_name(document.graph.name)
        document.subscribe(self._document_changed)
        self.poll = QTimer(self)
        self.poll.setInterval(POLL_MS)
        self.poll.timeout.connect(self.refresh_if_changed)
        self.poll.start()
        dock.visibilityChanged.connect(self._visibility_changed)

    def refresh(self, *_args: object) -> None:
        """A run was recorded: list it."""
        self.panel.refresh()
        self._stamp = self._read_stamp()

    def refresh_if_changed(self) -> None:
        """While the dock is in view: list runs recorded since the last look (by anyone)."""
        if not self.dock.isVisible() or self.dock.visibleRegion().isEmpty():
            return
        stamp = self._read_stamp()
        if stamp is not None and stamp != self._stamp:
            self.refresh()

    def _visibility_changed(self, shown: bool) -> None:
        if shown:
            self.refresh_if_changed()

    def _read_stamp(self) -> tuple[int, float] | None:
        try:
            return self.history.stamp(self.panel.graph_name)
        except Exception:  # noqa: BLE001 - an unreadable history: the panel says so on its next refresh
            return None

    def shutdown(self) -> None:
        self.poll.stop()

    def _open(self, states: RunState | list[RunState]) -> None:
        self.show_runs(states if isinstance(states, list) else [states])

    def _document_changed(self, changes: Changes) -> None:
        if changes.reset or changes.graph_info:
            self.panel.set_graph_name(self.document.graph.name)
            self._stamp = self._read_stamp()
