"""The output panel: the selected step's rendered prompt and its output, streaming in as tokens arrive
(refreshed with the bridge's coalesced updates, never per token), and errors in full."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QTextCursor
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QSplitter, QVBoxLayout, QWidget

from chainstudio.core.run.record import step_note
from chainstudio.core.run.state import RunState
from chainstudio.ui.canvas.run_overlay import badge_for


def _text_box(placeholder: str) -> QPlainTextEdit:
    box = QPlainTextEdit()
    box.setReadOnly(True)
    box.setPlaceholderText(placeholder)
    box.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
    font = QFont("monospace")
    font.setStyleHint(QFont.StyleHint.Monospace)
    box.setFont(font)
    return box


class OutputPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state: RunState | None = None
        self.node_id: str | None = None
        self.header = QLabel("Select a step to see its prompt and output.")
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.prompt = _text_box("The rendered prompt appears here once the step starts.")
        self.output = _text_box("The output streams in here while the step runs.")
        split = QSplitter(Qt.Orientation.Horizontal)
        for title, box in (("Prompt", self.prompt), ("Output", self.output)):
            pane = QWidget()
            layout = QVBoxLayout(pane)
            layout.setContentsMargins(0, 0, 0, 0)
            layout.addWidget(QLabel(f"<b>{title}</b>"))
            layout.addWidget(box)
            split.addWidget(pane)
        split.setSizes([400, 600])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.header)
        layout.addWidget(split, 1)

    def set_state(self, state: RunState | None) -> None:
        self.state = state
        self._show()

    def set_node(self, node_id: str | None) -> None:
        self.node_id = node_id
        self._show()

    def refresh(self, changed: frozenset[str] | None = None) -> None:
        """After a coalesced update: redraw only when the shown step changed."""
        if changed is None or self.node_id in changed:
            self._show()

    def _show(self) -> None:
        state, node_id = self.state, self.node_id
        span = state.spans.get(node_id) if state is not None and node_id else None
        if state is None or span is None:
            self.header.setText(
                "Select a step to see its prompt and output." if not node_id else "This step has not run yet."
            )
            self._set(self.prompt, "")
            self._set(self.output, "")
            return
        simulated = (
            " · <span style='color:#b45309'><b>SIMULATED</b> (no model was called)</span>"
            if state.simulated and span.kind == "llm"
            else ""
        )
        cost = (
            "" if span.api_calls == 0 else (" · cost unknown" if span.cost_usd is None else f" · ${span.cost_usd:.4f}")
        )
        note = step_note(span)  # estimated tokens, another answering model, cached tokens
        note = f" · <span style='color:#b45309'>{escape(note)}</span>" if note else ""
        self.header.setText(f"<b>{span.name}</b> · {badge_for(state, span).text}{cost}{simulated}{note}")
        prompt = span.prompt if not span.system else f"[system]\n{span.system}\n\n[user]\n{span.prompt}"
        self._set(self.prompt, prompt)
        text = span.output
        problem = span.error or span.skip_reason
        if problem:
            text = (
                f"{text}\n\n--- {span.status.upper()} ---\n{problem}" if text else f"{span.status.upper()}: {problem}"
            )
        self._set(self.output, text, follow=span.status in ("running", "retrying"))

    @staticmethod
    def _set(box: QPlainTextEdit, text: str, follow: bool = False) -> None:
        if box.toPlainText() == text:
            return
        old = box.toPlainText()
        if text.startswith(old) and old:
            cursor = box.textCursor()
            cursor.movePosition(QTextCursor.MoveOperation.End)
            cursor.insertText(text[len(old) :])  # streaming: append, keep the view
        else:
            box.setPlainText(text)
        if follow:
            box.moveCursor(QTextCursor.MoveOperation.End)
            box.ensureCursorVisible()
