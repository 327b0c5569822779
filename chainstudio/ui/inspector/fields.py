"""The inspector's editors, one per FieldSpec: a template editor, spin boxes, a line edit. Spin boxes take the
mouse wheel only once they have the focus (a wheel that scrolls the inspector over one leaves it alone)."""

from __future__ import annotations

from typing import Any, cast

from PySide6.QtCore import Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDoubleSpinBox,
    QLineEdit,
    QSpinBox,
)

from chainstudio.core.graph.kinds import FieldSpec
from chainstudio.ui.common.model_names import attach_endpoint_chooser, attach_model_completer
from chainstudio.ui.inspector.template_editor import TemplateEditor

MAIN_TEMPLATES = ("prompt", "template", "criteria")  # shown first and tallest: what a step is about


class _WheelWhenFocused:
    """Takes the wheel only with the focus; otherwise the wheel scrolls the inspector it is in."""

    def wheelEvent(self, event: QWheelEvent) -> None:
        spin = cast(QAbstractSpinBox, self)  # mixed into a spin box
        if spin.hasFocus():
            QAbstractSpinBox.wheelEvent(spin, event)
            return
        area = spin.parentWidget()
        while area is not None and not isinstance(area, QAbstractScrollArea):
            area = area.parentWidget()
        if area is None:
            event.ignore()  # goes on to the parent
            return
        scroll = QWheelEvent(
            event.position(),
            event.globalPosition(),
            event.pixelDelta(),
            event.angleDelta(),
            event.buttons(),
            event.modifiers(),
            event.phase(),
            event.inverted(),
        )
        QApplication.sendEvent(area.verticalScrollBar(), scroll)
        event.accept()


class SpinBox(_WheelWhenFocused, QSpinBox):
    pass


class DoubleSpinBox(_WheelWhenFocused, QDoubleSpinBox):
    pass


Editor = TemplateEditor | QSpinBox | QDoubleSpinBox | QLineEdit | QComboBox


def editor_for(spec: FieldSpec) -> Editor:
    editor: Editor
    if spec.choices:  # one of a few values (a map's error policy, a route's mode)
        editor = QComboBox()
        editor.addItems(list(spec.choices))
    elif spec.multiline:
        editor = TemplateEditor()
        editor.setMinimumHeight(150 if spec.name in MAIN_TEMPLATES else 70)
    elif spec.type is int:
        editor = spin = SpinBox()
        spin.setRange(
            int(spec.minimum if spec.minimum is not None else -(10**9)),
            int(spec.maximum if spec.maximum is not None else 10**9),
        )
    elif spec.type is float:
        editor = real = DoubleSpinBox()
        real.setDecimals(2)
        real.setSingleStep(0.1)
        real.setRange(
            spec.minimum if spec.minimum is not None else -1e9, spec.maximum if spec.maximum is not None else 1e9
        )
    else:
        editor = QLineEdit()
        if spec.name == "model":
            attach_model_completer(editor)  # the models the server listed (Settings → Test connection)
        elif spec.name == "endpoint":
            attach_endpoint_chooser(editor)  # the endpoint profiles in Settings
            editor.setPlaceholderText("the run's provider")
    if isinstance(editor, (QSpinBox, QDoubleSpinBox)):
        editor.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the wheel does not give it the focus
    editor.setObjectName(f"field_{spec.name}")
    editor.setToolTip(spec.help)
    return editor


def display_order(fields: tuple[FieldSpec, ...]) -> list[FieldSpec]:
    """The order the inspector shows a kind's fields in: the main template first (visible without scrolling),
    then the one-line settings, then the other templates (the system prompt)."""
    shown = [spec for spec in fields if spec.editable]
    main = [spec for spec in shown if spec.multiline and spec.name in MAIN_TEMPLATES]
    single = [spec for spec in shown if not spec.multiline]
    return main + single + [spec for spec in shown if spec not in main and spec not in single]


def value_of(editor: Editor) -> object:
    if isinstance(editor, TemplateEditor):
        return editor.template()
    if isinstance(editor, (QSpinBox, QDoubleSpinBox)):
        return editor.value()
    if isinstance(editor, QComboBox):
        return editor.currentText()
    return editor.text()


def show_value(editor: Editor, value: Any) -> None:
    """Put ``value`` into ``editor`` without it reporting an edit."""
    if value_of(editor) == value:
        return
    editor.blockSignals(True)
    try:
        if isinstance(editor, TemplateEditor):
            editor.set_template(str(value or ""))
        elif isinstance(editor, (QSpinBox, QDoubleSpinBox)):
            editor.setValue(value)
        elif isinstance(editor, QComboBox):
            editor.setCurrentText(str(value))
        else:
            editor.setText(str(value or ""))
    finally:
        editor.blockSignals(False)
