"""The overview's plain edges, drawn once per zoom level into an image and then copied onto each frame.

Stroking 100,000 curves takes seconds however they are batched; a frame that only copies pixels takes
milliseconds. The image covers the edges' whole extent at the view's scale when that fits in
``MAX_PIXELS`` (panning then reuses it), else the view and a margin around it (redrawn when a pan leaves
it). It is drawn again when the zoom or the edges change; during a zoom gesture (``rescale``) the last image
is stretched instead, and drawn again sharp when the gesture settles (as the cards are). Rotated or sheared
views, and paints on anything but the screen, are drawn directly.

Edges of more than ``BACKGROUND_ELEMENTS`` path elements (about 5,000 edges, 30 ms of stroking) are drawn on
a worker thread (a QImage and a QPainter on it, never a QPixmap): until the new image is ready the frame
shows the last one, stretched to the new zoom; when it is ready the views repaint. A result for a zoom that
has changed again meanwhile is thrown away; at most one image is drawn at a time (the latest request waits
for it). Smaller graphs are drawn at once, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QImage, QPainter, QPainterPath, QPen, QTransform
from PySide6.QtWidgets import QWidget

MAX_PIXELS = 8_000_000  # 32 MB of image at most
MARGIN = 0.5  # of the view's size, on each side, when the image cannot cover every edge
BACKGROUND_ELEMENTS = 20_000  # edges with more path elements than this are drawn on a worker thread

Key = tuple[float, float, float, int]  # x scale, y scale, device pixel ratio, edges' version


class _Courier(QObject):
    """Brings a finished image from the worker thread to the window's (a queued signal)."""

    done = Signal(object)  # (key, covers, image)


class EdgeImage:
    def __init__(self, on_ready: Callable[[], object] | None = None) -> None:
        self._image: QImage | None = None
        self._key: Key | None = None
        self._covers = QRect()  # in scaled scene coordinates (scene × scale), pixel-aligned
        self.version = 0  # bumped when the edges change
        self._on_ready = on_ready  # an image drawn in the background is ready: repaint
        self._courier: _Courier | None = None
        self._drawing: tuple[Key, QRect] | None = None  # the image a worker thread is drawing
        self._next: tuple[list[tuple[QPen, QPainterPath]], Key, QRect] | None = None  # ... and the one after it
        self._latest: Key | None = None  # the zoom of the last frame painted

    @property
    def drawing(self) -> bool:
        """Whether an image is being drawn on a worker thread."""
        return self._drawing is not None

    def changed(self) -> None:
        self.version += 1

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
        self._latest = key
        background = sum(path.elementCount() for _, path in base) > BACKGROUND_ELEMENTS
        if rescale and self._stretchable(key, background):
            self._stretch(painter, sx, sy, dx, dy)
            return
        if self._image is None or key != self._key or not self._covers.contains(needed):
            covers = extent
            if extent.width() * extent.height() * dpr * dpr > MAX_PIXELS:
                w, h = view.width() * MARGIN, view.height() * MARGIN
                covers = view.adjusted(-w, -h, w, h).toAlignedRect().intersected(extent)
            if background:  # the last image, stretched, until the new one is ready
                self._request(base, key, covers)
                if self._stretchable(key, True):
                    self._stretch(painter, sx, sy, dx, dy)
                return
            self._image, self._key, self._covers = _draw(base, sx, sy, dpr, covers), key, covers
        painter.save()
        painter.setWorldTransform(QTransform())
        painter.drawImage(QPointF(self._covers.left() + dx, self._covers.top() + dy), self._image)
        painter.restore()

    def _stretchable(self, key: Key, background: bool) -> bool:
        """Whether the last image may stand in for ``key``'s: drawn for the same screen, and for the same
        edges unless the new image is drawn in the background (then the last one shows until it is ready)."""
        if self._image is None or self._key is None or self._key[2] != key[2]:
            return False
        return background or self._key[3] == key[3]

    def _stretch(self, painter: QPainter, sx: float, sy: float, dx: float, dy: float) -> None:
        assert self._image is not None and self._key is not None
        kx, ky = sx / self._key[0], sy / self._key[1]
        c = self._covers
        target = QRectF(c.left() * kx + dx, c.top() * ky + dy, c.width() * kx, c.height() * ky)
        painter.save()
        painter.setWorldTransform(QTransform())
        painter.drawImage(target, self._image)
        painter.restore()

    def _request(self, base: list[tuple[QPen, QPainterPath]], key: Key, covers: QRect) -> None:
        """Draw ``key``'s image over ``covers`` on a worker thread, after the one being drawn, if any."""
        if self._drawing is not None:
            self._next = (base, key, covers) if self._drawing != (key, covers) else None
            return
        if self._courier is None:
            self._courier = _Courier()
            self._courier.done.connect(self._arrived)
        self._drawing, self._next = (key, covers), None
        work = [(QPen(pen), QPainterPath(path)) for pen, path in base]  # shared copies, only read by the thread
        courier = self._courier

        def draw() -> None:
            courier.done.emit((key, covers, _draw(work, key[0], key[1], key[2], covers)))

        threading.Thread(target=draw, name="chainstudio-edge-image", daemon=True).start()

    def _arrived(self, result: tuple[Key, QRect, QImage]) -> None:
        key, covers, image = result
        self._drawing = None
        latest = self._latest
        if latest is not None and latest[:3] == key[:3]:  # not for a zoom that has changed again since
            self._image, self._key, self._covers = image, key, covers
        waiting, self._next = self._next, None
        if waiting is not None and waiting[1:] != (key, covers) and latest is not None and waiting[1][:3] == latest[:3]:
            self._request(*waiting)
        if self._on_ready is not None:
            self._on_ready()


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
