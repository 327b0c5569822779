"""The overview's edges with a look of their own: those a run lit, its critical path, a drop target.

A run of the limits' biggest graph lights up to 100,000 edges. Recomputing every lit edge's look at each of
the run's updates (ten a second) took 0.3-0.4 s of the window's thread, and stroking one path of all of them
at each frame 0.3 s more. Here each look keeps its edge ids and their curves as paths of ``CHUNK`` edges: an
update visits only the edges it names (an edge that gains a look is appended to the last path; one that loses
or changes it has only its own path made again), and frames draw the paths as they are while they are few
(``BACKGROUND_ELEMENTS`` path elements, about 500 edges), else copy them from an image drawn on a worker
thread as the plain edges' is (``edge_image``). Edges that only gain a look (a run's progress) are stroked
into the image shown, a part per turn of the loop within the turn's budget (``turn_budget``); an edge losing
its look, or a new zoom, has the image drawn again on the worker (redrawing it at each update kept a core busy
through the run and slowed it down), and until it is ready the last one shows.

An edge's looks stack: a critical edge is also lit (drawn under it), so a run's end, which makes the lit
edges on its critical path critical, only adds them to the critical look (remaking the lit paths they left
held the window's thread 0.16-0.26 s for 10,000 steps). Paths left by many edges at once (a new run's start
resets every lit edge) are made again a few at a time, ``REMAKE_SLICE_S`` of CPU per turn of the loop; until
then they still show the edges that left.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPainter, QPainterPath, QPen

from chainstudio.ui import theme
from chainstudio.ui.canvas.edge_image import EdgeImage
from chainstudio.ui.canvas.edge_item import EdgeItem
from chainstudio.ui.common import turn_budget

# edges per path: the worker thread lets the window's thread run between two (Qt keeps Python's lock while it
# strokes one: 15-30 ms for 1,000 edges, so a window thread busy meanwhile ran 5 ms in every 20-35)
CHUNK = 250
# more path elements than this are copied from the image: the looks' pens are 2-3 px wide, which Qt strokes
# ten times slower than the plain edges' hairlines (5,000 edges: 47-49 ms against 5 ms), so the plain edges'
# threshold (``edge_image.BACKGROUND_ELEMENTS``, 20,000) let a frame stroke 0.1 s of lit edges
BACKGROUND_ELEMENTS = 2_000
STROKE_PART = 50  # edges stroked into the image between two looks at the clock
REMAKE_SLICE_S = 0.02  # of the window thread's CPU spent remaking paths in one turn of the loop


PENS: dict[str, Callable[[], QPen]] = {  # made at paint time (the theme may change)
    "lit": lambda: theme.cosmetic_pen(theme.EDGE_LIT, 2.0),
    "critical": lambda: theme.cosmetic_pen(theme.CRITICAL, 3.0),
    "drop": lambda: theme.cosmetic_pen(theme.DROP_TARGET, 3.0),
}


def looks_of(edge: EdgeItem | None) -> tuple[str, ...]:
    """The looks ``edge`` has over the plain edges, bottom first (a critical edge is lit too)."""
    if edge is None:
        return ()
    looks = ("lit", "critical") if edge.flow == "critical" else ("lit",) if edge.flow is not None else ()
    return (*looks, "drop") if edge.drop_target else looks


def look_of(edge: EdgeItem | None) -> str | None:
    """The look ``edge`` shows (its top one), or None."""
    looks = looks_of(edge)
    return looks[-1] if looks else None


class _Look:
    """One look's edges and their curves, CHUNK to a path: an edge leaving the look has only its path made
    again."""

    def __init__(self) -> None:
        self.chunks: list[dict[str, None]] = []  # edge ids, per path (a dict: in order, removed at once)
        self.paths: list[QPainterPath] = []
        self.where: dict[str, int] = {}  # edge id -> its path

    def __contains__(self, edge_id: str) -> bool:
        return edge_id in self.where

    def __bool__(self) -> bool:
        return bool(self.where)

    def add(self, edge_id: str, curve: QPainterPath) -> None:
        if not self.chunks or len(self.chunks[-1]) >= CHUNK:
            self.chunks.append({})
            self.paths.append(QPainterPath())
        self.where[edge_id] = len(self.chunks) - 1
        self.chunks[-1][edge_id] = None
        self.paths[-1].addPath(curve)

    def remove(self, edge_id: str) -> int:
        """Leave ``edge_id`` out; returns the path to make again."""
        index = self.where.pop(edge_id)
        del self.chunks[index][edge_id]
        return index

    def remake(self, indexes: Iterable[int], edges: Mapping[str, EdgeItem]) -> None:
        for index in indexes:
            path = QPainterPath()
            for edge_id in self.chunks[index]:
                path.addPath(edges[edge_id].path())
            self.paths[index] = path


class Overlays:
    def __init__(self, on_ready: Callable[[], object]) -> None:
        self.looked: set[str] = set()  # the edges that may have a look of their own
        self._looks: dict[str, _Look] = {}  # look -> its edges and their paths
        self._image = EdgeImage(on_ready=on_ready)
        self._on_ready = on_ready
        self._stale: dict[str, set[int]] = {}  # look -> its paths that edges left, to make again
        self._edges: Mapping[str, EdgeItem] = {}
        self._remaking = turn_budget.SliceTimer(self._remake_some)  # (turns shared with the window's other
        # sliced work, as the next one's)
        self._unstroked: dict[str, list[str]] = {}  # look -> edges that gained it, to stroke into the image
        self._stroking = turn_budget.SliceTimer(self._stroke_some)
        self.stroke_slices = 0  # turns of the loop the edges gained since the last image took (tests)
        self.remake_slices = 0  # turns of the loop the last remaking took (tests)

    @property
    def known(self) -> bool:
        """Whether the looks were computed since the last ``clear``."""
        return bool(self._looks)

    @property
    def remaking(self) -> bool:
        """Whether paths that edges left are still to be made again (a turn of the loop at a time)."""
        return bool(self._stale)

    def ids(self, look: str) -> set[str]:
        return set(self._looks[look].where) if look in self._looks else set()

    def paths(self) -> list[QPainterPath]:
        return [path for kept in self._looks.values() for path in kept.paths]

    def clear(self) -> None:
        """The edges' geometry changed: the looks are computed again at the next ``update``."""
        self._looks, self._stale = {}, {}
        self._remaking.stop()
        self._redraw()

    def _redraw(self) -> None:
        """Have the image drawn again (with every look's edges: none is left to stroke into it)."""
        self._unstroked = {}
        self._stroking.stop()
        self._image.changed()

    def update(self, edges: Mapping[str, EdgeItem], edge_ids: Iterable[str] | None = None) -> None:
        """The looks of ``edge_ids`` changed (None, or none known yet: any edge's may have)."""
        self._edges = edges
        if edge_ids is None or not self._looks:
            self.looked = {e for e in self.looked if looks_of(edges.get(e))}
            self._looks, self._stale = {look: _Look() for look in PENS}, {}
            self._remaking.stop()
            for edge_id in self.looked:
                for look in looks_of(edges[edge_id]):
                    self._looks[look].add(edge_id, edges[edge_id].path())
            self._redraw()
            return
        left = False
        added: dict[str, list[str]] = {look: [] for look in PENS}
        for edge_id in edge_ids:
            looks = looks_of(edges.get(edge_id))
            for other, kept in self._looks.items():
                if other not in looks and edge_id in kept:
                    self._stale.setdefault(other, set()).add(kept.remove(edge_id))
                    left = True
            if not looks:
                self.looked.discard(edge_id)
                continue
            self.looked.add(edge_id)
            for look in looks:
                if edge_id not in self._looks[look]:
                    self._looks[look].add(edge_id, edges[edge_id].path())
                    added[look].append(edge_id)
        if any(added.values()) and not self._patch(added, edges):
            self._redraw()
        if left:
            self.remake_slices = 0
            self._remake_some()

    def _remake_some(self) -> None:
        """Make paths that edges left again for up to ``REMAKE_SLICE_S``; the rest at the next turn of the
        loop. Once none is left, the image is drawn again without the edges that left."""
        began, limit = time.thread_time(), turn_budget.budget(REMAKE_SLICE_S)  # (shared with the turn's others)
        while self._stale:  # one path at least
            look = next(iter(self._stale))
            indexes = self._stale[look]
            self._looks[look].remake([indexes.pop()], self._edges)
            if not indexes:
                del self._stale[look]
            if time.thread_time() - began >= limit:
                break
        turn_budget.spent(time.thread_time() - began)
        self.remake_slices += 1
        if self._stale:
            self._remaking.start()
            return
        self._remaking.stop()
        self._redraw()
        if self.remake_slices > 1:  # the frames since showed the stale paths
            self._on_ready()

    def _patch(self, added: dict[str, list[str]], edges: Mapping[str, EdgeItem]) -> bool:
        """Stroke the edges that only gained a look into the image shown (a run lights a few at a time: the
        image need not be drawn again for them), up to ``turn_budget`` a turn (2-3 px pens: 1,000 edges lit by
        one update took 0.1 s), the rest in the next turns; False: it cannot be (no image, one being drawn
        that lacks them, or a look drawn above theirs that they would cover)."""
        looks = list(PENS)  # bottom first
        highest = max(looks.index(look) for look, ids in added.items() if ids)
        if any(self._looks[look] for look in looks[highest + 1 :]) or self._image.drawing:
            return False
        for look, ids in added.items():
            self._unstroked.setdefault(look, []).extend(ids)
        self.stroke_slices = 0
        self._stroke_some(later=False)
        return True

    def _stroke_some(self, later: bool = True) -> None:
        """Stroke edges waiting in ``_unstroked``, lower looks first, for up to the turn's budget."""
        if self._image.drawing:  # an image being drawn lacks them: draw it again after
            self._redraw()
            return
        painter = self._image.image_painter()
        if painter is None:
            self._redraw()
            return
        began, limit = time.thread_time(), turn_budget.budget(REMAKE_SLICE_S)  # (shared with the turn's others)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            for look in PENS:  # bottom first: a critical edge's lit stroke goes under its critical one
                waiting = self._unstroked.get(look)
                if waiting:
                    painter.setPen(PENS[look]())
                    kept = self._looks[look]
                while waiting:
                    for edge_id in waiting[-STROKE_PART:]:
                        item = self._edges.get(edge_id) if edge_id in kept else None  # (not one that left it)
                        if item is not None:
                            painter.drawPath(item.path())
                    del waiting[-STROKE_PART:]
                    if time.thread_time() - began >= limit:
                        break
                if waiting:
                    break
        finally:
            painter.end()
        turn_budget.spent(time.thread_time() - began)
        self.stroke_slices += 1
        self._unstroked = {look: ids for look, ids in self._unstroked.items() if ids}
        if self._unstroked:
            self._stroking.start()
        else:
            self._stroking.stop()
        if later:  # (the first part is shown by the restyle that asked for it)
            self._on_ready()

    def paint(self, painter: QPainter, bounds: QRectF, exposed: QRectF, zooming: bool) -> None:
        drawn = [(PENS[look](), path) for look, kept in self._looks.items() for path in kept.paths]
        if not drawn:
            return
        if sum(path.elementCount() for _, path in drawn) > BACKGROUND_ELEMENTS:
            self._image.paint(painter, drawn, bounds, exposed, zooming)
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for pen, path in drawn:
            painter.setPen(pen)
            painter.drawPath(path)
