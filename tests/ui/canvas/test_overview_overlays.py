"""Far out, the edges a run lit (its critical path, a drop target) are kept by look and updated by the edges
that changed, never recomputed over every lit edge at each of a run's updates; many are copied from an image
drawn on a worker thread instead of stroked by every frame on the window's thread."""

import random
import threading

from PySide6.QtGui import QImage

from chainstudio.ui.canvas import edge_image, overview_overlays
from chainstudio.ui.canvas.overview_overlays import PENS, looks_of
from tests.ui.canvas.test_overview_clicks import overview_of_hybrid


def expected(scene) -> dict[str, set[str]]:
    looks: dict[str, set[str]] = {look: set() for look in PENS}
    for edge_id, item in scene.edges.items():
        for look in looks_of(item):  # a critical edge is lit too (drawn under it)
            looks[look].add(edge_id)
    return looks


def kept(scene) -> dict[str, set[str]]:
    return {look: scene.overview._overlays.ids(look) for look in PENS}


def test_updates_by_the_changed_edges_keep_what_a_full_pass_finds(window, qtbot):
    overview_of_hybrid(window, qtbot)
    scene = window.scene
    items = list(scene.edges.values())
    rng = random.Random(7)
    for _ in range(40):  # lit, critical, unlit, a drop target and back, in any order
        for item in rng.sample(items, 3):
            change = rng.choice(["lit", "critical", None, "drop", "undrop"])
            if change in ("drop", "undrop"):
                item.set_drop_target(change == "drop")
            else:
                item.set_flow(change)
        scene.flush()
        qtbot.waitUntil(lambda: not scene.overview._overlays.remaking, timeout=5000)
        assert kept(scene) == expected(scene)
    assert any(kept(scene).values())
    curves = sum(path.elementCount() for path in scene.overview._overlays.paths())
    assert curves == sum(scene.edges[e].path().elementCount() for ids in expected(scene).values() for e in ids)


def test_a_lit_edge_is_appended_and_an_unlit_one_remakes_only_its_path(window, qtbot, monkeypatch):
    overview_of_hybrid(window, qtbot)
    monkeypatch.setattr(overview_overlays, "CHUNK", 2)  # paths of two edges
    scene = window.scene
    items = list(scene.edges.values())
    remade: list[set[int]] = []
    remake = overview_overlays._Look.remake
    monkeypatch.setattr(
        overview_overlays._Look, "remake", lambda self, i, e: (remade.append(set(i)), remake(self, i, e))
    )
    for item in items[:5]:
        item.set_flow("lit")
    scene.flush()
    overlays = scene.overview._overlays
    items[5].set_flow("lit")
    scene.flush()
    assert remade == [] and overlays.ids("lit") == {item.edge_id for item in items[:6]}
    assert len(overlays.paths()) == 3  # lit: 3 paths of 2 edges; the other looks: none
    path = overlays._looks["lit"].where[items[5].edge_id]
    items[5].set_flow(None)  # leaving the look: only its path is made again
    scene.flush()
    assert remade == [{path}]
    assert overlays.ids("lit") == {item.edge_id for item in items[:5]}


def test_many_lit_edges_come_from_an_image_drawn_off_the_window_thread(window, qtbot, monkeypatch):
    overview_of_hybrid(window, qtbot)
    scene, viewport = window.scene, window.view.viewport()
    plain = viewport.grab().toImage()
    for item in scene.edges.values():
        item.set_flow("lit")
    scene.flush()
    direct = viewport.grab().toImage()  # few: stroked by the frame itself
    threads: list[str] = []
    draw = edge_image._draw

    def recording(base, *args, **kwargs):
        threads.append(threading.current_thread().name)
        return draw(base, *args, **kwargs)

    monkeypatch.setattr(edge_image, "_draw", recording)
    monkeypatch.setattr(edge_image, "BACKGROUND_ELEMENTS", 0)  # as if there were thousands
    monkeypatch.setattr(overview_overlays, "BACKGROUND_ELEMENTS", 0)
    scene.overview._overlays._image.changed()
    viewport.repaint()
    qtbot.waitUntil(lambda: not scene.overview._overlays._image.drawing, timeout=5000)
    viewport.repaint()
    imaged = viewport.grab().toImage()
    assert threads and "MainThread" not in threads
    assert differing(plain, direct) > 500  # the lit edges show (1,208 pixels here)
    assert differing(direct, imaged) <= 20  # ... the same from the image (0 here)


def test_the_image_s_worker_gives_python_s_lock_up_after_each_path_for_longer_than_it_held_it(monkeypatch):
    """Qt keeps Python's lock while it strokes a path; given up for no time (``sleep(0)``) the worker took it
    back at once and the window's busy thread ran 5 ms in every 10-35 (its 40 ms turns took 125-280 ms)."""
    from PySide6.QtCore import QPointF, QRect
    from PySide6.QtGui import QPainterPath, QPen

    paths = []
    for i in range(3):
        path = QPainterPath(QPointF(0, i))
        for x in range(1, 400):
            path.cubicTo(QPointF(x, i + 5), QPointF(x + 1, i - 5), QPointF(x + 2, i))
        paths.append((QPen(), path))
    pauses: list[float] = []
    me, sleep = threading.current_thread(), edge_image.time.sleep
    monkeypatch.setattr(  # (time.sleep itself: other threads' calls go through)
        edge_image.time, "sleep", lambda s: pauses.append(s) if threading.current_thread() is me else sleep(s)
    )
    edge_image._draw(paths, 1.0, 1.0, 1.0, QRect(0, -10, 420, 30), worker=True)
    assert len(pauses) == len(paths) and all(p > 0 for p in pauses)  # after each path, for a while
    pauses.clear()
    edge_image._draw(paths, 1.0, 1.0, 1.0, QRect(0, -10, 420, 30))
    assert pauses == []  # (on the window's thread: no pause)


def differing(a: QImage, b: QImage) -> int:
    a = a.convertToFormat(QImage.Format.Format_RGB32)
    b = b.convertToFormat(QImage.Format.Format_RGB32)
    return sum(1 for y in range(a.height()) for x in range(a.width()) if a.pixel(x, y) != b.pixel(x, y))


def test_edges_lit_after_the_image_are_stroked_into_it_not_drawn_again(window, qtbot, monkeypatch):
    overview_of_hybrid(window, qtbot)
    scene, viewport = window.scene, window.view.viewport()
    scene.set_zooming(False)  # the zoom settled (during one, the last image is only stretched)
    items = list(scene.edges.values())
    monkeypatch.setattr(edge_image, "BACKGROUND_ELEMENTS", 0)  # as if there were thousands
    monkeypatch.setattr(overview_overlays, "BACKGROUND_ELEMENTS", 0)
    image = scene.overview._overlays._image
    for item in items[: len(items) // 2]:
        item.set_flow("lit")
    scene.flush()
    viewport.repaint()
    qtbot.waitUntil(lambda: image._image is not None and not image.drawing, timeout=5000)
    draws: list[object] = []
    draw = edge_image._draw
    monkeypatch.setattr(edge_image, "_draw", lambda base, *a, **k: (draws.append(base), draw(base, *a, **k))[1])
    for item in items[len(items) // 2 :]:  # a run's progress: a few more at a time
        item.set_flow("lit")
        scene.flush()
        viewport.repaint()
    assert draws == [] and not image.drawing
    patched = viewport.grab().toImage()
    monkeypatch.setattr(overview_overlays, "BACKGROUND_ELEMENTS", 10**9)  # stroked by the frame itself
    assert differing(patched, viewport.grab().toImage()) <= 20
    monkeypatch.setattr(overview_overlays, "BACKGROUND_ELEMENTS", 0)
    items[0].set_flow(None)  # an edge leaving its look: the image is drawn again
    scene.flush()
    viewport.repaint()
    qtbot.waitUntil(lambda: not image.drawing, timeout=5000)
    assert len(draws) == 1


def test_many_edges_lit_at_once_are_stroked_into_the_image_over_several_turns(window, qtbot, monkeypatch):
    """Their 2-3 px pens stroke slowly (1,000 edges lit by one update took 0.1 s of one turn): a part per turn,
    and the image ends as the frame would stroke them."""
    overview_of_hybrid(window, qtbot)
    scene, viewport = window.scene, window.view.viewport()
    scene.set_zooming(False)
    items = list(scene.edges.values())
    monkeypatch.setattr(edge_image, "BACKGROUND_ELEMENTS", 0)
    monkeypatch.setattr(overview_overlays, "BACKGROUND_ELEMENTS", 0)
    monkeypatch.setattr(overview_overlays, "STROKE_PART", 1)
    monkeypatch.setattr(overview_overlays, "REMAKE_SLICE_S", 0.0)  # one edge per turn of the loop
    overlays = scene.overview._overlays
    image = overlays._image
    items[0].set_flow("lit")
    scene.flush()
    viewport.repaint()
    qtbot.waitUntil(lambda: image._image is not None and not image.drawing, timeout=5000)
    later = items[1:]
    assert len(later) >= 3
    for item in later:  # one update lights them all
        item.set_flow("lit")
    scene.flush()
    assert overlays._unstroked  # the first part stroked, the others waiting
    qtbot.waitUntil(lambda: not overlays._unstroked, timeout=5000)
    assert overlays.stroke_slices == len(later) and not image.drawing  # a turn each, no image drawn again
    viewport.repaint()
    patched = viewport.grab().toImage()
    monkeypatch.setattr(overview_overlays, "BACKGROUND_ELEMENTS", 10**9)  # stroked by the frame itself
    assert differing(patched, viewport.grab().toImage()) <= 20


def test_a_run_s_end_adds_its_critical_edges_without_remaking_the_lit_paths(window, qtbot, monkeypatch):
    """At the end of a 10,000-step run, turning the lit edges of the critical path critical remade most of the
    lit paths (0.16-0.26 s of the window's thread): a critical edge now stays in the lit look, under it."""
    overview_of_hybrid(window, qtbot)
    monkeypatch.setattr(overview_overlays, "CHUNK", 2)
    scene = window.scene
    items = list(scene.edges.values())
    for item in items:
        item.set_flow("lit")
    scene.flush()
    remade: list[object] = []
    monkeypatch.setattr(overview_overlays._Look, "remake", lambda self, i, e: remade.append(i))
    for item in items[::3]:  # the run ended: its critical path
        item.set_flow("critical")
    scene.flush()
    overlays = scene.overview._overlays
    assert remade == [] and not overlays.remaking
    assert overlays.ids("critical") == {item.edge_id for item in items[::3]}
    assert overlays.ids("lit") == {item.edge_id for item in items}


def test_paths_left_by_many_edges_are_made_again_over_several_turns_of_the_loop(window, qtbot, monkeypatch):
    """A new run's start resets every lit edge: the paths they left are made again a few per turn of the loop
    (``REMAKE_SLICE_S``), not all in the update that reset them."""
    overview_of_hybrid(window, qtbot)
    monkeypatch.setattr(overview_overlays, "CHUNK", 1)  # one path per edge
    monkeypatch.setattr(overview_overlays, "REMAKE_SLICE_S", 0.0)  # one path per turn
    scene = window.scene
    items = list(scene.edges.values())
    for item in items:
        item.set_flow("lit")
    scene.flush()
    overlays = scene.overview._overlays
    for item in items[1:]:  # all but one leave the look at once
        item.set_flow(None)
    scene.flush()
    assert overlays.remaking  # not all made again in the update itself
    qtbot.waitUntil(lambda: not overlays.remaking, timeout=5000)
    assert overlays.remake_slices == len(items) - 1 > 1
    assert overlays.ids("lit") == {items[0].edge_id}
    curves = sum(path.elementCount() for path in overlays.paths())
    assert curves == items[0].path().elementCount()
