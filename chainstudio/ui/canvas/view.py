"""CanvasView: zoom at the cursor with the wheel, pan with the middle button or Space+drag, rubber-band
selection, fit to view, drops of palette kinds (onto an edge: inserted into it), Tab for the quick-add list,
a hint naming the next action while the canvas is empty, the progress of a big graph's items being made, and
the notice shown over the canvas."""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QCursor, QKeyEvent, QPainter, QPen, QPixmapCache, QTransform
from PySide6.QtWidgets import QGraphicsView, QWidget

from chainstudio.core.editing.changes import Changes
from chainstudio.core.graph.kinds import NODE_KINDS
from chainstudio.ui import theme
from chainstudio.ui.canvas import geometry as geo
from chainstudio.ui.canvas.edge_item import EdgeItem
from chainstudio.ui.canvas.node_item import BOUNDS
from chainstudio.ui.canvas.notice import CanvasNotice
from chainstudio.ui.canvas.overview_frame import paint_overview_frame
from chainstudio.ui.canvas.scene import CanvasScene

KIND_MIME = "application/x-chainstudio-kind"
MIN_ZOOM, MAX_ZOOM = 0.05, 3.0
FIT_MAX_ZOOM = 1.25
ZOOM_SETTLE_MS = 250  # after the last zoom step, cards are redrawn sharp
PIXMAP_CACHE_KB = 96 * 1024  # room for a few hundred cached cards (Qt's default is 10 MB)
EMPTY_HINT = (
    "This graph is empty.\n\nDrag a step from the Palette, double-click here or press Tab to add one:\n"
    "start with an Input (what the chain is about), then an LLM call."
)


def insertable(kind: str) -> bool:
    """Whether a ``kind`` step can go in the middle of an edge (it has both ports)."""
    spec = NODE_KINDS.get(kind)
    return spec is not None and spec.has_input_port and spec.has_output_port


class CanvasView(QGraphicsView):
    kindDropped = Signal(str, QPointF)  # node kind, scene position (where the card's centre goes)
    kindDroppedOnEdge = Signal(str, str, QPointF)  # node kind, edge id, scene position
    quickAddRequested = Signal(QPointF)  # Tab: the quick-add list, for a step at this scene position
    zoomChanged = Signal(float)

    def __init__(self, scene: CanvasScene, parent: QWidget | None = None) -> None:
        super().__init__(scene, parent)
        self.canvas = scene  # scene() as its own type
        QPixmapCache.setCacheLimit(max(QPixmapCache.cacheLimit(), PIXMAP_CACHE_KB))
        self.setRenderHints(
            QPainter.RenderHint.Antialiasing
            | QPainter.RenderHint.TextAntialiasing
            | QPainter.RenderHint.SmoothPixmapTransform
        )
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState, True)
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setAcceptDrops(True)
        self.setSceneRect(QRectF(-50_000, -50_000, 100_000, 100_000))
        self._pan_from: QPointF | None = None
        self._space = False
        self._fit_pending = False
        self._port_cursor = False
        self._drop_edge: EdgeItem | None = None
        self._empty = not scene.nodes
        self._building: tuple[int, int] | None = None  # a big graph's items made so far, of how many
        self._opening: str | None = None  # the name of a file being read on a worker (``show_opening``)
        scene.buildProgress.connect(self._build_progress)
        scene.built.connect(self._build_progress)
        self.notice = CanvasNotice(self)
        scene.document.subscribe(self._document_changed)
        self.zoomChanged.connect(scene.set_zoom)
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.timeout.connect(lambda: self.canvas.set_zooming(False))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._fit_pending:
            QTimer.singleShot(0, self.fit)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.notice.isVisible():
            self.notice.place()

    def _document_changed(self, changes: Changes) -> None:
        empty = not self.canvas.document.graph.nodes
        if empty != self._empty:
            self._empty = empty
            self.viewport().update()  # the hint comes or goes

    def _build_progress(self, done: int = 0, total: int = 0) -> None:
        self._building = (done, total) if self.canvas.building or total else None
        self.viewport().update()

    def show_opening(self, path: object = None) -> None:
        """'Opening <name>…' over the canvas while the file ``path`` is read (None: no longer)."""
        self._opening = Path(str(path)).name if path is not None else None
        self.viewport().update()

    @property
    def shows_hint(self) -> bool:
        """Whether the empty-canvas hint is drawn (not while a file is being opened)."""
        return self._empty and self._opening is None

    def cursor_scene_pos(self) -> QPointF:
        """Where the mouse is on the canvas, or the centre of the view when it is elsewhere."""
        at = self.viewport().mapFromGlobal(QCursor.pos())
        if self.viewport().rect().contains(at):
            return self.mapToScene(at)
        return self.centre_scene_pos()

    # --- zoom -----------------------------------------------------------------------------------
    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zoom by ``factor`` keeping the scene point under ``anchor`` (viewport pixels; default the
        centre) where it is."""
        target = min(MAX_ZOOM, max(MIN_ZOOM, self.zoom() * factor))
        if math.isclose(target, self.zoom()):
            return
        self.canvas.set_zooming(True)
        self._settle.start(ZOOM_SETTLE_MS)
        at = (anchor if anchor is not None else QPointF(self.viewport().rect().center())).toPoint()
        fixed = self.mapToScene(at)
        self.scale(target / self.zoom(), target / self.zoom())
        drift = self.mapFromScene(fixed) - at
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + drift.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + drift.y())
        self.zoomChanged.emit(self.zoom())

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_by(1.15**steps, event.position())
        event.accept()

    def fit(self) -> None:
        """Show every card (at most at 125 %); an empty canvas is shown at 100 % around the origin.
        Before the view is shown, fitting waits for the first show."""
        if not self.isVisible():
            self._fit_pending = True
            return
        self._fit_pending = False
        rect = QRectF()
        if self.canvas.building:  # the cards are not all made yet: where the graph puts them
            for node in self.canvas.document.graph.nodes.values():
                rect = rect.united(BOUNDS.translated(*node.position))
        for item in self.canvas.nodes.values():
            rect = rect.united(item.box())
        if rect.isNull():
            self.setTransform(QTransform())
            self.centerOn(0, 0)
            self.zoomChanged.emit(self.zoom())
            return
        self.fitInView(rect.adjusted(-60, -80, 60, 60), Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom() > FIT_MAX_ZOOM:
            self.setTransform(QTransform.fromScale(FIT_MAX_ZOOM, FIT_MAX_ZOOM))
            self.centerOn(rect.center())
        self.zoomChanged.emit(self.zoom())

    def centre_scene_pos(self) -> QPointF:
        return self.mapToScene(self.viewport().rect().center())

    # --- pan ------------------------------------------------------------------------------------
    def pan_by(self, dx: float, dy: float) -> None:
        """Move the view by (dx, dy) viewport pixels."""
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + round(dx))
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + round(dy))

    def event(self, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Tab
            and event.modifiers() in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.KeypadModifier)
        ):
            self.quickAddRequested.emit(self.cursor_scene_pos())  # Tab on the canvas: add a step, by name
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.viewport().unsetCursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.MiddleButton or (
            self._space and event.button() == Qt.MouseButton.LeftButton
        ):
            self._pan_from = event.position()
            self.canvas.panning = True
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.pan_by(-delta.x(), -delta.y())
            event.accept()
            return
        super().mouseMoveEvent(event)
        if not self._space and event.buttons() == Qt.MouseButton.NoButton:
            near = self.canvas.port_near(self.mapToScene(event.position().toPoint())) is not None
            if near != self._port_cursor:  # a cross near a port: a drag from here connects
                self._port_cursor = near
                if near:
                    self.viewport().setCursor(Qt.CursorShape.CrossCursor)
                else:
                    self.viewport().unsetCursor()

    def mouseReleaseEvent(self, event) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self.canvas.panning = False
            if self._space:
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            else:
                self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    # --- drops from the palette -----------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasFormat(KIND_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        if not event.mimeData().hasFormat(KIND_MIME):
            event.ignore()
            return
        event.acceptProposedAction()
        kind = bytes(event.mimeData().data(KIND_MIME)).decode()
        pos = self.mapToScene(event.position().toPoint())
        edge = self.canvas.edge_near(pos) if insertable(kind) and self.canvas.node_at(pos) is None else None
        self._set_drop_edge(edge)

    def dragLeaveEvent(self, event) -> None:
        self._set_drop_edge(None)
        super().dragLeaveEvent(event)

    def _set_drop_edge(self, edge: EdgeItem | None) -> None:
        if edge is not self._drop_edge:
            if self._drop_edge is not None and self._drop_edge.scene() is not None:
                self._drop_edge.set_drop_target(False)
            self._drop_edge = edge
            if edge is not None:
                edge.set_drop_target(True)

    def dropEvent(self, event) -> None:
        if not event.mimeData().hasFormat(KIND_MIME):
            event.ignore()
            return
        kind = bytes(event.mimeData().data(KIND_MIME)).decode()
        pos = self.mapToScene(event.position().toPoint())
        edge = self._drop_edge
        self._set_drop_edge(None)
        if edge is not None and edge.scene() is self.canvas:
            self.kindDroppedOnEdge.emit(kind, edge.edge_id, pos)  # dropped onto an edge: goes in between
        else:
            self.kindDropped.emit(kind, pos)
        event.acceptProposedAction()

    def paintEvent(self, event) -> None:
        if not paint_overview_frame(self, event):  # far out, without Qt's walk over every item
            super().paintEvent(event)

    # --- background -----------------------------------------------------------------------------
    def drawBackground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        painter.fillRect(rect, theme.CANVAS_BACKGROUND)
        step = geo.GRID_STEP * (5 if self.zoom() < 0.5 else 1)
        if step * self.zoom() < 8:
            return
        painter.setPen(QPen(theme.GRID_COLOR, 0))
        left = math.floor(rect.left() / step) * step
        top = math.floor(rect.top() / step) * step
        lines = []
        x = left
        while x < rect.right():
            lines.append((QPointF(x, rect.top()), QPointF(x, rect.bottom())))
            x += step
        y = top
        while y < rect.bottom():
            lines.append((QPointF(rect.left(), y), QPointF(rect.right(), y)))
            y += step
        for a, b in lines:
            painter.drawLine(a, b)

    def drawForeground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        if self._opening is not None:
            self._draw_banner(painter, f"Opening {self._opening}…")
            return  # (not the empty-canvas hint meanwhile)
        if self._building is not None and self.canvas.building:
            self._draw_progress(painter, *self._building)
        if not self._empty:
            return
        painter.save()
        painter.resetTransform()  # viewport pixels
        painter.setPen(theme.HINT_TEXT)
        painter.setFont(theme.font(12))
        area = QRectF(self.viewport().rect()).adjusted(40, 40, -40, -40)
        painter.drawText(area, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, EMPTY_HINT)
        painter.restore()

    def _draw_progress(self, painter: QPainter, done: int, total: int) -> None:
        """'Drawing the graph: 12,345 of 110,000 steps and edges', over the top of the canvas."""
        self._draw_banner(painter, f"Drawing the graph: {done:,} of {total:,} steps and edges")

    def _draw_banner(self, painter: QPainter, text: str) -> None:
        painter.save()
        painter.resetTransform()  # viewport pixels
        painter.setFont(theme.font(11))
        box = QRectF(painter.fontMetrics().boundingRect(text)).adjusted(-12, -6, 12, 6)
        box.moveCenter(QPointF(self.viewport().width() / 2, 24))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.CANVAS_BACKGROUND.lighter(130) if theme.DARK else theme.CANVAS_BACKGROUND.darker(110))
        painter.drawRoundedRect(box, 6, 6)
        painter.setPen(theme.HINT_TEXT)
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()
