"""A template too large to show at once (issue 14: over 1,000,000 characters) opens read-only: its start under
a one-line notice; the whole text is kept and never replaced by the preview; Edit anyway edits all of it, with
undo. A prompt that is one very long line opens editable (held as display blocks), and so does a long prompt
of ordinary lines."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtTest import QTest

from chainstudio.core.graph.model import Graph, GraphInput
from chainstudio.ui.inspector.display_blocks import LIMIT, text_of
from chainstudio.ui.inspector.large_template import LARGE, PREVIEW, too_large

ONE_LINE = "".join("{{ " + " ~ ".join(["topic"] * 40) + " }}" for _ in range(300))  # ~100,000 characters
HUGE = "{{ topic }} and some words " * (LARGE // 27 + 100)  # one line over LARGE
MANY_LINES = "\n".join(f"Line {i}: {{{{ topic }}}} and some words to read." for i in range(3000))


def open_graph(window, prompts: dict[str, str]) -> Graph:
    graph = Graph("big", inputs=[GraphInput("topic", "a topic")])
    source = graph.add("input", "topic", input="topic")
    for name, prompt in prompts.items():
        step = graph.add("llm", name, prompt=prompt)
        graph.connect(source.id, step.id)
    window.document.replace(graph)
    return graph


def test_what_is_too_large():
    assert not too_large("x" * LARGE) and not too_large(ONE_LINE)
    assert too_large("x" * (LARGE + 1))
    assert too_large("\n".join(["x" * 100] * (LARGE // 100)))


def test_a_one_line_template_opens_editable_as_small_blocks(window, qtbot):
    graph = open_graph(window, {"big": ONE_LINE, "small": "{{ topic }}"})
    big = graph.resolve("big")
    window.select_node(big.id)
    editor = window.inspector.node_form.editors["prompt"]
    assert not editor.isReadOnly() and not editor.showing_preview() and editor.notice is None
    assert editor.template() == ONE_LINE and editor.document().blockCount() > len(ONE_LINE) // LIMIT
    assert editor.highlighter.document() is editor.document()  # small blocks: highlighted as usual
    editor.setFocus()
    editor.moveCursor(QTextCursor.MoveOperation.End)
    QTest.keyClicks(editor, " ok")
    qtbot.waitUntil(lambda: big.params["prompt"] == ONE_LINE + " ok")  # exactly the text: no newline added
    window.controller.undo()
    assert big.params["prompt"] == ONE_LINE and editor.template() == ONE_LINE


def test_a_huge_template_opens_read_only_and_loses_nothing(window):
    graph = open_graph(window, {"big": HUGE, "small": "{{ topic }}"})
    big = graph.resolve("big")
    window.select_node(big.id)
    form = window.inspector.node_form
    editor = form.editors["prompt"]
    assert editor.isReadOnly() and editor.showing_preview() and editor.notice.isVisible()
    assert text_of(editor.document()) == HUGE[:PREVIEW] and editor.template() == HUGE
    assert f"{len(HUGE):,} characters" in editor.notice.toolTip()
    editor.setFocus()
    editor.moveCursor(QTextCursor.MoveOperation.End)
    QTest.keyClicks(editor, "xy")
    form.flush()
    window.select_node(graph.resolve("small").id)  # leaving the step commits what was typed: nothing
    assert big.params["prompt"] == HUGE
    assert not window.document.can_undo
    assert not editor.isReadOnly() and not editor.notice.isVisible()
    assert editor.toPlainText() == "{{ topic }}" and editor.highlighter.document() is editor.document()


def test_edit_anyway_edits_the_whole_template_with_undo(window, qtbot):
    graph = open_graph(window, {"big": HUGE, "small": "{{ topic }}"})
    big = graph.resolve("big")
    window.select_node(big.id)
    editor = window.inspector.node_form.editors["prompt"]
    button = editor.notice.button
    qtbot.waitUntil(lambda: button.isVisible() and button.width() > 10)  # laid out, as a user sees it
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)
    assert not editor.isReadOnly() and not editor.notice.isVisible()
    assert editor.template() == HUGE and not window.document.can_undo
    editor.moveCursor(QTextCursor.MoveOperation.End)
    QTest.keyClicks(editor, " ok")
    qtbot.waitUntil(lambda: big.params["prompt"] == HUGE + " ok")
    window.controller.undo()
    assert big.params["prompt"] == HUGE
    assert editor.template() == HUGE and not editor.isReadOnly()  # still editing this step
    window.select_node(graph.resolve("small").id)
    window.select_node(big.id)
    assert editor.isReadOnly() and text_of(editor.document()) == HUGE[:PREVIEW]  # read-only again


def test_a_long_prompt_of_ordinary_lines_stays_editable(window, qtbot):
    graph = open_graph(window, {"long": MANY_LINES})
    step = graph.resolve("long")
    window.select_node(step.id)
    editor = window.inspector.node_form.editors["prompt"]
    assert not editor.isReadOnly() and editor.notice is None  # never made for an ordinary prompt
    assert editor.toPlainText() == MANY_LINES and editor.highlighter.document() is editor.document()
    editor.setFocus()
    editor.moveCursor(QTextCursor.MoveOperation.End)
    QTest.keyClicks(editor, "!")
    qtbot.waitUntil(lambda: step.params["prompt"] == MANY_LINES + "!")
