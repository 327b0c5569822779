"""``chainstudio batch --batch-api``: issue 17's done-means for the Batch API lever. A 50-row dataset through
research-sequential, live (eager) and through the fake server's ``/v1/files`` + ``/v1/batches`` (real HTTP),
with the batch price applied; the Batch API config is the trade-off view's third, cheapest point."""

import json

from tests.cli.test_run import cli
from tests.conftest import EXAMPLES
from tests.support.fake_openai_server import FakeOpenAIServer

SEQUENTIAL = str(EXAMPLES / "research-sequential.chain.json")
KEY = "sk-batch-cli-secret-777"
ROWS = 50


def test_fifty_rows_complete_through_the_batch_api_at_half_the_price(tmp_path):
    dataset = tmp_path / "rows.jsonl"
    dataset.write_text("".join(json.dumps({"topic": f"topic {i}", "expected": "no"}) + "\n" for i in range(ROWS)))
    prices = tmp_path / "prices.json"  # the local server is free unless its model has a price
    prices.write_text(json.dumps({"gpt-4o": {"input": 2.5, "output": 10}}))
    out, summary = tmp_path / "results.jsonl", tmp_path / "summary.json"
    with FakeOpenAIServer(api_key=KEY) as server:
        server.batches.step_delay = 0.02
        result = cli(
            "batch", SEQUENTIAL, "--dataset", str(dataset), "--out", str(out), "--summary", str(summary),
            "--strategy", "eager,sequential", "--batch-api", "--batch-poll", "0.05", "--check", "exact",
            "--provider", "openai", "--base-url", server.url, "--api-key-env", "BATCH_KEY",
            "--prices", str(prices), "--concurrency", "8",
            env={"BATCH_KEY": KEY},
        )  # fmt: skip
        stats, uploads = server.stats, len(server.batches.batches)
    assert result.returncode == 0, result.stderr + result.stdout
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    api = [line for line in lines if line["strategy"] == "batch-api"]
    live = {line["row"]: line for line in lines if line["strategy"] == "eager"}
    assert len(lines) == 3 * ROWS and [line["row"] for line in api] == list(range(ROWS))
    assert uploads == 6  # one batch per layer of model steps: research-sequential has six
    assert stats.requests == 3 * ROWS * 6
    for line in api:
        assert line["status"] == "succeeded" and line["api_calls"] == 6 and "exact" in line["scores"]
        assert line["price"].startswith("50 % of the standard price (OpenAI Batch API")
        standard = (line["input_tokens"] * 2.5 + line["output_tokens"] * 10) / 1e6
        assert abs(line["cost_usd"] - standard / 2) < 1e-12
        assert line["input_tokens"] == live[line["row"]]["input_tokens"]  # the same prompts as a live run
        assert abs(line["cost_usd"] - live[line["row"]]["cost_usd"] / 2) < 1e-12
    configs = {c["strategy"]: c for c in json.loads(summary.read_text())["configs"]}
    assert configs.keys() == {"eager", "sequential", "batch-api"}
    cheapest = min(configs["eager"]["cost_per_row_usd"], configs["sequential"]["cost_per_row_usd"])
    assert configs["batch-api"]["cost_per_row_usd"] < cheapest and configs["batch-api"]["pareto"]
    assert "Batch API, layer 6/6" in result.stdout and "completed" in result.stdout
    assert "Batch API runs at the batch price, answered within 24 h" in result.stdout
    for text in (result.stdout, result.stderr, out.read_text(), summary.read_text()):
        assert KEY not in text


def test_batch_api_needs_an_openai_server(tmp_path):
    dataset = tmp_path / "rows.csv"
    dataset.write_text("topic\nquantum\n")
    result = cli("batch", SEQUENTIAL, "--dataset", str(dataset), "--out", str(tmp_path / "o.jsonl"), "--batch-api")
    assert result.returncode == 2 and "--batch-api needs --provider openai" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "o.jsonl").exists()
