"""Screenshots of what the window's memory work must not change (docs/screenshots/memory-*.png), at the
default size (1400x900) under Xvfb:

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_memory_screenshots.py

A card draws its own ports until the pointer comes near one (then the port's item is made: it takes hover and
the mouse), the window keeps a big graph's ordering-only warnings compactly and drops the tokenizer's tables
while a child process estimates the graph. Shown: the welcome graph at its opening zoom and at 100 % with
the real pointer (xdotool) over an output port (filled: hovered), then the 10,000-step graph
(``limits_bench.dense``) at its opening zoom and at 100 %, a card selected (the inspector lists its
ordering-only warnings) and the pointer over its port.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_big_graph_screenshots import big_window, xdotool
from make_run_screenshots import grab, new_window, run_app
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from chainstudio.core import tokens
from chainstudio.core.graph.model import Graph

SIZE = (1400, 900)


async def point_at_port(window, card, side: str = "out") -> None:
    """Move the real pointer (or, without a display, Qt's) over ``card``'s port."""
    view = window.view
    at = view.viewport().mapTo(window, view.mapFromScene(card.port_scene_pos(side)))
    where = window.mapToGlobal(at)
    if os.environ.get("DISPLAY"):
        for dx in (-30, -10, 0):  # arrive from the card's side: moves near the port, then over it
            await xdotool("mousemove", str(where.x() + dx), str(where.y()))
            await asyncio.sleep(0.2)
    else:
        QTest.mouseMove(view.viewport(), view.mapFromScene(card.port_scene_pos(side)))
    await asyncio.sleep(0.4)


async def main(app) -> None:
    window = new_window()
    window.setGeometry(0, 0, *SIZE)
    window.start([])  # as a first launch: the welcome graph, at the zoom it opens with
    await asyncio.sleep(2.5)
    grab(window, "welcome-opening", "memory", SIZE)
    scene, view = window.scene, window.view
    card = scene.nodes[window.document.graph.resolve("hardware").id]
    view.zoom_by(1.0 / view.zoom())
    view.centerOn(card.box().center())
    await asyncio.sleep(0.5)
    await point_at_port(window, card)
    print("welcome: ports made", [p.side for p in card.made_ports()], "of", card.name)
    grab(window, "welcome-port", "memory", SIZE)
    window.document.replace(Graph())
    window.close()

    window = await big_window()
    scene, view = window.scene, window.view
    while scene.building or scene.overview._edge_image.drawing or window.estimate.label.text().startswith("≈ …"):
        await asyncio.sleep(0.3)
    await asyncio.sleep(2.0)
    print("big graph: tokenizer loaded in the window:", tokens.tokenizer_loaded())
    print("big graph: status:", window.statusBar().currentMessage())
    grab(window, "big-graph-opening", "memory", SIZE)
    card = scene.nodes[window.document.graph.resolve("s4750").id]
    view.zoom_by(1.0 / view.zoom())
    view.centerOn(card.box().center())
    while scene.zooming or scene.edge_layer._image.drawing:
        await asyncio.sleep(0.3)
    await asyncio.sleep(0.5)
    QTest.mouseClick(  # selected: the inspector lists its warnings (made from the compact list when shown)
        view.viewport(),
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
        view.mapFromScene(card.box().center()),
    )
    await asyncio.sleep(1.0)
    while scene.edge_layer._image.drawing:
        await asyncio.sleep(0.3)
    await point_at_port(window, card)
    await asyncio.sleep(1.0)
    made = sum(1 for item in scene.nodes.values() if item.made_ports())
    print("big graph: cards with port items made:", made, "of", len(scene.nodes))
    grab(window, "big-graph-cards", "memory", SIZE)
    window.document.replace(Graph())  # leave without the unsaved-changes prompt
    window.close()


if __name__ == "__main__":
    run_app(main)
