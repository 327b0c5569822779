"""Screenshots of very large templates in the inspector (docs/screenshots/inspector-large-template*.png,
inspector-huge-template.png), in the real window at its default size (1400x900) under Xvfb:

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_large_template_screenshots.py

A step whose prompt is one line of 1,990 tags of 40 terms (~640,000 characters, the big template of
benchmarks/open_stall_bench.py): selected, the inspector shows all of it, editable (held as display blocks of
~2,000 characters); then a click at the start of the second block (a cut, not a newline) and real keys
typed there with xdotool (with a display; QTest without): "ABC", Left, Backspace, Enter. Then a prompt over
1,000,000 characters: read-only under the notice with Edit anyway.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_run_screenshots import grab, new_window, run_app
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtTest import QTest

from chainstudio.core.graph.model import Graph, GraphInput
from chainstudio.core.storage import fileformat

SIZE = (1400, 900)
PROMPT = "".join("{{ " + " ~ ".join(["topic"] * 40) + " }}" for _ in range(1_990))


HUGE = "{{ topic }} and some words to read. " * 30_000  # over 1,000,000 characters


def big_template_file(folder: Path, prompt: str = PROMPT) -> Path:
    graph = Graph("big-template", inputs=[GraphInput("topic", "a topic")])
    source = graph.add("input", "topic", input="topic")
    step = graph.add("llm", "step", prompt=prompt, max_tokens=40)
    out = graph.add("output", "out", template="{{ step }}")
    graph.connect(source.id, step.id)
    graph.connect(step.id, out.id)
    path = folder / "big-template.chain.json"
    fileformat.save(graph, path)
    return path


async def type_keys(editor, point: QPoint, keys: list[str]) -> None:
    """Click at ``point`` of the editor's viewport and press ``keys`` (xdotool names): real key events with a
    display, QTest otherwise."""
    if os.environ.get("DISPLAY"):
        at = editor.viewport().mapToGlobal(point)
        subprocess.run(["xdotool", "mousemove", str(at.x()), str(at.y()), "click", "1"], check=True)
        await asyncio.sleep(0.3)
        for key in keys:
            subprocess.run(["xdotool", "key", "--delay", "80", key], check=True)
            await asyncio.sleep(0.1)
        return
    QTest.mouseClick(editor.viewport(), Qt.MouseButton.LeftButton, pos=point)
    names = {"Left": Qt.Key.Key_Left, "BackSpace": Qt.Key.Key_Backspace, "Return": Qt.Key.Key_Return}
    for key in keys:
        if key in names:
            QTest.keyClick(editor, names[key])
        else:
            QTest.keyClicks(editor, key)


async def show_step(window, path: Path) -> None:
    """Open ``path``, laid out and fitted, and select its step."""
    window.open_path(path)
    while window.files.loader.loading is not None:  # a file over 128 kB is read on a worker thread
        await asyncio.sleep(0.05)
    window.controller.auto_layout()
    window.view.fit()
    await asyncio.sleep(0.5)
    window.select_node(window.document.graph.resolve("step").id)
    await asyncio.sleep(0.5)


async def main(app) -> None:
    window = new_window()
    window.setGeometry(0, 0, *SIZE)
    await asyncio.sleep(0.3)
    folder = Path(tempfile.mkdtemp())
    await show_step(window, big_template_file(folder))
    grab(window, "large-template", "inspector", SIZE)
    editor = window.inspector.node_form.editors["prompt"]
    second = editor.document().findBlockByNumber(1)  # continues the line: no newline before it
    editor.setTextCursor(QTextCursor(second))
    editor.centerCursor()  # scrolled to the cut; the click puts the cursor there
    await asyncio.sleep(0.3)
    rect = editor.cursorRect(QTextCursor(second))
    await type_keys(editor, rect.center() + QPoint(1, 0), ["A", "B", "C", "Left", "BackSpace", "Return"])
    await asyncio.sleep(1.0)  # committed after the inspector's delay
    prompt = window.document.graph.resolve("step").params["prompt"]
    cut = len(second.previous().text())
    assert prompt == PROMPT[:cut] + "A\nC" + PROMPT[cut:], "the typing did not give the expected text"
    grab(window, "large-template-edit", "inspector", SIZE)
    window.document.replace(Graph())  # leave without the unsaved-changes prompt
    await show_step(window, big_template_file(folder, HUGE))
    grab(window, "huge-template", "inspector", SIZE)
    window.document.replace(Graph())
    window.close()


if __name__ == "__main__":
    run_app(main)
