"""The banner above the canvas that says which provider F5 runs on, and what to do next.

With the simulated provider it says so (amber) and offers to configure a real endpoint. With a real
endpoint it names the server F5 will send requests to (blue) and offers the settings and a one-click way
back to the simulated provider. Its last sentence names the next action (press F5; watch the Gantt, Esc
stops; click a bar, compare the strategies), as the run goes. Dismissable; it comes back whenever the
provider in effect changes.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

TEXT = (
    "<b>Simulated provider active</b> — no model is called and no key is needed: texts, timings and "
    "tokens come from an offline simulator. {hint}"
)
REAL_TEXT = (
    "<b>Real endpoint active</b>: runs send the chain's requests to <b>{endpoint}</b> (a paid API bills them). {hint}"
)
FIRST_HINT = "Press <b>F5</b> to run the chain."
STYLES = {
    "simulated": (
        "#provider_banner { background: #fef3c7; border-bottom: 1px solid #f59e0b; }"
        "#provider_banner QLabel, #provider_banner QToolButton { color: #78350f; }"
    ),
    "openai": (
        "#provider_banner { background: #dbeafe; border-bottom: 1px solid #3b82f6; }"
        "#provider_banner QLabel, #provider_banner QToolButton { color: #1e3a8a; }"
    ),
}


class ProviderBanner(QFrame):
    configureRequested = Signal()
    simulatedRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("provider_banner")
        self.mode = "simulated"
        self._shown_for: tuple[str, str] | None = None
        self._dismissed: tuple[str, str] | None = None
        self.label = QLabel(TEXT)
        self.label.setWordWrap(True)
        self.configure = QPushButton("Configure a real endpoint…")
        self.configure.clicked.connect(self.configureRequested)
        self.back_to_simulated = QPushButton("Switch to Simulated")
        self.back_to_simulated.setToolTip("Run on the offline simulator: no request leaves this machine")
        self.back_to_simulated.clicked.connect(self.simulatedRequested)
        close = QToolButton()
        close.setText("×")
        close.setAutoRaise(True)
        close.setToolTip("Hide this banner (it comes back when the provider changes)")
        close.clicked.connect(self._dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 5, 6, 5)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.configure)
        layout.addWidget(self.back_to_simulated)
        layout.addWidget(close)
        self.show_provider("simulated", "")

    def show_provider(self, provider: str, endpoint: str, hint: str = FIRST_HINT) -> None:
        """Say what F5 runs on: ``provider`` ("simulated" | "openai") and, for a real one, its base URL; ``hint``
        (rich text) names the next action."""
        mode = "simulated" if provider == "simulated" else "openai"
        template = TEXT if mode == "simulated" else REAL_TEXT
        self.label.setText(template.format(endpoint=escape(endpoint), hint=hint))
        shown_for = (provider, endpoint)
        if shown_for == self._shown_for:
            return
        self._shown_for = shown_for
        self.mode = mode
        self.setStyleSheet(STYLES[mode])
        self.configure.setText("Configure a real endpoint…" if mode == "simulated" else "Settings…")
        self.back_to_simulated.setVisible(mode != "simulated")
        self.setVisible(shown_for != self._dismissed)

    def _dismiss(self) -> None:
        self._dismissed = self._shown_for
        self.hide()


SimulatedBanner = ProviderBanner  # its name before it also named real endpoints
