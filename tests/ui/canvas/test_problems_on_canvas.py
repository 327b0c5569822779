"""Issue 12, item 9: problems show where the user looks. A step with a problem carries a badge on its card (with
the problem in its tooltip), also in the overview; a delete that leaves references dangling warns over the
canvas and Undo restores it; F5 on a broken graph selects the step, shows the problem in the inspector and
over the canvas, not only in the status bar."""

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from chainstudio.core.storage import fileformat
from chainstudio.ui import theme
from tests.ui.canvas_helpers import card, card_point, view_point


def type_into_prompt(window, qtbot, name: str, text: str, replace: bool = False) -> None:
    QTest.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=card_point(window, name))
    editor = window.inspector.node_form.editors["prompt"]
    editor.setFocus()
    if replace:
        editor.selectAll()
        QTest.keyClick(editor, Qt.Key.Key_Delete)
    else:
        editor.moveCursor(editor.textCursor().MoveOperation.End)
    QTest.keyClicks(editor, text)
    node = window.document.graph.resolve(name)
    qtbot.waitUntil(lambda: node.params["prompt"] == editor.toPlainText())


def test_a_step_with_a_problem_carries_a_badge_with_the_problem_in_its_tooltip(default_window, qtbot):
    window = default_window
    security = card(window, "security")
    assert not security.badge_shown()
    type_into_prompt(window, qtbot, "security", " {{ ghost }}")
    qtbot.waitUntil(lambda: security.problem == "error")
    assert "refers to 'ghost', which is not a step in this graph" in security.toolTip()
    qtbot.wait(150)  # the overview draws the badge within a tenth of a second
    image = window.view.viewport().grab().toImage()
    corner = view_point(window, security.sceneBoundingRect().topRight())
    near = {image.pixelColor(corner.x() + dx, corner.y() + dy).name() for dx in (-2, 0, 2) for dy in (-2, 0, 2)}
    assert theme.REFUSED.name() in near  # drawn at 44 % too
    window.controller.undo()
    qtbot.waitUntil(lambda: security.problem is None)
    assert not security.badge_shown()


def test_deleting_a_step_others_use_warns_and_undo_restores(far_out, qtbot):
    window = far_out
    before = fileformat.dumps(window.document.graph)
    QTest.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=card_point(window, "hardware"))
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key.Key_Delete)
    notice = window.view.notice
    assert window.document.graph.node_by_name("hardware") is None  # deleted, not asked about
    assert notice.isVisible() and notice.property("level") == "warning"
    for reference in ("security.prompt uses {{ hardware }}", "academic.prompt uses {{ hardware }}"):
        assert reference in notice.text()
    assert notice.action.text() == "Undo"
    QTest.mouseClick(notice.action, Qt.MouseButton.LeftButton)
    assert fileformat.dumps(window.document.graph) == before and not notice.isVisible()


def test_deleting_a_step_nobody_uses_says_nothing_more(default_window):
    window = default_window
    QTest.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=card_point(window, "summary"))
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key.Key_Delete)
    assert window.document.graph.node_by_name("summary") is None and not window.view.notice.isVisible()


def test_f5_on_a_broken_graph_shows_the_problem_where_the_user_looks(default_window, qtbot):
    window = default_window
    type_into_prompt(window, qtbot, "academic", "", replace=True)  # the prompt is empty
    type_into_prompt(window, qtbot, "security", " {{ ghost }}")
    QTest.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=card_point(window, "commercial", dx=260))
    assert window.selected_node_ids() == []
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key.Key_F5)
    assert not window.runs.controller.running
    graph = window.document.graph
    notice = window.view.notice
    assert notice.isVisible() and notice.property("level") == "error"
    assert "Cannot run: 2 problems" in notice.text() and "(1 of 2)" in notice.text()
    first = window.selected_node_ids()
    assert len(first) == 1 and graph.nodes[first[0]].name in ("academic", "security")
    problems = window.inspector.node_form.problems
    assert problems.isVisible() and graph.nodes[first[0]].name in problems.text()
    assert problems.geometry().bottom() < window.inspector.scroller.viewport().height()  # above the fold
    QTest.mouseClick(notice.action, Qt.MouseButton.LeftButton)  # Next problem
    second = window.selected_node_ids()
    assert second != first and "(2 of 2)" in notice.text()
    assert graph.nodes[second[0]].name in window.inspector.node_form.problems.text()


def test_the_delete_warning_goes_when_ctrl_z_brings_the_step_back(far_out):
    window = far_out
    QTest.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=card_point(window, "hardware"))
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key.Key_Delete)
    notice = window.view.notice
    assert notice.isVisible()
    QTest.keyClick(window.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.document.graph.node_by_name("hardware") is not None
    assert not notice.isVisible()  # no Undo button left offering to undo what is already undone


def test_the_refused_run_notice_goes_once_no_error_is_left(default_window, qtbot):
    window = default_window
    type_into_prompt(window, qtbot, "security", " {{ ghost }}")
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key.Key_F5)
    notice = window.view.notice
    assert notice.isVisible() and notice.property("level") == "error"
    type_into_prompt(window, qtbot, "security", "Review {{ hardware }}", replace=True)
    qtbot.waitUntil(lambda: not notice.isVisible())


def test_deleting_an_edge_a_step_reads_through_warns_and_ctrl_z_restores(far_out):
    """topic -> hardware carries {{ topic }} into hardware's prompt: deleting it cuts hardware off."""
    window = far_out
    graph = window.document.graph
    before = fileformat.dumps(graph)
    edge = next(
        e
        for e in graph.edges.values()
        if (graph.nodes[e.source].name, graph.nodes[e.target].name) == ("topic", "hardware")
    )
    at = view_point(window, window.scene.edges[edge.id].path().pointAtPercent(0.5))
    QTest.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=at)
    assert window.scene.selected_edge_ids() == [edge.id]
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key.Key_Delete)
    notice = window.view.notice
    assert edge.id not in graph.edges and notice.isVisible()
    assert "the edge topic → hardware" in notice.text()
    assert "hardware.prompt uses {{ topic }}, no longer upstream" in notice.text()
    QTest.keyClick(window.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert fileformat.dumps(graph) == before and not notice.isVisible()
