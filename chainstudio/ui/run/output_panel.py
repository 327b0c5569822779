"""The output panel: the selected step's rendered prompt and its output, streaming in as tokens arrive
(refreshed with the bridge's coalesced updates, never per token), and errors in full. Its pin buttons ask
to pin the shown output, to type one, or to unpin (``pinRequested``, ``editPinRequested``,
``unpinRequested``, each with the step's id); a pinned step without a run shows its pinned text."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QTextCursor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QSplitter, QToolButton, QVBoxLayout, QWidget

from chainstudio.core.graph.model import Pin
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
    pinRequested = Signal(str)  # pin the output shown for this step id
    editPinRequested = Signal(str)  # type (or edit) this step's pinned output
    unpinRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state: RunState | None = None
        self.node_id: str | None = None
        self.pin: Pin | None = None  # the shown step's pin
        self.pinnable = False  # the shown step is a model step
        self.header = QLabel("Select a step to see its prompt and output.")
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.pin_button = self._button("Pin Output", "Use this output in later runs instead of calling the model")
        self.edit_pin_button = self._button("Edit Pin…", "Type the output later runs use instead of calling the model")
        self.unpin_button = self._button("Unpin", "Call the model for this step again")
        self.pin_button.clicked.connect(lambda: self.node_id and self.pinRequested.emit(self.node_id))
        self.edit_pin_button.clicked.connect(lambda: self.node_id and self.editPinRequested.emit(self.node_id))
        self.unpin_button.clicked.connect(lambda: self.node_id and self.unpinRequested.emit(self.node_id))
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
        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        for button in (self.pin_button, self.edit_pin_button, self.unpin_button):
            top.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        self._update_buttons(None)

    def _button(self, text: str, tip: str) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        return button

    def set_pin(self, pin: Pin | None, pinnable: bool) -> None:
        """The shown step's pin (None: not pinned) and whether it can have one (a model step)."""
        self.pin, self.pinnable = pin, pinnable
        self._show()

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

    def _update_buttons(self, output: str | None) -> None:
        on = bool(self.node_id) and self.pinnable
        self.pin_button.setEnabled(on and bool(output) and (self.pin is None or self.pin.output != output))
        self.edit_pin_button.setEnabled(on)
        self.edit_pin_button.setText("Edit Pin…" if self.pin is not None else "Type a Pin…")
        self.unpin_button.setEnabled(on and self.pin is not None)

    def _show(self) -> None:
        state, node_id = self.state, self.node_id
        span = state.spans.get(node_id) if state is not None and node_id else None
        self._update_buttons(span.output if span is not None and span.status == "succeeded" else None)
        if (state is None or span is None) and self.pin is not None and node_id:
            origin = f"from run {self.pin.origin}" if self.pin.origin else "typed by hand"
            self.header.setText(f"<b>⚑ pinned output</b> ({origin}): runs use it instead of calling the model")
            self._set(self.prompt, "")
            self._set(self.output, self.pin.output)
            return
        if state is None or span is None:
            self.header.setText(
                "Select a step to see its prompt and output." if not node_id else "This step has not run yet."
            )
            self._set(self.prompt, "")
            self._set(self.output, "")
            return
        simulated = (
            " · <span style='color:#b45309'><b>SIMULATED</b> (no model was called)</span>"
            if state.simulated and span.kind in ("llm", "pick_best") and span.api_calls
            else ""
        )
        cost = (
            "" if span.api_calls == 0 else (" · cost unknown" if span.cost_usd is None else f" · ${span.cost_usd:.4f}")
        )
        note = step_note(span)  # estimated tokens, another answering model, cached tokens
        note = f" · <span style='color:#b45309'>{escape(note)}</span>" if note else ""
        pinned = ""
        if self.pin is not None and (span.reused is None or span.reused.source != "pin"):  # pinned since this run
            origin = f"from run {self.pin.origin}" if self.pin.origin else "typed by hand"
            pinned = f" · <b>⚑ pinned</b> ({origin}): later runs use the pin"
        self.header.setText(f"<b>{span.name}</b> · {badge_for(state, span).text}{cost}{simulated}{note}{pinned}")
        prompt = span.prompt if not span.system else f"[system]\n{span.system}\n\n[user]\n{span.prompt}"
        self._set(self.prompt, prompt)
        text = span.output + verdicts_text(span)
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


def verdicts_text(span) -> str:
    """A checked step's verdicts and a pick-best step's scores, under its output."""
    lines = []
    for mark in span.checks:
        if mark.kind == "pick" and mark.passed:
            continue  # the scores below say it
        verdict = "passed" if mark.passed else "rejected"
        lines.append(
            f"attempt {mark.attempt}: {mark.kind} check {verdict}" + (f": {mark.reason}" if mark.reason else "")
        )
    if span.scores is not None:
        for name, score, reason in span.scores.scores:
            picked = "  ◀ picked" if name == span.scores.best else ""
            lines.append(f"{name}: {'—' if score is None else f'{score:g}'} · {reason}{picked}")
    if not lines or span.status in ("running", "retrying"):
        return ""
    title = "--- SCORES ---" if span.scores is not None else "--- CHECKS ---"
    return "\n\n" + title + "\n" + "\n".join(lines)
