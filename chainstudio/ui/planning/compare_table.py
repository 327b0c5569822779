"""The compare view's table, as plain functions: the seed's columns, each row's cells (a row that did not
succeed shows its problem where the marks go), the row names and the SIMULATED banner's words."""

from __future__ import annotations

from chainstudio.core.formatting import fmt_cost, fmt_ms
from chainstudio.core.planning.compare import BenchResult, BenchRow
from chainstudio.core.run.state import RunState

COLUMNS = ("Strategy", "Latency", "Tokens", "Calls", "Cost", "Output", "Speed-up", "")
MARK_COLORS = {"fastest": "#1b7f3b", "cheapest": "#1565c0", "longest output": "#6b7685"}
PROBLEM_COLOR = "#b3261e"
BANNER = (
    "SIMULATED · no model was called: times, tokens and costs come from the simulated provider "
    "(offline). Ratios between strategies are meaningful; absolute figures are not."
)


def median_state(row: BenchRow) -> RunState | None:
    """The state of the repeat whose record is the row's median."""
    if not row.states:
        return None
    return row.states[row.records.index(row.median)]


def row_name(row: BenchRow, result: BenchResult) -> str:
    """The strategy (and cap) alone when every row is the same graph, else the row's full label."""
    if len({r.file for r in result.rows}) == 1 and len({r.graph for r in result.rows}) == 1:
        prefix = f"{row.graph} ({row.strategy})"
        return row.label.replace(prefix, row.strategy, 1) if row.label.startswith(prefix) else row.strategy
    return row.label


def row_cells(row: BenchRow, result: BenchResult) -> list[str]:
    """The table's cells; a row that is not ranked shows its problem where the marks go."""
    median = row.median
    marks = [row.problem] if row.problem else list(row.marks)
    return [
        row_name(row, result),
        fmt_ms(row.wall_ms),
        f"{median['total_tokens']:,}",
        str(median["api_calls"]),
        fmt_cost(median["cost_usd"]),
        f"{median['output_chars']:,}",
        "" if row.speedup is None else f"×{row.speedup:.2f}",
        ", ".join(marks),
    ]


def is_simulated(result: BenchResult) -> bool:
    return any(state.started is not None and state.started.simulated for row in result.rows for state in row.states)


def parse_caps(text: str) -> list[int]:
    """``"2, 4 8"`` -> [2, 4, 8]; raises ValueError on anything but positive integers."""
    caps = []
    for part in text.replace(",", " ").split():
        value = int(part)
        if value < 1:
            raise ValueError(part)
        caps.append(value)
    return list(dict.fromkeys(caps))
