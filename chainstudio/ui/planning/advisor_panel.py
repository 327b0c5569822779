"""The advisor panel (a dock): is this chain sequential, parallel or hybrid, and what would make it faster.

``set_report`` shows an ``advisor.Report``: the graph's shape and why, the predicted wall time, tokens and
cost, then one card per piece of advice with its predicted effect and an Apply button. Apply emits the
advice's undoable command (``applyCommand``; the main window executes it on its Document) or, for the
concurrency advice, the cap (``applyConcurrency``). ``compute_report`` runs the CPU-bound ``advise`` on a
worker thread so the qasync loop stays responsive; ``AdvisorPanel.compute`` does that as an owned task.
"""

from __future__ import annotations

import asyncio
from html import escape
from typing import Any

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

from chainstudio.core.formatting import fmt_cost, fmt_cost_change, fmt_ms, fmt_ms_change, fmt_tokens, fmt_tokens_change
from chainstudio.core.graph.model import Graph
from chainstudio.core.planning.advisor import Advice, Report, advise
from chainstudio.core.run.topology import snapshot
from chainstudio.ui.common.tasks import LatestTask
from chainstudio.ui.common.worker import run_in_worker

SHAPE_COLORS = {"sequential": "#b3261e", "parallel": "#1b7f3b", "hybrid": "#1565c0"}
CARD_STYLE = "QFrame#adviceCard { background: palette(base); border: 1px solid palette(mid); border-radius: 6px; }"


async def compute_report(graph: Graph, **options: Any) -> Report:
    """``advise(graph, **options)`` on a worker thread (it simulates the graph several times). The graph is
    copied first (``topology.snapshot``: a deep copy of 10,000 steps took 3 s of the window's thread), so
    later edits cannot race with it; commands address nodes by id and apply to the original graph."""
    return await run_in_worker(advise, snapshot(graph), checkpointed=True, **options)


def effect_text(advice: Advice) -> str:
    """The predicted effect, ``−16.7 s · ±0 tokens · ±$0``; empty when there is nothing to predict."""
    parts = []
    if advice.wall_ms_saved is not None:
        parts.append(fmt_ms_change(-advice.wall_ms_saved))
    if advice.tokens_change is not None:
        parts.append(fmt_tokens_change(advice.tokens_change))
    if advice.cost_change is not None:
        parts.append(fmt_cost_change(advice.cost_change))
    return " · ".join(p for p in parts if p)


class AdviceCard(QFrame):
    applied = Signal(object)  # the Advice

    def __init__(self, advice: Advice, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.advice = advice
        self.setObjectName("adviceCard")
        self.setStyleSheet(CARD_STYLE)
        self.title = QLabel(f"<b>{escape(advice.title)}</b>")
        self.title.setWordWrap(True)
        self.effect = QLabel(effect_text(advice))
        self.effect.setStyleSheet("color: #1b7f3b;" if (advice.wall_ms_saved or 0) > 0.5 else "color: palette(dark);")
        self.effect.setVisible(bool(self.effect.text()))
        self.detail = QLabel(advice.detail)
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        label = (
            f"Use {advice.concurrency}"
            if advice.kind in ("concurrency", "capacity") and advice.concurrency
            else "Apply"
        )
        self.apply_button = QPushButton(label)
        self.apply_button.setEnabled(advice.applicable)
        self.apply_button.setToolTip("Apply (undoable)" if advice.make_command else "Set the run's concurrency cap")
        self.apply_button.clicked.connect(self._apply)

        top = QHBoxLayout()
        heading = QVBoxLayout()
        heading.setSpacing(2)
        heading.addWidget(self.title)
        heading.addWidget(self.effect)
        top.addLayout(heading, 1)
        top.addWidget(self.apply_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addLayout(top)
        layout.addWidget(self.detail)

    def _apply(self) -> None:
        self.apply_button.setEnabled(False)
        self.apply_button.setText("Applied")
        self.applied.emit(self.advice)


class AdvisorPanel(QWidget):
    """Signals: ``applyCommand(Command)``, ``applyConcurrency(int)``, ``refreshRequested()``."""

    applyCommand = Signal(object)
    applyConcurrency = Signal(int)
    refreshRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.report: Report | None = None
        self.cards: list[AdviceCard] = []
        self._task = LatestTask(name="chainstudio-advise")

        self.heading = QLabel("<b>Advisor</b>")
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Analyse the graph again with the run toolbar's settings")
        self.refresh_button.clicked.connect(self.refreshRequested)
        self.status = QLabel("Press Refresh to analyse the graph.")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: palette(dark);")
        self.shape = QLabel()
        self.shape.setWordWrap(True)
        self.shape.setTextFormat(Qt.TextFormat.RichText)
        self.shape.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.baseline = QLabel()
        self.baseline.setWordWrap(True)
        self.baseline.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        self._cards_box = QWidget()
        self._cards_layout = QVBoxLayout(self._cards_box)
        self._cards_layout.setContentsMargins(0, 0, 0, 0)
        self._cards_layout.setSpacing(8)
        self._cards_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self._cards_box)

        top = QHBoxLayout()
        top.addWidget(self.heading, 1)
        top.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addWidget(self.shape)
        layout.addWidget(self.baseline)
        layout.addSpacing(4)
        layout.addWidget(scroll, 1)
        self.set_report(None)

    # --- showing ---------------------------------------------------------------------------------
    def set_report(self, report: Report | None) -> None:
        self.report = report
        for card in self.cards:
            card.setParent(None)
            card.deleteLater()
        self.cards = []
        self.shape.setVisible(report is not None)
        self.baseline.setVisible(report is not None)
        if report is None:
            return
        self.status.hide()
        color = SHAPE_COLORS.get(report.shape, "palette(text)")
        self.shape.setText(
            f"<span style='font-size:13pt; font-weight:600; color:{color}'>"
            f"{escape(report.shape.capitalize())}</span><br>{escape(report.shape_reason)}"
        )
        base = report.baseline
        cap = f", concurrency {base.concurrency}" if base.concurrency else ""
        caveat = f" · {base.placeholder_note}" if base.placeholders else ""
        caveat += f" · incomplete: {base.problem}" if base.problem else ""
        self.baseline.setText(
            f"Predicted now ({base.strategy}{cap}): {base.wall_text(fmt_ms)}"
            f"{' (uncalibrated)' if base.uncalibrated else ''} · "
            f"{fmt_tokens(base.total_tokens)} tokens · {fmt_cost(base.cost_usd)}{caveat}"
        )
        for index, advice in enumerate(report.advice):
            card = AdviceCard(advice)
            card.applied.connect(self._apply)
            self._cards_layout.insertWidget(index, card)
            self.cards.append(card)

    def set_busy(self, busy: bool, text: str = "Analysing the graph…") -> None:
        self.refresh_button.setEnabled(not busy)
        if busy:
            self.show_message(text)

    def show_message(self, text: str) -> None:
        """A line above the report (progress, or why there is no report)."""
        self.status.setText(text)
        self.status.setVisible(bool(text))

    def _apply(self, advice: Advice) -> None:
        if advice.make_command is not None:
            self.applyCommand.emit(advice.make_command())
        elif advice.concurrency is not None:
            self.applyConcurrency.emit(int(advice.concurrency))
        self.show_message("Applied. Press Refresh for advice on the changed graph.")

    # --- computing ---------------------------------------------------------------------------------
    def compute(self, graph: Graph, **options: Any) -> asyncio.Task:
        """Analyse ``graph`` off the UI thread and show the report; the task is kept (and a running one is
        cancelled first). Call inside the running qasync loop."""
        self.set_busy(True)
        return self._task.start(lambda: self._compute(graph, options))

    def cancel(self) -> None:
        """Stop an analysis that is going on (the window is closing)."""
        self._task.cancel()

    async def _compute(self, graph: Graph, options: dict[str, Any]) -> None:
        try:
            report = await compute_report(graph, **options)
            if not shiboken6.isValid(self):  # the panel went away while the analysis ran
                return
        except Exception as exc:  # noqa: BLE001 - shown to the user, e.g. a graph that cannot run
            self.set_report(None)
            self.show_message(f"Cannot analyse this graph: {exc}")
        else:
            self.set_report(report)
        finally:
            if shiboken6.isValid(self):
                self.refresh_button.setEnabled(True)
