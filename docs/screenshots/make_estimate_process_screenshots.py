"""Screenshots of a big graph's live estimate, computed in a child process, in the real window at its default
size (1400x900) under Xvfb (docs/screenshots/estimate-*.png):

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_estimate_process_screenshots.py

The 10,000-step graph (``limits_bench.dense``) once its estimate has come from the child (the toolbar's
``≈ …`` label, the cards' badges zoomed in), then after an edit whose estimate's child is killed: the label
says so in one line.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent / "benchmarks"))

from limits_bench import dense
from make_run_screenshots import grab, new_window, run_app

from chainstudio.core.editing.commands import SetParam
from chainstudio.core.graph.model import Graph

SIZE = (1400, 900)


async def main(app) -> None:
    window = new_window()
    window.setGeometry(0, 0, *SIZE)
    await asyncio.sleep(0.3)
    window.open_path(dense(Path(tempfile.mkdtemp()) / "dense.chain.json"))
    scene, view, estimate = window.scene, window.view, window.estimate
    while estimate.label.estimate is None:
        await asyncio.sleep(0.3)
    card = scene.nodes[window.document.graph.resolve("s4750").id]
    view.zoom_by(1.0 / view.zoom())
    view.centerOn(card.sceneBoundingRect().center())
    await asyncio.sleep(2.0)
    print("estimate:", estimate.label.text(), "child peak:", estimate.child_peak_mb)
    grab(window, "big-graph-child", "estimate", SIZE)
    window.controller.execute(SetParam(card.node_id, "max_tokens", 300))  # estimated again, in a new child
    while estimate._process is None or estimate._process._child is None:
        await asyncio.sleep(0.1)
    os.kill(estimate._process._child.pid, signal.SIGKILL)  # as if the system had killed it
    while not estimate.label.text().startswith("≈ ⚠"):
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    print("killed:", estimate.label.text())
    grab(window, "big-graph-child-killed", "estimate", SIZE)
    window.document.replace(Graph())  # leave without the unsaved-changes prompt
    window.close()


if __name__ == "__main__":
    run_app(main)
