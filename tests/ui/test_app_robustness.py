"""The window survives whatever files people send it, and asks for graph inputs without defaults."""

import json
import random

from PySide6.QtWidgets import QMessageBox

from chainstudio.core.graph.model import GraphInput
from chainstudio.core.launch import RunOptions
from chainstudio.core.storage.fileformat import dumps
from tests.conftest import EXAMPLES


def mutations(seed: int, count: int):
    rng = random.Random(seed)
    text = (EXAMPLES / "intent-pipeline.chain.json").read_text()
    doc = json.loads(text)
    yield "truncated", text[: len(text) // 3]
    yield "not json", "\x00\xff garbage {"
    yield "nested", "[" * 50_000 + "]" * 50_000
    yield "wrong kind", json.dumps({**doc, "nodes": [{**doc["nodes"][0], "kind": "magic"}]})
    yield "newer version", json.dumps({**doc, "version": 42})
    for i in range(count):
        data = bytearray(text.encode())
        for _ in range(rng.randint(1, 6)):
            pos = rng.randrange(len(data))
            data[pos : pos + rng.randint(0, 3)] = bytes(rng.randrange(32, 127) for _ in range(rng.randint(0, 3)))
        yield f"mutant {i}", data.decode("utf-8", errors="replace")


def test_broken_files_never_crash_the_window_and_lose_nothing(app_window, tmp_path):
    window = app_window
    assert window.open_path(EXAMPLES / "code-review.chain.json")
    for label, text in mutations(seed=5, count=40):
        before = dumps(window.document.graph)
        path = tmp_path / "in.chain.json"
        path.write_text(text, encoding="utf-8", errors="replace")
        opened = window.open_path(path)
        box = window.files.dialog
        if opened:
            assert window.document.path == path, label
        else:
            assert isinstance(box, QMessageBox) and box.isVisible() and "cannot be opened" in box.text(), label
            assert dumps(window.document.graph) == before, label  # the open graph is untouched
            box.button(QMessageBox.StandardButton.Ok).click()
        window.open_path(EXAMPLES / "code-review.chain.json")
    assert window.isVisible() and len(window.document.graph.nodes) == 7


def test_inputs_without_defaults_are_asked_for_before_a_run(qtbot, app_window):
    window = app_window
    assert window.open_path(EXAMPLES / "progressive-refinement.chain.json")
    window.document.graph.inputs = [GraphInput("topic", None, "What to write about")]
    window.runs.request_run(RunOptions(speed=200.0))
    dialog = window.runs._dialog
    assert dialog is not None and dialog.isVisible() and not window.runs.controller.running
    dialog.editors["topic"].setPlainText("Gantt charts for prompt chains")
    dialog.accept()
    assert window.runs.controller.running
    qtbot.waitUntil(lambda: not window.runs.controller.running, timeout=20000)
    state = window.runs.state
    assert state.status == "succeeded"
    assert state.span_by_name("topic").output == "Gantt charts for prompt chains"
    assert "Gantt charts for prompt chains" in state.span_by_name("draft").prompt
