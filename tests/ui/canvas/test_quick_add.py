"""Issue 12, item 11: quick ways to add and connect steps, driven with real mouse and keyboard events on the
default window at the zoom it opens with (and at Fit): the quick-add list from a double-click on empty canvas,
from Tab (after the selected step, connected), from a connection dropped on nothing; Return and Space on a
palette item; a palette kind dropped onto an edge goes in between; an empty canvas names the next action."""

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from chainstudio.core.storage import fileformat
from tests.ui.canvas_helpers import card, card_point, drag_pixels, view_point


def names(window) -> list[str]:
    return [n.name for n in window.document.graph.nodes.values()]


def pairs(window) -> set[tuple[str, str]]:
    graph = window.document.graph
    return {(graph.nodes[e.source].name, graph.nodes[e.target].name) for e in graph.edges.values()}


def empty_spot(window) -> QPoint:
    """Viewport pixels of empty canvas in the welcome graph: right of commercial, below academic."""
    return card_point(window, "commercial", dx=260)


def test_double_click_on_empty_canvas_adds_the_searched_kind_there_then_undo(far_out, qtbot):
    window = far_out
    before = fileformat.dumps(window.document.graph)
    at = empty_spot(window)
    QTest.mouseDClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=at)
    popup = window.gestures.quick_add
    qtbot.waitUntil(popup.isVisible)
    assert [c.title for c in popup.visible_choices()] == [
        "Input", "LLM call", "Join", "Output", "Pick best", "Map", "Route"
    ]  # fmt: skip
    QTest.keyClicks(popup.search, "join")
    assert popup.visible_choices()[0].title == "Join"
    QTest.keyClick(popup.search, Qt.Key.Key_Return)
    assert not popup.isVisible()
    new = window.document.graph.node_by_name("combined")
    assert new is not None and new.kind == "join"
    centre = view_point(window, card(window, "combined").sceneBoundingRect().center())
    assert abs(centre.x() - at.x()) <= 2 and abs(centre.y() - at.y()) <= 2
    assert window.scene.selected_node_ids() == [new.id]
    window.menu_actions["undo"].trigger()
    assert fileformat.dumps(window.document.graph) == before


def test_searching_finds_the_examples_steps(default_window, qtbot):
    window = default_window
    QTest.mouseDClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=empty_spot(window))
    popup = window.gestures.quick_add
    qtbot.waitUntil(popup.isVisible)
    QTest.keyClicks(popup.search, "review")
    found = popup.visible_choices()
    assert {"security_review", "style_review"} <= {c.title for c in found}
    QTest.keyClick(popup.search, Qt.Key.Key_Down)
    QTest.keyClick(popup.search, Qt.Key.Key_Return)
    added = window.document.graph.node_by_name(found[1].title)
    assert added is not None and added.params["prompt"] == found[1].params["prompt"]
    QTest.keyClick(popup.search, Qt.Key.Key_Escape)


def test_tab_adds_the_next_step_after_the_selected_one_connected(far_out, qtbot):
    """The keyboard path: select a step, Tab, type, Return — again and again to build a chain."""
    window = far_out
    QTest.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=card_point(window, "aggregate"))
    popup = window.gestures.quick_add
    for word in ("llm", "join"):
        window.view.setFocus()
        QTest.keyClick(window.view, Qt.Key.Key_Tab)
        qtbot.waitUntil(popup.isVisible)
        assert "Add a step after" in popup.heading.text()
        QTest.keyClicks(popup.search, word)
        QTest.keyClick(popup.search, Qt.Key.Key_Return)
    assert {("aggregate", "step"), ("step", "combined")} <= pairs(window)
    graph = window.document.graph
    assert graph.node_by_name("step").params["prompt"] == "{{ aggregate }}"  # reads what it is connected to
    assert graph.node_by_name("combined").params["template"] == "{{ step }}"
    assert [n for n in window.selected_node_ids()] == [graph.node_by_name("combined").id]
    assert not [p for p in window.document.problems if p.severity == "error"]


def test_a_connection_dropped_on_empty_canvas_offers_a_step_and_connects_it(far_out, qtbot):
    window = far_out
    start = view_point(window, card(window, "commercial").port_scene_pos("out"))
    end = QPoint(start.x() + 40, start.y() + 90)
    drag_pixels(window, start, end)
    popup = window.gestures.quick_add
    qtbot.waitUntil(popup.isVisible)
    choices = ["LLM call", "Join", "Output", "Pick best", "Map", "Route"]  # the kinds with an input
    assert [c.title for c in popup.visible_choices()] == choices
    QTest.keyClick(popup.search, Qt.Key.Key_Return)
    assert ("commercial", "step") in pairs(window)
    port = view_point(window, card(window, "step").port_scene_pos("in"))
    assert abs(port.x() - end.x()) <= 3  # its input port where the connection was dropped
    window.menu_actions["undo"].trigger()
    assert "step" not in names(window)


def test_escape_closes_the_quick_add_without_adding(default_window, qtbot):
    window = default_window
    before = fileformat.dumps(window.document.graph)
    QTest.mouseDClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=empty_spot(window))
    popup = window.gestures.quick_add
    qtbot.waitUntil(popup.isVisible)
    QTest.keyClick(popup.search, Qt.Key.Key_Escape)
    assert not popup.isVisible() and fileformat.dumps(window.document.graph) == before


def test_return_and_space_on_a_palette_item_add_it(default_window):
    window = default_window
    palette = window.kind_palette
    palette.setFocus()
    palette.setCurrentRow(1)  # LLM call
    QTest.keyClick(palette, Qt.Key.Key_Return)
    palette.setCurrentRow(2)  # Join
    QTest.keyClick(palette, Qt.Key.Key_Space)
    assert {"step", "combined"} <= set(names(window))


def test_a_palette_kind_dropped_onto_an_edge_goes_in_between(default_window):
    window = default_window
    graph = window.document.graph
    before = fileformat.dumps(graph)
    edge = next(e for e in graph.edges.values() if graph.nodes[e.source].name == "aggregate")
    at = view_point(window, window.scene.edges[edge.id].path().pointAtPercent(0.5))
    mime = window.kind_palette.mime_for("llm")
    viewport = window.view.viewport()
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    QApplication.sendEvent(viewport, QDragEnterEvent(at, Qt.DropAction.CopyAction, mime, buttons, mods))
    QApplication.sendEvent(viewport, QDragMoveEvent(at, Qt.DropAction.CopyAction, mime, buttons, mods))
    assert window.scene.edges[edge.id].drop_target  # the edge lights up under the dragged step
    QApplication.sendEvent(viewport, QDropEvent(QPointF(at), Qt.DropAction.CopyAction, mime, buttons, mods))
    assert {("aggregate", "step"), ("step", "summary")} <= pairs(window)
    assert ("aggregate", "summary") not in pairs(window)
    assert window.document.undo_label == "Insert step"
    # aggregate and summary were adjacent columns: the step has a column of its own, summary moved right
    left, middle, right = (card(window, n).box() for n in ("aggregate", "step", "summary"))
    assert left.right() < middle.left() and middle.right() < right.left()
    others = [card(window, n).box() for n in names(window) if n != "step"]
    assert not any(middle.intersects(r) for r in others)
    window.menu_actions["undo"].trigger()
    assert fileformat.dumps(graph) == before


def test_an_empty_canvas_names_the_next_action(default_window):
    window = default_window
    assert not window.view.shows_hint
    window.menu_actions["new"].trigger()
    assert window.view.shows_hint
    assert window.statusBar().currentMessage().startswith("New graph: add a step")  # not the welcome's F5
    image = window.view.viewport().grab().toImage()
    centre = window.view.viewport().rect().center()
    middle = {
        image.pixelColor(x, y).rgb()
        for x in range(centre.x() - 200, centre.x() + 200)
        for y in range(centre.y() - 40, centre.y() + 40, 3)
    }
    assert len(middle) > 6  # anti-aliased text across the middle, not just the background and the grid
    window.menu_actions["add_step"].trigger()
    popup = window.gestures.quick_add
    QTest.keyClicks(popup.search, "input")
    QTest.keyClick(popup.search, Qt.Key.Key_Return)
    assert not window.view.shows_hint


def test_a_connection_dragged_back_from_an_input_port_adds_a_step_before_it(far_out, qtbot):
    window = far_out
    start = view_point(window, card(window, "summary").port_scene_pos("in"))
    end = QPoint(start.x() - 30, start.y() + 100)
    drag_pixels(window, start, end)
    popup = window.gestures.quick_add
    qtbot.waitUntil(popup.isVisible)
    assert "Add a step before summary" in popup.heading.text()
    assert [c.title for c in popup.visible_choices()][:3] == ["Input", "LLM call", "Join"]  # kinds with an output
    QTest.keyClicks(popup.search, "llm")
    QTest.keyClick(popup.search, Qt.Key.Key_Return)
    assert ("step", "summary") in pairs(window)
    port = view_point(window, card(window, "step").port_scene_pos("out"))
    assert abs(port.x() - end.x()) <= 3  # its output port where the connection was dropped
