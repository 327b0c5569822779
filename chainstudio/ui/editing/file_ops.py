"""File handling for the main window: New, Open, Save, Save As, Export, recent files, and the
Save / Discard / Cancel question — all with ``open()`` + signals, never a nested event loop (qasync).
A big file is read on a worker thread (``file_loader``) while the status bar says "Opening <name>…"; a
second Open meanwhile wins (the first one's graph is dropped), and New cancels it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from chainstudio.core.collector import thaw_if_grown
from chainstudio.core.editing.document import Document
from chainstudio.core.graph.model import Graph
from chainstudio.core.storage import fileformat
from chainstudio.paths import examples_dir
from chainstudio.ui.canvas.export import export_canvas
from chainstudio.ui.canvas.scene import CanvasScene
from chainstudio.ui.common.shell import ShowStatus
from chainstudio.ui.editing import file_saver
from chainstudio.ui.editing.file_loader import FileLoader, worth_a_thread

GRAPH_FILTER = "ChainStudio graphs (*.chain.json);;JSON files (*.json);;All files (*)"
RECENT_KEY = "recentFiles"
MAX_RECENT = 10


Dialog = QFileDialog | QMessageBox


class FileOps:
    def __init__(
        self,
        document: Document,
        ui_state: QSettings,
        *,
        host: QWidget,
        scene: CanvasScene,
        status: ShowStatus,
        fit_view: Callable[[], None],
    ) -> None:
        """``ui_state`` keeps the recent files; ``host`` parents the dialogs; ``scene`` says whether the
        layer bands show (exports follow it); ``fit_view`` shows a graph just opened whole."""
        self.document = document
        self.settings = ui_state
        self.host = host
        self.scene = scene
        self.status = status
        self.fit_view = fit_view
        self.dialog: Dialog | None = None  # the dialog or message box currently open (tests look at it)
        self.loader = FileLoader(host)
        self.loader.finished.connect(self._read)
        self._keep_path = True
        self._serial_at_start = 0  # the document's state when the file being read was asked for
        self.saver = file_saver.FileSaver(document)  # a big graph is written on a worker

    def _status(self, text: str) -> None:
        self.status(text, 6000)

    def _show(self, dialog: Dialog, on_done: Callable[[int], object]) -> None:
        self.dialog = dialog
        dialog.finished.connect(lambda result: self._finished(dialog, on_done, result))
        dialog.open()

    def _finished(self, dialog: Dialog, on_done: Callable[[int], object], result: int) -> None:
        if self.dialog is dialog:
            self.dialog = None
        on_done(result)
        dialog.deleteLater()

    # --- unsaved changes ------------------------------------------------------------------------
    def confirm_discard(self, then: Callable[[], object]) -> None:
        """Run ``then`` once the user has saved or discarded unsaved changes (not at all on Cancel)."""
        if not self.document.modified:
            then()
            return
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Unsaved changes",
            f"Save the changes to {self.document.title} before continuing?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            self.host,
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
        def empty() -> None:
            self.loader.cancel()
            self.document.replace(Graph())
            thaw_if_grown()  # the old graph's frozen objects are gone or garbage now
            self._status("New graph: add a step from the Palette, or double-click the canvas or press Tab")

        self.confirm_discard(empty)

    def open_dialog(self, directory: str | Path | None = None) -> None:
        def chosen() -> None:
            dialog = QFileDialog(self.host, "Open graph", str(directory or self._last_dir()), GRAPH_FILTER)
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
        """Replace the document with the graph in ``path``; on failure show where the file is wrong. A big
        file is read on a worker thread: True then means it is being opened."""
        if worth_a_thread(path):
            self._keep_path, self._serial_at_start = keep_path, self.document.serial
            self.loader.start(path)
            self.status(f"Opening {Path(path).name}…", 0)
            return True
        self.loader.cancel()  # an Open of a small file while a big one is read: the last one asked for wins
        try:
            graph = fileformat.load(path)
        except fileformat.LoadError as exc:
            self._cannot_open(path, exc)
            return False
        self._opened(path, graph, keep_path)
        return True

    def _read(self, path: Path, graph: Graph | None, error: fileformat.LoadError | None) -> None:
        """A file read on the worker: open it (asking first if the document was edited meanwhile)."""
        if graph is None:
            assert error is not None
            self._cannot_open(path, error)
        elif self.document.serial != self._serial_at_start:
            self.confirm_discard(lambda: self._opened(path, graph, self._keep_path))
        else:
            self._opened(path, graph, self._keep_path)

    def _cannot_open(self, path: str | Path, exc: fileformat.LoadError) -> None:
        problems = "\n".join(f"• {p}" for p in exc.problems[:20])
        more = f"\n… and {len(exc.problems) - 20} more" if len(exc.problems) > 20 else ""
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Cannot open file",
            f"{Path(path).name} cannot be opened:\n\n{problems}{more}",
            QMessageBox.StandardButton.Ok,
            self.host,
        )
        self._show(box, lambda _r: None)
        self._status(f"Cannot open {Path(path).name}: {exc.problems[0]}")

    def _opened(self, path: str | Path, graph: Graph, keep_path: bool) -> None:
        self.document.replace(graph, path if keep_path else None)
        thaw_if_grown()  # the old graph's frozen objects (canvas, runs) are gone or garbage now: collected once grown
        if keep_path:
            self.add_recent(path)
        self.fit_view()
        self._status(f"Opened {Path(path).name}")

    # --- save -----------------------------------------------------------------------------------
    def save(self, then: Callable[[], object] | None = None) -> None:
        if self.document.path is None:
            self.save_as(then)
        else:
            self.save_to(self.document.path, then)

    def save_as(self, then: Callable[[], object] | None = None) -> None:
        start = self.document.path or Path(self._last_dir()) / f"{self.document.graph.name}.chain.json"
        dialog = QFileDialog(self.host, "Save graph as", str(start), GRAPH_FILTER)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("chain.json")

        def selected(path: str) -> None:
            self.save_to(path, then)

        dialog.fileSelected.connect(selected)
        self._show(dialog, lambda _r: None)

    def save_to(self, path: str | Path, then: Callable[[], object] | None = None) -> bool:
        """Write the graph to ``path``, then call ``then``. True when it was written now; a big graph is
        written on a worker (False here; ``then`` follows once it is written)."""
        if file_saver.worth_a_thread(self.document):
            if self.saver.busy:
                self._status("Still saving the last Save…")
                return False
            self.status(f"Saving {Path(path).name}…", 0)
            self.saver.save(path, lambda saved: self._saved(saved, then), lambda exc: self._cannot_save(path, exc))
            return False
        try:
            saved = self.document.save(path)
        except OSError as exc:
            self._cannot_save(path, exc)
            return False
        self._saved(saved, then)
        return True

    def _saved(self, saved: Path, then: Callable[[], object] | None) -> None:
        self.add_recent(saved)
        self._status(f"Saved {saved.name}")
        if then:
            then()

    def _cannot_save(self, path: str | Path, exc: OSError) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Critical,
            "Cannot save",
            f"Cannot save {path}: {exc}",
            QMessageBox.StandardButton.Ok,
            self.host,
        )
        self._show(box, lambda _r: None)

    # --- export ---------------------------------------------------------------------------------
    def export_dialog(self, suffix: str = ".png") -> None:
        start = Path(self._last_dir()) / f"{self.document.graph.name}{suffix}"
        dialog = QFileDialog(
            self.host, "Export canvas", str(start), "PNG image (*.png)" if suffix == ".png" else "SVG image (*.svg)"
        )
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix(suffix.lstrip("."))
        dialog.fileSelected.connect(self.export_to)
        self._show(dialog, lambda _r: None)

    def export_to(self, path: str | Path) -> bool:
        try:
            export_canvas(self.document.graph, path, show_layers=self.scene.show_layers)
        except (OSError, ValueError) as exc:
            self._status(f"Export failed: {exc}")
            return False
        self._status(f"Exported the canvas to {Path(path).name}")
        return True

    # --- recent files ---------------------------------------------------------------------------
    def recent(self) -> list[str]:
        value = self.settings.value(RECENT_KEY, [])
        paths = (
            [value] if isinstance(value, str) else [str(p) for p in value] if isinstance(value, list | tuple) else []
        )
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
