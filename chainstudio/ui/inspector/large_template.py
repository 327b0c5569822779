"""A template too large to lay out on the window's thread is shown read-only, with an "Edit anyway" button.

Qt lays out a paragraph (one line of the text) whole, on the window's thread, whenever it is shown or
changed: a prompt that is one 640,000-character line took ~0.25 s of that thread to show and ~0.1 s per typed
character (``benchmarks/open_stall_bench.py``). A prompt of many ordinary lines is laid out a screenful at a
time (640,000 characters in 300-character lines: 12 ms to show, 2 ms a key). So a template with a line over
``LONG_LINE`` characters, or over ``LARGE`` characters in all, shows only its first ``PREVIEW`` characters,
read-only, under a notice saying so; the editor keeps the whole text (what it reports is that text, never
the preview, so nothing is lost and nothing is committed from the preview). *Edit anyway* puts the whole
text into the editor to edit, at Qt's speed, until the inspector shows another step.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

LONG_LINE = 20_000  # characters in one line (a paragraph Qt lays out whole)
LARGE = 1_000_000  # characters in all
PREVIEW = 20_000  # characters shown of a template that is too large


def too_large(text: str) -> bool:
    """Whether ``text`` is too large to show in an editable editor without stalling the window."""
    if len(text) <= LONG_LINE:
        return False
    if len(text) > LARGE:
        return True
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        if end < 0:
            end = len(text)
        if end - start > LONG_LINE:
            return True
        start = end + 1
    return False


def notice_text(text: str) -> tuple[str, str]:
    """The notice's text (it wraps in a narrow inspector) and its tooltip."""
    return (
        f"Read-only: {len(text):,} characters",
        f"This template has {len(text):,} characters; so that the window stays responsive, only the first "
        f"{PREVIEW:,} are shown, read-only, and nothing of it changes. Edit anyway shows all of it to edit "
        "(a very long line makes every keystroke pause the window).",
    )


class LargeNotice(QFrame):
    """The notice above a template shown read-only, with its *Edit anyway* button."""

    edit_anyway = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("large_template_notice")
        self.setStyleSheet(
            "#large_template_notice { background: rgba(245, 158, 11, 0.12); border-bottom: 1px solid #f59e0b; }"
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 4, 2)
        self.label = QLabel()
        self.label.setObjectName("large_template_text")
        self.label.setWordWrap(True)
        self.button = QPushButton("Edit anyway")
        self.button.setObjectName("large_template_edit")
        self.button.clicked.connect(self.edit_anyway)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.button)
        self.hide()

    def show_for(self, text: str) -> None:
        line, tip = notice_text(text)
        self.label.setText(line)
        self.setToolTip(tip)
        self.show()
