"""Screenshots of the graph's problems in the real window at its default size (1400x900) under Xvfb
(docs/screenshots/problems-*.png):

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_problem_check_screenshots.py

An example with a broken prompt (a small graph: checked at once, the status bar counts its problems), then
the 10,000-step graph (``limits_bench.dense``) with a broken prompt: while a worker checks it after an edit
(the status bar and the Inspector say "checking…", the badge of the revision before is dimmed), and after.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent / "benchmarks"))

from limits_bench import dense
from make_run_screenshots import grab, new_window, run_app
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from chainstudio.core.editing.commands import Rename, SetParam
from chainstudio.core.graph.model import Graph
from chainstudio.paths import examples_dir

SIZE = (1400, 900)


def click(view, item) -> None:
    point = view.mapFromScene(item.sceneBoundingRect().center())
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)


async def main(app) -> None:
    window = new_window()
    window.setGeometry(0, 0, *SIZE)
    await asyncio.sleep(0.3)
    # a small graph: checked where it is asked, no "checking…" state
    window.open_path(examples_dir() / "research-hybrid.chain.json")
    security = window.document.graph.resolve("security")
    window.controller.execute(SetParam(security.id, "prompt", "Review {{ hardwear }} for risks."))
    await asyncio.sleep(0.6)
    click(window.view, window.scene.nodes[security.id])
    await asyncio.sleep(0.6)
    print("small graph:", window.summary.text())
    grab(window, "small-graph", "problems", SIZE)

    # the biggest graph: a worker checks it
    window.document.replace(Graph())
    window.open_path(dense(Path(tempfile.mkdtemp()) / "dense.chain.json"))
    scene, view = window.scene, window.view
    while scene.building or scene.overview._edge_image.drawing or not window.document.problems_known:
        await asyncio.sleep(0.3)
    card = scene.nodes[window.document.graph.resolve("s4750").id]
    view.zoom_by(1.0 / view.zoom())
    view.centerOn(card.sceneBoundingRect().center())
    await asyncio.sleep(1.5)
    click(view, card)
    window.controller.execute(SetParam(card.node_id, "prompt", "{{ nowhere }}"))  # an error: checked on a worker
    while not window.document.problems_known:
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)
    print("big graph, checked:", window.summary.text())
    grab(window, "big-graph-checked", "problems", SIZE)
    window.controller.execute(Rename(card.node_id, "s4750_renamed"))  # another edit: checked again
    await asyncio.sleep(0.4)  # the badges follow 150 ms after an edit: dimmed while the check runs
    print("big graph, checking:", window.summary.text(), "known:", window.document.problems_known)
    grab(window, "big-graph-checking", "problems", SIZE)
    window.document.replace(Graph())  # leave without the unsaved-changes prompt
    window.close()


if __name__ == "__main__":
    run_app(main)
