"""The compare view (a dock or a window): the seed's comparison table and the runs' Gantt charts stacked.

``set_result`` shows a ``BenchResult``: Strategy, Latency, Tokens, Calls, Cost, Output, Speed-up against
the sequential run, with the fastest and cheapest marked and a SIMULATED banner when no model was called;
below it, each row's median run on one shared time axis. The form on top (strategies, concurrency caps,
repeats, other graph files) runs a comparison of the graph given to ``set_source`` through a
``CompareRunner`` in the running qasync loop; Cancel stops it.
"""

from __future__ import annotations

import asyncio
from html import escape
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from chainstudio.core.formatting import fmt_cost, fmt_ms
from chainstudio.core.graph.model import Graph
from chainstudio.core.planning.compare import LIVE, BenchResult, BenchRow, ContextFactory
from chainstudio.core.run.executor import STRATEGIES
from chainstudio.core.run.state import RunState
from chainstudio.core.storage import fileformat
from chainstudio.ui.gantt import GanttWidget
from chainstudio.ui.planning.compare_runner import CompareRunner

COLUMNS = ("Strategy", "Latency", "Tokens", "Calls", "Cost", "Output", "Speed-up", "")
MARK_COLORS = {"fastest": "#1b7f3b", "cheapest": "#1565c0", "longest output": "#6b7685"}
BANNER = (
    "SIMULATED · no model was called: times, tokens and costs come from the simulated provider "
    "(offline). Ratios between strategies are meaningful; absolute figures are not."
)


def mode_banner(mode: str) -> str:
    """The banner of a replayed comparison: which run, and what that means for the figures."""
    return (
        f"REPLAY · {mode}: every strategy replayed the same recorded answers, tokens and latencies, so the "
        "rows differ by scheduling alone (no model was called)."
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
    median = row.median
    statuses = sorted(set(row.statuses))
    marks = list(row.marks) + ([f"[{'/'.join(statuses)}]"] if statuses != ["succeeded"] else [])
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


class CompareView(QWidget):
    def __init__(self, runner: CompareRunner | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner or CompareRunner(self)
        self.result: BenchResult | None = None
        self._source: dict[str, Any] | None = None
        self.files_dialog: QFileDialog | None = None

        self.strategy_boxes = {name: QCheckBox(name) for name in STRATEGIES}
        for box in self.strategy_boxes.values():
            box.setChecked(True)
        self.caps = QLineEdit()
        self.caps.setPlaceholderText("run toolbar's cap")
        self.caps.setToolTip("Concurrency caps to compare, e.g. 2, 4, 8 (empty: the run toolbar's cap)")
        self.caps.setMaximumWidth(150)
        self.repeat = QSpinBox()
        self.repeat.setRange(1, 50)
        self.repeat.setPrefix("× ")
        self.repeat.setToolTip("Runs per row (the median is shown)")
        self.files = QListWidget()
        self.files.setToolTip("Other graph files to compare (variants of the same task)")
        self.add_files = QPushButton("Add graph files…")
        self.remove_files = QPushButton("Remove")
        self.run_button = QPushButton("Run comparison")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(8)
        self.progress.hide()
        self.status = QLabel("Compares the open graph under each strategy, with the same seed.")
        self.status.setWordWrap(True)

        self.banner = QLabel(BANNER)
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(
            "QLabel { background: #fff4e0; color: #8a4b00; border: 1px solid #f0c27a;"
            " border-radius: 4px; padding: 5px; font-weight: 600; }"
        )
        self.banner.hide()
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setStyleSheet("QTableWidget::item { padding: 0 8px; }")
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.gantt = GanttWidget()

        self._build_layout()
        self._fit_table()
        self.add_files.clicked.connect(self.ask_files)
        self.remove_files.clicked.connect(self._remove_selected_files)
        self.run_button.clicked.connect(self.run_comparison)
        self.cancel_button.clicked.connect(self.runner.cancel)
        self.runner.progress.connect(self._progress)
        self.runner.finished.connect(self._finished)
        self.runner.failed.connect(lambda text: self._stopped(f"The comparison failed: {text}"))
        self.runner.cancelled.connect(lambda: self._stopped("Cancelled."))

    def _build_layout(self) -> None:
        options = QHBoxLayout()
        options.addWidget(QLabel("Strategies"))
        for box in self.strategy_boxes.values():
            options.addWidget(box)
        options.addSpacing(12)
        options.addWidget(QLabel("Concurrency caps"))
        options.addWidget(self.caps)
        options.addWidget(QLabel("Repeat"))
        options.addWidget(self.repeat)
        options.addWidget(self.add_files)
        options.addStretch(1)
        options.addWidget(self.run_button)
        options.addWidget(self.cancel_button)
        files = QHBoxLayout()
        files.addWidget(self.files, 1)
        files.addWidget(self.remove_files, 0, Qt.AlignmentFlag.AlignTop)
        self._show_files()

        top = QWidget()
        column = QVBoxLayout(top)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(options)
        column.addLayout(files)
        column.addWidget(self.progress)
        column.addWidget(self.status)
        column.addWidget(self.banner)
        column.addWidget(self.table)
        column.addWidget(self.summary)
        column.addStretch(1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(self.gantt)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    def _show_files(self) -> None:
        """The list of other graph files only takes room when there are some."""
        self.files.setVisible(self.files.count() > 0)
        self.remove_files.setVisible(self.files.count() > 0)
        self.files.setFixedHeight(
            self.files.sizeHintForRow(0) * min(3, self.files.count()) + 6 if self.files.count() else 0
        )

    def _fit_table(self) -> None:
        """As tall as its rows (up to 12), so the Gantt below gets the rest."""
        rows = min(self.table.rowCount(), 12)
        # the header's size hint: its height is still 0 before the view is first laid out
        height = self.table.horizontalHeader().sizeHint().height() + 2 * self.table.frameWidth() + 10
        height += (
            sum(self.table.rowHeight(r) for r in range(rows))
            if rows
            else self.table.verticalHeader().defaultSectionSize()
        )
        self.table.setFixedHeight(height)

    # --- showing a result ------------------------------------------------------------------------
    def set_result(self, result: BenchResult | None) -> None:
        self.result = result
        rows = result.rows if result else []
        self.table.setRowCount(len(rows))
        for index, row in enumerate(rows):
            assert result is not None  # there are rows
            for column, text in enumerate(row_cells(row, result)):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{row.label}\n{row.file}")
                if 0 < column < len(COLUMNS) - 1:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if column == len(COLUMNS) - 1 and row.marks:
                    item.setForeground(QColor(MARK_COLORS.get(row.marks[0], "#5f6b7a")))
                if (column == 1 and "fastest" in row.marks) or (column in (2, 4) and "cheapest" in row.marks):
                    font = QFont(item.font())
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(index, column, item)
        replayed = result is not None and result.mode != LIVE
        self.banner.setText(mode_banner(result.mode) if result is not None and replayed else BANNER)
        self.banner.setVisible(result is not None and (replayed or is_simulated(result)))
        self.summary.setText(self._summary_html(result) if result else "")
        self.gantt.set_states([s for s in (median_state(row) for row in rows) if s is not None])
        self._fit_table()

    @staticmethod
    def _summary_html(result: BenchResult) -> str:
        lines = []
        fastest, cheapest = result.by_mark("fastest"), result.by_mark("cheapest")
        if fastest:
            lines.append(f"Fastest: <b>{escape(row_name(fastest, result))}</b> ({fmt_ms(fastest.wall_ms)})")
        if cheapest:
            how = (
                fmt_cost(cheapest.median["cost_usd"])
                if result.cost_known
                else f"{cheapest.median['total_tokens']:,} tokens"
            )
            lines.append(f"Cheapest: <b>{escape(row_name(cheapest, result))}</b> ({how})")
        baselines = sorted({row_name(r, result) for r in result.rows if r.label in {x.baseline for x in result.rows}})
        if baselines:
            lines.append(f"Speed-up: latency of {escape(', '.join(baselines))} divided by each row's latency")
        return " · ".join(lines)

    # --- running ---------------------------------------------------------------------------------
    def set_source(
        self,
        graph: Graph,
        make_context: ContextFactory,
        *,
        file: str | None = None,
        inputs: dict[str, str] | None = None,
        model: str | None = None,
        on_run: Any = None,
        mode: str = LIVE,
    ) -> None:
        """What Run compares: ``graph`` (copied when the run starts) and a factory of fresh run contexts
        (repeat index -> RunContext, e.g. the simulated provider with seed + index). ``on_run`` sees each
        finished run (for the history). ``mode``: ``LIVE``, or the words of a replay (the table says it)."""
        self._source = {
            "mode": mode,
            "graph": graph,
            "make_context": make_context,
            "file": file or graph.name,
            "inputs": inputs,
            "model": model,
            "on_run": on_run,
        }

    def options(self) -> tuple[dict[str, Any], list[str]]:
        """The form as ``CompareRunner.start`` keywords (plus ``files``), and any problems."""
        problems = []
        strategies = [name for name, box in self.strategy_boxes.items() if box.isChecked()]
        if not strategies:
            problems.append("choose at least one strategy")
        try:
            caps = parse_caps(self.caps.text())
        except ValueError:
            caps = []
            problems.append("concurrency caps must be whole numbers ≥ 1, e.g. 2, 4, 8")
        files = [self.files.item(i).text() for i in range(self.files.count())]
        return {
            "strategies": strategies,
            "concurrencies": caps or None,
            "repeat": self.repeat.value(),
            "files": files,
        }, problems

    def run_comparison(self) -> asyncio.Task | None:
        """Start the comparison the form describes (inside the running qasync loop)."""
        if self.runner.running:
            return None
        if self._source is None:
            self.status.setText("Open a graph to compare.")
            return None
        options, problems = self.options()
        graphs = [(self._source["file"], self._source["graph"])]
        for path in options.pop("files"):
            try:
                graphs.append((path, fileformat.load(path)))
            except fileformat.LoadError as exc:
                problems.append(f"{Path(path).name}: {exc}")
        if problems:
            self.status.setText("Cannot compare: " + "; ".join(problems) + ".")
            return None
        task = self.runner.start(
            graphs,
            options.pop("strategies"),
            self._source["make_context"],
            inputs=self._source["inputs"] if len(graphs) == 1 else None,
            model=self._source["model"],
            on_run=self._source["on_run"],
            **options,
        )
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.show()
        return task

    def _progress(self, done: int, total: int, text: str) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.status.setText(f"{done} of {total} · {text}" if done else text)

    def _finished(self, result: BenchResult) -> None:
        result.mode = self._source["mode"] if self._source is not None else LIVE
        self._stopped(f"Compared {len(result.records)} run{'s' * (len(result.records) != 1)}.")
        self.set_result(result)

    def _stopped(self, text: str) -> None:
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.hide()
        self.status.setText(text)

    def ask_files(self) -> QFileDialog:
        """A non-blocking open dialog for other graph files; chosen files are added to the list."""
        dialog = QFileDialog(self, "Add graph files to compare", "", "ChainStudio graphs (*.chain.json *.json)")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dialog.filesSelected.connect(self.add_graph_files)
        dialog.finished.connect(lambda _result: dialog.deleteLater())
        self.files_dialog = dialog
        dialog.open()
        return dialog

    def add_graph_files(self, paths: list[str]) -> None:
        present = {self.files.item(i).text() for i in range(self.files.count())}
        for path in paths:
            if path not in present:
                self.files.addItem(path)
        self._show_files()

    def _remove_selected_files(self) -> None:
        for item in self.files.selectedItems():
            self.files.takeItem(self.files.row(item))
        self._show_files()
