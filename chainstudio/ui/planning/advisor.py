"""The Advisor feature: the Advise action and the dock it fills with the advisor panel, analysis of the
open graph with the run toolbar's options (again after edits, while the dock is in view), and advice
applied as one undoable edit that also lays the steps out by their new layers."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QWidget

from chainstudio.core.editing.changes import Changes
from chainstudio.core.editing.commands import Batch, Command, MoveNodes
from chainstudio.core.editing.document import Document
from chainstudio.core.editing.layout import auto_layout_positions
from chainstudio.core.editing.rules import CommandError
from chainstudio.ui.common.shell import ShowStatus
from chainstudio.ui.common.tasks import loop_running
from chainstudio.ui.planning.advisor_panel import AdvisorPanel
from chainstudio.ui.planning.plan_inputs import PlanInputs, runnable
from chainstudio.ui.run.toolbar import RunToolbar

DEBOUNCE_MS = 400


class AdvisorUi(QObject):
    def __init__(
        self,
        document: Document,
        toolbar: RunToolbar,
        plan: PlanInputs,
        *,
        host: QWidget,
        dock: QDockWidget,
        status: ShowStatus,
        fit_view: Callable[[], None],
    ) -> None:
        """``toolbar`` takes the concurrency advice and its changes make advice stale; ``fit_view`` shows
        the whole graph after an applied advice moved it."""
        super().__init__(host)
        self.document = document
        self.toolbar = toolbar
        self.plan = plan
        self.dock = dock
        self.status = status
        self.fit_view = fit_view
        self.panel = AdvisorPanel()
        dock.setWidget(self.panel)
        self.action = QAction("&Advise", host)
        self.action.setStatusTip("Should this chain run in parallel or sequentially? The seed's rules")
        self.action.triggered.connect(self.show)
        self._stale = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._refresh_if_stale)
        self.panel.applyCommand.connect(self.apply)
        self.panel.applyConcurrency.connect(lambda n: toolbar.set_options(concurrency=n))
        self.panel.refreshRequested.connect(self.refresh)
        dock.visibilityChanged.connect(self._visibility_changed)
        toolbar.optionsChanged.connect(self._timer.start)
        document.subscribe(self._document_changed)

    def show(self) -> None:
        self.dock.show()
        self.dock.raise_()
        self.refresh()

    def refresh(self) -> None:
        """Analyse the open graph now (in the background)."""
        if not loop_running():
            return
        self._stale = False
        if not runnable(self.document):
            checking = self.document.known_problems is None  # a big graph's check: advice follows it
            self.panel.show_message(
                "Checking the graph for problems…"
                if checking
                else "Fix the graph's problems first (see the Inspector)."
            )
            return
        self.panel.compute(self.document.graph, **self.plan.keywords(self.document.graph))

    def _visibility_changed(self, shown: bool) -> None:
        if shown:
            self.refresh()

    def _refresh_if_stale(self) -> None:
        if self._stale and self.dock.isVisible() and not self.dock.visibleRegion().isEmpty():
            self.refresh()

    def apply(self, command: Command) -> None:
        """Apply an advice and lay the steps out by their new layers, as one undoable edit."""
        trial = self.document.graph.copy()
        try:
            Batch([command]).apply(trial)
            layout = MoveNodes(auto_layout_positions(trial))
            self.document.execute(Batch([command, layout], label=command.label))
        except CommandError as exc:  # the graph changed since the advice was computed
            self.status(f"That advice no longer applies ({exc}); analysing again", 6000)
            self.refresh()
            return
        self.fit_view()
        self.status(f"Applied: {command.label} (Undo reverts it)", 6000)
        self.refresh()

    def shutdown(self) -> None:
        self._timer.stop()
        self.panel.cancel()

    def _document_changed(self, changes: Changes) -> None:
        if changes.structure or changes.nodes_changed or changes.graph_info or changes.checked:
            self._stale = True  # moves alone change no advice (a big graph's waits for its check)
            self._timer.start()
