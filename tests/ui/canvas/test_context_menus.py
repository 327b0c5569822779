"""Issue 12, item 11: right-click menus on a card, an edge and the canvas, opened with a real right-click on the
default window at the zoom it opens with, their entries chosen with the keyboard as a user would."""

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from chainstudio.core.storage import fileformat
from tests.ui.canvas_helpers import card_point, right_click, view_point


def menu_texts(menu) -> list[str]:
    return [a.text().replace("&", "") for a in menu.actions() if not a.isSeparator()]


def open_menu(window, qtbot, at):
    right_click(window, at)
    menu = window.gestures.menu
    assert menu is not None
    qtbot.waitUntil(menu.isVisible)
    return menu


def choose(menu, *keys) -> None:
    """Type the entries' accelerators: the menu, then each submenu as it opens."""
    for key in keys:
        QTest.keyClick(QApplication.activePopupWidget() or menu, key)
        QTest.qWait(10)


def test_card_menu_copies_the_name_reference(far_out, qtbot):
    window = far_out
    menu = open_menu(window, qtbot, card_point(window, "security"))
    assert window.scene.selected_node_ids() == [window.document.graph.resolve("security").id]
    texts = menu_texts(menu)
    for entry in ("Add step after", "Copy reference {{ security }}", "Duplicate", "Delete"):
        assert entry in texts
    assert not any("Disable" in t for t in texts)  # no such thing in the model (yet)
    assert "Run From Here" in texts  # issue 16's entries (ReuseUi.contribute, a card-menu hook)
    choose(menu, Qt.Key.Key_R)
    assert QGuiApplication.clipboard().text() == "{{ security }}"


def test_card_menu_duplicates_and_adds_after(default_window, qtbot):
    window = default_window
    graph = window.document.graph
    choose(open_menu(window, qtbot, card_point(window, "security")), Qt.Key.Key_D)
    assert graph.node_by_name("security_2") is not None
    choose(open_menu(window, qtbot, card_point(window, "aggregate")), Qt.Key.Key_A, Qt.Key.Key_J)
    added = graph.node_by_name("combined")  # after aggregate: a Join reading it
    assert added is not None and added.params["template"] == "{{ aggregate }}"
    assert any(e.source == graph.resolve("aggregate").id and e.target == added.id for e in graph.edges.values())


def test_card_menu_delete_warns_and_undo_restores(far_out, qtbot):
    window = far_out
    before = fileformat.dumps(window.document.graph)
    choose(open_menu(window, qtbot, card_point(window, "hardware")), Qt.Key.Key_L)  # De&lete
    assert window.document.graph.node_by_name("hardware") is None
    assert "security.prompt uses {{ hardware }}" in window.view.notice.text()
    window.controller.undo()
    assert fileformat.dumps(window.document.graph) == before


def edge_point(window, source: str):
    graph = window.document.graph
    edge = next(e for e in graph.edges.values() if graph.nodes[e.source].name == source)
    return edge.id, view_point(window, window.scene.edges[edge.id].path().pointAtPercent(0.5))


def test_edge_menu_inserts_a_step_and_deletes_the_edge(far_out, qtbot):
    window = far_out
    graph = window.document.graph
    edge_id, at = edge_point(window, "aggregate")
    menu = open_menu(window, qtbot, at)
    assert menu_texts(menu) == ["Insert step", "Delete edge"]
    assert window.scene.selectedItems() == [window.scene.edges[edge_id]]
    choose(menu, Qt.Key.Key_I, Qt.Key.Key_L)  # Insert step > LLM call
    step = graph.node_by_name("step")
    assert step is not None and edge_id not in graph.edges
    assert {(graph.nodes[e.source].name, graph.nodes[e.target].name) for e in graph.edges.values()} >= {
        ("aggregate", "step"),
        ("step", "summary"),
    }
    window.controller.undo()
    edge_id, at = edge_point(window, "aggregate")
    choose(open_menu(window, qtbot, at), Qt.Key.Key_D)
    assert edge_id not in graph.edges and len(graph.nodes) == 8


def test_canvas_menu_adds_a_step_where_clicked_and_lays_out(default_window, qtbot):
    window = default_window
    at = card_point(window, "commercial", dx=260)
    menu = open_menu(window, qtbot, at)
    texts = menu_texts(menu)
    for entry in ("Add step", "Search steps…", "Paste", "Select All", "Auto-layout", "Fit to View"):
        assert entry in texts
    choose(menu, Qt.Key.Key_S, Qt.Key.Key_O)  # Add step > Output
    result = window.scene.nodes[window.document.graph.node_by_name("result").id]
    centre = view_point(window, result.sceneBoundingRect().center())
    assert abs(centre.x() - at.x()) <= 2 and abs(centre.y() - at.y()) <= 2
    menu = open_menu(window, qtbot, card_point(window, "commercial", dx=260, dy=-40))
    choose(menu, Qt.Key.Key_Up, Qt.Key.Key_Up, Qt.Key.Key_Return)  # the last but one: Auto-layout
    assert window.document.undo_label == "Auto-layout"
