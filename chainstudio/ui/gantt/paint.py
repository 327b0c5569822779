"""Painting the Gantt chart with a QPainter: only the rows that are visible, from a ``GanttLayout``. Over
400 lines: one painter for every bar segment, label and mark, kept together so that the widget and the
export cannot drift apart.

The same code paints the live widget (scrolled, with a fixed label column and time axis) and the
offscreen export (everything, no scrolling).
"""

from __future__ import annotations

from collections.abc import Collection

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPen

from chainstudio.core.formatting import fmt_duration
from chainstudio.core.gantt.axis import tick_label, tick_step, ticks
from chainstudio.core.gantt.layout import LABEL_GAP, GanttLayout, Row, label_place
from chainstudio.core.gantt.segments import Segment, bar_span
from chainstudio.core.gantt.text import bar_label, row_tag
from chainstudio.core.run.state import NodeSpan, RunState
from chainstudio.ui.gantt.items_paint import paint_item_bar, paint_item_label
from chainstudio.ui.gantt.theme import LEGEND, Theme, blend


def contrast(color: QColor) -> QColor:
    """Black or white, whichever reads better on ``color``."""
    luma = 0.299 * color.red() + 0.587 * color.green() + 0.114 * color.blue()
    return QColor("#0f172a") if luma > 150 else QColor("#ffffff")


def chart_font(base: QFont | None = None, delta: float = 0.0, bold: bool = False) -> QFont:
    font = QFont(base) if base is not None else QFont()
    size = font.pointSizeF() if font.pointSizeF() > 0 else 9.0
    font.setPointSizeF(max(6.0, min(size, 10.0) + delta))
    font.setBold(bold)
    return font


class CriticalPaths:
    """Critical paths of finished runs, computed once per run state version."""

    def __init__(self) -> None:
        self._cache: dict[int, tuple[str | None, int, frozenset[str]]] = {}

    def of(self, state: RunState) -> frozenset[str]:
        if state.running or state.end_time is None or (state.path_pending and not state.critical_path_known()):
            return frozenset()  # (pending: a window computes it a part at a time, then repaints)
        key = id(state)
        cached = self._cache.get(key)
        if cached is not None and cached[0] == state.run_id and cached[1] == state.events_applied:
            return cached[2]
        if len(self._cache) > 64:
            self._cache.clear()
        path, _ = state.critical_path()
        ids = frozenset(
            n
            for n in path
            if (state.spans[n].duration or 0.0) > 0 and state.spans[n].status in ("succeeded", "failed", "cancelled")
        )
        self._cache[key] = (state.run_id, state.events_applied, ids)
        return ids


class GanttPainter:
    def __init__(self, theme: Theme, font: QFont | None = None) -> None:
        self.theme = theme
        self.font = chart_font(font)
        self.small = chart_font(font, -1.0)
        self.bold = chart_font(font, 0.0, bold=True)
        self.critical = CriticalPaths()

    # --- the chart ---------------------------------------------------------------------------------
    def paint_chart(
        self,
        p: QPainter,
        layout: GanttLayout,
        width: float,
        height: float,
        scroll_x: float = 0.0,
        scroll_y: float = 0.0,
        highlight: Collection[str] = (),
        hover: str | None = None,
    ) -> None:
        m, theme = layout.metrics, self.theme
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.fillRect(QRectF(0, 0, width, height), theme.background)
        top = m.axis_height
        rows = layout.rows_between(scroll_y, scroll_y + height - top)
        dy = top - scroll_y
        dx = -scroll_x
        step = tick_step(layout.px_per_s)
        t0, t1 = layout.rel_of_x(m.label_width + scroll_x), layout.rel_of_x(width + scroll_x)
        tick_times = ticks(max(0.0, t0), t1, step)

        p.setClipRect(QRectF(0, top, width, height - top))
        for row in rows:
            self._row_background(p, row, dy, width, highlight)
        chart_clip = QRectF(m.label_width, top, width - m.label_width, height - top)
        p.setClipRect(chart_clip)
        p.setPen(QPen(theme.grid, 1))
        for t in tick_times:
            x = round(layout.x_of_rel(t) + dx) + 0.5
            p.drawLine(QPointF(x, top), QPointF(x, height))
        critical = [self.critical.of(s) for s in layout.states]
        for row in rows:
            if row.kind == "item":
                paint_item_bar(self, p, layout, row, dx, dy, width)
            elif row.kind == "node":
                self._node_bar(
                    p,
                    layout,
                    row,
                    dx,
                    dy,
                    critical[row.run_index],
                    row.node_id in highlight,
                    row.node_id == hover,
                    width,
                )

        p.setClipRect(QRectF(0, top, width, height - top))
        for row in rows:
            self._row_label(p, layout, row, dy, width, highlight)
        p.setClipRect(chart_clip)
        self._now_lines(p, layout, dx, top, height)
        p.setClipping(False)
        self._axis(p, layout, width, dx, tick_times, step)
        p.restore()

    def _row_background(self, p: QPainter, row: Row, dy: float, width: float, highlight: Collection[str]) -> None:
        theme = self.theme
        rect = QRectF(0, row.top + dy, width, row.height)
        if row.kind == "run":
            p.fillRect(rect, theme.run_bg)
        elif row.kind == "layer":
            p.fillRect(rect, theme.group_bg)
            p.setPen(QPen(theme.grid, 1))
            p.drawLine(QPointF(0, rect.top() + 0.5), QPointF(width, rect.top() + 0.5))
        elif row.node_id in highlight:
            p.fillRect(rect, theme.highlight_bg)

    def _row_label(
        self, p: QPainter, layout: GanttLayout, row: Row, dy: float, width: float, highlight: Collection[str]
    ) -> None:
        theme, m = self.theme, layout.metrics
        rect = QRectF(0, row.top + dy, m.label_width, row.height)
        if row.kind in ("run", "layer"):  # group headers span the whole width, unscrolled
            self._row_background(p, row, dy, width, highlight)
            p.setFont(self.bold if row.kind == "run" else self.small)
            p.setPen(theme.text if row.kind == "run" else theme.muted)
            text = QRectF(10, rect.top(), 4000, rect.height())
            p.drawText(text, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, row.text)
            return
        state = layout.states[row.run_index]
        if row.node_id is None:  # only a run's own row has none, drawn above
            return
        if row.item is not None:
            paint_item_label(self, p, layout, row, dy)
            return
        span = state.spans[row.node_id]
        p.fillRect(rect, theme.highlight_bg if row.node_id in highlight else theme.label_bg)
        p.setPen(QPen(theme.grid, 1))
        p.drawLine(QPointF(m.label_width - 0.5, rect.top()), QPointF(m.label_width - 0.5, rect.bottom()))
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(theme.status_color(span.status))
        p.drawEllipse(QPointF(16, rect.center().y()), 4, 4)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        kind = row_tag(span)  # its model, and "@endpoint" when it names one
        small_metrics = QFontMetricsF(self.small)
        kind_width = min(small_metrics.horizontalAdvance(kind) + 8, m.label_width * 0.45)
        p.setFont(self.small)
        p.setPen(theme.muted)
        kind_rect = QRectF(m.label_width - kind_width - 6, rect.top(), kind_width, rect.height())
        p.drawText(
            kind_rect,
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
            small_metrics.elidedText(kind, Qt.TextElideMode.ElideRight, kind_width),
        )
        p.setFont(self.bold if row.node_id in highlight else self.font)
        p.setPen(theme.text)
        name_width = kind_rect.left() - 28
        name = QFontMetricsF(p.font()).elidedText(row.text, Qt.TextElideMode.ElideRight, name_width)
        p.drawText(
            QRectF(26, rect.top(), name_width, rect.height()),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            name,
        )

    def _node_bar(
        self,
        p: QPainter,
        layout: GanttLayout,
        row: Row,
        dx: float,
        dy: float,
        critical: frozenset[str],
        highlighted: bool,
        hovered: bool,
        width: float,
    ) -> None:
        theme, m = self.theme, layout.metrics
        if row.node_id is None:  # a run's own row has no bar
            return
        state = layout.states[row.run_index]
        span = state.spans[row.node_id]
        top = layout.bar_top(row) + dy
        left = right = None
        for segment in layout.segments(row):
            x0, x1 = layout.segment_x(row, segment)
            self._segment(p, segment, QRectF(x0 + dx, top, x1 - x0, m.bar_height))
            left = x0 + dx if left is None else min(left, x0 + dx)
            right = x1 + dx if right is None else max(right, x1 + dx)
        working = bar_span(state, span)
        if working is not None:
            x0 = layout.x_of(row.run_index, working[0]) + dx
            x1 = max(layout.x_of(row.run_index, working[1]) + dx, x0 + m.min_bar_px)
            outline = QRectF(x0, top, x1 - x0, m.bar_height)
            if row.node_id in critical:
                p.setPen(QPen(theme.critical, 2))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRect(outline.adjusted(-1, -1, 1, 1))
            if highlighted or hovered:
                p.setPen(QPen(theme.highlight, 2 if highlighted else 1))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRect(outline.adjusted(-2, -2, 2, 2))
        if left is None and span.status == "not_run":  # outside a partial run: say so where it would start
            left = right = layout.x_of_rel(0.0) + dx
        if left is not None and right is not None:
            self._bar_text(p, state, span, (left, right), (m.label_width, width), row.top + dy, row.height)

    def _bar_text(
        self,
        p: QPainter,
        state: RunState,
        span,
        bar: tuple[float, float],
        room: tuple[float, float],
        top: float,
        height: float,
    ) -> None:
        """Duration, tokens (and a failure's error) right of the bar, else left of it; where neither side has
        room for all of it, the side with more room gets it elided (the tooltip has every word). Only a bar
        painted solid (done or running) may carry its text inside its end: a failed, retrying or backing-off
        bar is patterned, and text on it cannot be read."""
        parts = []
        if span.status in ("skipped", "not_taken"):
            parts.append(span.skip_reason or str(span.status))
        elif span.reused is not None:
            parts.append(bar_label(span))
        else:
            if span.started_at is not None:
                end = span.ended_at if span.ended_at is not None else state.now()
                parts.append(fmt_duration(end - span.started_at))
            label = bar_label(span)
            if label:
                parts.append(label)
            if span.status == "failed" and span.error:
                parts.append(span.error)
            elif span.status == "cancelled":
                parts.append("cancelled")
        if not parts:
            return
        text = " · ".join(parts)
        metrics = QFontMetricsF(self.small)
        p.setFont(self.small)
        p.setPen(self.theme.status_color("failed") if span.status == "failed" else self.theme.muted)
        text_w = metrics.horizontalAdvance(text) + 2
        place = label_place(text_w, bar, room, solid=painted_solid(span))
        if place is None:
            return  # no room beside the bar: the tooltip says it
        x, width = place
        if width < text_w:
            text = metrics.elidedText(text, Qt.TextElideMode.ElideRight, width - 2)
            text_w = metrics.horizontalAdvance(text) + 2
            if x < bar[0]:  # left of the bar: keep it against the bar
                x = bar[0] - LABEL_GAP - text_w
        elif bar[0] <= x < bar[1]:
            p.setPen(contrast(self.theme.status_color(span.status)))
        p.drawText(QRectF(x, top, text_w + 2, height), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)

    def _segment(self, p: QPainter, segment: Segment, rect: QRectF) -> None:
        theme = self.theme
        kind = segment.kind
        p.setPen(Qt.PenStyle.NoPen)
        if kind == "queued":
            thin = QRectF(rect.left(), rect.center().y() - 2, rect.width(), 4)
            p.fillRect(thin, theme.status_color("queued"))
        elif kind == "waiting":
            self.swatch(p, rect, "waiting")
        elif kind == "backoff":
            self.swatch(p, rect, "backoff")
        elif kind == "retry":
            self.swatch(p, rect, "retry")
        elif kind in ("skipped", "not_taken", "reused", "pinned", "rejected", "check"):
            self.swatch(p, rect, kind)
        elif kind == "ttft":
            p.fillRect(rect, theme.ttft_color(segment.status))
        else:
            p.fillRect(rect, theme.status_color(segment.status))

    def swatch(self, p: QPainter, rect: QRectF, key: str) -> None:
        """Fill ``rect`` the way a segment kind, a status or the critical-path outline is drawn."""
        theme = self.theme
        if key == "waiting":
            color = theme.status_color("waiting")
            p.fillRect(rect, blend(color, theme.background, 0.7))
            p.fillRect(rect, QBrush(color, Qt.BrushStyle.BDiagPattern))
        elif key == "backoff":  # a pale band with a dotted core: time spent waiting to retry
            p.fillRect(rect, blend(theme.backoff, theme.background, 0.78))
            core = QRectF(rect.left(), rect.center().y() - rect.height() / 4, rect.width(), rect.height() / 2)
            p.fillRect(core, blend(theme.backoff, theme.background, 0.3))
            p.fillRect(core, QBrush(theme.backoff.darker(135), Qt.BrushStyle.Dense5Pattern))
        elif key == "retry":
            p.fillRect(rect, theme.retry)
            p.fillRect(rect, QBrush(theme.status_color("failed").darker(140), Qt.BrushStyle.FDiagPattern))
        elif key == "rejected":  # an answer its check rejected: amber, cross-hatched (a repair follows)
            p.fillRect(rect, QColor("#f59e0b"))
            p.fillRect(rect, QBrush(QColor("#92400e"), Qt.BrushStyle.DiagCrossPattern))
        elif key == "check":  # a judge model checking the answer: a violet band
            thin = QRectF(rect.left(), rect.center().y() - rect.height() / 4, rect.width(), rect.height() / 2)
            p.fillRect(thin, QColor("#8b5cf6"))
        elif key in ("skipped", "not_taken"):
            color = theme.status_color(key)
            p.fillRect(rect, blend(color, theme.background, 0.75))
            p.fillRect(rect, QBrush(color, Qt.BrushStyle.BDiagPattern))
            p.setPen(QPen(color, 1))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(rect.adjusted(0.5, 0.5, -0.5, -0.5))
        elif key == "reused":  # thin and hatched: the recorded time of a call this run did not make
            color = theme.status_color("cached")
            thin = QRectF(rect.left(), rect.center().y() - rect.height() / 6, rect.width(), rect.height() / 3)
            p.fillRect(thin, blend(color, theme.background, 0.7))
            p.fillRect(thin, QBrush(color, Qt.BrushStyle.FDiagPattern))
            p.setPen(QPen(color, 1))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(thin.adjusted(0.5, 0.5, -0.5, -0.5))
        elif key == "pinned":
            color = theme.status_color("pinned")
            p.fillRect(rect, blend(color, theme.background, 0.6))
            p.setPen(QPen(color, 1.5))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(rect.adjusted(0.5, 0.5, -0.5, -0.5))
        elif key == "ttft":
            p.fillRect(rect, theme.ttft_color("succeeded"))
        elif key == "queued":
            p.fillRect(QRectF(rect.left(), rect.center().y() - 2, rect.width(), 4), theme.status_color("queued"))
        elif key == "critical":
            p.setPen(QPen(theme.critical, 2))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(rect.adjusted(1, 1, -1, -1))
        else:
            p.fillRect(rect, theme.status_color(key))

    def _now_lines(self, p: QPainter, layout: GanttLayout, dx: float, top: float, height: float) -> None:
        pen = QPen(self.theme.now_line, 1, Qt.PenStyle.DashLine)
        for index, state in enumerate(layout.states):
            if state.running and state.start_time is not None:
                x = round(layout.x_of(index, state.now()) + dx) + 0.5
                p.setPen(pen)
                p.drawLine(QPointF(x, top), QPointF(x, height))

    def _axis(
        self, p: QPainter, layout: GanttLayout, width: float, dx: float, tick_times: list[float], step: float
    ) -> None:
        theme, m = self.theme, layout.metrics
        h = m.axis_height
        p.fillRect(QRectF(0, 0, width, h), theme.axis_bg)
        p.setPen(QPen(theme.grid.darker(115), 1))
        p.drawLine(QPointF(0, h - 0.5), QPointF(width, h - 0.5))
        p.setFont(self.small)
        p.setPen(theme.muted)
        p.drawText(
            QRectF(10, 0, m.label_width - 20, h),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            "Node  ·  time since start",
        )
        p.setClipRect(QRectF(m.label_width, 0, width - m.label_width, h))
        metrics = QFontMetricsF(self.small)
        for t in tick_times:
            x = round(layout.x_of_rel(t) + dx) + 0.5
            p.setPen(QPen(theme.muted, 1))
            p.drawLine(QPointF(x, h - 5), QPointF(x, h - 1))
            text = tick_label(t, step)
            tw = metrics.horizontalAdvance(text)
            left = x - tw / 2 if t > 0 else x - 2
            p.setPen(theme.text)
            p.drawText(QRectF(left, 2, tw + 4, h - 8), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)
        p.setClipping(False)

    # --- legend --------------------------------------------------------------------------------------
    def legend_entries(self) -> tuple[tuple[str, str], ...]:
        return LEGEND

    def legend_height(self, width: float) -> float:
        return self.paint_legend(None, 0, 0, width)

    def paint_legend(self, p: QPainter | None, x: float, y: float, width: float) -> float:
        """Swatches and names, flowing onto more lines when ``width`` is short; returns the height used."""
        metrics = QFontMetricsF(self.small)
        line_h = max(16.0, metrics.height() + 4)
        cx, cy = x, y
        if p is not None:
            p.save()
            p.setFont(self.small)
        for key, label in self.legend_entries():
            item_w = 22 + metrics.horizontalAdvance(label) + 14
            if cx > x and cx + item_w > x + width:
                cx, cy = x, cy + line_h
            if p is not None:
                swatch = QRectF(cx, cy + (line_h - 10) / 2, 16, 10)
                self.swatch(p, swatch, key)
                p.setPen(self.theme.text)
                p.drawText(
                    QRectF(cx + 21, cy, item_w, line_h),
                    Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                    label,
                )
            cx += item_w
        if p is not None:
            p.restore()
        return cy - y + line_h


def painted_solid(span: NodeSpan) -> bool:
    """Whether a step's bar is painted as a solid block that may carry its text inside: a succeeded or running
    step's, not a reused one's (a thin hatched line: white text over it could not be read)."""
    return span.status in ("succeeded", "running") and not span.error and span.reused is None
