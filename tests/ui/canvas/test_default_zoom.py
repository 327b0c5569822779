"""Issue 12, item 1: at the default window size the welcome graph opens (and fits) below 50 % zoom, where the
canvas draws its overview. Driven with real mouse events on the viewport at that zoom, every card must be
selectable, movable, rubber-band selectable and connectable, and a run's states must show."""

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from chainstudio.core.launch import RunOptions
from chainstudio.core.storage import fileformat
from chainstudio.ui import theme
from chainstudio.ui.canvas.run_overlay import status_color
from tests.ui.canvas_helpers import card, card_point, drag_pixels, view_point


def port_point(window, name: str, side: str, dx: int) -> QPoint:
    """Viewport pixels ``dx`` screen pixels beside ``name``'s port: off its drawn circle, as a user aims."""
    at = view_point(window, card(window, name).port_scene_pos(side))
    return QPoint(at.x() + dx, at.y())


def test_a_click_selects_and_a_drag_moves_a_card_then_undo(far_out, qtbot):
    window = far_out
    security = card(window, "security")
    QTest.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=card_point(window, "security"))
    assert window.scene.selected_node_ids() == [security.node_id]
    assert window.inspector.node_form.name_edit.text() == "security"
    before = window.document.graph.nodes[security.node_id].position
    drag_pixels(window, card_point(window, "security", dx=-20), card_point(window, "security", dx=-20, dy=90))
    after = window.document.graph.nodes[security.node_id].position
    assert abs(after[0] - before[0]) < 1 and after[1] > before[1] + 150  # 90 screen pixels: ~200 scene units
    window.menu_actions["undo"].trigger()
    assert window.document.graph.nodes[security.node_id].position == before


def test_a_rubber_band_selects_the_cards_it_touches(far_out):
    window = far_out
    top, bottom = card(window, "hardware").sceneBoundingRect(), card(window, "commercial").sceneBoundingRect()
    start = view_point(window, top.topLeft())
    end = view_point(window, bottom.bottomRight())
    drag_pixels(window, QPoint(start.x() - 6, start.y() - 6), QPoint(end.x() + 6, end.y() + 6))
    names = {window.document.graph.nodes[n].name for n in window.selected_node_ids()}
    assert names == {"hardware", "software", "commercial"}


@pytest.mark.parametrize(("grab", "drop"), [(("topic", "out", 7), "academic"), (("academic", "in", -7), "topic")])
def test_dragging_from_beside_a_port_connects_then_undo(far_out, qtbot, grab, drop):
    """The port is a few pixels wide this far out: a press 7 px beside it still starts a connection."""
    window = far_out
    graph = window.document.graph
    before = fileformat.dumps(graph)
    drag_pixels(window, port_point(window, *grab), card_point(window, drop))
    pairs = {(graph.nodes[e.source].name, graph.nodes[e.target].name) for e in graph.edges.values()}
    assert ("topic", "academic") in pairs
    assert "Connected topic -> academic" in window.statusBar().currentMessage()
    window.menu_actions["undo"].trigger()
    assert fileformat.dumps(graph) == before


@pytest.mark.parametrize("dx", [0, -3, 3])
def test_a_connection_dropped_on_the_target_s_port_connects(far_out, dx):
    """Dropped on (or just beside) the port a user aims at: since cards draw their own ports, the port's
    centre is on the edge of the card's shape, and such a drop opened the quick-add popup instead."""
    window = far_out
    graph = window.document.graph
    drag_pixels(window, port_point(window, "topic", "out", 0), port_point(window, "academic", "in", dx))
    pairs = {(graph.nodes[e.source].name, graph.nodes[e.target].name) for e in graph.edges.values()}
    assert ("topic", "academic") in pairs


def test_the_live_curve_is_green_over_a_valid_target_in_the_overview(default_window):
    window = default_window
    viewport = window.view.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, pos=port_point(window, "topic", "out", 6))
    QTest.mouseMove(viewport, card_point(window, "academic"))
    curve = next(i for i in window.scene.items() if type(i).__name__ == "DragCurveItem")
    assert curve.pen().color() == theme.EDGE_OK and curve.pen().isCosmetic()
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=card_point(window, "academic"))


def pixel(window, image, name: str, dx: float, dy: float):
    """The colour drawn at (dx, dy) scene units from the top-left of ``name``'s card."""
    rect = card(window, name).box()  # the card itself (its item takes in its ports)
    at = view_point(window, rect.topLeft() + type(rect.topLeft())(dx, dy))
    return image.pixelColor(at.x(), at.y())


def test_the_overview_shows_a_runs_states_and_critical_path(default_window, qtbot):
    window = default_window
    window.runs.request_run(RunOptions(speed=40.0))
    qtbot.waitUntil(lambda: not window.runs.controller.running, timeout=30000)
    qtbot.wait(150)  # far out, a run is redrawn ten times a second
    assert window.scene.overview.active
    state = window.runs.state
    image = window.view.viewport().grab().toImage()
    done = status_color("succeeded")
    for name in ("topic", "hardware", "commercial", "summary"):
        assert pixel(window, image, name, 14, 56) == done  # the block takes the state's colour
    path, _ = state.critical_path()
    on_path = {window.document.graph.nodes[n].name for n in path}
    assert "hardware" in on_path and "commercial" not in on_path
    outline = [pixel(window, image, "hardware", 110, dy) for dy in (0, 1, 2, 3, 4)]
    assert theme.CRITICAL in outline  # the critical path is outlined
    assert theme.CRITICAL not in [pixel(window, image, "commercial", 110, dy) for dy in (0, 1, 2, 3, 4)]
