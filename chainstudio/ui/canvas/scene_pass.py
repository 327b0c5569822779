"""The canvas's pass after edits, a slice at a time between turns of the window's event loop.

After an edit (or the last slice of a big graph's build, ``scene_build``) the scene brings its layer bands,
edge styles (ordering-only edges dashed) and the overview's geometry up to date. On 10,000 steps and
100,000 edges that pass took 0.8 s of the window's thread in one go. The scene writes it as a generator
that yields between parts (``CanvasScene._pass_parts``); a ``SlicedPass`` runs it at most ``SLICE_S`` per
turn of the loop. ``finish`` runs what is left now (an export, a test, the layers switched); ``cancel``
drops it (the graph changed or was replaced: the scene starts a new pass, which does again what this one
had not finished). A small scene runs its pass in one go, as before. Python's cyclic garbage collector is
paused while a sliced pass runs, as while the items are made (``scene_build.CollectorPause``): its full
collections over this heap took 70-150 ms each, twice a pass.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from PySide6.QtCore import QObject

from chainstudio.ui.canvas.scene_build import CollectorPause
from chainstudio.ui.common import turn_budget

SLICE_S = 0.04  # of the pass per turn of the event loop


class SlicedPass:
    def __init__(self, parent: QObject, parts: Callable[[], Iterator[None]]) -> None:
        """``parts()`` makes a new pass: a generator that does a part of the work per step."""
        self._make = parts
        self._parts: Iterator[None] | None = None
        self.slices = 0  # turns of the event loop the passes took (the tests look)
        self._collector = CollectorPause()
        self._timer = turn_budget.SliceTimer(self._slice, parent)  # (a turn shared with the window's other such work)
        parent.destroyed.connect(self._collector.resume)  # a scene closed during its pass leaves the collector on

    @property
    def active(self) -> bool:
        return self._parts is not None

    def start(self) -> None:
        """Begin a pass unless one is underway (what it does not cover, the next pass will)."""
        if self._parts is None:
            self._collector.pause()
            self._parts = self._make()
            self._timer.start()

    def finish(self) -> None:
        """The pass underway, to its end now."""
        if self._parts is not None:
            self._run(None)

    def cancel(self) -> None:
        parts, self._parts = self._parts, None
        self._timer.stop()
        if parts is not None:
            parts.close()  # type: ignore[attr-defined]
        self._collector.resume()

    def _slice(self) -> None:
        self.slices += 1
        began = time.thread_time()
        self._run(time.perf_counter() + turn_budget.budget(SLICE_S))  # (shared with the turn's other slices)
        turn_budget.spent(time.thread_time() - began)

    def _run(self, deadline: float | None) -> None:
        parts = self._parts
        if parts is None:
            return
        self._timer.stop()
        for _ in parts:
            if self._parts is not parts:
                return  # cancelled by what the part did (it changed the scene)
            if deadline is not None and time.perf_counter() > deadline:
                self._timer.start()
                return
        if self._parts is parts:
            self._parts = None
            self._collector.resume()
