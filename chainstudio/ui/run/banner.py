"""The banner above the canvas while the simulated provider is active: says so, and offers to configure a
real endpoint. Dismissable; it comes back whenever the simulated provider is chosen again."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

TEXT = (
    "<b>Simulated provider active</b> — no model is called and no key is needed: texts, timings and "
    "tokens come from an offline simulator. Press <b>F5</b> to run the chain."
)


class SimulatedBanner(QFrame):
    configureRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("simulated_banner")
        self.setStyleSheet(
            "#simulated_banner { background: #fef3c7; border-bottom: 1px solid #f59e0b; }"
            "#simulated_banner QLabel, #simulated_banner QToolButton { color: #78350f; }"
        )
        self.label = QLabel(TEXT)
        self.label.setWordWrap(True)
        self.configure = QPushButton("Configure a real endpoint…")
        self.configure.clicked.connect(self.configureRequested)
        close = QToolButton()
        close.setText("×")
        close.setAutoRaise(True)
        close.setToolTip("Hide this banner")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 5, 6, 5)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.configure)
        layout.addWidget(close)
