"""Files, dialogs without nested event loops, docks, clipboard, zoom/pan, export and the API the Gantt uses."""

import json
import subprocess
import sys

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from chainstudio.core.storage import fileformat
from chainstudio.ui.main_window import MainWindow
from tests.conftest import EXAMPLES, ROOT
from tests.ui.canvas_helpers import assert_scene_matches_model, connect_by_drag, drag


def answer(window, button):
    box = window.files.dialog
    assert isinstance(box, QMessageBox) and box.isVisible()
    box.button(button).click()


def test_launch_with_no_file_is_a_new_graph(window):
    assert window.document.graph.nodes == {} and window.document.path is None
    assert window.windowTitle().startswith("untitled") and not window.isWindowModified()
    assert window.run_menu.title() == "&Run"
    assert [a.text() for a in window.run_menu.actions() if a.text()] == [
        "&Run",
        "&Stop",
        "&Compare Strategies",
        "Compare on the Last Run (&Replay)",
        "Run &Dataset…",
        "&Advise",
        "Use Step &Cache",
        "C&lear Step Cache…",
        "S&ettings…",
    ]
    assert {d.objectName() for d in (window.gantt_dock, window.output_dock)} == {"gantt_dock", "output_dock"}
    assert window.dockWidgetArea(window.gantt_dock) == Qt.DockWidgetArea.BottomDockWidgetArea


def test_build_save_and_reopen_identical(window, tmp_path, qtbot, settings):
    window.add_node("input", QPointF(0, 0))
    window.add_node("llm", QPointF(320, 0))
    connect_by_drag(window, "topic", "step")
    step = window.document.graph.resolve("step")
    window.controller.set_param(step.id, "prompt", "Write about {{ topic }}")
    path = tmp_path / "built.chain.json"
    assert window.files.save_to(path)
    assert not window.isWindowModified() and "built.chain.json" in window.windowTitle()
    other = MainWindow(settings)
    qtbot.addWidget(other)
    assert other.open_path(path)
    assert fileformat.dumps(other.document.graph) == fileformat.dumps(window.document.graph)
    assert_scene_matches_model(other.scene)
    assert str(path.resolve()) in other.files.recent()
    other.close()


def test_close_with_unsaved_changes_asks_save_discard_cancel(window, tmp_path):
    window.add_node("llm", QPointF(0, 0))
    assert not window.close()
    answer(window, QMessageBox.StandardButton.Cancel)
    assert window.isVisible() and window.document.modified
    window.close()
    answer(window, QMessageBox.StandardButton.Discard)
    assert not window.isVisible()


def test_save_from_the_close_question_writes_then_closes(window, tmp_path):
    window.open_path(EXAMPLES / "research-hybrid.chain.json")
    path = tmp_path / "copy.chain.json"
    window.files.save_to(path)
    window.controller.rename(window.document.graph.resolve("security").id, "pq_security")
    window.close()
    answer(window, QMessageBox.StandardButton.Save)
    assert not window.isVisible()
    assert fileformat.load(path).node_by_name("pq_security") is not None


def test_opening_with_unsaved_changes_asks_first(window):
    window.add_node("llm", QPointF(0, 0))
    window.files.open_path(EXAMPLES / "research-parallel.chain.json")
    assert len(window.document.graph.nodes) == 1  # waiting for the answer
    answer(window, QMessageBox.StandardButton.Discard)
    assert window.document.graph.name == "research-parallel"


def test_load_errors_show_their_location(window, tmp_path):
    bad = tmp_path / "bad.chain.json"
    bad.write_text((EXAMPLES / "research-hybrid.chain.json").read_text()[:700])
    assert not window.open_path(bad)
    box = window.files.dialog
    assert isinstance(box, QMessageBox) and "line " in box.text() and "column " in box.text()
    assert window.document.graph.nodes == {}
    box.button(QMessageBox.StandardButton.Ok).click()


def test_examples_open_as_untitled_copies(window):
    examples = window.files.examples()
    assert {p.name for p in examples} >= {"research-hybrid.chain.json", "research-sequential.chain.json"}
    window.files.open_example(EXAMPLES / "research-hybrid.chain.json")
    assert window.document.graph.name == "research-hybrid" and window.document.path is None


def test_dock_layout_is_restored_on_the_next_launch(window, qtbot, settings):
    window.palette_dock.hide()
    window.removeDockWidget(window.inspector_dock)
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, window.inspector_dock)
    window.inspector_dock.show()
    window.close()
    again = MainWindow(settings)
    qtbot.addWidget(again)
    again.show()
    assert again.palette_dock.isHidden()
    assert again.dockWidgetArea(again.inspector_dock) == Qt.DockWidgetArea.LeftDockWidgetArea
    again.close()


def test_select_node_from_outside_and_hear_selection_changes(window, qtbot):
    window.open_path(EXAMPLES / "research-hybrid.chain.json")
    heard = []
    window.nodeSelectionChanged.connect(heard.append)
    security = window.document.graph.resolve("security").id
    window.select_node(security)
    assert heard == [[security]] and window.selected_node_ids() == [security]
    assert window.inspector.node_form.node_id == security
    window.select_node(None)
    assert heard[-1] == [] and window.inspector.stack.currentWidget() is window.inspector.graph_form


def test_copy_paste_through_the_clipboard_between_windows(window, qtbot, settings):
    window.open_path(EXAMPLES / "research-hybrid.chain.json")
    graph = window.document.graph
    window.scene.select_nodes([graph.resolve(n).id for n in ("topic", "hardware", "security")])
    window.menu_actions["copy"].trigger()
    doc = json.loads(QApplication.clipboard().text())
    assert doc["format"] == "chainstudio/graph" and len(doc["nodes"]) == 3 and len(doc["edges"]) == 2
    window.menu_actions["paste"].trigger()
    assert len(graph.nodes) == 11
    pasted = {graph.nodes[n].name for n in window.selected_node_ids()}
    assert pasted == {"topic_2", "hardware_2", "security_2"}
    assert "{{ hardware_2 | truncate_chars(500) }}" in graph.resolve("security_2").params["prompt"]
    other = MainWindow(settings)
    qtbot.addWidget(other)
    other.menu_actions["paste"].trigger()
    assert sorted(n.name for n in other.document.graph.nodes.values()) == ["hardware", "security", "topic"]
    assert [i.name for i in other.document.graph.inputs] == ["topic"]
    other.document.undo()
    assert other.document.graph.nodes == {} and other.document.graph.inputs == []
    other.document.replace(other.document.graph)
    other.close()


def test_duplicate_and_cut(window):
    window.open_path(EXAMPLES / "research-hybrid.chain.json")
    graph = window.document.graph
    window.select_node(graph.resolve("aggregate").id)
    window.menu_actions["duplicate"].trigger()
    assert graph.node_by_name("aggregate_2") is not None
    window.menu_actions["cut"].trigger()
    assert graph.node_by_name("aggregate_2") is None and len(graph.nodes) == 8


def test_wheel_zooms_at_the_cursor_and_middle_button_pans(window):
    window.open_path(EXAMPLES / "research-hybrid.chain.json")
    view = window.view
    cursor = QPoint(300, 200)
    under = view.mapToScene(cursor)
    zoom = view.zoom()
    from PySide6.QtGui import QWheelEvent

    event = QWheelEvent(
        QPointF(cursor),
        QPointF(view.viewport().mapToGlobal(cursor)),
        QPoint(0, 0),
        QPoint(0, 240),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(view.viewport(), event)
    assert view.zoom() > zoom
    after = view.mapToScene(cursor)
    assert abs(after.x() - under.x()) < 2 / view.zoom() and abs(after.y() - under.y()) < 2 / view.zoom()
    centre = view.centre_scene_pos()
    drag(
        window, view.mapToScene(QPoint(500, 500)), view.mapToScene(QPoint(400, 450)), button=Qt.MouseButton.MiddleButton
    )
    moved = view.centre_scene_pos() - centre
    assert abs(moved.x() - 100 / view.zoom()) < 3 / view.zoom() and abs(moved.y() - 50 / view.zoom()) < 3 / view.zoom()
    assert window.document.undo_label == ""  # panning is not an edit


def test_space_drag_pans(window):
    window.open_path(EXAMPLES / "research-hybrid.chain.json")
    view = window.view
    view.setFocus()
    centre = view.centre_scene_pos()
    QTest.keyPress(view, Qt.Key.Key_Space)
    drag(window, view.mapToScene(QPoint(500, 500)), view.mapToScene(QPoint(560, 500)))
    QTest.keyRelease(view, Qt.Key.Key_Space)
    assert view.centre_scene_pos().x() < centre.x() and not window.selected_node_ids()
    assert not window.document.can_undo


def test_auto_layout_and_layer_bands(window):
    window.open_path(EXAMPLES / "research-hybrid.chain.json")
    scene = window.scene
    scene.flush()
    assert [b.label for b in scene.bands][:2] == ["Layer 1 · 1 step", "Layer 2 · 3 in parallel"]
    graph = window.document.graph
    for name in ("hardware", "commercial"):
        window.controller.move_nodes({graph.resolve(name).id: (900.0, 600.0)})
    window.menu_actions["auto_layout"].trigger()
    xs = {graph.resolve(n).position[0] for n in ("hardware", "software", "commercial")}
    assert xs == {300.0}
    assert_scene_matches_model(scene)
    window.menu_actions["show_layers"].trigger()
    assert scene.bands == [] and not window.menu_actions["show_layers"].isChecked()
    window.controller.undo()
    assert graph.resolve("commercial").position == (900.0, 600.0)


def test_research_sequential_draws_ordering_only_edges_dashed(window):
    window.open_path(EXAMPLES / "research-sequential.chain.json")
    window.scene.flush()
    graph = window.document.graph
    dashed = {
        (graph.nodes[i.source_id].name, graph.nodes[i.target_id].name)
        for i in window.scene.edges.values()
        if i.ordering_only
    }
    assert dashed == {
        ("hardware", "software"),
        ("software", "commercial"),
        ("commercial", "security"),
        ("security", "academic"),
    }


def test_export_from_the_window_and_the_cli_draw_the_same_canvas(window, tmp_path):
    window.open_path(EXAMPLES / "research-hybrid.chain.json")
    from_window = tmp_path / "window.png"
    assert window.files.export_to(from_window)
    hybrid = str(EXAMPLES / "research-hybrid.chain.json")
    result = subprocess.run(
        [sys.executable, "-m", "chainstudio", "export", hybrid, "--canvas", str(tmp_path / "cli.png")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    a, b = QImage(str(from_window)), QImage(str(tmp_path / "cli.png"))
    assert a.size() == b.size() and a.width() > 1000
    samples = [(x, y) for y in range(0, a.height(), 3) for x in range(0, a.width(), 3)]
    differing = sum(1 for x, y in samples if a.pixel(x, y) != b.pixel(x, y))
    assert differing / len(samples) < 0.001  # the same drawing (anti-aliasing may differ by a few pixels)
    background = a.pixel(5, 5)
    assert sum(1 for x, y in samples if a.pixel(x, y) != background) / len(samples) > 0.2  # not blank
    svg = subprocess.run(
        [sys.executable, "-m", "chainstudio", "export", hybrid, "--canvas", str(tmp_path / "c.svg")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert svg.returncode == 0, svg.stderr
    text = (tmp_path / "c.svg").read_text()
    assert text.startswith("<?xml") and "Layer 2 · 3 in parallel" in text and "hardware" in text


def test_export_cli_refuses_bad_targets(tmp_path):
    hybrid = str(EXAMPLES / "research-hybrid.chain.json")
    result = subprocess.run(
        [sys.executable, "-m", "chainstudio", "export", hybrid, "--canvas", str(tmp_path / "x.jpg")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 2 and ".png or .svg" in result.stderr


def test_a_big_graph_is_saved_on_a_worker_and_edits_made_meanwhile_stay_unsaved(
    window, qtbot, qasync_loop, tmp_path, monkeypatch
):
    """Saving the 10,000-step graph took 0.6 s of the window's thread: over ``SMALL_GRAPH_ITEMS`` File → Save
    writes a snapshot on a worker, marks the document saved as of that snapshot, and then goes on."""
    import threading

    from chainstudio.core.graph.model import Graph

    graph = Graph("big")
    ids = [graph.add("join", f"s{i}", template="x").id for i in range(700)]
    for a, b in zip(ids, ids[1:], strict=False):
        graph.connect(a, b)
    window.document.replace(graph)
    window.controller.add_node("join", (0.0, 0.0))
    writers, then = [], []
    save = fileformat.save
    monkeypatch.setattr(fileformat, "save", lambda g, p: writers.append(threading.get_ident()) or save(g, p))
    path = tmp_path / "big.chain.json"
    assert window.files.save_to(path, lambda: then.append(window.document.modified)) is False  # under way
    window.controller.add_node("join", (50.0, 0.0))  # an edit while it writes
    qtbot.waitUntil(lambda: bool(then), timeout=10_000)
    assert writers and writers[0] != threading.get_ident()
    assert then == [True]  # the edit made meanwhile is not in the file: still modified
    assert len(fileformat.load(path).nodes) == 701 and window.document.path == path
    window.controller.undo()  # back to the state that was written
    assert not window.document.modified
