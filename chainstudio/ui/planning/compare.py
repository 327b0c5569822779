"""The Compare feature: the Compare Strategies action (Ctrl+B) and the dock it fills with the compare
view; runs the open graph under each strategy on the run toolbar's provider (the simulated one at least
20× faster than real time) and records each run in the history. Graph inputs without a default are asked
for first, in Run's dialog, pre-filled with the values given last time."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QDockWidget, QWidget

from chainstudio.core.editing.document import Document
from chainstudio.core.graph.model import GraphInput
from chainstudio.core.launch import history_settings
from chainstudio.core.run.executor import RunContext
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
    ) -> None:
        """``problem(text)`` reports a comparison that cannot start (as a run that cannot start is)."""
        super().__init__(host)
        self.services = services
        self.document = document
        self.toolbar = toolbar
        self.dock = dock
        self.problem = problem
        self.host = host
        self.inputs_dialog: QDialog | None = None  # the inputs dialog open now, if any (tests look at it)
        self.view = CompareView()
        dock.setWidget(self.view)
        self.action = QAction("&Compare Strategies", host)
        self.action.setShortcut(QKeySequence("Ctrl+B"))
        self.action.setStatusTip("Run the graph sequential, layered and eager and compare them")
        self.action.triggered.connect(self.compare_strategies)
        host.addAction(self.action)

    def compare_strategies(self) -> None:
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

    def shutdown(self) -> None:
        self.view.runner.cancel()
