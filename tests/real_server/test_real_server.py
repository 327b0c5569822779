"""Against a real LLM server over real HTTP (the tier's servers: see conftest.py). Short on purpose: a few
steps of a few tokens each (Gemma 3 270M is a base model: it rarely stops, so every step has max_tokens)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chainstudio.core.graph.model import Graph, GraphInput
from chainstudio.core.planning.calibration import calibrate
from chainstudio.core.planning.estimate import estimate
from chainstudio.core.run.executor import Run, Strategy
from chainstudio.core.storage.fileformat import save
from chainstudio.core.storage.history import RunHistory
from tests.conftest import ROOT
from tests.real_server.runs import real_run
from tests.real_server.server import MODEL_ALIAS, RunningServer

pytestmark = pytest.mark.timeout(600)
MAX_TOKENS = 24


def fan_graph(width: int = 3) -> Graph:
    """``width`` angles at once, then an aggregate that reads them all."""
    g = Graph("real-server-fan", inputs=[GraphInput("topic", "quantum computing")])
    g.add("input", "topic", input="topic")
    for i in range(width):
        prompt = f"Write about {{{{ topic }}}}, angle {i}:"
        g.add("llm", f"angle{i}", prompt=prompt, max_tokens=MAX_TOKENS, timeout=300.0)
        g.connect("topic", f"angle{i}")
    reads = " ".join(f"{{{{ angle{i} }}}}" for i in range(width))
    g.add("llm", "aggregate", prompt=f"Summarise: {reads}", max_tokens=MAX_TOKENS, timeout=300.0)
    for i in range(width):
        g.connect(f"angle{i}", "aggregate")
    g.add("output", "out")
    g.connect("aggregate", "out")
    return g


def run_once(server: RunningServer, graph: Graph, history: RunHistory, strategy: Strategy = "eager") -> Run:
    return real_run(server.base_url, graph, history, strategy)


def test_runs_on_the_real_server_calibrate_the_latency_model(real_server: RunningServer, tmp_path: Path) -> None:
    history = RunHistory(tmp_path / "history.sqlite3")
    graph = fan_graph()
    first = run_once(real_server, graph, history)
    assert first.state.status == "succeeded", first.state.message
    for span in first.state.spans.values():
        if span.kind == "llm":
            assert span.output and span.output_tokens > 0 and span.input_tokens > 0

    model = calibrate(history, graph, real_server.base_url)
    fit = model.fit(MODEL_ALIAS)
    assert fit.calibrated and fit.attempts == 4 and model.runs == 1
    assert fit.speed.tokens_per_second is not None and 1 < fit.speed.tokens_per_second < 5000
    assert fit.output_fraction > 0.5  # a base model fills most of max_tokens
    assert model.capacity.measured and model.capacity.max_in_flight == 3
    if real_server.kind == "llama-cpp-python":
        assert model.capacity.effective == 1, model.capacity  # it serves one request at a time
    else:
        assert model.capacity.slots is None or model.capacity.slots >= 3, model.capacity  # slots: all admitted

    eager = estimate(graph, model=MODEL_ALIAS, latency=model)
    sequential = estimate(graph, model=MODEL_ALIAS, latency=model, strategy="sequential")
    assert not eager.uncalibrated and eager.calibrated == 4
    if real_server.kind == "llama-cpp-python":
        assert eager.wall_ms == pytest.approx(sequential.wall_ms, rel=0.15)  # no speed-up where there is none

    second = run_once(real_server, graph, history, strategy="sequential")  # primed by the first
    assert second.state.status == "succeeded", second.state.message
    assert set(second.context.step_seconds) == {n.id for n in graph.nodes.values() if n.kind == "llm"}
    assert calibrate(history, graph, real_server.base_url).fit(MODEL_ALIAS).runs == 2


def test_the_cli_runs_and_estimates_against_the_real_server(real_server: RunningServer, tmp_path: Path) -> None:
    graph_file = tmp_path / "fan.chain.json"
    save(fan_graph(2), graph_file)
    env = dict(os.environ, CHAINSTUDIO_DATA_DIR=str(tmp_path / "data"), COLUMNS="200")
    common = ["--provider", "openai", "--base-url", real_server.base_url, "--model", MODEL_ALIAS]

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "chainstudio", *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=500)

    before = json.loads(cli("estimate", str(graph_file), *common, "--json", "-").stdout)
    assert before["calibrated"] is False and before["uncalibrated_models"] == [MODEL_ALIAS]
    ran = cli("run", str(graph_file), *common, "--json", str(tmp_path / "run.json"), "--no-output")
    assert ran.returncode == 0, ran.stderr + ran.stdout
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["status"] == "succeeded" and record["api_calls"] == 3
    assert "steps in flight" in ran.stdout and "parallelism" not in ran.stdout
    after = json.loads(cli("estimate", str(graph_file), *common, "--json", "-").stdout)
    assert after["calibrated"] is True and after["wall_ms_range"] is None and after["calibrated_steps"] == 3
    if real_server.kind == "llama-cpp-python":
        assert after["capacity"] == 1 and "serves 1 request at a time" in after["basis"]
