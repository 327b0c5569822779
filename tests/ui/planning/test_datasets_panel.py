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


def test_the_batch_api_option_applies_on_an_openai_endpoint_only_and_runs_at_half_the_price(
    app_window, qtbot, tmp_path
):
    from chainstudio.core.storage.settings import Settings, store_api_key
    from tests.support.fake_openai_server import FakeOpenAIServer

    window = app_window
    datasets, panel = window.datasets, window.datasets.panel
    assert not panel.batch_api.isEnabled()  # the simulated provider has no Batch API
    assert "Not available: the run toolbar's provider is Simulated" in panel.batch_api.toolTip()
    assert "50 %" in panel.batch_api.text() and "24 h" in panel.batch_api.text()
    with FakeOpenAIServer(api_key="sk-datasets-batch") as server:
        server.batches.step_delay = 0.02
        prices = {"gpt-4o": {"input": 2.5, "output": 10.0}}  # a local server is free unless priced
        window.services.settings.save(Settings(base_url=server.url, price_overrides=prices))
        store_api_key("sk-datasets-batch")
        window.open_path(examples_dir() / "research-parallel.chain.json")
        window.runs.toolbar.set_options(provider="openai", concurrency=4)
        assert panel.batch_api.isEnabled() and "Not available" not in panel.batch_api.toolTip()
        assert datasets.open_dataset(write_rows(tmp_path / "rows.jsonl", n=4, column="topic"))
        panel.batch_api.setChecked(True)
        datasets.batch_poll = 0.05
        datasets.start()
        assert "Batch API rows at 50 % of the price" in panel.plan.text()
        qtbot.waitUntil(lambda: not datasets._task.running, timeout=60_000)
        uploads = len(server.batches.batches)
    assert uploads == 2  # one batch per layer of model steps: the five angles, then the aggregate
    by_config = {}
    for r in datasets.results:
        by_config.setdefault(r.strategy, {})[r.row] = r
    assert set(by_config) == {"eager", "batch-api"} and len(by_config["batch-api"]) == 4
    for row, api in by_config["batch-api"].items():
        live = by_config["eager"][row]
        assert api.status == "succeeded" and api.price.startswith("50 % of the standard price")
        assert api.input_tokens == live.input_tokens and abs(api.cost_usd - live.cost_usd / 2) < 1e-12
    assert panel.summary.rowCount() == 2 and len(panel.chart.summaries) == 2
