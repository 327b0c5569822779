"""Settings' Test connection: a button and a one-line result. It lists the server's models
(``chainstudio.core.providers.models``) in the background and says what it found, or what went wrong."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from chainstudio.core.providers.models import ModelListError, list_models
from chainstudio.ui.common.tasks import LatestTask, loop_running

SHOWN_NAMES = 6


class ConnectionTest(QWidget):
    listed = Signal(list)  # the model ids the server offers, sorted

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.button = QPushButton("Test connection")
        self.button.setToolTip("Ask the server for its models (GET /v1/models) with the URL and key above")
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._task = LatestTask(name="chainstudio-test-connection")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.button)
        row.addWidget(self.result, 1)

    def run(self, base_url: str | None, api_key: str | None) -> None:
        """List the models of ``base_url`` (None: the default endpoint) with ``api_key``, in the background."""
        if not loop_running():
            self._say("Test connection needs the app's event loop.", ok=False)
            return
        self.button.setEnabled(False)
        self._say(f"Connecting to {base_url or 'the default endpoint'}…", ok=None)
        self._task.start(lambda: self._list(base_url, api_key))

    def cancel(self) -> None:
        self._task.cancel()

    async def _list(self, base_url: str | None, api_key: str | None) -> None:
        try:
            names = await list_models(base_url, api_key)
        except ModelListError as exc:
            self._say(f"✗ {exc}", ok=False)
        else:
            shown = ", ".join(names[:SHOWN_NAMES])
            if len(names) > SHOWN_NAMES:
                shown += f" and {len(names) - SHOWN_NAMES} more"
            self._say(
                f"✓ Connected: {len(names)} model{'s' * (len(names) != 1)}"
                + (f" ({shown}); pick the default model below" if names else " (the server lists none)"),
                ok=True,
            )
            self.listed.emit(names)
        finally:
            self.button.setEnabled(True)

    def _say(self, text: str, ok: bool | None) -> None:
        color = {True: "#1b7f3b", False: "#b3261e", None: "palette(dark)"}[ok]
        self.result.setStyleSheet(f"color: {color};")
        self.result.setText(text)
