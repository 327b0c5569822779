"""A node drawn as a card (name, kind, model, prompt preview) with an input and an output port.

Items only display: moving a card moves the item; the scene turns the finished move into a command.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (QGraphicsEllipseItem, QGraphicsItem, QStyle, QStyleOptionGraphicsItem,
                               QWidget)

from chainstudio.core.model import Node
from chainstudio.core.node_types import node_kind
from chainstudio.ui import theme
from chainstudio.ui.canvas import geometry as geo

NAME_FONT = (14, True)  # pixel size, bold
KIND_FONT = (11, False)
BODY_FONT = (11, False)
BLOCK_FONT = (26, True)
DETAIL_LOD = 0.3  # below this zoom, cards are drawn as plain coloured blocks


def card_lines(node: Node) -> tuple[str, list[str]]:
    """The card's detail line (model, input...) and the text to preview."""
    if node.kind == "llm":
        detail = f"{node.param('model')} · t={node.param('temperature'):g} · {node.param('max_tokens')} tok"
        text = str(node.param("prompt") or "")
    elif node.kind == "input":
        detail = f"graph input: {node.param('input') or node.name}"
        text = ""
    else:
        text = str(node.param("template") or "")
        detail = "template" if text.strip() else ("returns the upstream outputs" if node.kind == "output"
                                                   else "empty template")
    preview = [line.strip() for line in text.splitlines() if line.strip()]
    return detail, preview


class PortItem(QGraphicsEllipseItem):
    """An input ("in") or output ("out") port; dragging from it starts a connection."""

    def __init__(self, side: str, parent: "NodeItem"):
        r = geo.PORT_RADIUS
        super().__init__(-r, -r, 2 * r, 2 * r, parent)
        self.side = side
        self.setPos(geo.output_port_offset() if side == "out" else geo.input_port_offset())
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self._hover = False
        self._restyle()

    @property
    def node_id(self) -> str:
        return self.parentItem().node_id  # type: ignore[union-attr]

    def _restyle(self) -> None:
        color = theme.kind_color(self.parentItem().kind)  # type: ignore[union-attr]
        self.setBrush(QBrush(color if self._hover else QColor("white")))
        self.setPen(QPen(color, 2.0))

    def hoverEnterEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self._hover = True
        self._restyle()
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event) -> None:  # noqa: N802
        self._hover = False
        self._restyle()
        super().hoverLeaveEvent(event)


class NodeItem(QGraphicsItem):
    def __init__(self, node: Node):
        super().__init__()
        self.node_id = node.id
        self.kind = node.kind
        self.name = node.name
        self.flashing = False
        self._detail = ""
        self._preview: list[str] = []
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
                      | QGraphicsItem.GraphicsItemFlag.ItemIsMovable
                      | QGraphicsItem.GraphicsItemFlag.ItemSendsScenePositionChanges)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setZValue(1.0)
        spec = node_kind(node.kind)
        self.input_port = PortItem("in", self) if spec.has_input_port else None
        self.output_port = PortItem("out", self) if spec.has_output_port else None
        self.show_node(node)

    # --- model -> item --------------------------------------------------------------------------
    def show_node(self, node: Node) -> None:
        """Display ``node``'s current name, parameters and position."""
        self.name = node.name
        self._detail, self._preview = card_lines(node)
        self.setToolTip(f"{node.name} ({node_kind(node.kind).title})")
        self.setPos(QPointF(*node.position))
        self.update()

    def set_flashing(self, on: bool) -> None:
        self.flashing = on
        self.update()

    def port_scene_pos(self, side: str) -> QPointF:
        offset = geo.output_port_offset() if side == "out" else geo.input_port_offset()
        return self.pos() + offset

    # --- Qt -------------------------------------------------------------------------------------
    def boundingRect(self) -> QRectF:  # noqa: N802
        return geo.card_rect().adjusted(-3, -3, 3, 3)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(geo.card_rect(), geo.CARD_RADIUS, geo.CARD_RADIUS)
        return path

    def itemChange(self, change, value):  # noqa: N802
        if change == QGraphicsItem.GraphicsItemChange.ItemScenePositionHasChanged and self.scene() is not None:
            self.scene().node_item_moved(self)
        return super().itemChange(change, value)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        rect = geo.card_rect()
        color = theme.kind_color(self.kind)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        border = theme.REFUSED if self.flashing else (theme.SELECTION if selected else theme.CARD_BORDER)
        painter.setPen(QPen(border, 3.0 if (selected or self.flashing) else 1.0))
        if lod < DETAIL_LOD:
            painter.setBrush(color)
            painter.drawRect(rect)
            painter.setPen(QColor("white"))
            painter.setFont(theme.canvas_font(*BLOCK_FONT))
            painter.drawText(rect.adjusted(6, 0, -6, 0), Qt.AlignmentFlag.AlignCenter, self.name)
            return
        painter.setBrush(theme.CARD_FILL)
        painter.drawRoundedRect(rect, geo.CARD_RADIUS, geo.CARD_RADIUS)
        header = QPainterPath()
        header.setFillRule(Qt.FillRule.WindingFill)
        header.addRoundedRect(QRectF(0, 0, rect.width(), geo.HEADER_HEIGHT), geo.CARD_RADIUS, geo.CARD_RADIUS)
        header.addRect(QRectF(0, geo.HEADER_HEIGHT / 2, rect.width(), geo.HEADER_HEIGHT / 2))
        painter.fillPath(header.simplified(), color)
        pad = 10.0
        painter.setPen(QColor("white"))
        painter.setFont(theme.canvas_font(*KIND_FONT))
        kind_title = node_kind(self.kind).title
        kind_width = QFontMetricsF(theme.canvas_font(*KIND_FONT)).horizontalAdvance(kind_title)
        painter.drawText(QRectF(rect.width() - pad - kind_width, 0, kind_width, geo.HEADER_HEIGHT),
                         Qt.AlignmentFlag.AlignVCenter, kind_title)
        name_font = theme.canvas_font(*NAME_FONT)
        painter.setFont(name_font)
        name_width = rect.width() - 3 * pad - kind_width
        name = QFontMetricsF(name_font).elidedText(self.name, Qt.TextElideMode.ElideRight, name_width)
        painter.drawText(QRectF(pad, 0, name_width, geo.HEADER_HEIGHT), Qt.AlignmentFlag.AlignVCenter, name)
        painter.setFont(theme.canvas_font(*BODY_FONT))
        metrics = QFontMetricsF(theme.canvas_font(*BODY_FONT))
        width = rect.width() - 2 * pad
        y = geo.HEADER_HEIGHT + 6
        painter.setPen(theme.TEXT)
        painter.drawText(QRectF(pad, y, width, 16), Qt.AlignmentFlag.AlignVCenter,
                         metrics.elidedText(self._detail, Qt.TextElideMode.ElideRight, width))
        painter.setPen(theme.TEXT_MUTED)
        for i, line in enumerate(self._preview[:4]):
            top = y + 18 + i * (metrics.height() + 1)
            if top + metrics.height() > rect.height() - 4:
                break
            painter.drawText(QRectF(pad, top, width, metrics.height()), Qt.AlignmentFlag.AlignVCenter,
                             metrics.elidedText(line, Qt.TextElideMode.ElideRight, width))
