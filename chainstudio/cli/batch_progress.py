"""What ``chainstudio batch`` draws: the progress bar (done / total, spend so far, ETA) and the trade-off table."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from chainstudio.cli.report import fmt_cost

if TYPE_CHECKING:
    from chainstudio.core.batch.batch import BatchProgress, BatchRun
    from chainstudio.core.batch.stats import Interval
    from chainstudio.core.batch.tradeoff import ConfigSummary

LINE_EVERY = 0.05  # without a terminal: a line each 5 % of the batch


def progress_text(p: BatchProgress) -> str:
    eta = p.eta
    eta_text = "ETA —" if eta is None else f"ETA {_duration(eta)}"
    failed = f" · {p.failed} failed" if p.failed else ""
    return f"{p.done:,}/{p.total:,}{failed} · spent {fmt_cost(p.cost_usd)}, {p.tokens:,} tok · {eta_text}"


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


@contextmanager
def progress_display(console: Any, batch: BatchRun) -> Iterator[Callable[[BatchProgress], None]]:
    """A callback for the batch's progress: a rich bar on a terminal, a line each 5 % otherwise."""
    first = batch.progress()
    if not console.is_terminal:
        step = max(1, int(first.total * LINE_EVERY))
        last = [first.done]

        def line(p: BatchProgress) -> None:
            if p.done - last[0] >= step or p.done == p.total:
                last[0] = p.done
                console.print(f"  {p.config}: {progress_text(p)}", markup=False, highlight=False)

        yield line
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[line]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task(first.config or "batch", total=first.total, completed=first.done, line=progress_text(first))

        def update(p: BatchProgress) -> None:
            bar.update(task, completed=p.done, description=p.config, line=progress_text(p))

        yield update


def _interval(value: Interval | None, digits: int = 2) -> str:
    if value is None or math.isnan(value.mean):
        return "—"
    return value.text(digits)


def print_tradeoff(console: Any, summaries: Sequence[ConfigSummary]) -> None:
    """The trade-off table: one line per variant × strategy (overlap and contradictions when measured)."""
    if not summaries:
        return
    simulated = any(s.simulated for s in summaries)
    quality = next((s.quality_name for s in summaries if s.quality_name), "")
    overlap = any(s.overlap is not None for s in summaries)
    contradictions = any(s.contradictions is not None for s in summaries)
    width = max(16, *(len(s.label) + 2 for s in summaries))
    header = (
        f"{'Config':<{width}} {'Rows':>5} {'Fail':>4} {'p50':>8} {'p95':>8} {'Tok/row':>8} {'$/row':>9} {'Quality':>18}"
    )
    header += f" {'Overlap':>18}" * overlap + f" {'Contradicts':>18}" * contradictions
    console.print()
    console.print("=== TRADE-OFF ===" + ("  (SIMULATED)" if simulated else ""), markup=False, soft_wrap=True)
    console.print(header, markup=False, soft_wrap=True)
    console.print("-" * len(header), markup=False, soft_wrap=True)
    for s in summaries:
        tokens = f"{'~' if s.tokens_estimated else ''}{s.tokens:,.0f}"
        line = (
            f"{s.label:<{width}} {s.rows:>5} {s.failed:>4} {_seconds(s.latency_p50):>8} {_seconds(s.latency_p95):>8} "
            f"{tokens:>8} {fmt_cost(s.cost):>9} {_interval(s.quality):>18}"
        )
        line += f" {_interval(s.overlap):>18}" * overlap + f" {_interval(s.contradictions):>18}" * contradictions
        console.print(line + ("  pareto" if s.pareto else ""), markup=False, soft_wrap=True)
    for s in summaries:
        extra = [f"{name} {_interval(value)}" for name, value in s.scores.items() if name != s.quality_name]
        if s.wins is not None:
            extra.append(f"pairwise wins {_interval(s.wins)}")
        if extra:
            console.print(f"  {s.label}: {'; '.join(extra)}", markup=False, soft_wrap=True)
    what = {"judge": "the judge's mean score (1-5)", "": "none measured"}.get(quality, f"the pass rate of {quality}")
    console.print(
        f"Quality: {what}. " + INTERVALS_NOTE + (" Latencies are simulated seconds." if simulated else ""), markup=False
    )


INTERVALS_NOTE = (
    "Intervals are 95 %: Wilson for pass rates and contradiction rates (0-1), a percentile bootstrap of the "
    "mean for judge scores (1-5) and overlap (token-set Jaccard of sibling branches). pareto: no other config "
    "is as cheap, as fast and as good, and better in one."
)


def _seconds(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:,.2f}s"
