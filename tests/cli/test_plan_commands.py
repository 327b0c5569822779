import json

from tests.cli.test_cli_foundation import cli
from tests.conftest import EXAMPLES


def test_estimate_json(tmp_path):
    out = tmp_path / "e.json"
    result = cli(
        "estimate",
        EXAMPLES / "research-hybrid.chain.json",
        "--strategy",
        "layered",
        "--concurrency",
        "2",
        "--json",
        out,
        "--no-history",
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert {"wall_ms", "input_tokens", "output_tokens", "cost_usd", "nodes"} <= set(data)
    assert data["strategy"] == "layered" and data["concurrency"] == 2
    names = [n["name"] for n in data["nodes"]]
    assert names[:4] == ["topic", "hardware", "software", "commercial"]
    hardware = data["nodes"][1]
    assert hardware["input_tokens"] > 0 and hardware["output_tokens"] > 0 and hardware["basis"] == "simulator profile"
    assert "Predicted wall time" in result.stdout


def test_estimate_budget_warning_and_bad_file(tmp_path):
    result = cli("estimate", EXAMPLES / "research-hybrid.chain.json", "--cost-cap", "0.000001", "--no-history")
    assert result.returncode == 0 and "over the cap" in result.stdout
    bad = tmp_path / "bad.chain.json"
    bad.write_text("{")
    result = cli("estimate", bad)
    assert result.returncode == 2 and "not valid JSON" in result.stderr and "Traceback" not in result.stderr


def test_advise_points_out_independent_steps(tmp_path):
    out = tmp_path / "a.json"
    result = cli("advise", EXAMPLES / "research-sequential.chain.json", "--json", out, "--no-history")
    assert result.returncode == 0, result.stderr
    assert "research-sequential is sequential" in result.stdout
    assert "Remove all 4 edges that carry no data" in result.stdout
    data = json.loads(out.read_text())
    assert data["shape"] == "sequential"
    assert data["advice"][0]["kind"] == "ordering_edges" and data["advice"][0]["wall_ms_saved"] > 0


def test_estimate_for_an_endpoint_without_history_is_an_uncalibrated_range(tmp_path):
    out = tmp_path / "e.json"
    args = ["--provider", "openai", "--base-url", "http://127.0.0.1:9/v1", "--json", out]
    result = cli("estimate", EXAMPLES / "research-parallel.chain.json", *args)
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())  # rich wraps long lines
    assert "uncalibrated: no recorded runs of gpt-4o on http://127.0.0.1:9/v1" in text
    assert "(uncalibrated)" in text and "Uncalibrated:" in text
    data = json.loads(out.read_text())
    assert data["calibrated"] is False and data["endpoint"] == "http://127.0.0.1:9/v1"
    low, high = data["wall_ms_range"]
    assert low < data["wall_ms"] <= high
    known = cli("estimate", EXAMPLES / "research-parallel.chain.json", *args, "--capacity", "1")
    assert "serves 1 request at a time, the rest queue (as given)" in " ".join(known.stdout.split())


def no_default_file(tmp_path, name="research-hybrid"):
    data = json.loads((EXAMPLES / f"{name}.chain.json").read_text())
    data["inputs"][0]["default"] = None
    path = tmp_path / "no-default.chain.json"
    path.write_text(json.dumps(data))
    return path


def test_estimate_and_advise_with_an_input_without_default_use_a_placeholder_and_say_so(tmp_path):
    """Issue 12, item 4: ``estimate`` crashed with a TypeError and ``advise`` said "No model calls"."""
    path = no_default_file(tmp_path)
    out = tmp_path / "e.json"
    result = cli("estimate", path, "--no-history", "--json", out)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "topic has no value: estimated with a 50-token placeholder" in result.stdout
    assert "--set topic=" in result.stdout
    data = json.loads(out.read_text())
    assert data["placeholder_inputs"] == ["topic"] and data["api_calls"] == 6 and data["wall_ms"] > 0
    advice = cli("advise", path, "--no-history")
    assert advice.returncode == 0 and "No model calls" not in advice.stdout
    assert "placeholder" in advice.stdout and "Concurrency 3 is enough" in advice.stdout
    given = cli("estimate", path, "--no-history", "--set", "topic=qubits")
    assert given.returncode == 0 and "placeholder" not in given.stdout
