"""Screenshots of the biggest graph the file format allows opening in the real window (docs/screenshots/
canvas-big-graph-*.png), at its default size (1400x900) under Xvfb:

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_big_graph_screenshots.py

10,000 steps and 99,945 edges (``limits_bench.dense``), opened with File -> Open by real keys (xdotool:
Ctrl+O, the file's path typed into the dialog, Return): while the file is read on a worker thread (the status
bar says "Opening dense.chain.json…"), while its cards and edges are made a slice at a time (the progress
over the canvas, the window responding), then drawn whole far out, then zoomed in to 100 % with a card and an
edge selected by clicks, then at 120 % (3,700 edges in view, copied from an image drawn in the background)
with a card dragged down by the mouse (its edges follow at once).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent / "benchmarks"))

from limits_bench import dense
from make_run_screenshots import grab, new_window, run_app
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from chainstudio.core.graph.model import Graph
from chainstudio.ui.canvas.edge_item import EdgeItem

SIZE = (1400, 900)


async def big_window(by_keys: bool = False):
    """The window at its default size, opening the biggest graph (also make_big_run_screenshots.py); ``by_keys``:
    with File -> Open by real keys, a screenshot while the file is read on a worker thread."""
    window = new_window()
    window.setGeometry(0, 0, *SIZE)
    await asyncio.sleep(0.3)
    path = dense(Path(tempfile.mkdtemp()) / "dense.chain.json")
    if not by_keys:
        window.open_path(path)
    elif os.environ.get("DISPLAY"):  # real keys: File -> Open, the path typed, Return
        window.activateWindow()
        await xdotool("mousemove", "700", "500", "click", "1")  # (no window manager: a click gives the focus)
        await asyncio.sleep(0.3)
        await xdotool("key", "--clearmodifiers", "ctrl+o")
        while window.files.dialog is None:
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        await xdotool("type", "--delay", "2", str(path))
        await xdotool("key", "Return")
    else:
        window.files.open_dialog(path.parent)
        window.files.dialog.selectFile(str(path))
        window.files.dialog.accept()
    while window.files.loader.loading is None and not window.document.graph.nodes:
        await asyncio.sleep(0.02)
    if by_keys:
        grab(window, "big-graph-reading", "canvas", SIZE)  # read on a worker: the window turns, says so
        print("status while reading:", window.statusBar().currentMessage())
    while window.files.loader.loading is not None:
        await asyncio.sleep(0.05)
    return window


async def main(app) -> None:
    window = await big_window(by_keys=True)
    scene, view = window.scene, window.view
    while scene.building and (view._building is None or view._building[0] < view._building[1] // 3):
        await asyncio.sleep(0.2)
    grab(window, "big-graph-opening", "canvas", SIZE)
    while scene.building or scene.overview._edge_image.drawing:
        await asyncio.sleep(0.3)
    await asyncio.sleep(3.0)  # the problems' badges, the estimate
    grab(window, "big-graph-overview", "canvas", SIZE)
    graph = window.document.graph
    card = scene.nodes[graph.resolve("s4750").id]
    view.zoom_by(1.0 / view.zoom())
    view.centerOn(card.sceneBoundingRect().center())
    await asyncio.sleep(1.5)
    viewport = view.viewport()
    QTest.mouseClick(
        viewport,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
        view.mapFromScene(card.sceneBoundingRect().center()),
    )
    await asyncio.sleep(0.5)
    grab(window, "big-graph-card", "canvas", SIZE)
    edge, on = next(  # a point on one of the card's edges where an edge is the topmost item (not under a card)
        (top, p)
        for e in sorted(scene._by_node[card.node_id])
        for p in (scene.edges[e].path().pointAtPercent(t / 40) for t in range(2, 39))
        for top in scene.items(p)[:1]
        if isinstance(top, EdgeItem)
    )
    view.centerOn(on + QPointF(0, 40))
    await asyncio.sleep(0.5)
    QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, view.mapFromScene(on))
    await asyncio.sleep(0.5)
    print("selected edges:", scene.selected_edge_ids(), "clicked:", edge.edge_id)
    grab(window, "big-graph-edge", "canvas", SIZE)
    view.zoom_by(1.2 / view.zoom())
    view.centerOn(card.sceneBoundingRect().center())
    while scene.zooming or scene.edge_layer._image.drawing:
        await asyncio.sleep(0.3)
    await asyncio.sleep(0.5)
    start = view.mapFromScene(card.sceneBoundingRect().center())
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for step in range(1, 7):
        QTest.mouseMove(viewport, start + QPoint(0, 20 * step))
        await asyncio.sleep(0.05)
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start + QPoint(0, 120))
    await asyncio.sleep(0.3)
    grab(window, "big-graph-dragged", "canvas", SIZE)  # at once: the card's edges drawn live over the image
    window.document.replace(Graph())  # leave without the unsaved-changes prompt
    window.close()


async def xdotool(*args: str) -> None:
    process = await asyncio.create_subprocess_exec("xdotool", *args)
    await process.wait()


if __name__ == "__main__":
    run_app(main)
