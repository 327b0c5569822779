"""Menus, toolbar and shortcuts of the main window. Each action calls a method of the window or of its
file handling; the Run menu is left empty for the window to fill with the run features' actions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

if TYPE_CHECKING:
    from chainstudio.ui.main_window import MainWindow

Key = QKeySequence.StandardKey


@dataclass
class Menus:
    actions: dict[str, QAction]
    recent: QMenu  # File → Open Recent, filled when it opens
    panels: QMenu  # View → Panels: one toggle per dock
    run: QMenu  # Run: filled by the window with the run features' actions


def _action(
    window: MainWindow,
    text: str,
    slot: Callable[..., object],
    shortcuts: Sequence[str | QKeySequence.StandardKey] = (),
    tip: str = "",
    checkable: bool = False,
) -> QAction:
    action = QAction(text, window)
    action.setShortcuts([QKeySequence(s) if isinstance(s, str) else QKeySequence(s) for s in shortcuts])
    if tip:
        action.setStatusTip(tip)
    action.setCheckable(checkable)
    action.triggered.connect(window.inspector.flush)  # first: the action sees what was just typed
    action.triggered.connect(slot)
    window.addAction(action)
    return action


def build_menus(window: MainWindow) -> Menus:
    files = window.files
    a = {
        "new": _action(window, "&New", files.new, [Key.New]),
        "open": _action(window, "&Open…", lambda: files.open_dialog(), [Key.Open]),
        "save": _action(window, "&Save", lambda: files.save(), [Key.Save]),
        "save_as": _action(window, "Save &As…", lambda: files.save_as(), ["Ctrl+Shift+S"]),
        "export_png": _action(window, "Export Canvas as &PNG…", lambda: files.export_dialog(".png")),
        "export_svg": _action(window, "Export Canvas as S&VG…", lambda: files.export_dialog(".svg")),
        "quit": _action(window, "&Quit", window.close, ["Ctrl+Q"]),
        "undo": _action(window, "&Undo", window.controller.undo, [Key.Undo]),
        "redo": _action(window, "&Redo", window.controller.redo, ["Ctrl+Shift+Z", "Ctrl+Y"]),
        "cut": _action(window, "Cu&t", window.cut, [Key.Cut]),
        "copy": _action(window, "&Copy", window.copy, [Key.Copy]),
        "paste": _action(window, "&Paste", window.paste, [Key.Paste]),
        "duplicate": _action(window, "&Duplicate", window.duplicate, ["Ctrl+D"]),
        "delete": _action(window, "De&lete", window.delete_selection, ["Delete", "Backspace"]),
        "select_all": _action(window, "Select &All", window.select_all, [Key.SelectAll]),
        "add_step": _action(
            window,
            "&Add Step…",
            lambda: window.gestures.quick_add_by_keyboard(window.view.centre_scene_pos()),
            tip="Search the kinds and the examples' steps (Tab on the canvas)",
        ),
        "connect": _action(
            window,
            "Co&nnect Selected",
            lambda: window.gestures.connect_selected(),
            ["Ctrl+E"],
            "Connect the two selected steps, left to right",
        ),
        "fit": _action(window, "&Fit to View", window.view.fit, ["F"]),
        "zoom_in": _action(window, "Zoom &In", lambda: window.view.zoom_by(1.25), [Key.ZoomIn, "Ctrl+="]),
        "zoom_out": _action(window, "Zoom &Out", lambda: window.view.zoom_by(0.8), [Key.ZoomOut]),
        "auto_layout": _action(
            window, "&Auto-layout", window.auto_layout, ["Ctrl+L"], "Put the steps in columns by parallel layer"
        ),
        "show_layers": _action(window, "Show &Layers", window.set_show_layers, checkable=True),
        "about": _action(window, "&About ChainStudio", window.about),
    }
    menus = window.menuBar()
    file_menu = menus.addMenu("&File")
    file_menu.addActions([a["new"], a["open"]])
    recent_menu = file_menu.addMenu("Open &Recent")
    recent_menu.aboutToShow.connect(lambda: _fill_recent(window, recent_menu))
    file_menu.addActions([a["save"], a["save_as"]])
    file_menu.addSeparator()
    file_menu.addActions([a["export_png"], a["export_svg"]])
    file_menu.addSeparator()
    file_menu.addAction(a["quit"])
    edit_menu = menus.addMenu("&Edit")
    edit_menu.addActions([a["undo"], a["redo"]])
    edit_menu.addSeparator()
    edit_menu.addActions([a["add_step"], a["connect"]])
    edit_menu.addSeparator()
    edit_menu.addActions([a["cut"], a["copy"], a["paste"], a["duplicate"], a["delete"]])
    edit_menu.addSeparator()
    edit_menu.addAction(a["select_all"])
    view_menu = menus.addMenu("&View")
    view_menu.addActions([a["fit"], a["zoom_in"], a["zoom_out"]])
    view_menu.addSeparator()
    view_menu.addActions([a["auto_layout"], a["show_layers"]])
    panels_menu = view_menu.addMenu("&Panels")
    run_menu = menus.addMenu("&Run")  # filled by the window with the run features' actions
    help_menu = menus.addMenu("&Help")
    examples = help_menu.addMenu("&Examples")
    for path in files.examples():
        examples.addAction(path.name.removesuffix(".chain.json"), partial(files.open_example, path))
    help_menu.addAction("&Documentation", lambda: _open_docs(window))
    help_menu.addAction(a["about"])
    toolbar = window.addToolBar("Main")
    toolbar.setObjectName("main_toolbar")
    for name in (
        "new",
        "open",
        "save",
        None,
        "undo",
        "redo",
        None,
        "delete",
        None,
        "fit",
        "auto_layout",
        "show_layers",
    ):
        if name is None:
            toolbar.addSeparator()
        else:
            toolbar.addAction(a[name])
    return Menus(actions=a, recent=recent_menu, panels=panels_menu, run=run_menu)


def _fill_recent(window: MainWindow, menu: QMenu) -> None:
    menu.clear()
    recent = window.files.recent()
    for path in recent:
        menu.addAction(path, partial(window.files.open_path, path))
    if not recent:
        menu.addAction("(none)").setEnabled(False)


def _open_docs(window: MainWindow) -> None:
    """The docs shipped beside the app (docs/ in a checkout or bundle), else the README."""
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QDesktopServices

    from chainstudio.paths import resources_dir

    root = resources_dir().parent
    for candidate in (root / "docs" / "concepts.md", root / "README.md"):
        if candidate.exists():
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(candidate)))
            window.show_status(f"Opened {candidate}", 5000)
            return
    window.show_status("The documentation is not installed with this build", 5000)
