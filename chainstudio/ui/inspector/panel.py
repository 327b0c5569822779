"""InspectorPanel: shows the node page for one selected node, else the graph page; follows the document.

Another step starts at the top of its page. Tab and Shift+Tab move between the page's fields in the order
they are shown and wrap around: they never leave the inspector for the toolbar (a prompt takes no literal
tab; Tab while completions show accepts the chosen one)."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QScrollArea, QStackedWidget, QVBoxLayout, QWidget

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
        self.scroller = QScrollArea()
        self.scroller.setWidgetResizable(True)
        self.scroller.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroller.setWidget(self.stack)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.scroller)
        self._selection: list[str] = []
        self._validate_timer = QTimer(self)
        self._validate_timer.setSingleShot(True)
        self._validate_timer.timeout.connect(self.update_problems)
        controller.document.subscribe(self._on_changes)
        self.show_selection([])

    def flush(self) -> None:
        """Commit what is typed but not yet committed (a template or the description within its delay), so
        that an action taken now (Run, Save, Copy…) sees the graph as the user sees it."""
        self.node_form.flush()
        self.graph_form.flush()

    def show_selection(self, node_ids: list[str]) -> None:
        shown = self.node_form.node_id if self.stack.currentWidget() is self.node_form else None
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
        now = self.node_form.node_id if self.stack.currentWidget() is self.node_form else None
        if now != shown:
            self.scroller.verticalScrollBar().setValue(0)  # another step (or the graph) starts at the top
        self._validate_timer.start(VALIDATE_DELAY_MS)  # validating a big graph takes a while: not inline

    def _on_changes(self, changes: Changes) -> None:
        if changes.checked:  # only the problems are known now (a big graph's, checked on a worker)
            self._validate_timer.start(VALIDATE_DELAY_MS)
            return
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
        problems = self.controller.document.known_problems  # None while a worker checks a big graph
        if self.stack.currentWidget() is self.node_form:
            self.node_form.show_problems(problems)
        else:
            self.graph_form.show_problems(problems)

    # --- keyboard -------------------------------------------------------------------------------
    def focusNextPrevChild(self, next: bool) -> bool:  # noqa: N802  # Qt's name
        """Tab from a field of the page: the next field of the same page, wrapping around."""
        page: NodeForm | GraphForm = self.node_form if self.stack.currentWidget() is self.node_form else self.graph_form
        fields = [w for w in page.tab_order() if w.isVisibleTo(page) and w.isEnabled()]
        focus = QApplication.focusWidget()
        current = -1
        for i, widget in enumerate(fields):
            if focus is not None and (focus is widget or widget.isAncestorOf(focus)):
                current = i
        if current < 0 or not fields:
            return super().focusNextPrevChild(next)
        target = fields[(current + (1 if next else -1)) % len(fields)]
        target.setFocus(Qt.FocusReason.TabFocusReason if next else Qt.FocusReason.BacktabFocusReason)
        self.scroller.ensureWidgetVisible(target)
        return True
