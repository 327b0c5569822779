"""Regenerate the step-cache screenshots (docs/screenshots/cache-*.png) in a real 1600x1000 window.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_cache_screenshots.py

The real app on its qasync loop, the simulated provider (sped up 20x), the step cache on (the window's
default): run research-hybrid once, edit ``software``'s prompt and run again: the partially cached run
(``cache-partial-run.png``: three cards and bars replayed from the cache, three called). Then the card menu
of ``security`` (``cache-card-menu.png``), a pin on ``hardware`` and "Run From Here" on ``security``
(``cache-from-here.png``: pinned, cached, called and not-run steps side by side).
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

from chainstudio.core.editing.commands import SetParam  # noqa: E402
from chainstudio.paths import examples_dir  # noqa: E402
from chainstudio.ui.app import create_application  # noqa: E402
from chainstudio.ui.main_window import MainWindow  # noqa: E402
from tests.ui.canvas_helpers import card_point, right_click  # noqa: E402

SIZE = (1600, 1000)


def grab(window: MainWindow, name: str) -> None:
    pixmap = window.screen().grabWindow(0, 0, 0, *SIZE) if os.environ.get("DISPLAY") else window.grab()
    pixmap.save(str(OUT / f"cache-{name}.png"))
    print("wrote", OUT / f"cache-{name}.png")


async def finish(window: MainWindow) -> None:
    await asyncio.sleep(0.2)
    while window.runs.controller.running:
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.4)


async def main(app) -> None:
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "ui.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings)
    window.setGeometry(0, 0, *SIZE)
    window.show()
    await asyncio.sleep(0.3)
    window.open_path(examples_dir() / "research-hybrid.chain.json")
    window.view.fit()
    await asyncio.sleep(0.3)
    toolbar = window.runs.toolbar
    toolbar.speed.setCurrentIndex(toolbar.speed.findData(20.0))
    assert window.reuse.cache_action.isChecked()
    window.runs.request_run()
    await finish(window)
    graph = window.document.graph
    software = graph.resolve("software")
    window.document.execute(SetParam(software.id, "prompt", software.params["prompt"] + "\n\nName one open problem."))
    window.runs.request_run()
    await finish(window)
    window.select_node(graph.resolve("academic").id)
    await asyncio.sleep(0.3)
    grab(window, "partial-run")

    security = graph.resolve("security").id
    window.reuse.pin_from_run(graph.resolve("hardware").id)
    right_click(window, card_point(window, "security"))  # the canvas's card menu, as a user opens it
    await asyncio.sleep(0.4)
    grab(window, "card-menu")
    assert window.gestures.menu is not None
    window.gestures.menu.close()
    window.reuse.run_part("from", security)
    await finish(window)
    window.select_node(security)
    await asyncio.sleep(0.3)
    grab(window, "from-here")
    window.close()


if __name__ == "__main__":
    application = create_application()
    with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(application)) as runner:
        runner.run(main(application))
