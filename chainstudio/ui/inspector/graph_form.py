"""The graph page of the inspector (nothing selected): name, description, graph inputs with defaults."""

from __future__ import annotations

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

from chainstudio.core.graph.model import GraphInput, name_problem

COLUMNS = ("Name", "Default", "Description")


class GraphForm(QWidget):
    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(QLabel("<b>Graph</b> — select a step to edit it"))
        form = QFormLayout()
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("graph_name")
        self.name_edit.editingFinished.connect(
            lambda: self.controller.set_graph_info(name=self.name_edit.text().strip() or "untitled")
        )
        self.description_edit = QPlainTextEdit()
        self.description_edit.setObjectName("graph_description")
        self.description_edit.setMaximumHeight(90)
        self.description_edit.installEventFilter(self)
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
        add, remove = QPushButton("Add input"), QPushButton("Remove input")
        add.clicked.connect(self._add_input)
        remove.clicked.connect(self._remove_input)
        buttons.addWidget(add)
        buttons.addWidget(remove)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        layout.addWidget(self.problems)
        layout.addStretch(1)

    def eventFilter(self, watched, event) -> bool:
        if watched is self.description_edit and event.type() == event.Type.FocusOut:
            self.controller.set_graph_info(description=self.description_edit.toPlainText())
        return super().eventFilter(watched, event)

    def refresh(self) -> None:
        graph = self.controller.document.graph
        if not self.name_edit.hasFocus():
            self.name_edit.setText(graph.name)
        if not self.description_edit.hasFocus() and self.description_edit.toPlainText() != graph.description:
            self.description_edit.setPlainText(graph.description)
        if self._table_inputs() != graph.inputs:
            self.inputs.blockSignals(True)
            self.inputs.setRowCount(len(graph.inputs))
            for row, graph_input in enumerate(graph.inputs):
                for column, value in enumerate((graph_input.name, graph_input.default or "", graph_input.description)):
                    self.inputs.setItem(row, column, QTableWidgetItem(value))
            self.inputs.blockSignals(False)

    def show_problems(self, problems) -> None:
        graph_level = [p for p in problems if p.node_id is None and p.edge_id is None]
        self.problems.setText(
            "<br>".join(f"{'✖' if p.severity == 'error' else '⚠'} {p.location}: {p.message}" for p in graph_level)
        )

    def _table_inputs(self) -> list[GraphInput]:
        out = []
        for row in range(self.inputs.rowCount()):
            cells = [(self.inputs.item(row, c).text() if self.inputs.item(row, c) else "") for c in range(3)]
            out.append(GraphInput(cells[0].strip(), cells[1] or None, cells[2]))
        return out

    def _commit_inputs(self) -> None:
        inputs = self._table_inputs()
        bad = next((name_problem(i.name) for i in inputs if name_problem(i.name)), None)
        if bad:
            self.problems.setText(f"✖ graph input name: {bad}")
            return
        self.controller.set_graph_info(inputs=inputs)

    def _add_input(self) -> None:
        graph = self.controller.document.graph
        taken = {i.name for i in graph.inputs}
        name = next(f"input_{i}" for i in range(1, len(taken) + 2) if f"input_{i}" not in taken)
        self.controller.set_graph_info(inputs=[*graph.inputs, GraphInput(name)])

    def _remove_input(self) -> None:
        row = self.inputs.currentRow()
        graph = self.controller.document.graph
        if 0 <= row < len(graph.inputs):
            self.controller.set_graph_info(inputs=[i for k, i in enumerate(graph.inputs) if k != row])
