"""The scrolling chart: paints only the visible rows, zooms with Ctrl+wheel, hit-tests clicks and tooltips."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QPoint, Qt, Signal
from PySide6.QtGui import QHelpEvent, QKeySequence, QMouseEvent, QPainter, QWheelEvent
from PySide6.QtWidgets import QAbstractScrollArea, QToolTip, QWidget

from chainstudio.core.gantt.layout import GanttLayout, Metrics, Row
from chainstudio.core.gantt.text import tooltip_html
from chainstudio.core.run.state import RunState
from chainstudio.ui.gantt.paint import GanttPainter
from chainstudio.ui.gantt.theme import Theme

ZOOM_STEP = 1.5


class GanttView(QAbstractScrollArea):
    """Rows and bars of one or more runs; the label column and the time axis stay put while scrolling."""

    nodeClicked = Signal(str)
    zoomChanged = Signal(float)  # pixels per second

    def __init__(self, parent: QWidget | None = None, metrics: Metrics | None = None) -> None:
        super().__init__(parent)
        self.metrics = metrics or Metrics()
        self.theme = Theme.from_palette(self.palette())
        self.painter = GanttPainter(self.theme, self.font())
        self._states: list[RunState] = []
        self.layout_ = GanttLayout([], self.metrics)
        self._built_for: tuple = ()
        self.expanded: set[tuple[int, str]] = set()  # map steps shown with a row per item
        self.highlighted: set[str] = set()
        self.hovered: str | None = None
        self.auto_fit = True
        self.paint_count = 0
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.viewport().setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.horizontalScrollBar().setSingleStep(40)
        self.verticalScrollBar().setSingleStep(self.metrics.row_height)

    # --- data ---------------------------------------------------------------------------------------
    def set_states(self, states: Sequence[RunState]) -> None:
        self._states = list(states)
        self._rebuild()
        self.refresh()

    def _structure(self) -> tuple:
        """What the rows depend on: which runs, and their nodes (a state may be reset by a RunStarted); the
        map items' count is kept by the state's tally (summing it over 10,000 spans took 5-10 ms a refresh)."""
        return tuple((id(s), s.run_id, len(s.spans), s.tally().items) for s in self._states)

    def _rebuild(self) -> None:
        self.layout_ = GanttLayout(self._states, self.metrics, self.layout_.px_per_s, self.expanded)
        self._built_for = self._structure()
        self.hovered = None

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.painter = GanttPainter(theme, self.font())
        self.viewport().update()

    def refresh(self) -> None:
        """Re-read the run states (times grow while a run goes on) and repaint once."""
        if self._structure() != self._built_for:
            self._rebuild()
        hbar = self.horizontalScrollBar()
        following = hbar.value() >= hbar.maximum() - 2 and hbar.maximum() > 0
        if self.auto_fit:
            self.layout_.set_px_per_s(self.layout_.fit_px_per_s(self.viewport().width()))
        self._update_ranges()
        if following and not self.auto_fit:
            hbar.setValue(hbar.maximum())  # keep the live edge in sight
        self.viewport().update()

    def _update_ranges(self) -> None:
        size = self.viewport().size()
        hbar, vbar = self.horizontalScrollBar(), self.verticalScrollBar()
        hbar.setRange(0, max(0, round(self.layout_.content_width - size.width())))
        hbar.setPageStep(max(1, size.width() - self.metrics.label_width))
        total_h = self.metrics.axis_height + self.layout_.content_height
        vbar.setRange(0, max(0, round(total_h - size.height())))
        vbar.setPageStep(max(1, size.height() - self.metrics.axis_height))

    # --- zoom ---------------------------------------------------------------------------------------
    @property
    def px_per_s(self) -> float:
        return self.layout_.px_per_s

    def set_px_per_s(self, px_per_s: float, anchor_x: float | None = None) -> None:
        """Zoom, keeping the time under viewport x ``anchor_x`` (default: the middle of the chart) in place."""
        self.auto_fit = False
        if anchor_x is None:
            anchor_x = (self.metrics.label_width + self.viewport().width()) / 2
        hbar = self.horizontalScrollBar()
        t = self.layout_.rel_of_x(anchor_x + hbar.value())
        self.layout_.set_px_per_s(px_per_s)
        self._update_ranges()
        hbar.setValue(round(self.layout_.x_of_rel(t) - anchor_x))
        self.viewport().update()
        self.zoomChanged.emit(self.layout_.px_per_s)

    def zoom_in(self) -> None:
        self.set_px_per_s(self.px_per_s * ZOOM_STEP)

    def zoom_out(self) -> None:
        self.set_px_per_s(self.px_per_s / ZOOM_STEP)

    def fit(self) -> None:
        """Fit the whole run to the width, and keep fitting while it grows."""
        self.auto_fit = True
        self.horizontalScrollBar().setValue(0)
        self.refresh()
        self.zoomChanged.emit(self.layout_.px_per_s)

    # --- highlight ----------------------------------------------------------------------------------
    def highlight(self, node_id: str | None, scroll: bool = True) -> None:
        self.highlighted = {node_id} if node_id else set()
        if node_id and scroll:
            self.ensure_visible(node_id)
        self.viewport().update()

    def ensure_visible(self, node_id: str) -> None:
        row = next(
            (
                self.layout_.node_row(node_id, i)
                for i in range(len(self.layout_.states))
                if self.layout_.node_row(node_id, i) is not None
            ),
            None,
        )
        if row is None:
            return
        vbar = self.verticalScrollBar()
        visible_h = self.viewport().height() - self.metrics.axis_height
        if row.top < vbar.value():
            vbar.setValue(round(row.top))
        elif row.bottom > vbar.value() + visible_h:
            vbar.setValue(round(row.bottom - visible_h))
        extent = self.layout_.row_pixel_extent(row)
        hbar = self.horizontalScrollBar()
        if extent is not None:
            left, right = extent[0] - hbar.value(), extent[1] - hbar.value()
            if left < self.metrics.label_width or left > self.viewport().width() - 20:
                hbar.setValue(round(extent[0] - self.metrics.label_width - 20))
            elif right > self.viewport().width():
                hbar.setValue(
                    round(min(extent[0] - self.metrics.label_width - 20, extent[1] - self.viewport().width() + 20))
                )

    # --- hit testing --------------------------------------------------------------------------------
    def content_point(self, pos: QPoint) -> tuple[float, float]:
        """Viewport position → content coordinates (x, y)."""
        return (
            pos.x() + self.horizontalScrollBar().value(),
            pos.y() - self.metrics.axis_height + self.verticalScrollBar().value(),
        )

    def viewport_point(self, x: float, y: float) -> QPoint:
        """Content coordinates → viewport position."""
        return QPoint(
            round(x - self.horizontalScrollBar().value()),
            round(y + self.metrics.axis_height - self.verticalScrollBar().value()),
        )

    def row_at(self, pos: QPoint) -> Row | None:
        if pos.y() < self.metrics.axis_height:
            return None
        return self.layout_.row_at(self.content_point(pos)[1])

    def node_at(self, pos: QPoint) -> tuple[int, str] | None:
        """The node under a viewport position: its bar, or its name in the label column."""
        row = self.row_at(pos)
        if row is None or row.kind != "node" or row.node_id is None:
            return None
        if pos.x() < self.metrics.label_width:
            return row.run_index, row.node_id
        return self.layout_.node_at(*self.content_point(pos))

    # --- Qt events ----------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        painter = QPainter(self.viewport())
        size = self.viewport().size()
        self.painter.paint_chart(
            painter,
            self.layout_,
            size.width(),
            size.height(),
            self.horizontalScrollBar().value(),
            self.verticalScrollBar().value(),
            self.highlighted,
            self.hovered,
        )
        painter.end()
        self.paint_count += 1

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.refresh()

    def scrollContentsBy(self, dx: int, dy: int) -> None:  # noqa: N802
        self.viewport().update()

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta()
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = delta.y() / 120.0
            if steps:
                self.set_px_per_s(self.px_per_s * ZOOM_STEP**steps, event.position().x())
            event.accept()
            return
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier and delta.x() == 0:
            hbar = self.horizontalScrollBar()
            hbar.setValue(hbar.value() - delta.y())
            event.accept()
            return
        super().wheelEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.matches(QKeySequence.StandardKey.ZoomIn):
            self.zoom_in()
        elif event.matches(QKeySequence.StandardKey.ZoomOut):
            self.zoom_out()
        elif event.key() == Qt.Key.Key_0 and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.fit()
        else:
            super().keyPressEvent(event)

    def toggle_items(self, run_index: int, node_id: str) -> None:
        """Show or hide a map step's item rows."""
        key = (run_index, node_id)
        self.expanded.symmetric_difference_update({key})
        self._rebuild()
        self.refresh()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            row = self.layout_.row_at(self.content_point(event.position().toPoint())[1])
            if row is not None and row.kind == "node" and row.node_id is not None:
                span = self.layout_.states[row.run_index].spans.get(row.node_id)
                if span is not None and span.items:  # a map's row opens and closes on a click
                    self.toggle_items(row.run_index, row.node_id)
            hit = self.node_at(event.position().toPoint())
            if hit is not None:
                self.nodeClicked.emit(hit[1])
                event.accept()
                return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        hit = self.node_at(event.position().toPoint())
        hovered = hit[1] if hit else None
        if hovered != self.hovered:
            self.hovered = hovered
            cursor = Qt.CursorShape.PointingHandCursor if hovered else Qt.CursorShape.ArrowCursor
            self.viewport().setCursor(cursor)
            self.viewport().update()
        super().mouseMoveEvent(event)

    def leaveEvent(self, event) -> None:
        if self.hovered is not None:
            self.hovered = None
            self.viewport().update()
        super().leaveEvent(event)

    def tooltip_for(self, pos: QPoint) -> str:
        hit = self.node_at(pos)
        if hit is None:
            return ""
        state = self.layout_.states[hit[0]]
        return tooltip_html(state, state.spans[hit[1]])

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            text = self.tooltip_for(event.pos())
            if text:
                QToolTip.showText(event.globalPos(), text, self.viewport())
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().viewportEvent(event)
