"""Helpers for the canvas-editor UI tests (their ``window`` and ``settings`` fixtures are in conftest.py)."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from chainstudio.core.graph.analysis import CycleError, layers
from chainstudio.core.graph.validation import ordering_only_edges


def view_point(window, scene_pos: QPointF) -> QPoint:
    return window.view.mapFromScene(scene_pos)


def drag(window, start: QPointF, end: QPointF, steps: int = 6, button=Qt.MouseButton.LeftButton) -> None:
    """Press at ``start``, move in steps, release at ``end`` (scene coordinates) with real mouse events."""
    viewport = window.view.viewport()
    a, b = view_point(window, start), view_point(window, end)
    QTest.mouseMove(viewport, a)
    QTest.mousePress(viewport, button, Qt.KeyboardModifier.NoModifier, a)
    for i in range(1, steps + 1):
        QTest.mouseMove(viewport, QPoint(a.x() + (b.x() - a.x()) * i // steps, a.y() + (b.y() - a.y()) * i // steps))
    QTest.mouseRelease(viewport, button, Qt.KeyboardModifier.NoModifier, b)


def connect_by_drag(window, source: str, target: str) -> None:
    """Drag from ``source``'s output port to the middle of ``target``'s card (node names)."""
    graph = window.document.graph
    src, dst = window.scene.nodes[graph.resolve(source).id], window.scene.nodes[graph.resolve(target).id]
    drag(window, src.port_scene_pos("out"), dst.sceneBoundingRect().center())


def assert_scene_matches_model(scene) -> None:
    """Every node and edge of the document has exactly one item showing it, and nothing else does."""
    scene.flush()
    graph = scene.document.graph
    assert set(scene.nodes) == set(graph.nodes)
    for node_id, item in scene.nodes.items():
        node = graph.nodes[node_id]
        assert (item.pos().x(), item.pos().y()) == node.position
        assert item.name == node.name and item.scene() is scene
    assert set(scene.edges) == set(graph.edges)
    dashed = ordering_only_edges(graph)
    for edge_id, item in scene.edges.items():
        edge = graph.edges[edge_id]
        assert (item.source_id, item.target_id) == (edge.source, edge.target)
        assert item.path().pointAtPercent(0) == scene.nodes[edge.source].port_scene_pos("out")
        assert item.path().pointAtPercent(1) == scene.nodes[edge.target].port_scene_pos("in")
        assert item.ordering_only == (edge_id in dashed)
    try:
        expected = layers(graph) if scene.show_layers else []
    except CycleError:
        expected = []
    assert [b.label for b in scene.bands] == [
        f"Layer {i + 1} · " + (f"{len(g)} in parallel" if len(g) > 1 else "1 step") for i, g in enumerate(expected)
    ]
    items_in_scene = {i for i in scene.items() if i.parentItem() is None}
    assert items_in_scene == (
        set(scene.nodes.values())
        | set(scene.edges.values())
        | set(scene.bands)
        | {scene.overview, scene.edge_layer, scene.band_layer, scene.activation}
    )


def card(window, name: str):
    """The card of the step called ``name``."""
    return window.scene.nodes[window.document.graph.resolve(name).id]


def card_point(window, name: str, dx: float = 0.0, dy: float = 0.0) -> QPoint:
    """Viewport pixels of ``name``'s card centre, moved by (dx, dy) screen pixels."""
    at = view_point(window, card(window, name).sceneBoundingRect().center())
    return QPoint(round(at.x() + dx), round(at.y() + dy))


def right_click(window, at: QPoint) -> None:
    """A right-click on the canvas as the platform delivers it: press, the context-menu event, release."""
    from PySide6.QtGui import QContextMenuEvent
    from PySide6.QtWidgets import QApplication

    viewport = window.view.viewport()
    QTest.mouseMove(viewport, at)
    QTest.mousePress(viewport, Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier, at)
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, at, viewport.mapToGlobal(at))
    QApplication.sendEvent(viewport, event)
    QTest.mouseRelease(viewport, Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier, at)


def drag_pixels(window, start: QPoint, end: QPoint, steps: int = 8) -> None:
    """Press at ``start``, move in steps, release at ``end`` (viewport pixels)."""
    viewport = window.view.viewport()
    QTest.mouseMove(viewport, start)
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for i in range(1, steps + 1):
        x = start.x() + (end.x() - start.x()) * i // steps
        y = start.y() + (end.y() - start.y()) * i // steps
        QTest.mouseMove(viewport, QPoint(x, y))
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
