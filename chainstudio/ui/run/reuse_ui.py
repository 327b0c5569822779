"""Not paying twice, in the window: the step cache (on by default), partial runs and pinned outputs.

* **Use Step Cache** (Run menu and run toolbar, remembered): runs replay answers the cache holds and keep
  new ones; the estimate counts the hits as free. **Clear Step Cache…** says how much it holds first.
* **Run This Step / Run From Here / Run To Here** and the pin actions for one step: ``contribute(menu,
  node_id)`` adds them to a card's context menu (the canvas's menu calls it: ``CanvasGestures.card_menu_hooks``).
  The step pointed at is always called (that is what the user asked for); the others follow the cache setting.
* **Pins**: pin the output a run made (its origin is that run), type one, or unpin, from the card menu or
  the Output panel's buttons; pinned cards carry a flag (``PinMarks``). **Keep Pinned Outputs in the File**
  (File menu) chooses whether saving writes them (format version 2).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from PySide6.QtCore import QObject, QSettings
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from chainstudio.core.editing.changes import Changes
from chainstudio.core.editing.document import Document
from chainstudio.core.editing.pins import SetPin, SetSavePins
from chainstudio.core.editing.rules import CommandError
from chainstudio.core.graph.model import Pin
from chainstudio.core.launch import cache_endpoint
from chainstudio.core.run.cache import CacheUse
from chainstudio.core.storage.step_cache import PeekingCache
from chainstudio.ui.canvas.scene import CanvasScene
from chainstudio.ui.common.shell import ShowStatus
from chainstudio.ui.run.live_run import RunUi
from chainstudio.ui.services import AppServices

CACHE_KEY = "stepCache"  # ui.ini: whether the window's runs use the step cache
MODES = (("only", "Run &This Step"), ("from", "Run &From Here"), ("to", "Run T&o Here"))


class PinDialog(QDialog):
    """Type (or edit) a step's pinned output. Opened with ``open()``; ``accepted`` -> ``text()``."""

    def __init__(self, step: str, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Pinned output of {step}")
        self.editor = QPlainTextEdit(text)
        self.editor.setMinimumSize(520, 260)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Runs use this text as the output of <b>{step}</b> instead of calling the model."))
        layout.addWidget(self.editor, 1)
        layout.addWidget(buttons)

    def text(self) -> str:
        return self.editor.toPlainText()


class PinMarks:
    """Keeps the pinned flag of the canvas cards in step with the document's pins."""

    def __init__(self, document: Document, scene: CanvasScene) -> None:
        self.document, self.scene = document, scene
        document.subscribe(self._changed)
        self.refresh()

    def _changed(self, changes: Changes) -> None:
        if changes.reset or changes.structure or changes.nodes_changed:
            self.refresh()

    def refresh(self) -> None:
        pins = self.document.graph.live_pins()
        for node_id, item in self.scene.nodes.items():
            pinned = node_id in pins
            if item.pinned != pinned:
                item.pinned = pinned
                item.update()


class ReuseUi(QObject):
    def __init__(
        self,
        services: AppServices,
        document: Document,
        scene: CanvasScene,
        runs: RunUi,
        *,
        host: QWidget,
        ui_state: QSettings,
        status: ShowStatus,
    ) -> None:
        super().__init__(host)
        self.services, self.document, self.scene, self.runs = services, document, scene, runs
        self.host, self.ui_state, self.status = host, ui_state, status
        self._dialog: QDialog | QMessageBox | None = None  # open now (tests look at it)
        self.estimate_changed: Callable[[], None] = lambda: None  # the window re-estimates when the cache toggles
        self.cache_action = QAction("Use Step &Cache", host)
        self.cache_action.setCheckable(True)
        self.cache_action.setChecked(ui_state.value(CACHE_KEY, True) not in (False, "false", "0", 0))
        self.cache_action.setToolTip(
            "Replay answers the step cache holds (same endpoint, model, prompt and settings): only what changed "
            "is called"
        )
        self.cache_action.setStatusTip(self.cache_action.toolTip())
        self.cache_action.toggled.connect(self._cache_toggled)
        self.clear_action = QAction("C&lear Step Cache…", host)
        self.clear_action.triggered.connect(lambda _checked=False: self.ask_clear())
        self.keep_pins_action = QAction("&Keep Pinned Outputs in the File", host)
        self.keep_pins_action.setCheckable(True)
        self.keep_pins_action.setStatusTip("Saving writes the pinned outputs into the graph file (format version 2)")
        self.keep_pins_action.triggered.connect(self.set_keep_pins)
        self.marks = PinMarks(document, scene)
        runs.cache_on = self.cache_action.isChecked
        runs.toolbar.addSeparator()
        runs.toolbar.addAction(self.cache_action)
        output = runs.output
        output.pinRequested.connect(self.pin_from_run)
        output.editPinRequested.connect(self.edit_pin)
        output.unpinRequested.connect(self.unpin)
        document.subscribe(self._document_changed)
        self._document_changed(Changes(reset=True))

    # --- the card menu hook ---------------------------------------------------------------------------
    def contribute(self, menu: QMenu, node_id: str) -> None:
        """Add this feature's actions for one step to a card's context menu."""
        node = self.document.graph.nodes.get(node_id)
        if node is None:
            return
        running = self.runs.controller.running
        for mode, text in MODES:
            action = menu.addAction(text, partial(self.run_part, mode, node_id))
            action.setEnabled(not running)
        if node.kind != "llm":
            return
        menu.addSeparator()
        pin = self.document.graph.pin_of(node_id)
        output = self.last_output(node_id)
        pin_action = menu.addAction("&Pin Output of the Last Run", lambda: self.pin_from_run(node_id))
        pin_action.setEnabled(output is not None and (pin is None or pin.output != output[0]))
        menu.addAction("Ed&it Pinned Output…" if pin else "T&ype a Pinned Output…", lambda: self.edit_pin(node_id))
        menu.addAction("&Unpin", lambda: self.unpin(node_id)).setEnabled(pin is not None)

    # --- partial runs ---------------------------------------------------------------------------------
    def run_part(self, mode: str, node_id: str) -> None:
        """Run only this step, from it, or up to it (upstream outputs from pins, the cache or the history)."""
        self.runs.request_run(part=(mode, node_id))

    # --- pins -----------------------------------------------------------------------------------------
    def last_output(self, node_id: str) -> tuple[str, str] | None:
        """(output, run id) of the step in the newest run that made one: this session's, else the history's."""
        run = self.runs.controller.run
        if run is not None:
            span = run.state.spans.get(node_id)
            if span is not None and span.status == "succeeded" and span.kind == "llm":
                origin = span.reused.origin if span.reused is not None else run.run_id
                return span.output, origin
        graph = self.document.graph
        for summary in self.services.history.runs(graph_name=graph.name, limit=10):
            span = self.services.history.state(summary.run_id).spans.get(node_id)
            if span is not None and span.status == "succeeded" and span.kind == "llm":
                return span.output, summary.run_id
        return None

    def pin_from_run(self, node_id: str) -> None:
        found = self.last_output(node_id)
        if found is None:
            self.status("No run has made this step's output yet: run it first, or type a pin", 6000)
            return
        self._set_pin(node_id, Pin(found[0], found[1]))

    def edit_pin(self, node_id: str) -> None:
        node = self.document.graph.nodes[node_id]
        pin = self.document.graph.pin_of(node_id)
        found = self.last_output(node_id)
        text = pin.output if pin is not None else (found[0] if found is not None else "")
        dialog = PinDialog(node.name, text, self.host)

        def accepted() -> None:
            typed = dialog.text()
            origin = (pin.origin if pin is not None and typed == pin.output else "") or (
                found[1] if found is not None and typed == found[0] else ""
            )
            self._set_pin(node_id, Pin(typed, origin))

        dialog.accepted.connect(accepted)
        self._dialog = dialog
        dialog.open()

    def unpin(self, node_id: str) -> None:
        self._set_pin(node_id, None)

    def _set_pin(self, node_id: str, pin: Pin | None) -> None:
        try:
            self.document.execute(SetPin(node_id, pin))
        except CommandError as exc:
            self.status(str(exc), 6000)
            return
        name = self.document.graph.nodes[node_id].name
        if pin is None:
            self.status(f"Unpinned {name}: runs call its model again", 5000)
        else:
            where = f"from run {pin.origin}" if pin.origin else "typed"
            self.status(f"Pinned {name}'s output ({where}): runs use it instead of calling the model", 5000)

    def add_to_file_menu(self, before: QAction) -> None:
        """Put Keep Pinned Outputs in the File in the menu holding ``before`` (File), above it."""
        menu = next(o for o in before.associatedObjects() if isinstance(o, QMenu))
        menu.insertAction(before, self.keep_pins_action)
        menu.insertSeparator(before)

    def set_keep_pins(self, keep: bool) -> None:
        if keep != self.document.graph.save_pins:
            self.document.execute(SetSavePins(keep))

    def _document_changed(self, changes: Changes) -> None:
        graph = self.document.graph
        if changes.reset or changes.graph_info:
            self.keep_pins_action.setChecked(graph.save_pins)
        node_id = self.runs.output.node_id
        node = graph.nodes.get(node_id) if node_id else None
        self.runs.output.set_pin(graph.pin_of(node_id) if node_id else None, node is not None and node.kind == "llm")

    def show_selection(self, node_ids: list[str]) -> None:
        """The Output panel's step changed: show its pin."""
        self._document_changed(Changes())

    # --- the cache ------------------------------------------------------------------------------------
    def _cache_toggled(self, on: bool) -> None:
        self.ui_state.setValue(CACHE_KEY, on)
        self.status(
            "Step cache on: only what changed is called" if on else "Step cache off: every step is called", 5000
        )
        self.estimate_changed()

    def estimate_cache(self) -> CacheUse | None:
        """The cache as the estimate may look at it (never counted as a use), for the toolbar's endpoint."""
        if not self.cache_action.isChecked():
            return None
        options = self.runs.toolbar.options()
        endpoint = cache_endpoint(self.services.settings.current, options)
        return CacheUse(PeekingCache(self.services.step_cache), endpoint, write=False)

    def ask_clear(self) -> QMessageBox:
        info = self.services.step_cache.info()
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Clear Step Cache",
            f"The step cache holds {info.entries:,} answers ({info.bytes / 1e6:,.1f} MB, {info.simulated:,} of "
            f"them simulated). Clear it? The next runs call every step again.",
            QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel,
            self.host,
        )
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.accepted.connect(self.clear)
        self._dialog = box
        box.open()
        return box

    def clear(self) -> int:
        count = self.services.step_cache.clear()
        self.status(f"Cleared the step cache: {count:,} answers removed", 6000)
        self.estimate_changed()
        return count
