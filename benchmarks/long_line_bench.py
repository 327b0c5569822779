"""The cost of a very long line in the template editor (issue 14), on the window's thread: showing a
640,000-character one-line prompt (the big template of ``open_stall_bench.py``) and one typed character at
its end and in its middle, for a bare ``QPlainTextEdit`` (wrapping at the widget's width, as the editor does,
and not wrapping: the other layout Qt offers) and for the template editor, which holds the line as display
blocks (``chainstudio/ui/inspector/display_blocks.py``).

    .venv/bin/python benchmarks/long_line_bench.py            # rewrites "## A long line in the editor"
    .venv/bin/python benchmarks/long_line_bench.py --no-write # print only

CPU time of this process (``time.process_time``) from the call until Qt has processed its events (the layout
and, for the template editor, the highlighting of the blocks changed); a key is ``QTest.keyClick`` into the
focused editor; the figure for a key is the median of 7. Offscreen platform, an editor of 400×600.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from perfdoc import write_section
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QPlainTextEdit

from chainstudio.ui.inspector.template_editor import TemplateEditor

SECTION = "## A long line in the editor"
LINE = "".join("{{ " + " ~ ".join(["topic"] * 40) + " }}" for _ in range(1_990))  # ~640,000 characters
KEYS = 7


def cpu_ms(app: QApplication, action) -> float:
    start = time.process_time()
    action()
    app.processEvents()
    return (time.process_time() - start) * 1000


def typing_ms(app: QApplication, editor: QPlainTextEdit, where: QTextCursor.MoveOperation | int) -> float:
    cursor = editor.textCursor()
    if isinstance(where, int):
        cursor.setPosition(where)
    else:
        cursor.movePosition(where)
    editor.setTextCursor(cursor)
    app.processEvents()
    return statistics.median(cpu_ms(app, lambda: QTest.keyClick(editor, Qt.Key.Key_X)) for _ in range(KEYS))


def measure(app: QApplication, label: str, make, show) -> dict:
    editor = make()
    editor.resize(400, 600)
    editor.show()
    editor.setFocus()
    app.processEvents()
    shown = min(cpu_ms(app, lambda i=i: show(editor, LINE[: len(LINE) - i])) for i in range(2))  # 2nd: warm
    end = typing_ms(app, editor, QTextCursor.MoveOperation.End)
    middle = typing_ms(app, editor, editor.document().characterCount() // 2)
    row = {"editor": label, "show_ms": shown, "end_ms": end, "middle_ms": middle}
    print(row, flush=True)
    editor.close()
    return row


def bare(wrap: QPlainTextEdit.LineWrapMode):
    def make() -> QPlainTextEdit:
        editor = QPlainTextEdit()
        editor.setLineWrapMode(wrap)
        return editor

    return make


def template_editor() -> TemplateEditor:
    editor = TemplateEditor()
    editor.set_names([], ["topic"])
    return editor


def section(rows: list[dict]) -> str:
    lines = [
        SECTION,
        "",
        "Reproduce with one command (it rewrites this section):",
        "",
        "```",
        ".venv/bin/python benchmarks/long_line_bench.py",
        "```",
        "",
        f"Measured on CPython {platform.python_version()}, {platform.system()}, PySide6 offscreen, load average "
        f"{os.getloadavg()[0]:.1f} on 2 cores (shared). A prompt that is one line of {len(LINE):,} characters; "
        "CPU time of the window's thread until Qt has laid out (and highlighted) what changed; a key: the median "
        f"of {KEYS}. Qt lays a block (a paragraph) out whole at every change, whether it wraps or not; the template "
        "editor holds a line over 4,000 characters as blocks of about 2,000 (`ui/inspector/display_blocks.py`).",
        "",
        "| editor | showing the line | a key at its end | a key in its middle |",
        "|---|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['editor']} | {r['show_ms']:.1f} ms | {r['end_ms']:.1f} ms | {r['middle_ms']:.1f} ms |")
    return "\n".join(lines) + "\n\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    rows = [
        measure(
            app,
            "bare `QPlainTextEdit`, wrapping",
            bare(QPlainTextEdit.LineWrapMode.WidgetWidth),
            QPlainTextEdit.setPlainText,
        ),
        measure(
            app,
            "bare `QPlainTextEdit`, not wrapping",
            bare(QPlainTextEdit.LineWrapMode.NoWrap),
            QPlainTextEdit.setPlainText,
        ),
        measure(app, "template editor (display blocks, highlighted)", template_editor, TemplateEditor.set_template),
    ]
    text = section(rows)
    print(text)
    if not args.no_write:
        write_section(SECTION, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
