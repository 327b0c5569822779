"""The estimate feature: the run toolbar's ``≈ 15.4 s · 4,242 tok · $0.0247``, computed off the UI thread
a moment after each edit or option change, drawn on the cards while no run is, and set against the
actual figures once a run with the same strategy finishes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QTimer

from chainstudio.core.editing.changes import Changes
from chainstudio.core.editing.document import Document
from chainstudio.core.graph.model import Graph
from chainstudio.core.launch import RunOptions
from chainstudio.core.planning.estimate import Estimate
from chainstudio.core.planning.estimate_process import EstimateProcess, EstimateProcessError
from chainstudio.core.run.cache import CacheUse
from chainstudio.core.run.state import RunState
from chainstudio.core.run.topology import snapshot
from chainstudio.core.tokens import release_tokenizer
from chainstudio.ui.canvas.scene import CanvasScene
from chainstudio.ui.common.memory import give_back
from chainstudio.ui.common.tasks import LatestTask, loop_running
from chainstudio.ui.planning.estimate_badges import EstimateBadges
from chainstudio.ui.planning.estimate_label import EstimateLabel, compute_estimate, out_of_process
from chainstudio.ui.planning.plan_inputs import PlanInputs, runnable
from chainstudio.ui.run.toolbar import RunToolbar

log = logging.getLogger(__name__)
DEBOUNCE_MS = 400


class EstimateUi(QObject):
    def __init__(
        self,
        document: Document,
        scene: CanvasScene,
        toolbar: RunToolbar,
        plan: PlanInputs,
        *,
        shows_run: Callable[[], bool],
        parent: QObject | None = None,
        cache: Callable[[], CacheUse | None] | None = None,
    ) -> None:
        """The label goes at the end of ``toolbar``; ``shows_run()`` says whether a run is drawn on the canvas
        (then the cards keep it rather than the estimate); ``cache()``: the step cache a run would use now (hits
        are predicted free), or None."""
        super().__init__(parent)
        self.cache = cache or (lambda: None)
        self.document = document
        self.scene = scene
        self.toolbar = toolbar
        self.plan = plan
        self.shows_run = shows_run
        self.label = EstimateLabel()
        self.badges = EstimateBadges(scene, shows_run, self)  # on the cards, a part at a time on a big canvas
        toolbar.addWidget(self.label)  # last: after the budget, where its width can change freely
        self._task = LatestTask(name="chainstudio-estimate")
        self._process: EstimateProcess | None = None  # the child computing the estimate now, if any
        self.child_peak_mb: float | None = None  # the last child's peak resident memory (benchmarks ask)
        self._estimate: Estimate | None = None
        self._unmatched_run: RunState | None = None  # a run that ended before its estimate was ready
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.update)
        toolbar.optionsChanged.connect(self._timer.start)
        document.subscribe(self._document_changed)

    def update(self) -> None:
        """Estimate the graph now (in the background; the latest request wins)."""
        if not loop_running():
            return
        if not runnable(self.document):
            self.label.clear()
            return
        self.label.set_busy()
        if self.scene.building:  # a big graph's cards are still being made: estimate once they are made, so
            self._timer.start()  # the simulated run's memory is not interleaved with theirs (it is given back)
            return
        looked = self._cache_option()
        process = EstimateProcess() if out_of_process(self.document.graph, looked) else None  # a big graph's
        if process is not None:  # the window counts no tokens for it: the tables (45 MB) go until a count needs them
            release_tokenizer()  # (an edit made the graph big; an opened one's went at once: ``_document_changed``)
        # a child's is sent a piece at a time from the document's graph (no copy: ~8 MB kept by the window)
        graph = self.document.graph if process is not None else snapshot(self.document.graph)
        keywords, caps = {**self.plan.keywords(graph), **looked}, self.toolbar.options()
        self._task.start(lambda: self._compute(graph, keywords, caps, process))

    async def _compute(
        self, graph: Graph, keywords: dict[str, Any], caps: RunOptions, process: EstimateProcess | None
    ) -> None:
        try:
            await self._show(graph, keywords, caps, process)
        finally:
            give_back()  # the simulated run's memory (freed on its worker thread), what showing it freed

    async def _show(
        self, graph: Graph, keywords: dict[str, Any], caps: RunOptions, process: EstimateProcess | None
    ) -> None:
        self._process = process
        try:
            result = await compute_estimate(graph, process, **keywords)
        except EstimateProcessError as exc:  # the child died, hung or could not start: say so
            log.warning("no estimate: %s", exc)
            if shiboken6.isValid(self.label):
                self.label.set_failed(exc.short, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - e.g. an input without a value: no estimate, no crash
            log.info("no estimate: %s", exc)
            self.label.clear()
            return
        finally:
            if self._process is process:  # (not a later estimate's)
                self._process = None
            if process is not None:
                self.child_peak_mb = process.child_peak_mb
        if not shiboken6.isValid(self.label):  # the window went away while the estimate ran
            return
        self._estimate = result
        self.label.set_estimate(result, caps.cost_cap, caps.token_cap)
        if not self.shows_run():  # no run on the canvas: show the prediction per step
            self.badges.show(result)
        run, self._unmatched_run = self._unmatched_run, None
        if run is not None:  # the run ended first (the estimate waits while a run is live): compare now
            self._compare(run)

    def _cache_option(self) -> dict[str, Any]:
        cache = self.cache()
        return {"cache": cache} if cache is not None else {}

    def run_started(self, running: bool) -> None:
        """A run began: an estimate still waiting out its debounce (an edit just before Run) is asked for now,
        so that it predicts this run and sees the step cache as the run found it, not as the run fills it."""
        if running and self._timer.isActive():
            self._timer.stop()
            self.update()

    def run_finished(self, state: RunState) -> None:
        """A run ended: the estimate against what it measured, when it was for the same strategy and the
        whole graph (the estimate is for Run, not for a partial run), once the estimate is ready if it is
        still being computed."""
        if self._task.running or self._timer.isActive():
            self._unmatched_run = state
            return
        self._compare(state)

    def _compare(self, state: RunState) -> None:
        started = state.started
        if self._estimate is not None and started and started.strategy == self._estimate.strategy and not started.scope:
            self.label.set_actual(state)

    def shutdown(self) -> None:
        self._timer.stop()
        self.badges.cancel()
        self._task.cancel()
        if self._process is not None:  # at once: the loop may not turn again to deliver the cancellation
            self._process.stop()

    def _document_changed(self, changes: Changes) -> None:
        if changes.reset and out_of_process(self.document.graph, self._cache_option()):
            release_tokenizer()  # a big graph came: before its cards are made, not after (the window's peak)
        if changes.structure or changes.nodes_changed or changes.graph_info or changes.reset:
            self._unmatched_run = None  # a run of the graph before this edit is no measure of its estimate
            if self._process is not None:  # a child's graph is sent from the document's: it may mix revisions
                self._process.stop()  # its child, if started, is killed at once
                self._task.cancel()  # (the estimate after the edit follows)
        if changes.structure or changes.nodes_changed or changes.graph_info or changes.checked:
            self._timer.start()  # moves alone change no estimate (a big graph's waits for its check)
