"""An API key never appears in graph files, run history, exports or logs (searched with a sentinel key)."""

import os
import subprocess
import sys

from chainstudio.core.storage.fileformat import load, save
from tests.conftest import EXAMPLES, ROOT
from tests.support.fake_openai_server import FakeOpenAIServer

SENTINEL = "sk-SENTINEL-7f3a9c2e-do-not-leak"


def test_sentinel_key_appears_in_no_artefact(tmp_path):
    data_dir, config_dir = tmp_path / "data", tmp_path / "config"
    env = {
        **os.environ,
        "SENTINEL_KEY": SENTINEL,
        "CHAINSTUDIO_DATA_DIR": str(data_dir),
        "CHAINSTUDIO_CONFIG_DIR": str(config_dir),
    }
    graph_file = tmp_path / "g.chain.json"
    save(load(EXAMPLES / "research-hybrid.chain.json"), graph_file)
    outputs = {name: tmp_path / name for name in ("run.json", "trace.json", "spans.csv", "gantt.svg", "bench.json")}
    with FakeOpenAIServer(api_key=SENTINEL, chunk_delay=0.001) as server:
        common = [
            "--provider",
            "openai",
            "--base-url",
            server.url,
            "--api-key-env",
            "SENTINEL_KEY",
            "--model",
            "gpt-4o-mini",
        ]
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "chainstudio",
                "run",
                str(graph_file),
                *common,
                "--json",
                str(outputs["run.json"]),
                "--trace",
                str(outputs["trace.json"]),
                "--csv",
                str(outputs["spans.csv"]),
                "--gantt",
                str(outputs["gantt.svg"]),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr
        assert server.stats.completed == 6  # the key really was used: the server accepts only the sentinel
        wrong = subprocess.run(
            [sys.executable, "-m", "chainstudio", "run", str(graph_file), *common],
            cwd=ROOT,
            env={**env, "SENTINEL_KEY": SENTINEL + "x"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert wrong.returncode == 1  # a 401: its error text must not echo the key either
        bench = subprocess.run(
            [
                sys.executable,
                "-m",
                "chainstudio",
                "bench",
                str(graph_file),
                *common,
                "--json",
                str(outputs["bench.json"]),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert bench.returncode == 0, bench.stderr
    logs = run.stdout + run.stderr + wrong.stdout + wrong.stderr + bench.stdout + bench.stderr
    assert SENTINEL not in logs
    artefacts = [graph_file, *outputs.values(), *data_dir.rglob("*"), *config_dir.rglob("*")]
    assert any(p.name.startswith("history.sqlite3") for p in artefacts)
    for path in artefacts:
        if path.is_file():
            assert SENTINEL.encode() not in path.read_bytes(), f"the key leaked into {path}"
