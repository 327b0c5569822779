"""The app started from the command line quits without leaving work behind: background tasks (estimate,
advice, comparison) are stopped while the event loop still runs, so none of them wakes up in its teardown."""

import os
import subprocess
import sys

import pytest

from tests.conftest import EXAMPLES


@pytest.mark.parametrize("files", [[], [str(EXAMPLES / "research-hybrid.chain.json")]], ids=["welcome", "a file"])
def test_quitting_soon_after_start_leaves_no_task_behind(tmp_path, files):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", CHAINSTUDIO_SMOKE_EXIT_MS="1500")  # the first estimate runs
    env.update(CHAINSTUDIO_DATA_DIR=str(tmp_path / "data"), CHAINSTUDIO_CONFIG_DIR=str(tmp_path / "config"))
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-m", "chainstudio", *files], capture_output=True, text=True, timeout=120, env=env
        )
        assert done.returncode == 0, done.stderr
        assert "smoke-exit:" in done.stdout
        assert "Traceback" not in done.stderr and "was never retrieved" not in done.stderr, done.stderr


DRIVER = """
import sys
from PySide6.QtCore import QTimer
from chainstudio.ui import main_window

original = main_window.MainWindow.start

def start(self, files):
    original(self, files)
    self.controller.add_node("llm", (400.0, 400.0))  # an edit that is not saved, nor autosaved yet
    QTimer.singleShot(0, lambda: print("edited", flush=True))  # once the app's start-up has run

main_window.MainWindow.start = start
from chainstudio.ui.app import run_app
sys.exit(run_app(sys.argv[1:]))
"""


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGINT", "SIGHUP"])
def test_a_signal_closes_the_window_and_keeps_unsaved_edits_for_the_next_launch(tmp_path, signame):
    """SIGTERM and SIGHUP ended the app where it stood (edits since the last autosave lost); Ctrl+C in its
    terminal was ignored. Now each autosaves the edits, keeps them for the restore offer, and exits 128+N."""
    import json
    import signal

    graph = tmp_path / "g.chain.json"
    graph.write_bytes((EXAMPLES / "research-hybrid.chain.json").read_bytes())
    before = graph.read_bytes()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", CHAINSTUDIO_AUTOSAVE_MS="600000")
    env["CHAINSTUDIO_SMOKE_EXIT_MS"] = "600000"  # (lets it start offscreen; it never comes)
    env.update(CHAINSTUDIO_DATA_DIR=str(tmp_path / "data"), CHAINSTUDIO_CONFIG_DIR=str(tmp_path / "config"))
    proc = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(graph)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout.readline().strip() == "edited"
        proc.send_signal(getattr(signal, signame))
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 128 + getattr(signal, signame), stderr
    assert "Traceback" not in stderr
    assert graph.read_bytes() == before  # the user's file is not written behind their back
    (autosave,) = (tmp_path / "data" / "autosave").glob("*.chain.json")
    nodes = json.loads(autosave.read_text())["nodes"]
    assert len(nodes) == len(json.loads(before)["nodes"]) + 1
