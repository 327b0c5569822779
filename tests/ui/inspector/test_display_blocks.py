"""A very long line in the template editor is held as display blocks (issue 14): what the editor reports,
copies and undoes is exactly the user's text, whatever is typed, deleted, pasted or moved across a cut;
every block stays small; a template of ordinary lines is held exactly as its lines."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from chainstudio.ui.inspector.display_blocks import LIMIT, PIECE, continues, cut_points
from chainstudio.ui.inspector.template_editor import TemplateEditor

TAG = "{{ " + " ~ ".join(["topic"] * 40) + " }}"
LINE = "Start " + TAG * 60 + " end"  # ~19,000 characters in one line
SOURCE = "first line\n" + LINE + "\nlast line"
Ctrl = Qt.KeyboardModifier.ControlModifier


def blocks(editor: TemplateEditor):
    block = editor.document().begin()
    while block.isValid():
        yield block
        block = block.next()


def cuts(editor: TemplateEditor) -> list[int]:
    """The offsets in the user's text where a block continues the line before it."""
    found, offset = [], 0
    for block in blocks(editor):
        if continues(block):
            found.append(offset)
        else:
            offset += 1 if block.position() else 0  # a real newline
        offset += block.length() - 1
    return found


@pytest.fixture
def editor(qtbot):
    editor = TemplateEditor()
    qtbot.addWidget(editor)
    editor.resize(400, 500)
    editor.show()
    editor.set_names([], ["topic"])
    editor.set_template(SOURCE)
    editor.setFocus()
    return editor


def put_cursor(editor: TemplateEditor, block, at_end: bool = False) -> None:
    cursor = QTextCursor(block)
    if at_end:
        cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock)
    editor.setTextCursor(cursor)


def a_cut(editor: TemplateEditor, which: int = 2):
    """A block that continues a line (the ``which``-th such block) and the user's offset where it starts."""
    found = [block for block in blocks(editor) if continues(block)]
    return found[which], cuts(editor)[which]


def assert_small(editor: TemplateEditor) -> None:
    assert all(block.length() - 1 <= LIMIT for block in blocks(editor))


def step_until(editor: TemplateEditor, do, target: str) -> None:
    """Call ``do`` (an undo or a redo) until the text is ``target``: each call changes the text (a cut alone
    is stepped over) and leaves every block small."""
    while editor.template() != target:
        before = editor.template()
        do()
        assert editor.template() != before
        assert_small(editor)


def test_cut_points_make_small_pieces_after_a_tag_when_they_can():
    assert cut_points("x" * LIMIT) == []
    points = cut_points(LINE)
    pieces = [LINE[a:b] for a, b in zip([0, *points], [*points, len(LINE)], strict=True)]
    assert "".join(pieces) == LINE and all(0 < len(p) <= PIECE for p in pieces)
    assert all(p.endswith("}}") for p in pieces[:-1])  # after a tag's end: no tag is cut in two
    hard = cut_points("x" * (3 * PIECE))  # nowhere better: at PIECE
    assert hard == [PIECE, 2 * PIECE]


def test_a_long_line_is_held_as_small_blocks(editor):
    assert editor.template() == SOURCE and not editor.isReadOnly()
    assert editor.document().blockCount() > 3 and len(cuts(editor)) == editor.document().blockCount() - 3
    assert_small(editor)
    texts = [block.text() for block in blocks(editor)]
    assert texts[0] == "first line" and texts[-1] == "last line" and "".join(texts[1:-1]) == LINE
    editor.viewport().grab()  # painted with its marks after the cut blocks (an exception fails the test)


def test_typing_and_deleting_at_and_across_a_cut(editor):
    expected = SOURCE
    block, offset = a_cut(editor)
    put_cursor(editor, block)  # at the start of a continuing block
    QTest.keyClicks(editor, "AB")
    expected = expected[:offset] + "AB" + expected[offset:]
    assert editor.template() == expected
    block, offset = a_cut(editor, 3)
    put_cursor(editor, block)
    QTest.keyClick(editor, Qt.Key.Key_Backspace)  # deletes the character before the cut, not the cut
    expected = expected[: offset - 1] + expected[offset:]
    assert editor.template() == expected
    block, offset = a_cut(editor, 4)
    put_cursor(editor, block.previous(), at_end=True)  # at the end of the block before a cut
    QTest.keyClick(editor, Qt.Key.Key_Delete)  # deletes the character after the cut
    expected = expected[:offset] + expected[offset + 1 :]
    assert editor.template() == expected
    block, offset = a_cut(editor, 5)
    put_cursor(editor, block)
    QTest.keyClick(editor, Qt.Key.Key_Left)  # one key moves one character, across the cut
    QTest.keyClicks(editor, "L")
    expected = expected[: offset - 1] + "L" + expected[offset - 1 :]
    assert editor.template() == expected
    block, offset = a_cut(editor, 6)
    put_cursor(editor, block.previous(), at_end=True)
    QTest.keyClick(editor, Qt.Key.Key_Right)
    QTest.keyClicks(editor, "R")
    expected = expected[: offset + 1] + "R" + expected[offset + 1 :]
    assert editor.template() == expected
    block, offset = a_cut(editor, 7)
    put_cursor(editor, block)
    cursor = editor.textCursor()  # a selection across the cut, then typed over
    cursor.setPosition(block.position() - 2)  # (the cut is the character before the block)
    cursor.setPosition(block.position() + 3, QTextCursor.MoveMode.KeepAnchor)
    editor.setTextCursor(cursor)
    QTest.keyClicks(editor, "S")
    expected = expected[: offset - 1] + "S" + expected[offset + 3 :]
    assert editor.template() == expected
    assert_small(editor)


def test_shift_arrows_select_across_a_cut_as_inside_a_line(editor):
    block, offset = a_cut(editor)
    put_cursor(editor, block)
    for _ in range(2):
        QTest.keyClick(editor, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    editor.copy()
    assert QApplication.clipboard().text() == SOURCE[offset - 2 : offset]


def test_enter_makes_a_real_newline_at_a_cut_and_inside_a_block(editor):
    block, offset = a_cut(editor)
    put_cursor(editor, block)
    QTest.keyClick(editor, Qt.Key.Key_Return)
    expected = SOURCE[:offset] + "\n" + SOURCE[offset:]
    assert editor.template() == expected
    assert not continues(editor.textCursor().block())  # the new block starts a line
    block, offset = a_cut(editor, 4)
    cursor = QTextCursor(block)
    cursor.movePosition(QTextCursor.MoveOperation.Right, n=7)
    editor.setTextCursor(cursor)
    QTest.keyClick(editor, Qt.Key.Key_Return)
    expected = expected[: offset + 7] + "\n" + expected[offset + 7 :]
    assert editor.template() == expected
    assert continues(editor.textCursor().block().previous()) and not continues(editor.textCursor().block())


def test_paste_of_text_with_newlines_and_a_long_line(editor):
    block, offset = a_cut(editor)
    put_cursor(editor, block)
    pasted = "one\ntwo\r\n" + "p" * (3 * LIMIT) + "\nthree"
    QApplication.clipboard().setText(pasted)
    editor.paste()
    normalized = pasted.replace("\r\n", "\n")
    expected = SOURCE[:offset] + normalized + SOURCE[offset:]
    assert editor.template() == expected
    assert_small(editor)
    assert editor.template().count("\n") == SOURCE.count("\n") + 3
    QTest.keyClicks(editor, "!")  # the cursor is right after what was pasted
    assert editor.template() == SOURCE[:offset] + normalized + "!" + SOURCE[offset:]


def test_a_long_line_pasted_into_an_ordinary_template_is_cut(qtbot):
    editor = TemplateEditor()
    qtbot.addWidget(editor)
    editor.set_template("a\nb")
    editor.moveCursor(QTextCursor.MoveOperation.End)
    QApplication.clipboard().setText("q" * (5 * LIMIT))
    editor.paste()
    assert editor.template() == "a\nb" + "q" * (5 * LIMIT)
    assert_small(editor)


def test_undo_and_redo_give_back_the_text_as_it_was(editor):
    block, offset = a_cut(editor)
    put_cursor(editor, block)
    QTest.keyClicks(editor, "typed")
    typed = SOURCE[:offset] + "typed" + SOURCE[offset:]
    QTest.keyClick(editor, Qt.Key.Key_Return)
    entered = typed[: offset + 5] + "\n" + typed[offset + 5 :]
    assert editor.template() == entered
    QTest.keyClick(editor, Qt.Key.Key_Z, Ctrl)
    assert editor.template() == typed
    QTest.keyClick(editor, Qt.Key.Key_Z, Ctrl)
    assert editor.template() == SOURCE
    QTest.keyClick(editor, Qt.Key.Key_Z, Ctrl | Qt.KeyboardModifier.ShiftModifier)
    assert editor.template() == typed
    editor.redo()
    assert editor.template() == entered
    editor.undo()
    editor.undo()
    assert editor.template() == SOURCE and editor.document().blockCount() > 3


def test_a_block_typed_past_the_bound_is_cut_again_and_undo_steps_over_the_cut(editor):
    block, offset = a_cut(editor)
    put_cursor(editor, block)
    grown = "g" * (LIMIT + 10)  # typed into one block: it must be cut on the way
    QTest.keyClicks(editor, grown)
    assert_small(editor)
    QTest.keyClicks(editor, "h")
    assert editor.template() == SOURCE[:offset] + grown + "h" + SOURCE[offset:]
    step_until(editor, editor.undo, SOURCE)
    step_until(editor, editor.redo, SOURCE[:offset] + grown + "h" + SOURCE[offset:])  # and the cuts that followed


def test_the_context_menus_undo_and_redo_step_over_the_cuts(editor):
    block, offset = a_cut(editor)
    put_cursor(editor, block)
    QTest.keyClicks(editor, "x" * (LIMIT // 2))
    QTest.keyClicks(editor, "y" * (LIMIT // 2))  # the block is cut on the way: a step that changes no text
    assert_small(editor)
    typed = editor.template()
    for name, target in (("edit-undo", SOURCE), ("edit-redo", typed)):
        menu = editor.context_menu(editor.cursorRect().center())  # (made as it is shown: Redo enabled now)
        action = next(action for action in menu.actions() if action.objectName() == name)
        step_until(editor, action.trigger, target)


def test_copy_and_cut_put_the_users_text_on_the_clipboard(editor):
    editor.selectAll()
    QTest.keyClick(editor, Qt.Key.Key_C, Ctrl)
    assert QApplication.clipboard().text() == SOURCE
    first, start = a_cut(editor, 1)
    last, end = a_cut(editor, 3)
    cursor = editor.textCursor()
    cursor.setPosition(first.position() - 5)
    cursor.setPosition(last.position() + 5, QTextCursor.MoveMode.KeepAnchor)
    editor.setTextCursor(cursor)
    QTest.keyClick(editor, Qt.Key.Key_X, Ctrl)
    assert QApplication.clipboard().text() == SOURCE[start - 4 : end + 5]  # (the cut is a position)
    assert editor.template() == SOURCE[: start - 4] + SOURCE[end + 5 :]


def test_an_ordinary_template_is_held_exactly_as_its_lines(qtbot):
    editor = TemplateEditor()
    qtbot.addWidget(editor)
    text = "\n".join(f"Line {i}: {{{{ topic }}}} " + "w" * (i * 97 % (LIMIT - 100)) for i in range(200))
    editor.set_template(text)
    assert [block.text() for block in blocks(editor)] == text.split("\n")
    assert not any(continues(block) for block in blocks(editor))
    editor.moveCursor(QTextCursor.MoveOperation.End)
    QTest.keyClick(editor, Qt.Key.Key_Return)
    QTest.keyClicks(editor, "more")
    assert editor.toPlainText() == editor.template() == text + "\nmore"
    assert not any(continues(block) for block in blocks(editor))


COPY_AND_QUIT = """
from PySide6.QtWidgets import QApplication
from chainstudio.ui.inspector.template_editor import TemplateEditor
app = QApplication([])
editor = TemplateEditor()
editor.set_template("a" * 10_000)
editor.selectAll()
editor.copy()
print(len(QApplication.clipboard().text()))
"""


def test_copying_then_quitting_does_not_crash():
    """The clipboard owns the copied data: made in Python, it was deleted twice at exit (a segfault)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", COPY_AND_QUIT], env=env, capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout.strip()) == (0, "10000"), done.stderr[-2000:]
