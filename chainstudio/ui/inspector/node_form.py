"""The node page of the inspector: a form built from the node kind's FieldSpecs. Every edit goes to the
controller as a command; edits of one field while it keeps the focus merge into one undo step.

The step's problems come first, then its name, then its main template (the prompt: visible without
scrolling), then the one-line settings, then the system prompt. An Input step's name is its graph input's
name; the page edits that input's default and description too."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QFormLayout, QLabel, QLineEdit, QSpinBox, QVBoxLayout, QWidget

from chainstudio.core.editing.inputs import step_problem
from chainstudio.core.graph.flow_rules import local_names
from chainstudio.core.graph.kinds import node_kind
from chainstudio.core.graph.model import GraphInput
from chainstudio.core.graph.problems import problems_of
from chainstudio.core.graph.validation import Problem, input_name
from chainstudio.ui.inspector.fields import Editor, display_order, editor_for, show_value, value_of
from chainstudio.ui.inspector.template_editor import TemplateEditor

COMMIT_DELAY_MS = 400  # a template is committed this long after the last keystroke (and on focus-out)
ERROR_STYLE = "border: 1px solid #d32f2f;"
PROBLEMS_STYLE = "#node_problems {{ background: {fill}; border: 1px solid {border}; padding: 4px; }}"
ERROR_COLORS = {"fill": "rgba(211, 47, 47, 0.08)", "border": "#e57373"}
WARNING_COLORS = {"fill": "rgba(245, 158, 11, 0.10)", "border": "#f59e0b"}


CHECKING_TEXT = "Checking the graph for problems…"  # a big graph's problems, while a worker validates it


def problem_lines(problems: Iterable[Problem]) -> str:
    return "<br>".join(
        f"<span style='color:{'#d32f2f' if p.severity == 'error' else '#b26a00'}'>"
        f"{'✖' if p.severity == 'error' else '⚠'} {p.location}: {p.message}</span>"
        for p in problems
    )


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
        self.problems = QLabel()
        self.problems.setObjectName("node_problems")
        self.problems.setWordWrap(True)
        self.problems.hide()
        layout.addWidget(self.problems)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        layout.addLayout(self.form)
        layout.addStretch(1)
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("field_name")
        self.name_error = QLabel()
        self.name_error.setStyleSheet("color: #d32f2f;")
        self.name_error.setWordWrap(True)
        self.name_edit.textEdited.connect(self._check_name)
        self.name_edit.editingFinished.connect(self._commit_name)
        # an Input step: its graph input's default and description (its name is the step's)
        self.input_hint = QLabel()
        self.input_hint.setWordWrap(True)
        self.input_hint.setObjectName("input_hint")
        self.input_default = QLineEdit()
        self.input_default.setObjectName("input_default")
        self.input_default.setPlaceholderText("none: asked for when the run starts")
        self.input_default.editingFinished.connect(lambda: self._set_input(default=self.input_default.text()))
        self.input_description = QLineEdit()
        self.input_description.setObjectName("input_description")
        self.input_description.editingFinished.connect(
            lambda: self._set_input(description=self.input_description.text())
        )
        self._kept = (self.name_edit, self.name_error, self.input_hint, self.input_default, self.input_description)

    @property
    def document(self):
        return self.controller.document

    # --- building -------------------------------------------------------------------------------
    def show_node(self, node_id: str) -> None:
        node = self.document.graph.nodes[node_id]
        if node_id != self.node_id:
            self.flush()
            self._session = object()
            for editor in self.editors.values():
                if isinstance(editor, TemplateEditor):
                    editor.edit_large = False  # another step's large template opens read-only again
        if node.kind != self.kind:
            self._build(node.kind)
        self.node_id = node_id
        self.refresh()

    def _build(self, kind: str) -> None:
        while self.form.rowCount():
            row = self.form.takeRow(0)
            for part in (row.labelItem, row.fieldItem):
                if part is None or part.widget() is None:
                    continue
                if part.widget() in self._kept:
                    part.widget().hide()  # kept for the next kind; shown again where it is placed
                else:
                    part.widget().deleteLater()
        self.editors = {}
        self.kind = kind
        self.form.addRow("Name", self.name_edit)
        self.form.addRow("", self.name_error)
        self.name_edit.show()
        if kind == "input":
            self.form.addRow("", self.input_hint)
            self.form.addRow("Default", self.input_default)
            self.form.addRow("Description", self.input_description)
            for widget in (self.input_hint, self.input_default, self.input_description):
                widget.show()
        for spec in display_order(node_kind(kind).fields):
            editor = editor_for(spec)
            self.editors[spec.name] = editor
            editor.installEventFilter(self)
            self.form.addRow(spec.label, editor)
            if isinstance(editor, TemplateEditor):
                editor.textChanged.connect(self._template_edited)
            elif isinstance(editor, (QSpinBox, QDoubleSpinBox)):
                editor.valueChanged.connect(lambda _v, name=spec.name: self._commit(name))
            elif isinstance(editor, QComboBox):
                editor.currentTextChanged.connect(lambda _v, name=spec.name: self._commit(name))
            else:
                editor.editingFinished.connect(lambda name=spec.name: self._commit(name))

    def tab_order(self) -> list[QWidget]:
        """The fields in the order Tab visits them (the order they are shown in)."""
        fields: list[QWidget] = [self.name_edit]
        if self.kind == "input":
            fields += [self.input_default, self.input_description]
        return fields + list(self.editors.values())

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
            show_value(self.name_edit, node.name)
            self._check_name(node.name)
        if node.kind == "input":
            self._show_input(input_name(node))
        upstream, inputs = self._reference_names()
        for name, editor in self.editors.items():
            if isinstance(editor, TemplateEditor):
                editor.set_names(upstream + sorted(local_names(node, name)), inputs)  # a map's item, index
                if editor.hasFocus() and self._pending_template is not None and self._pending_template.isActive():
                    continue  # do not overwrite what is being typed
            show_value(editor, node.param(name))

    def _show_input(self, name: str) -> None:
        declared = self.document.graph.input_named(name)
        self.input_hint.setText(
            f"This step is the graph input <b>{name}</b>: later steps read it as "
            f"<code>{{{{ {name} }}}}</code> or <code>{{{{ inputs.{name} }}}}</code>. Renaming the step renames it."
        )
        for editor, value in (
            (self.input_default, declared.default if declared else None),
            (self.input_description, declared.description if declared else ""),
        ):
            if not editor.hasFocus():
                show_value(editor, value or "")

    def _reference_names(self) -> tuple[list[str], list[str]]:
        graph = self.document.graph
        ancestors = self.document.analysis.ancestors(self.node_id) if self.node_id in graph.nodes else set()
        upstream = [graph.nodes[n].name for n in graph.nodes if n in ancestors]
        return upstream, [i.name for i in graph.inputs]

    def show_problems(self, problems: Sequence[Problem] | None) -> None:
        """This step's problems (None: not known yet, a big graph is being checked)."""
        if problems is None:
            self.problems.setStyleSheet("color: palette(placeholder-text);")
            self.problems.setText(CHECKING_TEXT)
            self.problems.setVisible(True)
            return
        mine = problems_of(problems, self.node_id)  # (only this step's are made)
        colors = ERROR_COLORS if any(p.severity == "error" for p in mine) else WARNING_COLORS
        self.problems.setStyleSheet(PROBLEMS_STYLE.format(**colors))
        self.problems.setText(problem_lines(mine))
        self.problems.setVisible(bool(mine))

    # --- form -> commands -----------------------------------------------------------------------
    def _check_name(self, text: str) -> None:
        reason = step_problem(self.document.graph, self.node_id, text) if self.node_id else None
        self.name_error.setText(reason or "")
        self.name_error.setVisible(bool(reason))
        self.name_edit.setStyleSheet(ERROR_STYLE if reason else "")

    def _commit_name(self) -> None:
        text = self.name_edit.text()
        if self.node_id and not step_problem(self.document.graph, self.node_id, text):
            self.controller.rename(self.node_id, text)

    def _set_input(self, default: str | None = None, description: str | None = None) -> None:
        """Set the default (empty: none) or the description of the graph input this Input step shows."""
        graph = self.document.graph
        node = graph.nodes.get(self.node_id or "")
        if node is None or node.kind != "input":
            return
        name = input_name(node)
        current = graph.input_named(name) or GraphInput(name)
        updated = GraphInput(
            name,
            (default or None) if description is None else current.default,
            description if description is not None else current.description,
        )
        inputs = [updated if i.name == name else i for i in graph.inputs]
        if graph.input_named(name) is None:
            inputs.append(updated)
        self.controller.set_graph_info(inputs=inputs)

    def _commit(self, name: str) -> None:
        if self.node_id is not None and name in self.editors:
            self.controller.set_param(self.node_id, name, value_of(self.editors[name]), self._session)

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
