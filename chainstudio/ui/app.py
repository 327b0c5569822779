"""QApplication + qasync event loop start-up."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtGui import QIcon, QPalette
    from PySide6.QtWidgets import QApplication, QWidget

    from chainstudio.ui.main_window import MainWindow


def create_application() -> QApplication:
    from PySide6.QtWidgets import QApplication

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("ChainStudio")
    app.setOrganizationName("ChainStudio")
    app.setDesktopFileName("chainstudio")  # matches packaging/chainstudio.desktop (Wayland/X11 icon lookup)
    app.setWindowIcon(app_icon())
    apply_look(app)
    return app


def app_icon() -> QIcon:
    """The app icon from the pre-rendered PNG sizes (packaging/make_icons.py renders them from the SVG)."""
    from PySide6.QtGui import QIcon

    from chainstudio.paths import resources_dir

    icon = QIcon()
    for path in sorted((resources_dir() / "icons").glob("chainstudio-*.png")):
        icon.addFile(str(path))
    return icon


def forced_theme() -> str | None:
    """``CHAINSTUDIO_THEME=dark|light`` overrides the system's colour scheme."""
    forced = os.environ.get("CHAINSTUDIO_THEME", "").strip().lower()
    return forced if forced in ("dark", "light") else None


def apply_look(app: QApplication) -> None:
    """Fusion everywhere (the same widgets on every platform) with the system's palette, light or dark.

    ``CHAINSTUDIO_THEME`` forces one. Without a desktop (no platform theme) Qt reports no scheme and the
    palette is Fusion's light one. When the system says dark but its palette is light (some Linux desktops),
    our dark palette stands in."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QPalette

    app.setStyle("Fusion")
    forced = forced_theme()
    if forced == "dark":
        app.setPalette(dark_palette())
    elif forced == "light":
        app.setPalette(app.style().standardPalette())
    else:
        app.setPalette(QPalette())  # nothing overridden: the platform's palette
        system_dark = app.styleHints().colorScheme() == Qt.ColorScheme.Dark
        if system_dark and app.palette().color(QPalette.ColorRole.Window).lightness() >= 128:
            app.setPalette(dark_palette())
    from chainstudio.ui import theme

    theme.use_dark(app.palette().color(QPalette.ColorRole.Window).lightness() < 128)  # the canvas follows
    if not app.property("chainstudioFollowsScheme"):  # follow a live system switch (connected once)
        app.setProperty("chainstudioFollowsScheme", True)
        app.styleHints().colorSchemeChanged.connect(lambda _scheme: apply_look(app))


def dark_palette() -> QPalette:
    from PySide6.QtGui import QColor, QPalette

    group, role = QPalette.ColorGroup, QPalette.ColorRole
    palette = QPalette()
    colors = {
        role.Window: "#262a31",
        role.WindowText: "#e6e8eb",
        role.Base: "#1d2026",
        role.AlternateBase: "#2a2f37",
        role.ToolTipBase: "#30353e",
        role.ToolTipText: "#e6e8eb",
        role.PlaceholderText: "#8a929c",
        role.Text: "#e6e8eb",
        role.Button: "#30353e",
        role.ButtonText: "#e6e8eb",
        role.BrightText: "#ff6b6b",
        role.Light: "#454b55",
        role.Midlight: "#3a4049",
        role.Mid: "#2c3138",
        role.Dark: "#8a929c",
        role.Shadow: "#0c0e11",
        role.Highlight: "#3d7bd9",
        role.HighlightedText: "#ffffff",
        role.Link: "#7ab4ff",
        role.LinkVisited: "#b59cff",
    }
    for which, value in colors.items():
        palette.setColor(which, QColor(value))
    for which, value in {
        role.WindowText: "#7c838d",
        role.Text: "#7c838d",
        role.ButtonText: "#7c838d",
        role.Base: "#23272e",
        role.Button: "#2a2e35",
        role.Highlight: "#3a3f47",
    }.items():
        palette.setColor(group.Disabled, which, QColor(value))
    return palette


def _smoke_exit(app: QApplication, window: QWidget) -> None:
    """``CHAINSTUDIO_SMOKE_EXIT_MS=N``: quit N ms after the window shows (bundle smoke tests)."""
    delay = os.environ.get("CHAINSTUDIO_SMOKE_EXIT_MS")
    if not delay:
        return
    from PySide6.QtCore import QTimer

    def leave() -> None:
        print(f"smoke-exit: {window.windowTitle().replace('[*]', '')}", flush=True)
        app.quit()

    QTimer.singleShot(int(delay), leave)


def run_app(files: list[str]) -> int:
    """Open the main window on a qasync loop and block until the app quits. Where it cannot show a window
    (no display, an offscreen platform, missing system libraries) it says why in one line and returns 2."""
    from chainstudio.ui import preflight

    problem = preflight.check()
    if problem:
        print(problem, file=sys.stderr)
        return 2

    import qasync

    from chainstudio.core.collector import set_aside
    from chainstudio.ui.main_window import MainWindow
    from chainstudio.ui.services import AppServices

    app = create_application()

    stopped_by: list[int] = []

    async def main() -> None:
        closed = asyncio.Event()
        app.aboutToQuit.connect(closed.set)
        window = MainWindow(services=AppServices.create())  # the composition root: services built once
        set_aside()  # the start-up objects, frozen before the window shows (``core/collector.py``)
        app.aboutToQuit.connect(window.stop_background_work)  # while the loop still runs, not in its teardown
        window.show()
        window.start(files)  # the files given, else a restore offer after a crash, else the welcome graph
        _smoke_exit(app, window)
        _close_on_signals(window, app, stopped_by)
        await closed.wait()

    # qasync 0.28 on Python 3.11: asyncio.run(loop_factory=...) does not exist; use a Runner.
    with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
        runner.run(main())
    return 128 + stopped_by[0] if stopped_by else 0


def _close_on_signals(window: MainWindow, app: QApplication, stopped_by: list[int]) -> None:
    """Ctrl+C in the terminal (ignored before), SIGTERM and SIGHUP (they ended the process where it stood,
    with up to an autosave interval of edits lost): the window closes as ``close_for_signal`` says."""
    import signal

    def stop(signum: int) -> None:
        if stopped_by:  # a second signal: at once
            os._exit(128 + signum)
        stopped_by.append(signum)
        window.close_for_signal()
        app.quit()

    loop = asyncio.get_running_loop()
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is None:  # not on this platform
            continue
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # none here: defaults stand
            loop.add_signal_handler(signum, stop, int(signum))
