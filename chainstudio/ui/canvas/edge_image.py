"""The overview's plain edges, drawn once per zoom level into an image and then copied onto each frame.

Stroking 100,000 curves takes seconds however they are batched; a frame that only copies pixels takes
milliseconds. The image covers the edges' whole extent at the view's scale when that fits in
``MAX_PIXELS`` (panning then reuses it), else the view and a margin around it (redrawn when a pan leaves
it). It is drawn again when the zoom or the edges change; during a zoom gesture (``rescale``) the last image
is stretched instead, and drawn again sharp when the gesture settles (as the cards are). Rotated or sheared
views, and paints on anything but the screen, are drawn directly.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QImage, QPainter, QPainterPath, QPen, QTransform
from PySide6.QtWidgets import QWidget

MAX_PIXELS = 8_000_000  # 32 MB of image at most
MARGIN = 0.5  # of the view's size, on each side, when the image cannot cover every edge


class EdgeImage:
    def __init__(self) -> None:
        self._image: QImage | None = None
        self._key: tuple[float, float, float, int] | None = None
        self._covers = QRect()  # in scaled scene coordinates (scene × scale), pixel-aligned
        self.version = 0  # bumped when the edges change

    def changed(self) -> None:
        self.version += 1
        self._image = None

    def paint(
        self,
        painter: QPainter,
        base: list[tuple[QPen, QPainterPath]],
        bounds: QRectF,
        exposed: QRectF,
        rescale: bool = False,
    ) -> None:
        """Draw ``base`` (the edges, within ``bounds``) where ``exposed`` (scene coordinates) is repainted;
        ``rescale``: a zoom is under way, stretch the last image rather than stroke the edges again."""
        t = painter.worldTransform()
        device = painter.device()
        on_screen = isinstance(device, QWidget)  # an export (an image, an SVG) gets the edges as paths
        if t.type().value > QTransform.TransformationType.TxScale.value or not on_screen or bounds.isEmpty():
            _stroke(painter, base)
            return
        sx, sy, dx, dy = t.m11(), t.m22(), t.dx(), t.dy()
        dpr = device.devicePixelRatioF()
        scale = QTransform.fromScale(sx, sy)
        extent = scale.mapRect(bounds).toAlignedRect()
        view = scale.mapRect(exposed)
        needed = view.toAlignedRect().intersected(extent)
        if needed.isEmpty():
            return
        key = (sx, sy, dpr, self.version)
        if rescale and self._image is not None and self._key is not None and self._key[2:] == key[2:]:
            kx, ky = sx / self._key[0], sy / self._key[1]
            c = self._covers
            target = QRectF(c.left() * kx + dx, c.top() * ky + dy, c.width() * kx, c.height() * ky)
            painter.save()
            painter.setWorldTransform(QTransform())
            painter.drawImage(target, self._image)
            painter.restore()
            return
        if self._image is None or key != self._key or not self._covers.contains(needed):
            covers = extent
            if extent.width() * extent.height() * dpr * dpr > MAX_PIXELS:
                w, h = view.width() * MARGIN, view.height() * MARGIN
                covers = view.adjusted(-w, -h, w, h).toAlignedRect().intersected(extent)
            self._image, self._key, self._covers = _draw(base, sx, sy, dpr, covers), key, covers
        painter.save()
        painter.setWorldTransform(QTransform())
        painter.drawImage(QPointF(self._covers.left() + dx, self._covers.top() + dy), self._image)
        painter.restore()


def _stroke(painter: QPainter, base: list[tuple[QPen, QPainterPath]]) -> None:
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    for pen, path in base:
        painter.setPen(pen)
        painter.drawPath(path)


def _draw(base: list[tuple[QPen, QPainterPath]], sx: float, sy: float, dpr: float, covers: QRect) -> QImage:
    image = QImage(round(covers.width() * dpr), round(covers.height() * dpr), QImage.Format.Format_ARGB32_Premultiplied)
    image.setDevicePixelRatio(dpr)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setWorldTransform(QTransform(sx, 0, 0, sy, -covers.left(), -covers.top()))
    _stroke(painter, base)
    painter.end()
    return image
