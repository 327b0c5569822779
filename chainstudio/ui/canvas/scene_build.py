"""A big graph's cards and edges are made a slice at a time, between turns of the window's event loop.

Making the items of 10,000 steps and 100,000 edges takes seconds of the window's thread; done at once, the
window froze that long when such a file opened. Over ``CanvasScene``'s BIG_SCENE_ITEMS, the scene hands the
ids to a ``SlicedBuild``: cards first, then edges, at most ``SLICE_S`` of work per turn of the loop, with
the progress shown over the canvas. Each slice's items are filed in the scene's index at once (Qt files new
items 2 s later, or at the next hit test: 0.2-0.4 s for a whole graph's items in one go). Edits that arrive
meanwhile are applied as usual; an id whose step or edge is gone by the time its turn comes is skipped, one
made already is not made twice, and an edge added while one of its cards is still waiting joins the end of
the queue. When the queue is empty the scene brings its bands, edge styles and overview up to date once and
says so (``CanvasScene.built``).

Python's cyclic garbage collector is paused meanwhile: as the heap grew by a quarter, again and again, it
walked every object made so far (each of the last walks took 0.3-0.5 s, a stall of the window each time).
At the end the objects made are frozen (``gc.freeze``: later collections leave them out; freed by their
reference counts as usual) and the collector goes on.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable

from PySide6.QtCore import QObject, QTimer

from chainstudio.core.collector import Hold
from chainstudio.ui.common.memory import give_back

SLICE_S = 0.04  # of item making per turn of the event loop
CHECK_EVERY = 16  # items made between two looks at the clock


class CollectorPause:
    """Python's cyclic garbage collector off while a big scene's items are made (or its pass runs), then the
    objects made frozen (later collections leave them out) and the collector as the other holds want it
    (``core/collector.py``: a run going on keeps its no-full-pass rule)."""

    def __init__(self) -> None:
        self._hold = Hold(off=True)

    def pause(self) -> None:
        self._hold.take()

    def resume(self) -> None:
        self._hold.release(freeze=True)


class SlicedBuild:
    def __init__(
        self,
        parent: QObject,
        make: Callable[[bool, str], object],
        progress: Callable[[int, int], object],
        finished: Callable[[], object],
        index: Callable[[], object],
    ) -> None:
        """``make(is_edge, id)`` makes one card or edge; ``progress(done, total)`` after each slice;
        ``finished()`` once the queue is empty; ``index()`` files the slice's items in the scene's index."""
        self._make, self._progress, self._finished, self._index = make, progress, finished, index
        self._queue: deque[tuple[bool, str]] = deque()
        self.total = self.done = 0
        self._collector = CollectorPause()
        self._timer = QTimer(parent)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._slice)
        parent.destroyed.connect(self._resume_gc)  # a scene closed while it builds leaves the collector on

    @property
    def active(self) -> bool:
        return bool(self._queue)

    def start(self, node_ids: Iterable[str], edge_ids: Iterable[str]) -> None:
        self._collector.pause()
        self._queue = deque([(False, n) for n in node_ids] + [(True, e) for e in edge_ids])
        self.total, self.done = len(self._queue), 0
        self._timer.start()

    def stop(self) -> None:
        self._queue.clear()
        self._timer.stop()
        self._resume_gc()

    def _resume_gc(self) -> None:
        self._collector.resume()

    def later(self, edge_id: str) -> None:
        """Make edge ``edge_id`` after the items already waiting (one of its cards is not made yet)."""
        self._queue.append((True, edge_id))
        self.total += 1

    def finish(self) -> None:
        """Make everything still waiting now."""
        if self._queue:
            self._run(None)

    def _slice(self) -> None:
        self._run(time.perf_counter() + SLICE_S)

    def _run(self, deadline: float | None) -> None:
        self._timer.stop()
        queue, make = self._queue, self._make
        count = 0
        while queue:
            is_edge, item_id = queue.popleft()
            make(is_edge, item_id)
            count += 1
            if deadline is not None and count % CHECK_EVERY == 0 and time.perf_counter() > deadline:
                break
        self.done += count
        self._index()
        if queue:
            self._progress(self.done, self.total)
            self._timer.start()
        else:
            self._resume_gc()
            give_back()  # what making them needed and freed (file parsing, layout) goes back to the system
            self._finished()
