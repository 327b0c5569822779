"""A very long line of a template is held in the editor as display blocks of a few thousand characters.

Qt lays a paragraph (a block of the editor's document) out whole at every change: one 640,000-character line
cost ~0.1 s of the window's thread per typed character and ~0.2 s to show (``benchmarks/long_line_bench.py``).
So a line over ``LIMIT`` characters is cut into blocks of about ``PIECE`` characters; every block after a cut
carries the block format property ``CONTINUES``: it continues the line of the block before it, it does not
start a new one. What the editor reports (``text_of``), copies and undoes is the user's text with no newline
at a cut; a real Enter or a pasted newline makes a real line. A block that grows past ``LIMIT`` is cut again
(the cut is an undo step of its own that changes no text: ``undo`` and ``redo`` step over such steps). The
cursor crosses a cut as it crosses a character inside a line (one Left/Right, Backspace, Delete). A template
with no line over ``LIMIT`` is held exactly as its lines.
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QTextBlock,
    QTextCursor,
    QTextDocument,
    QTextFormat,
)
from PySide6.QtWidgets import QPlainTextEdit

PIECE = 2_000  # characters in a block cut from a long line (Qt lays it out in ~1 ms)
LIMIT = 2 * PIECE  # a line or block longer than this is cut
CONTINUES = int(QTextFormat.Property.UserProperty) + 14  # block property: continues the line before it
MARK = "\u21aa"  # drawn after a block that a cut continues: this is not a newline (as an editor's soft wrap)
MARK_COLOR = QColor("#9aa5b1")


def cut_points(line: str) -> list[int]:
    """Where to cut ``line`` (offsets, ascending) so that no piece is over ``PIECE`` characters (none if the
    line is not over ``LIMIT``): after a tag's end or a space in a piece's second half, else at ``PIECE``."""
    if len(line) <= LIMIT:
        return []
    points: list[int] = []
    start = 0
    while len(line) - start > PIECE:
        end = start + PIECE
        low = start + PIECE // 2
        cut = max(line.rfind("}}", low, end), line.rfind("%}", low, end)) + 2
        if cut < low:
            cut = max(line.rfind(" ", low, end), line.rfind("\t", low, end)) + 1
        if cut < low:
            cut = end
        points.append(cut)
        start = cut
    return points


def has_long_line(text: str) -> bool:
    if len(text) <= LIMIT:
        return False
    return any(len(line) > LIMIT for line in text.split("\n"))


def continues(block: QTextBlock) -> bool:
    return block.isValid() and bool(block.blockFormat().property(CONTINUES))


def fill(editor: QPlainTextEdit, text: str) -> bool:
    """Show ``text`` in ``editor``, its long lines cut into display blocks; the undo history is cleared.
    Whether anything was cut."""
    if not has_long_line(text):
        editor.setPlainText(text)
        return False
    editor.setPlainText("")  # (also clears the undo history)
    document = editor.document()
    cursor = QTextCursor(document)
    line_start = cursor.blockFormat()
    line_start.clearProperty(CONTINUES)
    continuing = cursor.blockFormat()
    continuing.setProperty(CONTINUES, True)
    document.setUndoRedoEnabled(False)  # showing the text is not an edit
    cursor.beginEditBlock()  # one change for the layout and the highlighter
    try:
        for index, line in enumerate(text.split("\n")):
            if index:
                cursor.insertBlock(line_start)
            start = 0
            for point in cut_points(line):
                cursor.insertText(line[start:point])
                cursor.insertBlock(continuing)
                start = point
            cursor.insertText(line[start:])
    finally:
        cursor.endEditBlock()
        document.setUndoRedoEnabled(True)
    editor.moveCursor(QTextCursor.MoveOperation.Start)
    return True


def cut_positions(document: QTextDocument, start: int = 0, end: int | None = None) -> list[int]:
    """The document positions of the cuts (the separator before a continuing block) in [start, end)."""
    found = []
    block = document.findBlock(start)
    while block.isValid() and (end is None or block.position() <= end):
        if continues(block) and start <= block.position() - 1 and (end is None or block.position() - 1 < end):
            found.append(block.position() - 1)
        block = block.next()
    return found


def _without(text: str, offset: int, cuts: list[int]) -> str:
    """``text`` (starting at document position ``offset``) without the separators at ``cuts``."""
    parts, start = [], 0
    for cut in cuts:
        parts.append(text[start : cut - offset])
        start = cut - offset + 1
    parts.append(text[start:])
    return "".join(parts)


def text_of(document: QTextDocument) -> str:
    """The user's text: the document's plain text without a newline at the cuts."""
    return _without(document.toPlainText(), 0, cut_positions(document))


def selected_text(cursor: QTextCursor) -> str:
    """The user's text of ``cursor``'s selection (newlines as ``\\n``, none at the cuts)."""
    start, end = cursor.selectionStart(), cursor.selectionEnd()
    text = cursor.selection().toPlainText()
    return _without(text, start, cut_positions(cursor.document(), start, end))


def mime_data(cursor: QTextCursor) -> QMimeData:
    """The user's text of the selection, for the clipboard or a drag. The QMimeData is made by Qt (an empty
    editor's, with no selection): the clipboard owns and deletes it, and one made in Python would be deleted
    by Python too (PySide 6.11: a crash at exit)."""
    data = QPlainTextEdit().createMimeDataFromSelection()
    data.setText(selected_text(cursor))
    return data


def _continuing(cursor: QTextCursor) -> None:
    fmt = cursor.blockFormat()
    fmt.setProperty(CONTINUES, True)
    cursor.insertBlock(fmt)


def _cut_blocks(cursor: QTextCursor, first: QTextBlock, last: QTextBlock) -> bool:
    """Cut the blocks from ``first`` to ``last`` that are over ``LIMIT`` (inside the caller's edit block)."""
    todo = []
    block = first
    while block.isValid():
        if block.length() - 1 > LIMIT:
            todo.append((block.position(), cut_points(block.text())))
        if block == last:
            break
        block = block.next()
    for position, points in reversed(todo):
        for point in reversed(points):
            cursor.setPosition(position + point)
            _continuing(cursor)
    return bool(todo)


def cut_long_block(editor: QPlainTextEdit) -> bool:
    """After an edit: cut the cursor's block if it grew over ``LIMIT`` (an undo step that changes no text)."""
    block = editor.textCursor().block()  # (the editor's cursor keeps its place in the text through the cuts)
    if block.length() - 1 <= LIMIT:
        return False
    cursor = QTextCursor(editor.document())
    cursor.beginEditBlock()
    _cut_blocks(cursor, block, block)
    cursor.endEditBlock()
    return True


def insert_text(editor: QPlainTextEdit, text: str) -> bool:
    """Type or paste ``text`` at the cursor (replacing a selection) as one undo step: its newlines make real
    lines, its long lines are cut. Whether the document has cuts now."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2029", "\n").replace("\u2028", "\n")
    cursor = editor.textCursor()
    cursor.beginEditBlock()
    cursor.removeSelectedText()
    first = cursor.block()
    for index, line in enumerate(text.split("\n")):
        if index:
            fmt = cursor.blockFormat()
            fmt.clearProperty(CONTINUES)
            cursor.insertBlock(fmt)
        cursor.insertText(line)
    cut = _cut_blocks(QTextCursor(editor.document()), first, cursor.block())  # (cursor keeps its place)
    cursor.endEditBlock()
    editor.setTextCursor(cursor)
    return cut


def step(editor: QPlainTextEdit, back: bool) -> None:
    """Undo (or redo) until the user's text changes: the cuts alone change no text. A redo also redoes the
    cuts that followed the edit it redid (so its blocks are small again)."""
    document = editor.document()
    before = text_of(document)
    while document.isUndoAvailable() if back else document.isRedoAvailable():
        QPlainTextEdit.undo(editor) if back else QPlainTextEdit.redo(editor)
        if text_of(document) != before:
            break
    while not back and document.isRedoAvailable():
        done = text_of(document)
        QPlainTextEdit.redo(editor)
        if text_of(document) != done:  # the next edit, not a cut: left to the next Redo
            QPlainTextEdit.undo(editor)
            return


def press(editor: QPlainTextEdit, event: QKeyEvent, base) -> None:
    """A key in an editor whose document has cuts; ``base(event)`` is QPlainTextEdit's own handling."""
    if event.matches(QKeySequence.StandardKey.Undo) or event.matches(QKeySequence.StandardKey.Redo):
        step(editor, back=event.matches(QKeySequence.StandardKey.Undo))
        return
    if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
        insert_text(editor, "\n")  # a real newline (Qt would give the new block the cut's property)
        return
    cursor = editor.textCursor()
    before = cursor.position()
    if not cursor.hasSelection():  # Backspace/Delete at a cut delete the character across it
        while event.key() == Qt.Key.Key_Backspace and cursor.atBlockStart() and continues(cursor.block()):
            cursor.setPosition(cursor.block().position() - 1)
        while event.key() == Qt.Key.Key_Delete and cursor.atBlockEnd() and continues(cursor.block().next()):
            cursor.setPosition(cursor.block().next().position())
    if cursor.position() != before:
        editor.setTextCursor(cursor)
        before = cursor.position()
    base(event)
    if event.key() in (Qt.Key.Key_Left, Qt.Key.Key_Right) and _across_cut(editor, before):
        base(event)  # the move only crossed a cut: one more, so that one key moves one character
    cut_long_block(editor)


def _across_cut(editor: QPlainTextEdit, before: int) -> bool:
    after = editor.textCursor().position()
    if abs(after - before) != 1:
        return False
    block = editor.document().findBlock(max(after, before))
    return continues(block) and block.position() == max(after, before)


def paint_marks(editor: QPlainTextEdit) -> None:
    """Draw ``MARK`` after the visible blocks that the next block continues (a cut looks like a wrap)."""
    painter = QPainter(editor.viewport())
    painter.setPen(MARK_COLOR)
    offset = editor.contentOffset()
    bottom = editor.viewport().height()
    block = editor.firstVisibleBlock()
    while block.isValid():
        geometry = editor.blockBoundingGeometry(block).translated(offset)
        if geometry.top() > bottom:
            break
        layout = block.layout()
        if continues(block.next()) and layout is not None and layout.lineCount():
            line = layout.lineAt(layout.lineCount() - 1)
            x = geometry.left() + line.x() + line.naturalTextWidth() + 2
            box = QRectF(x, geometry.top() + line.y(), line.height() * 2, line.height())
            painter.drawText(box, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, MARK)
        block = block.next()
    painter.end()
