"""SIGKILL during cache writes never corrupts the cache: real writer processes killed at random moments."""

import os
import signal
import subprocess
import sys
import time

from chainstudio.core.storage.step_cache import StepCacheStore
from tests.conftest import ROOT

WRITER = r"""
import hashlib, sys
from chainstudio.core.run.cache import StoredStep
from chainstudio.core.storage.step_cache import StepCacheStore
store = StepCacheStore(sys.argv[1], max_bytes=3_000_000)  # small: evictions happen while being killed
print("ready", flush=True)
i = int(sys.argv[2])
while True:
    text = f"answer {i} " + "x" * (i % 4000)
    digest = hashlib.sha256(text.encode()).hexdigest()
    store.put(f"key-{i}", StoredStep(text, i, i, None, 1, None, 0.5, "m", digest))
    if i % 7 == 0:
        store.get(f"key-{i // 2}")
    i += 1
"""


def test_sigkill_during_cache_writes_never_corrupts_it(tmp_path):
    import hashlib

    path = tmp_path / "cache.sqlite3"
    start = 0
    for attempt in range(10):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(start)], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.05 + 0.043 * attempt)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        store = StepCacheStore(path)
        assert store.check() == "ok", f"damaged after kill #{attempt}"
        db = store._db()
        rows = db.execute("SELECT key, output, meta FROM steps").fetchall()
        for key, _, _ in rows:
            step = store.peek(key)
            # each entry is whole: its text matches the digest written in the same row
            assert hashlib.sha256(step.output.encode()).hexdigest() == step.run_id
        start += 10_000
        store.close()
    assert rows, "the writers never committed anything"
