"""The main window: canvas in the middle, palette and inspector docks, a bottom area for the Gantt and
output panels, menus, toolbar and status bar. It wires widgets together; graph logic lives in the
controller, the commands and the document."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, QSettings, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMessageBox, QVBoxLayout, QWidget

import chainstudio
from chainstudio.core.editing.changes import Changes
from chainstudio.core.editing.document import Document
from chainstudio.core.graph.analysis import CycleError, layers
from chainstudio.core.storage.history import RunHistory
from chainstudio.paths import examples_dir, user_config_dir
from chainstudio.ui.actions import build_actions
from chainstudio.ui.canvas.scene import CanvasScene
from chainstudio.ui.canvas.view import CanvasView
from chainstudio.ui.editing.autosave import AutosaveUi
from chainstudio.ui.editing.controller import Controller
from chainstudio.ui.editing.file_ops import FileOps
from chainstudio.ui.editing.palette import Palette
from chainstudio.ui.inspector import InspectorPanel
from chainstudio.ui.planning.planning_ui import PlanUi
from chainstudio.ui.run.banner import SimulatedBanner
from chainstudio.ui.run.live_run import RunUi

STATE_VERSION = 1


def ui_settings() -> QSettings:
    return QSettings(str(user_config_dir() / "ui.ini"), QSettings.Format.IniFormat)


class MainWindow(QMainWindow):
    nodeSelectionChanged = Signal(list)  # ids of the selected nodes, on every change of selection

    def __init__(self, settings: QSettings | None = None, history: RunHistory | None = None) -> None:
        super().__init__()
        self.setObjectName("main_window")
        self.settings = settings or ui_settings()
        self.document = Document()
        self.controller = Controller(self.document, self)
        self.scene = CanvasScene(self.document, self)
        self.view = CanvasView(self.scene, self)
        self.view.setObjectName("canvas")
        self.banner = SimulatedBanner()
        centre = QWidget()
        column = QVBoxLayout(centre)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.banner)
        column.addWidget(self.view, 1)
        self.setCentralWidget(centre)
        self.files = FileOps(self, self.settings)
        self.palette = Palette()
        self.inspector = InspectorPanel(self.controller)
        self.palette_dock = self._dock("Palette", "palette_dock", self.palette, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.palette.setMinimumWidth(230)
        self.inspector_dock = self._dock(
            "Inspector", "inspector_dock", self.inspector, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.gantt_dock = self._dock(
            "Gantt",
            "gantt_dock",
            self._placeholder("The timeline of a run appears here."),
            Qt.DockWidgetArea.BottomDockWidgetArea,
        )
        self.output_dock = self._dock(
            "Output",
            "output_dock",
            self._placeholder("Step outputs appear here."),
            Qt.DockWidgetArea.BottomDockWidgetArea,
        )
        self.tabifyDockWidget(self.gantt_dock, self.output_dock)
        self.gantt_dock.raise_()
        self.menu_actions = build_actions(self)
        self.runs = RunUi(self, history)
        self.autosave = AutosaveUi(self)
        self.plans = PlanUi(self)
        self.banner.configureRequested.connect(self.runs.open_settings)
        self.runs.toolbar.provider.currentIndexChanged.connect(self._show_banner)
        self._show_banner()
        for dock in (self.palette_dock, self.inspector_dock, self.gantt_dock, self.output_dock, *self.plans.docks()):
            self.panels_menu.addAction(dock.toggleViewAction())
        self.summary = QLabel()
        self.statusBar().addPermanentWidget(self.summary)
        self._wire()
        self.setAcceptDrops(True)
        self.resize(1400, 900)
        self._restore_layout()
        self.document.subscribe(self._on_changes)
        self._on_changes(Changes(reset=True))
        self.statusBar().showMessage("Ready · the Simulated provider (offline, no model is called) is the default")

    @property
    def graph(self):
        return self.document.graph

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    @staticmethod
    def _placeholder(text: str) -> QLabel:
        label = QLabel(text)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setStyleSheet("color: #7b8794;")
        return label

    def _wire(self) -> None:
        c, s = self.controller, self.scene
        s.connectRequested.connect(c.connect_nodes)
        s.moveFinished.connect(c.move_nodes)
        s.selectedNodesChanged.connect(self.inspector.show_selection)
        s.selectedNodesChanged.connect(self.nodeSelectionChanged)
        s.selectionChanged.connect(self._update_actions)
        self.view.kindDropped.connect(lambda kind, pos: self.add_node(kind, pos))
        self.view.zoomChanged.connect(lambda _z: self._update_summary())
        self.palette.kindActivated.connect(lambda kind: self.add_node(kind, self.view.centre_scene_pos()))
        c.refused.connect(self._refused)
        c.done.connect(lambda text: self.statusBar().showMessage(text, 4000))

    # --- API for other panels (the Gantt) -------------------------------------------------------
    def select_node(self, node_id: str | None) -> None:
        """Select one node (None clears the selection) and bring it into view."""
        self.scene.select_nodes([node_id] if node_id else [])
        if node_id in self.scene.nodes:
            self.view.ensureVisible(self.scene.nodes[node_id].sceneBoundingRect(), 80, 80)

    def selected_node_ids(self) -> list[str]:
        return self.scene.selected_node_ids()

    def _show_banner(self) -> None:
        self.banner.setVisible(self.runs.toolbar.options().provider == "simulated")

    def start(self, files: list[str]) -> None:
        """At launch: open the given files; with none, offer to restore what a crash left unsaved, or else
        open the welcome graph (the hybrid research example) as an untitled copy."""
        for path in files:
            self.open_path(path)
        if files or self.autosave.offer_restore() is not None:
            return
        welcome = examples_dir() / "research-hybrid.chain.json"
        if welcome.exists():
            self.files.load(welcome, keep_path=False)
            self.statusBar().showMessage(
                "Welcome: this is the seed's hybrid research chain. Press F5 to run it on the simulated provider.",
                15000,
            )

    def open_path(self, path: str | Path) -> bool:
        """Open a graph file now (a file given on the command line or dropped on the window)."""
        return self.files.load(path)

    # --- intents --------------------------------------------------------------------------------
    def add_node(self, kind: str, centre: QPointF) -> str | None:
        node_id = self.controller.add_node(kind, (centre.x(), centre.y()))
        if node_id:
            self.scene.select_nodes([node_id])
        return node_id

    def delete_selection(self) -> None:
        self.controller.delete(self.scene.selected_node_ids(), self.scene.selected_edge_ids())

    def copy(self) -> bool:
        text = self.controller.copy_text(self.scene.selected_node_ids())
        if text:
            QGuiApplication.clipboard().setText(text)
            self.statusBar().showMessage(f"Copied {len(self.scene.selected_node_ids())} step(s)", 3000)
        return bool(text)

    def cut(self) -> None:
        if self.copy():
            self.delete_selection()

    def paste(self) -> None:
        ids = self.controller.paste_text(QGuiApplication.clipboard().text())
        if ids:
            self.scene.select_nodes(ids)

    def duplicate(self) -> None:
        ids = self.controller.duplicate(self.scene.selected_node_ids())
        if ids:
            self.scene.select_nodes(ids)

    def select_all(self) -> None:
        self.scene.select_nodes(list(self.scene.nodes))

    def auto_layout(self) -> None:
        if self.controller.auto_layout():
            self.view.fit()

    def set_show_layers(self, on: bool) -> None:
        self.scene.set_show_layers(on)
        self.settings.setValue("showLayers", on)

    def about(self) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Information,
            "About ChainStudio",
            f"ChainStudio {chainstudio.__version__}\n\nDesign chains of LLM calls on a node canvas and watch them run.",
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.open()

    def _refused(self, reason: str, node_ids: list) -> None:
        self.statusBar().showMessage(reason, 6000)
        self.scene.flash(node_ids)

    # --- document -> window ---------------------------------------------------------------------
    def _on_changes(self, changes: Changes) -> None:
        self.setWindowTitle(f"{self.document.title}[*] — ChainStudio")
        self.setWindowModified(self.document.modified)
        if changes.reset:
            self.inspector.show_selection([])
            self.view.fit()
        self._update_actions()
        self._update_summary()

    def _update_actions(self) -> None:
        a, doc = self.menu_actions, self.document
        a["undo"].setEnabled(doc.can_undo)
        a["undo"].setText(f"&Undo {doc.undo_label}" if doc.can_undo else "&Undo")
        a["redo"].setEnabled(doc.can_redo)
        a["redo"].setText(f"&Redo {doc.redo_label}" if doc.can_redo else "&Redo")
        selected = bool(self.scene.selectedItems())
        for name in ("cut", "copy", "duplicate"):
            a[name].setEnabled(bool(self.scene.selected_node_ids()))
        a["delete"].setEnabled(selected)

    def _update_summary(self) -> None:
        graph = self.document.graph
        try:
            layer_text = f"{len(layers(graph))} layers"
        except CycleError:
            layer_text = "cycle!"
        self.summary.setText(
            f"{len(graph.nodes)} steps · {len(graph.edges)} edges · {layer_text} · {self.view.zoom():.0%}"
        )

    # --- window state ---------------------------------------------------------------------------
    def _restore_layout(self) -> None:
        geometry = self.settings.value("geometry")
        state = self.settings.value("windowState")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state, STATE_VERSION)
        else:  # first launch: give the Gantt room
            self.resizeDocks([self.gantt_dock], [380], Qt.Orientation.Vertical)
        show_layers = self.settings.value("showLayers", True)
        show_layers = show_layers not in (False, "false", "0", 0)
        self.menu_actions["show_layers"].setChecked(show_layers)
        self.scene.set_show_layers(show_layers)

    def save_layout(self) -> None:
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("windowState", self.saveState(STATE_VERSION))
        self.settings.sync()

    def closeEvent(self, event) -> None:
        if self.document.modified and not getattr(self, "_close_confirmed", False):
            event.ignore()
            self.files.confirm_discard(self._close_now)
            return
        self.save_layout()
        self.plans.shutdown()
        self.runs.controller.stop()
        self.autosave.discard()
        self.scene.detach()
        super().closeEvent(event)

    def _close_now(self) -> None:
        self._close_confirmed = True
        self.close()

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            self.files.open_path(paths[0])
            event.acceptProposedAction()
