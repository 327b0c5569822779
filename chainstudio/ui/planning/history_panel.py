"""The run history panel: the open graph's recorded runs (GUI and CLI), newest first.

Open (or double-click) replays a run from the history into a RunState and emits ``openRun`` (the main
window shows its Gantt); selecting two runs and pressing Compare emits ``compareRuns`` with both states,
older first; Export writes the selected run as a JSON run record, a CSV of spans or Chrome trace-event JSON
(opens in Perfetto), through a non-blocking file dialog.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Set
from functools import partial
from html import escape
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from chainstudio.core.formatting import fmt_cost, fmt_ms, fmt_tokens, fmt_when
from chainstudio.core.run.record import run_record
from chainstudio.core.run.state import RunState
from chainstudio.core.storage.exports import chrome_trace, spans_csv
from chainstudio.core.storage.fileformat import atomic_write_text
from chainstudio.core.storage.history import RunHistory, RunSummary

COLUMNS = ("When", "Source", "Strategy", "Provider", "Status", "Wall", "Tokens", "Calls", "Cost")
NUMERIC = {"Wall", "Tokens", "Calls", "Cost"}
STATUS_COLORS = {"succeeded": "#1b7f3b", "failed": "#b3261e", "partial": "#b06000", "cancelled": "#7b1fa2"}
SIMULATED_TIP = "Simulated provider: no model was called; times, tokens and costs are simulated."


def _json(data: object) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# kind -> (menu text, file filter, suffix, text of a state)
EXPORTS: dict[str, tuple[str, str, str, Callable[[RunState], str]]] = {
    "record": ("Run record (JSON)…", "JSON (*.json)", "json", lambda s: _json(run_record(s))),
    "csv": ("Spans (CSV)…", "CSV (*.csv)", "csv", spans_csv),
    "trace": (
        "Chrome trace for Perfetto (JSON)…",
        "Trace JSON (*.json)",
        "trace.json",
        lambda s: _json(chrome_trace(s)),
    ),
}


def summary_cells(run: RunSummary) -> list[str]:
    provider = "Simulated" if run.simulated and run.provider == "simulated" else run.provider
    if run.simulated and run.provider != "simulated":
        provider += " (simulated)"
    return [
        fmt_when(run.created_at),
        run.source,
        run.strategy + (f", cap {run.concurrency}" if run.concurrency else ""),
        provider,
        run.status,
        fmt_ms(run.wall_ms),
        fmt_tokens(run.input_tokens + run.output_tokens),
        str(run.api_calls),
        fmt_cost(run.cost_usd),
    ]


class HistoryPanel(QWidget):
    """Signals: ``openRun(RunState)``, ``compareRuns(list[RunState])`` (two, older first),
    ``exported(str path)``."""

    openRun = Signal(object)
    compareRuns = Signal(list)
    exported = Signal(str)

    def __init__(self, history: RunHistory | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._history = history
        self.graph_name: str | None = None
        self.runs: list[RunSummary] = []
        self.export_dialog: QFileDialog | None = None

        self.title = QLabel("<b>History</b>")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        self.table.setStyleSheet("QTableWidget::item { padding: 0 8px; }")
        self.empty = QLabel()
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setStyleSheet("color: palette(dark); padding: 16px;")

        self.open_button = QPushButton("Open")
        self.open_button.setToolTip("Show the selected run's Gantt chart")
        self.compare_button = QPushButton("Compare")
        self.compare_button.setToolTip("Select two runs to compare them side by side")
        self.export_button = QToolButton()
        self.export_button.setText("Export…")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        for kind, (text, *_rest) in EXPORTS.items():
            menu.addAction(text, partial(self.ask_export, kind))
        self.export_button.setMenu(menu)
        self.refresh_button = QPushButton("Refresh")
        self.message = QLabel()
        self.notice = ""  # said under the list while nothing else is (e.g. this session's history is temporary)
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: palette(dark);")

        buttons = QHBoxLayout()
        buttons.addWidget(self.title, 1)
        for button in (self.open_button, self.compare_button, self.export_button, self.refresh_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty, 1)
        layout.addWidget(self.message)

        self.open_button.clicked.connect(self.open_selected)
        self.compare_button.clicked.connect(self.compare_selected)
        self.refresh_button.clicked.connect(self.refresh)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.cellDoubleClicked.connect(lambda row, _column: self._open_row(row))
        self._show_rows()

    @property
    def history(self) -> RunHistory:
        if self._history is None:
            self._history = RunHistory()
        return self._history

    # --- listing -----------------------------------------------------------------------------------
    def set_graph_name(self, name: str | None) -> None:
        self.graph_name = name
        self.refresh()

    def refresh(self) -> None:
        """Read the graph's runs again (keeps the selection by run id)."""
        selected = set(self.selected_run_ids())
        try:
            self.runs = self.history.runs(graph_name=self.graph_name) if self.graph_name else []
            self.message.setText(self.notice)
        except Exception as exc:  # noqa: BLE001 - e.g. an unreadable database: say so, keep the UI alive
            self.runs = []
            self.message.setText(f"Cannot read the run history: {exc}")
        self._show_rows(selected)

    def _show_rows(self, selected: Set[str] = frozenset()) -> None:
        self.table.setRowCount(len(self.runs))
        for row, run in enumerate(self.runs):
            tip = f"<b>{escape(run.run_id)}</b><br>{escape(run.file or 'not saved to a file')}" + (
                f"<br>{SIMULATED_TIP}" if run.simulated else ""
            )
            for column, text in enumerate(summary_cells(run)):
                item = QTableWidgetItem(text)
                item.setToolTip(tip)
                item.setData(Qt.ItemDataRole.UserRole, run.run_id)
                if COLUMNS[column] in NUMERIC:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if COLUMNS[column] == "Status":
                    item.setForeground(QColor(STATUS_COLORS.get(run.status, "#5f6b7a")))
                if COLUMNS[column] == "Provider" and run.simulated:
                    font = QFont(item.font())
                    font.setItalic(True)
                    item.setFont(font)
                self.table.setItem(row, column, item)
            if run.run_id in selected:
                self.table.selectRow(row)
        if self.graph_name is None:
            self.empty.setText("Open a graph to see its runs.")
        else:
            self.empty.setText(
                f"No recorded runs of {self.graph_name} yet. Runs from the app and the command line appear here."
            )
        self.table.setVisible(bool(self.runs))
        self.empty.setVisible(not self.runs)
        self.title.setText(
            f"<b>History</b> · {len(self.runs)} run{'s' * (len(self.runs) != 1)}"
            if self.graph_name
            else "<b>History</b>"
        )
        self._update_buttons()

    def selected_run_ids(self) -> list[str]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.runs[row].run_id for row in rows if row < len(self.runs)]

    def _update_buttons(self) -> None:
        count = len(self.selected_run_ids())
        self.open_button.setEnabled(count == 1)
        self.export_button.setEnabled(count == 1)
        self.compare_button.setEnabled(count == 2)

    # --- actions -------------------------------------------------------------------------------------
    def _state(self, run_id: str) -> RunState | None:
        try:
            return self.history.state(run_id)
        except Exception as exc:  # noqa: BLE001 - deleted meanwhile, unreadable events
            self.message.setText(f"Cannot open run {run_id}: {exc}")
            return None

    def _open_row(self, row: int) -> None:
        if 0 <= row < len(self.runs):
            state = self._state(self.runs[row].run_id)
            if state is not None:
                self.openRun.emit(state)

    def open_selected(self) -> None:
        ids = self.selected_run_ids()
        if len(ids) == 1:
            self._open_row(next(i for i, run in enumerate(self.runs) if run.run_id == ids[0]))

    def compare_selected(self) -> None:
        ids = self.selected_run_ids()
        if len(ids) != 2:
            return
        ids.reverse()  # the table is newest first; compare older → newer
        states = [self._state(run_id) for run_id in ids]
        if all(state is not None for state in states):
            self.compareRuns.emit(states)

    def ask_export(self, kind: str) -> QFileDialog | None:
        """Open a (non-modal, non-blocking) save dialog for the selected run; the file is written when the
        user accepts it. Returns the dialog."""
        ids = self.selected_run_ids()
        if len(ids) != 1:
            return None
        text, name_filter, suffix, _write = EXPORTS[kind]
        run = next(r for r in self.runs if r.run_id == ids[0])
        start = Path(run.file).parent if run.file else Path.home()
        title = "Export " + text.rstrip("…").replace("(", "as ").rstrip(")")
        dialog = QFileDialog(self, title, str(start), name_filter)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dialog.setDefaultSuffix(suffix.rsplit(".", 1)[-1])
        dialog.selectFile(f"{run.graph_name}-{run.run_id}.{suffix}")
        dialog.fileSelected.connect(lambda path: self.export_run(run.run_id, kind, path))
        dialog.finished.connect(lambda _result: self._dialog_closed(dialog))
        self.export_dialog = dialog  # keep a reference while it is open
        dialog.open()
        return dialog

    def _dialog_closed(self, dialog: QFileDialog) -> None:
        if self.export_dialog is dialog:
            self.export_dialog = None
        dialog.deleteLater()

    def export_run(self, run_id: str, kind: str, path: str | Path) -> Path | None:
        """Write run ``run_id`` as ``kind`` ("record", "csv" or "trace") to ``path``."""
        state = self._state(run_id)
        if state is None:
            return None
        try:
            atomic_write_text(path, EXPORTS[kind][3](state))
        except OSError as exc:
            self.message.setText(f"Cannot write {path}: {exc.strerror or exc}")
            return None
        self.message.setText(f"Exported to {path}")
        self.exported.emit(str(path))
        return Path(path)
