"""A node drawn as a card (name, kind, model, prompt preview) with an input and an output port.

Items only display: moving a card moves the item; the scene turns the finished move into a command.
"""

from __future__ import annotations

from functools import lru_cache
from typing import cast

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsRectItem,
    QStyle,
    QStyleOptionGraphicsItem,
    QWidget,
)

from chainstudio.core.graph.kinds import node_kind
from chainstudio.core.graph.model import Node
from chainstudio.ui import theme
from chainstudio.ui.canvas import geometry as geo
from chainstudio.ui.canvas.run_overlay import Badge

WHITE = QColor("white")
BOUNDS = geo.card_rect().adjusted(-3, -3, 3, 3)  # the card's box (``NodeItem.box``: bands, fitting, export)
PORT_REACH = geo.PORT_RADIUS + 2  # a port drawn by its card: radius and half its pen, beyond the card's edge
ITEM_BOUNDS = BOUNDS.adjusted(3 - PORT_REACH, 0, PORT_REACH - 3, 0)  # ... what the item paints: the ports too
DETAIL_LOD = geo.DETAIL_LOD


PREVIEW_CHARS = 4_000  # of a prompt, looked at for a card's preview lines
PREVIEW_LINE_CHARS = 300  # of one preview line (wider than any card)


def card_lines(node: Node) -> tuple[str, list[str]]:
    """The card's detail line (model, input...) and the text to preview."""
    if node.kind == "llm":
        at = f" @{node.param('endpoint')}" if node.param("endpoint") else ""  # its endpoint profile (issue 15)
        checks = check_note(node)  # a checked step's card says so instead of its temperature and length
        detail = f"{node.param('model')}{at}{checks}" if checks else card_settings(node, at)
        text = str(node.param("prompt") or "")
    elif node.kind == "pick_best":
        field = str(node.param("score_field") or "").strip()
        detail = f"pick best by {field}" if field else f"pick best · judge {node.param('model')}"
        text = "" if field else str(node.param("criteria") or "")
    elif node.kind == "input":
        detail = f"graph input: {node.param('input') or node.name}"
        text = ""
    elif node.kind == "map":
        limit = int(node.param("concurrency") or 0)
        detail = f"{node.param('model')} · per item · {'≤' + str(limit) + ' at once · ' if limit else ''}"
        detail += f"on error: {node.param('on_item_error')}"
        text = f"over {node.param('over')}: {node.param('prompt')}"
    elif node.kind == "route":
        classify = node.param("mode") == "classify"
        detail = f"classify · {node.param('model')}" if classify else "expression"
        text = f"labels: {node.param('labels')}" if classify else str(node.param("expression") or "")
    else:
        text = str(node.param("template") or "")
        detail = (
            "template"
            if text.strip()
            else ("returns the upstream outputs" if node.kind == "output" else "empty template")
        )
    # a card shows a few short lines: eliding a 400 KB line to a card's width took a second
    lines = (line.strip()[:PREVIEW_LINE_CHARS] for line in text[:PREVIEW_CHARS].splitlines())
    return detail, [line for line in lines if line]


def card_settings(node: Node, at: str = "") -> str:
    if at:  # on an endpoint profile: its name instead of the temperature
        return f"{node.param('model')}{at} · {node.param('max_tokens')} tok"
    return f"{node.param('model')} · t={node.param('temperature'):g} · {node.param('max_tokens')} tok"


def check_note(node: Node) -> str:
    """What a checked LLM step's card says of its schema and checks: " · { } schema · ✓ judge · 2 repairs"."""
    parts = []
    if str(node.param("output_schema") or "").strip():
        parts.append("{ } schema")
    checks = [name for name, key in (("regex", "check_regex"), ("judge", "check_judge")) if str(node.param(key) or "")]
    if checks or parts:
        parts.append(f"✓ {'+'.join(checks) or 'valid'} · {node.param('repairs')} repairs")
    return "".join(f" · {p}" for p in parts)


@lru_cache(maxsize=1)
def _card_shape() -> QPainterPath:
    path = QPainterPath()
    path.addRoundedRect(geo.card_rect(), geo.CARD_RADIUS, geo.CARD_RADIUS)
    return path


@lru_cache(maxsize=1)
def _port_hit_shape() -> QPainterPath:
    path = QPainterPath()
    path.addEllipse(QPointF(0, 0), geo.PORT_RADIUS + 4, geo.PORT_RADIUS + 4)
    return path


class PortItem(QGraphicsEllipseItem):
    """An input ("in") or output ("out") port; dragging from it starts a connection. Made when the pointer
    first comes near it (``NodeItem.port``); until then its card draws it, the same (two port items took
    2.7 KB a card: 26 MB for the 10,000 cards of the biggest graph)."""

    __slots__ = ("side", "_hover")  # no per-port __dict__: 20,000 ports in the biggest graph

    def __init__(self, side: str, parent: NodeItem):
        r = geo.PORT_RADIUS
        super().__init__(-r, -r, 2 * r, 2 * r, parent)
        self.side = side
        self.setPos(geo.output_port_offset() if side == "out" else geo.input_port_offset())
        self.setAcceptHoverEvents(True)  # the view shows the cross cursor near a port, at any zoom
        self._hover = False
        self._restyle()

    def _node(self) -> NodeItem:
        return cast("NodeItem", self.parentItem())  # a port is made with its card as parent

    @property
    def node_id(self) -> str:
        return self._node().node_id

    def _restyle(self) -> None:
        color = theme.kind_color(self._node().kind)
        self.setBrush(QBrush(color if self._hover else QColor("white")))
        self.setPen(QPen(color, 2.0))

    def shape(self) -> QPainterPath:
        """Easier to hit than to see."""
        return _port_hit_shape()

    def hoverEnterEvent(self, event) -> None:
        self._hover = True
        self._restyle()
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event) -> None:
        self._hover = False
        self._restyle()
        super().hoverLeaveEvent(event)


class ProblemBadge(QGraphicsItem):
    """The red (error) or amber (warning) '!' on a card's top-right corner; its tooltip lists the problems."""

    def __init__(self, parent: NodeItem):
        super().__init__(parent)
        self.severity = "error"
        self.setPos(geo.CARD_WIDTH, 0.0)
        self.setZValue(2.0)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # clicks go to the card
        self.setVisible(False)

    def show_problem(self, severity: str | None, tooltip: str) -> None:
        self.setVisible(severity is not None)
        if severity is not None and severity != self.severity:
            self.severity = severity
            self.update()
        self.setToolTip(tooltip)

    def boundingRect(self) -> QRectF:
        r = geo.PROBLEM_RADIUS + 2
        return QRectF(-r, -r, 2 * r, 2 * r)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        paint_problem_badge(painter, QPointF(0, 0), self.severity)


class NodeItem(QGraphicsRectItem):
    """A card. A rectangle item (drawn by ``paint``, its own pen and brush none) so that Qt knows its bounding
    box without calling into Python: a hit test asks it of every card in the index's cells around the point.
    Its rectangle takes in its ports, which it draws itself until their items are made (``port``); its box
    as a card (layer bands, fitting the view, export) is ``box()``."""

    __slots__ = (
        *("node_id", "kind", "name", "flashing", "run_badge", "critical", "pinned", "problem", "problem_text"),
        *("sides", "_ports", "_badge", "_lines", "_text", "_title"),
    )

    def __init__(self, node: Node):
        super().__init__(ITEM_BOUNDS)
        self.setPen(Qt.PenStyle.NoPen)
        self.node_id = node.id
        self.kind = node.kind
        self.name = node.name
        self.flashing = False
        self.run_badge: Badge | None = None  # while/after a run, or the estimate before one
        self.critical = False
        self.pinned = False  # the step's output is pinned (set by ui.run.reuse_ui.PinMarks)
        self.problem: str | None = None  # "error" or "warning": the card carries a badge saying so
        self.problem_text = ""
        self.setFlags(
            QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
            | QGraphicsItem.GraphicsItemFlag.ItemIsMovable
            | QGraphicsItem.GraphicsItemFlag.ItemSendsScenePositionChanges
        )
        self.set_crisp(True)
        self.setZValue(1.0)
        spec = node_kind(node.kind)
        self.sides = ("in",) * spec.has_input_port + ("out",) * spec.has_output_port  # its ports
        self._ports: dict[str, PortItem] | None = None  # the port items made so far (``port``)
        self._badge: ProblemBadge | None = None  # made when the step first has a problem (most never do)
        self.show_node(node)

    def set_crisp(self, crisp: bool) -> None:
        """Cache the card at screen resolution (sharp, but redrawn on every zoom step) or, while a zoom
        gesture lasts, at a fixed resolution that is only rescaled from one step to the next."""
        if crisp:
            self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        else:
            self.setCacheMode(QGraphicsItem.CacheMode.ItemCoordinateCache)

    # --- model -> item --------------------------------------------------------------------------
    def show_node(self, node: Node) -> None:
        """Display ``node``'s current name, parameters and position."""
        self.name = node.name
        detail, preview = card_lines(node)
        self._lines: tuple[str, list[str]] | None = (detail, preview)
        self._text: geo.CardText | None = None  # laid out when the card is first drawn in detail
        self._title = f"{node.name} ({node_kind(node.kind).title})"
        self._retip()
        self.setPos(QPointF(*node.position))
        self.update()

    @property
    def card_text(self) -> geo.CardText:
        """Where the card's texts go, elided to fit. Laid out when first asked for (the card is drawn in detail):
        10,000 cards of the biggest graph, seen in the overview as blocks, held 13 MB of laid-out text."""
        if self._text is None:
            detail, preview = self._lines or ("", [])
            self._text = geo.card_text(self.name, node_kind(self.kind).title, detail, preview)
            self._lines = None
        return self._text

    def box(self) -> QRectF:
        """The card's box in the scene (its item's rectangle less the ports' overhang)."""
        return BOUNDS.translated(self.pos())

    def port(self, side: str) -> PortItem:
        """The port item of ``side`` ("in" or "out", one of ``sides``), made when first asked for: the pointer
        came near it (``CanvasScene.port_near``); it then draws itself and takes hover and the mouse."""
        if self._ports is None:
            self._ports = {}
        port = self._ports.get(side)
        if port is None:
            port = self._ports[side] = PortItem(side, self)
            if self.flags() & QGraphicsItem.GraphicsItemFlag.ItemHasNoContents:  # undrawn in the overview
                port.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents)
            self.update()  # (no longer drawn by the card)
        return port

    def made_ports(self) -> list[PortItem]:
        """The port items made so far."""
        return list(self._ports.values()) if self._ports else []

    @property
    def problem_badge(self) -> ProblemBadge:
        """The '!' on the card's corner, made when first asked for (a step with a problem: most never have one)."""
        if self._badge is None:
            self._badge = ProblemBadge(self)
            if self.flags() & QGraphicsItem.GraphicsItemFlag.ItemHasNoContents:  # undrawn in the overview
                self._badge.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents)
        return self._badge

    def badge_shown(self) -> bool:
        """Whether the card carries its problem badge."""
        return self._badge is not None and self._badge.isVisible()

    def _retip(self) -> None:
        self.setToolTip(f"{self._title}\n{self.problem_text}" if self.problem_text else self._title)

    def set_problems(self, severity: str | None, text: str = "") -> None:
        """Mark the card with an error or warning badge (None: no problem); ``text`` goes in its tooltip."""
        if (severity, text) != (self.problem, self.problem_text):
            self.problem, self.problem_text = severity, text
            self._retip()
            if self._badge is not None or severity is not None:
                self.problem_badge.show_problem(severity, self.toolTip())
            self._tell_overview()

    def set_run(self, badge, critical: bool = False) -> None:
        """Show a run's state on the card (None: no run)."""
        if badge != self.run_badge or critical != self.critical:
            was = _run_look(self.run_badge), self.critical
            self.run_badge, self.critical = badge, critical
            self.update()
            if (_run_look(badge), critical) != was:  # (an estimate's badge shows on the card, not in the overview)
                self._tell_overview()

    def _tell_overview(self) -> None:
        mark = getattr(self.scene(), "mark_overview", None)  # a CanvasScene redraws its overview
        if mark is not None:
            mark(self.node_id, urgent=False)

    def port_scene_pos(self, side: str) -> QPointF:
        pos = self.pos()  # QPointF arithmetic costs more than this; a big graph asks 200,000 times
        x = pos.x() + geo.CARD_WIDTH if side == "out" else pos.x()
        return QPointF(x, pos.y() + geo.CARD_HEIGHT / 2)

    # --- Qt -------------------------------------------------------------------------------------
    def shape(self) -> QPainterPath:
        return _card_shape()

    def itemChange(self, change, value):
        if change == QGraphicsItem.GraphicsItemChange.ItemScenePositionHasChanged and self.scene() is not None:
            self.scene().node_item_moved(self)
        return super().itemChange(change, value)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        rect = geo.card_rect()
        color = theme.kind_color(self.kind)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        badge = self.run_badge
        border = theme.REFUSED if self.flashing else (theme.SELECTION if selected else theme.CARD_BORDER)
        width = 3.0 if (selected or self.flashing) else 1.0
        if not (selected or self.flashing) and badge is not None:
            border, width = (theme.CRITICAL, 4.0) if self.critical else (badge.color, 2.5)
        painter.setPen(QPen(border, width))
        if lod < DETAIL_LOD:
            painter.setBrush(badge.color if badge is not None and not badge.estimate else color)
            painter.drawRect(rect)
            if lod * geo.BLOCK_FONT[0] >= 5:  # readable
                painter.setPen(WHITE)
                painter.setFont(theme.canvas_font(*geo.BLOCK_FONT))
                painter.drawText(rect.adjusted(6, 0, -6, 0), Qt.AlignmentFlag.AlignCenter, self.name)
            self._paint_ports(painter, color)
            return
        painter.setBrush(theme.CARD_FILL)
        painter.drawRoundedRect(rect, geo.CARD_RADIUS, geo.CARD_RADIUS)
        painter.fillPath(geo.header_path(), color)
        text = self.card_text
        painter.setPen(WHITE)
        painter.setFont(theme.canvas_font(*geo.KIND_FONT))
        painter.drawText(text.kind[0], Qt.AlignmentFlag.AlignVCenter, text.kind[1])
        painter.setFont(theme.canvas_font(*geo.NAME_FONT))
        painter.drawText(text.name[0], Qt.AlignmentFlag.AlignVCenter, text.name[1])
        if self.pinned:  # a flag left of the kind's name: the step's output is pinned
            kind_rect = text.kind[0]
            flag = QRectF(kind_rect.left() - 18, kind_rect.top(), 16, kind_rect.height())
            painter.drawText(flag, Qt.AlignmentFlag.AlignCenter, "⚑")
        painter.setFont(theme.canvas_font(*geo.BODY_FONT))
        painter.setPen(theme.TEXT)
        painter.drawText(text.detail[0], Qt.AlignmentFlag.AlignVCenter, text.detail[1])
        painter.setPen(theme.TEXT_MUTED)
        preview = text.preview if badge is None else text.preview[:-1]
        for line_rect, line in preview:
            painter.drawText(line_rect, Qt.AlignmentFlag.AlignVCenter, line)
        if badge is not None:
            self._paint_badge(painter, rect, badge)
        self._paint_ports(painter, color)

    def _paint_ports(self, painter: QPainter, color: QColor) -> None:
        """The ports whose items are not made: as a port item draws itself when not hovered."""
        made = self._ports or {}
        painter.setPen(QPen(color, 2.0))
        painter.setBrush(WHITE)
        r = geo.PORT_RADIUS
        for side in self.sides:
            if side not in made:
                centre = geo.output_port_offset() if side == "out" else geo.input_port_offset()
                painter.drawEllipse(centre, r, r)

    @staticmethod
    def _paint_badge(painter: QPainter, rect: QRectF, badge) -> None:
        footer = QRectF(rect.left() + 1, rect.bottom() - geo.BADGE_HEIGHT, rect.width() - 2, geo.BADGE_HEIGHT - 1)
        fill = QColor(badge.color)
        fill.setAlpha(40)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(fill)
        painter.drawRoundedRect(footer, geo.CARD_RADIUS - 2, geo.CARD_RADIUS - 2)
        painter.setPen(badge.color.lighter(130) if theme.DARK else badge.color.darker(140))
        painter.setFont(theme.canvas_font(*geo.BADGE_FONT))
        painter.drawText(footer.adjusted(geo.PAD, 0, -4, 0), Qt.AlignmentFlag.AlignVCenter, badge.text)


def paint_problem_badge(painter: QPainter, centre: QPointF, severity: str, radius: float = geo.PROBLEM_RADIUS) -> None:
    """A round badge with '!' (red for an error, amber for a warning) centred on ``centre``."""
    painter.setPen(QPen(WHITE, radius * 0.18))
    painter.setBrush(theme.REFUSED if severity == "error" else theme.WARNING)
    painter.drawEllipse(centre, radius, radius)
    painter.setPen(WHITE)
    painter.setFont(theme.canvas_font(max(1, round(radius * 1.4)), True))
    painter.drawText(
        QRectF(centre.x() - radius, centre.y() - radius, 2 * radius, 2 * radius), Qt.AlignmentFlag.AlignCenter, "!"
    )


def _run_look(badge) -> str | None:
    """What of a run's badge the overview shows (its state), None for none or an estimate's."""
    return None if badge is None or badge.estimate else badge.status
