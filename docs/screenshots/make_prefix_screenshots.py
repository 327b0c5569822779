"""Regenerate the prompt-caching screenshots (docs/screenshots/prefix-*.png) in a real 1600x1000 window.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_prefix_screenshots.py

The real app on its qasync loop with tests/data/shared-context.chain.json (one 779-token document read by
four branches, each prompt starting with its own task). The Advisor's prompt-caching advice
(``prefix-advisor.png``); its Apply clicked, which puts the document first in the four prompts (one undoable
edit), and the Advisor's next advice, to warm the prefix (``prefix-applied.png``); then Warm prefix turned
on in the run toolbar and a run on the simulator (sped up 5x): three branches wait for the first one's
first token (``prefix-warm-run.png``).
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# the run screenshots' helpers; importing them also points the data and config folders at temporary ones
from make_run_screenshots import grab, new_window, run_app
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from chainstudio.ui.main_window import MainWindow

SHARED = Path(__file__).resolve().parents[2] / "tests" / "data" / "shared-context.chain.json"


async def advice(window: MainWindow, kind: str) -> None:
    panel = window.advisor.panel
    for _ in range(200):
        await asyncio.sleep(0.1)
        if panel.report is not None and any(card.advice.kind == kind for card in panel.cards):
            await asyncio.sleep(0.3)
            return
    raise RuntimeError(f"no {kind} advice came")


async def main(app) -> None:
    graph_file = Path(tempfile.mkdtemp()) / "shared-context.chain.json"
    shutil.copy(SHARED, graph_file)
    window = new_window()
    await asyncio.sleep(0.3)
    window.open_path(graph_file)
    window.view.fit()
    window.advisor.action.trigger()
    await advice(window, "prefix_reorder")
    grab(window, "advisor", "prefix")

    card = next(c for c in window.advisor.panel.cards if c.advice.kind == "prefix_reorder")
    QTest.mouseClick(card.apply_button, Qt.MouseButton.LeftButton)
    window.advisor.refresh()
    await advice(window, "warm_prefix")
    window.select_node(window.document.graph.resolve("summary").id)
    window.advisor.show()
    await asyncio.sleep(0.4)
    grab(window, "applied", "prefix")

    toolbar = window.runs.toolbar
    toolbar.speed.setCurrentIndex(toolbar.speed.findData(5.0))
    QTest.mouseClick(toolbar.warm_prefix, Qt.MouseButton.LeftButton)
    assert toolbar.options().warm_prefix
    window.runs.request_run()
    await asyncio.sleep(0.2)
    while window.runs.controller.running:
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    grab(window, "warm-run", "prefix")
    window.close()


if __name__ == "__main__":
    run_app(main)
