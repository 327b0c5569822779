"""The inspector edits through commands (so undo works), validates names as you type, highlights and
completes template references, and shows the graph when nothing is selected."""

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDoubleSpinBox, QLineEdit

from chainstudio.core.storage import fileformat
from chainstudio.ui.inspector.template_editor import TemplateEditor, template_names
from tests.conftest import EXAMPLES


def open_hybrid(window):
    window.open_path(EXAMPLES / "research-hybrid.chain.json")
    return window.document.graph


def test_nothing_selected_shows_the_graph(window):
    graph = open_hybrid(window)
    form = window.inspector.graph_form
    assert window.inspector.stack.currentWidget() is form
    assert form.name_edit.text() == "research-hybrid"
    assert form.inputs.rowCount() == 1 and form.inputs.item(0, 0).text() == "topic"
    assert form.inputs.item(0, 1).text() == graph.inputs[0].default


def test_editing_temperature_then_undo(window, qtbot):
    graph = open_hybrid(window)
    security = graph.resolve("security")
    window.select_node(security.id)
    form = window.inspector.node_form
    spin = form.editors["temperature"]
    assert isinstance(spin, QDoubleSpinBox) and spin.value() == 0.3
    spin.setFocus()
    spin.selectAll()
    QTest.keyClicks(spin, "1.25")
    QTest.keyClick(spin, Qt.Key.Key_Return)
    assert security.params["temperature"] == 1.25
    assert window.document.undo_label == "Edit temperature"
    window.menu_actions["undo"].trigger()
    assert security.params["temperature"] == 0.3
    assert spin.value() == 0.3  # the form follows the document
    assert not window.document.can_undo


def test_typing_a_prompt_is_one_undo_step_and_shows_problems_live(window, qtbot):
    graph = open_hybrid(window)
    security = graph.resolve("security")
    original = security.params["prompt"]
    window.select_node(security.id)
    form = window.inspector.node_form
    editor = form.editors["prompt"]
    assert isinstance(editor, TemplateEditor)
    editor.setFocus()
    editor.moveCursor(editor.textCursor().MoveOperation.End)
    QTest.keyClicks(editor, " {{ academic }} {{ ghost }}")
    qtbot.waitUntil(lambda: security.params["prompt"].endswith("{{ ghost }}"))
    qtbot.waitUntil(lambda: "ghost" in form.problems.text())
    assert "'academic', which is not upstream of 'security'" in form.problems.text()
    window.controller.undo()
    assert security.params["prompt"] == original
    assert editor.toPlainText() == original


def test_name_is_validated_as_you_type_and_committed_when_valid(window):
    graph = open_hybrid(window)
    security = graph.resolve("security")
    window.select_node(security.id)
    form = window.inspector.node_form
    name = form.name_edit
    assert isinstance(name, QLineEdit)
    name.setFocus()
    name.selectAll()
    QTest.keyClicks(name, "hardware")
    assert "already named 'hardware'" in form.name_error.text()
    QTest.keyClick(name, Qt.Key.Key_Return)
    assert security.name == "security"
    name.selectAll()
    QTest.keyClicks(name, "2fast")
    assert "not an identifier" in form.name_error.text()
    name.selectAll()
    QTest.keyClicks(name, "post_quantum")
    assert form.name_error.text() == ""
    QTest.keyClick(name, Qt.Key.Key_Return)
    assert security.name == "post_quantum"
    assert window.scene.nodes[security.id].name == "post_quantum"
    window.controller.undo()
    assert security.name == "security" and name.text() == "security"


def test_template_editor_completes_upstream_steps_and_inputs(window):
    graph = open_hybrid(window)
    window.select_node(graph.resolve("academic").id)
    editor = window.inspector.node_form.editors["prompt"]
    assert sorted(editor.completions()) == sorted(
        ["topic", "hardware", "software", "commercial", "security", "inputs.topic"]
    )
    editor.setFocus()
    editor.setPlainText("")
    QTest.keyClicks(editor, "Use {{ sec")
    assert editor.completer.popup().isVisible()
    assert editor.completer.currentCompletion() == "security"
    editor.insert_completion("security")
    assert editor.toPlainText() == "Use {{ security"
    window.select_node(graph.resolve("hardware").id)
    assert sorted(window.inspector.node_form.editors["prompt"].completions()) == ["inputs.topic", "topic"]


def test_highlighter_classifies_references(window):
    graph = open_hybrid(window)
    window.select_node(graph.resolve("security").id)
    editor = window.inspector.node_form.editors["prompt"]
    text = "{{ hardware | truncate_chars(5) }} {{ inputs.topic }} {{ inputs.nope }} {{ academic }} {% if topic %}"
    assert [name for _s, _l, name in template_names(text)] == [
        "hardware",
        "inputs.topic",
        "inputs.nope",
        "academic",
        "topic",
    ]
    assert [editor._classify(n) for n in ("hardware", "inputs.topic", "inputs.nope", "academic", "topic")] == [
        "step",
        "input",
        "bad",
        "bad",
        "step",
    ]


def test_graph_inputs_edit_and_undo(window):
    graph = open_hybrid(window)
    before = fileformat.dumps(graph)
    form = window.inspector.graph_form
    form.inputs.item(0, 1).setText("Fusion power in 2030")
    assert graph.inputs[0].default == "Fusion power in 2030"
    form.name_edit.setText("fusion")
    form.name_edit.editingFinished.emit()
    assert graph.name == "fusion"
    window.controller.undo()
    window.controller.undo()
    assert fileformat.dumps(graph) == before
    assert form.inputs.item(0, 1).text() == "State of quantum computing in 2026"


def test_a_long_default_shows_its_start_and_is_kept_whole(window):
    """A 2,000,000-character default was laid out whole in its cell (0.7 s of the window's thread each time);
    over 32,767 characters the cell's line editor would have cut it on closing."""
    from chainstudio.core.graph.model import GraphInput

    graph = open_hybrid(window)
    long = "word " * 20_000  # 100,000 characters
    window.controller.set_graph_info(inputs=[GraphInput("topic", long, "what to research")])
    form = window.inspector.graph_form
    cell = form.inputs.item(0, 1)
    assert cell.text() == long[:1000] + "…" and not cell.flags() & Qt.ItemFlag.ItemIsEditable
    form.inputs.item(0, 2).setText("the subject")  # another cell edited: the inputs are committed from the table
    assert graph.inputs[0].default == long and graph.inputs[0].description == "the subject"
