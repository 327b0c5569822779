"""Painting an expanded map step's item rows: a status dot and ``[index]`` in the label column, the item's
bar (time to first token, then generation) and its duration, tokens and error beside it."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFontMetricsF, QPainter, QPen

from chainstudio.core.gantt.items import item_label
from chainstudio.core.gantt.layout import GanttLayout, Row, label_place


def paint_item_label(gp: Any, p: QPainter, layout: GanttLayout, row: Row, dy: float) -> None:
    """``gp``: the ``GanttPainter`` (its theme and fonts)."""
    theme, m = gp.theme, layout.metrics
    state = layout.states[row.run_index]
    items = state.spans[str(row.node_id)].items
    status = str(items[row.item].status) if row.item is not None and row.item < len(items) else "pending"
    rect = QRectF(0, row.top + dy, m.label_width, row.height)
    p.fillRect(rect, theme.label_bg)
    p.setPen(QPen(theme.grid, 1))
    p.drawLine(QPointF(m.label_width - 0.5, rect.top()), QPointF(m.label_width - 0.5, rect.bottom()))
    p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(theme.status_color(status))
    p.drawEllipse(QPointF(36, rect.center().y()), 3, 3)
    p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    p.setFont(gp.small)
    p.setPen(theme.muted)
    p.drawText(QRectF(46, rect.top(), m.label_width - 52, rect.height()), Qt.AlignmentFlag.AlignVCenter, row.text)


def paint_item_bar(gp: Any, p: QPainter, layout: GanttLayout, row: Row, dx: float, dy: float, width: float) -> None:
    m = layout.metrics
    state = layout.states[row.run_index]
    items = state.spans[str(row.node_id)].items
    if row.item is None or row.item >= len(items):
        return
    top = layout.bar_top(row) + dy
    bar_height = m.bar_height * 0.7
    top += (m.bar_height - bar_height) / 2
    left = right = None
    for segment in layout.segments(row):
        x0, x1 = layout.segment_x(row, segment)
        gp._segment(p, segment, QRectF(x0 + dx, top, x1 - x0, bar_height))
        left = x0 + dx if left is None else min(left, x0 + dx)
        right = x1 + dx if right is None else max(right, x1 + dx)
    text = item_label(items[row.item])
    if left is None or right is None or not text:
        return
    metrics = QFontMetricsF(gp.small)
    text_w = metrics.horizontalAdvance(text) + 2
    place = label_place(text_w, (left, right), (m.label_width, width), solid=False)
    if place is None:
        return
    x, room = place
    if room < text_w:
        text = metrics.elidedText(text, Qt.TextElideMode.ElideRight, room - 2)
    p.setFont(gp.small)
    failed = items[row.item].status == "failed"
    p.setPen(gp.theme.status_color("failed") if failed else gp.theme.muted)
    p.drawText(QRectF(x, row.top + dy, room + 2, row.height), Qt.AlignmentFlag.AlignVCenter, text)
