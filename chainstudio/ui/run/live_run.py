"""The live-run feature of the main window: Run/Stop actions and toolbar, the Gantt and Output docks, the
run drawn on the canvas, and the selection kept in step between canvas, Gantt and output panel."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMessageBox

from chainstudio.core.editing.changes import Changes
from chainstudio.core.graph.validation import errors, validate
from chainstudio.core.run.state import RunState
from chainstudio.core.run.warm_up import warm_up
from chainstudio.core.storage.history import RunHistory
from chainstudio.core.storage.settings import Settings, load_settings
from chainstudio.ui.canvas.run_overlay import apply_to_scene
from chainstudio.ui.gantt import GanttWidget
from chainstudio.ui.run.controller import RunController, RunOptions
from chainstudio.ui.run.inputs_dialog import InputsDialog
from chainstudio.ui.run.output_panel import OutputPanel
from chainstudio.ui.run.toolbar import RunToolbar


class RunUi(QObject):
    def __init__(self, window, history: RunHistory | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.controller = RunController(self, history=history if history is not None else RunHistory())
        self.state: RunState | None = None
        self.gantt = GanttWidget()
        self.gantt.setMinimumHeight(220)
        self.output = OutputPanel()
        window.gantt_dock.setWidget(self.gantt)
        window.output_dock.setWidget(self.output)
        self.run_action = self._action("&Run", self.request_run, ["F5"], "Run the chain (F5)")
        self.stop_action = self._action("&Stop", self.controller.stop, ["Shift+F5", "Esc"], "Stop the run")
        self.settings_action = self._action("S&ettings…", self.open_settings, [], "Endpoint, API key, prices")
        self.stop_action.setEnabled(False)
        window.run_menu.addActions([self.run_action, self.stop_action])
        window.run_menu.addSeparator()
        window.run_menu.addAction(self.settings_action)
        self.toolbar = RunToolbar(window)
        self.toolbar.populate(self.run_action, self.stop_action, self.settings_action)
        window.addToolBarBreak()  # its own row: the editing toolbar stays whole above it
        window.addToolBar(self.toolbar)
        self.apply_settings(load_settings())
        self._dialog = None
        self._wire()
        # load the tokenizer and template engine once the window is up, not during the first run's timing
        QTimer.singleShot(300, warm_up)

    def _action(self, text: str, slot, keys: list[str], tip: str) -> QAction:
        action = QAction(text, self.window)
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.window.addAction(action)
        return action

    def _wire(self) -> None:
        bridge, window = self.controller.bridge, self.window
        bridge.runStarted.connect(self._started)
        bridge.updated.connect(self._updated)
        bridge.runFinished.connect(self._finished)
        self.controller.tick.connect(self._tick)
        self.controller.runningChanged.connect(self._running_changed)
        self.controller.problem.connect(self._problem)
        self.gantt.nodeClicked.connect(window.select_node)
        window.nodeSelectionChanged.connect(self._selection)
        window.document.subscribe(self._document_changed)

    # --- starting -------------------------------------------------------------------------------
    def request_run(self, options: RunOptions | None = None) -> None:
        """Run the current graph: refuse a broken one with the reason; ask for inputs without defaults."""
        if self.controller.running:
            return
        graph = self.window.document.graph
        problems = errors(validate(graph))
        if problems:
            first = problems[0]
            self.window.statusBar().showMessage(f"Cannot run: {first.location}: {first.message}", 10000)
            if first.node_id:
                self.window.select_node(first.node_id)
            return
        options = options or self.toolbar.options()
        missing = [gi for gi in graph.inputs if gi.default is None and gi.name not in options.inputs]
        if missing:
            self._dialog = InputsDialog(missing, self.window)
            self._dialog.submitted.connect(
                lambda values: self._start(RunOptions(**{**options.__dict__, "inputs": {**options.inputs, **values}}))
            )
            self._dialog.open()
            return
        self._start(options)

    def _start(self, options: RunOptions) -> None:
        path = self.window.document.path
        self.controller.start(self.window.document.graph, options, str(path) if path else None)

    def open_settings(self) -> None:
        try:
            from chainstudio.ui.run.settings_dialog import SettingsDialog
        except ImportError:  # not built yet
            self.window.statusBar().showMessage("Settings are not available in this build", 5000)
            return
        self._dialog = SettingsDialog(parent=self.window)
        self._dialog.settingsSaved.connect(self.apply_settings)
        self._dialog.apiKeyStored.connect(self._key_stored)
        self._dialog.open()

    def apply_settings(self, settings: Settings) -> None:
        """The saved run defaults become the toolbar's choices (Simulated unless set otherwise)."""
        self.toolbar.set_options(
            provider=settings.provider, strategy=settings.strategy, concurrency=settings.concurrency or 0
        )

    def _key_stored(self, where: str) -> None:
        if where == "file":
            self.window.statusBar().showMessage(
                "No OS keyring available: the API key was saved in a file readable only by you (mode 0600)", 10000
            )

    # --- run -> views ---------------------------------------------------------------------------
    def _started(self, state: RunState) -> None:
        self.state = state
        self.gantt.set_state(state)
        self.output.set_state(state)
        apply_to_scene(self.window.scene, state)
        self.window.gantt_dock.raise_()
        label = state.started.provider_label if state.started else ""
        self.window.statusBar().showMessage(f"Running {state.started.graph_name} · {state.started.strategy} · {label}")

    def _updated(self, changed: frozenset) -> None:
        if self.state is None:
            return
        self.gantt.refresh(changed)
        self.output.refresh(changed)
        apply_to_scene(self.window.scene, self.state, changed)

    def _tick(self) -> None:
        """Between events: running bars and elapsed times keep growing."""
        if self.state is None or not self.state.running:
            return
        running = frozenset(
            nid for nid, s in self.state.spans.items() if s.status in ("running", "retrying", "waiting")
        )
        if running:
            self.gantt.refresh()
            apply_to_scene(self.window.scene, self.state, running)

    def _finished(self, state: RunState) -> None:
        apply_to_scene(self.window.scene, state)
        self.gantt.refresh()
        self.output.refresh()
        totals = state.totals()
        cost = "cost unknown" if totals.cost_usd is None else f"${totals.cost_usd:.4f}"
        simulated = " · SIMULATED" if state.simulated else ""
        message = f" · {state.message}" if state.message else ""
        self.window.statusBar().showMessage(
            f"Run {state.status}: {totals.wall:.2f} s wall, {totals.total_tokens:,} tokens, {totals.api_calls} "
            f"calls, {cost}{simulated}{message}"
        )

    def _running_changed(self, running: bool) -> None:
        self.run_action.setEnabled(not running)
        self.stop_action.setEnabled(running)
        self.toolbar.set_running(running)

    def _problem(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 10000)
        box = QMessageBox(QMessageBox.Icon.Warning, "Cannot run", text, QMessageBox.StandardButton.Ok, self.window)
        box.open()
        self._dialog = box

    def _selection(self, node_ids: list) -> None:
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
            apply_to_scene(self.window.scene, None)
            if changes.reset:
                self.output.set_state(None)
