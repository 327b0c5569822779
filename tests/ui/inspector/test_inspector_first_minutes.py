"""Issue 12, item 8: the inspector at the default window size, driven with real events. The wheel scrolls the
inspector instead of changing a spin box it passes over; each step starts at the top of its page; the prompt
is visible without scrolling; Tab stays in the inspector (next field, wrapping around; never the toolbar);
Return inserts a single completion; the description is recorded as it is typed (modified mark, undo,
autosave), without leaving the field."""

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from tests.ui.canvas_helpers import card_point


def select(window, name: str) -> None:
    QTest.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=card_point(window, name))
    assert window.inspector.node_form.name_edit.text() == name


def wheel_over(widget, steps: int = -3) -> None:
    """A mouse wheel turned over ``widget`` (negative: towards the user, scrolling down)."""
    at = widget.rect().center()
    event = QWheelEvent(
        QPointF(at),
        QPointF(widget.mapToGlobal(at)),
        QPoint(0, 0),
        QPoint(0, 120 * steps),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


def test_the_wheel_scrolls_past_a_spin_box_without_changing_it(default_window, qtbot):
    window = default_window
    select(window, "security")
    retries = window.inspector.node_form.editors["retries"]
    assert retries.value() == 3 and not retries.hasFocus()
    bar = window.inspector.scroller.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0)  # the page is taller than the inspector
    top = bar.value()
    wheel_over(retries, steps=-3)
    assert retries.value() == 3 and window.document.graph.resolve("security").params["retries"] == 3
    assert bar.value() > top  # the inspector scrolled instead
    retries.setFocus()
    wheel_over(retries, steps=1)  # with the focus, the wheel is for the spin box
    assert retries.value() == 4


def test_another_step_starts_at_the_top_of_the_page(default_window, qtbot):
    window = default_window
    select(window, "security")
    bar = window.inspector.scroller.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0)
    wheel_over(window.inspector.node_form.editors["timeout"], steps=-10)  # scrolled down to the system prompt
    assert bar.value() > 0
    select(window, "academic")
    assert bar.value() == 0


def test_the_prompt_is_visible_without_scrolling_at_the_default_size(default_window):
    window = default_window
    assert window.size().width() == 1400 and window.size().height() == 900  # the default window
    select(window, "security")
    prompt = window.inspector.node_form.editors["prompt"]
    viewport = window.inspector.scroller.viewport()
    top = prompt.mapTo(viewport, QPoint(0, 0)).y()
    assert top >= 0 and top + 120 <= viewport.height()  # its first lines and more are on screen


def test_tab_in_the_prompt_moves_to_the_next_field_and_wraps_within_the_inspector(default_window):
    window = default_window
    select(window, "security")
    form = window.inspector.node_form
    prompt = form.editors["prompt"]
    prompt.setFocus()
    QTest.keyClick(prompt, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is form.editors["model"]
    assert "\t" not in prompt.toPlainText()
    visited = []
    for _ in range(len(form.tab_order())):
        QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        visited.append(QApplication.focusWidget())
        assert form.isAncestorOf(QApplication.focusWidget())  # never the toolbar's Provider box
    assert visited[-1] is form.editors["model"]  # round the form and back
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Backtab)
    assert QApplication.focusWidget() is prompt


def test_return_inserts_a_single_completion(default_window, qtbot):
    window = default_window
    select(window, "security")
    prompt = window.inspector.node_form.editors["prompt"]
    prompt.setFocus()
    prompt.selectAll()
    QTest.keyClick(prompt, Qt.Key.Key_Delete)
    QTest.keyClicks(prompt, "Use {{ hard")
    popup = prompt.completer.popup()
    qtbot.waitUntil(popup.isVisible)
    assert prompt.completer.completionCount() == 1
    QTest.keyClick(popup, Qt.Key.Key_Return)
    assert prompt.toPlainText() == "Use {{ hardware"
    QTest.keyClicks(prompt, " }} {{ inputs.to")
    qtbot.waitUntil(popup.isVisible)
    QTest.keyClick(popup, Qt.Key.Key_Tab)  # Tab accepts it too, without leaving the field
    assert prompt.toPlainText() == "Use {{ hardware }} {{ inputs.topic" and prompt.hasFocus()


def test_description_edits_are_recorded_as_they_are_typed(default_window, qtbot):
    window = default_window
    assert window.inspector.stack.currentWidget() is window.inspector.graph_form
    description = window.inspector.graph_form.description_edit
    description.setFocus()
    description.moveCursor(description.textCursor().MoveOperation.End)
    QTest.keyClicks(description, " Updated.")
    qtbot.waitUntil(window.isWindowModified)  # while the field still has the focus
    assert description.hasFocus()
    assert window.document.graph.description.endswith(" Updated.")
    assert window.document.undo_label == "Edit graph"
    window.autosave.autosave()
    assert window.autosave.autosaves == 1
    QTest.keyClicks(description, " More.")
    qtbot.waitUntil(lambda: window.document.graph.description.endswith(" More."))
    window.menu_actions["undo"].trigger()  # one undo step for the whole session
    assert not window.document.graph.description.endswith("Updated.") and not window.isWindowModified()


def test_run_and_save_pressed_while_typing_take_what_was_just_typed(default_window, qtbot, tmp_path):
    """Typing in a prompt and pressing F5 (or Ctrl+S) at once used to run (or save) the graph without the
    typing: the prompt is committed 400 ms after the last key. The keys go to the prompt, as a user's do."""
    window = default_window
    select(window, "software")
    prompt = window.inspector.node_form.editors["prompt"]
    prompt.setFocus()
    prompt.moveCursor(prompt.textCursor().MoveOperation.End)
    QTest.keyClicks(prompt, " Name one open problem.")
    QTest.keyClick(prompt, Qt.Key.Key_F5)
    assert window.runs.controller.running
    ran = window.runs.controller.run.graph
    assert ran.resolve("software").params["prompt"].endswith(" Name one open problem.")
    window.runs.controller.stop()
    qtbot.waitUntil(lambda: not window.runs.controller.running, timeout=30000)
    path = tmp_path / "typed.chain.json"
    assert window.files.save_to(path)  # a file of its own, so that Ctrl+S saves without asking for a name
    QTest.keyClicks(prompt, " Then stop.")
    QTest.keyClick(prompt, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert path.exists() and "Then stop." in path.read_text(encoding="utf-8")


def test_compare_pressed_while_typing_compares_what_was_just_typed(default_window, qtbot):
    window = default_window
    select(window, "software")
    prompt = window.inspector.node_form.editors["prompt"]
    prompt.setFocus()
    prompt.moveCursor(prompt.textCursor().MoveOperation.End)
    QTest.keyClicks(prompt, " Name one open problem.")
    QTest.keyClick(prompt, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    assert window.document.graph.resolve("software").params["prompt"].endswith(" Name one open problem.")
    runner = window.compare.view.runner
    qtbot.waitUntil(lambda: not runner.running, timeout=60000)
