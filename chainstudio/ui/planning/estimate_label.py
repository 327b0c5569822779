"""A compact estimate for the run toolbar: ``≈ 15.4 s · 4,242 tok · $0.0247``; when no recorded run has
calibrated it for the endpoint, a range marked as such: ``≈ 6.2 s – 1.9 min (uncalibrated) · …``.

The tooltip lists each step's estimate and any budget warning (in red; the text turns red too). After a
run, ``set_actual`` shows the estimate against what happened. ``compute_estimate`` runs the estimate on a
worker thread so the qasync loop never waits for it.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable, Iterator
from html import escape
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from chainstudio.core.editing.problem_check import is_small
from chainstudio.core.formatting import fmt_cost, fmt_ms, fmt_percent_change, fmt_tokens
from chainstudio.core.graph.kinds import MODEL_KINDS
from chainstudio.core.graph.model import Graph
from chainstudio.core.planning import estimate_process
from chainstudio.core.planning.estimate import Estimate, NodeEstimate, estimate
from chainstudio.core.planning.estimate_process import EstimateProcess
from chainstudio.core.planning.estimate_wire import encode, graph_frames
from chainstudio.core.run.state import RunState
from chainstudio.ui.common.worker import run_in_thread, run_in_worker

WARNING_COLOR = "#b3261e"
MUTED = "#5f6b7a"
TOOLTIP_ROWS = 40  # steps listed in a tooltip: the 10,000-step graph's was an HTML table of 10,000 rows (MBs)


def out_of_process(graph: Graph, options: dict[str, Any]) -> bool:
    """Whether ``graph`` is estimated in a child process: a graph validated on a worker (over
    ``problem_check.SMALL_GRAPH_ITEMS`` steps and edges), where this program can start one."""
    return not is_small(graph) and estimate_process.available() and estimate_process.can_send(options)


async def compute_estimate(graph: Graph, process: EstimateProcess | None = None, **options: Any) -> Estimate:
    """``estimate(graph, **options)`` on a worker thread, or in ``process`` (a child process: its state stays
    there, and a cancelled estimate kills it). On a worker, ``graph`` is the caller's own snapshot (edits of the
    document's graph must not reach it: ``topology.snapshot``); for a child it may be the document's own: it is
    encoded here, on the window's thread, a piece per turn of the loop (no copy of it is made), and an edit
    that changes the estimate meanwhile restarts it anyway."""
    if process is None:
        return await run_in_worker(estimate, graph, checkpointed=True, **options)
    frames = []
    for frame in graph_frames(graph):  # 500 steps or 5,000 edges: a few ms each
        frames.append(encode(frame))
        await asyncio.sleep(0)
    try:
        return await run_in_thread(process.run, frames, options)
    except asyncio.CancelledError:
        process.stop()
        raise


def estimate_text(result: Estimate) -> str:
    """``≈ 15.4 s · 4,242 tok · $0.0247``, and what it assumed: ``(placeholder topic)`` for inputs without a
    value, ``(incomplete)`` when the simulated run did not finish."""
    wall = result.wall_text(fmt_ms) + (" (uncalibrated)" if result.uncalibrated else "")
    text = f"≈ {wall} · {fmt_tokens(result.total_tokens)} tok · {fmt_cost(result.cost_usd)}"
    if result.problem:
        return text + " (incomplete)"
    if len(result.placeholders) == 1:
        return text + f" (placeholder {result.placeholders[0]})"
    if result.placeholders:
        return text + f" ({len(result.placeholders)} placeholder inputs)"
    return text


def caveats_html(result: Estimate) -> str:
    """The estimate's caveats as tooltip lines (placeholder inputs, an incomplete run); '' when none."""
    lines = []
    if result.placeholders:
        lines.append(
            f"<b>{escape(result.placeholder_note)}.</b> Run it once (F5 asks for the value) and the estimate "
            "uses the value you gave."
        )
    if result.checks is not None:
        lines.append(f"<b>Range</b> over the {escape(result.checks.text())}; the figures assume the first.")
    if result.problem:
        lines.append(f"<span style='color:{WARNING_COLOR}'><b>Incomplete:</b> {escape(result.problem)}</span>")
    return "".join(f"<br>{line}" for line in lines)


def _cell(text: str, right: bool = False, color: str | None = None) -> str:
    style = "padding:0 6px;" + ("text-align:right;" if right else "") + (f"color:{color};" if color else "")
    return f"<td style='{style}' align='{'right' if right else 'left'}'>{escape(text)}</td>"


def _table(header: list[str], rows: list[list[str]]) -> str:
    """Text columns (the first, and Basis) left-aligned, numbers right-aligned."""
    right = [i > 0 and h != "Basis" for i, h in enumerate(header)]
    head = "".join(
        f"<th style='padding:0 6px' align='{'right' if right[i] else 'left'}'>{escape(h)}</th>"
        for i, h in enumerate(header)
    )
    body = "".join(
        "<tr>" + "".join(_cell(text, right=right[i]) for i, text in enumerate(row)) + "</tr>" for row in rows
    )
    return f"<table cellspacing='0'><tr>{head}</tr>{body}</table>"


def _first(nodes: Iterable[NodeEstimate]) -> Iterator[NodeEstimate]:
    """The first TOOLTIP_ROWS of ``nodes``."""
    return itertools.islice(nodes, TOOLTIP_ROWS)


def _more(count: int) -> str:
    """The line under a tooltip's table of ``count`` steps that lists only TOOLTIP_ROWS of them."""
    if count <= TOOLTIP_ROWS:
        return ""
    return f"<span style='color:{MUTED}'>… and {count - TOOLTIP_ROWS:,} more steps (each card shows its own)</span><br>"


def estimate_tooltip(result: Estimate, warnings: list[str]) -> str:
    cap = f", at most {result.concurrency} at once" if result.concurrency else ""
    basis = result.basis_text()
    if result.uncalibrated:
        basis += (
            ". Uncalibrated: the steps below are one guess inside the range; run the graph once on this "
            "endpoint to calibrate"
        )
    rows = [
        [
            n.name,
            fmt_ms(n.start_ms),
            fmt_ms(n.duration_ms),
            f"{n.input_tokens:,}",
            f"{n.output_tokens:,}",
            fmt_cost(n.cost_usd),
            n.basis,
        ]
        for n in _first(n for n in result.nodes if n.kind in MODEL_KINDS)
    ]
    html = (
        f"<b>Estimate · {escape(result.strategy)}{escape(cap)}</b><br>"
        f"<span style='color:{MUTED}'>{escape(basis)}</span>"
        + _table(["Step", "Start", "Duration", "In", "Out", "Cost", "Basis"], rows)
        + _more(sum(n.kind in MODEL_KINDS for n in result.nodes))
        + f"Wall {escape(result.wall_text(fmt_ms))} · tokens {result.input_tokens:,} in / "
        f"{result.output_tokens:,} out · {result.api_calls} calls · {escape(fmt_cost(result.cost_usd))}"
        + caveats_html(result)
    )
    for warning in warnings:
        html += f"<br><span style='color:{WARNING_COLOR}'><b>⚠ Budget:</b> {escape(warning)}</span>"
    return html


def comparison_text(result: Estimate, state: RunState, sep: str = " · ") -> str:
    """``est 15.4 s → 16.9 s (+10%) · 4,242 → 3,984 tok · $0.0247 → $0.0233`` (``sep`` between the time and
    the rest: the toolbar puts a line break there, to stay narrow)."""
    totals = state.totals(path=False)
    actual_ms = totals.wall * 1000
    return (
        f"est {fmt_ms(result.wall_ms)} → {fmt_ms(actual_ms)} "
        f"({fmt_percent_change(result.wall_ms, actual_ms)}){sep}{fmt_tokens(result.total_tokens)} → "
        f"{fmt_tokens(totals.total_tokens)} tok · {fmt_cost(result.cost_usd)} → {fmt_cost(totals.cost_usd)}"
    )


def comparison_tooltip(result: Estimate, state: RunState) -> str:
    by_name = {span.name: span for span in state.spans.values()}
    rows = []
    for node in result.nodes:
        span = by_name.get(node.name)
        if node.kind not in MODEL_KINDS or span is None:
            continue
        actual = None if span.duration is None else span.duration * 1000
        rows.append(
            [
                node.name,
                fmt_ms(node.duration_ms),
                fmt_ms(actual),
                "—" if actual is None else fmt_percent_change(node.duration_ms, actual),
                f"{node.output_tokens:,}",
                f"{span.output_tokens:,}",
            ]
        )
        if len(rows) == TOOLTIP_ROWS:
            break
    compared = sum(node.kind in MODEL_KINDS and node.name in by_name for node in result.nodes)
    return (
        "<b>Estimate against the run</b>"
        + _table(["Step", "Est.", "Actual", "Δ", "Out est.", "Out"], rows)
        + _more(compared)
        + escape(comparison_text(result, state))
    )


class EstimateLabel(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.estimate: Estimate | None = None
        self.warnings: list[str] = []
        self.setTextFormat(Qt.TextFormat.PlainText)
        # room for the two lines of "estimate → actual" from the start: the toolbar does not grow after a run
        self.setMinimumHeight(2 * self.fontMetrics().lineSpacing())
        self.clear()

    def clear(self) -> None:
        self.estimate, self.warnings = None, []
        self.setText("≈ —")
        self.setToolTip("No estimate yet")
        self.setStyleSheet(f"color: {MUTED};")

    def set_failed(self, short: str, reason: str) -> None:
        """No estimate: ``short`` in a few words on the label (the toolbar is narrow), ``reason`` in one line in
        the tooltip (e.g. its child process died)."""
        self.estimate, self.warnings = None, []
        self.setText(f"≈ ⚠ {short}")
        self.setToolTip(f"No estimate: {escape(reason)}. It is computed again after the next edit.")
        self.setStyleSheet(f"color: {WARNING_COLOR};")

    def set_busy(self) -> None:
        self.setText("≈ …")
        self.setStyleSheet(f"color: {MUTED};")

    def set_estimate(self, result: Estimate, cost_cap: float | None = None, token_cap: int | None = None) -> None:
        """Show ``result``; with a cap it would cross, the text turns red and the tooltip says why."""
        self.estimate = result
        self.warnings = result.budget_warnings(cost_cap, token_cap)
        self.setText(("⚠ " if self.warnings else "") + estimate_text(result))
        self.setToolTip(estimate_tooltip(result, self.warnings))
        self.setStyleSheet(f"color: {WARNING_COLOR}; font-weight: 600;" if self.warnings else "")

    def set_actual(self, state: RunState) -> None:
        """After a run: the estimate shown earlier against what the run measured."""
        if self.estimate is None:
            return
        self.setText(comparison_text(self.estimate, state, sep="\n"))  # two short lines fit the toolbar
        self.setToolTip(comparison_tooltip(self.estimate, state))
        self.setStyleSheet("")
