"""A multi-line editor for Jinja2 prompt templates: highlights ``{{ ... }}`` references (upstream steps
green, graph inputs blue, anything else red and underlined) and completes upstream step names and
``inputs.<name>`` inside a tag (as you type, or with Ctrl+Space). A very long line is held as display blocks
of a few thousand characters, so that Qt never lays out a huge paragraph (``display_blocks.py``); a template
too large to show at once is shown read-only, its first characters under a notice with *Edit anyway*
(``large_template.py``); ``template()`` is always the whole text, exactly as the user wrote it."""

from __future__ import annotations

import re
from collections.abc import Callable

from PySide6.QtCore import QEvent, QStringListModel, Qt
from PySide6.QtGui import QColor, QFont, QKeyEvent, QSyntaxHighlighter, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QCompleter, QMenu, QPlainTextEdit

from chainstudio.ui.inspector import display_blocks
from chainstudio.ui.inspector.large_template import PREVIEW, LargeNotice, too_large

HIGHLIGHT_CHARS = 20_000  # of a template; the rest of a longer one stays plain
TAG = re.compile(r"{{.*?}}|{%.*?%}")
NAME = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?")
NOT_REFERENCES = frozenset(
    {
        "if",
        "elif",
        "else",
        "endif",
        "for",
        "endfor",
        "in",
        "not",
        "and",
        "or",
        "is",
        "true",
        "false",
        "none",
        "True",
        "False",
        "None",
        "loop",
        "range",
        "set",
        "endset",
        "with",
        "endwith",
    }
)
PREFIX = re.compile(r"[A-Za-z_][\w.]*$")

# name or 'inputs.x' -> 'step' (an upstream step), 'input' (a graph input), 'bad' (anything else)
Classifier = Callable[[str], str]


def _format(color: str, bold: bool = False, underline: bool = False) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(QColor(color))
    if bold:
        fmt.setFontWeight(QFont.Weight.Bold)
    if underline:
        fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
        fmt.setUnderlineColor(QColor(color))
    return fmt


FORMATS = {
    "tag": _format("#7b8794"),
    "step": _format("#2e7d32", bold=True),
    "input": _format("#1565c0", bold=True),
    "bad": _format("#d32f2f", bold=True, underline=True),
}


def template_names(text: str) -> list[tuple[int, int, str]]:
    """(start, length, name) of each name a tag in ``text`` refers to; filters and keywords are skipped."""
    found = []
    for tag in TAG.finditer(text):
        inner_start = tag.start() + 2
        inner = text[inner_start : tag.end() - 2]
        for match in NAME.finditer(inner):
            before = inner[: match.start()].rstrip()
            if match.group(0) in NOT_REFERENCES or before.endswith(("|", ".")) or inner[match.end() :].startswith("("):
                continue
            found.append((inner_start + match.start(), len(match.group(0)), match.group(0)))
    return found


class TemplateHighlighter(QSyntaxHighlighter):
    def __init__(self, document, classify: Classifier):
        super().__init__(document)
        self.classify = classify

    def highlightBlock(self, text: str) -> None:  # noqa: N802
        start = self.currentBlock().position()  # the first HIGHLIGHT_CHARS of the template are highlighted:
        if start >= HIGHLIGHT_CHARS:  # 2,000 tags of 40 names each took 0.2-2 s at every (re)highlight
            return
        text = text[: HIGHLIGHT_CHARS - start]
        for tag in TAG.finditer(text):
            self.setFormat(tag.start(), tag.end() - tag.start(), FORMATS["tag"])
        for start, length, name in template_names(text):
            self.setFormat(start, length, FORMATS[self.classify(name)])


class TemplateEditor(QPlainTextEdit):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setTabChangesFocus(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setPointSizeF(9.5)
        self.setFont(font)
        self._steps: list[str] = []
        self._inputs: list[str] = []
        self.highlighter = TemplateHighlighter(self.document(), self._classify)
        self.completer = QCompleter(self)
        self.completer.setModel(QStringListModel(self))
        self.completer.setWidget(self)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer.activated.connect(self.insert_completion)
        self._held: str | None = None  # the whole template while only its start is shown (read-only)
        self.edit_large = False  # Edit anyway was pressed: a large template is shown whole, to edit
        self.notice: LargeNotice | None = None  # made when a large template is first shown
        self._cut = False  # a long line is held as display blocks (display_blocks.py)

    # --- the value ------------------------------------------------------------------------------
    def template(self) -> str:
        """The whole template (also while only its start is shown)."""
        if self._held is not None:
            return self._held
        return display_blocks.text_of(self.document()) if self._cut else self.toPlainText()

    def showing_preview(self) -> bool:
        return self._held is not None

    def set_template(self, text: str) -> None:
        """Show ``text``: whole and editable, or, if it is too large (and Edit anyway was not pressed), its
        start, read-only, under the notice. A long line is held as display blocks of a few thousand characters
        (``display_blocks.py``), so Qt lays out and highlights only small blocks at a keystroke; a too large
        template shown whole (Edit anyway) is not highlighted (Qt would re-highlight all its blocks whenever the
        names it may refer to change)."""
        large = too_large(text)
        preview = large and not self.edit_large
        self._held = text if preview else None
        self.setReadOnly(preview)
        self.setVerticalScrollBarPolicy(
            Qt.ScrollBarPolicy.ScrollBarAlwaysOn if preview else Qt.ScrollBarPolicy.ScrollBarAsNeeded
        )
        wanted = None if large and not preview else self.document()
        if self.highlighter.document() is not wanted:
            self.highlighter.setDocument(wanted)
        if preview and self.notice is None:
            self.notice = LargeNotice(self)
            self.notice.edit_anyway.connect(self.edit_anyway)
        if self.notice is not None:
            self.notice.setVisible(preview)
            if preview:
                self.notice.show_for(text)
            self._place_notice()
        self._cut = display_blocks.fill(self, text[:PREVIEW] if preview else text)

    def edit_anyway(self) -> None:
        """Put the whole of a large template into the editor, to edit it."""
        text = self.template()
        self.edit_large = True
        blocked = self.blockSignals(True)  # the same text: not an edit
        try:
            self.set_template(text)
        finally:
            self.blockSignals(blocked)
        self.setFocus()

    def _place_notice(self) -> None:
        if self.notice is None:
            return
        rect = self.contentsRect()  # above the text, beside the scroll bar (always shown with the notice)
        width = rect.width() - self.verticalScrollBar().sizeHint().width()
        height = max(self.notice.heightForWidth(width), self.notice.minimumSizeHint().height())
        height = height if self.showing_preview() else 0  # (not isVisible(): the page may be hidden)
        self.setViewportMargins(0, height, 0, 0)
        self.notice.setGeometry(rect.x(), rect.y(), width, height)

    # --- a long line held as display blocks: what is copied, pasted, undone ----------------------------
    def createMimeDataFromSelection(self):  # noqa: N802
        if self._cut:
            return display_blocks.mime_data(self.textCursor())
        return super().createMimeDataFromSelection()

    def insertFromMimeData(self, source) -> None:  # noqa: N802
        if source.hasText() and (self._cut or display_blocks.has_long_line(source.text())):
            self._cut = display_blocks.insert_text(self, source.text()) or self._cut
            self.ensureCursorVisible()
            return
        super().insertFromMimeData(source)

    def undo(self) -> None:
        if self._cut:
            display_blocks.step(self, back=True)
        else:
            super().undo()

    def redo(self) -> None:
        if self._cut:
            display_blocks.step(self, back=False)
        else:
            super().redo()

    def context_menu(self, pos) -> QMenu:
        """Qt's menu for the text, its Undo/Redo stepping over the cuts as the keys do."""
        menu = self.createStandardContextMenu(pos)
        for action in menu.actions():
            if action.objectName() in ("edit-undo", "edit-redo"):
                action.triggered.disconnect()
                action.triggered.connect(self.undo if action.objectName() == "edit-undo" else self.redo)
        return menu

    def contextMenuEvent(self, event) -> None:
        if not self._cut:
            super().contextMenuEvent(event)
            return
        menu = self.context_menu(event.pos())
        menu.exec(event.globalPos())
        menu.deleteLater()

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if self._cut:
            display_blocks.paint_marks(self)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._place_notice()

    def set_names(self, upstream_steps: list[str], graph_inputs: list[str]) -> None:
        """What the template may refer to; re-highlights."""
        if (upstream_steps, graph_inputs) == (self._steps, self._inputs):
            return
        self._steps, self._inputs = list(upstream_steps), list(graph_inputs)
        self.completer.model().setStringList(self._steps + [f"inputs.{n}" for n in self._inputs])
        self.highlighter.rehighlight()

    def completions(self) -> list[str]:
        return self.completer.model().stringList()

    def _classify(self, name: str) -> str:
        if name.startswith("inputs."):
            return "input" if name[len("inputs.") :] in self._inputs else "bad"
        if name == "inputs":
            return "input"
        return "step" if name in self._steps else "bad"

    # --- completion -----------------------------------------------------------------------------
    def _prefix(self) -> str | None:
        """The partial name before the cursor when the cursor is inside a ``{{`` / ``{%`` tag."""
        cursor = self.textCursor()
        before = self.toPlainText()[: cursor.position()]
        opened = max(before.rfind("{{"), before.rfind("{%"))
        if opened < 0 or max(before.rfind("}}"), before.rfind("%}")) > opened:
            return None
        match = PREFIX.search(before[opened + 2 :])
        return match.group(0) if match else ""

    def insert_completion(self, completion: str) -> None:
        prefix = self._prefix() or ""
        cursor = self.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.Left, QTextCursor.MoveMode.KeepAnchor, len(prefix))
        cursor.insertText(completion)
        self.setTextCursor(cursor)

    def show_completions(self, force: bool = False) -> bool:
        prefix = self._prefix()
        if prefix is None or (not prefix and not force):
            self.completer.popup().hide()
            return False
        self.completer.setCompletionPrefix(prefix)
        if self.completer.completionCount() == 0:
            self.completer.popup().hide()
            return False
        rect = self.cursorRect()
        rect.setWidth(self.completer.popup().sizeHintForColumn(0) + 30)
        self.completer.complete(rect)
        # the first completion is chosen, so Return or Tab inserts it (also when it is the only one)
        self.completer.popup().setCurrentIndex(self.completer.completionModel().index(0, 0))
        return True

    def event(self, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab)
            and self.completer.popup().isVisible()
        ):
            event.ignore()  # the completer inserts the chosen completion instead of Tab moving the focus
            return False
        return super().event(event)

    def keyPressEvent(self, event) -> None:
        if self.isReadOnly():  # a large template's start: moving and copying only, no completions
            super().keyPressEvent(event)
            return
        popup = self.completer.popup()
        if popup.isVisible() and event.key() in (
            Qt.Key.Key_Enter,
            Qt.Key.Key_Return,
            Qt.Key.Key_Tab,
            Qt.Key.Key_Escape,
            Qt.Key.Key_Backtab,
        ):
            event.ignore()  # the completer handles these
            return
        if event.key() == Qt.Key.Key_Space and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.show_completions(force=True)
            return
        if self._cut:
            display_blocks.press(self, event, lambda key: QPlainTextEdit.keyPressEvent(self, key))
        else:
            super().keyPressEvent(event)
            self._cut = display_blocks.cut_long_block(self)  # a line typed longer than display_blocks.LIMIT
        if event.text() and (event.text().isalnum() or event.text() in "_."):
            self.show_completions()
        elif popup.isVisible():
            popup.hide()
