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

``--pans`` takes no pictures: it measures panning and zooming the biggest graph at 30-120 % with real input
(xdotool), each slice's window-thread CPU, and the window's activation (another window of the app made active,
then this one again). ``--root DIR`` measures the chainstudio of another checkout (a before):

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_zoom_screenshots.py --pans
"""

from __future__ import annotations

import asyncio
import math
import os
import sys
import tempfile
import time
from pathlib import Path

if "--root" in sys.argv:  # another checkout's chainstudio, bound before make_run_screenshots puts this one first
    sys.path.insert(0, str(Path(sys.argv[sys.argv.index("--root") + 1]).resolve()))
    import chainstudio  # noqa: F401
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent / "benchmarks"))

import make_run_screenshots
from limits_bench import dense
from make_run_screenshots import grab, new_window, run_app
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget

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
        self.over_50 = 0  # slices of more than 50 ms of the thread's CPU

    def _beat(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        self.longest = max(self.longest, now - self.last)
        self.most_cpu = max(self.most_cpu, cpu - self.last_cpu)
        self.over_50 += cpu - self.last_cpu > 0.05
        self.last, self.last_cpu = now, cpu

    def report(self, what: str) -> None:
        cpu = self.most_cpu * 1000
        print(
            f"{what}: longest slice {self.longest * 1000:.0f} ms, most window-thread CPU in one {cpu:.0f} ms"
            f" ({self.over_50} over 50 ms)",
            flush=True,
        )


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


async def pan(window, beat: Heartbeat, what: str, space: bool = False) -> None:
    """A middle-button drag over the canvas (``space``: Space+drag): 240 px left and 120 px up, in 8 moves, then
    let it settle."""
    view = window.view
    start = view.viewport().mapToGlobal(view.viewport().rect().center())
    await xdotool("mousemove", str(start.x()), str(start.y()))
    await asyncio.sleep(0.3)
    beat.reset()
    await xdotool(*(("keydown", "space", "mousedown", "1") if space else ("mousedown", "2")))
    for step in range(1, 9):
        await xdotool("mousemove", str(start.x() - 30 * step), str(start.y() - 15 * step))
        await asyncio.sleep(0.05)
    await xdotool(*(("mouseup", "1", "keyup", "space") if space else ("mouseup", "2")))
    await settle(window)
    beat.report(f"{what} (at {view.zoom():.0%})")


async def away_and_back(window, beat: Heartbeat) -> None:
    """Another window of the app made active, then this one again, as Alt+Tab or a dialog would."""
    other = QWidget()
    other.setGeometry(1450, 50, 100, 100)
    other.show()
    await asyncio.sleep(0.5)
    beat.reset()
    other.activateWindow()
    await asyncio.sleep(0.5)
    window.activateWindow()
    await asyncio.sleep(0.5)
    print(f"(the window active again: {window.isActiveWindow()})")
    beat.report("another window made active, then this one again")
    other.close()


async def settle(window) -> None:
    scene = window.scene
    await asyncio.sleep(0.5)
    while scene.zooming or scene.overview._edge_image.drawing or scene.edge_layer._image.drawing:
        await asyncio.sleep(0.2)
    await asyncio.sleep(0.5)


async def open_dense():
    """The real window at its default size with the biggest graph opened, at the zoom it opens with."""
    window = new_window()
    window.setGeometry(0, 0, *SIZE)
    await asyncio.sleep(0.3)
    window.open_path(dense(Path(tempfile.mkdtemp()) / "dense.chain.json"))
    scene, view = window.scene, window.view
    checker, document = window.controller.checker, window.document

    def opening() -> bool:  # the items, the pass after them (the overview's looks), its image, the badges
        timers = scene._pending.isActive() or scene._problems_timer.isActive() or scene._pass.active
        badges = checker.busy or not document.problems_known
        return window.files.loader.loading is not None or scene.building or timers or badges

    while opening() or scene.overview._edge_image.drawing:
        await asyncio.sleep(0.3)
    await asyncio.sleep(3.0)  # the estimate
    while opening() or scene.overview._edge_image.drawing:  # (again, should anything have followed)
        await asyncio.sleep(0.3)
    print(f"opened: {len(scene.nodes):,} cards, {len(scene.edges):,} edges, zoom {view.zoom():.1%}", flush=True)
    return window


async def pans(app) -> None:
    """Panning and zooming the biggest graph at 30-120 %, and the window's activation (``--pans``)."""
    beat = Heartbeat()
    window = await open_dense()
    await wheel(window, 0.47, beat, "wheeled in to 47 %")
    await pan(window, beat, "the first middle-button pan (the first click into the window)")
    await pan(window, beat, "a middle-button pan")
    window.view.setFocus()
    await pan(window, beat, "a Space+drag pan", space=True)
    await away_and_back(window, beat)
    await pan(window, beat, "a middle-button pan")
    await wheel(window, 0.6, beat, "wheeled in past the overview")
    await pan(window, beat, "a middle-button pan")
    await wheel(window, 1.0, beat, "wheeled in to 100 %")
    await pan(window, beat, "a middle-button pan")
    await wheel(window, 1.2, beat, "wheeled in to 120 %")
    await pan(window, beat, "a Space+drag pan", space=True)
    await wheel(window, 0.3, beat, "wheeled out into the overview")
    await pan(window, beat, "a middle-button pan")
    window.document.replace(Graph())
    window.close()


async def main(app) -> None:
    beat = Heartbeat()
    window = await open_dense()
    scene, view = window.scene, window.view
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
    run_app(pans if "--pans" in sys.argv else main)
