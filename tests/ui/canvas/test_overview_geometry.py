"""The overview keeps its geometry (blocks and edge paths) across zooms: zooming out again makes no curve
again, and what an edit made while zoomed in touched (a moved card, a deleted or added edge, an undo, a
restyled edge, a new file) is in the overview at the next zoom out, as a fresh scene would draw it."""

import pytest
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter, QPainterPath, QTransform
from PySide6.QtWidgets import QStyleOptionGraphicsItem

from chainstudio.core.editing.commands import Connect, Disconnect, MoveNodes, SetParam
from chainstudio.core.editing.document import Document
from chainstudio.core.graph.model import Edge, Graph, Node
from chainstudio.ui.canvas import overview_geometry
from chainstudio.ui.canvas.scene import CanvasScene
from chainstudio.ui.canvas.view import CanvasView

FAR, NEAR = 0.2, 1.0


def layered_graph(name: str = "layered", shift: float = 0.0) -> Graph:
    """6 layers of 5 steps, each step after the first layer reading two of the layer before: one of them by
    name in its prompt (a solid edge), the other only ordered after it (dashed)."""
    graph = Graph(name=name)
    layers = []
    for layer in range(6):
        row = []
        for i in range(5):
            position = (layer * 420.0 + shift, i * 160.0)
            if layer == 0:
                node = Node.create("input", f"s{layer}_{i}", position)
            else:
                node = Node.create("llm", f"s{layer}_{i}", position, prompt=f"use {{{{ s{layer - 1}_{i} }}}}")
            graph.nodes[node.id] = node
            row.append(node)
        layers.append(row)
    for before, after in zip(layers, layers[1:], strict=False):
        for i, node in enumerate(after):
            for source in (before[i], before[(i + 2) % 5]):
                edge = Edge.create(source.id, node.id)
                graph.edges[edge.id] = edge
    return graph


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(overview_geometry, "EDGE_CHUNK", 3)  # an edit touches some paths, not all


def far_out(document: Document) -> tuple[CanvasScene, CanvasView]:
    scene = CanvasScene(document)
    view = CanvasView(scene)
    view.resize(900, 600)
    view.show()
    zoom_to(scene, view, FAR)
    return scene, view


def zoom_to(scene: CanvasScene, view: CanvasView, zoom: float) -> None:
    view.zoom_by(zoom / view.zoom())
    scene.set_zooming(False)
    scene.overview.finish_switching()
    scene.flush()
    view.centerOn(1100, 400)


def curves(scene: CanvasScene) -> dict[bool, list[tuple[float, ...]]]:
    """The overview's edge curves, by dash: each the points of its move and cubic, sorted."""
    found: dict[bool, list[tuple[float, ...]]] = {False: [], True: []}
    for dashed, path in scene.overview.geometry.paths():
        points = [(path.elementAt(i).x, path.elementAt(i).y) for i in range(path.elementCount())]
        found[dashed] += [tuple(round(v, 6) for p in points[i : i + 4] for v in p) for i in range(0, len(points), 4)]
    return {dashed: sorted(found[dashed]) for dashed in found}


def drawn(scene: CanvasScene, rect: QRectF) -> QImage:
    """The overview's drawing of ``rect`` (scene), at a fifth of its size."""
    image = QImage(int(rect.width() * FAR) + 1, int(rect.height() * FAR) + 1, QImage.Format.Format_ARGB32)
    image.fill(0xFFFFFFFF)
    painter = QPainter(image)
    painter.setWorldTransform(QTransform.fromScale(FAR, FAR).translate(-rect.x(), -rect.y()))
    option = QStyleOptionGraphicsItem()
    option.exposedRect = rect
    scene.overview.paint(painter, option)
    painter.end()
    return image


def assert_as_fresh(document: Document, scene: CanvasScene, view: CanvasView) -> None:
    """The overview of ``scene`` is what a scene made now on ``document`` draws, curve for curve, and pixel
    for pixel but for the order the edges of one look are stroked in."""
    fresh, _ = far_out(document)
    assert scene.overview.active and fresh.overview.active
    assert scene.overview.geometry.rects == fresh.overview.geometry.rects
    assert scene.overview.geometry.bounds == fresh.overview.geometry.bounds
    assert curves(scene) == curves(fresh)
    rect = scene.overview.geometry.bounds
    ours, theirs = drawn(scene, rect), drawn(fresh, rect)
    different = sum(ours.pixel(x, y) != theirs.pixel(x, y) for y in range(ours.height()) for x in range(ours.width()))
    assert different <= 0.002 * ours.width() * ours.height()
    fresh.detach()


def test_zooming_out_twice_makes_the_geometry_once(qapp, small_chunks):
    document = Document()
    document.replace(layered_graph())
    scene, view = far_out(document)
    geometry = scene.overview.geometry
    made, builds, paths = geometry.curves, geometry.builds, list(scene.overview._base)
    assert builds >= 1 and made == builds * len(scene.edges) == builds * 50  # (again once the dashes came)
    for _ in range(2):
        zoom_to(scene, view, NEAR)
        assert not scene.overview.active
        zoom_to(scene, view, FAR)
        assert scene.overview.active
    assert (geometry.curves, geometry.builds) == (made, builds)  # no curve made again
    assert [p for _, p in scene.overview._base] == [p for _, p in paths]
    assert_as_fresh(document, scene, view)


def first_card_edges(scene: CanvasScene, name: str) -> tuple[str, set[str]]:
    node_id = next(n for n, item in scene.nodes.items() if item.name == name)
    return node_id, set(scene.edges_of(node_id))


def test_a_card_moved_while_zoomed_in_has_only_its_edges_paths_made_again(qapp, small_chunks):
    document = Document()
    document.replace(layered_graph())
    scene, view = far_out(document)
    geometry = scene.overview.geometry
    zoom_to(scene, view, NEAR)
    node_id, edges = first_card_edges(scene, "s3_2")
    made, builds = geometry.curves, geometry.builds
    document.execute(MoveNodes({node_id: (1500.0, 900.0)}))
    zoom_to(scene, view, FAR)
    assert geometry.builds == builds
    assert 0 < geometry.curves - made <= len(edges) * overview_geometry.EDGE_CHUNK < len(scene.edges)
    assert geometry.rects[node_id].topLeft().toTuple() == (1500.0, 900.0)
    assert_as_fresh(document, scene, view)


def delete_an_edge(document: Document, scene: CanvasScene) -> None:
    document.execute(Disconnect([next(iter(scene.edges))]))


def add_an_edge(document: Document, scene: CanvasScene) -> None:
    first = next(n for n, item in scene.nodes.items() if item.name == "s0_0")
    last = next(n for n, item in scene.nodes.items() if item.name == "s5_4")
    document.execute(Connect(first, last))


def restyle_an_edge(document: Document, scene: CanvasScene) -> None:
    """A prompt that now names a step it was only ordered after: that edge is drawn solid."""
    node_id = next(n for n, item in scene.nodes.items() if item.name == "s2_0")
    document.execute(SetParam(node_id, "prompt", "use {{ s1_0 }} and {{ s1_2 }}"))


def move_then_undo(document: Document, scene: CanvasScene) -> None:
    node_id = next(iter(scene.nodes))
    document.execute(MoveNodes({node_id: (-900.0, -700.0)}))
    delete_an_edge(document, scene)
    document.undo()
    document.undo()


def new_file(document: Document, scene: CanvasScene) -> None:
    document.replace(layered_graph("other", shift=250.0))


def delete_a_card(document: Document, scene: CanvasScene) -> None:
    from chainstudio.core.editing.commands import RemoveNodes

    document.execute(RemoveNodes([next(n for n, item in scene.nodes.items() if item.name == "s2_2")]))


EDITS = [delete_an_edge, add_an_edge, restyle_an_edge, move_then_undo, new_file, delete_a_card]


@pytest.mark.parametrize("edit", EDITS, ids=[e.__name__ for e in EDITS])
def test_an_edit_made_while_zoomed_in_is_in_the_overview_at_the_next_zoom_out(qapp, small_chunks, edit):
    document = Document()
    document.replace(layered_graph())
    scene, view = far_out(document)
    zoom_to(scene, view, NEAR)
    before = curves(scene)
    edit(document, scene)
    scene.flush()
    zoom_to(scene, view, FAR)
    assert_as_fresh(document, scene, view)
    if edit is not move_then_undo:
        assert curves(scene) != before
    else:
        assert curves(scene) == before


def test_an_edit_made_in_the_overview_updates_it_as_a_fresh_one(qapp, small_chunks):
    document = Document()
    document.replace(layered_graph())
    scene, view = far_out(document)
    builds = scene.overview.geometry.builds
    node_id, _ = first_card_edges(scene, "s1_1")
    document.execute(MoveNodes({node_id: (600.0, -500.0)}))
    delete_an_edge(document, scene)
    scene.flush()
    assert scene.overview.geometry.builds == builds
    assert_as_fresh(document, scene, view)


def test_an_update_dropped_halfway_is_done_by_the_next(qapp, small_chunks, monkeypatch):
    monkeypatch.setattr(overview_geometry, "PART", 1)
    document = Document()
    document.replace(layered_graph())
    scene, view = far_out(document)
    zoom_to(scene, view, NEAR)
    node_id, _ = first_card_edges(scene, "s4_4")
    document.execute(MoveNodes({node_id: (100.0, 1200.0)}))
    parts = scene.overview.geometry.update_parts(scene.nodes, scene.edges)
    next(parts)  # a path made, then the update dropped (the scene changed meanwhile)
    parts.close()
    assert isinstance(scene.overview._base[0][1], QPainterPath)
    zoom_to(scene, view, FAR)
    assert_as_fresh(document, scene, view)


def test_looks_changed_while_zoomed_in_show_at_the_next_zoom_out_and_an_estimate_s_do_not_count(qapp):
    from chainstudio.ui.canvas.run_overlay import Badge

    document = Document()
    document.replace(layered_graph())
    scene, view = far_out(document)
    zoom_to(scene, view, NEAR)
    card = next(item for item in scene.nodes.values() if item.name == "s3_1")
    other = next(item for item in scene.nodes.values() if item.name == "s2_4")
    edge_id = next(iter(scene.edges_of(card.node_id)))
    card.set_run(Badge("succeeded", "done"))
    other.set_run(Badge("running", "≈ 2 s", estimate=True))  # an estimate's badge: not in the overview
    scene.edges[edge_id].set_flow("lit")
    assert card.node_id in scene.overview._hidden_looks and other.node_id not in scene.overview._hidden_looks
    zoom_to(scene, view, FAR)
    fill = scene.overview._styles[card.node_id][0]
    assert fill == Badge("succeeded", "").color
    assert scene.overview.geometry.rects[card.node_id] in scene.overview._fills[fill.rgba()][1]
    assert scene.overview._styles[other.node_id][0] != Badge("running", "").color
    assert scene.overview._overlays.ids("lit") == {edge_id}


def test_the_moves_the_view_replays_during_a_zoom_gesture_do_no_hit_test(qapp, monkeypatch):
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtWidgets import QGraphicsScene, QGraphicsSceneMouseEvent

    document = Document()
    document.replace(layered_graph())
    scene = CanvasScene(document)
    asked: list[QPointF] = []
    monkeypatch.setattr(QGraphicsScene, "mouseMoveEvent", lambda self, event: asked.append(event.scenePos()))
    event = QGraphicsSceneMouseEvent(QEvent.Type.GraphicsSceneMouseMove)
    event.setScenePos(QPointF(500, 100))
    scene.set_zooming(True)
    scene.mouseMoveEvent(event)
    assert asked == []  # a move replayed mid-gesture: no hover hit test
    scene.set_zooming(False)
    scene.mouseMoveEvent(event)
    assert asked == [QPointF(500, 100)]
    scene.detach()


def test_the_blocks_fills_and_names_are_kept_across_zooms_until_a_look_or_a_block_changes(qapp):
    """Zooming out again with nothing changed keeps the blocks' fills and names as made (making them for
    10,000 cards took 10 ms of the zoom step); a rename or a move made while zoomed in is in them after."""
    from chainstudio.core.editing.commands import Rename

    document = Document()
    document.replace(layered_graph())
    scene, view = far_out(document)
    looks = scene.overview._looks  # the blocks by fill and their names, kept per card (``overview_looks``)
    zoom_to(scene, view, NEAR)
    zoom_to(scene, view, FAR)
    assert scene.overview._looks is looks and not scene.overview._looks_stale
    card = next(item for item in scene.nodes.values() if item.name == "s3_1")
    zoom_to(scene, view, NEAR)
    document.execute(Rename(card.node_id, "renamed"))
    scene.flush()
    zoom_to(scene, view, FAR)
    assert scene.overview._looks is not looks
    assert [n for _r, n, _d in scene.overview._looks.names.values() if n in ("renamed", "s3_1")] == ["renamed"]
    zoom_to(scene, view, NEAR)
    document.execute(MoveNodes({card.node_id: (100.0, 1500.0)}))
    scene.flush()
    zoom_to(scene, view, FAR)
    rect = scene.overview.geometry.rects[card.node_id]
    assert (rect, "renamed") in [(r, n) for r, n, _d in scene.overview._looks.names.values()]
    assert_as_fresh(document, scene, view)
