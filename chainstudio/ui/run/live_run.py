"""The live-run feature of the main window: Run/Stop/Settings actions and the run toolbar, the Gantt and
Output docks it fills, the run drawn on the canvas, and the selection kept in step between canvas, Gantt
and output panel. The window places the actions and the toolbar; this feature only fills them.

The provider in effect is one setting (``Settings.provider``): the toolbar's Provider box and the Settings
dialog both change it, explicitly, and it is saved at once, so the next launch runs on what the user left
(never on a real endpoint the user switched away from). The banner, the toolbar, the status bar's
provider label and the Run button's tooltip all follow it (``provider_changed``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from html import escape
from time import monotonic

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QDockWidget, QLabel, QMessageBox, QWidget

from chainstudio.core.editing.changes import Changes
from chainstudio.core.editing.document import Document
from chainstudio.core.graph.validation import Problem, errors
from chainstudio.core.launch import RunOptions
from chainstudio.core.providers.openai_compat import DEFAULT_BASE_URL
from chainstudio.core.run.cache import public_url
from chainstudio.core.run.context import RunError
from chainstudio.core.run.savings import reuse_text, saved_text, savings
from chainstudio.core.run.state import RunState
from chainstudio.core.run.warm_up import warm_up
from chainstudio.core.storage.recorded import partial_scope
from chainstudio.core.storage.settings import Settings, resolve_base_url
from chainstudio.ui.canvas.run_overlay import apply_to_scene
from chainstudio.ui.canvas.scene import CanvasScene
from chainstudio.ui.common.shell import SelectNode, ShowStatus
from chainstudio.ui.gantt import GanttWidget
from chainstudio.ui.run.banner import ProviderBanner
from chainstudio.ui.run.controller import LIVE_TICK_MS, RunController
from chainstudio.ui.run.output_panel import OutputPanel
from chainstudio.ui.run.overlay_slices import OverlaySlices
from chainstudio.ui.run.settings_dialog import SettingsDialog
from chainstudio.ui.run.toolbar import RunToolbar
from chainstudio.ui.services import AppServices


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
        commit_typing: Callable[[], None] = lambda: None,
    ) -> None:
        """``host`` parents the actions (their shortcuts work anywhere in it) and the dialogs;
        ``show_problems`` shows why a run cannot start where the user looks (else: the status bar);
        ``commit_typing()`` commits what is typed in the inspector, so that a run runs what the user sees."""
        super().__init__(host)
        self.services = services
        self.document = document
        self.scene = scene
        self.host = host
        self.gantt_dock = gantt_dock
        self.status = status
        self.select_node = select_node
        self.show_problems = show_problems
        self.commit_typing = commit_typing
        self.controller = RunController(services, self)
        self.overlay = OverlaySlices(scene, self)  # a big canvas's whole drawing of a run, a part at a time
        self.state: RunState | None = None  # the run drawn on the canvas, if any
        self._after_check: tuple[RunOptions | None, tuple[str, str] | None] | None = None  # Run, once checked
        self.cache_on: Callable[[], bool] = lambda: False  # whether runs use the step cache (ReuseUi decides)
        self.gantt = GanttWidget()
        self.gantt.setMinimumHeight(150)  # header, legend, axis and two rows: the bottom docks can shrink
        self.output = OutputPanel()
        gantt_dock.setWidget(self.gantt)
        output_dock.setWidget(self.output)
        self.run_action = self._action("&Run", self.request_run, ["F5"], "Run the chain (F5)")
        self.stop_action = self._action("&Stop", self.controller.stop, ["Shift+F5", "Esc"], "Stop the run")
        self.settings_action = self._action("S&ettings…", self.open_settings, [], "Endpoint, API key, prices")
        self.stop_action.setEnabled(False)
        self.toolbar = RunToolbar(host)
        self.toolbar.populate(self.run_action, self.stop_action, self.settings_action)
        self.provider_status = QLabel()  # the status bar's permanent "runs on" label (the window places it)
        self.provider_status.setObjectName("provider_status")
        self.banner: ProviderBanner | None = None
        self._applied: Settings | None = None
        self._running = False
        self._last_update = float("-inf")  # when the views last redrew the run on a bridge update
        self._tip_timer = QTimer(self)
        self._tip_timer.setSingleShot(True)
        self._tip_timer.setInterval(0)
        self._tip_timer.timeout.connect(self.provider_changed)  # the Run tooltip and the banner's next action
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
        self.overlay.pathKnown.connect(lambda: self.gantt.refresh())  # the header's and bars' critical path
        self.controller.tick.connect(self._tick)
        self.controller.runningChanged.connect(self._running_changed)
        self.controller.problem.connect(self.show_problem)
        self.gantt.nodeClicked.connect(self.select_node)
        self.services.settings.subscribe(self.apply_settings)
        self.document.subscribe(self._document_changed)
        self.toolbar.provider.activated.connect(
            lambda _index: self.choose_provider(self.toolbar.provider.currentData())
        )
        self.toolbar.provider.currentIndexChanged.connect(lambda _index: self.provider_changed())
        self.provider_changed()

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
        self.commit_typing()
        graph = self.document.graph
        known = self.document.known_problems
        if known is None:  # a big graph's check is running on a worker: the run starts once it says OK
            self._after_check = (options, part)
            self.status("Checking the graph for problems before the run…", 0)
            return
        self._after_check = None
        problems = errors(known)
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
            self._dialog = self.services.inputs.ask(
                graph,
                self.document.path,
                missing,
                lambda values: self._start(dataclasses.replace(chosen, inputs={**chosen.inputs, **values}), part),
                parent=self.host,
            )
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
        self.controller.start(graph, options, str(path) if path else None, scope, lambda: self.document.revision)

    def open_settings(self) -> None:
        dialog = SettingsDialog(self.services.settings, parent=self.host)
        dialog.apiKeyStored.connect(self._key_stored)
        self._dialog = dialog
        dialog.open()

    def apply_settings(self, settings: Settings) -> None:
        """The saved settings become the toolbar's choices: the provider in effect (Simulated unless the user
        left another), and the run defaults. Only what a save changed is applied, so a provider switch
        does not reset a strategy or cap chosen in the toolbar."""
        before = self._applied
        self._applied = settings
        provider = settings.provider if before is None or settings.provider != before.provider else None
        strategy = settings.strategy if before is None or settings.strategy != before.strategy else None
        concurrency = settings.concurrency if before is None or settings.concurrency != before.concurrency else None
        self.toolbar.set_options(
            provider=provider, strategy=strategy, concurrency=None if concurrency is None else concurrency or 0
        )
        if before is not None and provider is not None:
            self.status(f"Provider in effect: {self.provider_text()}", 10000)
        self.provider_changed()

    # --- the provider in effect -----------------------------------------------------------------------
    def choose_provider(self, provider: str) -> None:
        """The user chose the provider to run on (toolbar box, banner button): it is saved at once."""
        current = self.services.settings.current
        if provider != current.provider:
            try:
                self.services.settings.save(dataclasses.replace(current, provider=provider))
            except OSError as exc:
                self.status(f"Could not save the provider choice: {exc}", 10000)
        self.toolbar.set_options(provider=provider)
        self.provider_changed()

    def endpoint(self) -> str:
        """The base URL a real run would call (no credentials in it)."""
        return public_url(resolve_base_url(self.services.settings.current)) or DEFAULT_BASE_URL

    def provider_text(self) -> str:
        """What F5 runs on, in a few words: ``Simulated (offline, no model is called)`` or the server."""
        if self.toolbar.options().simulated:
            return "Simulated (offline, no model is called)"
        return f"OpenAI-compatible server at {self.endpoint()} (real requests)"

    def run_hint(self) -> str:
        """The next action, as the first-run hints name it."""
        if self.toolbar.options().simulated:
            return "Press F5 to run it on the simulated provider (offline, no model is called)."
        return f"Press F5 to run it on {self.endpoint()} (real requests)."

    def attach_banner(self, banner: ProviderBanner) -> None:
        """The window's banner above the canvas follows the provider in effect."""
        self.banner = banner
        banner.configureRequested.connect(self.open_settings)
        banner.simulatedRequested.connect(lambda: self.choose_provider("simulated"))
        self.provider_changed()

    def next_action(self) -> str:
        """The banner's last sentence (rich text): what to do now, as the run goes."""
        if self._running:
            return "Running: the Gantt below grows as the steps stream; <b>Esc</b> stops it."
        if self.state is not None and not self.state.running:
            return (
                f"The run {escape(str(self.state.status))}: click a bar or a card for its prompt and output; "
                "<b>Ctrl+B</b> compares the three strategies."
            )
        return "Press <b>F5</b> to run the chain."

    def provider_changed(self) -> None:
        """Banner, status-bar label and Run tooltip say what F5 runs on now (and the banner what to do next)."""
        simulated = self.toolbar.options().simulated
        endpoint = "" if simulated else self.endpoint()
        # a step's endpoint must name a profile on a real provider; the simulator stands in for any name
        self.document.set_endpoints(None if simulated else [p.name for p in self.services.settings.current.endpoints])
        if self.banner is not None:
            self.banner.show_provider("simulated" if simulated else "openai", endpoint, self.next_action())
        self.provider_status.setText("Runs on: Simulated" if simulated else f"Runs on: {endpoint}")
        self.provider_status.setToolTip(self.provider_text())
        self.provider_status.setStyleSheet("color: #92400e;" if simulated else "color: #1d4ed8; font-weight: 600;")
        self.update_run_tip()

    def update_run_tip(self) -> None:
        """The Run button's tooltip names the next action: what blocks a run, what it asks, where it runs."""
        if self._running:
            tip = "A run is going on: Shift+F5 or Esc stops it"
        else:
            known = self.document.known_problems
            problems = errors(known or [])
            missing = [gi.name for gi in self.document.graph.inputs if gi.default is None]
            if known is None:
                tip = "Checking the graph for problems… (F5 runs it once the check is done)"
            elif problems:
                tip = f"Cannot run yet: {problems[0].location}: {problems[0].message}"
            elif not self.document.graph.nodes:
                tip = "Add steps from the Palette first (drag a kind onto the canvas)"
            else:
                where = "the simulated provider (offline)" if self.toolbar.options().simulated else self.endpoint()
                ask = f"; asks for {', '.join(missing)} first" if missing else ""
                again = "Run again" if self.state is not None else "Run the chain"
                tip = f"{again} on {where} (F5){ask}"
        self.run_action.setToolTip(tip)
        self.run_action.setStatusTip(tip)

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
        self._draw_all(state)
        self.gantt_dock.raise_()
        started = state.started
        if started is not None:
            self.status(f"Running {started.graph_name} · {started.strategy} · {started.provider_label}", 0)

    def _updated(self, changed: frozenset[str]) -> None:
        if self.state is None:
            return
        self._last_update = monotonic()
        end = not self.state.running and self.overlay.wanted()
        if end:  # the critical path (computed a part at a time, the Gantt told when known) on every card and edge
            self._draw_all(self.state)
        self.gantt.refresh(changed)
        self.output.refresh(changed)
        if not end:  # (many changed cards on a big canvas: a part at a time)
            self.overlay.draw(self.state, changed)

    def _draw_all(self, state: RunState) -> None:
        """The run on every card and edge: at once, or on a big canvas a part at a time."""
        if self.overlay.wanted():
            self.overlay.start(state)
        else:
            self.overlay.cancel()
            apply_to_scene(self.scene, state)

    def _tick(self) -> None:
        """Between events: running bars and elapsed times keep growing (not again right after an update,
        which redrew them: while steps stream, updates come faster than ticks)."""
        if self.state is None or not self.state.running:
            return
        if monotonic() - self._last_update < LIVE_TICK_MS / 1000:
            return
        running = frozenset(self.state.tally().live)  # kept from the events (a scan of 10,000 spans: 10-20 ms)
        if running:
            self.gantt.refresh()
            apply_to_scene(self.scene, self.state, running)

    def _finished(self, state: RunState) -> None:
        # the bridge's final ``updated`` (just before this) already drew the end on the canvas (critical path
        # included) and the Gantt: not again here, in the same loop turn (a 300-step graph's end would stall)
        self.provider_changed()  # the banner names the next action
        self.output.refresh()
        totals = state.totals(path=False)  # (a big run's path is computed a part at a time: overlay_slices)
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
        self._running = running  # the controller's task is still finishing when it says False
        self.run_action.setEnabled(not running)
        self.stop_action.setEnabled(running)
        self.toolbar.set_running(running)
        self.provider_changed()  # the banner's next action and the Run tooltip follow the run

    def show_selection(self, node_ids: list[str]) -> None:
        node_id = node_ids[0] if len(node_ids) == 1 else None
        self.gantt.highlight_node(node_id)
        self.output.set_node(node_id)

    def _document_changed(self, changes: Changes) -> None:
        """Another graph, or an edit after a run: the run drawn on the canvas no longer applies (the Gantt
        keeps it); the estimate's per-step prediction takes its place."""
        self._tip_timer.start()  # after this loop turn: the graph is validated once per revision anyway
        if changes.reset:
            self._after_check = None  # another graph: a Run asked for the one before does not carry over
        elif changes.checked and self._after_check is not None:
            self.status("The graph is checked", 3000)  # (a refusal or the run says what follows)
            self.request_run(*self._after_check)
        if self.controller.running or self.state is None:
            return
        if changes.reset or changes.structure or changes.nodes_changed:
            self.state = None
            self.overlay.cancel()
            apply_to_scene(self.scene, None)
            if changes.reset:
                self.output.set_state(None)
