"""The overview drawing used when zoomed far out.

Below the detail zoom, painting thousands of cards, ports and edges one Python ``paint`` call at a time
costs more than a frame. The scene then marks its cards and edges (and their ports) as having no contents,
so Qt skips painting them while they stay selectable, movable and clickable (a fully transparent item would
not: Qt leaves it out of hit tests), and this one item draws them all instead:
rectangles per node kind in one ``drawRects`` call each, names only where readable and in view, and the
edges as two combined paths, without anti-aliasing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from chainstudio.ui import theme
from chainstudio.ui.canvas import geometry as geo

if TYPE_CHECKING:
    from chainstudio.ui.canvas.scene import CanvasScene


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
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(_cosmetic(theme.EDGE))
        painter.drawPath(self._solid)
        painter.setPen(_cosmetic(theme.EDGE, 0.0, Qt.PenStyle.DashLine))
        painter.drawPath(self._dashed)
        painter.setPen(Qt.PenStyle.NoPen)
        for kind, rects in self._rects.items():
            painter.setBrush(theme.kind_color(kind))
            painter.drawRects(rects)
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod * geo.BLOCK_FONT[0] >= 6:  # names, where they are readable and in view
            painter.setPen(Qt.GlobalColor.white)  # on the kind colours, in light and dark alike
            painter.setFont(theme.canvas_font(*geo.BLOCK_FONT))
            exposed = option.exposedRect
            for rect, name in self._names:
                if exposed.intersects(rect):
                    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, name)
        if self._selected:
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(_cosmetic(theme.SELECTION, 2.0))
            painter.drawRects(self._selected)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
