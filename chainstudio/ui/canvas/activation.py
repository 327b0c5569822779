"""The window's activation without a walk over every item of the scene.

When the window becomes active or inactive (the first click into it, Alt+Tab, a dialog opened or closed), the
view hands the scene a WindowActivate or WindowDeactivate event. A QGraphicsScene without a panel then sends
that event to every top-level item, and to find them it lists all items sorted by stacking order
(``QGraphicsScene::items()``, a sort of the whole scene): with 10,000 cards and 100,000 edges that took 0.26-0.46 s
of the window's thread, the 0.4 s stall of the first middle-button pan in the real window (which was the click that
activated it). A scene with a panel activates that panel only (``QGraphicsScene::event``: "Activate the last
panel"), so the canvas keeps one: an empty, unpainted panel no click or hover can find (its bounds are empty).

What a panel changes: items outside the active panel say ``isActive()`` and ``hasFocus()`` false. No canvas item
takes the keyboard focus or asks either, the canvas's keys go to the view.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QGraphicsItem


class ActivationPanel(QGraphicsItem):
    """An empty panel: the one item the window's activation and deactivation reach."""

    def __init__(self) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsPanel)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents)

    def boundingRect(self) -> QRectF:
        return QRectF()

    def paint(self, painter, option, widget=None) -> None:
        pass
