"""Regenerate the README's live-run screenshots (docs/screenshots/run-*.png) in a real 1600x1000 window.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_run_screenshots.py

The real app on its qasync loop: open research-hybrid, press Run (the simulated provider, sped up 5x so a
shot mid-run catches the three parallel angles growing; chosen in the toolbar, as a person would), grab the
window mid-run and when finished; then the same graph run sequentially (the staircase).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
for var in ("CHAINSTUDIO_CONFIG_DIR", "CHAINSTUDIO_DATA_DIR"):
    os.environ.setdefault(var, tempfile.mkdtemp(prefix="screenshots-"))

import qasync  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402

from chainstudio.paths import examples_dir  # noqa: E402
from chainstudio.ui.app import create_application  # noqa: E402
from chainstudio.ui.main_window import MainWindow  # noqa: E402

SIZE = (1600, 1000)


def grab(window: MainWindow, name: str, prefix: str = "run", size: tuple[int, int] = SIZE) -> None:
    pixmap = window.screen().grabWindow(0, 0, 0, *size) if os.environ.get("DISPLAY") else window.grab()
    pixmap.save(str(OUT / f"{prefix}-{name}.png"))
    print("wrote", OUT / f"{prefix}-{name}.png")


async def run_to_end(window: MainWindow, settle: float = 0.4) -> None:
    """Press Run (as the toolbar does) and wait until the run has ended and the window has drawn it."""
    window.runs.request_run()
    await asyncio.sleep(0.3)
    while window.runs.controller.running:
        await asyncio.sleep(0.1)
    await asyncio.sleep(settle)


def new_window() -> MainWindow:
    """The real window at the screenshots' size, with its own throwaway ui.ini, shown."""
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "ui.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings)
    window.setGeometry(0, 0, *SIZE)
    window.show()
    return window


def run_app(main) -> None:
    application = create_application()
    with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(application)) as runner:
        runner.run(main(application))


async def hybrid_window(speed: float) -> MainWindow:
    """A new window showing research-hybrid, fitted, with the simulator at ``speed``."""
    window = new_window()
    await asyncio.sleep(0.3)
    window.open_path(examples_dir() / "research-hybrid.chain.json")
    window.view.fit()
    await asyncio.sleep(0.3)
    toolbar = window.runs.toolbar
    toolbar.speed.setCurrentIndex(toolbar.speed.findData(speed))
    return window


async def main(app) -> None:
    window = await hybrid_window(5.0)
    toolbar = window.runs.toolbar
    window.runs.request_run()
    await asyncio.sleep(0.4)
    window.select_node(window.document.graph.resolve("hardware").id)
    await asyncio.sleep(0.25)
    grab(window, "hybrid-running")
    while window.runs.controller.running:
        await asyncio.sleep(0.1)
    window.select_node(window.document.graph.resolve("security").id)
    await asyncio.sleep(0.3)
    grab(window, "hybrid-finished")
    toolbar.set_options(strategy="sequential")
    toolbar.speed.setCurrentIndex(toolbar.speed.findData(20.0))
    window.runs.request_run()
    while window.runs.controller.running:
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.3)
    grab(window, "hybrid-sequential")
    window.close()


if __name__ == "__main__":
    run_app(main)
