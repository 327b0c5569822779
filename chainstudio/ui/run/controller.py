"""Starts and stops runs inside the qasync loop; the core executor does the work.

``RunController.start(graph, options)`` builds the run's context from the current settings and the
toolbar's choices (``chainstudio.core.launch``, the same as the CLI), runs a fresh ``Run`` as an owned
asyncio task whose events go to a ``RunBridge`` (which follows the run's own state), records the finished
run in the history, and reports through signals. Nothing here blocks the loop.
"""

from __future__ import annotations

import asyncio
import logging

from PySide6.QtCore import QObject, QTimer, Signal

from chainstudio.core.graph.model import Graph
from chainstudio.core.launch import RunOptions, history_settings, run_model
from chainstudio.core.run.executor import Run, RunError
from chainstudio.core.run.scope import RunScope
from chainstudio.core.run.state import RunState
from chainstudio.core.run.warm_up import warm_up
from chainstudio.core.storage.history import RunHistory
from chainstudio.core.storage.history_recorder import HistoryRecorder
from chainstudio.core.storage.settings import Settings
from chainstudio.ui.common.tasks import LatestTask
from chainstudio.ui.run.bridge import RunBridge
from chainstudio.ui.services import AppServices

log = logging.getLogger(__name__)
LIVE_TICK_MS = 66  # ~15 Hz: running bars and elapsed times grow between events


class RunController(QObject):
    runningChanged = Signal(bool)
    problem = Signal(str)  # a run that could not start, in one sentence
    finished = Signal(object)  # the finished RunState
    tick = Signal()  # while running, a few times a second

    def __init__(self, services: AppServices, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.bridge = RunBridge(self)
        self.run: Run | None = None
        self._task = LatestTask(name="chainstudio-run")
        self._ticker = QTimer(self)
        self._ticker.setInterval(LIVE_TICK_MS)
        self._ticker.timeout.connect(self.tick)

    @property
    def history(self) -> RunHistory:
        return self.services.history

    @property
    def running(self) -> bool:
        return self._task.running

    def start(self, graph: Graph, options: RunOptions, file: str | None = None, scope: RunScope | None = None) -> bool:
        """Start a run of a snapshot of ``graph`` (``scope``: a partial run); False (and ``problem``) when it
        cannot start."""
        if self.running:
            self.problem.emit("A run is already going on; stop it first.")
            return False
        settings = self.services.settings.current
        try:
            context = self.services.context(options)
            self.run = Run(
                graph,
                context,
                strategy=options.strategy,
                inputs=dict(options.inputs),
                model=run_model(settings, options),
                listeners=[self.bridge],
                scope=scope,
            )
        except (ValueError, RunError) as exc:
            self.problem.emit(str(exc))
            return False
        warm_up()  # a no-op once loaded: keeps the tokenizer's first load out of the run's timings
        self.bridge.follow(self.run)
        self.bridge.live_clock = context.clock.now
        run = self.run
        recorder = self._recorder(run, settings, options, file)
        self._task.start(lambda: self._execute(run, recorder))
        self._ticker.start()
        self.runningChanged.emit(True)
        return True

    def stop(self) -> None:
        if self.run is not None and self.running:
            self.run.cancel("stopped by the user")

    async def _execute(self, run: Run, recorder: HistoryRecorder | None) -> None:
        state: RunState
        try:
            state = await run.execute()
        except Exception as exc:  # report, never crash the window
            log.exception("run failed")
            self.problem.emit(f"The run stopped with an internal error: {exc}")
            state = run.state
        finally:
            self._ticker.stop()
            await run.context.provider.aclose()
        if recorder is not None:  # the run was written as it went; wait for the last batch off the loop
            problem = await asyncio.to_thread(recorder.close)
            if problem:
                log.warning("could not record the run in the history: %s", problem)
        self.runningChanged.emit(False)
        self.finished.emit(state)

    def _recorder(self, run: Run, settings: Settings, options: RunOptions, file: str | None) -> HistoryRecorder | None:
        """A listener that records the run in the history as it goes (a crash loses at most the steps in
        flight); None when the history cannot take it (the run on screen is never lost for that)."""
        record = history_settings(settings, options, run.context, run.strategy).to_dict()
        try:
            recorder = self.services.history.recorder(run.graph, run.state, source="gui", file=file, settings=record)
        except Exception as exc:  # noqa: BLE001 - the history must never stop a run
            log.warning("could not record the run in the history: %s", exc)
            return None
        run.add_listener(recorder)
        return recorder

    async def wait(self) -> None:
        """For tests and shutdown: until the current run (if any) has ended."""
        if self._task.task is not None:
            await asyncio.shield(self._task.task)
