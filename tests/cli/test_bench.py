"""``chainstudio bench``: the seed's table over the research examples, and the JSON runs."""

import json

from chainstudio.__main__ import main
from tests.conftest import EXAMPLES

FILES = [str(EXAMPLES / f"research-{name}.chain.json") for name in ("sequential", "parallel", "hybrid")]


def test_bench_prints_the_seed_table_with_marks_and_speedups(tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = main(["bench", *FILES, "--speed", "10", "--json", str(out)])
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


def no_default(tmp_path, name="research-hybrid"):
    data = json.loads((EXAMPLES / f"{name}.chain.json").read_text())
    data["inputs"][0]["default"] = None
    path = tmp_path / f"{name}.chain.json"
    path.write_text(json.dumps(data))
    return str(path)


def test_bench_asks_for_inputs_without_default_in_one_line(tmp_path, capsys):
    """Issue 12, item 3: every run used to fail in milliseconds and still be ranked fastest/cheapest."""
    path = no_default(tmp_path)
    assert main(["bench", path, "--strategies", "sequential,eager", "--no-history"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "topic" in err and "--set topic=VALUE" in err and path in err
    assert main(["bench", path, "--set", "tpoic=x", "--no-history"]) == 2
    assert "tpoic: not an input" in capsys.readouterr().err
    out = tmp_path / "b.json"
    code = main(["bench", path, "--set", "topic=qubits", "--speed", "200", "--no-history", "--json", str(out)])
    assert code == 0 and all(r["status"] == "succeeded" for r in json.loads(out.read_text())["runs"])


def test_bench_never_ranks_a_failed_row_and_says_why(tmp_path, capsys):
    code = main(["bench", FILES[1], "--strategies", "sequential,eager", "--faults", "500=1", "--speed", "200"])
    text = capsys.readouterr().out
    assert code == 1
    assert "Fastest:" not in text and "Cheapest:" not in text and "x1.00" not in text
    assert "Not ranked" in text and "failed: " in text and "HTTP 500" in text
    rows = [line for line in text.splitlines() if line.startswith("research-parallel (")]
    assert len(rows) == 2 and all("failed:" in row and "fastest" not in row for row in rows)


def test_two_files_with_the_same_graph_name_are_told_apart(tmp_path, capsys):
    """Issue 12, item 12: two variants of research-hybrid used to print as two identical labels."""
    variant = tmp_path / "variant"
    variant.mkdir()
    copy = variant / "research-hybrid.chain.json"
    copy.write_text((EXAMPLES / "research-hybrid.chain.json").read_text())
    assert main(["bench", FILES[2], str(copy), "--speed", "200", "--no-history"]) == 0
    text = capsys.readouterr().out
    assert "research-hybrid [examples/research-hybrid.chain.json]" in text
    assert "research-hybrid [variant/research-hybrid.chain.json]" in text
