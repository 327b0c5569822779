"""The Datasets panel in the real window: open a dataset, map a column to the input, run it on the simulated
provider under two strategies with a check, see progress, results, the trade-off table and chart; stop and
run again resumes; a bad file or mapping says why in one line."""

from __future__ import annotations

import json

from chainstudio.paths import examples_dir


def write_rows(path, n: int = 12, column: str = "subject") -> str:
    with open(path, "w") as handle:
        for i in range(n):
            handle.write(json.dumps({column: f"topic {i}", "expected": "topic"}) + "\n")
    return str(path)


def test_a_dataset_runs_and_shows_the_tradeoff(app_window, qtbot, tmp_path):
    window = app_window
    window.open_path(examples_dir() / "research-parallel.chain.json")
    datasets = window.datasets
    assert datasets.open_dataset(write_rows(tmp_path / "rows.jsonl"))
    panel = datasets.panel
    assert panel.preview.rowCount() == 12 and panel.preview.horizontalHeaderItem(0).text() == "subject"
    assert panel.mapping_boxes["topic"].currentIndex() == 0  # no column named topic: the input's default
    panel.mapping_boxes["topic"].setCurrentText("subject")
    panel.strategies["sequential"].setChecked(True)
    panel.check.setCurrentText("contains")
    window.runs.toolbar.speed.setCurrentIndex(window.runs.toolbar.speed.findData(20.0))
    datasets.start()
    assert panel.stop_button.isEnabled() and not panel.run_button.isEnabled()
    qtbot.waitUntil(lambda: not datasets._task.running, timeout=60_000)
    assert panel.progress.value() == 24 and "24/24" in panel.progress_text.text()
    assert "SIMULATED" in panel.progress_text.text()
    assert panel.results.rowCount() == 24 and panel.summary.rowCount() == 2
    assert panel.summary.item(0, 7).text().startswith("1.00 [")  # every output contains "topic"
    assert len(panel.chart.summaries) == 2 and panel.export_button.isEnabled()
    datasets.export_to(str(tmp_path / "out.jsonl"))
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 24 and (tmp_path / "out.csv").exists()
    # the same batch again: everything is already done, nothing runs
    datasets.start()
    assert "24 already done" in panel.plan.text()
    qtbot.waitUntil(lambda: not datasets._task.running, timeout=30_000)
    assert panel.results.rowCount() == 24


def test_problems_are_one_line(app_window, tmp_path):
    datasets = app_window.datasets
    (tmp_path / "bad.jsonl").write_text("[1]\n")
    assert not datasets.open_dataset(str(tmp_path / "bad.jsonl"))
    assert datasets.panel.plan.text() == f"{tmp_path / 'bad.jsonl'}: line 1: a row is a JSON object, not list"
    datasets.start()
    assert datasets.panel.plan.text() == "open a dataset first"
