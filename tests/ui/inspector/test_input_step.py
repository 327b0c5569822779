"""Issue 12, item 5: an Input step and its graph input are one concept with one name. Renaming the step (its
Name field) renames the graph input and every reference; renaming the input in the graph page renames the
step; completion and validation follow at once. The step's page edits the input's default and description."""

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from chainstudio.core.storage import fileformat
from tests.ui.canvas_helpers import card, card_point


def select(window, name: str) -> None:
    QTest.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=card_point(window, name))


def test_renaming_the_input_step_renames_the_graph_input_everywhere(default_window):
    window = default_window
    graph = window.document.graph
    before = fileformat.dumps(graph)
    select(window, "topic")
    form = window.inspector.node_form
    assert "input" not in form.editors  # no second place to name it
    assert form.input_default.text() == "State of quantum computing in 2026"
    form.name_edit.setFocus()
    form.name_edit.selectAll()
    QTest.keyClicks(form.name_edit, "code")
    QTest.keyClick(form.name_edit, Qt.Key.Key_Return)
    assert [i.name for i in graph.inputs] == ["code"]
    assert graph.node_by_name("code").params["input"] == "code"
    assert "{{ code }}" in graph.resolve("hardware").params["prompt"]
    assert not [p for p in window.document.problems if p.severity == "error"]
    assert "graph input: code" in card(window, "code").card_text.detail[1]
    select(window, "security")
    completions = window.inspector.node_form.editors["prompt"].completions()
    assert "inputs.code" in completions and "code" in completions and "inputs.topic" not in completions
    window.menu_actions["undo"].trigger()
    assert fileformat.dumps(graph) == before


def test_renaming_the_graph_input_renames_its_step(default_window):
    window = default_window
    graph = window.document.graph
    table = window.inspector.graph_form.inputs
    table.item(0, 0).setText("subject")  # the cell edited, as its editor commits it
    assert [i.name for i in graph.inputs] == ["subject"]
    step = graph.node_by_name("subject")
    assert step is not None and step.kind == "input"
    assert not [p for p in window.document.problems if p.severity == "error"]
    assert window.document.undo_label == "Rename input"


def test_a_rename_onto_a_taken_name_is_refused_with_the_reason(default_window):
    window = default_window
    select(window, "topic")
    form = window.inspector.node_form
    form.name_edit.setFocus()
    form.name_edit.selectAll()
    QTest.keyClicks(form.name_edit, "hardware")
    assert "already named 'hardware'" in form.name_error.text()
    QTest.keyClick(form.name_edit, Qt.Key.Key_Return)
    assert [i.name for i in window.document.graph.inputs] == ["topic"]


def test_an_input_step_declares_its_input_and_edits_its_default(default_window):
    window = default_window
    window.menu_actions["new"].trigger()
    graph = window.document.graph
    window.kind_palette.setFocus()
    window.kind_palette.setCurrentRow(0)
    QTest.keyClick(window.kind_palette, Qt.Key.Key_Return)
    (step,) = graph.nodes.values()
    assert [i.name for i in graph.inputs] == [step.name] == ["topic"]
    form = window.inspector.node_form
    assert "inputs.topic" in form.input_hint.text()
    form.input_default.setFocus()
    QTest.keyClicks(form.input_default, "tidal power")
    QTest.keyClick(form.input_default, Qt.Key.Key_Return)
    assert graph.inputs[0].default == "tidal power"
    window.inspector.graph_form.add_button.click()
    assert [i.name for i in graph.inputs] == ["topic", "topic_2"]
    assert graph.node_by_name("topic_2").kind == "input"


def test_removing_an_input_removes_its_step(default_window):
    window = default_window
    graph = window.document.graph
    form = window.inspector.graph_form
    form.inputs.setCurrentCell(0, 0)
    form.remove_button.click()
    assert graph.inputs == [] and graph.node_by_name("topic") is None
    window.controller.undo()
    assert [i.name for i in graph.inputs] == ["topic"] and graph.node_by_name("topic") is not None
