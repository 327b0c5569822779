"""Edges (solid when the target uses the source's output, dashed when the edge only orders the steps),
the live curve drawn while dragging a new connection, and the translucent layer bands."""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen, QTransform
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QGraphicsSimpleTextItem,
    QStyle,
    QStyleOptionGraphicsItem,
    QWidget,
)

from chainstudio.ui import theme
from chainstudio.ui.canvas import geometry as geo
from chainstudio.ui.canvas.edge_hit import may_touch

if TYPE_CHECKING:
    from chainstudio.ui.canvas.edge_layer import EdgeLayer

THIN_PX = 1.25  # an edge narrower than this on screen is drawn with a one-pixel (cosmetic) pen
ORDERING_ONLY_TIP = "ordering only: the target never uses this output"
SHAPE_MODES = (Qt.ItemSelectionMode.IntersectsItemShape, Qt.ItemSelectionMode.ContainsItemShape)
Look = tuple[QColor, float, bool]  # an edge's colour, width (scene units) and whether it is dashed


class EdgeItem(QGraphicsRectItem):
    """An edge's curve and arrow head. The biggest graph has 100,000 of them, so an edge keeps only what it
    cannot recompute: its two ends (``path()``, the arrow and the curve's control points are made from them
    when asked; the hit shape is stroked when first asked for, which most edges of a big graph never are)
    and its looks, in slots (no per-edge ``__dict__``). Qt's own rectangle is the item's bounding box (drawn
    by no pen), so Qt computes ``boundingRect`` itself: a hit test asks it of every item in the index's cells
    around the point (thousands of long edges in the biggest graph), and a Python ``boundingRect`` cost
    2-3 µs a call there. 3.4 KB an edge with the curve, arrow and box kept as paths; 1.3 KB now."""

    __slots__ = (
        "edge_id",
        "source_id",
        "target_id",
        "ordering_only",
        "flashing",
        "drop_target",
        "layer",
        "flow",
        "_shape",
        "_ends",
    )

    def __init__(self, edge_id: str, source_id: str, target_id: str):
        super().__init__()
        self.setPen(Qt.PenStyle.NoPen)  # Qt's bounding box: its rectangle, no pen width added
        self.edge_id, self.source_id, self.target_id = edge_id, source_id, target_id
        self.ordering_only = False
        self.flashing = False
        self.drop_target = False  # a step dragged from the palette would be inserted here
        self.layer: EdgeLayer | None = None  # told of every change (set by the layer)
        self.flow: str | None = None  # "lit" (its data arrived in a run) or "critical" (on the critical path)
        self._shape: QPainterPath | None = None
        self._ends: array[float] | tuple[()] = ()  # x0, y0, x1, y1: the output port and the input port
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setZValue(0.0)
        self.setAcceptHoverEvents(True)

    def set_ends(self, start: QPointF, end: QPointF) -> None:
        self._ends = array("d", (start.x(), start.y(), end.x(), end.y()))
        self._shape = None
        bounds = self.path().boundingRect().united(self.arrow().boundingRect()).adjusted(-4, -4, 4, 4)
        self.setRect(bounds)  # Qt's boundingRect is this
        self._tell_layer()

    @property
    def ends(self) -> tuple[float, ...]:
        """x0, y0, x1, y1: the output port and the input port (() before they are set)."""
        return tuple(self._ends)

    def path(self) -> QPainterPath:
        """The curve (made again at each call: an edge keeps only its ends)."""
        return curve_of(self._ends)

    def add_curve_to(self, path: QPainterPath) -> None:
        """Add the curve to ``path`` as a subpath (the overview's paths of many edges)."""
        if self._ends:
            geo.add_edge_curve(path, *self._ends)

    def arrow(self) -> QPainterPath:
        return arrow_of(self._ends)

    def controls(self) -> tuple[float, ...]:
        """The curve's control points (x, y four times), for hit tests without its shape; () without ends."""
        return geo.edge_controls(*self._ends) if self._ends else ()

    def set_ordering_only(self, on: bool) -> None:
        if on != self.ordering_only:
            self.ordering_only = on
            if not on and self.toolTip():
                self.setToolTip("")
            self.update()
            self._tell_layer()

    def hoverEnterEvent(self, event) -> None:
        """The tooltip is set when the edge is hovered: Qt keeps a tooltip as a string of the item's own, and
        90,000 dashed edges of the biggest graph held 20 MB of the same words."""
        tip = ORDERING_ONLY_TIP if self.ordering_only else ""
        if self.toolTip() != tip:
            self.setToolTip(tip)
        super().hoverEnterEvent(event)

    def set_flow(self, flow: str | None) -> None:
        if flow != self.flow:
            self.flow = flow
            self.update()
            self._tell_overview(urgent=False)
            self._tell_layer()

    def set_drop_target(self, on: bool) -> None:
        if on != self.drop_target:
            self.drop_target = on
            self.update()
            self._tell_overview()
            self._tell_layer()

    def _tell_overview(self, urgent: bool = True) -> None:
        mark = getattr(self.scene(), "mark_overview", None)  # a CanvasScene redraws its overview
        if mark is not None:
            mark(edge_id=self.edge_id, urgent=urgent)

    def _tell_layer(self) -> None:
        if self.layer is not None:  # a CanvasScene's edge layer draws many edges as an image
            self.layer.touch(self)

    def shape(self) -> QPainterPath:
        if self._shape is None:
            self._shape = geo.hit_shape(self.path())
        return self._shape

    def contains(self, point) -> bool:  # a QPointF (Qt asks with one)
        """Whether the hit shape contains ``point``; the curve's control points rule out most edges first."""
        x, y = point.x(), point.y()
        controls = self.controls()
        return bool(controls) and may_touch(controls, x, y, x, y) and self.shape().contains(point)

    def collidesWithPath(self, path: QPainterPath, mode=Qt.ItemSelectionMode.IntersectsItemShape) -> bool:  # noqa: N802
        """As Qt's, with the same quick refusal as ``contains`` for a query far from the curve."""
        controls = self.controls()
        if mode in SHAPE_MODES and controls and not path.isEmpty():
            area = path.controlPointRect()
            if not may_touch(controls, area.left(), area.top(), area.right(), area.bottom()):
                return False
        return super().collidesWithPath(path, mode)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        stroke_edge(painter, self.path(), self.arrow(), self.look(selected), lod)

    def look(self, selected: bool) -> Look:
        """The edge's colour, width and dash as it is drawn now (``selected``: drawn as selected)."""
        color = theme.REFUSED if self.flashing else (theme.SELECTION if selected else theme.EDGE)
        width = 3.0 if selected else 1.8
        if self.drop_target:
            color, width = theme.DROP_TARGET, 4.0
        if not (selected or self.flashing) and self.flow is not None:
            color, width = (theme.CRITICAL, 3.5) if self.flow == "critical" else (theme.EDGE_LIT, 2.6)
        return color, width, self.ordering_only


def curve_of(ends: Sequence[float]) -> QPainterPath:
    """An edge's curve from its ``ends`` (x0, y0, x1, y1; empty without them)."""
    path = QPainterPath()
    if ends:
        geo.add_edge_curve(path, *ends)
    return path


def arrow_of(ends: Sequence[float]) -> QPainterPath:
    """An edge's arrow head from its ``ends`` (empty without them)."""
    return geo.arrow_head(QPointF(ends[2], ends[3])) if ends else QPainterPath()


def stroke_edge(painter: QPainter, curve: QPainterPath, arrow: QPainterPath, look: Look, lod: float) -> None:
    """An edge's curve and arrow head in ``look`` at zoom ``lod`` (the one home of how an edge is drawn: the
    items, and the image of many edges drawn on a worker thread, ``edge_layer``)."""
    color, width, dashed = look
    pen = QPen(color, width)
    if dashed:
        pen.setStyle(Qt.PenStyle.DashLine)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    if lod < 0.5:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)  # thin and many: speed first
        pen.setWidthF(0)
        painter.setPen(pen)
        painter.drawPath(curve)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        return
    if lod * width < THIN_PX:  # about a pixel wide on screen: a cosmetic pen, 15-35x faster to dash
        pen.setWidthF(0)
        painter.setPen(pen)
    painter.drawPath(curve)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    painter.drawPath(arrow)


class DragCurveItem(QGraphicsPathItem):
    """The curve that follows the cursor while connecting, green over a valid target, red with the
    reason over a refused one."""

    def __init__(self, anchor: QPointF, from_output: bool):
        super().__init__()
        self.anchor, self.from_output = anchor, from_output
        self.setZValue(10.0)
        self.reason = QGraphicsSimpleTextItem(self)
        self.reason.setBrush(theme.REFUSED)
        self.reason.setFont(theme.canvas_font(12, True))
        # the reason stays readable however far out the view is (drawn at screen size next to the cursor)
        self.reason.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.set_state(None)

    def follow(self, cursor: QPointF) -> None:
        start, end = (self.anchor, cursor) if self.from_output else (cursor, self.anchor)
        self.setPath(geo.edge_path(start, end))
        self.reason.setPos(cursor)
        self.reason.setTransform(QTransform.fromTranslate(14, 10))  # screen pixels off the cursor

    def set_state(self, ok: bool | None, reason: str = "") -> None:
        """None: over nothing; True: a valid target; False: refused because of ``reason``."""
        color = {None: theme.EDGE, True: theme.EDGE_OK, False: theme.REFUSED}[ok]
        pen = QPen(color, 2.2)
        pen.setCosmetic(True)  # as thick on screen at any zoom
        if ok is None:
            pen.setStyle(Qt.PenStyle.DashLine)
        self.setPen(pen)
        self.reason.setText(reason if ok is False else "")


class LayerBandItem(QGraphicsRectItem):
    """A translucent band behind one parallel layer, labelled like 'Layer 2 · 3 in parallel'. A rectangle item
    drawn by ``paint`` (its own pen none), so Qt knows its bounding box without calling into Python."""

    def __init__(self, index: int):
        super().__init__()
        self.setPen(Qt.PenStyle.NoPen)
        self.index = index
        self.label = ""
        self._rect = QRectF()
        self.setZValue(-10.0)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)  # exposedRect: drawn where seen

    def set_band(self, rect: QRectF, label: str) -> None:
        if rect != self._rect:
            self._rect = rect
            self.setRect(rect)
        if label != self.label:
            self.label = label
            self.update()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        draw_band(painter, self._rect, self.index, self.label, lod, option.exposedRect)


def draw_band(
    painter: QPainter, rect: QRectF, index: int, label: str, lod: float, exposed: QRectF | None = None
) -> None:
    """One layer band: a translucent rounded rectangle, its label on top while readable at zoom ``lod``.
    Given the ``exposed`` area, only what shows there is drawn: a band of a big graph runs far past the view
    on both sides (filling and outlining whole bands took 15-30 ms of a frame at 55-60 %)."""
    painter.setBrush(theme.BAND_FILLS[index % 2])
    painter.setPen(QPen(theme.BAND_BORDER, 1.0) if lod >= geo.DETAIL_LOD else Qt.PenStyle.NoPen)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)  # a big translucent fill: fast path
    shown = geo.band_in_view(rect, exposed, lod) if exposed is not None else rect
    if shown.isValid():
        painter.drawRoundedRect(shown, geo.BAND_RADIUS, geo.BAND_RADIUS)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    # far out, the label is drawn bigger (like the overview's names) while it stays readable
    pixels = geo.BAND_FONT[0] if lod >= geo.DETAIL_LOD else geo.BAND_FONT_FAR
    if lod * pixels < 6:
        return
    if exposed is not None and not geo.band_label_area(rect, label, pixels).intersects(exposed):
        return
    painter.setPen(theme.BAND_TEXT)
    painter.setFont(theme.canvas_font(pixels, True))
    painter.drawText(rect.adjusted(12, 2, -8, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, label)
