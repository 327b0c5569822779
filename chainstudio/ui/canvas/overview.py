"""The overview drawing used when zoomed far out. Over 400 lines because it draws all the canvas shows far
out (blocks, names, lit edges, ports, badges) and keeps those looks up to date a part at a time.

Below the detail zoom, painting thousands of cards, ports and edges one Python ``paint`` call at a time
costs more than a frame. The scene then marks its cards and edges (and their ports) as having no contents,
so Qt skips painting them while they stay selectable, movable and clickable (a fully transparent item would
not: Qt leaves it out of hit tests), and this one item draws them all instead: rectangles per colour in one
``drawRects`` call each, names only where readable and in view, the edges as a few combined paths, without
anti-aliasing. The overview simplifies the drawing, never what the canvas says or takes: a run's states
colour the blocks (with the state's mark before the name), lit and critical edges and the critical path
show, problem steps carry their badge, and ports are drawn where a drag starts a connection.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QStyleOptionGraphicsItem, QWidget

from chainstudio.ui import theme
from chainstudio.ui.canvas import geometry as geo
from chainstudio.ui.canvas.edge_image import EdgeImage
from chainstudio.ui.canvas.edge_item import EdgeItem
from chainstudio.ui.canvas.node_item import NodeItem, paint_problem_badge
from chainstudio.ui.canvas.overview_geometry import OverviewGeometry
from chainstudio.ui.canvas.overview_looks import BlockLooks
from chainstudio.ui.canvas.overview_overlays import Overlays
from chainstudio.ui.canvas.run_overlay import ICONS

if TYPE_CHECKING:
    from chainstudio.ui.canvas.scene import CanvasScene

PORT_PIXELS = 4.0  # a port's radius on screen in the overview
PORT_MIN_LOD = 0.12  # further out than this, blocks are too small for ports to matter
BADGE_PIXELS = 7.0
STYLES_PART = 200  # ... or cards' looks made (a name elided to its block takes a while: 500 took 30 ms)
LIGHT = 150  # a block colour lighter than this gets dark text (pending, queued, skipped)
DARK_TEXT = QColor("#1d232b")


def overview_wanted(zoom: float) -> bool:
    return zoom < geo.DETAIL_LOD


SLICED_ABOVE = 5_000  # cards and edges: a scene with more switches them between drawn and not in slices
SLICE_S = 0.005  # of switching per turn of the event loop, each switch (a frame may come in the same turn)
SLICE_ITEMS = 50  # switched between two looks at the clock (200 cards with their cache modes: 5 ms)


def repaint_views(scene: QGraphicsScene) -> None:
    """Repaint the views' overview frames: the view paints them itself (``overview_frame``), so Qt, which
    tracks where it last painted each item during its own paint, would take the overview's updates for
    changes outside the view."""
    if not shiboken6.isValid(scene):  # it went away while an image was drawn for it
        return
    for view in scene.views():
        view.viewport().update()


def _set_drawn(item: QGraphicsItem, drawn: bool) -> None:
    """Let Qt paint ``item`` and its parts, or skip them; either way they keep taking the mouse."""
    parts = [item]
    while parts:
        part = parts.pop()
        part.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, not drawn)
        parts.extend(part.childItems())


class DrawnSwitch:
    """Switches the cards and edges between drawn and undrawn. In a big scene (over ``SLICED_ABOVE`` items)
    the ones in a view are switched at once and the rest a slice of at most ``SLICE_S`` per turn of the
    event loop: switching 110,000 items (and their parts) held the window 0.5 s each time a zoom crossed
    the overview's threshold. Qt paints only what is in view, and what is in view is switched first."""

    def __init__(self) -> None:
        self._pending: list[QGraphicsItem] = []
        self._drawn: bool | None = True  # None: only ``then`` (the cards' cache modes, ``set_crisp``)
        self._then: Callable[[QGraphicsItem], object] | None = None
        self._timer = QTimer()
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._slice)

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    def switch(
        self,
        items: list[QGraphicsItem],
        drawn: bool | None,
        in_view: Iterable[QGraphicsItem] = (),
        then: Callable[[QGraphicsItem], object] | None = None,
    ) -> None:
        """Switch ``items`` (``in_view`` first), calling ``then`` on each after it (as sliced as the switch)."""
        self._drawn, self._then = drawn, then
        if len(items) <= SLICED_ABOVE:
            self._pending = []
            self._timer.stop()
            for item in items:
                self._set(item, drawn)
            return
        for item in in_view:
            self._set(item, drawn)
        self._pending = items  # those in view again: harmless, and cheaper than leaving them out
        self._timer.start()

    def finish(self) -> None:
        while self._pending:
            self._slice(deadline=None)

    def _slice(self, deadline: float | None = -1.0) -> None:
        end = time.perf_counter() + SLICE_S if deadline == -1.0 else deadline
        pending, drawn = self._pending, self._drawn
        first = True  # at least one batch a turn, however short the slice
        while pending and (first or end is None or time.perf_counter() < end):
            first = False
            for item in pending[-SLICE_ITEMS:]:
                with contextlib.suppress(RuntimeError):  # an item deleted meanwhile (the graph edited or replaced)
                    self._set(item, drawn)
            del pending[-SLICE_ITEMS:]
        if not pending:
            self._timer.stop()

    def _set(self, item: QGraphicsItem, drawn: bool | None) -> None:
        if drawn is not None:
            _set_drawn(item, drawn)
        if self._then is not None:
            self._then(item)


class OverviewItem(QGraphicsItem):
    def __init__(self, scene: CanvasScene):
        super().__init__()
        self._scene = scene
        self.active = False
        # geometry (kept across zooms, made again where cards or edges move, come or go)
        self.geometry = OverviewGeometry()
        self._moved = False  # the geometry changed since it was last shown
        self._rects: dict[str, QRectF] = {}  # node id -> its block (the geometry's)
        self._base: list[tuple[QPen, QPainterPath]] = []  # plain and dashed edges
        self._base_color = theme.EDGE.rgba()  # ... their pens' colour
        self._edge_image = EdgeImage(on_ready=lambda: repaint_views(scene))  # ... drawn once per zoom level
        # looks (restyled when a run, the selection or a badge changes)
        # node id -> (fill, name as drawn, name drawn dark, the step's name)
        self._styles: dict[str, tuple[QColor, str, bool, str]] = {}
        self._styles_dark = theme.DARK  # the theme they were made in
        self._hidden_looks: set[str] = set()  # cards whose looks changed while it was not showing
        self._looks = BlockLooks()  # the blocks by fill, their names and marks, kept per card
        self._looks_stale = True  # ... to gather again from every card (the geometry or the theme changed)
        self._fills: dict[int, tuple[QColor, list[QRectF]]] = {}  # rgba -> (colour, blocks)
        self._elided: dict[str, str] = {}  # name (with its state mark) -> as it fits a block
        self._selected: list[QRectF] = []
        self._critical: list[QRectF] = []
        self._overlays = Overlays(on_ready=lambda: repaint_views(scene))  # lit, critical, drop-target edges
        self._bounds = QRectF()
        self._switch = DrawnSwitch()
        self._crisp = DrawnSwitch()  # the cards' cache modes, at a zoom gesture's start and end
        self.setZValue(0.5)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)  # exposedRect for culling
        self.setVisible(False)

    def set_active(self, on: bool) -> None:
        if on == self.active:
            return
        self.active = on
        layer = self._scene.edge_layer.enabled  # the edges are never drawn by Qt then
        items: list[QGraphicsItem] = [*self._scene.nodes.values(), *([] if layer else self._scene.edges.values())]
        in_view = self._in_view(layer) if len(items) > SLICED_ABOVE and not on else ()  # far out, the view paints
        scene = self._scene  # ... itself; leaving it, a card is cached as it is drawn in detail once switched

        def crisp(item: QGraphicsItem) -> None:
            if isinstance(item, NodeItem):
                item.set_crisp(not scene.zooming)

        self._switch.switch(items, not on, in_view, None if on else crisp)
        self.setVisible(on)
        if on:  # looks kept across zooms but for the cards whose looks changed meanwhile (``note_hidden``)
            if self._styles_dark != theme.DARK:
                self._styles, self._styles_dark = {}, theme.DARK
            for node_id in self._hidden_looks:
                self._styles.pop(node_id, None)
            self._hidden_looks = set()
            self.rebuild()

    def set_crisp(self, crisp: bool) -> None:
        """The cards' cache modes for a zoom gesture (``NodeItem.set_crisp``): in a big scene those in view at
        once and the others a slice at a time (setting all 10,000 took 20 ms of a wheel step and of the
        turn the zoom settled in)."""
        cards: list[QGraphicsItem] = list(self._scene.nodes.values())
        in_view = self._in_view(True) if len(cards) > SLICED_ABOVE else ()
        self._crisp.switch(cards, None, in_view, lambda card: card.set_crisp(crisp))  # type: ignore[attr-defined]

    @property
    def busy(self) -> bool:
        """Cards still to switch (drawn or not, or their cache modes)."""
        return self._switch.busy or self._crisp.busy

    def note_hidden(self, node_id: str | None, edge_id: str | None) -> None:
        """Card ``node_id``'s or edge ``edge_id``'s looks changed while the overview was not showing (a run, a
        badge): they are made again when it shows (making all 10,000 cards' looks, and finding the edges with
        a look among 100,000, took 50-70 ms of each zoom into it)."""
        if node_id is not None:
            self._hidden_looks.add(node_id)
        if edge_id is not None:
            self._overlays.looked.add(edge_id)

    def _in_view(self, cards_only: bool) -> list[QGraphicsItem]:
        """The cards and edges (and other items; ``cards_only``: the cards) in the scene's views, with a
        margin of half a view. The cards come from the overview's blocks (and those not placed there yet):
        asking the scene's index, which also holds 100,000 edges' boxes, took 26 ms."""
        areas = []
        for view in self._scene.views():
            rect = view.mapToScene(view.viewport().rect()).boundingRect()
            areas.append(rect.adjusted(-rect.width() / 2, -rect.height() / 2, rect.width() / 2, rect.height() / 2))
        if not cards_only:  # boxes only: no edge's hit shape stroked
            mode = Qt.ItemSelectionMode.IntersectsItemBoundingRect
            return [item for area in areas for item in self._scene.items(area, mode)]
        rects, moved, nodes = self._rects, self.geometry.touched_nodes, self._scene.nodes
        found: list[QGraphicsItem] = [nodes[n] for n in moved if n in nodes]
        found += [item for n, item in nodes.items() if n not in rects]
        for area in areas:
            found += [nodes[n] for n, rect in rects.items() if area.intersects(rect) and n in nodes]
        return found

    def finish_switching(self) -> None:
        """Switch what is still waiting now (an export, a test)."""
        self._switch.finish()
        self._crisp.finish()

    def adopt(self, item: QGraphicsItem) -> None:
        """A card or edge created while the overview is showing starts undrawn."""
        if self.active:
            _set_drawn(item, False)
        if isinstance(item, NodeItem):
            self.geometry.touch_node(item.node_id)
            self._styles.pop(item.node_id, None)  # (a card made again: undo)
        elif isinstance(item, EdgeItem):
            self.geometry.touch_edge(item.edge_id)

    def rebuild(self) -> None:
        """Everything again: the blocks' and edges' geometry, then their looks."""
        for _ in self.rebuild_parts():
            pass

    def rebuild_parts(self) -> Iterator[None]:
        """``rebuild`` a part at a time, yielding between parts (the scene's sliced pass); what is drawn
        changes only at the end, all at once. The scene drops it when its cards or edges change meanwhile.
        The geometry is kept across zooms (``overview_geometry``): only what edits touched is made again."""
        if not self.active:
            return
        scene = self._scene
        self._moved |= yield from self.geometry.update_parts(scene.nodes, scene.edges, keep=not scene.building)
        nodes, styles = scene.nodes, self._styles
        renamed = [n for n, item in nodes.items() if (style := styles.get(n)) is None or style[3] != item.name]
        fresh: dict[str, tuple[QColor, str, bool, str]] = {}  # the looks of the cards renamed or new
        for i, node_id in enumerate(renamed, 1):
            if node_id in nodes:
                fresh[node_id] = self._style(nodes[node_id])
            if i % STYLES_PART == 0:
                yield
        if not self.active:
            return
        rects = self._rects = self.geometry.rects
        # no block moved, came or went and no look changed: the blocks' fills and names as last made (10 ms)
        same = not fresh and not self._moved and self._base_color == theme.EDGE.rgba()
        if self._moved or self._base_color != theme.EDGE.rgba():  # (the theme switched meanwhile)
            self._moved, self._base_color = False, theme.EDGE.rgba()
            self.prepareGeometryChange()
            solid_pen = theme.cosmetic_pen(theme.EDGE)
            dashed_pen = theme.cosmetic_pen(theme.EDGE, 0.0, Qt.PenStyle.DashLine)
            paths = self.geometry.paths()
            self._base = [(solid_pen, p) for dashed, p in paths if not dashed]
            self._base += [(dashed_pen, p) for dashed, p in paths if dashed]
            self._edge_image.changed()
            self._bounds = self.geometry.bounds
        self._overlays.clear()
        self._styles = {n: style for n, style in self._styles.items() if n in rects} | fresh
        self._looks_stale = self._looks_stale or not same  # (else the blocks as last gathered, kept per card)
        self.restyle([])  # the others' looks did not change with their geometry

    def restyle(self, node_ids: Iterable[str] | None = None, edge_ids: Iterable[str] = ()) -> None:
        """The looks again, on the geometry as it is: a run's states, the selection, badges, lit edges.
        ``node_ids``: only these cards changed their looks (a run's update), None: any may have; ``edge_ids``:
        these edges' looks changed."""
        for _ in self.restyle_parts(node_ids, edge_ids):
            pass

    def restyle_parts(self, node_ids: Iterable[str] | None = None, edge_ids: Iterable[str] = ()) -> Iterator[None]:
        """``restyle``, yielding every ``STYLES_PART`` cards' looks (the scene's sliced pass: Stop restyled
        6,000 cancelled cards in one piece, 85 ms); what is drawn changes at the end, all at once."""
        if not self.active:
            return
        nodes = self._scene.nodes
        changed = list(nodes) if node_ids is None else [n for n in node_ids if n in nodes]
        styles = self._styles
        for i, node_id in enumerate(changed, 1):
            item = nodes.get(node_id)
            if item is not None:
                styles[node_id] = self._style(item)
            if i % STYLES_PART == 0:
                yield
        if not self.active:
            return
        if self._looks_stale or node_ids is None or len(changed) > len(self._rects) // 4:  # (a run's start)
            self._looks_stale, looks = True, BlockLooks()  # (gathered afresh in parts, shown at the end)
            yield from looks.rebuild_parts(self._rects, styles, nodes)
            if not self.active:
                return
            self._looks, self._looks_stale = looks, False
        else:  # the cards changed alone (all 10,000 gathered again: 10-25 ms)
            self._looks.update(changed, self._rects, styles, nodes)
        self._fills = self._looks.fill_lists()
        self._critical = list(self._looks.critical.values())
        self._selected = [
            self._rects[i.node_id]
            for i in self._scene.selectedItems()
            if isinstance(i, NodeItem) and i.node_id in self._rects
        ]
        if not self._overlays.known:
            self._overlays.looked.update(edge_ids)
            self._overlays.update(self._scene.edges)
        elif edge_ids:
            self._overlays.update(self._scene.edges, edge_ids)
        self.update()
        repaint_views(self._scene)

    def _style(self, item: NodeItem) -> tuple[QColor, str, bool, str]:
        """A card's block: (fill, name as drawn, name drawn dark, the step's name)."""
        badge = item.run_badge if item.run_badge is not None and not item.run_badge.estimate else None
        color = badge.color if badge is not None else theme.kind_color(item.kind)
        mark = ICONS.get(badge.status, "") if badge is not None and badge.status != "pending" else ""
        text = self._fit(f"{mark} {item.name}" if mark else item.name)
        return color, text, color.lightness() > LIGHT, item.name

    def _fit(self, name: str) -> str:
        """``name`` elided to a block's width (remembered: a run redraws the overview many times)."""
        fitted = self._elided.get(name)
        if fitted is None:
            if len(self._elided) > 10_000:
                self._elided.clear()
            metrics = QFontMetricsF(theme.canvas_font(*geo.BLOCK_FONT))
            fitted = self._elided[name] = metrics.elidedText(name, Qt.TextElideMode.ElideRight, geo.CARD_WIDTH - 12)
        return fitted

    def boundingRect(self) -> QRectF:
        return self._bounds

    def stand_in(self, painter: QPainter) -> bool:
        """Draw the edges' last image, stretched, for a detailed frame whose own image is not ready."""
        return self._edge_image.stretch_onto(painter)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        exposed = option.exposedRect
        self._edge_image.paint(painter, self._base, self._bounds, exposed, self._scene.zooming)
        self._overlays.paint(painter, self._bounds, exposed, self._scene.zooming)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setPen(Qt.PenStyle.NoPen)
        for color, rects in self._fills.values():
            painter.setBrush(color)
            painter.drawRects(rects)
        if lod * geo.BLOCK_FONT[0] >= 6:  # names, where they are readable and in view
            painter.setFont(theme.canvas_font(*geo.BLOCK_FONT))
            for dark in (False, True):  # white on the kind and strong state colours, dark on light ones
                painter.setPen(DARK_TEXT if dark else Qt.GlobalColor.white)
                for rect, name, on_light in self._looks.names.values():
                    if on_light == dark and exposed.intersects(rect):
                        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, name)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if self._critical:
            painter.setPen(theme.cosmetic_pen(theme.CRITICAL, 3.0))
            painter.drawRects(self._critical)
        if self._selected:
            painter.setPen(theme.cosmetic_pen(theme.SELECTION, 2.0))
            painter.drawRects(self._selected)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        if lod >= PORT_MIN_LOD:
            self._paint_ports(painter, lod, exposed)
        radius = max(geo.PROBLEM_RADIUS, BADGE_PIXELS / max(lod, 1e-3))
        area = exposed.adjusted(-radius, -radius, radius, radius)
        for corner, severity in self._looks.problems.values():
            if area.contains(corner):
                paint_problem_badge(painter, corner, severity, radius)

    def _paint_ports(self, painter: QPainter, lod: float, exposed: QRectF) -> None:
        """The ports in view, one ellipse at a time: one path of all of them (700 at 30 % on the limits'
        biggest graph) took Qt's filler 57 ms a frame, and 3,000 a second (it grows faster than the count)."""
        radius = max(geo.PORT_RADIUS, PORT_PIXELS / lod)
        area = exposed.adjusted(-radius, -radius, radius, radius)
        nodes = self._scene.nodes
        painter.setPen(theme.cosmetic_pen(theme.EDGE, 1.5))
        painter.setBrush(theme.CARD_FILL)
        for node_id, rect in self._rects.items():
            if not area.intersects(rect):
                continue
            item = nodes.get(node_id)
            middle = rect.top() + rect.height() / 2
            if item is not None and "in" in item.sides:
                painter.drawEllipse(QPointF(rect.left(), middle), radius, radius)
            if item is not None and "out" in item.sides:
                painter.drawEllipse(QPointF(rect.right(), middle), radius, radius)
