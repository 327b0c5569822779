"""Issue 12, "go beyond": the Run button names the next action. Its tooltip and status tip, read when the
pointer enters the button (real mouse events on the default window), say what F5 would do now: the problems
in the way, else where the chain runs and which inputs it will ask for."""

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from tests.ui.canvas_helpers import card_point


def hover_run(window) -> str:
    """Move the pointer onto the toolbar's Run button and return what its status bar line says."""
    button = window.runs.toolbar.widgetForAction(window.runs.run_action)
    QTest.mouseMove(window, QPoint(window.width() // 2, window.height() // 2))  # from elsewhere
    QTest.mouseMove(button, button.rect().center())
    assert window.runs.run_action.toolTip() == button.toolTip()
    return window.statusBar().currentMessage()


def test_the_run_button_says_where_the_chain_runs(default_window):
    text = hover_run(default_window)
    assert text == "Run the chain on the simulated provider (no model is called) (F5)"


def test_the_run_button_names_the_inputs_it_will_ask_for(default_window):
    window = default_window
    window.inspector.graph_form.inputs.item(0, 1).setText("")  # the default cell emptied, as its editor commits it
    assert window.document.graph.inputs[0].default is None
    assert hover_run(window).endswith("(F5); it asks for topic first")


def test_the_run_button_names_the_problem_in_the_way(default_window, qtbot):
    window = default_window
    QTest.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=card_point(window, "security"))
    editor = window.inspector.node_form.editors["prompt"]
    editor.setFocus()
    editor.moveCursor(editor.textCursor().MoveOperation.End)
    QTest.keyClicks(editor, " {{ ghost }}")
    qtbot.waitUntil(lambda: "ghost" in window.document.graph.resolve("security").params["prompt"])
    text = hover_run(window)
    assert text.startswith("Cannot run yet: 1 problem, first security")
    assert "'ghost'" in text and text.endswith("F5 shows them on the canvas")
