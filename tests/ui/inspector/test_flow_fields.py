"""The inspector on map and route steps: a field with choices is a list whose change is one undoable edit,
and a map's prompt knows item and index."""

from PySide6.QtWidgets import QComboBox

from tests.conftest import EXAMPLES


def test_a_maps_error_policy_is_a_list_and_its_change_undoes(window):
    window.open_path(EXAMPLES / "entity-map.chain.json")
    describe = window.document.graph.resolve("describe")
    window.select_node(describe.id)
    form = window.inspector.node_form
    combo = form.editors["on_item_error"]
    assert isinstance(combo, QComboBox)
    assert [combo.itemText(i) for i in range(combo.count())] == ["fail", "drop", "keep"]
    assert combo.currentText() == "keep"
    combo.setCurrentText("drop")
    assert describe.params["on_item_error"] == "drop"
    assert window.document.undo_label == "Edit on_item_error"
    window.menu_actions["undo"].trigger()
    assert describe.params["on_item_error"] == "keep" and combo.currentText() == "keep"
    assert {"item", "index", "article", "extract"} <= set(form.editors["prompt"].completions())
    assert form.problems.isHidden()


def test_a_routes_mode_is_a_list(window, qtbot):
    window.open_path(EXAMPLES / "intent-router.chain.json")
    triage = window.document.graph.resolve("triage")
    window.select_node(triage.id)
    combo = window.inspector.node_form.editors["mode"]
    assert isinstance(combo, QComboBox) and combo.currentText() == "classify"
    combo.setCurrentText("expression")
    assert triage.params["mode"] == "expression"
    problems = window.inspector.node_form.problems
    qtbot.waitUntil(lambda: "triage.expression: the expression is empty" in problems.text())
