"""The live-run feature of the main window: Run/Stop/Settings actions and the run toolbar, the Gantt and
Output docks it fills, the run drawn on the canvas, and the selection kept in step between canvas, Gantt
and output panel. The window places the actions and the toolbar; this feature only fills them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QDockWidget, QMessageBox, QWidget

from chainstudio.core.editing.changes import Changes
from chainstudio.core.editing.document import Document
from chainstudio.core.graph.validation import Problem, errors
from chainstudio.core.launch import RunOptions
from chainstudio.core.run.context import RunError
from chainstudio.core.run.savings import reuse_text, saved_text, savings
from chainstudio.core.run.state import RunState
from chainstudio.core.run.warm_up import warm_up
from chainstudio.core.storage.recorded import partial_scope
from chainstudio.core.storage.settings import Settings
from chainstudio.ui.canvas.run_overlay import apply_to_scene
from chainstudio.ui.canvas.scene import CanvasScene
from chainstudio.ui.common.shell import SelectNode, ShowStatus
from chainstudio.ui.gantt import GanttWidget
from chainstudio.ui.run.controller import RunController
from chainstudio.ui.run.inputs_dialog import InputsDialog
from chainstudio.ui.run.output_panel import OutputPanel
from chainstudio.ui.run.settings_dialog import SettingsDialog
from chainstudio.ui.run.toolbar import RunToolbar
from chainstudio.ui.services import AppServices

LIVE_STATUSES = ("running", "retrying", "waiting")


class RunUi(QObject):
    def __init__(
        self,
        services: AppServices,
        document: Document,
        scene: CanvasScene,
        *,
        host: QWidget,
        gantt_dock: QDockWidget,
        output_dock: QDockWidget,
        status: ShowStatus,
        select_node: SelectNode,
        show_problems: Callable[[list[Problem]], None] | None = None,
    ) -> None:
        """``host`` parents the actions (their shortcuts work anywhere in it) and the dialogs;
        ``show_problems`` shows why a run cannot start where the user looks (else: the status bar)."""
        super().__init__(host)
        self.services = services
        self.document = document
        self.scene = scene
        self.host = host
        self.gantt_dock = gantt_dock
        self.status = status
        self.select_node = select_node
        self.show_problems = show_problems
        self.controller = RunController(services, self)
        self.state: RunState | None = None  # the run drawn on the canvas, if any
        self.cache_on: Callable[[], bool] = lambda: False  # whether runs use the step cache (ReuseUi decides)
        self.gantt = GanttWidget()
        self.gantt.setMinimumHeight(220)
        self.output = OutputPanel()
        gantt_dock.setWidget(self.gantt)
        output_dock.setWidget(self.output)
        self.run_action = self._action("&Run", self.request_run, ["F5"], "Run the chain (F5)")
        self.stop_action = self._action("&Stop", self.controller.stop, ["Shift+F5", "Esc"], "Stop the run")
        self.settings_action = self._action("S&ettings…", self.open_settings, [], "Endpoint, API key, prices")
        self.stop_action.setEnabled(False)
        self.toolbar = RunToolbar(host)
        self.toolbar.populate(self.run_action, self.stop_action, self.settings_action)
        self.apply_settings(services.settings.current)
        self._dialog: QDialog | None = None  # the dialog or message box open now (tests look at it)
        self._wire()
        # load the tokenizer and template engine once the window is up, not during the first run's timing
        QTimer.singleShot(300, warm_up)

    def _action(self, text: str, slot: Callable[[], object], keys: list[str], tip: str) -> QAction:
        action = QAction(text, self.host)
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        self.host.addAction(action)
        return action

    def _wire(self) -> None:
        bridge = self.controller.bridge
        bridge.runStarted.connect(self._started)
        bridge.updated.connect(self._updated)
        bridge.runFinished.connect(self._finished)
        self.controller.tick.connect(self._tick)
        self.controller.runningChanged.connect(self._running_changed)
        self.controller.problem.connect(self.show_problem)
        self.gantt.nodeClicked.connect(self.select_node)
        self.services.settings.subscribe(self.apply_settings)
        self.document.subscribe(self._document_changed)

    @property
    def shows_run(self) -> bool:
        """Whether a run is drawn on the canvas (else the canvas may show the estimate)."""
        return self.state is not None

    # --- starting -------------------------------------------------------------------------------
    def request_run(self, options: RunOptions | None = None, part: tuple[str, str] | None = None) -> None:
        """Run the current graph: refuse a broken one with the reason; ask for inputs without defaults.
        ``part``: a partial run, ``(mode, step id)`` with mode "only", "from" or "to"."""
        if self.controller.running:
            return
        graph = self.document.graph
        problems = errors(self.document.problems)
        if problems and self.show_problems is not None:
            self.show_problems(problems)
            return
        if problems:
            first = problems[0]
            self.status(f"Cannot run: {first.location}: {first.message}", 10000)
            if first.node_id:
                self.select_node(first.node_id)
            return
        chosen = options or self.toolbar.options()
        missing = [gi for gi in graph.inputs if gi.default is None and gi.name not in chosen.inputs]
        if missing:
            dialog = InputsDialog(missing, self.host)
            dialog.submitted.connect(
                lambda values: self._start(dataclasses.replace(chosen, inputs={**chosen.inputs, **values}), part)
            )
            self._dialog = dialog
            dialog.open()
            return
        self._start(chosen, part)

    def _start(self, options: RunOptions, part: tuple[str, str] | None = None) -> None:
        path, graph = self.document.path, self.document.graph
        options = dataclasses.replace(options, cache=self.cache_on())
        scope = None
        if part is not None:
            try:
                scope = partial_scope(self.services.history, graph, *part, simulated=options.simulated)
            except RunError as exc:
                self.show_problem(str(exc))
                return
        self.controller.start(graph, options, str(path) if path else None, scope)

    def open_settings(self) -> None:
        dialog = SettingsDialog(self.services.settings, parent=self.host)
        dialog.apiKeyStored.connect(self._key_stored)
        self._dialog = dialog
        dialog.open()

    def apply_settings(self, settings: Settings) -> None:
        """The saved run defaults become the toolbar's choices (Simulated unless set otherwise)."""
        self.toolbar.set_options(
            provider=settings.provider, strategy=settings.strategy, concurrency=settings.concurrency or 0
        )

    def _key_stored(self, where: str) -> None:
        if where == "file":
            self.status(
                "No OS keyring available: the API key was saved in a file readable only by you (mode 0600)", 10000
            )

    def show_problem(self, text: str) -> None:
        """A run that cannot start: the reason in the status bar and in a message box."""
        self.status(text, 10000)
        box = QMessageBox(QMessageBox.Icon.Warning, "Cannot run", text, QMessageBox.StandardButton.Ok, self.host)
        box.open()
        self._dialog = box

    # --- run -> views ---------------------------------------------------------------------------
    def _started(self, state: RunState) -> None:
        self.state = state
        self.gantt.set_state(state)
        self.output.set_state(state)
        apply_to_scene(self.scene, state)
        self.gantt_dock.raise_()
        started = state.started
        if started is not None:
            self.status(f"Running {started.graph_name} · {started.strategy} · {started.provider_label}", 0)

    def _updated(self, changed: frozenset[str]) -> None:
        if self.state is None:
            return
        self.gantt.refresh(changed)
        self.output.refresh(changed)
        apply_to_scene(self.scene, self.state, changed)

    def _tick(self) -> None:
        """Between events: running bars and elapsed times keep growing."""
        if self.state is None or not self.state.running:
            return
        running = frozenset(nid for nid, s in self.state.spans.items() if s.status in LIVE_STATUSES)
        if running:
            self.gantt.refresh()
            apply_to_scene(self.scene, self.state, running)

    def _finished(self, state: RunState) -> None:
        apply_to_scene(self.scene, state)
        self.gantt.refresh()
        self.output.refresh()
        totals = state.totals()
        cost = "cost unknown" if totals.cost_usd is None else f"${totals.cost_usd:.4f}"
        simulated = " · SIMULATED" if state.simulated else ""
        message = f" · {state.message}" if state.message else ""
        saved = savings(state)
        reused = f" · reused {reuse_text(saved)}" + (f", saved {saved_text(saved)}" if saved.steps else "")
        self.status(
            f"Run {state.status}: {totals.wall:.2f} s wall, {totals.total_tokens:,} tokens, {totals.api_calls} "
            f"calls, {cost}{simulated}{reused if saved else ''}{message}",
            0,
        )

    def show_runs(self, states: list[RunState]) -> None:
        """Recorded runs (from the history) on the Gantt, stacked."""
        self.gantt.set_states(states)
        self.gantt_dock.raise_()

    def _running_changed(self, running: bool) -> None:
        self.run_action.setEnabled(not running)
        self.stop_action.setEnabled(running)
        self.toolbar.set_running(running)

    def show_selection(self, node_ids: list[str]) -> None:
        node_id = node_ids[0] if len(node_ids) == 1 else None
        self.gantt.highlight_node(node_id)
        self.output.set_node(node_id)

    def _document_changed(self, changes: Changes) -> None:
        """Another graph, or an edit after a run: the run drawn on the canvas no longer applies (the Gantt
        keeps it); the estimate's per-step prediction takes its place."""
        if self.controller.running or self.state is None:
            return
        if changes.reset or changes.structure or changes.nodes_changed:
            self.state = None
            apply_to_scene(self.scene, None)
            if changes.reset:
                self.output.set_state(None)
