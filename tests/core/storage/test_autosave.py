import os
import signal
import subprocess
import sys

from chainstudio.core.storage.autosave import Autosaver, recoverable
from chainstudio.core.storage.fileformat import dumps
from tests.conftest import ROOT
from tests.core.helpers import fan_out

CHILD = r"""
import sys, time
from pathlib import Path
from chainstudio.core.storage.autosave import Autosaver
from tests.core.helpers import fan_out
saver = Autosaver(Path(sys.argv[1]))
graph = fan_out(3)
graph.name = "unsaved-work"
saver.write(graph, "/tmp/original.chain.json")
print("saved", flush=True)
time.sleep(60)
"""


def test_autosave_of_a_killed_process_is_recoverable(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "saved"
    assert recoverable(tmp_path) == []  # still running: not offered
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    (item,) = recoverable(tmp_path)
    assert item.source_file == "/tmp/original.chain.json" and item.graph_name == "unsaved-work"
    graph = item.load()
    assert [n.name for n in graph.nodes.values()] == ["topic", "b0", "b1", "b2", "merged", "out"]
    item.discard()
    assert recoverable(tmp_path) == [] and list(tmp_path.iterdir()) == []


def test_clear_on_clean_exit(tmp_path):
    saver = Autosaver(tmp_path)
    graph = fan_out(1)
    saver.write(graph, None)
    assert saver.graph_path.read_text() == dumps(graph)
    saver.clear()
    assert list(tmp_path.iterdir()) == []
