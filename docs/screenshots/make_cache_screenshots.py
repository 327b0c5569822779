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
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# the run screenshots' helpers; importing them also points the data and config folders at temporary ones
from make_run_screenshots import grab, hybrid_window, run_app

from chainstudio.core.editing.commands import SetParam
from chainstudio.ui.main_window import MainWindow
from tests.ui.canvas_helpers import card_point, right_click


async def finish(window: MainWindow) -> None:
    await asyncio.sleep(0.2)
    while window.runs.controller.running:
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.4)


async def main(app) -> None:
    window = await hybrid_window(20.0)
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
    grab(window, "partial-run", "cache")

    security = graph.resolve("security").id
    window.reuse.pin_from_run(graph.resolve("hardware").id)
    right_click(window, card_point(window, "security"))  # the canvas's card menu, as a user opens it
    await asyncio.sleep(0.4)
    grab(window, "card-menu", "cache")
    assert window.gestures.menu is not None
    window.gestures.menu.close()
    window.reuse.run_part("from", security)
    await finish(window)
    window.select_node(security)
    await asyncio.sleep(0.3)
    grab(window, "from-here", "cache")
    window.close()


if __name__ == "__main__":
    run_app(main)
