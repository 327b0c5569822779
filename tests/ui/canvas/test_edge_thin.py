"""An edge about a pixel wide on screen is drawn with a one-pixel (cosmetic) pen: dashing 7,000 curves with a
1.8-unit antialiased pen at 60 % took 3.6 s for the first frame past the big graph's overview (0.2 s now).
It must still look like the edge it was: about the same ink, in the same place."""

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QTransform
from PySide6.QtWidgets import QGraphicsScene

from chainstudio.ui import theme
from chainstudio.ui.canvas.edge_item import EdgeItem

SCALE = 0.6  # 1.8 units are 1.08 px: under THIN_PX


def ink(image: QImage) -> tuple[float, set[tuple[int, int]]]:
    total, where = 0.0, set()
    for y in range(image.height()):
        for x in range(image.width()):
            darkness = 255 - QColor(image.pixel(x, y)).lightness()
            total += darkness
            if darkness > 40:
                where.add((x // 8, y // 8))
    return total, where


def image() -> QImage:
    out = QImage(400, 160, QImage.Format.Format_ARGB32_Premultiplied)
    out.fill(QColor("white"))
    return out


def test_a_thin_dashed_edge_keeps_its_look(qapp):
    start, end = QPointF(20, 40), QPointF(620, 200)
    scene = QGraphicsScene()
    edge = EdgeItem("e", "a", "b")
    edge.set_ends(start, end)
    edge.set_ordering_only(True)
    scene.addItem(edge)
    now = image()
    with QPainter(now) as painter:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        scene.render(painter, QRectF(0, 0, 400, 160), QRectF(0, 0, 400 / SCALE, 160 / SCALE))
    before = image()  # as every edge was drawn before: the 1.8-unit pen, antialiased, scaled
    with QPainter(before) as painter:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setTransform(QTransform.fromScale(SCALE, SCALE))
        painter.setPen(QPen(theme.EDGE, 1.8, Qt.PenStyle.DashLine))
        painter.drawPath(edge.path())
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.EDGE)
        painter.drawPath(edge.arrow())
    ink_now, cells_now = ink(now)
    ink_before, cells_before = ink(before)
    assert 0.6 < ink_now / ink_before < 1.4
    assert len(cells_now ^ cells_before) <= 0.1 * len(cells_before)  # the same 8 x 8 cells inked
