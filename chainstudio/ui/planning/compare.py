"""The Compare feature: the Compare Strategies action (Ctrl+B) and the dock it fills with the compare
view; runs the open graph under each strategy on the run toolbar's provider (the simulated one at least
20× faster than real time) and records each run in the history. Graph inputs without a default are asked
for first, in Run's dialog, pre-filled with the values given last time. Compare on the Last Run (Replay) runs
every strategy on the newest recorded run's answers and latencies instead (``core.planning.replay``): no
model is called, nothing is recorded, and the table says it was a replay."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QDockWidget, QWidget

from chainstudio.core.editing.document import Document
from chainstudio.core.graph.model import Graph, GraphInput
from chainstudio.core.launch import RunOptions, history_settings
from chainstudio.core.planning.replay import missing_steps, recorded_label, replay_steps, replaying
from chainstudio.core.run.executor import RunContext
from chainstudio.core.run.state import RunState
from chainstudio.core.run.warm_up import warm_up
from chainstudio.ui.planning.compare_view import CompareView
from chainstudio.ui.run.toolbar import RunToolbar
from chainstudio.ui.services import AppServices

MIN_SIMULATED_SPEED = 20.0


class CompareUi(QObject):
    def __init__(
        self,
        services: AppServices,
        document: Document,
        toolbar: RunToolbar,
        *,
        host: QWidget,
        dock: QDockWidget,
        problem: Callable[[str], None],
        commit_typing: Callable[[], None] = lambda: None,
    ) -> None:
        """``problem(text)`` reports a comparison that cannot start (as a run that cannot start is);
        ``commit_typing()`` commits what is typed in the inspector, so that the comparison runs what the user sees."""
        super().__init__(host)
        self.services = services
        self.document = document
        self.toolbar = toolbar
        self.dock = dock
        self.problem = problem
        self.commit_typing = commit_typing
        self.host = host
        self.inputs_dialog: QDialog | None = None  # the inputs dialog open now, if any (tests look at it)
        self.view = CompareView()
        dock.setWidget(self.view)
        self.action = QAction("&Compare Strategies", host)
        self.action.setShortcut(QKeySequence("Ctrl+B"))
        self.action.setStatusTip("Run the graph sequential, layered and eager and compare them")
        self.action.triggered.connect(self.compare_strategies)
        host.addAction(self.action)
        self.replay_action = QAction("Compare on the Last Run (&Replay)", host)
        self.replay_action.setStatusTip(
            "Run every strategy on the last recorded run's answers and latencies: only scheduling differs"
        )
        self.replay_action.triggered.connect(lambda _checked=False: self.compare_replayed())
        host.addAction(self.replay_action)

    def compare_strategies(self) -> None:
        self.commit_typing()
        options = self.toolbar.options()
        options = dataclasses.replace(options, speed=max(options.speed, MIN_SIMULATED_SPEED))
        settings = self.services.settings.current

        def make_context(index: int) -> RunContext:
            return self.services.context(options, index)

        def on_run(file: str, strategy: str, index: int, run: Any) -> None:
            self.services.history.add(
                run.events,
                run.graph,
                source="gui compare",
                file=file,
                state=run.state,
                settings=history_settings(settings, options, run.context, strategy).to_dict(),
            )

        try:
            make_context(0)
        except ValueError as exc:
            self.problem(str(exc))
            return
        warm_up()  # a first-use load mid-run would be magnified by the simulated speed-up
        document = self.document
        graph, path = document.graph, document.path

        def ask_inputs(missing: list[GraphInput], then: Callable[[dict[str, str]], None]) -> None:
            self.inputs_dialog = self.services.inputs.ask(
                graph, path, missing, then, parent=self.host, action="Compare"
            )

        self.view.set_source(
            graph, make_context, file=str(path) if path else None, on_run=on_run, ask_inputs=ask_inputs
        )
        self.dock.show()
        self.dock.raise_()
        self.view.run_comparison()

    def compare_replayed(self) -> bool:
        """Compare the strategies on the newest recorded run of this graph that answered all its steps."""
        self.commit_typing()
        graph = self.document.graph
        found = self._last_complete_run(graph)
        if found is None:
            self.problem(f"No recorded run of {graph.name!r} answered all its steps: run it once, then compare.")
            return False
        run_id, state = found
        toolbar = self.toolbar.options()
        options = RunOptions(strategy=toolbar.strategy, concurrency=toolbar.concurrency, speed=MIN_SIMULATED_SPEED)
        label = recorded_label(state)
        make_context = replaying(
            lambda index: self.services.context(options, index), replay_steps(state), run_id, label
        )
        document = self.document
        self.view.set_source(
            graph,
            make_context,
            file=str(document.path) if document.path else None,
            mode=f"replay of {run_id} (recorded on {label})",
        )
        self.dock.show()
        self.dock.raise_()
        self.view.run_comparison()
        return True

    def _last_complete_run(self, graph: Graph) -> tuple[str, RunState] | None:
        history = self.services.history
        for summary in history.runs(graph_name=graph.name, limit=20):
            state = history.state(summary.run_id)
            if not missing_steps(graph, replay_steps(state)):
                return summary.run_id, state
        return None

    def shutdown(self) -> None:
        self.view.runner.cancel()
