"""Where things are on the canvas: card and port geometry, edge curves, layer bands. No painting here.

A node's model position is the top-left corner of its card in scene coordinates.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFontMetricsF, QPainterPath, QPainterPathStroker

from chainstudio.ui.theme import canvas_font

CARD_WIDTH = 220.0
CARD_HEIGHT = 112.0
CARD_RADIUS = 8.0
HEADER_HEIGHT = 30.0
PORT_RADIUS = 7.0
EDGE_HIT_WIDTH = 12.0
ARROW_SIZE = 9.0
BAND_MARGIN = 22.0
BAND_LABEL_HEIGHT = 30.0
BAND_MIN_WIDTH = 290.0
BAND_RADIUS = 12.0
GRID_STEP = 20.0
DETAIL_LOD = 0.5  # below this zoom, the scene draws the overview: blocks with names (see overview.py)
PAD = 10.0
NAME_FONT = (14, True)  # pixel size, bold
KIND_FONT = (11, False)
BODY_FONT = (11, False)
BLOCK_FONT = (26, True)
BAND_FONT = (13, True)
BAND_FONT_FAR = 22  # band labels below DETAIL_LOD
MAX_PREVIEW_LINES = 4
BADGE_HEIGHT = 22.0  # the run-state footer of a card during and after a run
BADGE_FONT = (11, True)
PROBLEM_RADIUS = 10.0  # the error/warning badge on a card's top-right corner
PORT_HIT_PIXELS = 10.0  # a port takes the mouse this many screen pixels around it, however far out
PORT_HIT_MAX = 40.0  # ... but no more than this in scene units (the rest of the card moves it)
EDGE_HIT_PIXELS = 6.0  # an edge takes a right-click or a dropped step this close to it


def card_rect() -> QRectF:
    """The card in item coordinates."""
    return QRectF(0.0, 0.0, CARD_WIDTH, CARD_HEIGHT)


@lru_cache(maxsize=1)
def header_path() -> QPainterPath:
    """The coloured header: rounded at the top, square where it meets the body."""
    path = QPainterPath()
    path.setFillRule(Qt.FillRule.WindingFill)
    path.addRoundedRect(QRectF(0, 0, CARD_WIDTH, HEADER_HEIGHT), CARD_RADIUS, CARD_RADIUS)
    path.addRect(QRectF(0, HEADER_HEIGHT / 2, CARD_WIDTH, HEADER_HEIGHT / 2))
    return path.simplified()


@dataclass(frozen=True)
class CardText:
    """Where each piece of a card's text goes, already elided to fit (item coordinates)."""

    name: tuple[QRectF, str]
    kind: tuple[QRectF, str]
    detail: tuple[QRectF, str]
    preview: tuple[tuple[QRectF, str], ...]


def card_text(name: str, kind_title: str, detail: str, preview: list[str]) -> CardText:
    elide = Qt.TextElideMode.ElideRight
    kind_width = QFontMetricsF(canvas_font(*KIND_FONT)).horizontalAdvance(kind_title)
    name_width = CARD_WIDTH - 3 * PAD - kind_width
    body = QFontMetricsF(canvas_font(*BODY_FONT))
    width = CARD_WIDTH - 2 * PAD
    top = HEADER_HEIGHT + 6
    lines = []
    for i, line in enumerate(preview[:MAX_PREVIEW_LINES]):
        y = top + 18 + i * (body.height() + 1)
        if y + body.height() > CARD_HEIGHT - 4:
            break
        lines.append((QRectF(PAD, y, width, body.height()), body.elidedText(line, elide, width)))
    return CardText(
        name=(
            QRectF(PAD, 0, name_width, HEADER_HEIGHT),
            QFontMetricsF(canvas_font(*NAME_FONT)).elidedText(name, elide, name_width),
        ),
        kind=(QRectF(CARD_WIDTH - PAD - kind_width, 0, kind_width, HEADER_HEIGHT), kind_title),
        detail=(QRectF(PAD, top, width, 16), body.elidedText(detail, elide, width)),
        preview=tuple(lines),
    )


def input_port_offset() -> QPointF:
    return QPointF(0.0, CARD_HEIGHT / 2)


def output_port_offset() -> QPointF:
    return QPointF(CARD_WIDTH, CARD_HEIGHT / 2)


def node_rect_at(position: tuple[float, float] | QPointF) -> QRectF:
    if isinstance(position, QPointF):
        return QRectF(position.x(), position.y(), CARD_WIDTH, CARD_HEIGHT)
    return QRectF(position[0], position[1], CARD_WIDTH, CARD_HEIGHT)


def edge_path(start: QPointF, end: QPointF) -> QPainterPath:
    """A horizontal S-curve from an output port to an input port (or the cursor while dragging).

    An edge that skips over cards on the same row arcs above them, higher the further it goes, so
    skip edges stay visible instead of running behind the cards in between."""
    path = QPainterPath()
    add_edge_curve(path, start.x(), start.y(), end.x(), end.y())
    return path


def add_edge_curve(path: QPainterPath, x0: float, y0: float, x1: float, y1: float) -> None:
    """Add ``edge_path``'s curve from (x0, y0) to (x1, y1) to ``path`` as a new subpath."""
    _, _, ax, ay, bx, by, _, _ = edge_controls(x0, y0, x1, y1)
    path.moveTo(x0, y0)
    path.cubicTo(ax, ay, bx, by, x1, y1)


def edge_controls(x0: float, y0: float, x1: float, y1: float) -> tuple[float, ...]:
    """The control points (x, y four times) of the cubic an edge from (x0, y0) to (x1, y1) is drawn as."""
    span = x1 - x0
    dx = max(abs(span) * 0.5, 60.0)
    lift = 0.0
    if span > 1.5 * CARD_WIDTH and abs(y1 - y0) < CARD_HEIGHT:
        lift = min(CARD_HEIGHT * 0.6 + span * 0.12, 4 * CARD_HEIGHT)
        dx = max(span * 0.25, 60.0)
    return (x0, y0, x0 + dx, y0 - lift, x1 - dx, y1 - lift, x1, y1)


def arrow_head(end: QPointF) -> QPainterPath:
    """A small triangle pointing right into ``end`` (edges always enter a card from the left)."""
    path = QPainterPath(end)
    path.lineTo(end.x() - ARROW_SIZE, end.y() - ARROW_SIZE * 0.55)
    path.lineTo(end.x() - ARROW_SIZE, end.y() + ARROW_SIZE * 0.55)
    path.closeSubpath()
    return path


def hit_shape(path: QPainterPath) -> QPainterPath:
    stroker = QPainterPathStroker()
    stroker.setWidth(EDGE_HIT_WIDTH)
    return stroker.createStroke(path)


def graph_rect(nodes: Iterable) -> QRectF:
    """Where ``nodes`` (model nodes) put their cards, with room for bands, arrows and edges arcing above."""
    xs = [node.position[0] for node in nodes]
    ys = [node.position[1] for node in nodes]
    if not xs:
        return QRectF()
    left, top = min(xs), min(ys)
    rect = QRectF(left, top, max(xs) - left + CARD_WIDTH, max(ys) - top + CARD_HEIGHT)
    return rect.adjusted(-2 * BAND_MARGIN, -5 * CARD_HEIGHT, 2 * BAND_MARGIN, 2 * BAND_MARGIN)


def band_rect(node_rects: Iterable[QRectF]) -> QRectF:
    """The band behind one layer: the nodes' bounding box, padded, with room for the label on top."""
    bounds = QRectF()
    for rect in node_rects:
        bounds = bounds.united(rect)
    band = bounds.adjusted(-BAND_MARGIN, -BAND_MARGIN - BAND_LABEL_HEIGHT, BAND_MARGIN, BAND_MARGIN)
    if band.width() < BAND_MIN_WIDTH:  # room for the label, also in its bigger far-out size
        grow = (BAND_MIN_WIDTH - band.width()) / 2
        band.adjust(-grow, 0, grow, 0)
    return band


def band_in_view(band: QRectF, exposed: QRectF, lod: float) -> QRectF:
    """The part of ``band`` to draw where ``exposed`` shows at zoom ``lod``: its sides that lie far outside
    are moved in, to a margin past the rounded corners and the outline, so what shows is drawn the same."""
    margin = BAND_RADIUS + 2.0 + 4.0 / max(lod, 1e-3)
    area = exposed.adjusted(-margin, -margin, margin, margin)
    return QRectF(
        QPointF(max(band.left(), area.left()), max(band.top(), area.top())),
        QPointF(min(band.right(), area.right()), min(band.bottom(), area.bottom())),
    )


def band_label_area(band: QRectF, label: str, pixels: int) -> QRectF:
    """Where a band's label (drawn at its top left, ``pixels`` high) can show, generously."""
    return QRectF(band.left(), band.top(), min(band.width(), 12.0 + len(label) * pixels), 2.0 + 2.0 * pixels)


def band_label(index: int, size: int) -> str:
    """'Layer 2 · 3 in parallel' (1-based), or 'Layer 1 · 1 step'."""
    return f"Layer {index + 1} · {size} in parallel" if size > 1 else f"Layer {index + 1} · 1 step"
