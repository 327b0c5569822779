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

The same image serves a detailed frame with many edges in view (``edge_layer``): there the edges come from an
``EdgeSource`` that picks, on the window's thread, the edges of the region to draw, and the worker strokes them
as the items would. Its first image at a zoom covers only the view (the quickest to draw); the margin comes
with the next one, when a pan leaves it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from typing import Protocol

from PySide6.QtCore import QObject, QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPainter, QPainterPath, QPen, QTransform
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

MAX_PIXELS = 8_000_000  # 32 MB of image at most
MARGIN = 0.5  # of the view's size, on each side, when the image cannot cover every edge
BACKGROUND_ELEMENTS = 20_000  # edges with more path elements than this are drawn on a worker thread
YIELD_SHARE = 2.0  # the worker holds Python's lock (stroking) at most 1 / (1 + this) of the time

Key = tuple[float, float, float, int]  # x scale, y scale, device pixel ratio, edges' version
Job = Callable[[QPainter], object]  # draws the image's edges (scene coordinates) on a worker thread


class EdgeSource(Protocol):
    def job(self, rect: QRectF, lod: float) -> Job:
        """On the window's thread: what draws the edges within ``rect`` (scene coordinates) at zoom ``lod``."""
        ...

    def job_parts(self, rect: QRectF, lod: float) -> Generator[None, None, Job]:
        """``job``, in parts: one per turn of the window's event loop."""
        ...


Edges = list[tuple[QPen, QPainterPath]] | EdgeSource  # the overview's plain edges, or a detailed frame's source


class _Courier(QObject):
    """Brings a finished image from the worker thread to the window's (a queued signal)."""

    done = Signal(object)  # (key, covers, image)


class EdgeImage:
    def __init__(
        self, on_ready: Callable[[], object] | None = None, first_margin: float = MARGIN, margin: float = MARGIN
    ) -> None:
        self._image: QImage | None = None
        self.job: object = None  # what drew the image shown (an ``EdgeSource``'s job, or the overview's edges)
        self._first_margin = first_margin  # around the view, for the first image at a zoom too big to cover
        self._margin = margin  # ... and for the next ones
        self._key: Key | None = None
        self._covers = QRect()  # in scaled scene coordinates (scene × scale), pixel-aligned
        self.version = 0  # bumped when the edges change
        self._on_ready = on_ready  # an image drawn in the background is ready: repaint
        self._courier: _Courier | None = None
        self._drawing: tuple[Key, QRect] | None = None  # the image a worker thread is drawing
        self._next: tuple[Edges, Key, QRect] | None = None  # ... and the one after it
        self._latest: Key | None = None  # the zoom of the last frame painted
        self.drawn_cpu_s = 0.0  # the worker thread's CPU time for the last image it drew

    @property
    def drawing(self) -> bool:
        """Whether an image is being drawn on a worker thread."""
        return self._drawing is not None

    def changed(self) -> None:
        self.version += 1

    def paint(
        self,
        painter: QPainter,
        base: Edges,
        bounds: QRectF,
        exposed: QRectF,
        rescale: bool = False,
    ) -> bool:
        """Draw ``base`` (the edges, within ``bounds``) where ``exposed`` (scene coordinates) is repainted;
        ``rescale``: a zoom is under way, stretch the last image rather than stroke the edges again. False:
        nothing drawn yet (the first image is being drawn)."""
        t = painter.worldTransform()
        device = painter.device()
        on_screen = isinstance(device, QWidget)  # an export (an image, an SVG) gets the edges as paths
        if t.type().value > QTransform.TransformationType.TxScale.value or not on_screen or bounds.isEmpty():
            if isinstance(base, list):
                _stroke(painter, base)
            else:
                base.job(exposed, QStyleOptionGraphicsItem.levelOfDetailFromTransform(t))(painter)
            return True
        sx, sy, dx, dy = t.m11(), t.m22(), t.dx(), t.dy()
        dpr = device.devicePixelRatioF()
        scale = QTransform.fromScale(sx, sy)
        extent = scale.mapRect(bounds).toAlignedRect()
        view = scale.mapRect(exposed)
        needed = view.toAlignedRect().intersected(extent)
        if needed.isEmpty():
            return True
        key = (sx, sy, dpr, self.version)
        self._latest = key
        background = not isinstance(base, list) or sum(path.elementCount() for _, path in base) > BACKGROUND_ELEMENTS
        if rescale and self._stretchable(key, background):
            self._stretch(painter, sx, sy, dx, dy)
            return True
        if rescale and not isinstance(base, list):
            return False  # no image to stretch during a zoom gesture: one is drawn once it settles
        if self._image is None or key != self._key or not self._covers.contains(needed):
            covers = extent
            if extent.width() * extent.height() * dpr * dpr > MAX_PIXELS:
                same_zoom = self._key is not None and self._key[:3] == key[:3]
                margin = self._margin if same_zoom else self._first_margin
                w, h = view.width() * margin, view.height() * margin
                covers = view.adjusted(-w, -h, w, h).toAlignedRect().intersected(extent)
            if background:  # the last image, stretched, until the new one is ready
                self._request(base, key, covers)
                if self._stretchable(key, True):
                    self._stretch(painter, sx, sy, dx, dy)
                    return True
                return False
            assert isinstance(base, list)
            self._image, self._key, self._covers, self.job = _draw(base, sx, sy, dpr, covers), key, covers, base
        painter.save()
        painter.setWorldTransform(QTransform())
        painter.drawImage(QPointF(self._covers.left() + dx, self._covers.top() + dy), self._image)
        painter.restore()
        return True

    def image_painter(self) -> QPainter | None:
        """A painter on the image shown, in scene coordinates (to erase an edge that changed), or None."""
        if self._image is None or self._key is None:
            return None
        painter = QPainter(self._image)
        painter.setWorldTransform(
            QTransform(self._key[0], 0, 0, self._key[1], -self._covers.left(), -self._covers.top())
        )
        return painter

    def stretch_onto(self, painter: QPainter) -> bool:
        """Draw the last image, stretched to ``painter``'s zoom (a stand-in for another image); False: none."""
        t = painter.worldTransform()
        device = painter.device()
        if self._image is None or self._key is None or t.type().value > QTransform.TransformationType.TxScale.value:
            return False
        if not isinstance(device, QWidget) or device.devicePixelRatioF() != self._key[2]:
            return False
        self._stretch(painter, t.m11(), t.m22(), t.dx(), t.dy())
        return True

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

    def _request(self, base: Edges, key: Key, covers: QRect) -> None:
        """Draw ``key``'s image over ``covers`` on a worker thread, after the one being drawn, if any."""
        if self._drawing is not None:
            self._next = (base, key, covers) if self._drawing != (key, covers) else None
            return
        if self._courier is None:
            self._courier = _Courier()
            self._courier.done.connect(self._arrived)
        self._drawing, self._next = (key, covers), None
        courier = self._courier

        def start(work: list[tuple[QPen, QPainterPath]] | Job) -> None:
            def draw() -> None:
                began = time.thread_time()
                image = _draw(work, key[0], key[1], key[2], covers, worker=True)
                self.drawn_cpu_s = time.thread_time() - began  # (for benchmarks/overview_bench.py)
                courier.done.emit((key, covers, image, work))

            threading.Thread(target=draw, name="chainstudio-edge-image", daemon=True).start()

        if isinstance(base, list):  # shared copies, only read by the thread
            start([(QPen(pen), QPainterPath(path)) for pen, path in base])
        else:  # the edges picked from the next turn of the event loop on, a part per turn
            rect = QTransform.fromScale(1 / key[0], 1 / key[1]).mapRect(QRectF(covers))
            parts = base.job_parts(rect, key[0])

            def pick() -> None:
                try:
                    next(parts)
                except StopIteration as done:
                    start(done.value)
                    return
                except RuntimeError:  # the scene went away meanwhile
                    self._drawing = None
                    return
                QTimer.singleShot(0, pick)

            QTimer.singleShot(0, pick)

    def _arrived(self, result: tuple[Key, QRect, QImage, object]) -> None:
        key, covers, image, work = result
        self._drawing = None
        latest = self._latest
        if latest is not None and latest[:3] == key[:3]:  # not for a zoom that has changed again since
            self._image, self._key, self._covers, self.job = image, key, covers, work
        waiting, self._next = self._next, None
        if waiting is not None and waiting[1:] != (key, covers) and latest is not None and waiting[1][:3] == latest[:3]:
            self._request(*waiting)
        if self._on_ready is not None:
            self._on_ready()


def _stroke(painter: QPainter, base: list[tuple[QPen, QPainterPath]], worker: bool = False) -> None:
    """Stroke ``base``; on a ``worker`` thread, give Python's lock up after each path for ``YIELD_SHARE`` times
    as long as the path took. Qt keeps the lock while it strokes one: stroked back to back, 100 paths of 1,000
    lit edges kept the window's thread waiting 1.8 s; given up for no time (``sleep(0)``), the worker took it
    back at once, and the window's thread, busy meanwhile, got 5 ms (the interpreter's switch interval) in
    every 10-35 ms, so its 40 ms turns took 125-280 ms."""
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    for pen, path in base:
        began = time.perf_counter()
        painter.setPen(pen)
        painter.drawPath(path)
        if worker:
            time.sleep(YIELD_SHARE * (time.perf_counter() - began))


def _draw(
    base: list[tuple[QPen, QPainterPath]] | Job, sx: float, sy: float, dpr: float, covers: QRect, worker: bool = False
) -> QImage:
    image = QImage(round(covers.width() * dpr), round(covers.height() * dpr), QImage.Format.Format_ARGB32_Premultiplied)
    image.setDevicePixelRatio(dpr)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setWorldTransform(QTransform(sx, 0, 0, sy, -covers.left(), -covers.top()))
    if isinstance(base, list):
        _stroke(painter, base, worker)
    else:
        base(painter)
    painter.end()
    return image
