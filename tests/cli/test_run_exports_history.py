import csv
import io
import json

from PySide6.QtGui import QImage

from chainstudio.core.storage.history import RunHistory
from tests.cli.test_cli_foundation import cli
from tests.conftest import EXAMPLES

HYBRID = EXAMPLES / "research-hybrid.chain.json"


def test_run_writes_trace_csv_gantt_and_records_history(tmp_path):
    before = {r.run_id for r in RunHistory().runs(graph_name="research-hybrid")}
    trace, spans, gantt, record = (tmp_path / n for n in ("t.json", "s.csv", "g.png", "r.json"))
    result = cli(
        "run",
        HYBRID,
        "--speed",
        "200",
        "--no-output",
        "--trace",
        trace,
        "--csv",
        spans,
        "--gantt",
        gantt,
        "--json",
        record,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(trace.read_text())
    tracks = [e["args"]["name"] for e in data["traceEvents"] if e.get("name") == "thread_name"]
    assert len(tracks) == 8 and "L2 hardware" in tracks
    rows = list(csv.DictReader(io.StringIO(spans.read_text())))
    assert {r["name"] for r in rows} == {n["name"] for n in json.loads(record.read_text())["nodes"]}
    image = QImage(str(gantt))
    assert not image.isNull() and image.width() == 1400
    runs = [r for r in RunHistory().runs(graph_name="research-hybrid") if r.run_id not in before]
    assert len(runs) == 1 and runs[0].source == "cli run" and runs[0].status == "succeeded"
    assert abs(runs[0].wall_ms - json.loads(record.read_text())["wall_ms"]) < 0.01


def test_run_cost_cap_and_bad_gantt_suffix(tmp_path):
    result = cli("run", HYBRID, "--speed", "200", "--no-output", "--cost-cap", "0.005", "--no-history")
    assert result.returncode == 1
    assert "Stopped by the cost cap ($0.0050)" in result.stdout
    bad = cli("run", HYBRID, "--gantt", tmp_path / "g.jpg")
    assert bad.returncode == 2 and "--gantt wants a .png or .svg" in bad.stderr


def test_bench_records_each_run(tmp_path):
    before = len(RunHistory().runs(graph_name="code-review"))
    result = cli("bench", EXAMPLES / "code-review.chain.json", "--strategies", "sequential,eager", "--speed", "200")
    assert result.returncode == 0, result.stderr
    runs = RunHistory().runs(graph_name="code-review")
    assert len(runs) == before + 2 and {r.strategy for r in runs[:2]} == {"sequential", "eager"}
