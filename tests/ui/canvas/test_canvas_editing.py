"""The canvas editor driven like a user: drops, drags between ports, refusals, delete/undo, inspector."""

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from chainstudio.core.storage import fileformat
from tests.conftest import EXAMPLES
from tests.ui.canvas_helpers import assert_scene_matches_model, connect_by_drag, drag


def drop_kind(window, kind: str, at: QPoint) -> None:
    mime = window.kind_palette.mime_for(kind)
    viewport = window.view.viewport()
    enter = QDragEnterEvent(
        at, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        QPointF(at), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(viewport, drop)


def test_dropping_a_palette_kind_creates_the_node_where_dropped(window):
    at = QPoint(500, 300)
    drop_kind(window, "llm", at)
    graph = window.document.graph
    assert len(graph.nodes) == 1
    (node,) = graph.nodes.values()
    assert node.kind == "llm" and node.name == "step"
    item = window.scene.nodes[node.id]
    centre = window.view.mapFromScene(item.sceneBoundingRect().center())
    assert abs(centre.x() - at.x()) <= 2 and abs(centre.y() - at.y()) <= 2
    assert window.scene.selected_node_ids() == [node.id]
    assert window.inspector.node_form.name_edit.text() == "step"
    assert_scene_matches_model(window.scene)


def test_double_click_in_palette_adds_at_view_centre_and_input_adds_graph_input(window):
    window.kind_palette.kindActivated.emit("input")
    graph = window.document.graph
    (node,) = graph.nodes.values()
    assert node.kind == "input" and [i.name for i in graph.inputs] == [node.name]
    window.document.undo()
    assert not graph.nodes and not window.document.graph.inputs


def test_a_foreign_drop_is_ignored(window):
    mime = QMimeData()
    mime.setText("hello")
    enter = QDragEnterEvent(
        QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(window.view.viewport(), enter)
    assert not enter.isAccepted() and not window.document.graph.nodes


def build_two(window):
    window.add_node("input", QPointF(0, 0))
    window.add_node("llm", QPointF(320, 0))
    return window.document.graph


def test_dragging_from_an_output_port_to_a_node_connects_them(window, qtbot):
    graph = build_two(window)
    connect_by_drag(window, "topic", "step")
    (edge,) = graph.edges.values()
    assert (graph.nodes[edge.source].name, graph.nodes[edge.target].name) == ("topic", "step")
    assert edge.id in window.scene.edges
    assert_scene_matches_model(window.scene)
    assert "Connected topic -> step" in window.statusBar().currentMessage()


def test_a_cycle_is_refused_with_the_reason_and_a_red_flash(window):
    build_two(window)
    window.add_node("llm", QPointF(640, 0))
    connect_by_drag(window, "topic", "step")
    connect_by_drag(window, "step", "step_2")
    graph = window.document.graph
    before = fileformat.dumps(graph)
    connect_by_drag(window, "step_2", "step")
    assert fileformat.dumps(graph) == before
    message = window.statusBar().currentMessage()
    assert "would make a cycle (step -> step_2 -> step)" in message
    flashing = {item.name for item in window.scene.nodes.values() if item.flashing}
    assert flashing == {"step", "step_2"}


def test_duplicate_edge_and_self_loop_are_refused(window):
    build_two(window)
    connect_by_drag(window, "topic", "step")
    connect_by_drag(window, "topic", "step")
    assert len(window.document.graph.edges) == 1
    assert "duplicate edge" in window.statusBar().currentMessage()
    step = window.scene.nodes[window.document.graph.resolve("step").id]
    # leave the card and come back to it: a self-loop
    drag(window, step.port_scene_pos("out"), step.sceneBoundingRect().center() + QPointF(0, 0), steps=2)
    assert "self-loop" not in window.statusBar().currentMessage()  # a click on the port is not a gesture
    viewport = window.view.viewport()
    start = window.view.mapFromScene(step.port_scene_pos("out"))
    away = window.view.mapFromScene(step.port_scene_pos("out") + QPointF(200, 150))
    back = window.view.mapFromScene(step.sceneBoundingRect().center())
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(viewport, away)
    QTest.mouseMove(viewport, back)
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, back)
    assert "self-loop" in window.statusBar().currentMessage()
    assert len(window.document.graph.edges) == 1


def test_live_curve_turns_red_with_the_reason_over_a_refused_target(window):
    build_two(window)
    connect_by_drag(window, "topic", "step")
    graph = window.document.graph
    step, topic = window.scene.nodes[graph.resolve("step").id], window.scene.nodes[graph.resolve("topic").id]
    viewport = window.view.viewport()
    start = window.view.mapFromScene(topic.port_scene_pos("out"))
    over = window.view.mapFromScene(step.sceneBoundingRect().center())
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(viewport, over)
    curve = window.scene._drag.curve
    assert "duplicate edge" in curve.reason.text()
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, over)
    assert curve.scene() is None


def test_delete_then_undo_restores_the_node_and_its_edges(window):
    window.open_path(EXAMPLES / "research-hybrid.chain.json")
    graph = window.document.graph
    before = fileformat.dumps(graph)
    hardware = graph.resolve("hardware").id
    window.select_node(hardware)
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key.Key_Delete)
    assert hardware not in window.document.graph.nodes and hardware not in window.scene.nodes
    assert not any(hardware in (e.source, e.target) for e in window.document.graph.edges.values())
    assert len(window.scene.edges) == 9 - 2
    assert window.isWindowModified()
    window.menu_actions["undo"].trigger()
    assert fileformat.dumps(window.document.graph) == before
    assert_scene_matches_model(window.scene)
    assert not window.isWindowModified()


def test_deleting_a_selected_edge(window):
    window.open_path(EXAMPLES / "research-hybrid.chain.json")
    graph = window.document.graph
    edge_id = next(iter(graph.edges))
    window.scene.edges[edge_id].setSelected(True)
    window.menu_actions["delete"].trigger()
    assert edge_id not in graph.edges and len(graph.nodes) == 8
    assert_scene_matches_model(window.scene)


def test_moving_a_card_is_one_command_and_undoes(window):
    window.open_path(EXAMPLES / "research-hybrid.chain.json")
    graph = window.document.graph
    topic = graph.resolve("topic")
    item = window.scene.nodes[topic.id]
    start = item.sceneBoundingRect().center() + QPointF(0, 20)
    drag(window, start, start + QPointF(0, 200))
    assert topic.position[1] > 100
    assert window.document.undo_label == "Move"
    assert_scene_matches_model(window.scene)
    window.controller.undo()
    assert topic.position == (0.0, 0.0)
    assert_scene_matches_model(window.scene)


def test_rubber_band_selects_the_cards_it_touches(window):
    window.open_path(EXAMPLES / "research-hybrid.chain.json")
    graph = window.document.graph
    parallel = {graph.resolve(n).id for n in ("hardware", "software", "commercial")}
    rect = None
    for node_id in parallel:
        r = window.scene.nodes[node_id].sceneBoundingRect()
        rect = r if rect is None else rect.united(r)
    drag(window, rect.topLeft() - QPointF(10, 30), rect.bottomRight() + QPointF(10, 10))
    assert set(window.selected_node_ids()) == parallel
