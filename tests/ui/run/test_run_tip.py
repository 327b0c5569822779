"""Issue 12, "go beyond": the Run button names the next action. Its tooltip and status tip, read when the
pointer enters the button (the Enter event, on the default window's Run button), say what F5 would do now:
the problems in the way, else where the chain runs and which inputs it will ask for."""

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QEnterEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from tests.ui.canvas_helpers import card_point


def hover_run(window) -> str:
    """The pointer entering the toolbar's Run button (the event the platform sends; QTest.mouseMove only
    sends one when the window under the pointer changes, which depends on the tests before): what its
    status bar line says then."""
    button = window.runs.toolbar.widgetForAction(window.runs.run_action)
    at = QPointF(button.rect().center())
    QApplication.sendEvent(button, QEnterEvent(at, at, QPointF(button.mapToGlobal(button.rect().center()))))
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
