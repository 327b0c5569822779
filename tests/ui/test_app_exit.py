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
