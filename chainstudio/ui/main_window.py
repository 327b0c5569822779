"""The main window: an empty canvas for now."""

from __future__ import annotations

from PySide6.QtWidgets import QGraphicsScene, QGraphicsView, QMainWindow, QMessageBox

from chainstudio.core.fileformat import LoadError, load
from chainstudio.core.model import Graph


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.graph = Graph()
        self.scene = QGraphicsScene(self)
        self.view = QGraphicsView(self.scene, self)
        self.setCentralWidget(self.view)
        self.resize(1400, 900)
        self._update_title()
        self.statusBar().showMessage("Simulated provider (offline)")

    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.graph.name} — ChainStudio")

    def open_path(self, path: str) -> None:
        try:
            self.graph = load(path)
        except LoadError as exc:
            box = QMessageBox(QMessageBox.Icon.Warning, "Cannot open file", str(exc), parent=self)
            box.open()
            return
        self._update_title()
