"""The Datasets feature: the Run Dataset… action and the dock it fills (``DatasetsPanel``). Runs the open
graph over every row of a dataset under the chosen strategies, on the run toolbar's provider, concurrency
and budget (the simulated one at least 20× faster than real time), as ``chainstudio batch`` does: one
limiter, one set of slots and one budget for the whole batch, the state kept in SQLite in the user data
folder (per graph and dataset), so running it again resumes without repeating a finished row. On the
OpenAI-compatible provider the panel also offers the OpenAI Batch API (``chainstudio batch --batch-api``):
each row once more through ``/v1/batches`` on the same endpoint and key, at the batch price."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QFrame, QScrollArea

from chainstudio.core.batch.api_runner import BatchApiRunner
from chainstudio.core.batch.batch import BATCH_API, BatchProgress, BatchRun, BatchSpec, Variant
from chainstudio.core.batch.checks import parse_check
from chainstudio.core.batch.dataset import DatasetError, column_mapping, load_dataset
from chainstudio.core.batch.export import write_results
from chainstudio.core.batch.results import RowResult
from chainstudio.core.batch.runner import SharedLimits
from chainstudio.core.batch.store import BatchStore
from chainstudio.core.batch.tradeoff import summarize
from chainstudio.core.collector import Hold
from chainstudio.core.editing.document import Document
from chainstudio.core.errors import ChainStudioError
from chainstudio.core.formatting import fmt_cost, fmt_duration
from chainstudio.core.providers.batch_api import BatchClient
from chainstudio.core.providers.batch_api import BatchProgress as ApiProgress
from chainstudio.core.providers.openai_compat import OpenAISettings
from chainstudio.paths import user_data_dir
from chainstudio.ui.common.tasks import LatestTask
from chainstudio.ui.planning.datasets_panel import DatasetsPanel
from chainstudio.ui.run.toolbar import RunToolbar
from chainstudio.ui.services import AppServices

MIN_SIMULATED_SPEED = 20.0
NO_BATCH_API = "the run toolbar's provider is Simulated; choose OpenAI-compatible (your OpenAI endpoint in Settings)"


def progress_line(p: BatchProgress, simulated: bool) -> str:
    eta = "done" if p.done >= p.total else "—" if p.eta is None else fmt_duration(p.eta)
    failed = f" · {p.failed} failed" if p.failed else ""
    spend = f"spent {fmt_cost(p.cost_usd)}, {p.tokens:,} tok" + (" (SIMULATED)" if simulated else "")
    return f"{p.config} · {p.done:,}/{p.total:,}{failed} · {spend} · " + (eta if eta == "done" else f"ETA {eta}")


class DatasetsUi(QObject):
    """The feature in ``window`` (the main window): its dock, a tab beside Compare; the window puts
    ``action`` in the Run menu and the dock in the Panels menu."""

    def __init__(self, window: Any, services: AppServices, document: Document, toolbar: RunToolbar) -> None:
        super().__init__(window)
        self.services, self.document, self.toolbar, self.host = services, document, toolbar, window
        self.dock = window._dock("Datasets", "datasets_dock", Qt.DockWidgetArea.BottomDockWidgetArea)
        window.tabifyDockWidget(window.compare_dock, self.dock)
        window.gantt_dock.raise_()
        self.panel = DatasetsPanel()
        scroll = QScrollArea()  # the panel scrolls rather than make the bottom docks taller than the Gantt's
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.panel)
        self.dock.setWidget(scroll)
        self.batch: BatchRun | None = None
        self.spec: BatchSpec | None = None
        self.results: list[RowResult] = []
        self.batch_poll = 10.0  # seconds between Batch API polls (as ``batch --batch-poll``)
        self._task = LatestTask(name="chainstudio-batch")
        self.action = QAction("Run &Dataset…", window)
        self.action.setStatusTip("Run the graph over every row of a dataset and compare strategies on quality")
        self.action.triggered.connect(self.show)
        self.panel.openRequested.connect(self.pick_dataset)
        self.panel.runRequested.connect(self.start)
        self.panel.stopRequested.connect(self.stop)
        self.panel.exportRequested.connect(self.export)
        document.subscribe(lambda _changes: self._graph_changed())
        toolbar.optionsChanged.connect(self._provider_changed)
        self._provider_changed()

    def _provider_changed(self) -> None:
        simulated = self.toolbar.options().simulated
        self.panel.set_batch_api_available(not simulated, NO_BATCH_API if simulated else "")

    def show(self) -> None:
        self.dock.show()
        self.dock.raise_()

    def _graph_changed(self) -> None:
        if self.panel.dataset is not None and not self._task.running:
            names = {gi.name for gi in self.document.graph.inputs}
            if names != set(self.panel.mapping_boxes):
                self.panel.show_inputs(self.document.graph)

    def pick_dataset(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.host, "Open Dataset", "", "Datasets (*.csv *.jsonl *.ndjson)")
        if path:
            self.open_dataset(path)

    def open_dataset(self, path: str) -> bool:
        try:
            dataset = load_dataset(path)
        except DatasetError as exc:
            self.panel.plan.setText(str(exc))
            return False
        self.panel.show_dataset(dataset, self.document.graph)
        self.panel.plan.setText("Map the columns to the graph's inputs, then Run Dataset.")
        self.show()
        return True

    def build_spec(self) -> BatchSpec:
        dataset = self.panel.dataset
        if dataset is None:
            raise DatasetError("open a dataset first")
        graph = self.document.graph.copy()
        mapping = column_mapping(dataset.columns, graph, self.panel.overrides())
        strategies = self.panel.chosen_strategies() + ([BATCH_API] if self.panel.use_batch_api() else [])
        if not strategies:
            raise DatasetError("choose at least one strategy or the Batch API")
        check = self.panel.check_spec()
        expected = self.panel.expected.currentText() or None
        rubric = self.panel.rubric.text().strip() or None
        return BatchSpec(
            dataset=dataset,
            variants=[Variant(graph.name, graph, mapping)],
            strategies=strategies,  # type: ignore[arg-type]
            repeat=self.panel.repeat.value(),
            checks=[parse_check(check, expected, dataset.columns)] if check else [],
            rubric=rubric,
            expected=expected,
        )

    def state_path(self, spec: BatchSpec) -> Path:
        key = hashlib.sha256(repr(sorted(spec.fingerprint().items())).encode()).hexdigest()[:16]
        folder = user_data_dir() / "batches"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{key}.sqlite"

    def start(self) -> None:
        if self._task.running:
            return
        options = self.toolbar.options()
        options = dataclasses.replace(options, speed=max(options.speed, MIN_SIMULATED_SPEED))
        try:
            spec = self.build_spec()
            limits = SharedLimits(lambda index: self.services.context(options, index), options.concurrency)
            api_runner = self._api_runner(spec, limits)
            store = BatchStore(self.state_path(spec), spec.fingerprint(), fresh=self.panel.fresh.isChecked())
        except (ChainStudioError, ValueError) as exc:
            self.panel.plan.setText(str(exc))
            return
        simulated = limits.simulated
        batch = BatchRun(spec, limits, store, api_runner=api_runner)
        self.batch, self.spec = batch, spec

        def on_progress(p: BatchProgress) -> None:
            self.panel.show_progress(p.done, p.total, progress_line(p, simulated))

        batch.on_progress = on_progress
        first = batch.progress()
        already = f"; {first.done:,} already done, resuming" if first.done else ""
        where = limits.base.provider.label
        api = ""
        if BATCH_API in spec.strategies:
            api = "; the Batch API rows at 50 % of the price (or the batch price), answered within 24 h"
        self.panel.plan.setText(
            f"{spec.total:,} runs ({len(spec.dataset):,} rows × {len(spec.configs)}) on {where}{already}{api}"
        )
        self.panel.show_progress(first.done, first.total, progress_line(first, simulated))
        self.panel.set_running(True)
        self._task.start(lambda: self._run(batch, limits, store))

    def _api_runner(self, spec: BatchSpec, limits: SharedLimits) -> BatchApiRunner | None:
        """The Batch API's runner on the run's endpoint and key (None without the Batch API config); each
        poll shows in the progress line."""
        if BATCH_API not in spec.strategies:
            return None
        settings = getattr(limits.base.provider, "settings", None)
        if not isinstance(settings, OpenAISettings):
            raise DatasetError(f"the Batch API needs the OpenAI-compatible provider, not {limits.base.provider.label}")
        client = BatchClient(settings, poll_seconds=self.batch_poll)
        limits.closers.append(client.aclose)

        def on_poll(layer: int, layers: int, progress: ApiProgress) -> None:
            self.panel.progress_text.setText(f"Batch API, layer {layer}/{layers}: {progress.text()}")

        return BatchApiRunner(client, limits.base.pricing, on_poll)

    async def _run(self, batch: BatchRun, limits: SharedLimits, store: BatchStore) -> None:
        hold = Hold()  # no full collection while the rows run (``core/collector.py``)
        hold.take()
        try:
            await batch.run()
        except asyncio.CancelledError:
            batch.cancel()
            raise
        finally:
            hold.release(freeze=True)
            await limits.aclose()
            results = store.results()
            pairs = store.pairs()
            store.close()
            self.panel.set_running(False)
            spec = self.spec
            if spec is not None:
                self.results = results
                self.panel.show_results(results, summarize(spec.configs, results, pairs))
                self.panel.tabs.setCurrentIndex(2)
                stopped = batch.stop_reason
                if stopped is not None and len(results) < spec.total:
                    self.panel.plan.setText(f"Stopped ({stopped}): Run Dataset again to resume.")

    def stop(self) -> None:
        if self.batch is not None:
            self.batch.cancel()

    def export(self) -> None:
        if self.spec is None:
            return
        path, _ = QFileDialog.getSaveFileName(self.host, "Export Results", "results.jsonl", "JSON Lines (*.jsonl)")
        if path:
            self.export_to(path)

    def export_to(self, path: str) -> None:
        assert self.spec is not None
        try:
            write_results(self.spec, self.results, path, str(Path(path).with_suffix(".csv")))
        except OSError as exc:
            self.panel.plan.setText(f"The results could not be written: {exc}")
            return
        self.panel.plan.setText(f"Wrote {path} and {Path(path).with_suffix('.csv')}")

    def shutdown(self) -> None:
        if self.batch is not None:
            self.batch.cancel()
        self._task.cancel()
