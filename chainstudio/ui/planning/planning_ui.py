"""Compare and plan in the main window: the estimate in the run toolbar (and estimate against actual after
a run), the Advisor, History and Compare docks, wired to the document, the run controller and the Gantt."""

from __future__ import annotations

import asyncio
import logging

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget

from chainstudio.core.editing.changes import Changes
from chainstudio.core.editing.commands import Batch, MoveNodes
from chainstudio.core.editing.layout import auto_layout_positions
from chainstudio.core.editing.rules import CommandError
from chainstudio.core.graph.validation import errors, validate
from chainstudio.core.planning.estimate import calibration
from chainstudio.core.run.rate_limits import RateLimits
from chainstudio.core.run.state import RunState
from chainstudio.core.run.warm_up import warm_up
from chainstudio.core.storage.settings import load_settings
from chainstudio.ui.canvas.run_overlay import estimate_badges
from chainstudio.ui.planning.advisor_panel import AdvisorPanel
from chainstudio.ui.planning.compare_view import CompareView
from chainstudio.ui.planning.estimate_label import EstimateLabel, compute_estimate
from chainstudio.ui.planning.history_panel import HistoryPanel

log = logging.getLogger(__name__)
DEBOUNCE_MS = 400


def _loop_running() -> bool:
    """Background work needs the app's asyncio (qasync) loop; without one (a bare widget test) skip it."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class PlanUi(QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        runs = window.runs
        self.history = runs.controller.history
        self.estimate_label = EstimateLabel()
        runs.toolbar.insertWidget(runs.toolbar.speed_action, self.estimate_label)
        self.advisor = AdvisorPanel()
        self.history_panel = HistoryPanel(self.history)
        self.compare = CompareView()
        self.advisor_dock = window._dock("Advisor", "advisor_dock", self.advisor, Qt.DockWidgetArea.RightDockWidgetArea)
        window.tabifyDockWidget(window.inspector_dock, self.advisor_dock)
        window.inspector_dock.raise_()
        self.history_dock = window._dock(
            "History", "history_dock", self.history_panel, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.compare_dock = window._dock(
            "Compare", "compare_dock", self.compare, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        window.tabifyDockWidget(window.output_dock, self.history_dock)
        window.tabifyDockWidget(self.history_dock, self.compare_dock)
        window.gantt_dock.raise_()
        self.compare_action = QAction("&Compare Strategies", window)
        self.compare_action.setShortcut(QKeySequence("Ctrl+B"))
        self.compare_action.setStatusTip("Run the graph sequential, layered and eager and compare them")
        self.compare_action.triggered.connect(self.compare_strategies)
        self.advise_action = QAction("&Advise", window)
        self.advise_action.setStatusTip("Should this chain run in parallel or sequentially? The seed's rules")
        self.advise_action.triggered.connect(self.show_advisor)
        window.addAction(self.compare_action)
        run_menu = window.run_menu
        first = run_menu.actions()[2] if len(run_menu.actions()) > 2 else None
        run_menu.insertActions(first, [self.compare_action, self.advise_action])
        self._estimate_task: asyncio.Task | None = None
        self._estimate = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.update_estimate)
        self._timer.timeout.connect(self._refresh_stale_advice)
        self._advice_stale = False
        self._wire()

    def shutdown(self) -> None:
        """The window is closing: stop background work that would outlive it."""
        self._timer.stop()
        for task in (self._estimate_task, getattr(self.advisor, "_task", None)):
            if task is not None and not task.done():
                task.cancel()
        if self.compare.runner.running:
            self.compare.runner.cancel()

    def docks(self) -> list[QDockWidget]:
        return [self.advisor_dock, self.history_dock, self.compare_dock]

    def _wire(self) -> None:
        window, runs = self.window, self.window.runs
        window.document.subscribe(self._document_changed)
        runs.toolbar.optionsChanged.connect(self._timer.start)
        runs.controller.finished.connect(self._run_finished)  # after the run is in the history
        self.advisor.applyCommand.connect(self._apply_command)
        self.advisor.applyConcurrency.connect(lambda n: runs.toolbar.set_options(concurrency=n))
        self.advisor.refreshRequested.connect(self.refresh_advice)
        self.advisor_dock.visibilityChanged.connect(lambda shown: shown and self.refresh_advice())
        self.history_panel.openRun.connect(self._show_runs)
        self.history_panel.compareRuns.connect(self._show_runs)
        self.history_panel.exported.connect(lambda path: window.statusBar().showMessage(f"Exported {path}", 6000))
        self.history_panel.set_graph_name(window.document.graph.name)

    # --- options shared by estimate, advisor and compare ------------------------------------------
    def _plan_options(self) -> dict:
        options = self.window.runs.toolbar.options()
        settings = load_settings()
        limits = RateLimits(settings.requests_per_minute, settings.tokens_per_minute)
        graph = self.window.document.graph
        try:
            observations = calibration(self.history, graph, options.provider) if self.history else {}
        except Exception as exc:  # noqa: BLE001 - a broken history must not stop planning
            log.warning("cannot calibrate from the history: %s", exc)
            observations = {}
        return {
            "strategy": options.strategy,
            "concurrency": options.concurrency,
            "rate_limits": limits if limits.any else None,
            "observations": observations,
        }

    def _runnable(self) -> bool:
        return not errors(validate(self.window.document.graph))

    # --- estimate -----------------------------------------------------------------------------------
    def update_estimate(self) -> None:
        if not _loop_running():
            return
        if not self._runnable():
            self.estimate_label.clear()
            return
        if self._estimate_task is not None and not self._estimate_task.done():
            self._estimate_task.cancel()
        self.estimate_label.set_busy()
        caps = self.window.runs.toolbar.options()
        self._estimate_task = asyncio.get_running_loop().create_task(
            self._compute_estimate(self.window.document.graph.copy(), self._plan_options(), caps)
        )

    async def _compute_estimate(self, graph, options: dict, toolbar) -> None:
        try:
            result = await compute_estimate(graph, **options)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - e.g. an input without a value: no estimate, no crash
            log.info("no estimate: %s", exc)
            self.estimate_label.clear()
            return
        if not shiboken6.isValid(self.estimate_label):  # the window went away while the estimate ran
            return
        self._estimate = result
        self.estimate_label.set_estimate(result, toolbar.cost_cap, toolbar.token_cap)
        if self.window.runs.state is None:  # no run on the canvas: show the prediction per step
            estimate_badges(self.window.scene, result)

    def _run_finished(self, state: RunState) -> None:
        if self._estimate is not None and state.started and state.started.strategy == self._estimate.strategy:
            self.estimate_label.set_actual(state)
        self.history_panel.refresh()

    # --- advisor ------------------------------------------------------------------------------------
    def show_advisor(self) -> None:
        self.advisor_dock.show()
        self.advisor_dock.raise_()
        self.refresh_advice()

    def _refresh_stale_advice(self) -> None:
        if self._advice_stale and self.advisor_dock.isVisible() and not self.advisor_dock.visibleRegion().isEmpty():
            self.refresh_advice()

    def refresh_advice(self) -> None:
        if not _loop_running():
            return
        self._advice_stale = False
        if not self._runnable():
            self.advisor.show_message("Fix the graph's problems first (see the Inspector).")
            return
        self.advisor.compute(self.window.document.graph, **self._plan_options())

    def _apply_command(self, command) -> None:
        """Apply an advice and lay the steps out by their new layers, as one undoable edit."""
        trial = self.window.document.graph.copy()
        try:
            Batch([command]).apply(trial)
            layout = MoveNodes(auto_layout_positions(trial))
            self.window.document.execute(Batch([command, layout], label=command.label))
        except CommandError as exc:  # the graph changed since the advice was computed
            self.window.statusBar().showMessage(f"That advice no longer applies ({exc}); analysing again", 6000)
            self.refresh_advice()
            return
        self.window.view.fit()
        self.window.statusBar().showMessage(f"Applied: {command.label} (Undo reverts it)", 6000)
        self.refresh_advice()

    # --- compare ------------------------------------------------------------------------------------
    def compare_strategies(self) -> None:
        runs = self.window.runs
        options = runs.toolbar.options()
        document = self.window.document

        def make_context(index: int):
            return runs.controller.context_for(
                type(options)(**{**options.__dict__, "seed": options.seed + index, "speed": max(options.speed, 20.0)})
            )

        def on_run(file: str, strategy: str, index: int, run) -> None:
            self.history.add(
                run.events,
                run.graph,
                source="gui compare",
                file=file,
                state=run.state,
                settings={"strategy": strategy, "concurrency": run.context.concurrency},
            )

        try:
            make_context(0)
        except ValueError as exc:
            runs._problem(str(exc))
            return
        warm_up()  # a first-use load mid-run would be magnified by the simulated speed-up
        self.compare.set_source(
            document.graph, make_context, file=str(document.path) if document.path else None, on_run=on_run
        )
        self.compare_dock.show()
        self.compare_dock.raise_()
        self.compare.run_comparison()

    def _show_runs(self, states) -> None:
        states = states if isinstance(states, list) else [states]
        self.window.runs.gantt.set_states(states)
        self.window.gantt_dock.raise_()

    # --- document -----------------------------------------------------------------------------------
    def _document_changed(self, changes: Changes) -> None:
        if changes.reset or changes.graph_info:
            self.history_panel.set_graph_name(self.window.document.graph.name)
        if changes.structure or changes.nodes_changed or changes.graph_info:
            self._timer.start()  # moves alone change no estimate (nor advice)
            self._advice_stale = True
