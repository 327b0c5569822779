"""Screenshots of the biggest graph the file format allows running in the real window (docs/screenshots/
run-big-graph-*.png), at its default size (1400x900) under Xvfb:

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_big_run_screenshots.py

10,000 steps and 99,945 edges (``limits_bench.dense``), opened, then run on the simulated provider sped up
100x (F5's run, made on a worker thread): before it, the estimate's badges on the cards at 100 % (set a part
at a time when the estimate arrives from its child process); the Gantt and the canvas mid-run (the header's
critical path left to the end), then once the run was stopped.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_big_graph_screenshots import SIZE, big_window, grab, run_app

from chainstudio.core.graph.model import Graph
from chainstudio.core.launch import RunOptions


async def main(app) -> None:
    window = await big_window()
    scene = window.scene
    while scene.building or scene.overview._edge_image.drawing:
        await asyncio.sleep(0.3)
    await asyncio.sleep(3.0)  # the problems' badges, the estimate
    while window.estimate.label.estimate is None or window.estimate.badges.active:
        await asyncio.sleep(0.3)
    view = window.view
    card = scene.nodes[window.document.graph.resolve("s4750").id]
    view.zoom_by(1.0 / view.zoom())
    view.centerOn(card.sceneBoundingRect().center())
    while scene.zooming or scene.edge_layer._image.drawing:
        await asyncio.sleep(0.3)
    await asyncio.sleep(1.0)
    grab(window, "big-graph-estimate", "run", SIZE)
    print("estimate:", window.estimate.label.text(), "| a card:", card.run_badge.text if card.run_badge else None)
    view.fit()
    while scene.zooming or scene.overview._edge_image.drawing:
        await asyncio.sleep(0.3)
    await asyncio.sleep(1.0)
    window.runs.request_run(RunOptions(speed=100.0))
    state = None
    while state is None or sum(1 for s in state.spans.values() if s.done) < 1500:
        await asyncio.sleep(0.5)
        state = window.runs.state
    grab(window, "big-graph-running", "run", SIZE)
    window.runs.stop_action.trigger()
    while window.runs.controller.running or window.runs.overlay.active:
        await asyncio.sleep(0.3)
    await asyncio.sleep(1.0)
    grab(window, "big-graph-stopped", "run", SIZE)
    window.document.replace(Graph())
    window.close()


if __name__ == "__main__":
    run_app(main)
