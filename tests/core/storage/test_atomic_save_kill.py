"""Killing the process during a save leaves the old file or the new one, never a truncated one."""

import os
import signal
import subprocess
import sys
import time

from tests.conftest import ROOT

WRITER = r"""
import sys
from chainstudio.core.storage.fileformat import save, dumps
from chainstudio.core.graph.model import Graph
path = sys.argv[1]
graphs = []
for version in range(2):
    g = Graph(f"v{version}")
    for i in range(3000):
        # fixed ids: every writer writes the same bytes, so a writer killed before its first save
        # leaves the previous writer's file, which is still one of .a/.b
        g.add("llm", f"n{i}", node_id=f"node-{i:06d}", prompt=f"version {version} step {i} " + "x" * 50)
    graphs.append(g)
open(path + ".a", "w").write(dumps(graphs[0]))
open(path + ".b", "w").write(dumps(graphs[1]))
print("ready", flush=True)
i = 0
while True:
    save(graphs[i % 2], path)
    i += 1
"""


def test_sigkill_during_saves_never_leaves_a_torn_file(tmp_path):
    path = tmp_path / "g.chain.json"
    outcomes = set()
    for attempt in range(12):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.05 + 0.037 * attempt)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        if not path.exists():
            outcomes.add("none yet")
            continue
        data = path.read_text()
        valid = {(tmp_path / "g.chain.json.a").read_text(): "a", (tmp_path / "g.chain.json.b").read_text(): "b"}
        assert data in valid, f"torn file after kill #{attempt}: {len(data)} bytes"
        outcomes.add(valid[data])
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    # a kill between mkstemp and rename may leave a hidden temporary file, never a damaged target
    assert all(name.startswith(".g.chain.json.") for name in leftovers)
    assert outcomes & {"a", "b"}
