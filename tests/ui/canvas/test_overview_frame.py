"""Far out, the view paints the overview itself (not through Qt's walk over every card and edge): it must
look exactly as Qt would paint it, follow every change, and stroke the edges once per zoom level."""

from PySide6.QtCore import QEvent, QObject

from tests.ui.canvas.test_overview_clicks import overview_of_hybrid


class PaintCounter(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.paints = 0

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.paints += 1
        return False


def test_the_overview_frame_looks_as_qt_paints_it(window, qtbot, monkeypatch):
    card = overview_of_hybrid(window, qtbot)
    window.scene.select_nodes([card.node_id])  # an outline, over bands, blocks, names and edges
    ours = window.view.viewport().grab().toImage()
    monkeypatch.setattr(window.scene, "dragging_connection", lambda: True)  # the view falls back to Qt's paint
    qts = window.view.viewport().grab().toImage()
    assert ours == qts


def test_a_change_shown_by_the_overview_repaints_the_view(window, qtbot):
    card = overview_of_hybrid(window, qtbot)
    qtbot.wait(50)
    counter = PaintCounter()
    window.view.viewport().installEventFilter(counter)
    try:
        window.scene.select_nodes([card.node_id])
        qtbot.waitUntil(lambda: counter.paints > 0, timeout=2000)
    finally:
        window.view.viewport().removeEventFilter(counter)


def test_the_edges_are_stroked_once_per_zoom_level(window, qtbot):
    overview_of_hybrid(window, qtbot)
    edges = window.scene.overview._edge_image
    window.view.viewport().repaint()
    first = edges._image
    assert first is not None
    window.view.pan_by(30, 10)
    window.view.viewport().repaint()
    assert edges._image is first  # the same zoom: the image is copied, not drawn again
    window.view.zoom_by(0.8)
    window.view.viewport().repaint()
    assert edges._image is first  # while the zoom goes on, stretched
    window.scene.set_zooming(False)  # the zoom settled
    window.view.viewport().repaint()
    assert edges._image is not first
