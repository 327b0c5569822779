"""The window's activation and deactivation reach the scene's one empty panel, not every card and edge (Qt sent
them to every item, after sorting the whole scene: 0.26-0.46 s with 110,000 items), and the canvas works as
before while that panel is the active one."""

from PySide6.QtCore import QEvent, QRectF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QGraphicsItem, QWidget

from tests.conftest import EXAMPLES

ACTIVATION = (QEvent.Type.WindowActivate, QEvent.Type.WindowDeactivate)


class Recorder(QGraphicsItem):
    """Watches items' scene events (a scene event filter) and keeps the activation events they were sent."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[QEvent.Type] = []

    def boundingRect(self) -> QRectF:
        return QRectF()

    def paint(self, painter, option, widget=None) -> None:
        pass

    def sceneEventFilter(self, watched, event) -> bool:
        if event.type() in ACTIVATION:
            self.seen.append(event.type())
        return False


def watch(scene) -> Recorder:
    recorder = Recorder()
    scene.addItem(recorder)
    for item in [*scene.nodes.values(), *scene.edges.values(), *scene.bands, scene.overview, scene.band_layer]:
        item.installSceneEventFilter(recorder)
    return recorder


def away_and_back(window, qtbot) -> None:
    """Another window of the app becomes active, then the main window again (the events Qt sends then)."""
    other = QWidget()
    qtbot.addWidget(other)
    other.show()
    qtbot.waitExposed(other)
    other.activateWindow()
    qtbot.waitUntil(lambda: not window.isActiveWindow())
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    other.close()


def open_hybrid(window) -> None:
    assert window.open_path(EXAMPLES / "research-hybrid.chain.json")
    window.scene.flush()


def test_the_window_s_activation_reaches_the_panel_not_the_items(window, qtbot):
    open_hybrid(window)
    scene = window.scene
    recorder = watch(scene)
    assert scene.isActive() and scene.activePanel() is scene.activation
    away_and_back(window, qtbot)
    assert recorder.seen == []
    assert scene.isActive() and scene.activePanel() is scene.activation

    scene.removeItem(scene.activation)  # without the panel, Qt sends them to every item (what the filter sees)
    away_and_back(window, qtbot)
    assert QEvent.Type.WindowDeactivate in recorder.seen and QEvent.Type.WindowActivate in recorder.seen
    scene.addItem(scene.activation)


def test_a_new_graph_keeps_the_panel_and_the_canvas_takes_the_mouse(window, qtbot):
    open_hybrid(window)
    open_hybrid(window)  # the scene is cleared and made again
    scene = window.scene
    assert scene.activation.scene() is scene and scene.activePanel() is scene.activation
    away_and_back(window, qtbot)
    assert scene.activePanel() is scene.activation
    card = scene.nodes[window.document.graph.resolve("security").id]
    at = window.view.mapFromScene(card.sceneBoundingRect().center())
    assert scene.activation not in scene.items(card.sceneBoundingRect().center())  # no click or hover finds it
    QTest.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at)
    assert scene.selected_node_ids() == [card.node_id]
    QTest.keyClick(window.view.viewport(), Qt.Key.Key_Delete)  # the canvas's keys still reach it
    assert card.node_id not in window.document.graph.nodes
