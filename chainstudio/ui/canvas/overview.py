"""The overview drawing used when zoomed far out.

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

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from chainstudio.ui import theme
from chainstudio.ui.canvas import geometry as geo
from chainstudio.ui.canvas.node_item import paint_problem_badge
from chainstudio.ui.canvas.run_overlay import ICONS

if TYPE_CHECKING:
    from chainstudio.ui.canvas.scene import CanvasScene

PORT_PIXELS = 4.0  # a port's radius on screen in the overview
PORT_MIN_LOD = 0.12  # further out than this, blocks are too small for ports to matter
BADGE_PIXELS = 7.0
LIGHT = 150  # a block colour lighter than this gets dark text (pending, queued, skipped)
DARK_TEXT = QColor("#1d232b")


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
        self._fills: dict[int, tuple[QColor, list[QRectF]]] = {}  # rgba -> (colour, blocks)
        self._names: list[tuple[QRectF, str, bool]] = []  # block, name, drawn dark (on a light state colour)
        self._elided: dict[str, str] = {}  # name (with its state mark) -> as it fits a block
        self._selected: list[QRectF] = []
        self._critical: list[QRectF] = []
        self._problems: list[tuple[QPointF, str]] = []
        self._ports: list[QPointF] = []
        self._paths: list[tuple[QPen, QPainterPath]] = []
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
        fills: dict[int, tuple[QColor, list[QRectF]]] = {}
        names, selected, critical, problems, ports = [], [], [], [], []
        bounds = QRectF()
        for item in self._scene.nodes.values():
            rect = geo.node_rect_at(item.pos())
            badge = item.run_badge if item.run_badge is not None and not item.run_badge.estimate else None
            color = badge.color if badge is not None else theme.kind_color(item.kind)
            fills.setdefault(color.rgba(), (color, []))[1].append(rect)
            mark = ICONS.get(badge.status, "") if badge is not None and badge.status != "pending" else ""
            names.append((rect, self._fit(f"{mark} {item.name}" if mark else item.name), color.lightness() > LIGHT))
            bounds = bounds.united(rect)
            if item.isSelected():
                selected.append(rect)
            if item.critical:
                critical.append(rect)
            if item.problem is not None:
                problems.append((rect.topRight(), item.problem))
            ports += [port.scenePos() for port in (item.input_port, item.output_port) if port is not None]
        self.prepareGeometryChange()
        self._fills, self._names, self._selected, self._critical = fills, names, selected, critical
        self._problems, self._ports = problems, ports
        self._paths = self._edge_paths()
        for _pen, path in self._paths:
            bounds = bounds.united(path.boundingRect())
        self._bounds = bounds.adjusted(-12, -12, 12, 12)
        self.update()

    def _fit(self, name: str) -> str:
        """``name`` elided to a block's width (remembered: a run redraws the overview many times)."""
        fitted = self._elided.get(name)
        if fitted is None:
            if len(self._elided) > 10_000:
                self._elided.clear()
            metrics = QFontMetricsF(theme.canvas_font(*geo.BLOCK_FONT))
            fitted = self._elided[name] = metrics.elidedText(name, Qt.TextElideMode.ElideRight, geo.CARD_WIDTH - 12)
        return fitted

    def _edge_paths(self) -> list[tuple[QPen, QPainterPath]]:
        """The edges as one path per look: plain, ordering only (dashed), lit by a run, critical, drop target."""
        looks = {
            "solid": _cosmetic(theme.EDGE),
            "dashed": _cosmetic(theme.EDGE, 0.0, Qt.PenStyle.DashLine),
            "lit": _cosmetic(theme.EDGE_LIT, 2.0),
            "critical": _cosmetic(theme.CRITICAL, 3.0),
            "drop": _cosmetic(theme.DROP_TARGET, 3.0),
        }
        paths = {name: QPainterPath() for name in looks}
        for edge in self._scene.edges.values():
            if edge.drop_target:
                look = "drop"
            elif edge.flow is not None:
                look = "critical" if edge.flow == "critical" else "lit"
            else:
                look = "dashed" if edge.ordering_only else "solid"
            paths[look].addPath(edge.path())
        return [(looks[name], path) for name, path in paths.items() if not path.isEmpty()]

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        exposed = option.exposedRect
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for pen, path in self._paths:
            painter.setPen(pen)
            painter.drawPath(path)
        painter.setPen(Qt.PenStyle.NoPen)
        for color, rects in self._fills.values():
            painter.setBrush(color)
            painter.drawRects(rects)
        if lod * geo.BLOCK_FONT[0] >= 6:  # names, where they are readable and in view
            painter.setFont(theme.canvas_font(*geo.BLOCK_FONT))
            for dark in (False, True):  # white on the kind and strong state colours, dark on light ones
                painter.setPen(DARK_TEXT if dark else Qt.GlobalColor.white)
                for rect, name, on_light in self._names:
                    if on_light == dark and exposed.intersects(rect):
                        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, name)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if self._critical:
            painter.setPen(_cosmetic(theme.CRITICAL, 3.0))
            painter.drawRects(self._critical)
        if self._selected:
            painter.setPen(_cosmetic(theme.SELECTION, 2.0))
            painter.drawRects(self._selected)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        if lod >= PORT_MIN_LOD:
            self._paint_ports(painter, lod, exposed)
        radius = max(geo.PROBLEM_RADIUS, BADGE_PIXELS / max(lod, 1e-3))
        area = exposed.adjusted(-radius, -radius, radius, radius)
        for corner, severity in self._problems:
            if area.contains(corner):
                paint_problem_badge(painter, corner, severity, radius)

    def _paint_ports(self, painter: QPainter, lod: float, exposed: QRectF) -> None:
        radius = max(geo.PORT_RADIUS, PORT_PIXELS / lod)
        area = exposed.adjusted(-radius, -radius, radius, radius)
        dots = QPainterPath()
        for centre in self._ports:
            if area.contains(centre):
                dots.addEllipse(centre, radius, radius)
        painter.setPen(_cosmetic(theme.EDGE, 1.5))
        painter.setBrush(theme.CARD_FILL)
        painter.drawPath(dots)
