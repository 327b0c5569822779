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


def _window_on_own_folders(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from chainstudio.ui.main_window import MainWindow

    window = MainWindow(QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.show()
    window.start([str(EXAMPLES / "code-review.chain.json")])
    return window


def test_the_window_opens_when_its_data_folder_is_a_file(qtbot, tmp_path, monkeypatch):
    """A file where the data folder should be kept the window from opening ("error: File exists")."""
    blocker = tmp_path / "data"
    blocker.write_text("not a folder")
    monkeypatch.setenv("CHAINSTUDIO_DATA_DIR", str(blocker))
    monkeypatch.setenv("CHAINSTUDIO_CONFIG_DIR", str(tmp_path / "config"))
    window = _window_on_own_folders(qtbot, tmp_path)
    assert window.document.graph.name == "code-review"
    (problem,) = window.services.problems
    assert problem.startswith("The data folder") and "temporary" in problem
    qtbot.waitUntil(lambda: "temporary folder" in window.statusBar().currentMessage(), timeout=3000)
    assert window.history.panel.message.text() == problem  # the whole sentence, under the runs
    assert blocker.read_text() == "not a folder"
    assert window.services.history.path.parent != blocker and window.services.history.runs() == []


def test_the_window_opens_when_its_run_history_is_damaged(qtbot, tmp_path, monkeypatch):
    """A history file that is not a database kept the window from opening ("error: file is not a
    database"); the damaged file is left as it is, for the user to look at."""
    data = tmp_path / "data"
    data.mkdir()
    damaged = data / "history.sqlite3"
    damaged.write_bytes(bytes(range(256)) * 100)
    monkeypatch.setenv("CHAINSTUDIO_DATA_DIR", str(data))
    monkeypatch.setenv("CHAINSTUDIO_CONFIG_DIR", str(tmp_path / "config"))
    window = _window_on_own_folders(qtbot, tmp_path)
    (problem,) = window.services.problems
    assert str(damaged) in problem and "rename or delete it" in problem
    qtbot.waitUntil(lambda: "History tab" in window.statusBar().currentMessage(), timeout=3000)
    assert window.history.panel.message.text() == problem
    assert damaged.read_bytes() == bytes(range(256)) * 100
    assert window.services.history.path != damaged
