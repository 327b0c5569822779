"""A detailed frame with many edges in view: the edges copied from an image drawn on a worker thread.

Zoomed in on a big graph, thousands of edges can cross the view: stroking 3,700 dashed antialiased curves at
120 % took 1.4 s of the window's thread, on every pan. In a scene with more than ``LAYER_ABOVE`` edges the edge
items draw nothing themselves (they stay in the scene: hit tests, selection, drops and tooltips work as
before) and this one item, under the cards, draws them all: while at most ``IMAGE_ABOVE`` edges cross the view
it strokes them as the items would (``edge_item.stroke_edge``); above that a frame copies them from an image of
the view (then of the view and a margin) drawn at the view's scale on a worker thread (``edge_image``). Until
the first image at a zoom is ready the last one is stretched, or the overview's, at a lower quality.

Drawn live over the image, at once: the selected edges and those touching a selected card (left out of the
image), and an edge that changed since the image's edges were taken (moved with its card, restyled, added): a
changed or deleted edge is erased from the image and the views repaint; the image is drawn again and replaces
the stretched or patched one when ready. At most ``LIVE_MAX`` edges are drawn live; beyond that (a selection
of thousands, an auto-layout) the image shows them as they were until the new one is ready.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterable
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsView, QStyleOptionGraphicsItem, QWidget

from chainstudio.core.graph.model import Node
from chainstudio.ui.canvas import geometry as geo
from chainstudio.ui.canvas.edge_image import EdgeImage
from chainstudio.ui.canvas.edge_item import EdgeItem, Look, arrow_of, curve_of, stroke_edge
from chainstudio.ui.canvas.node_item import NodeItem

if TYPE_CHECKING:
    from chainstudio.ui.canvas.scene import CanvasScene

LAYER_ABOVE = 400  # edges in the scene: more, and this item draws the edges (the items none)
IMAGE_ABOVE = 400  # edges crossing the view: more, and a frame copies them from an image
LIVE_MAX = 100  # edges drawn live over the image at most
YIELD_S = 0.005  # the worker lets the window's thread have Python's lock this often
JOB_PART = 2_000  # edges whose ends and looks an image's job takes in one turn of the loop
MARGIN = 0.25  # of the view's size on each side: an image of the view and this margin, once the view pans
ERASE_PX = 2.0  # wider than the edge, on screen, when it is erased from the image

Drawn = tuple[str, tuple[float, ...], Look]  # an edge as drawn into an image: id, ends, look


class EdgeJob:
    """The edges of a region as they are now, to be stroked into an image on a worker thread: their ends and
    looks, taken on the window's thread; the worker makes their curves and arrows (making them on the
    window's thread, for the 10,000 edges in view at 60 % on the limits' biggest graph, took 0.1-0.17 s)."""

    def __init__(self, edges: list[Drawn], lod: float, version: int) -> None:
        self.edges = edges
        self.lod = lod
        self.version = version  # the layer's, when the edges were taken
        self.drawn = {edge[0]: edge for edge in edges}
        self.erased: set[str] = set()  # erased from the image since (changed or deleted)

    def __call__(self, painter: QPainter) -> None:
        """Stroke the edges one at a time, bottom first, and let the window's thread have Python's lock every
        ``YIELD_S``. One path per edge is the fastest way to dash them (the 3,737 edges crossing a 1400x900
        view at 120 %: 1.3 s of CPU one by one, 2.9-3.9 s as paths of 4 to 256 edges: the outline of a dashed
        path of many curves is filled as one polygon); but stroked back to back they kept the window's thread
        waiting for the lock for 1-3 s at a time, until the worker gave it up (``time.sleep(0)``)."""
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        last = time.perf_counter()
        for _, ends, look in self.edges:
            stroke_edge(painter, curve_of(ends), arrow_of(ends), look, self.lod)
            now = time.perf_counter()
            if now - last > YIELD_S:
                time.sleep(0)  # the lock to the window's thread, if it waits for it
                last = time.perf_counter()

    def holds(self, edge_id: str) -> bool:
        """Whether the image shows this edge as it was taken."""
        return edge_id in self.drawn and edge_id not in self.erased


class EdgeLayer(QGraphicsItem):
    def __init__(self, scene: CanvasScene) -> None:
        super().__init__()
        self._scene = scene
        self.enabled = False  # the scene has more than LAYER_ABOVE edges: drawn here
        self._image = EdgeImage(on_ready=self._arrived, first_margin=0.0, margin=MARGIN)
        self._job_seen: object = None  # the job of the image shown, as last patched
        self._changed: dict[str, int] = {}  # edge id -> the version it last changed at (live until drawn)
        self._live: set[str] = set()  # selected, or touching a selected card: never in an image
        # (the view and version counted, how many edges cross that view, those edges when few)
        self._count: tuple[tuple[float, ...], int, list[EdgeItem]] | None = None
        self._bounds = QRectF()  # where the cards are, with room for the edges arcing above them
        self._update_asked = False  # a repaint asked for since the last paint (``touch``)
        self.setZValue(-0.5)  # over the layer bands, under the cards
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)  # exposedRect

    # --- the scene tells -------------------------------------------------------------------------
    def reset(self, edges: int, nodes: Iterable[Node]) -> None:
        """A new graph of ``edges`` edges: nothing drawn yet."""
        self.enabled = edges > LAYER_ABOVE
        self.prepareGeometryChange()
        self._bounds = geo.graph_rect(nodes) if self.enabled else QRectF()
        self._image = EdgeImage(on_ready=self._arrived, first_margin=0.0, margin=MARGIN)
        self._job_seen, self._changed, self._live, self._count = None, {}, set(), None
        self._image.changed()

    def adopt(self, item: EdgeItem) -> None:
        """A new edge item: undrawn by Qt while this layer draws the edges; it tells this layer its changes."""
        item.layer = self
        if self.enabled:
            item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, True)
        self.touch(item)

    def recount(self, edges: int, nodes: Iterable[Node]) -> None:
        """The graph's edges or cards changed: draw the edges here or let the items draw themselves."""
        enabled = edges > LAYER_ABOVE
        bounds = self._bounds.united(geo.graph_rect(nodes)) if enabled else QRectF()
        if bounds != self._bounds:
            self.prepareGeometryChange()
            self._bounds = bounds
        if enabled == self.enabled:
            return
        self.enabled = enabled
        overview = self._scene.overview.active
        for item in self._scene.edges.values():
            item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, enabled or overview)
        self._image.changed()
        self.update()

    def touch(self, item: EdgeItem) -> None:
        """``item`` moved, was restyled, added or removed: drawn live (and erased from the image) until the
        next image shows it."""
        image = self._image
        image.version += 1  # (called for each of 90,000 edges restyled at once: kept short)
        changed = self._changed
        if len(changed) >= LIVE_MAX and item.edge_id not in changed:
            if not self._update_asked:  # too many to draw live: shown as they were until the next image
                self._update_asked = True
                self.update()
            return
        if not self.enabled or self._scene.building:
            return
        changed[item.edge_id] = image.version
        if isinstance(image.job, EdgeJob) and image.job.holds(item.edge_id):
            self._erase(image.job, [item.edge_id])
        self.update()

    @property
    def version(self) -> int:
        """Bumped by any change of an edge (part of the image's key)."""
        return self._image.version

    def selection_changed(self) -> None:
        if not self.enabled:
            return
        live: set[str] = set()
        for item in self._scene.selectedItems():
            if isinstance(item, EdgeItem):
                live.add(item.edge_id)
            elif isinstance(item, NodeItem):
                live |= self._scene.edges_of(item.node_id)
            if len(live) > LIVE_MAX:  # thousands: drawn selected into the next image instead
                live = set()
                break
        edges = self._scene.edges
        for edge_id in live ^ self._live:
            if edge_id in edges:
                self.touch(edges[edge_id])
        self._live = live

    # --- drawing ---------------------------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        return self._bounds

    def job(self, rect: QRectF, lod: float) -> EdgeJob:
        """The edges crossing ``rect`` (scene), except those drawn live, for an image at zoom ``lod``."""
        parts = self.job_parts(rect, lod)
        while True:
            try:
                next(parts)
            except StopIteration as done:
                return done.value

    def job_parts(self, rect: QRectF, lod: float) -> Generator[None, None, EdgeJob]:
        """``job``, a turn of the loop for finding the edges and then one for each ``JOB_PART`` of them (their
        ends and looks: for the 10,000 edges in view at 60 % that took 40-70 ms of the window's thread after the
        query's 26 ms). An edge changed meanwhile is newer than the job's version: it is drawn live."""
        version, edges = self.version, self._edges_in(rect)
        drawn: list[Drawn] = []
        for start in range(0, len(edges), JOB_PART):
            yield
            live = self._live
            for edge in edges[start : start + JOB_PART]:
                if shiboken6.isValid(edge) and edge.edge_id not in live:
                    drawn.append((edge.edge_id, edge.ends, edge.look(edge.isSelected())))
        return EdgeJob(drawn, lod, version)

    def _edges_in(self, rect: QRectF) -> list[EdgeItem]:
        """The edges whose boxes cross ``rect``, bottom first (the order Qt paints them in)."""
        items = self._scene.items(rect, Qt.ItemSelectionMode.IntersectsItemBoundingRect, Qt.SortOrder.AscendingOrder)
        return [item for item in items if isinstance(item, EdgeItem)]

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        self._update_asked = False
        if not self.enabled or self._scene.overview.active:
            return
        exposed = option.exposedRect
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        view = widget.parent() if widget is not None else None
        if not isinstance(view, QGraphicsView) or not isinstance(painter.device(), QWidget):
            self._stroke(painter, self._edges_in(exposed), lod)  # an export: every edge, as the items draw them
            return
        visible = view.mapToScene(view.viewport().rect()).boundingRect()
        where = (visible.x(), visible.y(), visible.width(), visible.height(), float(self.version))
        if self._count is None or self._recount(self._count, where):  # a pan, a zoom or an edit: count again
            in_view = self._edges_in(visible)
            self._count = (where, len(in_view), in_view if len(in_view) <= IMAGE_ABOVE else [])
        if self._count[1] <= IMAGE_ABOVE:  # few: stroked as the items would
            self._stroke(painter, [e for e in self._count[2] if e.sceneBoundingRect().intersects(exposed)], lod)
            return
        if not self._image.paint(painter, self, self._bounds, visible, self._scene.zooming):
            self._scene.overview.stand_in(painter)  # no image at this zoom yet: the overview's, stretched
        edges = self._scene.edges
        live = [edges[e] for e in dict.fromkeys((*self._live, *self._changed)) if e in edges]  # not in the image
        self._stroke(painter, [e for e in live if e.sceneBoundingRect().intersects(exposed)], lod)

    @staticmethod
    def _recount(count: tuple[tuple[float, ...], int, list[EdgeItem]], where: tuple[float, ...]) -> bool:
        """Whether the edges crossing the view at ``where`` must be counted again: unless a short pan (under a
        quarter of the view) at the same zoom and version moved from a view that many more edges crossed
        than are stroked one by one (counting the 7,000 at 60 % took 13-15 ms of each pan's frame; the image
        shows any number of edges, so a count that stays high for a while only keeps the image)."""
        (x, y, w, h, version), many = count[0], count[1] > 4 * IMAGE_ABOVE
        same = (w, h, version) == where[2:] and abs(where[0] - x) < w / 4 and abs(where[1] - y) < h / 4
        return not (many and same)

    def _stroke(self, painter: QPainter, edges: list[EdgeItem], lod: float) -> None:
        for edge in edges:
            stroke_edge(painter, edge.path(), edge.arrow(), edge.look(edge.isSelected()), lod)

    def edges_in_view(self) -> int:
        """How many edges crossed the view at the last frame (0: none painted yet)."""
        return self._count[1] if self._count is not None else 0

    # --- the image -------------------------------------------------------------------------------
    def _arrived(self) -> None:
        """A new image: erase the edges that changed after its edges were taken, repaint."""
        if not shiboken6.isValid(self):  # the scene went away while the image was drawn
            return
        job = self._image.job
        if job is not self._job_seen and isinstance(job, EdgeJob):
            self._job_seen = job
            later = [e for e, v in self._changed.items() if v > job.version]
            self._changed = {e: self._changed[e] for e in later}
            self._erase(job, [e for e in later if job.holds(e)])
        self.update()

    def _erase(self, job: EdgeJob, edge_ids: list[str]) -> None:
        if not edge_ids:
            return
        painter = self._image.image_painter()
        if painter is None:
            return
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Clear)
            scale = painter.worldTransform().m11()
            for edge_id in edge_ids:
                _, ends, (_, width, _) = job.drawn[edge_id]
                curve, arrow = curve_of(ends), arrow_of(ends)
                pen = QPen(QColor(0, 0, 0), max(width * scale, 1.0) + ERASE_PX)
                pen.setCosmetic(True)
                painter.setPen(pen)
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawPath(curve)
                painter.setBrush(QColor(0, 0, 0))
                painter.drawPath(arrow)
                job.erased.add(edge_id)
        finally:
            painter.end()
