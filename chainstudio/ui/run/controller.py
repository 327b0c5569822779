"""Starts and stops runs inside the qasync loop; the core executor does the work.

``RunController.start(graph, options)`` builds the run's context from the current settings and the
toolbar's choices (``chainstudio.core.launch``, the same as the CLI), runs a fresh ``Run`` as an owned
asyncio task whose events go to a ``RunBridge`` (which follows the run's own state), records the finished
run in the history (on a thread of its own), and reports through signals. Nothing here blocks the loop.
While a run is live, background planning (estimate, advisor) waits at its next checkpoint, so it does not
take the interpreter from the UI (``chainstudio.ui.common.worker``). Every run, small or big, goes with no
full garbage collection (``core/collector.py``), from Run until it ended and was recorded, however it ends;
what it made is then frozen.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from chainstudio.core.collector import Hold
from chainstudio.core.graph.model import Graph
from chainstudio.core.launch import RunOptions, history_settings, run_model
from chainstudio.core.planning.calibration import prime, primes_at_once
from chainstudio.core.run.executor import Run, RunError
from chainstudio.core.run.scope import RunScope
from chainstudio.core.run.state import RunState
from chainstudio.core.run.warm_up import warm_up
from chainstudio.core.storage.history import RunHistory
from chainstudio.core.storage.history_recorder import HistoryRecorder
from chainstudio.core.storage.settings import Settings
from chainstudio.ui.common.tasks import LatestTask
from chainstudio.ui.common.worker import pause_background, resume_background, run_in_thread
from chainstudio.ui.run.bridge import RunBridge
from chainstudio.ui.run.prepare import BIG_RUN_STEPS, made_off_thread
from chainstudio.ui.services import AppServices

log = logging.getLogger(__name__)
RECORD_AFTER_S = 0.15  # the run is recorded in the history this long after it ended (after the views painted)
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
        self._task = LatestTask(name="chainstudio-run", on_cancelled=self._never_began)
        self._quiet = Hold()  # no full collection while a run goes (``core/collector.py``)
        self._ticker = QTimer(self)
        self._ticker.setInterval(LIVE_TICK_MS)
        self._ticker.timeout.connect(self.tick)

    @property
    def history(self) -> RunHistory:
        return self.services.history

    @property
    def running(self) -> bool:
        return self._task.running

    def start(
        self,
        graph: Graph,
        options: RunOptions,
        file: str | None = None,
        scope: RunScope | None = None,
        revision: Callable[[], int] = lambda: 0,
    ) -> bool:
        """Start a run of a snapshot of ``graph`` (``scope``: a partial run); False (and ``problem``) when it
        cannot start. ``revision()``: the graph's edit count (a big graph's snapshot, taken on a worker thread,
        is taken again when an edit came meanwhile)."""
        if self.running:
            self.problem.emit("A run is already going on; stop it first.")
            return False
        settings = self.services.settings.current
        try:
            context = self.services.context(options)
        except (ValueError, RunError) as exc:
            self.problem.emit(str(exc))
            return False

        def make() -> Run:
            prime(context, self.services.history, graph)  # step durations and capacity from recorded runs
            return Run(
                graph,
                context,
                strategy=options.strategy,
                inputs=dict(options.inputs),
                model=run_model(settings, options),
                listeners=[self.bridge],
                scope=scope,
            )

        # a big graph's run, or one whose calibration must first read recorded runs, is made on a worker thread
        big = len(graph.nodes) >= BIG_RUN_STEPS or not primes_at_once(context, self.services.history, graph)
        if not big:
            try:
                self.run = make()
            except (ValueError, RunError) as exc:
                self.problem.emit(str(exc))
                return False
        if not big:  # (a big run's on its worker thread: loading the tokenizer again after a big graph's estimate
            warm_up()  # released it held the window 0.2-0.3 s) a no-op once loaded: out of the run's timings
        self._quiet.take()
        pause_background()  # an estimate or analysis computing on a worker thread waits until the run ends
        self.bridge.live_clock = context.clock.now
        if big:  # made on a worker thread (``prepare.made_off_thread``), with no full collection meanwhile
            self.run = None
            self._task.start(lambda: self._prepare(make, revision, settings, options, file))
        else:
            assert self.run is not None
            run = self.run
            self.bridge.follow(run)
            recorder = self._recorder(run, settings, options, file)
            self._task.start(lambda: self._execute(run, recorder))
        self._ticker.start()
        self.runningChanged.emit(True)
        return True

    def _never_began(self) -> None:
        """Stop pressed before a big graph's run began to be made: the window is as before."""
        self._ticker.stop()
        resume_background()
        self._quiet.release()
        self.runningChanged.emit(False)

    async def _prepare(
        self,
        make: Callable[[], Run],
        revision: Callable[[], int],
        settings: Settings,
        options: RunOptions,
        file: str | None,
    ) -> None:
        """A big graph's run (or one whose calibration reads recorded runs): made on a worker thread, then
        executed."""
        try:
            await run_in_thread(warm_up)
            run = await made_off_thread(make, revision)
        except BaseException as exc:  # refused, stopped meanwhile, or a bug: the window is as before
            self._ticker.stop()
            resume_background()
            self._quiet.release(freeze=True)
            if isinstance(exc, ValueError | RunError):
                self.problem.emit(str(exc))
            elif isinstance(exc, Exception):
                log.exception("making the run failed")
                self.problem.emit(f"The run could not start: {exc}")
            self.runningChanged.emit(False)
            if not isinstance(exc, Exception):
                raise
            return
        self.run = run
        self.bridge.follow(run)
        try:
            # the recorder hashes the graph (0.25 s for 10,000 steps): on the worker thread too
            recorder = await run_in_thread(self._recorder, run, settings, options, file)
            await self._execute(run, recorder)
        finally:
            self._quiet.release(freeze=True)  # (``_execute`` did, unless it never began)

    def stop(self) -> None:
        if self.run is not None and self.running:
            self.run.cancel("stopped by the user")
        elif self.running:  # a big graph's run still being made: it never starts
            self._task.cancel()

    async def _execute(self, run: Run, recorder: HistoryRecorder | None) -> None:
        state: RunState
        try:
            try:
                state = await run.execute()
            except Exception as exc:  # report, never crash the window
                log.exception("run failed")
                self.problem.emit(f"The run stopped with an internal error: {exc}")
                state = run.state
            finally:
                self._ticker.stop()
                await run.context.provider.aclose()
            if recorder is not None:
                # The run was written as it went; its last batch is written after the views painted the
                # finished run (a 300-step Gantt and canvas: tens of ms), on a thread of its own (not the
                # shared executor, whose workers may wait at a checkpoint), so that the two do not compete.
                await asyncio.sleep(RECORD_AFTER_S)
                problem = await run_in_thread(recorder.close)
                if problem:
                    log.warning("could not record the run in the history: %s", problem)
        finally:
            resume_background()  # the estimate and the advisor go on (also after a cancelled task)
            self._quiet.release(freeze=True)  # what the run made (kept on screen) is left out of later passes
        self.runningChanged.emit(False)
        await asyncio.sleep(0)  # the toolbar and banner, then (next loop turn) what follows ``finished``
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
