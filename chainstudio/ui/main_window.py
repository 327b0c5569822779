"""The main window: canvas in the middle, palette and inspector docks, a bottom area for the Gantt and output
panels, menus, toolbar and status bar. Over 400 lines because it is where the GUI is put together: it takes
the app's services (``AppServices``, built once), builds the docks and hands each feature what it uses (the
document, the scene, a dock, a status callback, the services); it places the features' actions and
toolbars. Graph logic lives in the controller, the commands and the document."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMessageBox, QVBoxLayout, QWidget

import chainstudio
from chainstudio.core.editing.changes import Changes
from chainstudio.core.editing.document import Document
from chainstudio.core.editing.problem_check import is_small
from chainstudio.core.graph.analysis import CycleError
from chainstudio.core.graph.model import Graph
from chainstudio.core.storage.history import RunHistory
from chainstudio.paths import examples_dir
from chainstudio.ui.actions import build_menus
from chainstudio.ui.canvas.scene import CanvasScene
from chainstudio.ui.canvas.view import CanvasView
from chainstudio.ui.editing.autosave import AutosaveUi
from chainstudio.ui.editing.controller import Controller
from chainstudio.ui.editing.file_ops import FileOps
from chainstudio.ui.editing.gestures import CanvasGestures
from chainstudio.ui.editing.palette import Palette
from chainstudio.ui.editing.problem_checker import problems_text
from chainstudio.ui.inspector import InspectorPanel
from chainstudio.ui.planning.advisor import AdvisorUi
from chainstudio.ui.planning.compare import CompareUi
from chainstudio.ui.planning.datasets import DatasetsUi
from chainstudio.ui.planning.estimate import EstimateUi
from chainstudio.ui.planning.history import HistoryUi
from chainstudio.ui.planning.plan_inputs import PlanInputs
from chainstudio.ui.run.banner import ProviderBanner
from chainstudio.ui.run.live_run import RunUi
from chainstudio.ui.run.reuse_ui import ReuseUi
from chainstudio.ui.services import AppServices

STATE_VERSION = 1
LEFT, RIGHT, BOTTOM = (
    Qt.DockWidgetArea.LeftDockWidgetArea,
    Qt.DockWidgetArea.RightDockWidgetArea,
    Qt.DockWidgetArea.BottomDockWidgetArea,
)


class MainWindow(QMainWindow):
    nodeSelectionChanged = Signal(list)  # ids of the selected nodes, on every change of selection

    def __init__(
        self,
        ui_state: QSettings | None = None,
        history: RunHistory | None = None,
        *,
        services: AppServices | None = None,
    ) -> None:
        """``services``: the app's (``AppServices.create()``); without them the window builds its own, with
        ``ui_state`` (window layout, recent files) and ``history`` when given."""
        super().__init__()
        self.setObjectName("main_window")
        self._close_confirmed = False
        self._keep_autosave = False  # closed by a signal with unsaved edits: their autosave is kept
        self.services = services or AppServices.create(ui_state, history)
        self.ui_state = self.services.ui_state
        self.document = Document()
        self.controller = Controller(self.document, self)
        self.scene = CanvasScene(self.document, self)
        self.view = CanvasView(self.scene, self)
        self.view.setObjectName("canvas")
        self.banner = ProviderBanner()
        centre = QWidget()
        column = QVBoxLayout(centre)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.banner)
        column.addWidget(self.view, 1)
        self.setCentralWidget(centre)

        # the docks, in the order (and tabs) of the default layout; each feature fills its own
        self.kind_palette = Palette()
        self.kind_palette.setMinimumWidth(230)
        self.inspector = InspectorPanel(self.controller)
        self.palette_dock = self._dock("Palette", "palette_dock", LEFT, self.kind_palette)
        self.inspector_dock = self._dock("Inspector", "inspector_dock", RIGHT, self.inspector)
        self.gantt_dock = self._dock("Gantt", "gantt_dock", BOTTOM)
        self.output_dock = self._dock("Output", "output_dock", BOTTOM)
        self.tabifyDockWidget(self.gantt_dock, self.output_dock)
        self.advisor_dock = self._dock("Advisor", "advisor_dock", RIGHT)
        self.tabifyDockWidget(self.inspector_dock, self.advisor_dock)
        self.inspector_dock.raise_()
        self.history_dock = self._dock("History", "history_dock", BOTTOM)
        self.compare_dock = self._dock("Compare", "compare_dock", BOTTOM)
        self.tabifyDockWidget(self.output_dock, self.history_dock)
        self.tabifyDockWidget(self.history_dock, self.compare_dock)
        self.gantt_dock.raise_()

        # the features, each given what it uses
        services, document, status = self.services, self.document, self.show_status
        self.files = FileOps(
            document, self.ui_state, host=self, scene=self.scene, status=status, fit_view=self.view.fit
        )
        self.files.loader.opening.connect(self.view.show_opening)  # "Opening <name>…" over the canvas
        menus = build_menus(self)
        self.menu_actions, self.recent_menu, self.panels_menu, self.run_menu = (
            menus.actions,
            menus.recent,
            menus.panels,
            menus.run,
        )
        self.runs = RunUi(
            services,
            document,
            self.scene,
            host=self,
            gantt_dock=self.gantt_dock,
            output_dock=self.output_dock,
            status=status,
            select_node=self.select_node,
            show_problems=lambda problems: self.gestures.show_problems(problems),
            commit_typing=self.inspector.flush,
        )
        self.gestures = CanvasGestures(
            self.controller,
            self.view,
            inspector=self.inspector,
            actions=self.menu_actions,
            select_node=self.select_node,
            status=status,
            host=self,
        )
        self.addToolBarBreak()  # the run toolbar gets its own row: the editing toolbar stays whole above it
        self.addToolBar(self.runs.toolbar)
        self.reuse = ReuseUi(
            services, document, self.scene, self.runs, host=self, ui_state=self.ui_state, status=status
        )
        self.gestures.card_menu_hooks.append(self.reuse.contribute)  # run this step / from here / to here, pins
        toolbar = self.runs.toolbar
        plan = PlanInputs(
            services.settings, services.history, toolbar.options, lambda g: services.inputs.for_graph(g, document.path)
        )
        cached = self.reuse.estimate_cache  # the estimate counts the step cache's hits
        self.estimate = EstimateUi(
            document, self.scene, toolbar, plan, shows_run=lambda: self.runs.shows_run, parent=self, cache=cached
        )
        self.reuse.estimate_changed = self.estimate.update
        self.advisor = AdvisorUi(
            document, toolbar, plan, host=self, dock=self.advisor_dock, status=status, fit_view=self.view.fit
        )
        self.history = HistoryUi(
            services.history,
            document,
            dock=self.history_dock,
            status=status,
            show_runs=self.runs.show_runs,
            parent=self,
        )
        self.compare = CompareUi(
            services,
            document,
            toolbar,
            host=self,
            dock=self.compare_dock,
            problem=self.runs.show_problem,
            commit_typing=self.inspector.flush,
        )
        self.autosave = AutosaveUi(document, host=self, status=status)
        self.datasets = DatasetsUi(self, services, document, toolbar)  # after the menus and Compare
        runs = [self.runs.run_action, self.runs.stop_action, self.compare.action, self.compare.replay_action]
        runs.append(self.datasets.action)
        self.run_menu.addActions([*runs, self.advisor.action])
        self.run_menu.addSeparator()
        self.run_menu.addActions([self.reuse.cache_action, self.reuse.clear_action])
        self.run_menu.addSeparator()
        self.run_menu.addAction(self.runs.settings_action)
        self.reuse.add_to_file_menu(before=self.menu_actions["export_png"])
        for dock in (
            self.palette_dock,
            self.inspector_dock,
            self.gantt_dock,
            self.output_dock,
            self.advisor_dock,
            self.history_dock,
            self.compare_dock,
            self.datasets.dock,
        ):
            self.panels_menu.addAction(dock.toggleViewAction())

        self.summary = QLabel()
        self.statusBar().addPermanentWidget(self.summary)
        self.statusBar().addPermanentWidget(self.runs.provider_status)
        self._wire()
        self.setAcceptDrops(True)
        self.resize(1400, 900)
        self._restore_layout()
        self.document.subscribe(self._on_changes)
        self._on_changes(Changes(reset=True))
        self.show_status(f"Ready · runs on {self.runs.provider_text()}", 0)

    @property
    def graph(self) -> Graph:
        return self.document.graph

    def _dock(self, title: str, name: str, area: Qt.DockWidgetArea, widget: QWidget | None = None) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        if widget is not None:
            dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _wire(self) -> None:
        c, s = self.controller, self.scene
        s.connectRequested.connect(c.connect_nodes)
        s.moveFinished.connect(c.move_nodes)
        s.selectedNodesChanged.connect(self.inspector.show_selection)
        s.selectedNodesChanged.connect(self.nodeSelectionChanged)
        s.selectionChanged.connect(self._update_actions)
        self.nodeSelectionChanged.connect(self.runs.show_selection)
        self.nodeSelectionChanged.connect(self.reuse.show_selection)
        self.view.kindDropped.connect(lambda kind, pos: self.add_node(kind, pos))
        self._summary_again = QTimer(self)  # a big graph's layers are counted once the canvas has found them
        self._summary_again.setSingleShot(True)
        self._summary_again.setInterval(300)
        self._summary_again.timeout.connect(self._update_summary)
        self.view.zoomChanged.connect(lambda _z: self._update_summary())
        self.kind_palette.kindActivated.connect(lambda kind: self.add_node(kind, self.view.centre_scene_pos()))
        c.refused.connect(self._refused)
        c.done.connect(lambda text: self.show_status(text, 4000))
        self.runs.attach_banner(self.banner)  # it follows the provider in effect
        finished = self.runs.controller.finished  # after the run is in the history
        finished.connect(self.estimate.run_finished)
        self.runs.controller.runningChanged.connect(self.estimate.run_started)
        # the history's list after the estimate's comparison, in a loop turn of its own (no long stall)
        finished.connect(lambda _state: QTimer.singleShot(0, self.history, self.history.refresh))

    def show_status(self, text: str, ms: int = 0) -> None:
        """A status-bar message for ``ms`` milliseconds (0: until the next one)."""
        self.statusBar().showMessage(text, ms)

    def stop_background_work(self) -> None:
        """The window is closing: stop the estimate, the analysis and a comparison that would outlive it."""
        self.estimate.shutdown()
        self.advisor.shutdown()
        self.compare.shutdown()
        self.datasets.shutdown()
        self.history.shutdown()

    # --- API for other panels (the Gantt) -------------------------------------------------------
    def select_node(self, node_id: str | None) -> None:
        """Select one node (None clears the selection) and bring it into view."""
        self.scene.select_nodes([node_id] if node_id else [])
        if node_id in self.scene.nodes:
            self.view.ensureVisible(self.scene.nodes[node_id].box(), 80, 80)

    def selected_node_ids(self) -> list[str]:
        return self.scene.selected_node_ids()

    def start(self, files: list[str]) -> None:
        """At launch: open the given files; with none, offer to restore what a crash left unsaved, or else
        open the welcome graph (the hybrid research example) as an untitled copy."""
        for path in files:
            self.open_path(path)
        if self.services.problems:  # e.g. the run history cannot be read: the window works without it
            self.history.panel.notice = " ".join(self.services.problems)
            self.history.panel.refresh()
            note = "ChainStudio's own files cannot all be used: a temporary folder stands in (see the History tab)"
            QTimer.singleShot(0, lambda: self.show_status(note, 60000))
        if files or self.autosave.offer_restore() is not None:
            return
        welcome = examples_dir() / "research-hybrid.chain.json"
        if welcome.exists():
            self.files.load(welcome, keep_path=False)
            self.show_status(f"Welcome: this is the seed's hybrid research chain. {self.runs.run_hint()}", 15000)

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
        """Delete the selection; warns over the canvas when templates still use what went (Undo restores)."""
        self.gestures.delete(self.scene.selected_node_ids(), self.scene.selected_edge_ids())

    def copy(self) -> bool:
        text = self.controller.copy_text(self.scene.selected_node_ids())
        if text:
            QGuiApplication.clipboard().setText(text)
            self.show_status(f"Copied {len(self.scene.selected_node_ids())} step(s)", 3000)
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
        self.ui_state.setValue("showLayers", on)

    def about(self) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Information,
            "About ChainStudio",
            f"ChainStudio {chainstudio.__version__}\n\nDesign chains of LLM calls on a node canvas and watch them run.",
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.open()

    def _refused(self, reason: str, node_ids: list[str]) -> None:
        self.show_status(reason, 6000)
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
        a["connect"].setEnabled(len(self.scene.selected_node_ids()) == 2)
        a["delete"].setEnabled(selected)

    def _update_summary(self) -> None:
        graph = self.document.graph
        # a big graph's layers are found a part at a time (the canvas's pass), not here: 60+ ms at 100,000 edges
        analysis = self.document.analysis if is_small(graph) else self.document.known_analysis
        try:
            layer_text = "… layers" if analysis is None else f"{len(analysis.layers)} layers"
            if analysis is None:  # looked at again until the canvas has found them
                self._summary_again.start()
        except CycleError:
            layer_text = "cycle!"
        self.summary.setText(
            f"{len(graph.nodes)} steps · {len(graph.edges)} edges · {layer_text} · {self.view.zoom():.0%}"
            f" · {problems_text(self.document.known_problems)}"
        )

    # --- window state ---------------------------------------------------------------------------
    def _restore_layout(self) -> None:
        geometry = self.ui_state.value("geometry")
        state = self.ui_state.value("windowState")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state, STATE_VERSION)
        else:  # first launch: give the Gantt room
            self.resizeDocks([self.gantt_dock], [380], Qt.Orientation.Vertical)
        show_layers = self.ui_state.value("showLayers", True)
        show_layers = show_layers not in (False, "false", "0", 0)
        self.menu_actions["show_layers"].setChecked(show_layers)
        self.scene.set_show_layers(show_layers)

    def save_layout(self) -> None:
        self.ui_state.setValue("geometry", self.saveGeometry())
        self.ui_state.setValue("windowState", self.saveState(STATE_VERSION))
        self.ui_state.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.document.modified and not self._close_confirmed:
            event.ignore()
            self.files.confirm_discard(self._close_now)
            return
        self.save_layout()
        self.stop_background_work()
        self.runs.controller.stop()
        if not self._keep_autosave:
            self.autosave.discard()
        self.scene.detach()
        super().closeEvent(event)

    def close_for_signal(self) -> None:
        """SIGTERM, SIGINT or SIGHUP: no one is there to ask about unsaved edits, so they are autosaved now
        and kept (the next launch offers to restore them), a run is stopped, and the window closes."""
        if self.document.modified:
            self.autosave.autosave(force=True)
        self._keep_autosave = self.document.modified
        self._close_confirmed = True
        self.close()

    def _close_now(self) -> None:
        self._close_confirmed = True
        self.close()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            self.files.open_path(paths[0])
            event.acceptProposedAction()
