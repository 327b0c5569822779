"""File handling for the main window: New, Open, Save, Save As, Export, recent files, and the
Save / Discard / Cancel question — all with ``open()`` + signals, never a nested event loop (qasync)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from chainstudio.core.graph.model import Graph
from chainstudio.core.storage import fileformat
from chainstudio.paths import examples_dir
from chainstudio.ui.canvas.export import export_canvas

GRAPH_FILTER = "ChainStudio graphs (*.chain.json);;JSON files (*.json);;All files (*)"
RECENT_KEY = "recentFiles"
MAX_RECENT = 10


class FileOps:
    def __init__(self, window: QWidget, settings: QSettings):
        self.window = window
        self.settings = settings
        self.dialog: QWidget | None = None  # the dialog or message box currently open (tests look at it)

    @property
    def document(self):
        return self.window.document

    def _status(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 6000)

    def _show(self, dialog: QWidget, on_done: Callable) -> None:
        self.dialog = dialog
        dialog.finished.connect(lambda result: self._finished(dialog, on_done, result))
        dialog.open()

    def _finished(self, dialog: QWidget, on_done: Callable, result: int) -> None:
        if self.dialog is dialog:
            self.dialog = None
        on_done(result)
        dialog.deleteLater()

    # --- unsaved changes ------------------------------------------------------------------------
    def confirm_discard(self, then: Callable[[], None]) -> None:
        """Run ``then`` once the user has saved or discarded unsaved changes (not at all on Cancel)."""
        if not self.document.modified:
            then()
            return
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Unsaved changes",
            f"Save the changes to {self.document.title} before continuing?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            self.window,
        )
        box.setDefaultButton(QMessageBox.StandardButton.Save)

        def answered(_result: int) -> None:
            button = box.standardButton(box.clickedButton()) if box.clickedButton() else None
            if button == QMessageBox.StandardButton.Save:
                self.save(then)
            elif button == QMessageBox.StandardButton.Discard:
                then()

        self._show(box, answered)

    # --- new / open -----------------------------------------------------------------------------
    def new(self) -> None:
        self.confirm_discard(lambda: self.document.replace(Graph()))

    def open_dialog(self, directory: str | Path | None = None) -> None:
        def chosen() -> None:
            dialog = QFileDialog(self.window, "Open graph", str(directory or self._last_dir()), GRAPH_FILTER)
            dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
            dialog.fileSelected.connect(lambda path: self.open_path(path, confirm=False))
            self._show(dialog, lambda _r: None)

        self.confirm_discard(chosen)

    def open_path(self, path: str | Path, confirm: bool = True) -> None:
        """Open ``path`` (after Save / Discard / Cancel when there are unsaved changes)."""
        if confirm:
            self.confirm_discard(lambda: self.load(path))
        else:
            self.load(path)

    def open_example(self, path: str | Path) -> None:
        """Open a shipped example as an untitled copy, so Save asks where to put it."""
        self.confirm_discard(lambda: self.load(path, keep_path=False))

    def load(self, path: str | Path, keep_path: bool = True) -> bool:
        """Replace the document with the graph in ``path``; on failure show where the file is wrong."""
        try:
            graph = fileformat.load(path)
        except fileformat.LoadError as exc:
            problems = "\n".join(f"• {p}" for p in exc.problems[:20])
            more = f"\n… and {len(exc.problems) - 20} more" if len(exc.problems) > 20 else ""
            box = QMessageBox(
                QMessageBox.Icon.Warning,
                "Cannot open file",
                f"{Path(path).name} cannot be opened:\n\n{problems}{more}",
                QMessageBox.StandardButton.Ok,
                self.window,
            )
            self._show(box, lambda _r: None)
            self._status(f"Cannot open {Path(path).name}: {exc.problems[0]}")
            return False
        self.document.replace(graph, path if keep_path else None)
        if keep_path:
            self.add_recent(path)
        self.window.view.fit()
        self._status(f"Opened {Path(path).name}")
        return True

    # --- save -----------------------------------------------------------------------------------
    def save(self, then: Callable[[], None] | None = None) -> None:
        if self.document.path is None:
            self.save_as(then)
        elif self.save_to(self.document.path) and then:
            then()

    def save_as(self, then: Callable[[], None] | None = None) -> None:
        start = self.document.path or Path(self._last_dir()) / f"{self.document.graph.name}.chain.json"
        dialog = QFileDialog(self.window, "Save graph as", str(start), GRAPH_FILTER)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("chain.json")

        def selected(path: str) -> None:
            if self.save_to(path) and then:
                then()

        dialog.fileSelected.connect(selected)
        self._show(dialog, lambda _r: None)

    def save_to(self, path: str | Path) -> bool:
        try:
            saved = self.document.save(path)
        except OSError as exc:
            box = QMessageBox(
                QMessageBox.Icon.Critical,
                "Cannot save",
                f"Cannot save {path}: {exc}",
                QMessageBox.StandardButton.Ok,
                self.window,
            )
            self._show(box, lambda _r: None)
            return False
        self.add_recent(saved)
        self._status(f"Saved {saved.name}")
        return True

    # --- export ---------------------------------------------------------------------------------
    def export_dialog(self, suffix: str = ".png") -> None:
        start = Path(self._last_dir()) / f"{self.document.graph.name}{suffix}"
        dialog = QFileDialog(
            self.window, "Export canvas", str(start), "PNG image (*.png)" if suffix == ".png" else "SVG image (*.svg)"
        )
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix(suffix.lstrip("."))
        dialog.fileSelected.connect(self.export_to)
        self._show(dialog, lambda _r: None)

    def export_to(self, path: str | Path) -> bool:
        try:
            export_canvas(self.document.graph, path, show_layers=self.window.scene.show_layers)
        except (OSError, ValueError) as exc:
            self._status(f"Export failed: {exc}")
            return False
        self._status(f"Exported the canvas to {Path(path).name}")
        return True

    # --- recent files ---------------------------------------------------------------------------
    def recent(self) -> list[str]:
        value = self.settings.value(RECENT_KEY, [])
        paths = [value] if isinstance(value, str) else list(value or [])
        return [p for p in paths if Path(p).exists()]

    def add_recent(self, path: str | Path) -> None:
        path = str(Path(path).resolve())
        paths = [path] + [p for p in self.recent() if p != path]
        self.settings.setValue(RECENT_KEY, paths[:MAX_RECENT])

    def _last_dir(self) -> str:
        recent = self.recent()
        return str(Path(recent[0]).parent) if recent else str(Path.home())

    def examples(self) -> list[Path]:
        return sorted(examples_dir().glob("*.chain.json"))
