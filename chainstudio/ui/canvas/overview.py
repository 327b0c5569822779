"""The overview drawing used when zoomed far out.

Below the detail zoom, painting thousands of cards, ports and edges one Python ``paint`` call at a time
costs more than a frame. The scene then marks its cards and edges (and their ports) as having no contents,
so Qt skips painting them while they stay selectable, movable and clickable (a fully transparent item would
not: Qt leaves it out of hit tests), and this one item draws them all instead:
rectangles per node kind in one ``drawRects`` call each, names only where readable and in view, and the
edges as two combined paths, without anti-aliasing (the ordering-only edges, dashed up close, faded: a
dash pattern over 100,000 edges costs seconds a paint).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from chainstudio.core.graph.model import Graph
from chainstudio.core.graph.validation import ordering_only_edges
from chainstudio.ui import theme
from chainstudio.ui.canvas import geometry as geo

if TYPE_CHECKING:
    from chainstudio.ui.canvas.scene import CanvasScene


def _faded(color: QColor, into: QColor, amount: float) -> QColor:
    """``color`` moved ``amount`` of the way to ``into``, opaque (a translucent pen strokes a path slowly)."""
    pairs = zip((color.red(), color.green(), color.blue()), (into.red(), into.green(), into.blue()), strict=True)
    mix = [round(a + (b - a) * amount) for a, b in pairs]
    return QColor(*mix)


def overview_wanted(zoom: float) -> bool:
    return zoom < geo.DETAIL_LOD


def _set_drawn(item: QGraphicsItem, drawn: bool) -> None:
    """Let Qt paint ``item`` and its parts, or skip them; either way they keep taking the mouse."""
    parts = [item]
    while parts:
        part = parts.pop()
        part.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, not drawn)
        parts.extend(part.childItems())


def _cosmetic(color, width: float = 0.0, style=Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(color, width, style)
    pen.setCosmetic(True)
    return pen


class OverviewItem(QGraphicsItem):
    def __init__(self, scene: CanvasScene):
        super().__init__()
        self._scene = scene
        self.active = False
        self._rects: dict[str, list[QRectF]] = {}
        self._names: list[tuple[QRectF, str]] = []
        self._selected: list[QRectF] = []
        self._solid = QPainterPath()
        self._dashed = QPainterPath()
        self._bounds = QRectF()
        self.setZValue(0.5)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)  # exposedRect for culling
        self.setVisible(False)

    def set_active(self, on: bool) -> None:
        if on == self.active:
            return
        self.active = on
        for item in [*self._scene.nodes.values(), *self._scene.edges.values()]:
            _set_drawn(item, not on)
        self.setVisible(on)
        self.rebuild()

    def adopt(self, item: QGraphicsItem) -> None:
        """A card or edge created while the overview is showing starts undrawn."""
        if self.active:
            _set_drawn(item, False)

    def rebuild(self) -> None:
        if not self.active:
            return
        rects: dict[str, list[QRectF]] = {}
        names = []
        selected = []
        bounds = QRectF()
        for item in self._scene.nodes.values():
            rect = item.sceneBoundingRect().adjusted(3, 3, -3, -3)
            rects.setdefault(item.kind, []).append(rect)
            names.append((rect, item.name))
            bounds = bounds.united(rect)
            if item.isSelected():
                selected.append(rect)
        solid, dashed = QPainterPath(), QPainterPath()
        for edge in self._scene.edges.values():
            (dashed if edge.ordering_only else solid).addPath(edge.path())
        self.prepareGeometryChange()
        self._rects, self._names, self._selected = rects, names, selected
        self._solid, self._dashed = solid, dashed
        self._bounds = bounds.united(solid.boundingRect()).united(dashed.boundingRect()).adjusted(-4, -4, 4, 4)
        self.update()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        parts = OverviewParts(self._rects, self._names, self._selected, self._solid, self._dashed)
        draw_overview(painter, parts, lod, option.exposedRect)


class OverviewParts(NamedTuple):
    rects: dict[str, list[QRectF]]  # node kind -> its cards' rectangles
    names: list[tuple[QRectF, str]]
    selected: list[QRectF]
    solid: QPainterPath  # every edge whose output is used, in one path
    dashed: QPainterPath  # the ordering-only edges


def overview_parts(graph: Graph) -> OverviewParts:
    """What the overview draws for ``graph``, straight from the model (no scene, no items): for exports of
    graphs too big to build a scene for in good time."""
    rects: dict[str, list[QRectF]] = {}
    names = []
    for node in graph.nodes.values():
        rect = geo.node_rect_at(node.position)
        rects.setdefault(node.kind, []).append(rect)
        names.append((rect, node.name))
    dashed_ids = ordering_only_edges(graph)
    solid, dashed = QPainterPath(), QPainterPath()
    out, into = geo.output_port_offset(), geo.input_port_offset()
    nodes = graph.nodes
    for edge in graph.edges.values():
        source, target = nodes.get(edge.source), nodes.get(edge.target)
        if source is not None and target is not None:
            (sx, sy), (tx, ty) = source.position, target.position
            path = dashed if edge.id in dashed_ids else solid
            geo.add_edge_curve(path, sx + out.x(), sy + out.y(), tx + into.x(), ty + into.y())
    return OverviewParts(rects, names, [], solid, dashed)


def draw_overview(painter: QPainter, parts: OverviewParts, lod: float, exposed: QRectF) -> None:
    """Edges as two combined paths, cards as one ``drawRects`` per kind, names where readable and in
    ``exposed``, the selection's outlines; without anti-aliasing."""
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.setPen(_cosmetic(theme.EDGE))
    painter.drawPath(parts.solid)
    painter.setPen(_cosmetic(_faded(theme.EDGE, theme.CANVAS_BACKGROUND, 0.6)))  # not dashed: dashing 100,000
    # edges takes seconds a paint
    painter.drawPath(parts.dashed)
    painter.setPen(Qt.PenStyle.NoPen)
    for kind, rects in parts.rects.items():
        painter.setBrush(theme.kind_color(kind))
        painter.drawRects(rects)
    if lod * geo.BLOCK_FONT[0] >= 6:  # names, where they are readable and in view
        painter.setPen(Qt.GlobalColor.white)  # on the kind colours, in light and dark alike
        painter.setFont(theme.canvas_font(*geo.BLOCK_FONT))
        for rect, name in parts.names:
            if exposed.intersects(rect):
                painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, name)
    if parts.selected:
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(_cosmetic(theme.SELECTION, 2.0))
        painter.drawRects(parts.selected)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
