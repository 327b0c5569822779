"""Autosave and crash recovery, end to end with real processes: edit in the real window, SIGKILL it, and
the next launch offers to restore the edits."""

import os
import signal
import subprocess
import sys

from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest

from chainstudio.core.storage import fileformat
from chainstudio.core.storage.autosave import recoverable
from chainstudio.ui.main_window import MainWindow
from tests.conftest import EXAMPLES, ROOT

EDITOR = r"""
import asyncio, sys, qasync
from PySide6.QtCore import QSettings
from chainstudio.ui.app import create_application
from chainstudio.ui.main_window import MainWindow

async def main():
    window = MainWindow(QSettings(sys.argv[2] + "/ui.ini", QSettings.Format.IniFormat))
    window.show()
    window.open_path(sys.argv[1])
    window.controller.add_node("llm", (900.0, 400.0))
    while window.autosave.autosaves == 0:
        await asyncio.sleep(0.05)
    print("autosaved", len(window.document.graph.nodes), flush=True)
    await asyncio.sleep(120)

app = create_application()
with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
    runner.run(main())
"""


def edit_and_kill(path: str, tmp_path, cwd) -> None:
    """The real window in its own process (started in ``cwd``) opens ``path``, adds a step, autosaves; then
    it is killed with SIGKILL."""
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "CHAINSTUDIO_AUTOSAVE_MS": "200",
        "CHAINSTUDIO_DATA_DIR": str(tmp_path / "data"),
        "CHAINSTUDIO_CONFIG_DIR": str(tmp_path / "config"),
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", EDITOR, path, str(tmp_path)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout.readline().split() == ["autosaved", "9"]
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def test_sigkill_with_unsaved_edits_then_restore(qtbot, tmp_path):
    graph_file = tmp_path / "work.chain.json"
    graph_file.write_bytes((EXAMPLES / "research-hybrid.chain.json").read_bytes())
    edit_and_kill(str(graph_file), tmp_path, cwd=ROOT)
    assert graph_file.read_bytes() == (EXAMPLES / "research-hybrid.chain.json").read_bytes()  # never saved

    # the next launch (this process, the same data directory) offers the edits back
    os.environ["CHAINSTUDIO_DATA_DIR"], old = str(tmp_path / "data"), os.environ["CHAINSTUDIO_DATA_DIR"]
    try:
        (item,) = recoverable()
        assert item.source_file == str(graph_file)
        window = MainWindow(QSettings(str(tmp_path / "ui2.ini"), QSettings.Format.IniFormat))
        qtbot.addWidget(window)
        window.show()
        offered = window.autosave.offer_restore()
        assert offered is not None and window.autosave.offer.isVisible()
        assert (
            "Unsaved changes to" in window.autosave.offer.text() and "work.chain.json" in window.autosave.offer.text()
        )
        window.autosave.offer.button(window.autosave.offer.StandardButton.Yes).click()
        assert len(window.document.graph.nodes) == 9
        assert window.document.modified and str(window.document.path) == str(graph_file)
        assert [r.graph_path for r in recoverable()] == []  # handed over to this session's autosave
        window.autosave.discard()
        window.document.replace(window.document.graph)  # leave without the unsaved-changes prompt
    finally:
        os.environ["CHAINSTUDIO_DATA_DIR"] = old


def test_a_relative_path_restored_from_another_directory_saves_to_the_original_file(qtbot, tmp_path, monkeypatch):
    """Issue 12, item 6: open ``work.chain.json`` by a relative path, edit, SIGKILL; relaunch from another
    directory, Restore, Ctrl+S: the original file gets the edits and nothing appears in the new directory."""
    first, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    first.mkdir()
    elsewhere.mkdir()
    original = (EXAMPLES / "research-hybrid.chain.json").read_bytes()
    (first / "work.chain.json").write_bytes(original)
    edit_and_kill("work.chain.json", tmp_path, cwd=first)  # a path relative to its working directory

    monkeypatch.chdir(elsewhere)  # the next launch starts in another directory
    monkeypatch.setenv("CHAINSTUDIO_DATA_DIR", str(tmp_path / "data"))
    (item,) = recoverable()
    assert item.source_file == str(first / "work.chain.json")
    window = MainWindow(QSettings(str(tmp_path / "ui2.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    with qtbot.waitExposed(window):
        window.show()
    window.start([])  # no files given: the restore offer
    offer = window.autosave.offer
    assert offer is not None and offer.isVisible()
    QTest.mouseClick(offer.button(offer.StandardButton.Yes), Qt.MouseButton.LeftButton)
    assert window.document.modified and window.document.path == first / "work.chain.json"
    with qtbot.waitActive(window):  # the question box had the focus
        window.activateWindow()
    window.view.setFocus()
    QTest.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.document.modified)
    assert list(elsewhere.iterdir()) == []  # no stray file where the second session started
    saved = fileformat.load(first / "work.chain.json")
    assert len(saved.nodes) == 9 and (first / "work.chain.json").read_bytes() != original
    window.autosave.discard()


def test_autosave_follows_edits_and_saves(qtbot, tmp_path):
    window = MainWindow(QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.open_path(EXAMPLES / "code-review.chain.json")
    saver = window.autosave
    saver.autosave()
    assert not saver.saver.graph_path.exists()  # nothing unsaved
    window.controller.add_node("join", (0.0, 0.0))
    saver.autosave()
    assert saver.saver.graph_path.exists() and saver.autosaves == 1
    window.document.save(tmp_path / "saved.chain.json")
    window.document.replace(window.document.graph, tmp_path / "saved.chain.json")
    saver.autosave()
    assert not saver.saver.graph_path.exists()  # saved: the autosave is gone


def test_first_launch_opens_the_welcome_graph_with_the_simulated_banner(qtbot, tmp_path):
    window = MainWindow(QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.show()
    window.start([])
    assert window.document.graph.name == "research-hybrid" and window.document.path is None
    assert window.banner.isVisible() and "Simulated provider active" in window.banner.label.text()
    # the banner follows the provider in effect: a real endpoint is named, never hidden
    window.runs.toolbar.set_options(provider="openai")
    assert window.banner.isVisible() and "Real endpoint active" in window.banner.label.text()
    window.runs.toolbar.set_options(provider="simulated")
    assert window.banner.isVisible() and "Simulated provider active" in window.banner.label.text()


def test_a_big_graph_is_autosaved_on_a_worker_thread(qtbot, qasync_loop, tmp_path, monkeypatch):
    """Writing the 10,000-step graph took 0.6-0.7 s of the window's thread after every edit: over
    ``SMALL_GRAPH_ITEMS`` it is written from a snapshot on a worker, one write at a time, and a discard waits
    for it (no autosave left behind after a clean exit)."""
    import threading

    from chainstudio.core.graph.model import Graph
    from chainstudio.core.storage.autosave import Autosaver

    graph = Graph("big")
    ids = [graph.add("join", f"s{i}", template="x").id for i in range(700)]
    for a, b in zip(ids, ids[1:], strict=False):
        graph.connect(a, b)
    path = tmp_path / "big.chain.json"
    fileformat.save(graph, path)
    window = MainWindow(QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.open_path(path)  # (read on a worker when over 128 kB)
    qtbot.waitUntil(lambda: len(window.document.graph.nodes) == 700, timeout=10_000)
    threads = []
    write = Autosaver.write
    monkeypatch.setattr(Autosaver, "write", lambda self, *a: threads.append(threading.get_ident()) or write(self, *a))
    saver = window.autosave
    window.controller.add_node("join", (0.0, 0.0))
    saver.autosave()
    saver.autosave()  # while the first write is under way: no second one
    qtbot.waitUntil(lambda: saver.autosaves == 1, timeout=10_000)
    assert threads and threads[0] != threading.get_ident() and len(threads) == 1
    assert len(fileformat.load(saver.saver.graph_path).nodes) == 701
    window.controller.add_node("join", (50.0, 0.0))
    saver.autosave()
    saver.discard()  # a clean exit while the write goes on
    assert not saver.saver.graph_path.exists()
    window.document.replace(window.document.graph)
