"""Screenshots of map and route steps (docs/screenshots/flow-*.png) in the real window at its default size.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_flow_screenshots.py

On the simulated provider: intent-router runs, its router takes one desk and the other desks are *not
taken* (canvas badges, Gantt chips); entity-map runs, and a click on the map's row in the Gantt (QTest,
on the real widget) opens it to a row per item; the map step is selected to show its inspector.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
for var in ("CHAINSTUDIO_CONFIG_DIR", "CHAINSTUDIO_DATA_DIR"):
    os.environ.setdefault(var, tempfile.mkdtemp(prefix="screenshots-"))

from PySide6.QtCore import QPoint, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from chainstudio.paths import examples_dir  # noqa: E402
from docs.screenshots.make_run_screenshots import grab, new_window, run_app, run_to_end  # noqa: E402

SIZE = (1400, 900)  # the window's default size
OUT = Path(__file__).resolve().parent


async def main(app) -> None:
    window = new_window()
    window.setGeometry(0, 0, *SIZE)
    await asyncio.sleep(0.3)
    toolbar = window.runs.toolbar
    toolbar.speed.setCurrentIndex(toolbar.speed.findData(5.0))
    window.open_path(examples_dir() / "intent-router.chain.json")
    window.view.fit()
    await run_to_end(window)
    window.select_node(window.document.graph.resolve("triage").id)
    await asyncio.sleep(0.3)
    grab(window, "router-not-taken", "flow", SIZE)

    window.open_path(examples_dir() / "entity-map.chain.json")
    window.view.fit()
    await run_to_end(window)
    gantt = window.gantt_dock.widget().view
    map_id = window.document.graph.resolve("describe").id
    row = gantt.layout_.node_row(map_id)
    point = QPoint(60, int(row.center + gantt.metrics.axis_height - gantt.verticalScrollBar().value()))
    QTest.mouseClick(gantt.viewport(), Qt.MouseButton.LeftButton, pos=point)
    await asyncio.sleep(0.3)
    assert (0, map_id) in gantt.expanded, "the click did not open the map's row"
    window.select_node(map_id)
    await asyncio.sleep(0.3)
    grab(window, "map-expanded", "flow", SIZE)
    app.quit()


if __name__ == "__main__":
    run_app(main)
