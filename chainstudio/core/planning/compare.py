"""Benchmarks of whole graphs: each file under each strategy, K times; the seed tutorial's comparison.

The CLI's ``bench`` and the GUI's compare view share this: rows with latency, tokens, API calls, cost and
output length, the fastest and cheapest marked, and speed-ups against a sequential baseline (the same
file run with the sequential strategy when that was benchmarked, else the first row).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from chainstudio.core.graph.model import Graph
from chainstudio.core.run.executor import Run, RunContext, Strategy
from chainstudio.core.run.record import run_record
from chainstudio.core.run.state import RunState

ContextFactory = Callable[[int], RunContext]  # repeat index -> a fresh context (seed + index)


@dataclass
class BenchRow:
    label: str
    file: str
    graph: str
    strategy: str
    records: list[dict[str, Any]]  # one per repeat
    speedup: float | None = None  # against the sequential baseline
    baseline: str | None = None
    marks: list[str] = field(default_factory=list)  # "fastest", "cheapest", "longest output"
    states: list[RunState] = field(default_factory=list, repr=False)  # one per repeat, e.g. for stacked Gantts

    @property
    def median(self) -> dict[str, Any]:
        """The repeat with the median wall time (its other figures stay consistent with it)."""
        ordered = sorted(self.records, key=lambda r: r["wall_ms"])
        return ordered[(len(ordered) - 1) // 2]

    @property
    def wall_ms(self) -> float:
        return float(statistics.median(r["wall_ms"] for r in self.records))

    @property
    def statuses(self) -> list[str]:
        return [r["status"] for r in self.records]


LIVE = "live"  # each run makes its own calls (a sampling provider answers differently every time)


@dataclass
class BenchResult:
    rows: list[BenchRow]
    mode: str = LIVE  # or "replay of RUN_ID (recorded on ...)": every row saw the same recorded answers

    def by_mark(self, mark: str) -> BenchRow | None:
        return next((row for row in self.rows if mark in row.marks), None)

    @property
    def records(self) -> list[dict[str, Any]]:
        return [record for row in self.rows for record in row.records]

    @property
    def cost_known(self) -> bool:
        return all(row.median["cost_usd"] is not None for row in self.rows)


async def run_bench(
    graphs: Sequence[tuple[str, Graph]],
    strategies: Sequence[Strategy],
    repeat: int,
    make_context: ContextFactory,
    *,
    inputs: dict[str, str] | None = None,
    model: str | None = None,
    on_run: Callable[[str, str, int, Run], None] | None = None,
) -> BenchResult:
    """Run every graph under every strategy ``repeat`` times; ``on_run(file, strategy, index, run)`` sees each
    finished run (with its events, e.g. for the run history)."""
    rows: list[BenchRow] = []
    several = len(strategies) > 1
    for file, graph in graphs:
        for strategy in strategies:
            label = f"{graph.name} ({strategy})" if several else graph.name
            row = BenchRow(label, file, graph.name, strategy, [])
            for index in range(repeat):
                run = Run(graph, make_context(index), strategy=strategy, inputs=inputs, model=model)
                state = await run.execute()
                row.states.append(state)
                record = run_record(state)
                record.update(file=file, repeat=index)
                row.records.append(record)
                if on_run is not None:
                    on_run(file, strategy, index, run)
            rows.append(row)
    return summarize(rows)


def summarize(rows: Iterable[BenchRow]) -> BenchResult:
    rows = list(rows)
    result = BenchResult(rows)
    if not rows:
        return result
    for row in rows:
        base = next((r for r in rows if r.file == row.file and r.strategy == "sequential"), rows[0])
        row.baseline = base.label
        row.speedup = base.wall_ms / row.wall_ms if row.wall_ms > 0 else None
    min(rows, key=lambda r: r.wall_ms).marks.append("fastest")
    if result.cost_known:
        min(rows, key=lambda r: r.median["cost_usd"]).marks.append("cheapest")
    else:
        min(rows, key=lambda r: r.median["total_tokens"]).marks.append("cheapest")
    max(rows, key=lambda r: r.median["output_chars"]).marks.append("longest output")
    return result
