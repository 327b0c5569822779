"""A big graph on the canvas keeps the window responsive (issue 14): its items are made a slice at a time,
the overview's edge image is drawn on a worker thread, and a hit test rules out far edges by their curve
before testing their shape, without changing what a click or a hover takes."""

import gc
import random
import threading

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainterPath
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QGraphicsItem

from chainstudio.core.editing.commands import Connect, MoveNodes, RemoveNodes
from chainstudio.core.editing.document import Document
from chainstudio.core.graph.model import Edge, Graph, Node
from chainstudio.core.storage import fileformat
from chainstudio.ui.canvas import edge_image, scene_build
from chainstudio.ui.canvas import scene as scene_module
from chainstudio.ui.canvas.edge_hit import may_touch
from chainstudio.ui.canvas.edge_item import EdgeItem
from chainstudio.ui.canvas.scene import CanvasScene
from tests.conftest import EXAMPLES
from tests.ui.canvas.test_overview_clicks import overview_of_hybrid
from tests.ui.canvas_helpers import assert_scene_matches_model

HYBRID = EXAMPLES / "research-hybrid.chain.json"


def one_item_per_slice(monkeypatch) -> None:
    monkeypatch.setattr(scene_module, "BIG_SCENE_ITEMS", 5)  # the welcome graph (17 items) counts as big
    monkeypatch.setattr(scene_build, "CHECK_EVERY", 1)
    monkeypatch.setattr(scene_build, "SLICE_S", 0.0)


def test_a_big_graph_is_made_a_slice_at_a_time_and_ends_as_the_document(qapp, qtbot, monkeypatch):
    one_item_per_slice(monkeypatch)
    document = Document()
    scene = CanvasScene(document)
    progress = []
    scene.buildProgress.connect(lambda done, total: progress.append((done, total)))
    try:
        document.replace(fileformat.load(HYBRID))
        assert scene.building and not scene.nodes  # nothing made yet: the window's loop goes on
        for _ in range(3):
            scene._build._slice()  # what the next turns of the loop do
        assert scene.building and len(scene.nodes) == 3 and not scene.edges
        graph = document.graph
        made, waiting = list(scene.nodes)[0], [n for n in graph.nodes if n not in scene.nodes]
        # edits while it builds: a card made already and one still waiting are moved, another waiting one
        # is removed, and an edge to a card not made yet is added
        document.execute(MoveNodes({made: (5.0, 7.0), waiting[0]: (900.0, 40.0)}))
        document.execute(RemoveNodes([waiting[1]]))
        pairs = [(a, b) for a in graph.nodes for b in waiting[2:] if document.connect_problem(a, b) is None]
        document.execute(Connect(*pairs[0]))
        with qtbot.waitSignal(scene.built, timeout=5000):
            pass
        assert not scene.building
        assert_scene_matches_model(scene)
        assert progress[0][0] == 0 and progress == sorted(progress) and len(progress) > 10
    finally:
        scene.detach()
        scene.deleteLater()


def test_a_graph_replaced_while_it_builds_shows_only_the_new_one(qapp, qtbot, monkeypatch):
    one_item_per_slice(monkeypatch)
    document = Document()
    scene = CanvasScene(document)
    try:
        document.replace(fileformat.load(HYBRID))
        scene._build._slice()
        scene._build._slice()
        document.replace(fileformat.load(EXAMPLES / "research-sequential.chain.json"))
        qtbot.waitUntil(lambda: not scene.building, timeout=5000)
        assert_scene_matches_model(scene)
    finally:
        scene.detach()
        scene.deleteLater()


def test_opening_a_big_graph_fits_it_as_a_small_one_is_fitted(window, qtbot, monkeypatch):
    window.resize(1400, 900)
    assert window.open_path(HYBRID)
    qtbot.wait(50)
    small = window.view.transform()
    one_item_per_slice(monkeypatch)
    shown = []
    window.scene.buildProgress.connect(lambda done, total: shown.append(window.view._building))
    assert window.open_path(HYBRID)
    assert window.scene.building and window.view._building == (0, 17)  # the progress over the canvas
    assert window.view.transform() == small  # fitted to where the graph puts its cards, before they are made
    qtbot.waitUntil(lambda: not window.scene.building, timeout=5000)
    assert window.view.transform() == small and window.view._building is None
    assert shown[-1] == (16, 17)
    assert_scene_matches_model(window.scene)


def test_the_quick_refusal_never_refuses_a_point_of_an_edges_hit_shape(qapp):
    rng = random.Random(14)
    checked = 0
    for _ in range(60):
        item = EdgeItem("e", "a", "b")
        start = QPointF(rng.uniform(-3000, 3000), rng.uniform(-2000, 2000))
        end = start + QPointF(rng.choice([rng.uniform(-400, 400), rng.uniform(300, 9000)]), rng.uniform(-900, 900))
        item.set_ends(start, end)
        shape = item.shape()
        for _ in range(150):
            on = item.path().pointAtPercent(rng.random())
            point = on + QPointF(rng.uniform(-14, 14), rng.uniform(-14, 14))
            assert item.contains(point) == shape.contains(point)
            if shape.contains(point):
                checked += 1
            size = rng.uniform(0, 30)
            area = QPainterPath()
            area.addRect(QRectF(point.x(), point.y(), size, size))
            for mode in (Qt.ItemSelectionMode.IntersectsItemShape, Qt.ItemSelectionMode.ContainsItemShape):
                assert item.collidesWithPath(area, mode) == QGraphicsItem.collidesWithPath(item, area, mode)
    assert checked > 1000  # the points were near enough to be inside the shape often
    far = item.path().pointAtPercent(0.5) + QPointF(0, 40)
    assert not may_touch(item.controls(), far.x(), far.y(), far.x(), far.y())


def dense_graph() -> tuple[Graph, list[str]]:
    """40 steps in a column on the left, each reading 6 of 40 in a column far on the right: 240 long edges
    whose bounding boxes overlap in the middle."""
    graph = Graph(name="dense")
    left = [Node.create("input", f"in{i}", (0.0, i * 150.0)) for i in range(40)]
    right = [Node.create("llm", f"out{i}", (4000.0, i * 150.0), prompt="p") for i in range(40)]
    for node in left + right:
        graph.nodes[node.id] = node
    ids = []
    for i, node in enumerate(left):
        for k in range(6):
            edge = Edge.create(node.id, right[(i * 7 + k * 11) % 40].id)
            graph.edges[edge.id] = edge
            ids.append(edge.id)
    return graph, ids


def test_a_click_on_an_edge_where_many_cross_selects_that_edge(window, qtbot):
    graph, ids = dense_graph()
    window.document.replace(graph)
    qtbot.wait(20)
    scene, view = window.scene, window.view
    view.zoom_by(1.0 / view.zoom())  # 100 %: the click lands on the curve, not near it
    assert not scene.overview.active
    edges = [scene.edges[e] for e in ids]
    for edge in edges:  # a point on one edge only, where many edges' boxes hold it
        point = edge.path().pointAtPercent(0.45)
        boxes = [e for e in edges if e.sceneBoundingRect().contains(point)]
        shapes = [e for e in boxes if e.shape().contains(point)]
        if len(boxes) > 40 and shapes == [edge] and scene.node_at(point) is None:
            break
    else:
        raise AssertionError("no point on a single edge among many boxes")
    view.centerOn(point)
    qtbot.wait(20)
    QTest.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, view.mapFromScene(point)
    )
    assert scene.selected_edge_ids() == [edge.edge_id]
    beside = point + QPointF(0, 30)  # nothing there: the click clears the selection
    if not [e for e in boxes if e.shape().contains(beside)]:
        QTest.mouseClick(
            view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, view.mapFromScene(beside)
        )
        assert scene.selectedItems() == []


def overview_with_a_new_zoom_drawing(window, qtbot):
    """The welcome graph far out, its edge image drawn; then a zoom that settled: (a card, the edge image, the
    image before that zoom), the new image being drawn."""
    card = overview_of_hybrid(window, qtbot)
    edges = window.scene.overview._edge_image
    window.scene.set_zooming(False)
    window.view.viewport().repaint()
    qtbot.waitUntil(lambda: not edges.drawing and edges._image is not None, timeout=5000)
    first = edges._image
    window.view.zoom_by(0.8)
    window.scene.set_zooming(False)  # the zoom settled
    window.view.viewport().repaint()
    assert edges.drawing
    return card, edges, first


def test_a_big_overview_draws_its_edge_image_on_a_worker_thread(window, qtbot, monkeypatch):
    monkeypatch.setattr(edge_image, "BACKGROUND_ELEMENTS", 0)  # the welcome graph's edges count as many
    threads = []
    draw = edge_image._draw

    def spied(*args, **kwargs):
        threads.append(threading.current_thread())
        return draw(*args, **kwargs)

    monkeypatch.setattr(edge_image, "_draw", spied)
    card, edges, first = overview_with_a_new_zoom_drawing(window, qtbot)
    assert edges._image is first  # meanwhile the last image, stretched
    qtbot.waitUntil(lambda: not edges.drawing, timeout=5000)
    assert edges._image is not first
    assert threads and all(t is not threading.main_thread() for t in threads)
    window.scene.select_nodes([card.node_id])
    ours = window.view.viewport().grab().toImage()
    monkeypatch.setattr(window.scene, "dragging_connection", lambda: True)  # Qt's own paint of the same
    assert ours == window.view.viewport().grab().toImage()


def test_an_edge_image_for_a_zoom_left_meanwhile_is_thrown_away(window, qtbot, monkeypatch):
    monkeypatch.setattr(edge_image, "BACKGROUND_ELEMENTS", 0)
    _, edges, first = overview_with_a_new_zoom_drawing(window, qtbot)  # an image for this zoom is being drawn...
    window.view.zoom_by(0.8)  # ... when the zoom changes again (a gesture: the last image is stretched)
    window.view._settle.stop()  # the gesture goes on until this test says it settled
    window.view.viewport().repaint()
    qtbot.waitUntil(lambda: not edges.drawing, timeout=5000)
    assert edges._image is first  # the late one was not taken
    window.scene.set_zooming(False)
    window.view.viewport().repaint()
    qtbot.waitUntil(lambda: not edges.drawing, timeout=5000)
    assert edges._image is not first and edges._key[0] == window.view.zoom()


def test_the_garbage_collector_is_paused_while_a_scene_builds_and_resumed_after(qapp, qtbot, monkeypatch):
    one_item_per_slice(monkeypatch)
    document = Document()
    scene = CanvasScene(document)
    document.replace(fileformat.load(HYBRID))
    assert scene.building and not gc.isenabled()
    qtbot.waitUntil(lambda: not scene.building and not scene._pass.active, timeout=5000)  # (the pass pauses it too)
    assert gc.isenabled()
    document.replace(fileformat.load(HYBRID))
    scene._build._slice()
    assert not gc.isenabled()
    scene.detach()
    scene.deleteLater()  # closed while it builds
    qtbot.waitUntil(gc.isenabled, timeout=5000)
