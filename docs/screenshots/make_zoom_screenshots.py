"""Zooming into and out of the overview with real wheel events (xdotool), in the real window at its default size
(1400x900) under Xvfb (docs/screenshots/canvas-zoom-*.png):

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_zoom_screenshots.py

The biggest graph (``limits_bench.dense``: 10,000 steps, 99,945 edges) opened and fitted (the overview,
``canvas-zoom-big-fitted``), wheeled in to 45 % (the overview with its layer bands, ``canvas-zoom-big-45``) and
panned there with the middle button, wheeled in past the overview (60 %, ``canvas-zoom-big-in``) and panned
again, a card dragged down by the mouse there, then wheeled out into the overview again: the card's block and
its edges are where it was dropped (``canvas-zoom-big-moved``, the card selected), in again and to 100 %
(``canvas-zoom-big-100``). Then a shipped example, wheeled out into the overview and back
(``canvas-zoom-hybrid-out``, ``canvas-zoom-hybrid-in``). For each wheel gesture and pan it prints the longest
the window's thread went without a turn of its event loop (a 0 ms heartbeat timer's longest gap, wall time) and
the most CPU time the thread spent in one such gap. ``SCREENSHOTS_OUT`` writes the pictures elsewhere (a
before/after comparison).
"""

from __future__ import annotations

import asyncio
import math
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent / "benchmarks"))

import make_run_screenshots
from limits_bench import dense
from make_run_screenshots import grab, new_window, run_app
from PySide6.QtCore import QTimer

from chainstudio.core.graph.model import Graph
from chainstudio.paths import examples_dir

SIZE = (1400, 900)
WHEEL_STEP = 1.15  # the view's zoom per wheel notch (view.py)
if os.environ.get("SCREENSHOTS_OUT"):
    make_run_screenshots.OUT = Path(os.environ["SCREENSHOTS_OUT"])


class Heartbeat:
    """The window thread's longest gap between two turns of its event loop, and its most CPU time in one."""

    def __init__(self) -> None:
        self._timer = QTimer()
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._beat)
        self.reset()
        self._timer.start()

    def reset(self) -> None:
        self.last, self.last_cpu = time.perf_counter(), time.thread_time()
        self.longest = self.most_cpu = 0.0

    def _beat(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        self.longest = max(self.longest, now - self.last)
        self.most_cpu = max(self.most_cpu, cpu - self.last_cpu)
        self.last, self.last_cpu = now, cpu

    def report(self, what: str) -> None:
        cpu = self.most_cpu * 1000
        print(f"{what}: longest slice {self.longest * 1000:.0f} ms, most window-thread CPU in one {cpu:.0f} ms")


async def xdotool(*args: str) -> None:
    process = await asyncio.create_subprocess_exec("xdotool", *args)
    await process.wait()


async def wheel(window, zoom: float, beat: Heartbeat, what: str) -> None:
    """Wheel notches over the canvas's centre until the view is at about ``zoom``, then let it settle."""
    view = window.view
    centre = view.viewport().mapToGlobal(view.viewport().rect().center())
    await xdotool("mousemove", str(centre.x()), str(centre.y()))
    await asyncio.sleep(0.3)
    beat.reset()
    sent = 0
    while notches := round(math.log(zoom / view.zoom()) / math.log(WHEEL_STEP)):
        button = "4" if notches > 0 else "5"  # 4: up (in), 5: down (out)
        await xdotool("click", "--repeat", str(min(abs(notches), 4)), "--delay", "60", button)
        sent += min(abs(notches), 4)
        await asyncio.sleep(0.1)
    await settle(window)
    beat.report(f"{what} ({sent} notches to {view.zoom():.0%})")


async def pan(window, beat: Heartbeat, what: str) -> None:
    """A middle-button drag over the canvas: 240 px left and 120 px up, in 8 moves, then let it settle."""
    view = window.view
    start = view.viewport().mapToGlobal(view.viewport().rect().center())
    await xdotool("mousemove", str(start.x()), str(start.y()))
    await asyncio.sleep(0.3)
    beat.reset()
    await xdotool("mousedown", "2")
    for step in range(1, 9):
        await xdotool("mousemove", str(start.x() - 30 * step), str(start.y() - 15 * step))
        await asyncio.sleep(0.05)
    await xdotool("mouseup", "2")
    await settle(window)
    beat.report(f"{what} (at {view.zoom():.0%})")


async def settle(window) -> None:
    scene = window.scene
    await asyncio.sleep(0.5)
    while scene.zooming or scene.overview._edge_image.drawing or scene.edge_layer._image.drawing:
        await asyncio.sleep(0.2)
    await asyncio.sleep(0.5)


async def main(app) -> None:
    beat = Heartbeat()
    window = new_window()
    window.setGeometry(0, 0, *SIZE)
    await asyncio.sleep(0.3)
    window.open_path(dense(Path(tempfile.mkdtemp()) / "dense.chain.json"))
    scene, view = window.scene, window.view
    while window.files.loader.loading is not None or scene.building or scene.overview._edge_image.drawing:
        await asyncio.sleep(0.3)
    await asyncio.sleep(3.0)  # the problems' badges, the estimate
    print(f"opened: {len(scene.nodes):,} cards, {len(scene.edges):,} edges, zoom {view.zoom():.1%}")
    grab(window, "zoom-big-fitted", "canvas", SIZE)
    await wheel(window, 0.45, beat, "big graph, wheeled in to the overview's layer bands")
    grab(window, "zoom-big-45", "canvas", SIZE)
    await pan(window, beat, "big graph, panned there with the middle button")
    await wheel(window, 0.6, beat, "big graph, wheeled in past the overview")
    assert not scene.overview.active
    grab(window, "zoom-big-in", "canvas", SIZE)
    await pan(window, beat, "big graph, panned there with the middle button")
    centre = view.centre_scene_pos()  # the card nearest the view's centre, dragged 150 px down
    card = min(scene.nodes.values(), key=lambda c: (c.sceneBoundingRect().center() - centre).manhattanLength())
    before = window.document.graph.nodes[card.node_id].position
    start = view.viewport().mapToGlobal(view.mapFromScene(card.sceneBoundingRect().center()))
    await xdotool("mousemove", str(start.x()), str(start.y()), "mousedown", "1")
    for step in range(1, 7):
        await xdotool("mousemove", str(start.x()), str(start.y() + 25 * step))
        await asyncio.sleep(0.05)
    await xdotool("mouseup", "1")
    await asyncio.sleep(0.5)
    after = window.document.graph.nodes[card.node_id].position
    print(f"dragged {card.name}: {before} -> {after}, selected: {scene.selected_node_ids() == [card.node_id]}")
    await asyncio.sleep(2.0)  # the pass after the move, the problem check and the estimate of the new revision
    beat.reset()
    window.autosave.autosave()  # now, rather than by its timer during the next gesture (the whole file)
    await asyncio.sleep(0.2)
    beat.report("the autosave after the drag")
    await wheel(window, 0.2, beat, "big graph, wheeled out into the overview")
    assert scene.overview.active
    view.centerOn(card.sceneBoundingRect().center())
    await settle(window)
    grab(window, "zoom-big-moved", "canvas", SIZE)
    await wheel(window, 0.6, beat, "big graph, wheeled in again")
    await wheel(window, 1.0, beat, "big graph, wheeled in to 100 %")
    grab(window, "zoom-big-100", "canvas", SIZE)
    await wheel(window, 0.2, beat, "big graph, wheeled out again")
    window.document.replace(Graph())  # leave without the unsaved-changes prompt
    window.open_path(examples_dir() / "research-hybrid.chain.json")
    view.fit()
    await settle(window)
    await wheel(window, 0.25, beat, "research-hybrid, wheeled out into the overview")
    assert scene.overview.active
    grab(window, "zoom-hybrid-out", "canvas", SIZE)
    await wheel(window, 1.0, beat, "research-hybrid, wheeled in again")
    grab(window, "zoom-hybrid-in", "canvas", SIZE)
    window.document.replace(Graph())
    window.close()


if __name__ == "__main__":
    run_app(main)
