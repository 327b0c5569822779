"""`chainstudio run` on the mixed local + cloud example against two servers on 127.0.0.1: each step goes to
its endpoint profile (from the settings file the GUI writes), the table, the record and the exports say
which, and the cloud profile's key (a sentinel) appears in no artefact."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

from chainstudio.core.storage.fileformat import load, save
from tests.conftest import EXAMPLES, ROOT
from tests.support.fake_openai_server import FakeOpenAIServer

SENTINEL = "sk-ENDPOINT-SENTINEL-91c4e7-do-not-leak"


def write_settings(config_dir, local_url: str, cloud_url: str) -> None:
    config_dir.mkdir(parents=True)
    settings = {
        "endpoints": [
            {"name": "local", "base_url": local_url, "key_ref": "", "requests_per_minute": 100},
            {"name": "cloud", "base_url": cloud_url, "key_ref": "stored", "default_model": "gpt-4o-mini"},
        ]
    }
    (config_dir / "settings.json").write_text(json.dumps(settings))
    credentials = config_dir / "credentials.json"  # no keyring in the tests: the 0600 file holds the key
    credentials.write_text(json.dumps({"endpoints": {"cloud": SENTINEL}}))
    credentials.chmod(0o600)


def chainstudio(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chainstudio", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_each_step_runs_on_its_endpoint_and_no_key_leaks(tmp_path):
    data_dir, config_dir = tmp_path / "data", tmp_path / "config"
    env = {**os.environ, "CHAINSTUDIO_DATA_DIR": str(data_dir), "CHAINSTUDIO_CONFIG_DIR": str(config_dir)}
    graph_file = tmp_path / "mixed.chain.json"
    save(load(EXAMPLES / "mixed-local-cloud.chain.json"), graph_file)
    outputs = {name: tmp_path / name for name in ("run.json", "trace.json", "spans.csv")}
    with FakeOpenAIServer(chunk_delay=0) as local, FakeOpenAIServer(chunk_delay=0, api_key=SENTINEL) as cloud:
        write_settings(config_dir, local.url, cloud.url)
        run = chainstudio(
            "run",
            str(graph_file),
            "--endpoint",
            "local",
            "--no-stream",
            "--json",
            str(outputs["run.json"]),
            "--trace",
            str(outputs["trace.json"]),
            "--csv",
            str(outputs["spans.csv"]),
            env=env,
        )
        local_models = sorted(e["model"] for e in local.stats.log)
        cloud_models = [e["model"] for e in cloud.stats.log]
        history = chainstudio("history", "show", json.loads(outputs["run.json"].read_text())["run_id"], env=env)
        unknown = chainstudio("run", str(graph_file), "--endpoint", "nope", env=env)
    assert run.returncode == 0, run.stderr
    assert local_models == ["llama3.1:8b"] * 3  # facts, risks, tone
    assert cloud_models == ["gpt-4o-mini"]  # brief: the cloud profile's model, sent with its key
    assert "Endpoint cloud · " + cloud.url in run.stdout
    table_line = next(line for line in run.stdout.splitlines() if line.startswith("brief"))
    assert "cloud" in table_line.split()
    record = json.loads(outputs["run.json"].read_text())
    assert {n["name"]: n["endpoint"] for n in record["nodes"]} == {
        "document": "",
        "facts": "local",
        "risks": "local",
        "tone": "local",
        "brief": "cloud",
        "result": "",
    }
    rows = list(csv.DictReader(io.StringIO(outputs["spans.csv"].read_text())))
    assert {r["name"]: r["endpoint"] for r in rows}["brief"] == "cloud"
    assert '"endpoint": "local"' in outputs["trace.json"].read_text()
    assert history.returncode == 0, history.stderr
    assert "cloud" in next(line for line in history.stdout.splitlines() if line.startswith("brief")).split()
    assert unknown.returncode == 2
    assert unknown.stderr.strip().endswith("no endpoint profile 'nope' in Settings (profiles: local, cloud)")
    assert len(unknown.stderr.strip().splitlines()) == 1
    logs = run.stdout + run.stderr + history.stdout + history.stderr + unknown.stdout + unknown.stderr
    assert SENTINEL not in logs
    artefacts = [graph_file, *outputs.values(), *data_dir.rglob("*"), *config_dir.rglob("*")]
    assert any(p.name.startswith("history.sqlite3") for p in artefacts)
    for path in artefacts:
        if path.is_file() and path.name != "credentials.json":  # the one place the key belongs
            assert SENTINEL.encode() not in path.read_bytes(), f"the key leaked into {path}"
