"""Asks for graph inputs that have no default before a run (opened with .open(): no nested loop)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QPlainTextEdit, QWidget

from chainstudio.core.graph.model import GraphInput


class InputsDialog(QDialog):
    submitted = Signal(dict)  # input name -> value

    def __init__(self, missing: list[GraphInput], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Graph inputs")
        layout = QFormLayout(self)
        layout.addRow(QLabel("These graph inputs have no default. Give a value for this run:"))
        self.editors: dict[str, QPlainTextEdit] = {}
        for graph_input in missing:
            editor = QPlainTextEdit()
            editor.setPlaceholderText(graph_input.description or graph_input.name)
            editor.setFixedHeight(70)
            self.editors[graph_input.name] = editor
            layout.addRow(graph_input.name, editor)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Run")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addRow(buttons)
        self.accepted.connect(lambda: self.submitted.emit(self.values()))

    def values(self) -> dict[str, str]:
        return {name: editor.toPlainText() for name, editor in self.editors.items()}
