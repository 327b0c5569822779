"""The node page of the inspector: a form built from the node kind's FieldSpecs. Every edit goes to the
controller as a command; edits of one field while it keeps the focus merge into one undo step."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QDoubleSpinBox, QFormLayout, QLabel, QLineEdit, QSpinBox, QVBoxLayout, QWidget

from chainstudio.core.editing.rules import rename_problem
from chainstudio.core.graph.kinds import FieldSpec, node_kind
from chainstudio.core.graph.validation import Problem
from chainstudio.ui.common.model_names import attach_model_completer
from chainstudio.ui.inspector.template_editor import TemplateEditor

COMMIT_DELAY_MS = 400  # a template is committed this long after the last keystroke (and on focus-out)
ERROR_STYLE = "border: 1px solid #d32f2f;"


Editor = TemplateEditor | QSpinBox | QDoubleSpinBox | QLineEdit


def _editor_for(spec: FieldSpec) -> Editor:
    editor: Editor
    if spec.multiline:
        editor = TemplateEditor()
        editor.setMinimumHeight(140 if spec.name in ("prompt", "template") else 70)
    elif spec.type is int:
        editor = spin = QSpinBox()
        spin.setRange(
            int(spec.minimum if spec.minimum is not None else -(10**9)),
            int(spec.maximum if spec.maximum is not None else 10**9),
        )
    elif spec.type is float:
        editor = real = QDoubleSpinBox()
        real.setDecimals(2)
        real.setSingleStep(0.1)
        real.setRange(
            spec.minimum if spec.minimum is not None else -1e9, spec.maximum if spec.maximum is not None else 1e9
        )
    else:
        editor = QLineEdit()
        if spec.name == "model":
            attach_model_completer(editor)  # the models the server listed (Settings → Test connection)
    editor.setObjectName(f"field_{spec.name}")
    editor.setToolTip(spec.help)
    return editor


def _value(editor: Editor) -> object:
    if isinstance(editor, TemplateEditor):
        return editor.toPlainText()
    if isinstance(editor, (QSpinBox, QDoubleSpinBox)):
        return editor.value()
    return editor.text()


def _show(editor: Editor, value: Any) -> None:
    if _value(editor) == value:
        return
    editor.blockSignals(True)
    try:
        if isinstance(editor, TemplateEditor):
            editor.setPlainText(str(value or ""))
        elif isinstance(editor, (QSpinBox, QDoubleSpinBox)):
            editor.setValue(value)
        else:
            editor.setText(str(value or ""))
    finally:
        editor.blockSignals(False)


class NodeForm(QWidget):
    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.node_id: str | None = None
        self.kind: str | None = None
        self.editors: dict[str, Editor] = {}
        self._session = object()
        self._pending_template: QTimer | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.heading.setObjectName("inspector_heading")
        layout.addWidget(self.heading)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        layout.addLayout(self.form)
        self.problems = QLabel()
        self.problems.setObjectName("node_problems")
        self.problems.setWordWrap(True)
        layout.addWidget(self.problems)
        layout.addStretch(1)
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("field_name")
        self.name_error = QLabel()
        self.name_error.setStyleSheet("color: #d32f2f;")
        self.name_error.setWordWrap(True)
        self.name_edit.textEdited.connect(self._check_name)
        self.name_edit.editingFinished.connect(self._commit_name)

    @property
    def document(self):
        return self.controller.document

    # --- building -------------------------------------------------------------------------------
    def show_node(self, node_id: str) -> None:
        node = self.document.graph.nodes[node_id]
        if node_id != self.node_id:
            self.flush()
            self._session = object()
        if node.kind != self.kind:
            self._build(node.kind)
        self.node_id = node_id
        self.refresh()

    def _build(self, kind: str) -> None:
        while self.form.rowCount():
            row = self.form.takeRow(0)
            for part in (row.labelItem, row.fieldItem):
                if part is not None and part.widget() not in (None, self.name_edit, self.name_error):
                    part.widget().deleteLater()
        self.editors = {}
        self.kind = kind
        self.form.addRow("Name", self.name_edit)
        self.form.addRow("", self.name_error)
        for spec in node_kind(kind).fields:
            editor = _editor_for(spec)
            self.editors[spec.name] = editor
            editor.installEventFilter(self)
            self.form.addRow(spec.label, editor)
            if isinstance(editor, TemplateEditor):
                editor.textChanged.connect(self._template_edited)
            elif isinstance(editor, (QSpinBox, QDoubleSpinBox)):
                editor.valueChanged.connect(lambda _v, name=spec.name: self._commit(name))
            else:
                editor.editingFinished.connect(lambda name=spec.name: self._commit(name))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FocusIn:
            self._session = object()  # a new editing session: a new undo step
        elif event.type() == QEvent.Type.FocusOut and isinstance(watched, TemplateEditor):
            self.flush()
        return super().eventFilter(watched, event)

    # --- document -> form -----------------------------------------------------------------------
    def refresh(self) -> None:
        node = self.document.graph.nodes.get(self.node_id or "")
        if node is None:
            return
        spec = node_kind(node.kind)
        self.heading.setText(f"<b>{spec.title}</b> — {spec.description}")
        if not self.name_edit.hasFocus() or not self.name_error.text():
            _show(self.name_edit, node.name)
            self._check_name(node.name)
        upstream, inputs = self._reference_names()
        for name, editor in self.editors.items():
            if isinstance(editor, TemplateEditor):
                editor.set_names(upstream, inputs)
                if editor.hasFocus() and self._pending_template is not None and self._pending_template.isActive():
                    continue  # do not overwrite what is being typed
            _show(editor, node.param(name))

    def _reference_names(self) -> tuple[list[str], list[str]]:
        graph = self.document.graph
        ancestors = self.document.analysis.ancestors(self.node_id) if self.node_id in graph.nodes else set()
        upstream = [graph.nodes[n].name for n in graph.nodes if n in ancestors]
        return upstream, [i.name for i in graph.inputs]

    def show_problems(self, problems: list[Problem]) -> None:
        mine = [p for p in problems if p.node_id == self.node_id]
        lines = [
            f"<span style='color:{'#d32f2f' if p.severity == 'error' else '#b26a00'}'>"
            f"{'✖' if p.severity == 'error' else '⚠'} {p.location}: {p.message}</span>"
            for p in mine
        ]
        self.problems.setText("<br>".join(lines))

    # --- form -> commands -----------------------------------------------------------------------
    def _check_name(self, text: str) -> None:
        reason = rename_problem(self.document.graph, self.node_id, text) if self.node_id else None
        self.name_error.setText(reason or "")
        self.name_error.setVisible(bool(reason))
        self.name_edit.setStyleSheet(ERROR_STYLE if reason else "")

    def _commit_name(self) -> None:
        text = self.name_edit.text()
        if self.node_id and not rename_problem(self.document.graph, self.node_id, text):
            self.controller.rename(self.node_id, text)

    def _commit(self, name: str) -> None:
        if self.node_id is not None and name in self.editors:
            self.controller.set_param(self.node_id, name, _value(self.editors[name]), self._session)

    def _template_edited(self) -> None:
        if self._pending_template is None:
            self._pending_template = QTimer(self)
            self._pending_template.setSingleShot(True)
            self._pending_template.timeout.connect(self._commit_templates)
        self._pending_template.start(COMMIT_DELAY_MS)

    def flush(self) -> None:
        """Commit template text typed but not yet committed."""
        if self._pending_template is None or not self._pending_template.isActive():
            return
        self._pending_template.stop()
        self._commit_templates()

    def _commit_templates(self) -> None:
        for name, editor in self.editors.items():
            if isinstance(editor, TemplateEditor):
                self._commit(name)
