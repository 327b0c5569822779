"""Zoomed far out (the overview draws every card as a block), the cards still take the mouse: a click
selects one and a drag moves it, as at full zoom."""

from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from tests.conftest import EXAMPLES
from tests.ui.canvas_helpers import drag


def overview_of_hybrid(window, qtbot):
    window.resize(1400, 900)  # the default window: the welcome graph fits at about 44 %
    assert window.open_path(EXAMPLES / "research-hybrid.chain.json")
    window.view.zoom_by(0.4 / window.view.zoom())
    qtbot.wait(50)
    assert window.view.zoom() < 0.5 and window.scene.overview.active
    return window.scene.nodes[window.document.graph.resolve("security").id]


def test_a_click_selects_a_card_in_the_overview(window, qtbot):
    card = overview_of_hybrid(window, qtbot)
    at = window.view.mapFromScene(card.sceneBoundingRect().center())
    QTest.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at)
    assert window.scene.selected_node_ids() == [card.node_id]
    assert window.inspector.node_form.name_edit.text() == "security"


def test_a_drag_moves_a_card_in_the_overview(window, qtbot):
    card = overview_of_hybrid(window, qtbot)
    start = card.sceneBoundingRect().center()
    x, y = window.document.graph.nodes[card.node_id].position
    drag(window, start, start + QPointF(0, 200))
    x2, y2 = window.document.graph.nodes[card.node_id].position
    assert x2 == x and y2 > y + 100
