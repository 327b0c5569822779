"""A run drawn on a big canvas as a whole (its start: every card pending, the last run's edges reset; its end:
the critical path) a part at a time, between turns of the window's event loop.

For 10,000 steps and 100,000 edges one such pass took 0.3-0.6 s of the window's thread. From
``BIG_CANVAS_CARDS`` cards, ``OverlaySlices`` draws ``PART`` cards and the edges leaving them at a time
(``run_overlay.apply_part``), at most ``SLICE_S`` of CPU per turn. The run's own updates meanwhile draw what
they changed at once, as on any canvas; a new pass (or a cleared canvas) replaces the one under way.
"""

from __future__ import annotations

import time
from collections import deque

from PySide6.QtCore import QObject, QTimer

from chainstudio.core.run.state import RunState
from chainstudio.ui.canvas.run_overlay import apply_part, critical_pairs

BIG_CANVAS_CARDS = 1000
PART = 25  # cards (and the edges leaving them, ~10 each) between two looks at the clock
SLICE_S = 0.03  # of the window thread's CPU per turn of the loop


class OverlaySlices(QObject):
    def __init__(self, scene, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.scene = scene
        self.slices = 0  # turns of the loop the last pass took (tests)
        self._queue: deque[str] = deque()
        self._state: RunState | None = None
        self._critical: tuple[set[str], set[tuple[str, str]]] | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._slice)

    def wanted(self) -> bool:
        """Whether this canvas is big enough to be drawn a part at a time."""
        return len(self.scene.nodes) >= BIG_CANVAS_CARDS

    @property
    def active(self) -> bool:
        return bool(self._queue)

    def start(self, state: RunState) -> None:
        """Draw ``state`` on every card and edge, a part at a time (the critical path once it has ended)."""
        critical = critical_pairs(state)
        self._state, self._critical = state, critical if critical[0] else None
        self._queue = deque(self.scene.nodes)
        self.slices = 0
        self._timer.start()

    def cancel(self) -> None:
        self._queue.clear()
        self._timer.stop()

    def _slice(self) -> None:
        state, queue = self._state, self._queue
        began = time.thread_time()
        while queue and state is not None:
            part = [queue.popleft() for _ in range(min(PART, len(queue)))]
            apply_part(self.scene, state, part, self._critical)
            if time.thread_time() - began >= SLICE_S:
                break
        self.slices += 1
        if not queue:
            self._timer.stop()
