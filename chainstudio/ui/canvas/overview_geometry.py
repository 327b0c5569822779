"""The overview's geometry (its blocks and the paths of its edges), kept across zooms.

Entering the overview made its geometry again each time: 100,000 edge curves, 0.3-0.45 s of the window's
thread on the limits' biggest graph, though the geometry changes only with edits and moves, never with the
zoom. It is kept here whether the overview shows or not. The scene tells it what an edit touched
(``touch_node``: a card moved, came or went; ``touch_edge``: an edge's ends or dash changed, it came or went;
``invalidate``: a new graph), and ``update_parts`` makes again only the touched cards' blocks and the paths
holding the touched edges (``EDGE_CHUNK`` edges a path, solid and dashed apart); past ``FULL_SHARE`` of the
edges touched, or after ``invalidate``, it makes all of it anew. What it hands out changes only at the end of
an update, all at once; an update dropped halfway (the scene changed meanwhile) leaves its work marked for
the next one.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Mapping

from PySide6.QtCore import QRectF
from PySide6.QtGui import QPainterPath

from chainstudio.ui.canvas import geometry as geo
from chainstudio.ui.canvas.edge_item import EdgeItem
from chainstudio.ui.canvas.node_item import NodeItem

EDGE_CHUNK = 250  # edges per path: a moved card's edges have their paths made again (about 1 ms a path),
# and between two paths the edge image's worker thread lets the window's thread run
PART = 2_500  # cards or edge curves made between two yields of ``update_parts``
FULL_SHARE = 0.25  # of the edges touched: more, and all the paths are made anew


class _Chunk:
    """One path's edges (in the order they were added) and the path made of their curves."""

    __slots__ = ("dashed", "ids", "path", "bounds", "dirty")

    def __init__(self, dashed: bool) -> None:
        self.dashed = dashed
        self.ids: dict[str, None] = {}
        self.path = QPainterPath()
        self.bounds = QRectF()
        self.dirty = True  # its path is to be made again


class OverviewGeometry:
    def __init__(self) -> None:
        self.rects: dict[str, QRectF] = {}  # node id -> its block
        self.bounds = QRectF()  # of the blocks and the edges
        self._node_bounds = QRectF()
        self._chunks: list[_Chunk] = []
        self._where: dict[str, _Chunk] = {}  # edge id -> its chunk
        self._open: dict[bool, _Chunk] = {}  # dashed -> the last chunk, where edges are added
        self._valid = False  # False: everything is made anew at the next update
        self._building = False  # a full build is under way (touches made meanwhile are kept)
        self._generation = 0  # bumped by ``invalidate``
        self._nodes_touched: set[str] = set()
        self._edges_touched: set[str] = set()
        self.curves = 0  # edge curves made so far (the tests count them)
        self.builds = 0  # full builds so far

    def invalidate(self) -> None:
        """A new graph (or one replaced): everything is made anew at the next update."""
        self._valid = self._building = False
        self._generation += 1
        self._nodes_touched.clear()
        self._edges_touched.clear()

    def touch_node(self, node_id: str) -> None:
        if self._valid or self._building:
            self._nodes_touched.add(node_id)

    def touch_edge(self, edge_id: str) -> None:
        if self._valid or self._building:
            self._edges_touched.add(edge_id)

    @property
    def touched_nodes(self) -> set[str]:
        """The cards touched since the last update (their blocks are not where they are)."""
        return self._nodes_touched

    @property
    def stale(self) -> bool:
        """Whether the next update has anything to do."""
        return not self._valid or bool(self._nodes_touched or self._edges_touched)

    def paths(self) -> list[tuple[bool, QPainterPath]]:
        """The edges' paths: (dashed, path)."""
        return [(chunk.dashed, chunk.path) for chunk in self._chunks if chunk.ids]

    def update_parts(
        self, nodes: Mapping[str, NodeItem], edges: Mapping[str, EdgeItem], keep: bool = True
    ) -> Generator[None, None, bool]:
        """Bring the geometry up to ``nodes`` and ``edges``, yielding between parts; returns whether anything
        changed. Not ``keep`` (the scene's items are still being made): made for now, and all anew next time
        (the items made meanwhile are not tracked one by one)."""
        if not self._valid or len(self._edges_touched) > FULL_SHARE * len(edges):
            yield from self._build(nodes, edges)
            self._valid = self._valid and keep
            return True
        if not (self._nodes_touched or self._edges_touched or any(c.dirty for c in self._chunks)):
            return False
        touched_nodes, self._nodes_touched = self._nodes_touched, set()
        touched_edges, self._edges_touched = self._edges_touched, set()
        moved = {n: _block(nodes[n]) if n in nodes else None for n in touched_nodes}
        for edge_id in touched_edges:  # (edges change chunks here, at once; their paths come below)
            self._refile(edge_id, edges.get(edge_id))
        made: list[tuple[_Chunk, QPainterPath]] = []
        count = 0
        done = False
        try:
            for chunk in [c for c in self._chunks if c.dirty]:
                made.append((chunk, _path(chunk.ids, edges)))
                self.curves += len(chunk.ids)
                count += len(chunk.ids)
                if count >= PART:
                    count = 0
                    yield
            done = True
        finally:
            if not done:  # dropped: the cards' blocks next time (the chunks stay marked)
                self._nodes_touched |= touched_nodes
        for chunk, path in made:
            chunk.path, chunk.bounds, chunk.dirty = path, path.boundingRect(), False
        if moved:
            for node_id, rect in moved.items():
                if rect is None:
                    self.rects.pop(node_id, None)
                else:
                    self.rects[node_id] = rect
            self._node_bounds = _bounds(self.rects.values())
        self._unite()
        return True

    def _refile(self, edge_id: str, item: EdgeItem | None) -> None:
        """Put edge ``edge_id`` in a chunk of its dash (``item`` None: it went), marking the chunks changed."""
        old = self._where.get(edge_id)
        if old is not None and (item is None or old.dashed != item.ordering_only):
            del old.ids[edge_id]
            old.dirty = True
            del self._where[edge_id]
            old = None
        if old is not None:
            old.dirty = True
        elif item is not None:
            chunk = self._open.get(item.ordering_only)
            if chunk is None or len(chunk.ids) >= EDGE_CHUNK:
                chunk = self._open[item.ordering_only] = _Chunk(item.ordering_only)
                self._chunks.append(chunk)
            chunk.ids[edge_id] = None
            chunk.dirty = True
            self._where[edge_id] = chunk

    def _build(self, nodes: Mapping[str, NodeItem], edges: Mapping[str, EdgeItem]) -> Generator[None, None, None]:
        generation = self._generation
        self._building = True
        self._nodes_touched.clear()
        self._edges_touched.clear()
        done = False
        try:
            rects: dict[str, QRectF] = {}
            for i, (node_id, card) in enumerate(list(nodes.items()), 1):
                rects[node_id] = _block(card)
                if i % PART == 0:
                    yield
            chunks: list[_Chunk] = []
            where: dict[str, _Chunk] = {}
            last: dict[bool, _Chunk] = {}
            for i, (edge_id, item) in enumerate(list(edges.items()), 1):
                chunk = last.get(item.ordering_only)
                if chunk is None or len(chunk.ids) >= EDGE_CHUNK:
                    chunk = last[item.ordering_only] = _Chunk(item.ordering_only)
                    chunks.append(chunk)
                chunk.ids[edge_id] = None
                where[edge_id] = chunk
                item.add_curve_to(chunk.path)
                if i % PART == 0:
                    yield
            done = True
        finally:
            if generation == self._generation:
                self._building = False
        if generation != self._generation or not done:
            return
        for chunk in chunks:
            chunk.bounds, chunk.dirty = chunk.path.boundingRect(), False
        self.curves += len(where)
        self.builds += 1
        self.rects, self._chunks, self._where, self._open = rects, chunks, where, last
        self._node_bounds = _bounds(rects.values())
        self._unite()
        self._valid = True

    def _unite(self) -> None:
        bounds = self._node_bounds
        for chunk in self._chunks:
            if chunk.ids:
                bounds = bounds.united(chunk.bounds)
        self.bounds = bounds.adjusted(-12, -12, 12, 12)


def _block(item: NodeItem) -> QRectF:
    pos = item.pos()
    return QRectF(pos.x(), pos.y(), geo.CARD_WIDTH, geo.CARD_HEIGHT)


def _path(ids: Mapping[str, None], edges: Mapping[str, EdgeItem]) -> QPainterPath:
    path = QPainterPath()
    for edge_id in ids:
        item = edges.get(edge_id)
        if item is not None:
            item.add_curve_to(path)
    return path


def _bounds(rects: Iterable[QRectF]) -> QRectF:
    """The box around the blocks."""
    xs: list[float] = []
    ys: list[float] = []
    for rect in rects:
        xs.append(rect.x())
        ys.append(rect.y())
    if not xs:
        return QRectF()
    return QRectF(min(xs), min(ys), max(xs) - min(xs) + geo.CARD_WIDTH, max(ys) - min(ys) + geo.CARD_HEIGHT)
