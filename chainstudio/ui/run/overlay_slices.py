"""A run drawn on a big canvas as a whole (its start: every card pending, the last run's edges reset; its end:
the critical path) a part at a time, between turns of the window's event loop.

For 10,000 steps and 100,000 edges one such pass took 0.3-0.6 s of the window's thread. From
``BIG_CANVAS_CARDS`` cards, ``OverlaySlices`` draws ``PART`` cards and the edges leaving them at a time
(``run_overlay.apply_part``), at most ``SLICE_S`` of CPU per turn. The run's own updates meanwhile draw what
they changed at once, as on any canvas; a new pass (or a cleared canvas) replaces the one under way.

A run's update that changed many cards at once on a big canvas (Stop cancels thousands of steps, in a few
turns of the loop) is drawn the same way, a part at a time (``draw``): drawn at once, 500 cards and the
edges leaving them took 40-80 ms of one turn.

At the end, the critical path itself is computed in those turns first (``RunState.critical_path_parts``,
0.1 s of CPU at once for 100,000 edges): the state is marked ``path_pending`` meanwhile, so that the Gantt
shows it as coming rather than compute it at once, and ``pathKnown`` tells it when it is known.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator

from PySide6.QtCore import QObject, Signal

from chainstudio.core.run.state import RunState
from chainstudio.ui.canvas.run_overlay import apply_part, apply_to_scene, critical_pairs
from chainstudio.ui.common import turn_budget

BIG_CANVAS_CARDS = 1000
PART = 25  # cards (and the edges leaving them, ~10 each) between two looks at the clock
SLICE_S = 0.015  # of the window thread's CPU per turn of the loop (its share of turn_budget.TURN_S)
BIG_UPDATE = 100  # cards changed by one update of a running run, from which a big canvas draws them in parts


class OverlaySlices(QObject):
    pathKnown = Signal()  # a finished run's critical path, computed here a part at a time, is known

    def __init__(self, scene, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.scene = scene
        self.slices = 0  # turns of the loop the last pass took (tests)
        self._queue: deque[str] = deque()
        self._state: RunState | None = None
        self._critical: tuple[set[str], set[tuple[str, str]]] | None = None
        self._path: Iterator[None] | None = None  # the critical path's computation, under way
        self._timer = turn_budget.SliceTimer(self._slice, self)  # (a turn shared with the window's other such work)

    def wanted(self) -> bool:
        """Whether this canvas is big enough to be drawn a part at a time."""
        return len(self.scene.nodes) >= BIG_CANVAS_CARDS

    @property
    def active(self) -> bool:
        return bool(self._queue)

    def start(self, state: RunState) -> None:
        """Draw ``state`` on every card and edge, a part at a time (the critical path once it has ended)."""
        self._stop_path()
        self._state, self._critical = state, None
        if not state.running and state.start_time is not None and not state.critical_path_known():
            self._path, state.path_pending = state.critical_path_parts(), True
        else:
            self._found(state)
        self._queue = deque(self.scene.nodes)
        self.slices = 0
        self._timer.start()

    def draw(self, state: RunState, changed: frozenset[str]) -> None:
        """A running run's update: the ``changed`` cards (and the edges leaving them) at once, or on a big
        canvas, when they are many, a part at a time after any part still to draw."""
        if len(changed) < BIG_UPDATE or not self.wanted() or not state.running:
            apply_to_scene(self.scene, state, changed)
            return
        if self._state is not state or not self._queue:
            self._stop_path()
            self._state, self._critical, self._queue, self.slices = state, None, deque(), 0
        self._queue.extend(changed)
        self._timer.start()

    def cancel(self) -> None:
        self._stop_path()
        self._queue.clear()
        self._timer.stop()

    def _stop_path(self) -> None:
        if self._path is not None and self._state is not None:
            self._state.path_pending = False  # anyone may compute it at once again
        self._path = None

    def _found(self, state: RunState) -> None:
        critical = critical_pairs(state)
        self._critical = critical if critical[0] else None

    def _slice(self) -> None:
        state, queue = self._state, self._queue
        began, limit = time.thread_time(), turn_budget.budget(SLICE_S)  # (shared with the turn's other slices)
        while self._path is not None and state is not None:  # the critical path first, the cards draw it
            if next(self._path, StopIteration) is StopIteration:
                self._path, state.path_pending = None, False
                self._found(state)
                self.pathKnown.emit()
            elif time.thread_time() - began >= limit:
                break
        while queue and state is not None and self._path is None:
            part = [queue.popleft() for _ in range(min(PART, len(queue)))]
            apply_part(self.scene, state, part, self._critical)
            if time.thread_time() - began >= limit:
                break
        turn_budget.spent(time.thread_time() - began)
        self.slices += 1
        if not queue:
            self._timer.stop()
