"""The layer bands, drawn by one item from a picture of them kept between frames.

A graph of 10,000 steps has about a thousand layers, and at 35-60 % some 90-160 of their bands (wide,
translucent, outlined, overlapping) cross the view: drawing them whole took 15-30 ms of every frame, and
drawing only their parts in view (``geometry.band_in_view``) still 10-20 ms. The bands change only with
the graph's layers or positions (``CanvasScene._bands_parts`` then calls ``set_bands``), so a view's frames
copy them from a picture drawn once at the view's scale (only their parts in view) of the view and an
eighth of it on each side (of the view alone when a frame waits for it: the bands changed); once a pan
leaves it, what the last one held is copied and only the strips the pan uncovers are drawn. During a zoom
gesture the last picture is stretched (as the cards are rescaled); once the zoom settles it is drawn again
at the new scale, ``PART_S`` of it per turn of the loop, the last one stretched until it is done. The band
items stay in the scene (``canvas_rect`` bounds them) but draw nothing themselves; without a view
(``QGraphicsScene.render``: the export) this item draws each band straight.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QImage, QPainter, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem, QStyleOptionGraphicsItem, QWidget

from chainstudio.ui import theme
from chainstudio.ui.canvas.edge_item import LayerBandItem, draw_band

if TYPE_CHECKING:
    from chainstudio.ui.canvas.scene import CanvasScene

MAX_PICTURE_PIXELS = 8_000_000  # a bigger view (or its margins) is drawn straight
PART_S = 0.008  # of the window thread's CPU drawing a picture's bands in one turn (an older one shows meanwhile)


def _same(scale: float, other: float) -> bool:
    return math.isclose(scale, other, rel_tol=1e-9)


def _around(whole: QRect, inner: QRect) -> Iterator[QRect]:
    """The parts of ``whole`` outside ``inner`` (within it): up to four rectangles."""
    if inner.top() > whole.top():
        yield QRect(whole.left(), whole.top(), whole.width(), inner.top() - whole.top())
    if inner.bottom() < whole.bottom():
        yield QRect(whole.left(), inner.bottom() + 1, whole.width(), whole.bottom() - inner.bottom())
    if inner.left() > whole.left():
        yield QRect(whole.left(), inner.top(), inner.left() - whole.left(), inner.height())
    if inner.right() < whole.right():
        yield QRect(inner.right() + 1, inner.top(), whole.right() - inner.right(), inner.height())


@dataclass
class Picture:
    """The bands of ``version`` (the bands', the theme) drawn at ``scale`` over ``area`` (scene coordinates,
    whole device pixels under the view's transform then; ``transform`` maps the scene into ``image``), and
    those still to draw in it (``todo``: drawn a part per turn of the loop when an older picture can show
    meanwhile)."""

    image: QImage
    area: QRectF
    scale: float
    version: tuple[int, bool]
    transform: QTransform
    hints: QPainter.RenderHint
    lod: float
    todo: list[tuple[LayerBandItem, QRect | None, QRectF]]  # a band, where in the image (None: all), the scene's


class BandLayer(QGraphicsRectItem):
    """Draws the scene's layer bands (z −10, under the edges and cards). Qt bounds it (its rectangle, drawn
    by no pen): the bands' union."""

    def __init__(self, scene: CanvasScene) -> None:
        super().__init__()
        self._scene = scene
        self._bands: list[LayerBandItem] = []
        self._version = 0
        self._pictures: dict[int, Picture] = {}  # per view (its viewport's id): the picture shown
        self._next: dict[int, Picture] = {}  # ... and the one being drawn, a part per turn of the loop
        self._spare: QImage | None = None  # a picture's image no longer shown, for the next of its size
        self.pictures_drawn = 0  # how many pictures were drawn (tests: frames reuse them)
        self.setPen(Qt.PenStyle.NoPen)
        self.setZValue(-10.0)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)  # exposedRect

    def set_bands(self, bands: Sequence[LayerBandItem]) -> None:
        """The bands changed (placed anew, come or gone): the pictures are drawn again."""
        self._bands = list(bands)
        self._version += 1
        self._pictures.clear()
        self._next.clear()
        bounds = QRectF()
        for band in self._bands:
            band.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, True)  # drawn here
            bounds = bounds.united(band.rect())
        if bounds != self.rect():
            self.setRect(bounds)
        self.update()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        exposed = QRectF(option.exposedRect).intersected(self.rect())
        if exposed.isEmpty():
            return
        transform = painter.worldTransform()
        lod = option.levelOfDetailFromTransform(transform)
        if widget is None or transform.isRotating():  # not a view's frame (an export): straight
            self._draw(painter, exposed, lod)
            return
        key, version, scale = id(widget), (self._version, theme.DARK), transform.m11()
        shown = self._pictures.get(key)
        if shown is not None and (shown.version != version or not shown.area.contains(exposed)):
            shown = None  # (out of date, or a pan left it)
        if shown is not None and (_same(shown.scale, scale) or self._scene.zooming):
            self._show(painter, shown, exposed)  # rescaled until the zoom settles, as the cards are
            return
        job = self._next.get(key)
        if job is None or job.version != version or not _same(job.scale, scale) or not job.area.contains(exposed):
            area = transform.inverted()[0].mapRect(QRectF(widget.rect()))
            last = self._pictures.get(key)
            if last is None or last.version != version or not _same(last.scale, scale):
                last = None  # (else a pan left it: what it holds is copied)
            if last is not None or shown is not None:  # a margin for the next pans (but in a frame that waits)
                area.adjust(-area.width() / 8, -area.height() / 8, area.width() / 8, area.height() / 8)
            job = self._start(painter, area.united(exposed), lod, version, last)
            if job is None:
                self._draw(painter, exposed, lod)
                return
        self._next[key] = job
        self._draw_part(job, time.thread_time() + PART_S if shown is not None else None)
        if job.todo:  # the last picture, rescaled, until this one is drawn
            assert shown is not None
            self._show(painter, shown, exposed)
            QTimer.singleShot(0, self.update)
            return
        del self._next[key]
        last = self._pictures.get(key)
        self._spare = last.image if last is not None else self._spare
        self._pictures[key] = job
        self.pictures_drawn += 1
        self._show(painter, job, exposed)

    def _draw(self, painter: QPainter, area: QRectF, lod: float) -> None:
        for band in self._bands:
            rect = band.rect()
            if rect.intersects(area):
                draw_band(painter, rect, band.index, band.label, lod, area)

    def _start(
        self, painter: QPainter, area: QRectF, lod: float, version: tuple[int, bool], last: Picture | None
    ) -> Picture | None:
        """A picture of the bands over ``area`` as ``painter`` would draw them (the same device pixels), none
        drawn yet but what the ``last`` picture at this scale holds of it, copied (a pan: only the strips it
        uncovers are drawn); in the spare image where it has the size (a new image's memory took 10-16 ms
        to fill)."""
        transform = painter.worldTransform()
        device = transform.mapRect(area.intersected(self.rect()))
        left, top = math.floor(device.left()), math.floor(device.top())
        width, height = math.ceil(device.right()) - left, math.ceil(device.bottom()) - top
        if width <= 0 or height <= 0 or width * height > MAX_PICTURE_PIXELS:
            return None
        image, self._spare = self._spare, None
        if image is None or image.size() != QSize(width, height):
            image = QImage(width, height, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        to_image = transform * QTransform.fromTranslate(-left, -top)
        shown = to_image.inverted()[0].mapRect(QRectF(image.rect()))
        strips: list[QRect | None] = [None]
        if last is not None:
            origin = transform.map(last.area.topLeft())
            at = QPoint(round(origin.x()) - left, round(origin.y()) - top)
            held = QRect(at, last.image.size()).intersected(image.rect())
            if not held.isEmpty():
                copying = QPainter(image)
                copying.drawImage(held.topLeft(), last.image, held.translated(-at))  # (onto transparent: a copy)
                copying.end()
                strips = list(_around(image.rect(), held))
        todo = []
        for strip in strips:
            where = shown if strip is None else to_image.inverted()[0].mapRect(QRectF(strip))
            todo += [(band, strip, where) for band in self._bands if band.rect().intersects(where)]
        return Picture(image, shown, transform.m11(), version, to_image, painter.renderHints(), lod, todo)

    @staticmethod
    def _draw_part(picture: Picture, deadline: float | None) -> None:
        """Draw ``picture``'s bands still to draw, in order, until the thread's CPU clock passes ``deadline``
        (at least one; None: all)."""
        drawing = QPainter(picture.image)
        try:
            drawing.setRenderHints(picture.hints)
            todo, done = picture.todo, 0
            clip: QRect | None | bool = False  # (the strip clipped to: none yet)
            while done < len(todo) and (done == 0 or deadline is None or time.thread_time() < deadline):
                band, strip, where = todo[done]
                if strip is not clip:
                    clip = strip
                    drawing.resetTransform()
                    drawing.setClipping(strip is not None)
                    if strip is not None:
                        drawing.setClipRect(strip)  # (image pixels)
                    drawing.setWorldTransform(picture.transform)
                draw_band(drawing, band.rect(), band.index, band.label, picture.lod, where)
                done += 1
            del todo[:done]
        finally:
            drawing.end()

    def _show(self, painter: QPainter, picture: Picture, exposed: QRectF) -> None:
        if _same(picture.scale, painter.worldTransform().m11()):
            self._copy(painter, picture, exposed)
        else:
            painter.drawImage(exposed, picture.image, self._source(picture, exposed))

    @staticmethod
    def _source(picture: Picture, area: QRectF) -> QRectF:
        """Where ``area`` (scene) is in ``picture``'s image."""
        scale = picture.image.width() / picture.area.width()
        return QRectF(
            (area.left() - picture.area.left()) * scale,
            (area.top() - picture.area.top()) * scale,
            area.width() * scale,
            area.height() * scale,
        )

    @staticmethod
    def _copy(painter: QPainter, picture: Picture, exposed: QRectF) -> None:
        """``picture``'s pixels over ``exposed``, one to one at the device pixels they were drawn for."""
        transform = painter.worldTransform()
        origin = transform.map(picture.area.topLeft())
        at = QPoint(round(origin.x()), round(origin.y()))
        device = transform.mapRect(exposed).toAlignedRect().adjusted(-1, -1, 1, 1)
        source = device.translated(-at).intersected(picture.image.rect())
        if source.isEmpty():
            return
        painter.save()
        painter.resetTransform()
        painter.drawImage(QPointF(at + source.topLeft()), picture.image, QRectF(QRect(source)))
        painter.restore()
