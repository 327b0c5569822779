"""The graph page of the inspector (nothing selected): name, description, graph inputs with defaults.

Each graph input is shown on the canvas by its Input step: renaming an input here renames that step (and
every reference to either), Add input adds an Input step, Remove input removes it. The description is
recorded as it is typed (one undo step per editing session)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from chainstudio.core.editing.inputs import exposing_steps, rename_input_problem
from chainstudio.core.graph.model import GraphInput, name_problem
from chainstudio.core.graph.problems import kept_problems
from chainstudio.ui.inspector.node_form import CHECKING_TEXT, problem_lines

COLUMNS = ("Name", "Default", "Description")
DESCRIPTION_DELAY_MS = 400  # the description is committed this long after the last keystroke (and on focus-out)


class GraphForm(QWidget):
    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(QLabel("<b>Graph</b> — select a step to edit it"))
        self.problems = QLabel()  # the graph's own problems, first (as on a step's page)
        self.problems.setObjectName("graph_problems")
        self.problems.setWordWrap(True)
        self.problems.hide()
        layout.addWidget(self.problems)
        form = QFormLayout()
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("graph_name")
        self.name_edit.editingFinished.connect(
            lambda: self.controller.set_graph_info(name=self.name_edit.text().strip() or "untitled")
        )
        self.description_edit = QPlainTextEdit()
        self.description_edit.setObjectName("graph_description")
        self.description_edit.setMaximumHeight(90)
        self.description_edit.setTabChangesFocus(True)
        self.description_edit.installEventFilter(self)
        self.description_edit.textChanged.connect(self._description_typed)
        self._session = object()
        self._pending = QTimer(self)
        self._pending.setSingleShot(True)
        self._pending.setInterval(DESCRIPTION_DELAY_MS)
        self._pending.timeout.connect(self._commit_description)
        form.addRow("Name", self.name_edit)
        form.addRow("Description", self.description_edit)
        layout.addLayout(form)
        layout.addWidget(QLabel("Graph inputs"))
        self.inputs = QTableWidget(0, len(COLUMNS))
        self.inputs.setObjectName("graph_inputs")
        self.inputs.setHorizontalHeaderLabels(COLUMNS)
        self.inputs.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.inputs.verticalHeader().hide()
        self.inputs.cellChanged.connect(self._commit_inputs)
        layout.addWidget(self.inputs)
        buttons = QHBoxLayout()
        self.add_button, self.remove_button = QPushButton("Add input"), QPushButton("Remove input")
        self.add_button.setToolTip("Add an Input step: a graph input shown on the canvas")
        self.remove_button.setToolTip("Remove the selected graph input and its Input step")
        self.add_button.clicked.connect(self._add_input)
        self.remove_button.clicked.connect(self._remove_input)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        layout.addStretch(1)

    def tab_order(self) -> list[QWidget]:
        return [self.name_edit, self.description_edit, self.inputs, self.add_button, self.remove_button]

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.description_edit and event.type() == QEvent.Type.FocusIn:
            self._session = object()  # a new editing session: a new undo step
        elif watched is self.description_edit and event.type() == QEvent.Type.FocusOut:
            self._commit_description()
        return super().eventFilter(watched, event)

    def _description_typed(self) -> None:
        if self.description_edit.hasFocus():
            self._pending.start()

    def flush(self) -> None:
        """Commit a description typed but not yet committed."""
        if self._pending.isActive():
            self._commit_description()

    def _commit_description(self) -> None:
        self._pending.stop()
        self.controller.set_graph_info(session=self._session, description=self.description_edit.toPlainText())

    def refresh(self, force: bool = False) -> None:
        graph = self.controller.document.graph
        if not self.name_edit.hasFocus():
            self.name_edit.setText(graph.name)
        if not self.description_edit.hasFocus() and self.description_edit.toPlainText() != graph.description:
            self.description_edit.blockSignals(True)
            self.description_edit.setPlainText(graph.description)
            self.description_edit.blockSignals(False)
        if force or self._table_inputs() != graph.inputs:
            self.inputs.blockSignals(True)
            self.inputs.setRowCount(len(graph.inputs))
            for row, graph_input in enumerate(graph.inputs):
                for column, value in enumerate((graph_input.name, graph_input.default or "", graph_input.description)):
                    self.inputs.setItem(row, column, _Cell(value))
            self.inputs.blockSignals(False)

    def show_problems(self, problems) -> None:
        """The graph's own problems (None: not known yet, a big graph is being checked)."""
        if problems is None:
            self._say(CHECKING_TEXT)
            return
        graph_level = [p for p in kept_problems(problems) if p.node_id is None and p.edge_id is None]
        self._say(problem_lines(graph_level))

    def _say(self, text: str) -> None:
        self.problems.setText(text)
        self.problems.setVisible(bool(text))

    def _table_inputs(self) -> list[GraphInput]:
        out = []
        for row in range(self.inputs.rowCount()):
            cells = [_full_text(self.inputs.item(row, c)) for c in range(3)]
            out.append(GraphInput(cells[0].strip(), cells[1] or None, cells[2]))
        return out

    def _commit_inputs(self, row: int = -1, column: int = -1) -> None:
        graph = self.controller.document.graph
        inputs = self._table_inputs()
        if column == 0 and 0 <= row < len(graph.inputs) == len(inputs) and inputs[row].name != graph.inputs[row].name:
            old, new = graph.inputs[row].name, inputs[row].name
            reason = rename_input_problem(graph, old, new)
            if reason:
                self._say(f"✖ graph input name: {reason}")
                self.refresh(force=True)
            else:
                self.controller.rename_input(old, new)  # its Input step and every reference follow
            return
        bad = next((name_problem(i.name) for i in inputs if name_problem(i.name)), None)
        if bad:
            self._say(f"✖ graph input name: {bad}")
            return
        self.controller.set_graph_info(inputs=inputs)

    def _add_input(self) -> None:
        self.controller.add_input_step()

    def _remove_input(self) -> None:
        row = self.inputs.currentRow()
        graph = self.controller.document.graph
        if not 0 <= row < len(graph.inputs):
            return
        steps = exposing_steps(graph, graph.inputs[row].name)
        if steps:
            self.controller.delete([n.id for n in steps])  # the input goes with its step
        else:
            self.controller.set_graph_info(inputs=[i for k, i in enumerate(graph.inputs) if k != row])


PREVIEW_CHARS = 1_000  # a cell shows this much of a long default (Qt laid out 2,000,000 characters: 0.7 s)
EDITABLE_CHARS = 32_767  # a cell's line editor keeps at most this much: a longer default is not edited here


class _Cell(QTableWidgetItem):
    """A cell that shows the start of a long text and holds all of it; one too long for the line editor
    (which would cut it to 32,767 characters on closing) is read-only here."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        if len(text) > EDITABLE_CHARS:
            self.setFlags(self.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.setToolTip(f"{len(text):,} characters: too long to edit here (edit the graph file)")

    def data(self, role: int) -> object:
        value = super().data(role)
        if role == Qt.ItemDataRole.DisplayRole and isinstance(value, str) and len(value) > PREVIEW_CHARS:
            return value[:PREVIEW_CHARS] + "…"
        return value


def _full_text(item: QTableWidgetItem | None) -> str:
    if item is None:
        return ""
    value = item.data(Qt.ItemDataRole.EditRole)
    return value if isinstance(value, str) else ""
