"""``chainstudio bench``: the seed's table over the research examples, and the JSON runs."""

import json

from chainstudio.__main__ import main
from tests.conftest import EXAMPLES

FILES = [str(EXAMPLES / f"research-{name}.chain.json") for name in ("sequential", "parallel", "hybrid")]


def test_bench_prints_the_seed_table_with_marks_and_speedups(tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = main(["bench", *FILES, "--speed", "40", "--json", str(out)])
    text = capsys.readouterr().out
    assert code == 0
    assert "Strategy" in text and "Latency" in text and "Tokens" in text and "Calls" in text and "Cost" in text
    assert "SIMULATED" in text
    assert "Fastest: research-parallel" in text and "Cheapest:" in text
    runs = json.loads(out.read_text())["runs"]
    assert [r["file"] for r in runs] == FILES
    walls = {r["graph"]: r["wall_ms"] for r in runs}
    assert walls["research-parallel"] < walls["research-hybrid"] < walls["research-sequential"]
    row = next(line for line in text.splitlines() if line.startswith("research-parallel"))
    assert "fastest" in row and "x" in row


def test_bench_strategies_and_repeat(tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = main(
        ["bench", FILES[1], "--strategies", "sequential,eager", "--repeat", "2", "--speed", "100", "--json", str(out)]
    )
    text = capsys.readouterr().out
    runs = json.loads(out.read_text())["runs"]
    assert code == 0 and len(runs) == 4
    assert [r["strategy"] for r in runs] == ["sequential", "sequential", "eager", "eager"]
    assert "research-parallel (eager)" in text and "research-parallel (sequential)" in text
    assert runs[0]["output_chars"] != runs[1]["output_chars"] or runs[0]["wall_ms"] != runs[1]["wall_ms"]


def test_bench_refuses_unknown_strategies(capsys):
    assert main(["bench", FILES[0], "--strategies", "random"]) == 2
    assert "unknown random" in capsys.readouterr().err
