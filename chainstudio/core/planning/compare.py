"""Benchmarks of whole graphs: each file under each strategy, K times; the seed tutorial's comparison.

The CLI's ``bench`` and the GUI's compare view share this: rows with latency, tokens, API calls, cost and
output length, the fastest and cheapest marked, and speed-ups against a sequential baseline (the same
file run with the sequential strategy when that was benchmarked, else the first row).

Only rows whose every run succeeded are ranked: a failed, partial or cancelled run is never marked fastest
or cheapest, never a baseline and gets no speed-up; its row says what happened (``BenchRow.problem``).
Each graph gets only the input values it declares; ``missing_inputs`` says which graph inputs have no value
before anything runs. Two files whose graphs share a name are labelled with enough of their paths to tell
them apart (``row_labels``).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from chainstudio.core.graph.model import Graph
from chainstudio.core.run.executor import Run, RunContext, RunError, Strategy
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

    @property
    def ok(self) -> bool:
        """Every repeat succeeded: only such a row is ranked or a baseline."""
        return bool(self.records) and all(status == "succeeded" for status in self.statuses)

    @property
    def problem(self) -> str | None:
        """For a row that is not ``ok``: its status and why, e.g. ``failed: topic: graph input 'topic' has no
        value``; None for an ``ok`` row."""
        if self.ok:
            return None
        bad = next((r for r in self.records if r["status"] != "succeeded"), None)
        if bad is None:
            return "not run"
        return f"{bad['status']}: {run_problem(bad)}"


def run_problem(record: Mapping[str, Any]) -> str:
    """Why a run record did not succeed: its first failed step's error, else its message, else its status."""
    failed = next((n for n in record.get("nodes", ()) if n.get("status") == "failed" and n.get("error")), None)
    if failed is not None:
        return f"{failed['name']}: {failed['error']}"
    return str(record.get("message") or record.get("status") or "unknown")


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
    def ranked(self) -> list[BenchRow]:
        """The rows that take part in the ranking (every run succeeded)."""
        return [row for row in self.rows if row.ok]

    @property
    def cost_known(self) -> bool:
        return all(row.median["cost_usd"] is not None for row in self.ranked)


def declared_inputs(graph: Graph, inputs: Mapping[str, str] | None) -> dict[str, str]:
    """The values in ``inputs`` that ``graph`` declares as inputs (a comparison of several files gives each
    graph its own)."""
    names = {gi.name for gi in graph.inputs}
    return {name: value for name, value in (inputs or {}).items() if name in names}


def missing_inputs(graphs: Sequence[tuple[str, Graph]], inputs: Mapping[str, str] | None) -> dict[str, list[str]]:
    """file -> the graph inputs with neither a default nor a value in ``inputs`` (files with none left out)."""
    given = inputs or {}
    missing = {
        file: [gi.name for gi in graph.inputs if gi.default is None and gi.name not in given] for file, graph in graphs
    }
    return {file: names for file, names in missing.items() if names}


def undeclared_inputs(graphs: Sequence[tuple[str, Graph]], inputs: Mapping[str, str] | None) -> list[str]:
    """Names in ``inputs`` that no graph declares (most likely a typo)."""
    declared = {gi.name for _, graph in graphs for gi in graph.inputs}
    return sorted(set(inputs or {}) - declared)


def row_labels(graphs: Sequence[tuple[str, Graph]]) -> list[str]:
    """One label per (file, graph): the graph's name, plus, where graphs share a name, the shortest tail of
    the file's path that tells them apart (``research [v2/research.chain.json]``; ``#2`` for a file given
    twice)."""
    labels = [graph.name for _, graph in graphs]
    for name in set(labels):
        same = [i for i, label in enumerate(labels) if label == name]
        if len(same) < 2:
            continue
        parts = [PurePath(graphs[i][0]).parts or (graphs[i][0],) for i in same]
        longest = max(len(p) for p in parts)
        depth = next((d for d in range(1, longest) if len({p[-d:] for p in parts}) == len(parts)), longest)
        tails = [str(PurePath(*p[-depth:])) for p in parts]
        for n, (i, tail) in enumerate(zip(same, tails, strict=True)):
            again = f" #{n + 1}" if tails.count(tail) > 1 else ""
            labels[i] = f"{name} [{tail}{again}]"
    return labels


async def run_bench(
    graphs: Sequence[tuple[str, Graph]],
    strategies: Sequence[Strategy],
    repeat: int,
    make_context: ContextFactory,
    *,
    inputs: dict[str, str] | None = None,
    model: str | None = None,
    on_run: Callable[[str, str, int, Run], None] | None = None,
    on_start: Callable[[Run], None] | None = None,
    stopped: Callable[[], bool] = lambda: False,
) -> BenchResult:
    """Run every graph under every strategy ``repeat`` times; ``on_run(file, strategy, index, run)`` sees each
    finished run (with its events, e.g. for the run history), ``on_start(run)`` each run as it starts. Each
    graph gets the ``inputs`` it declares; a name no graph declares is refused (RunError) before anything
    runs. Once ``stopped()`` (a stop signal: the run in flight was cancelled), no further run starts and the
    result holds the runs made."""
    unknown = undeclared_inputs(graphs, inputs)
    if unknown:
        raise RunError(f"{', '.join(unknown)}: not an input of any graph compared")
    rows: list[BenchRow] = []
    several = len(strategies) > 1
    for (file, graph), name in zip(graphs, row_labels(graphs), strict=True):
        values = declared_inputs(graph, inputs)
        for strategy in strategies:
            label = f"{name} ({strategy})" if several else name
            row = BenchRow(label, file, graph.name, strategy, [])
            for index in range(repeat):
                if stopped():
                    break
                run = Run(graph, make_context(index), strategy=strategy, inputs=values, model=model)
                if on_start is not None:
                    on_start(run)
                state = await run.execute()
                row.states.append(state)
                record = run_record(state)
                record.update(file=file, repeat=index)
                row.records.append(record)
                if on_run is not None:
                    on_run(file, strategy, index, run)
            if row.states:
                rows.append(row)
    return summarize(rows)


def summarize(rows: Iterable[BenchRow]) -> BenchResult:
    """Speed-ups against each file's sequential row (else the first ranked row) and the marks, among the
    rows whose runs all succeeded; the others keep no baseline, no speed-up and no mark."""
    rows = list(rows)
    result = BenchResult(rows)
    ranked = result.ranked
    for row in rows:
        row.baseline, row.speedup = None, None
    if not ranked:
        return result
    for row in ranked:
        base = next((r for r in ranked if r.file == row.file and r.strategy == "sequential"), ranked[0])
        row.baseline = base.label
        row.speedup = base.wall_ms / row.wall_ms if row.wall_ms > 0 else None
    min(ranked, key=lambda r: r.wall_ms).marks.append("fastest")
    if result.cost_known:
        min(ranked, key=lambda r: r.median["cost_usd"]).marks.append("cheapest")
    else:
        min(ranked, key=lambda r: r.median["total_tokens"]).marks.append("cheapest")
    max(ranked, key=lambda r: r.median["output_chars"]).marks.append("longest output")
    return result
