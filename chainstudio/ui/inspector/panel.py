"""InspectorPanel: shows the node page for one selected node, else the graph page; follows the document."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QScrollArea, QStackedWidget, QVBoxLayout, QWidget

from chainstudio.core.editing.changes import Changes
from chainstudio.ui.inspector.graph_form import GraphForm
from chainstudio.ui.inspector.node_form import NodeForm

VALIDATE_DELAY_MS = 150


class InspectorPanel(QWidget):
    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.setObjectName("inspector")
        self.setMinimumWidth(340)
        self.controller = controller
        self.node_form = NodeForm(controller)
        self.graph_form = GraphForm(controller)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.graph_form)
        self.stack.addWidget(self.node_form)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.stack)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)
        self._selection: list[str] = []
        self._validate_timer = QTimer(self)
        self._validate_timer.setSingleShot(True)
        self._validate_timer.timeout.connect(self.update_problems)
        controller.document.subscribe(self._on_changes)
        self.show_selection([])

    def show_selection(self, node_ids: list[str]) -> None:
        self._selection = list(node_ids)
        graph = self.controller.document.graph
        if len(node_ids) == 1 and node_ids[0] in graph.nodes:
            self.node_form.show_node(node_ids[0])
            self.stack.setCurrentWidget(self.node_form)
        else:
            self.node_form.flush()
            self.node_form.node_id = None
            self.graph_form.refresh()
            self.stack.setCurrentWidget(self.graph_form)
        self._validate_timer.start(VALIDATE_DELAY_MS)  # validating a big graph takes a while: not inline

    def _on_changes(self, changes: Changes) -> None:
        if self.stack.currentWidget() is self.node_form:
            if self.node_form.node_id in self.controller.document.graph.nodes:
                self.node_form.refresh()
            else:
                self.show_selection([])
        else:
            self.graph_form.refresh()
        self._validate_timer.start(VALIDATE_DELAY_MS)

    def update_problems(self) -> None:
        self._validate_timer.stop()
        problems = self.controller.document.problems
        if self.stack.currentWidget() is self.node_form:
            self.node_form.show_problems(problems)
        else:
            self.graph_form.show_problems(problems)
