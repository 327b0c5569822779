"""The layer bands, drawn by one item from a picture of them kept between frames.

A graph of 10,000 steps has about a thousand layers, and at 35-60 % some 90-160 of their bands (wide,
translucent, outlined, overlapping) cross the view: drawing them whole took 15-30 ms of every frame, and
drawing only their parts in view (``geometry.band_in_view``) still 10-20 ms. The bands change only with
the graph's layers or positions (``CanvasScene._bands_parts`` then calls ``set_bands``), so a view's frames
copy them from a picture drawn once at the view's scale (only their parts in view): the view first, and
once a pan leaves it the view and an eighth of it on each side. During a zoom gesture the last picture is
stretched (as the cards are rescaled); once the zoom settles it is drawn again at the new scale. The band
items stay in the scene (``canvas_rect`` bounds them) but draw nothing themselves; without a view
(``QGraphicsScene.render``: the export) this item draws each band straight.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QImage, QPainter, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem, QStyleOptionGraphicsItem, QWidget

from chainstudio.ui import theme
from chainstudio.ui.canvas.edge_item import LayerBandItem, draw_band

if TYPE_CHECKING:
    from chainstudio.ui.canvas.scene import CanvasScene

MAX_PICTURE_PIXELS = 8_000_000  # a bigger view (or its margins) is drawn straight


@dataclass
class Picture:
    """The bands of ``version`` (the bands', the theme) drawn at ``scale`` over ``area`` (scene coordinates,
    whole device pixels under the transform it was drawn with)."""

    image: QImage
    area: QRectF
    scale: float
    version: tuple[int, bool]


class BandLayer(QGraphicsRectItem):
    """Draws the scene's layer bands (z −10, under the edges and cards). Qt bounds it (its rectangle, drawn
    by no pen): the bands' union."""

    def __init__(self, scene: CanvasScene) -> None:
        super().__init__()
        self._scene = scene
        self._bands: list[LayerBandItem] = []
        self._version = 0
        self._pictures: dict[int, Picture] = {}  # per view (its viewport's id)
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
        picture = self._pictures.get(key)
        if picture is not None and picture.version != version:
            picture = None
        if picture is not None and picture.area.contains(exposed):
            if math.isclose(picture.scale, scale, rel_tol=1e-9):
                self._copy(painter, picture, exposed)
                return
            if self._scene.zooming:  # rescaled until the zoom settles, as the cards are
                painter.drawImage(exposed, picture.image, self._source(picture, exposed))
                return
        view = transform.inverted()[0].mapRect(QRectF(widget.rect()))
        if picture is not None and math.isclose(picture.scale, scale, rel_tol=1e-9):  # a pan left it
            view.adjust(-view.width() / 8, -view.height() / 8, view.width() / 8, view.height() / 8)
        old = picture.image if picture is not None else None
        picture = self._picture(painter, view.united(exposed), lod, version, old)
        if picture is None:
            self._draw(painter, exposed, lod)
            return
        self._pictures[key] = picture
        self._copy(painter, picture, exposed)

    def _draw(self, painter: QPainter, area: QRectF, lod: float) -> None:
        for band in self._bands:
            rect = band.rect()
            if rect.intersects(area):
                draw_band(painter, rect, band.index, band.label, lod, area)

    def _picture(
        self, painter: QPainter, area: QRectF, lod: float, version: tuple[int, bool], old: QImage | None
    ) -> Picture | None:
        """The bands over ``area`` drawn as ``painter`` would draw them (the same device pixels), into ``old``
        where it has the size (a pan's next picture: a new image's memory took 10-16 ms to fill)."""
        transform = painter.worldTransform()
        device = transform.mapRect(area.intersected(self.rect()))
        left, top = math.floor(device.left()), math.floor(device.top())
        width, height = math.ceil(device.right()) - left, math.ceil(device.bottom()) - top
        if width <= 0 or height <= 0 or width * height > MAX_PICTURE_PIXELS:
            return None
        image = old if old is not None and old.size() == QSize(width, height) else None
        if image is None:
            image = QImage(width, height, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        shown = transform.inverted()[0].mapRect(QRectF(left, top, width, height))
        drawing = QPainter(image)
        try:
            drawing.setRenderHints(painter.renderHints())
            drawing.setWorldTransform(transform * QTransform.fromTranslate(-left, -top))
            self._draw(drawing, shown, lod)
        finally:
            drawing.end()
        self.pictures_drawn += 1
        return Picture(image, shown, transform.m11(), version)

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
