"""A message over the top of the canvas, where the user is looking: why Run refused, what a delete broke.
It floats over the view (the canvas does not move when it shows), may offer one action (Undo, Next problem),
and goes away after a while, on its × or when replaced."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

STYLES = {
    "error": ("#fdecea", "#d32f2f", "#7f1d1d"),
    "warning": ("#fff4e5", "#f59e0b", "#78350f"),
    "info": ("#e8f1fd", "#3d7bd9", "#1e3a5f"),
}
DEFAULT_MS = 15000
MAX_WIDTH = 640


class CanvasNotice(QFrame):
    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("canvas_notice")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.action = QPushButton()
        self.action.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the canvas keeps the keyboard
        self.action.clicked.connect(self._act)
        close = QToolButton()
        close.setText("×")
        close.setAutoRaise(True)
        close.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        self.row = layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 6, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.action)
        layout.addWidget(close)
        self._on_action: Callable[[], object] | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self.hide()

    def show_message(
        self,
        html: str,
        level: str = "warning",
        action: tuple[str, Callable[[], object]] | None = None,
        ms: int = DEFAULT_MS,
    ) -> None:
        """Show ``html`` (``level``: error, warning or info) with an optional (button text, callback)."""
        fill, border, text = STYLES.get(level, STYLES["info"])
        self.setStyleSheet(
            f"#canvas_notice {{ background: {fill}; border: 1px solid {border}; border-radius: 6px; }}"
            f"#canvas_notice QLabel, #canvas_notice QToolButton {{ color: {text}; }}"
        )
        self.setProperty("level", level)
        self.label.setText(html)
        self._on_action = action[1] if action else None
        self.action.setText(action[0] if action else "")
        self.action.setVisible(action is not None)
        self.place()
        self.show()
        self.raise_()
        self._timer.start(ms)

    def text(self) -> str:
        return self.label.text()

    def place(self) -> None:
        """Top centre of the parent (the view calls this when it is resized)."""
        parent = self.parentWidget()
        if parent is None:
            return
        width = max(200, min(MAX_WIDTH, parent.width() - 24))
        row = self.row
        height = row.totalHeightForWidth(width) if row.hasHeightForWidth() else row.totalSizeHint().height()
        self.setFixedSize(width, height)
        self.move((parent.width() - width) // 2, 10)

    def _act(self) -> None:
        action = self._on_action
        self.hide()
        if action is not None:
            action()
