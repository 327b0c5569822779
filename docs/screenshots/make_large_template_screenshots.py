"""Screenshots of a template too large to edit without stalls (docs/screenshots/inspector-large-template*.png),
in the real window at its default size (1400x900) under Xvfb:

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_large_template_screenshots.py

A step whose prompt is one line of 1,990 tags of 40 terms (~640,000 characters, the big template of
benchmarks/open_stall_bench.py): selected, the inspector shows its start read-only under the notice; then
Edit anyway is pressed and " ok" typed at its end (committed: Undo says "Undo Edit prompt").
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_run_screenshots import grab, new_window, run_app
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtTest import QTest

from chainstudio.core.graph.model import Graph, GraphInput
from chainstudio.core.storage import fileformat

SIZE = (1400, 900)
PROMPT = "".join("{{ " + " ~ ".join(["topic"] * 40) + " }}" for _ in range(1_990))


def big_template_file(folder: Path) -> Path:
    graph = Graph("big-template", inputs=[GraphInput("topic", "a topic")])
    source = graph.add("input", "topic", input="topic")
    step = graph.add("llm", "step", prompt=PROMPT, max_tokens=40)
    out = graph.add("output", "out", template="{{ step }}")
    graph.connect(source.id, step.id)
    graph.connect(step.id, out.id)
    path = folder / "big-template.chain.json"
    fileformat.save(graph, path)
    return path


async def main(app) -> None:
    window = new_window()
    window.setGeometry(0, 0, *SIZE)
    await asyncio.sleep(0.3)
    window.open_path(big_template_file(Path(tempfile.mkdtemp())))
    while window.files.loader.loading is not None:  # a file over 128 kB is read on a worker thread
        await asyncio.sleep(0.05)
    window.controller.auto_layout()
    window.view.fit()
    await asyncio.sleep(0.5)
    window.select_node(window.document.graph.resolve("step").id)
    await asyncio.sleep(0.5)
    grab(window, "large-template", "inspector", SIZE)
    editor = window.inspector.node_form.editors["prompt"]
    QTest.mouseClick(editor.notice.button, Qt.MouseButton.LeftButton)
    await asyncio.sleep(0.5)
    editor.moveCursor(QTextCursor.MoveOperation.End)
    QTest.keyClicks(editor, " ok")
    await asyncio.sleep(1.0)  # committed after the inspector's delay
    grab(window, "large-template-edit", "inspector", SIZE)
    window.document.replace(Graph())  # leave without the unsaved-changes prompt
    window.close()


if __name__ == "__main__":
    run_app(main)
