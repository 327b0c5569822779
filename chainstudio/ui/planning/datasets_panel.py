"""The Datasets panel's widgets: pick a dataset file, map its columns to the graph's inputs, preview it,
choose strategies (and the OpenAI Batch API, where it applies), repeats and a check or a judge, run with a
progress bar (done / total, spend, ETA), then the results table, the trade-off table and chart.
``DatasetsUi`` (``datasets.py``) drives it."""

from __future__ import annotations

import math
from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from chainstudio.core.batch.dataset import Dataset
from chainstudio.core.batch.results import RowResult
from chainstudio.core.batch.stats import Interval
from chainstudio.core.batch.tradeoff import ConfigSummary
from chainstudio.core.formatting import fmt_cost
from chainstudio.core.graph.model import Graph
from chainstudio.ui.planning.tradeoff_chart import TradeoffWidget

PREVIEW_ROWS = 50
RESULT_ROWS = 500
DEFAULT_INPUT = "(the input's default)"
CHECKS = ("none", "exact", "contains")
STRATEGIES = ("eager", "layered", "sequential")
BATCH_API_TEXT = "Batch API (50 % price, answers within 24 h)"
BATCH_API_TIP = (
    "Also run every row through the OpenAI Batch API (/v1/files + /v1/batches on the run's endpoint): 50 % of "
    "the standard price (or the price table's batch price), answered within OpenAI's 24 h window, one batch per "
    "layer of model steps. The endpoint must offer the Batch API: OpenAI's does, most local servers do not. "
    "The trade-off chart shows it as its own point: slow and cheap."
)


def _item(text: object, align_right: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem("" if text is None else str(text))
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    if align_right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


def _interval(value: Interval | None) -> str:
    return "—" if value is None or math.isnan(value.mean) else value.text()


def _fill(table: QTableWidget, headers: Sequence[str], rows: Sequence[Sequence[object]], right: int = 0) -> None:
    table.clear()
    table.setColumnCount(len(headers))
    table.setHorizontalHeaderLabels(list(headers))
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.setItem(r, c, _item(value, align_right=c >= right > 0))
    table.resizeColumnsToContents()


def _table() -> QTableWidget:
    table = QTableWidget()
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    table.horizontalHeader().setStretchLastSection(True)
    return table


class DatasetsPanel(QWidget):
    """Signals: ``openRequested()``, ``runRequested()``, ``stopRequested()``, ``exportRequested()``."""

    openRequested = Signal()
    runRequested = Signal()
    stopRequested = Signal()
    exportRequested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.dataset: Dataset | None = None
        self.file_label = QLabel("No dataset: open a .csv or .jsonl file")
        self.open_button = QPushButton("Open Dataset…")
        self.open_button.clicked.connect(self.openRequested)
        self.strategies = {name: QCheckBox(name) for name in STRATEGIES}
        self.strategies["eager"].setChecked(True)
        self.batch_api = QCheckBox(BATCH_API_TEXT)
        self.set_batch_api_available(False, "")
        self.repeat = QSpinBox()
        self.repeat.setRange(1, 100)
        self.check = QComboBox()
        self.check.addItems(CHECKS)
        self.expected = QComboBox()
        self.expected.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.rubric = QLineEdit()
        self.rubric.setPlaceholderText("LLM-as-judge rubric (empty: no judge)")
        self.fresh = QCheckBox("Start over")
        self.fresh.setToolTip("Forget the rows this batch finished before (otherwise it resumes where it stopped)")
        self.run_button = QPushButton("Run Dataset")
        self.run_button.clicked.connect(self.runRequested)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stopRequested)
        self.export_button = QPushButton("Export Results…")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self.exportRequested)
        self.plan = QLabel("")
        self.plan.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m")
        self.progress_text = QLabel("")
        self.mapping = QFormLayout()
        self.mapping_boxes: dict[str, QComboBox] = {}
        self.preview = _table()
        self.results = _table()
        self.summary = _table()
        self.chart = TradeoffWidget()
        self.chart.setMinimumHeight(180)
        self.summary.setMaximumHeight(150)  # a row per config; the chart gets the rest
        self.tabs = QTabWidget()
        self.tabs.addTab(self.preview, "Preview")
        self.tabs.addTab(self.results, "Results")
        trade = QWidget()
        trade_layout = QVBoxLayout(trade)
        trade_layout.setContentsMargins(0, 0, 0, 0)
        trade_layout.addWidget(self.summary, 1)
        trade_layout.addWidget(self.chart, 3)
        self.tabs.addTab(trade, "Trade-off")
        self._layout()

    def _layout(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.open_button)
        top.addWidget(self.file_label, 1)
        for box in self.strategies.values():
            top.addWidget(box)
        top.addWidget(self.batch_api)
        top.addWidget(QLabel("Repeat"))
        top.addWidget(self.repeat)
        checks = QHBoxLayout()
        checks.addWidget(QLabel("Check"))
        checks.addWidget(self.check)
        checks.addWidget(QLabel("against"))
        checks.addWidget(self.expected)
        checks.addWidget(self.rubric, 1)
        checks.addWidget(self.fresh)
        checks.addWidget(self.run_button)
        checks.addWidget(self.stop_button)
        checks.addWidget(self.export_button)
        left = QVBoxLayout()
        left.addWidget(QLabel("Columns → inputs"))
        left.addLayout(self.mapping)
        left.addStretch(1)
        body = QHBoxLayout()
        body.addLayout(left)
        body.addWidget(self.tabs, 1)
        status = QHBoxLayout()
        status.addWidget(self.progress, 1)
        status.addWidget(self.progress_text, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(checks)
        layout.addWidget(self.plan)
        layout.addLayout(status)
        layout.addLayout(body, 1)

    # --- what the user picked ---------------------------------------------------------------------------
    def chosen_strategies(self) -> list[str]:
        return [name for name, box in self.strategies.items() if box.isChecked()]

    def overrides(self) -> dict[str, str]:
        """column -> input, for the inputs mapped to a column."""
        return {box.currentText(): name for name, box in self.mapping_boxes.items() if box.currentIndex() > 0}

    def use_batch_api(self) -> bool:
        return self.batch_api.isEnabled() and self.batch_api.isChecked()

    def set_batch_api_available(self, available: bool, why: str) -> None:
        """The Batch API option applies on an OpenAI-compatible endpoint only; ``why``: why not, else ''."""
        self.batch_api.setEnabled(available)
        self.batch_api.setToolTip(BATCH_API_TIP if available else f"{BATCH_API_TIP}\n\nNot available: {why}")

    def check_spec(self) -> str | None:
        text = self.check.currentText()
        return None if text == "none" else text

    # --- showing -------------------------------------------------------------------------------------------
    def show_dataset(self, dataset: Dataset, graph: Graph) -> None:
        self.dataset = dataset
        self.file_label.setText(f"{dataset.path} · {len(dataset):,} rows · {len(dataset.columns)} columns")
        self.expected.clear()
        self.expected.addItems(dataset.columns)
        if "expected" in dataset.columns:
            self.expected.setCurrentText("expected")
        _fill(self.preview, dataset.columns, [[row.get(c, "") for c in dataset.columns] for row in dataset.rows[:50]])
        self.show_inputs(graph)

    def show_inputs(self, graph: Graph) -> None:
        """One drop-down per graph input: the column that feeds it (by name unless chosen)."""
        while self.mapping.rowCount():
            self.mapping.removeRow(0)
        self.mapping_boxes.clear()
        columns = self.dataset.columns if self.dataset is not None else []
        for graph_input in graph.inputs:
            box = QComboBox()
            box.addItems([DEFAULT_INPUT, *columns])
            if graph_input.name in columns:
                box.setCurrentText(graph_input.name)
            self.mapping.addRow(graph_input.name, box)
            self.mapping_boxes[graph_input.name] = box

    def set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.open_button.setEnabled(not running)

    def show_progress(self, done: int, total: int, text: str) -> None:
        self.progress.setMaximum(max(1, total))
        self.progress.setValue(done)
        self.progress_text.setText(text)

    def show_results(self, results: Sequence[RowResult], summaries: Sequence[ConfigSummary]) -> None:
        names = list(dict.fromkeys(n for r in results for n in r.scores))
        rows = [
            [
                f"{r.variant} · {r.strategy}",
                r.repeat + 1,
                r.row + 1,
                r.status,
                f"{r.latency_s:.2f}s",
                r.input_tokens + r.output_tokens,
                fmt_cost(r.cost_usd),
                *("" if r.scores.get(n) is None else f"{r.scores[n]:g}" for n in names),
                r.output[:200].replace("\n", " "),
            ]
            for r in list(results)[:RESULT_ROWS]
        ]
        headers = ["Config", "Repeat", "Row", "Status", "Latency", "Tokens", "Cost", *names, "Output"]
        _fill(self.results, headers, rows, right=4)
        summary_rows = [
            [
                s.label + ("  ★ Pareto" if s.pareto else ""),
                s.rows,
                s.failed,
                "—" if math.isnan(s.latency_p50) else f"{s.latency_p50:.2f}s",
                "—" if math.isnan(s.latency_p95) else f"{s.latency_p95:.2f}s",
                f"{'~' if s.tokens_estimated else ''}{s.tokens:,.0f}",
                fmt_cost(s.cost),
                _interval(s.quality),
                _interval(s.overlap),
                _interval(s.contradictions),
            ]
            for s in summaries
        ]
        quality = next((s.quality_name for s in summaries if s.quality_name), "")
        headers = ["Config", "Rows", "Failed", "p50", "p95", "Tok/row", "$/row", f"Quality ({quality or 'none'})"]
        _fill(self.summary, [*headers, "Overlap", "Contradicts"], summary_rows, right=1)
        self.chart.set_summaries(summaries)
        self.export_button.setEnabled(bool(results))
