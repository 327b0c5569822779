"""Issue 17's done-means for dataset runs: a 200-row JSONL dataset through research-parallel and
research-sequential, with an exact-match check and a judge (and contradictions, and pairwise), against the
fake server over real HTTP. The batch is killed (SIGKILL) midway and resumed: the results are complete,
the intervals shown, the chart drawn, and the server's request count proves no finished row ran again."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from chainstudio.core.batch.overlap import sibling_groups
from chainstudio.core.storage.fileformat import load
from tests.conftest import EXAMPLES, ROOT
from tests.support.fake_openai_server import FakeOpenAIServer

PARALLEL = EXAMPLES / "research-parallel.chain.json"
SEQUENTIAL = EXAMPLES / "research-sequential.chain.json"
ROWS = 200


def write_dataset(path: Path) -> None:
    """Row i's topic carries a unique tag (ROW0007X); even rows make the server answer exactly "yes"."""
    with path.open("w") as handle:
        for i in range(ROWS):
            topic = f"ROW{i:04d}X quantum networking" + (" [[answer=yes]]" if i % 2 == 0 else "")
            handle.write(json.dumps({"topic": topic, "expected": "yes" if i % 4 < 2 else "no"}) + "\n")


def batch_args(tmp_path: Path, url: str) -> list[str]:
    return [
        "batch",
        str(PARALLEL),
        "--variant",
        str(SEQUENTIAL),
        "--dataset",
        str(tmp_path / "rows.jsonl"),
        "--out",
        str(tmp_path / "results.jsonl"),
        "--check",
        "exact",
        "--judge",
        "Is the summary accurate and complete?",
        "--contradictions",
        "--pairwise",
        "--provider",
        "openai",
        "--base-url",
        url,
        "--concurrency",
        "12",
        "--no-history",
        "--chart",
        str(tmp_path / "chart.png"),
        "--summary",
        str(tmp_path / "summary.json"),
    ]


def kept_cells(state: Path) -> set[str]:
    """The cells the state holds (none while the batch is still creating its tables)."""
    with closing(sqlite3.connect(state)) as db:
        try:
            return {cell for (cell,) in db.execute("SELECT cell FROM results")}
        except sqlite3.OperationalError:
            return set()


def calls_per_cell(path: Path) -> int:
    """Model calls one row of this graph makes, plus its judges (a score; contradictions per sibling group)."""
    graph = load(path)
    return sum(n.kind == "llm" for n in graph.nodes.values()) + 1 + len(sibling_groups(graph))


def is_pairwise(prompt: str) -> bool:
    return 'Answer with JSON only: {"winner"' in prompt


@pytest.mark.timeout(900)
def test_a_killed_batch_resumes_without_repeating_a_finished_row(tmp_path):
    write_dataset(tmp_path / "rows.jsonl")
    env = {**os.environ, "OPENAI_API_KEY": "sk-local"}
    state = tmp_path / "results.jsonl.state.sqlite"
    with FakeOpenAIServer(chunk_delay=0.004, default_tokens=12) as server:
        args = [sys.executable, "-m", "chainstudio", *batch_args(tmp_path, server.url)]
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and proc.poll() is None:
            if state.exists() and len(kept_cells(state)) >= ROWS + 60:  # into the second config
                break
            time.sleep(0.05)
        assert proc.poll() is None, f"the batch ended before it could be killed: {proc.stderr.read()!r}"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        finished = kept_cells(state)
        before = len(server.stats.log)
        assert ROWS + 60 <= len(finished) < 2 * ROWS

        second = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert second.returncode == 0, second.stderr  # complete (a failed check is a score, not a failure)
        assert f"{len(finished)} already done" in second.stdout
        after = server.stats.log[before:]

    # Not one request of the resumed batch belongs to a row whose two configs had both finished ...
    done_rows = {int(cell.split("|")[3]) for cell in finished}
    both = {
        r
        for r in done_rows
        if all(f"{v}|eager|0|{r}" in finished for v in ("research-parallel", "research-sequential"))
    }
    assert both
    repeated = [e for e in after if not is_pairwise(e["prompt"]) and any(f"ROW{r:04d}X" in e["prompt"] for r in both)]
    assert repeated == []
    # ... and the resumed batch made exactly the calls of the cells left: each row's steps and its judges.
    left = {
        label: sum(f"{label}|eager|0|{r}" not in finished for r in range(ROWS))
        for label in ("research-parallel", "research-sequential")
    }
    expected = left["research-parallel"] * calls_per_cell(PARALLEL)
    expected += left["research-sequential"] * calls_per_cell(SEQUENTIAL)
    assert sum(not is_pairwise(e["prompt"]) for e in after) == expected
    assert sum(is_pairwise(e["prompt"]) for e in after) == ROWS  # the pairs are judged once all rows are in

    lines = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert len(lines) == 2 * ROWS and len({(r["variant"], r["row"]) for r in lines}) == 2 * ROWS
    assert all(r["status"] == "succeeded" and r["scores"]["exact"] in (0.0, 1.0) for r in lines)
    assert all(1.0 <= r["scores"]["judge"] <= 5.0 for r in lines)
    exact = [r["scores"]["exact"] for r in lines]
    assert sum(exact) == ROWS // 2  # rows 0, 4, 8 ... answer "yes" and expect "yes", in both configs
    summary = json.loads((tmp_path / "summary.json").read_text())
    for config in summary["configs"]:
        quality = config["quality"]
        assert config["rows"] == ROWS and quality["method"] == "bootstrap"
        assert quality["low"] <= quality["mean"] <= quality["high"]
        assert config["scores"]["exact"]["method"] == "wilson" and config["scores"]["exact"]["mean"] == 0.25
    assert summary["configs"][0]["overlap"] is not None and summary["configs"][0]["contradictions"] is not None
    assert len(summary["pairwise"]) == ROWS
    assert "=== TRADE-OFF ===" in second.stdout and "0.25 [" in second.stdout
    image = QImage(str(tmp_path / "chart.png"))
    assert not image.isNull() and image.width() == 900
    csv_lines = (tmp_path / "results.csv").read_text().splitlines()
    assert len(csv_lines) > 2 * ROWS and csv_lines[0].startswith("variant,strategy,repeat,row,status,latency_s")
