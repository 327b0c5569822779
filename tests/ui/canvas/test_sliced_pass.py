"""The pass after a big graph's build (layer bands, edge styles, the overview's geometry) runs a slice at a
time between turns of the window's event loop (issue 14), finds the ordering-only edges once per revision
(validation uses the same), and ends consistent with the document however the graph changes meanwhile."""

import gc

from PySide6.QtCore import Qt, QTimer

from chainstudio.core.editing import document as document_module
from chainstudio.core.editing.commands import RemoveNodes
from chainstudio.core.editing.document import Document
from chainstudio.core.graph import analysis, validation
from chainstudio.core.graph.analysis import layers
from chainstudio.core.graph.validation import ordering_only_edges, validate
from chainstudio.core.storage import fileformat
from chainstudio.ui.canvas import overview as overview_module
from chainstudio.ui.canvas import overview_geometry, scene_build, scene_pass
from chainstudio.ui.canvas import scene as scene_module
from chainstudio.ui.canvas.scene import CanvasScene
from tests.conftest import EXAMPLES

HYBRID = EXAMPLES / "research-hybrid.chain.json"
SEQUENTIAL = EXAMPLES / "research-sequential.chain.json"


def tiny_parts(monkeypatch) -> None:
    """The welcome graph counts as big, and every slice of the build and of the pass does one part."""
    monkeypatch.setattr(scene_module, "BIG_SCENE_ITEMS", 5)
    monkeypatch.setattr(scene_build, "SLICE_S", 0.0)
    monkeypatch.setattr(scene_pass, "SLICE_S", 0.0)
    monkeypatch.setattr(scene_module, "EDGES_PER_PART", 1)
    monkeypatch.setattr(scene_module, "BANDS_PER_PART", 1)
    monkeypatch.setattr(validation, "ORDERING_ONLY_PART", 1)
    monkeypatch.setattr(analysis, "PART", 1)
    monkeypatch.setattr(overview_geometry, "PART", 1)
    monkeypatch.setattr(overview_module, "STYLES_PART", 1)


def far_out_scene() -> tuple[Document, CanvasScene]:
    document = Document()
    scene = CanvasScene(document)
    scene.set_zoom(0.2)  # the overview shows: its geometry is part of the pass
    assert scene.overview.active
    return document, scene


def settled(scene: CanvasScene) -> bool:
    return not (scene.building or scene._pass.active or scene._pending.isActive())


def assert_pass_matches_model(scene: CanvasScene) -> None:
    """What the pass makes agrees with the document, without running a pass to check (no ``flush``)."""
    graph = scene.document.graph
    assert set(scene.nodes) == set(graph.nodes) and set(scene.edges) == set(graph.edges)
    dashed = ordering_only_edges(graph)
    assert {e for e, item in scene.edges.items() if item.ordering_only} == dashed
    assert [len(b.label) > 0 for b in scene.bands] == [True] * len(layers(graph))
    assert [b.label.split(" · ")[1] for b in scene.bands] == [
        f"{len(g)} in parallel" if len(g) > 1 else "1 step" for g in layers(graph)
    ]
    if scene.overview.active:
        assert set(scene.overview._rects) == set(graph.nodes)
        for dashed_pen in (False, True):  # the overview's plain and dashed edges are the items' own
            drawn = [path for pen, path in scene.overview._base if (pen.style() != Qt.PenStyle.SolidLine) == dashed_pen]
            edges = [item for item in scene.edges.values() if item.ordering_only == dashed_pen]
            assert sum(p.elementCount() for p in drawn) == sum(item.path().elementCount() for item in edges)


def test_the_pass_after_a_big_build_yields_to_the_event_loop_between_slices(qapp, qtbot, monkeypatch):
    tiny_parts(monkeypatch)
    document, scene = far_out_scene()
    beats: list[tuple[bool, int]] = []  # at each turn of the loop: a pass underway?, its slices so far
    heartbeat = QTimer()
    heartbeat.setInterval(0)
    heartbeat.timeout.connect(lambda: beats.append((scene._pass.active, scene._pass.slices)))
    try:
        document.replace(fileformat.load(SEQUENTIAL))
        heartbeat.start()
        qtbot.waitUntil(lambda: settled(scene), timeout=10000)
        heartbeat.stop()
        during = [slices for active, slices in beats if active]
        assert len(set(during)) > 20  # the loop turned between many slices of one pass
        assert any(item.ordering_only for item in scene.edges.values())
        assert_pass_matches_model(scene)
    finally:
        heartbeat.stop()
        scene.detach()
        scene.deleteLater()


def test_a_small_graph_still_gets_its_pass_in_one_go(qapp, qtbot):
    document, scene = far_out_scene()
    try:
        document.replace(fileformat.load(HYBRID))
        qtbot.waitUntil(lambda: settled(scene), timeout=5000)
        assert scene._pass.slices == 0
        assert_pass_matches_model(scene)
    finally:
        scene.detach()
        scene.deleteLater()


def test_ordering_only_edges_are_found_once_per_revision(qapp, qtbot, monkeypatch):
    calls = []
    real = document_module.ordering_only_parts

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(document_module, "ordering_only_parts", counted)
    document = Document(fileformat.load(SEQUENTIAL))
    scene = CanvasScene(document)
    try:
        scene.flush()  # the dashes
        problems = document.problems  # validation's warnings
        scene.show_problems()
        assert len(calls) == 1
        assert problems == validate(document.graph)  # the same warnings as found on their own
        assert any("only orders the steps" in p.message for p in problems)
        document.execute(RemoveNodes([next(iter(document.graph.nodes))]))
        scene.flush()
        assert document.problems == validate(document.graph)
        assert len(calls) == 2
    finally:
        scene.detach()
        scene.deleteLater()


def open_and_act_during_the_pass(qtbot, monkeypatch, path, actions: list) -> tuple[Document, CanvasScene]:
    """A far-out scene opening ``path`` in tiny parts; each of ``actions(document, scene)`` is done at a turn
    of the event loop between two slices of a pass underway, at least 10 slices after the last one. Returns
    once all are done and the scene has settled (the caller detaches the scene)."""
    tiny_parts(monkeypatch)
    document, scene = far_out_scene()
    done: list[int] = []
    heartbeat = QTimer()
    heartbeat.setInterval(0)

    def beat() -> None:
        slices = scene._pass.slices
        if actions and scene._pass.active and slices >= (done[-1] if done else 0) + 10:
            done.append(slices)
            actions.pop(0)(document, scene)

    heartbeat.timeout.connect(beat)
    heartbeat.start()
    try:
        document.replace(fileformat.load(path))
        qtbot.waitUntil(lambda: not actions and settled(scene), timeout=10000)
    finally:
        heartbeat.stop()
    return document, scene


def test_a_graph_replaced_while_the_pass_runs_ends_consistent(qapp, qtbot, monkeypatch):
    actions = [lambda document, _scene: document.replace(fileformat.load(SEQUENTIAL))]
    document, scene = open_and_act_during_the_pass(qtbot, monkeypatch, HYBRID, actions)
    try:
        assert document.graph.name == fileformat.load(SEQUENTIAL).name
        assert_pass_matches_model(scene)
    finally:
        scene.detach()
        scene.deleteLater()


def test_an_edit_or_a_zoom_out_of_the_overview_while_the_pass_runs_ends_consistent(qapp, qtbot, monkeypatch):
    actions = [
        lambda document, _scene: document.execute(RemoveNodes([next(iter(document.graph.nodes))])),
        lambda _document, scene: scene.set_zoom(1.0),  # the overview goes away halfway through its geometry
        lambda _document, scene: scene.set_zoom(0.2),  # ... and comes back
    ]
    document, scene = open_and_act_during_the_pass(qtbot, monkeypatch, SEQUENTIAL, actions)
    try:
        assert scene.overview.active and len(document.graph.nodes) == len(fileformat.load(SEQUENTIAL).nodes) - 1
        assert_pass_matches_model(scene)
    finally:
        scene.detach()
        scene.deleteLater()


def test_the_garbage_collector_is_paused_while_the_pass_runs_and_resumed_after(qapp, qtbot, monkeypatch):
    tiny_parts(monkeypatch)
    document, scene = far_out_scene()
    paused: list[bool] = []  # at each turn of the loop while a pass is underway: the collector off?
    heartbeat = QTimer()
    heartbeat.setInterval(0)
    heartbeat.timeout.connect(lambda: scene._pass.active and paused.append(not gc.isenabled()))
    heartbeat.start()
    try:
        document.replace(fileformat.load(SEQUENTIAL))
        qtbot.waitUntil(lambda: settled(scene), timeout=10000)
        assert paused and all(paused) and gc.isenabled()
    finally:
        heartbeat.stop()
    closed: list[bool] = []

    def close_during_the_pass() -> None:
        if scene._pass.active and not closed:
            closed.append(not gc.isenabled())
            heartbeat.stop()
            scene.detach()
            scene.deleteLater()

    heartbeat.timeout.disconnect()
    heartbeat.timeout.connect(close_during_the_pass)
    heartbeat.start()
    document.replace(fileformat.load(HYBRID))
    qtbot.waitUntil(lambda: bool(closed), timeout=10000)
    assert closed == [True]  # paused during the new graph's pass, when the scene was closed
    qtbot.waitUntil(gc.isenabled, timeout=5000)
