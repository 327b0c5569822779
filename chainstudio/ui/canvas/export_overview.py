"""The canvas's far-out overview drawn straight from the model, for exports of graphs too big to build a
scene for in good time (``export.SCENE_STEPS``): coloured blocks per node kind with names where readable,
edges as two combined thin paths, without anti-aliasing. It looks like the canvas's own overview
(``overview.OverviewItem``) without a run, a selection or ports. The ordering-only edges, dashed on the
canvas, are drawn faded here: a dash pattern over 90,000 edges took 20 s of a 10,000-step export.
"""

from __future__ import annotations

from typing import NamedTuple

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath

from chainstudio.core.graph.model import Graph
from chainstudio.core.graph.validation import ordering_only_edges
from chainstudio.ui import theme
from chainstudio.ui.canvas import geometry as geo


class OverviewParts(NamedTuple):
    rects: dict[str, list[QRectF]]  # node kind -> its cards' rectangles
    names: list[tuple[QRectF, str]]
    solid: QPainterPath  # every edge whose output is used, in one path
    faded: QPainterPath  # the ordering-only edges


def overview_parts(graph: Graph) -> OverviewParts:
    """What the overview draws for ``graph``, from the model (no scene, no items)."""
    rects: dict[str, list[QRectF]] = {}
    names = []
    for node in graph.nodes.values():
        rect = geo.node_rect_at(node.position)
        rects.setdefault(node.kind, []).append(rect)
        names.append((rect, node.name))
    ordering_only = ordering_only_edges(graph)
    solid, faded = QPainterPath(), QPainterPath()
    out, into = geo.output_port_offset(), geo.input_port_offset()
    nodes = graph.nodes
    for edge in graph.edges.values():
        source, target = nodes.get(edge.source), nodes.get(edge.target)
        if source is not None and target is not None:
            (sx, sy), (tx, ty) = source.position, target.position
            path = faded if edge.id in ordering_only else solid
            geo.add_edge_curve(path, sx + out.x(), sy + out.y(), tx + into.x(), ty + into.y())
    return OverviewParts(rects, names, solid, faded)


def draw_overview(painter: QPainter, parts: OverviewParts, lod: float, exposed: QRectF) -> None:
    """Paint ``parts`` at zoom ``lod``; names only where readable and within ``exposed``."""
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.setPen(theme.cosmetic_pen(theme.EDGE))
    painter.drawPath(parts.solid)
    painter.setPen(theme.cosmetic_pen(_mixed(theme.EDGE, theme.CANVAS_BACKGROUND, 0.6)))
    painter.drawPath(parts.faded)
    painter.setPen(Qt.PenStyle.NoPen)
    for kind, rects in parts.rects.items():
        painter.setBrush(theme.kind_color(kind))
        painter.drawRects(rects)
    if lod * geo.BLOCK_FONT[0] >= 6:
        painter.setPen(Qt.GlobalColor.white)  # on the kind colours, in light and dark alike
        painter.setFont(theme.canvas_font(*geo.BLOCK_FONT))
        for rect, name in parts.names:
            if exposed.intersects(rect):
                painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, name)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)


def _mixed(color: QColor, into: QColor, amount: float) -> QColor:
    """``color`` moved ``amount`` of the way to ``into``, opaque (a translucent pen strokes a path slowly)."""
    pairs = zip((color.red(), color.green(), color.blue()), (into.red(), into.green(), into.blue()), strict=True)
    return QColor(*[round(a + (b - a) * amount) for a, b in pairs])
