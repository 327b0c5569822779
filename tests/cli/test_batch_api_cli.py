"""``chainstudio batch-api``: a dataset through a graph on the fake server's Batch API (a subprocess)."""

import csv
import json

from tests.cli.test_run import cli
from tests.conftest import EXAMPLES
from tests.support.fake_openai_server import FakeOpenAIServer

SEQUENTIAL = str(EXAMPLES / "research-sequential.chain.json")
KEY = "sk-batch-cli-secret-777"


def test_fifty_rows_complete_through_the_batch_api_at_half_the_price(tmp_path):
    dataset = tmp_path / "rows.jsonl"
    dataset.write_text("".join(json.dumps({"topic": f"topic {i}", "expected": f"e{i}"}) + "\n" for i in range(50)))
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"gpt-4o": {"input": 2.5, "output": 10}}))
    out, table = tmp_path / "results.jsonl", tmp_path / "results.csv"
    with FakeOpenAIServer(api_key=KEY) as server:
        server.batches.step_delay = 0.02
        result = cli(
            "batch-api", SEQUENTIAL, "--dataset", str(dataset), "--out", str(out), "--csv", str(table),
            "--base-url", server.url, "--api-key-env", "BATCH_KEY", "--prices", str(prices), "--poll", "0.05",
            env={"BATCH_KEY": KEY},
        )  # fmt: skip
        stats = server.stats
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["row"] for line in lines] == list(range(50))
    assert all(line["status"] == "succeeded" and line["mode"] == "batch-api" for line in lines)
    assert lines[7]["columns"] == {"expected": "e7"} and lines[7]["inputs"] == {"topic": "topic 7"}
    assert stats.requests == 50 * 6 and sum(line["input_tokens"] for line in lines) == stats.prompt_tokens
    for line in lines:
        standard = (line["input_tokens"] * 2.5 + line["output_tokens"] * 10) / 1e6
        assert abs(line["standard_cost_usd"] - standard) < 1e-12
        assert abs(line["cost_usd"] - standard / 2) < 1e-12
        assert line["price"].startswith("50 % of the standard price (OpenAI Batch API")
    assert "50/50 rows succeeded" in result.stdout and "cost at the batch price $" in result.stdout
    assert "[layer 6/6]" in result.stderr and "completed" in result.stderr
    rows = list(csv.DictReader(table.open()))
    assert len(rows) == 50 and rows[0]["output:aggregate"] and float(rows[0]["cost_usd"]) == lines[0]["cost_usd"]
    for text in (result.stdout, result.stderr, out.read_text(), table.read_text()):
        assert KEY not in text


def test_a_bad_dataset_or_server_is_one_line_without_a_traceback(tmp_path):
    bad = tmp_path / "rows.jsonl"
    bad.write_text('{"topic": "a"}\nnot json\n')
    result = cli("batch-api", SEQUENTIAL, "--dataset", str(bad), "--out", str(tmp_path / "o.jsonl"))
    assert result.returncode == 2 and "rows.jsonl:2: not JSON" in result.stderr and "Traceback" not in result.stderr
    good = tmp_path / "rows.csv"
    good.write_text("topic\nquantum\n")
    result = cli(
        "batch-api", SEQUENTIAL, "--dataset", str(good), "--out", str(tmp_path / "o.jsonl"),
        "--base-url", "http://127.0.0.1:9/v1", "--poll", "0.05",
    )  # fmt: skip
    assert result.returncode == 1 and "unreachable" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "o.jsonl").exists()
