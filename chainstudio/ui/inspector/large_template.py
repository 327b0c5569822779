"""A template too large to show on the window's thread at once is shown read-only, with an "Edit anyway" button.

A template over ``LARGE`` characters in all shows only its first ``PREVIEW`` characters, read-only, under a
notice saying so; the editor keeps the whole text (what it reports is that text, never the preview, so
nothing is lost and nothing is committed from the preview). *Edit anyway* puts the whole text into the
editor to edit, until the inspector shows another step. A long line alone no longer needs this: the editor
holds it as display blocks of a few thousand characters (``display_blocks.py``), so showing a
640,000-character line costs ~20 ms of the window's thread and a typed character a few ms, where Qt laying
that line out whole cost ~0.2 s and ~0.1 s (``benchmarks/open_stall_bench.py``, docs/performance.md).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

LARGE = 1_000_000  # characters in all
PREVIEW = 20_000  # characters shown of a template that is too large


def too_large(text: str) -> bool:
    """Whether ``text`` is too large to show whole in an editable editor at once."""
    return len(text) > LARGE


def notice_text(text: str) -> tuple[str, str]:
    """The notice's text (it wraps in a narrow inspector) and its tooltip."""
    return (
        f"Read-only: {len(text):,} characters",
        f"This template has {len(text):,} characters; so that the window stays responsive, only the first "
        f"{PREVIEW:,} are shown, read-only, and nothing of it changes. Edit anyway shows all of it to edit "
        "(showing it and committing each change then take a moment).",
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
