"""The estimate's badges on the cards (``≈ 1.2 s · ↑420 ↓180 · $0.0012``), set a part at a time on a big canvas.

Setting all 10,000 of the limits' biggest graph at once, when its estimate arrived from the child process,
held the window's thread about 70 ms in one turn. From ``BIG_CANVAS_CARDS`` cards they are set ``PART`` at a
time, at most ``SLICE_S`` of the window thread's CPU per turn of the loop (as a run's whole drawing is:
``ui.run.overlay_slices``). A newer estimate replaces the one being set; a run drawn on the canvas (its own
badges) stops it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from PySide6.QtCore import QObject

from chainstudio.ui.canvas.run_overlay import Badge, estimate_badge_of
from chainstudio.ui.common import turn_budget
from chainstudio.ui.run.overlay_slices import BIG_CANVAS_CARDS, PART, SLICE_S


class EstimateBadges(QObject):
    def __init__(self, scene, shows_run: Callable[[], bool], parent: QObject | None = None) -> None:
        """``shows_run()``: whether a run is drawn on ``scene``'s cards (then they keep its badges)."""
        super().__init__(parent)
        self.scene, self.shows_run = scene, shows_run
        self.slices = 0  # turns of the loop the last estimate's badges took (tests)
        self._queue: deque[str] = deque()
        self._badge: Callable[[str], Badge | None] = lambda _node_id: None
        self._timer = turn_budget.SliceTimer(self._slice, self)  # (a turn shared with the window's other such work)

    @property
    def active(self) -> bool:
        return bool(self._queue)

    def show(self, estimate) -> None:
        """Put ``estimate``'s badges on every card (None: clear them), a part at a time on a big canvas."""
        self._badge = estimate_badge_of(self.scene, estimate)
        self._queue = deque(self.scene.nodes)
        self.slices = 0
        if len(self._queue) < BIG_CANVAS_CARDS:
            self._slice(at_once=True)
        else:
            self._timer.start()

    def cancel(self) -> None:
        self._queue.clear()
        self._timer.stop()

    def _slice(self, at_once: bool = False) -> None:
        queue, nodes, badge = self._queue, self.scene.nodes, self._badge
        began, limit = time.thread_time(), turn_budget.budget(SLICE_S)  # (shared with the turn's other slices)
        while queue and not self.shows_run():
            for _ in range(min(PART, len(queue))):
                node_id = queue.popleft()
                item = nodes.get(node_id)  # (a card removed meanwhile is skipped)
                if item is not None:
                    item.set_run(badge(node_id))
            if not at_once and time.thread_time() - began >= limit:
                break
        turn_budget.spent(time.thread_time() - began)
        self.slices += 1
        if not queue or self.shows_run():
            self.cancel()
