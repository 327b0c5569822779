"""A frame of the overview painted by the view itself, without Qt's walk over the scene's items.

While the overview shows, the cards and edges stay in the scene undrawn (they keep taking clicks and drops),
yet Qt's paint still gathers, sorts and visits every one of them each frame: with 10,000 steps and 100,000
edges that walk alone cost more than a frame. What the overview shows is drawn by three kinds of items (the
layer bands' item, the overview, the rubber band), so the view paints those directly, in their stacking order.
A connection being dragged (its curve is an item of its own) is painted the usual way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QRubberBand, QStyle, QStyleOptionGraphicsItem, QStyleOptionRubberBand

if TYPE_CHECKING:
    from chainstudio.ui.canvas.view import CanvasView


def paint_overview_frame(view: CanvasView, event: QPaintEvent) -> bool:
    """Paint ``event``'s region of ``view`` if the overview alone shows there; False: paint it the usual way."""
    scene = view.canvas
    if not scene.overview.active or scene.dragging_connection():
        return False
    painter = QPainter(view.viewport())
    try:
        painter.setClipRegion(event.region())
        transform = view.viewportTransform()
        exposed = transform.inverted()[0].mapRect(QRectF(event.region().boundingRect())).adjusted(-2, -2, 2, 2)
        painter.setWorldTransform(transform)
        view.drawBackground(painter, exposed)  # without anti-aliasing, as Qt draws its cached background
        painter.setRenderHints(view.renderHints())
        option = QStyleOptionGraphicsItem()
        option.exposedRect = exposed
        bands = scene.band_layer  # under the overview (z −10 and 0.5)
        if bands.isVisible() and bands.rect().intersects(exposed):
            bands.paint(painter, option, view.viewport())
        scene.overview.paint(painter, option)
        view.drawForeground(painter, exposed)
        band_rect = view.rubberBandRect()
        if not band_rect.isEmpty():
            painter.resetTransform()
            rubber = QStyleOptionRubberBand()
            rubber.initFrom(view.viewport())
            rubber.rect = band_rect
            rubber.shape = QRubberBand.Shape.Rectangle
            view.style().drawControl(QStyle.ControlElement.CE_RubberBand, rubber, painter, view.viewport())
    finally:
        painter.end()
    return True
