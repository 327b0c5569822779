"""The layer bands are drawn by one item from a picture kept across frames (``band_layer.py``): drawn once per
zoom level and revision of the bands, stretched while a zoom gesture lasts, only their parts in view, and
looking as the bands drawn one by one do. At a zoom gesture's start and end, the cards' cache modes are set
in view first and the rest a slice at a time; while a view is dragged, the moves it replays are ignored."""

from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QTransform
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QGraphicsItem, QGraphicsScene

from chainstudio.core.editing.commands import MoveNodes
from chainstudio.ui.canvas import band_layer as band_layer_module
from chainstudio.ui.canvas import geometry as geo
from chainstudio.ui.canvas.edge_item import draw_band
from tests.conftest import EXAMPLES
from tests.ui.canvas.test_overview_switch import sliced

DEVICE_CACHE = QGraphicsItem.CacheMode.DeviceCoordinateCache
ITEM_CACHE = QGraphicsItem.CacheMode.ItemCoordinateCache


def hybrid_at(window, qtbot, zoom: float):
    window.resize(1400, 900)
    assert window.open_path(EXAMPLES / "research-hybrid.chain.json")
    window.scene.flush()
    window.view.zoom_by(zoom / window.view.zoom())
    window.scene.set_zooming(False)
    window.scene.overview.finish_switching()
    qtbot.wait(20)
    return window.scene.band_layer


def frame(window) -> QImage:
    return window.view.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB32)


def most_apart(a: QImage, b: QImage) -> int:
    """The biggest difference of one colour channel between two images of the same size."""
    assert a.size() == b.size()
    ours, theirs = bytes(a.constBits()), bytes(b.constBits())
    if ours == theirs:
        return 0
    return max(abs(x - y) for x, y in zip(ours, theirs, strict=True))


def test_the_bands_are_drawn_by_one_item_and_bounded_by_qt(window, qtbot):
    layer = hybrid_at(window, qtbot, 1.0)
    bands = window.scene.bands
    assert len(bands) >= 2
    assert all(band.flags() & QGraphicsItem.GraphicsItemFlag.ItemHasNoContents for band in bands)
    union = QRectF()
    for band in bands:
        union = union.united(band.rect())
    assert layer.rect() == union and layer.zValue() < window.scene.edge_layer.zValue()


def test_frames_reuse_the_picture_until_the_zoom_or_the_bands_change(window, qtbot, monkeypatch):
    monkeypatch.setattr(band_layer_module, "PART_S", 10.0)  # a picture drawn in one part
    layer = hybrid_at(window, qtbot, 1.0)
    frame(window)
    drawn = layer.pictures_drawn
    assert drawn >= 1
    frame(window)
    assert layer.pictures_drawn == drawn  # the same picture, copied
    window.view.pan_by(3, 2)  # out of the first picture (the view): the view and an eighth on each side
    frame(window)
    drawn += 1
    assert layer.pictures_drawn == drawn
    for _ in range(3):
        window.view.pan_by(-20, 10)  # within it
        frame(window)
    assert layer.pictures_drawn == drawn
    window.view.zoom_by(1.15)  # a wheel step: the zoom gesture stretches it
    assert window.scene.zooming
    frame(window)
    assert layer.pictures_drawn == drawn
    window.scene.set_zooming(False)  # the zoom settled: drawn again at its scale, once
    frame(window)
    frame(window)
    assert layer.pictures_drawn == drawn + 1
    card = next(iter(window.scene.nodes.values()))
    window.document.execute(MoveNodes({card.node_id: (card.pos().x() + 40, card.pos().y())}))
    window.scene.flush()  # the bands placed anew
    frame(window)
    assert layer.pictures_drawn == drawn + 2


def test_once_a_zoom_settles_the_picture_is_drawn_a_part_per_turn_the_last_one_shown_meanwhile(
    window, qtbot, monkeypatch
):
    monkeypatch.setattr(band_layer_module, "PART_S", 0.0)  # one band per turn of the loop
    layer = hybrid_at(window, qtbot, 1.0)
    frame(window)
    drawn = layer.pictures_drawn
    window.view.zoom_by(1.15)
    frame(window)
    window.scene.set_zooming(False)
    stretched = frame(window)  # the first band drawn anew; the last picture shown, stretched
    assert layer.pictures_drawn == drawn
    qtbot.waitUntil(lambda: layer.pictures_drawn == drawn + 1)  # the rest, a band per turn
    sharp = frame(window)
    monkeypatch.setattr(band_layer_module, "MAX_PICTURE_PIXELS", 0)
    layer.set_bands(window.scene.bands)
    assert most_apart(sharp, frame(window)) <= 2 < most_apart(stretched, sharp)


def test_the_picture_looks_as_the_bands_drawn_one_by_one(window, qtbot, monkeypatch):
    hybrid_at(window, qtbot, 0.9)
    window.view.pan_by(-37, 11)
    pictured = frame(window)
    monkeypatch.setattr(band_layer_module, "MAX_PICTURE_PIXELS", 0)  # no picture: each band drawn straight
    window.scene.band_layer.set_bands(window.scene.bands)
    straight = frame(window)
    assert most_apart(pictured, straight) <= 2  # (composited in another order: at most a rounding apart)


def test_a_band_drawn_only_where_it_shows_looks_the_same_there():
    band = QRectF(-400.5, 100.25, 5000, 352)
    for lod in (0.55, 1.0, 1.7):
        exposed = QRectF(200, 50, 600, 500)
        images = []
        for given in (None, exposed):
            image = QImage(int(exposed.width() * lod), int(exposed.height() * lod), QImage.Format.Format_RGB32)
            image.fill(QColor("white"))
            painter = QPainter(image)
            painter.setWorldTransform(
                QTransform.fromTranslate(-exposed.left(), -exposed.top()) * QTransform.fromScale(lod, lod)
            )
            draw_band(painter, band, 1, "Layer 2 · 3 in parallel", lod, given)
            painter.end()
            images.append(image)
        assert images[0] == images[1]
        shown = geo.band_in_view(band, exposed, lod)
        assert shown.width() < band.width() and band.contains(shown)


def test_a_zoom_sets_the_cards_cache_modes_in_view_first_then_the_rest(window, qtbot, monkeypatch):
    sliced(monkeypatch)
    hybrid_at(window, qtbot, 1.0)
    scene = window.scene
    qtbot.waitUntil(lambda: not scene.overview.busy)
    centre = window.view.mapToScene(window.view.viewport().rect().center())
    in_view = min(scene.nodes.values(), key=lambda c: (c.sceneBoundingRect().center() - centre).manhattanLength())
    window.view.zoom_by(1.15)  # a gesture starts
    assert in_view.cacheMode() == ITEM_CACHE  # at once
    assert scene.overview.busy  # the others a slice per turn of the loop
    qtbot.waitUntil(lambda: not scene.overview.busy)
    assert all(card.cacheMode() == ITEM_CACHE for card in scene.nodes.values())
    scene.set_zooming(False)
    assert in_view.cacheMode() == DEVICE_CACHE
    qtbot.waitUntil(lambda: not scene.overview.busy)
    assert all(card.cacheMode() == DEVICE_CACHE for card in scene.nodes.values())


def test_a_pan_ignores_the_moves_the_view_replays(window, qtbot, monkeypatch):
    """Each scroll of a pan makes the view replay the last mouse move: over the biggest graph each replay's
    hover hit test took 0.1-0.3 s. While a view is dragged the scene ignores them (as during a zoom)."""
    hybrid_at(window, qtbot, 1.0)
    hover_tests: list[object] = []
    monkeypatch.setattr(QGraphicsScene, "mouseMoveEvent", lambda scene, event: hover_tests.append(event))
    viewport, centre = window.view.viewport(), window.view.viewport().rect().center()
    QTest.mouseMove(viewport, centre)
    moved = len(hover_tests)
    assert moved >= 1  # an ordinary move is hit-tested
    QTest.mousePress(viewport, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, centre)
    assert window.scene.panning
    before = window.view.horizontalScrollBar().value()
    for step in range(1, 5):
        move = QMouseEvent(
            QEvent.Type.MouseMove,
            QPointF(centre - QPoint(20 * step, 10 * step)),
            QPointF(viewport.mapToGlobal(centre - QPoint(20 * step, 10 * step))),
            Qt.MouseButton.NoButton,
            Qt.MouseButton.MiddleButton,
            Qt.KeyboardModifier.NoModifier,
        )
        QApplication.sendEvent(viewport, move)
    assert window.view.horizontalScrollBar().value() != before  # it panned
    assert len(hover_tests) == moved  # and no move reached Qt's hover hit test meanwhile
    QTest.mouseRelease(viewport, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, centre - QPoint(80, 40))
    assert not window.scene.panning
