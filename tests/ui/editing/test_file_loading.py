"""A big graph file is read on a worker thread while the window says "Opening <name>…" (issue 14); a broken
one still gives its one-line reason; a second Open meanwhile wins; edits made meanwhile are not dropped
without asking. Small files open at once, as before."""

import threading

from chainstudio.core.editing.commands import MoveNodes
from chainstudio.core.storage import fileformat
from chainstudio.ui.editing import file_loader
from tests.conftest import EXAMPLES

HYBRID = EXAMPLES / "research-hybrid.chain.json"
SEQUENTIAL = EXAMPLES / "research-sequential.chain.json"


def read_on_a_worker(monkeypatch, gate: threading.Event | None = None) -> list[str]:
    """Every file counts as big; the names of the threads that read them (each waits for ``gate``)."""
    monkeypatch.setattr(file_loader, "ASYNC_ABOVE", 0)
    threads: list[str] = []
    real = fileformat.load

    def load(path):
        threads.append(threading.current_thread().name)
        if gate is not None and path.name == HYBRID.name:
            gate.wait(10)
        return real(path)

    monkeypatch.setattr(file_loader.fileformat, "load", load)
    return threads


def test_a_big_file_is_read_on_a_worker_while_the_window_says_so(window, qtbot, monkeypatch):
    gate = threading.Event()
    threads = read_on_a_worker(monkeypatch, gate)
    before = window.document.graph
    assert window.open_path(HYBRID)
    assert window.statusBar().currentMessage() == f"Opening {HYBRID.name}…"
    assert window.view._opening == HYBRID.name and not window.view.shows_hint  # over the canvas too
    assert window.document.graph is before  # nothing replaced yet: the window's loop goes on
    gate.set()
    qtbot.waitUntil(lambda: window.document.graph is not before, timeout=10000)
    assert threads and threading.main_thread().name not in threads
    assert window.document.path == HYBRID.absolute() and window.document.graph.name == fileformat.load(HYBRID).name
    assert window.statusBar().currentMessage() == f"Opened {HYBRID.name}"
    assert window.view._opening is None


def test_a_broken_file_read_on_a_worker_gives_the_same_one_line_reason(window, qtbot, monkeypatch, tmp_path):
    broken = tmp_path / "broken.chain.json"
    broken.write_text('{"format": "chainstudio/graph", "version": 1, "nodes": [{"id": "a"}]}')
    assert not window.open_path(broken)  # a small file: read at once, as before
    at_once = window.statusBar().currentMessage()
    window.files.dialog.done(0)
    qtbot.waitUntil(lambda: window.files.dialog is None, timeout=5000)
    threads = read_on_a_worker(monkeypatch)
    before = window.document.graph
    assert window.open_path(broken)  # being read
    qtbot.waitUntil(lambda: window.files.dialog is not None, timeout=10000)
    assert threads and threading.main_thread().name not in threads
    assert window.statusBar().currentMessage() == at_once
    assert at_once.startswith("Cannot open broken.chain.json: nodes[0]") and "\n" not in at_once
    assert "cannot be opened" in window.files.dialog.text()
    assert window.document.graph is before


def test_a_second_open_while_one_is_read_wins(window, qtbot, monkeypatch):
    gate = threading.Event()
    read_on_a_worker(monkeypatch, gate)
    assert window.open_path(HYBRID)  # waits for the gate
    assert window.open_path(SEQUENTIAL)  # read meanwhile, and opened
    qtbot.waitUntil(lambda: window.document.path == SEQUENTIAL.absolute(), timeout=10000)
    gate.set()  # the first file's graph arrives now: thrown away
    qtbot.wait(300)
    assert window.document.path == SEQUENTIAL.absolute()
    assert window.statusBar().currentMessage() == f"Opened {SEQUENTIAL.name}"


def test_edits_made_while_a_file_is_read_are_not_dropped_without_asking(window, qtbot, monkeypatch):
    assert window.open_path(SEQUENTIAL)  # small: at once
    gate = threading.Event()
    read_on_a_worker(monkeypatch, gate)
    assert window.open_path(HYBRID)
    node_id = next(iter(window.document.graph.nodes))
    window.document.execute(MoveNodes({node_id: (3.0, 4.0)}))  # an edit while the file is read
    gate.set()
    qtbot.waitUntil(lambda: window.files.dialog is not None, timeout=10000)
    assert window.files.dialog.windowTitle() == "Unsaved changes"
    assert window.document.graph.nodes[node_id].position == (3.0, 4.0)
