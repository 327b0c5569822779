"""Records that keep work: a CLI run stopped by Ctrl+C or SIGTERM still writes --json and its history row,
a killed one keeps the steps that finished; the text streams; limits saved in Settings apply; and the
``history`` command lists, shows, compares and exports recorded runs."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chainstudio.core.graph.model import Graph, GraphInput
from chainstudio.core.storage.fileformat import save
from chainstudio.core.storage.history import RunHistory
from tests.conftest import EXAMPLES, ROOT
from tests.support.fake_openai_server import FakeOpenAIServer, Mode

HYBRID = str(EXAMPLES / "research-hybrid.chain.json")


def slow_second_step(tmp_path: Path, name: str) -> str:
    """A chain a -> b whose b the fake server answers only after 60 s."""
    g = Graph(name, inputs=[GraphInput("topic", "t")])
    g.add("input", "topic", input="topic")
    g.add("llm", "a", prompt="first on {{ topic }}", max_tokens=50)
    g.add("llm", "b", prompt="second after {{ a }} [[delay=60]]", max_tokens=50)
    g.add("output", "out")
    g.connect("topic", "a")
    g.connect("a", "b")
    g.connect("b", "out")
    path = tmp_path / f"{name}.chain.json"
    save(g, path)
    return str(path)


def start_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "chainstudio", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OPENAI_API_KEY": "sk-local", **(env or {})},
    )


def wait_for_second_request(server: FakeOpenAIServer, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any("second after" in e.get("prompt", "") for e in server.stats.log):
            return
        time.sleep(0.05)
    raise AssertionError("the second request never came")


def history_runs(name: str) -> list:
    return RunHistory().runs(graph_name=name)


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_stopped_run_writes_its_json_and_history_with_what_finished(tmp_path, signum, code):
    name = f"stopped-{signum.name.lower()}"
    graph_file = slow_second_step(tmp_path, name)
    out = tmp_path / "run.json"
    with FakeOpenAIServer(chunk_delay=0) as server:
        proc = start_cli("run", graph_file, "--provider", "openai", "--base-url", server.url, "--json", str(out))
        wait_for_second_request(server)
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == code, stderr
    assert "stopping the run" in stderr and "Traceback" not in stderr
    record = json.loads(out.read_text())
    nodes = {n["name"]: n for n in record["nodes"]}
    assert record["status"] == "cancelled"
    assert nodes["a"]["status"] == "succeeded" and nodes["a"]["output"]  # the work that finished is kept
    assert nodes["b"]["status"] == "cancelled"
    (row,) = history_runs(name)
    assert row.status == "cancelled"
    replay = RunHistory().state(row.run_id)
    assert replay.span_by_name("a").output == nodes["a"]["output"]


@pytest.mark.timeout(120)
def test_a_killed_run_keeps_the_steps_that_finished_in_the_history(tmp_path):
    name = "killed-run"
    graph_file = slow_second_step(tmp_path, name)
    with FakeOpenAIServer(chunk_delay=0) as server:
        proc = start_cli("run", graph_file, "--provider", "openai", "--base-url", server.url)
        wait_for_second_request(server)
        time.sleep(0.5)  # the finished step's batch is written off the event loop, within milliseconds
        proc.kill()
        proc.communicate(timeout=30)
    (row,) = history_runs(name)
    assert row.status == "interrupted"  # its process is gone
    state = RunHistory().state(row.run_id)
    assert state.span_by_name("a").status == "succeeded" and state.span_by_name("a").output
    assert not state.span_by_name("b").done  # the step in flight is what was lost


def test_stream_shows_the_text_as_it_arrives_and_json_has_outputs(tmp_path):
    out = tmp_path / "run.json"
    result = subprocess.run(
        [sys.executable, "-m", "chainstudio", "run", HYBRID, "--speed", "200", "--stream", "aggregate"]
        + ["--no-output", "--no-history", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    record = json.loads(out.read_text())
    aggregate = next(n for n in record["nodes"] if n["name"] == "aggregate")
    assert "── aggregate (attempt 1) ──" in result.stdout
    assert aggregate["output"] and aggregate["output"][:200] in result.stdout  # streamed while it ran
    assert record["outputs"] and all(record["outputs"].values())
    bad = subprocess.run(
        [sys.executable, "-m", "chainstudio", "run", HYBRID, "--stream", "nope"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "--stream: no step named 'nope'" in bad.stderr


def test_rate_limits_saved_in_settings_apply_to_the_cli(tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.json").write_text(json.dumps({"requests_per_minute": 30, "tokens_per_minute": 100000}))
    env = {**os.environ, "CHAINSTUDIO_CONFIG_DIR": str(config)}
    result = subprocess.run(
        [sys.executable, "-m", "chainstudio", "run", HYBRID, "--speed", "200", "--no-output"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "Rate limits: at most 30 requests and 100000 tokens per minute" in result.stdout
    newest = RunHistory().runs(graph_name="research-hybrid", limit=1)[0]
    assert (newest.settings["rpm"], newest.settings["tpm"]) == (30, 100000)


def test_csv_marks_simulated_rows(tmp_path):
    spans = tmp_path / "s.csv"
    result = subprocess.run(
        [sys.executable, "-m", "chainstudio", "run", HYBRID, "--speed", "200", "--no-output", "--csv", str(spans)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(spans.read_text())))
    assert rows and all(r["simulated"] == "true" and r["tokens_estimated"] == "false" for r in rows)


def test_history_lists_shows_compares_and_exports(tmp_path):
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "chainstudio", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
        )

    for strategy in ("sequential", "eager"):
        assert cli("run", HYBRID, "--speed", "200", "--no-output", "--strategy", strategy).returncode == 0
    runs = RunHistory().runs(graph_name="research-hybrid", limit=2)
    listing = cli("history", "list", "--graph", "research-hybrid", "--limit", "2")
    assert listing.returncode == 0 and all(r.run_id in listing.stdout for r in runs)
    shown = cli("history", "show", runs[0].run_id[:10], "--json", "-")
    record = json.loads(shown.stdout)
    assert record["run_id"] == runs[0].run_id and record["strategy"] == "eager" and record["outputs"]
    compared = cli("history", "compare", runs[1].run_id, runs[0].run_id)
    assert compared.returncode == 0 and "=== BENCHMARK RESULTS ===  (SIMULATED)" in compared.stdout
    assert "fastest" in compared.stdout
    files = {n: tmp_path / n for n in ("r.json", "s.csv", "t.json")}
    exported = cli("history", "export", runs[0].run_id, "--json", files["r.json"], "--csv", files["s.csv"])
    exported2 = cli("history", "export", runs[0].run_id, "--trace", str(files["t.json"]))
    assert exported.returncode == exported2.returncode == 0
    assert json.loads(files["r.json"].read_text())["run_id"] == runs[0].run_id
    assert "traceEvents" in json.loads(files["t.json"].read_text())
    missing = cli("history", "show", "run-nope")
    assert missing.returncode == 2 and "no run 'run-nope' in the history" in missing.stderr


def test_advise_honours_model():
    def advise(*extra: str) -> dict:
        result = subprocess.run(
            [sys.executable, "-m", "chainstudio", "advise", HYBRID, "--no-history", "--json", "-", *extra],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert "not used by advise" not in result.stderr
        return json.loads(result.stdout)

    default, mini = advise(), advise("--model", "gpt-4o-mini")
    assert mini["cost_usd"] < default["cost_usd"] / 5  # priced as gpt-4o-mini


def test_estimated_tokens_and_a_free_local_server_are_said_in_the_output(tmp_path):
    out = tmp_path / "run.json"
    with FakeOpenAIServer(mode=Mode(stream_usage=False, answer_model="gemma"), chunk_delay=0) as server:
        result = subprocess.run(
            [sys.executable, "-m", "chainstudio", "run", HYBRID, "--provider", "openai", "--base-url", server.url]
            + ["--no-output", "--no-history", "--json", str(out)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "OPENAI_API_KEY": "sk-local"},
        )
    assert result.returncode == 0, result.stderr
    assert "Prices: local server 127.0.0.1: free unless you set a price" in result.stdout
    assert "~ estimated: the server did not count some steps' tokens" in result.stdout
    assert "answered by gemma (asked for gpt-4o); priced as gemma" in result.stdout
    record = json.loads(out.read_text())
    assert record["tokens_estimated"] and record["cost_usd"] == 0.0
    assert record["pricing_note"] == "local server 127.0.0.1: free unless you set a price"
