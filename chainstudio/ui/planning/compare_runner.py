"""Runs a strategy comparison (``chainstudio.core.planning.compare``) inside the running qasync loop.

``run_comparison`` is the coroutine: each graph under each strategy (and optionally each concurrency cap),
``repeat`` times, summarised as the seed's table. ``CompareRunner`` owns it as a task, reports progress
after each run, and can be cancelled (the run in flight is cancelled cleanly by the executor).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QObject, Signal

from chainstudio.core.collector import Hold
from chainstudio.core.formatting import fmt_duration
from chainstudio.core.graph.model import Graph
from chainstudio.core.planning.compare import BenchResult, ContextFactory, run_bench, summarize
from chainstudio.core.run.executor import Strategy
from chainstudio.ui.common.tasks import LatestTask

OnRun = Callable[[str, str, int, Any], None]  # (file, strategy, repeat index, finished Run)


def runs_in(
    graphs: Sequence[tuple[str, Graph]],
    strategies: Sequence[str],
    repeat: int,
    concurrencies: Sequence[int | None] | None,
) -> int:
    return len(graphs) * len(strategies) * repeat * max(1, len(concurrencies or ()))


async def run_comparison(
    graphs: Sequence[tuple[str, Graph]],
    strategies: Sequence[Strategy],
    make_context: ContextFactory,
    *,
    repeat: int = 1,
    concurrencies: Sequence[int | None] | None = None,
    inputs: dict[str, str] | None = None,
    model: str | None = None,
    on_run: OnRun | None = None,
) -> BenchResult:
    """Benchmark ``graphs`` (``(file, graph)`` pairs) under ``strategies``. With several ``concurrencies``
    every row is run under each cap (``None``: the context's own cap) and labelled ``· cap N``."""
    caps = list(concurrencies or [None])
    if len(caps) == 1:
        return await run_bench(
            graphs, strategies, repeat, _capped(make_context, caps[0]), inputs=inputs, model=model, on_run=on_run
        )
    rows = []
    for cap in caps:
        part = await run_bench(
            graphs, strategies, repeat, _capped(make_context, cap), inputs=inputs, model=model, on_run=on_run
        )
        for row in part.rows:
            row.label += f" · cap {cap}" if cap else " · default cap"
            row.marks.clear()
        rows.extend(part.rows)
    return summarize(rows)


def _capped(make_context: ContextFactory, cap: int | None) -> ContextFactory:
    if cap is None:
        return make_context
    return lambda index: dataclasses.replace(make_context(index), concurrency=cap)


class CompareRunner(QObject):
    """Signals: ``progress(done, total, text)``, ``finished(BenchResult)``, ``failed(str)``, ``cancelled()``."""

    progress = Signal(int, int, str)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        # ``cancelled`` is emitted inside the task as it stops: once the task is done, it has been heard
        self._task = LatestTask(name="chainstudio-compare", on_cancelled=self.cancelled.emit)
        self.result: BenchResult | None = None

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task.task

    @property
    def running(self) -> bool:
        return self._task.running

    def start(
        self,
        graphs: Sequence[tuple[str, Graph]],
        strategies: Sequence[Strategy],
        make_context: ContextFactory,
        *,
        repeat: int = 1,
        concurrencies: Sequence[int | None] | None = None,
        inputs: dict[str, str] | None = None,
        model: str | None = None,
        on_run: OnRun | None = None,
    ) -> asyncio.Task:
        """Start the comparison as a task of the running loop (kept here). Graphs are copied first, so edits
        made meanwhile do not change later runs. Raises RuntimeError while one is running."""
        if self.running:
            raise RuntimeError("a comparison is already running")
        graphs = [(file, graph.copy()) for file, graph in graphs]
        total = runs_in(graphs, strategies, repeat, concurrencies)
        done = 0

        def finished_one(file: str, strategy: str, index: int, run: Any) -> None:
            nonlocal done
            done += 1
            if on_run is not None:
                on_run(file, strategy, index, run)
            cap = run.context.concurrency
            text = f"{run.graph.name} · {strategy}" + (f" · cap {cap}" if cap else "") + f" · run {index + 1}: "
            self.progress.emit(done, total, text + f"{run.state.status}, {fmt_duration(run.state.totals().wall)}")

        def comparison():  # made inside the task, so a task cancelled early leaves no coroutine
            return run_comparison(
                graphs,
                strategies,
                make_context,
                repeat=repeat,
                concurrencies=concurrencies,
                inputs=inputs,
                model=model,
                on_run=finished_one,
            )

        self.result = None
        self.progress.emit(0, total, f"Running {total} run{'s' * (total != 1)}…")
        return self._task.start(lambda: self._run(comparison))

    async def _run(self, comparison: Callable[[], Any]) -> None:
        hold = Hold()  # no full collection while the runs go (``core/collector.py``)
        hold.take()
        try:
            result = await comparison()
        except Exception as exc:  # noqa: BLE001 - e.g. RunError (a graph that cannot run), provider setup
            self.failed.emit(str(exc) or type(exc).__name__)
            return
        finally:
            hold.release(freeze=True)
        self.result = result
        self.finished.emit(result)

    def cancel(self) -> None:
        self._task.cancel()
