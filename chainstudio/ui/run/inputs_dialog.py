"""Asks for graph inputs that have no default before a run or a comparison (opened with .open(): no nested
loop). Pre-filled with the values given last time; Ctrl+Return runs."""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QPlainTextEdit, QWidget

from chainstudio.core.graph.model import GraphInput


class InputsDialog(QDialog):
    submitted = Signal(dict)  # input name -> value

    def __init__(
        self,
        missing: list[GraphInput],
        parent: QWidget | None = None,
        *,
        values: Mapping[str, str] | None = None,
        action: str = "Run",
    ) -> None:
        """``values``: what to pre-fill (the last values given for this graph); ``action``: the OK button's
        text ("Run", "Compare")."""
        super().__init__(parent)
        self.setWindowTitle("Graph inputs")
        values = values or {}
        layout = QFormLayout(self)
        remembered = any(values.get(gi.name) for gi in missing)
        intro = "These graph inputs have no default. Give a value for this run"
        intro += " (filled in with the values you gave last time):" if remembered else ":"
        layout.addRow(QLabel(intro))
        self.editors: dict[str, QPlainTextEdit] = {}
        for graph_input in missing:
            editor = QPlainTextEdit()
            editor.setPlaceholderText(graph_input.description or graph_input.name)
            editor.setPlainText(values.get(graph_input.name, ""))
            editor.setFixedHeight(70)
            editor.setTabChangesFocus(True)
            editor.installEventFilter(self)  # Ctrl+Return runs (the editor would take it as a new line)
            self.editors[graph_input.name] = editor
            layout.addRow(graph_input.name, editor)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(action)
        self.ok_button.setToolTip(f"{action} with these values (Ctrl+Return)")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addRow(buttons)
        self.accepted.connect(lambda: self.submitted.emit(self.values()))
        if self.editors:
            first = next(iter(self.editors.values()))
            first.setFocus()
            first.selectAll()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and event.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            self.accept()
            return True
        return super().eventFilter(watched, event)

    def values(self) -> dict[str, str]:
        return {name: editor.toPlainText() for name, editor in self.editors.items()}
