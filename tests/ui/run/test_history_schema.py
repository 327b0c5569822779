"""A GUI run and a GUI comparison write the same settings schema to the history as the CLI."""

from chainstudio.core.launch import RunOptions
from chainstudio.core.storage.settings import Settings
from tests.cli.test_history_schema import KEPT
from tests.conftest import EXAMPLES


def test_gui_run_and_compare_record_one_schema(qtbot, app_window, monkeypatch, tmp_path):
    monkeypatch.setenv("CHAINSTUDIO_CONFIG_DIR", str(tmp_path / "config"))  # this test's saves stay its own
    app_window.services.settings.save(Settings(default_model="gpt-4o-mini", requests_per_minute=600))
    assert app_window.open_path(EXAMPLES / "code-review.chain.json")
    app_window.runs.request_run(RunOptions(speed=200.0, seed=2, concurrency=4))
    qtbot.waitUntil(lambda: not app_window.runs.controller.running, timeout=20000)
    compare = app_window.compare.view
    compare.strategy_boxes["eager"].setChecked(False)
    compare.strategy_boxes["layered"].setChecked(False)
    app_window.compare.action.trigger()
    qtbot.waitUntil(lambda: compare.result is not None and not compare.runner.running, timeout=30000)
    runs = sorted(app_window.services.history.runs(graph_name="code-review"), key=lambda r: r.source)
    assert [(r.source, r.strategy) for r in runs] == [("gui", "eager"), ("gui compare", "sequential")]
    for summary in runs:
        assert sorted(summary.settings) == sorted(KEPT)
        assert summary.settings["model"] == "gpt-4o-mini" and summary.settings["rpm"] == 600
        assert summary.settings["strategy"] == summary.strategy and summary.settings["provider"] == "simulated"
    gui, compared = (r.settings for r in runs)
    assert (gui["seed"], gui["speed"], gui["concurrency"]) == (2, 200.0, 4)
    assert compared["speed"] == 20.0  # a comparison runs the simulated provider at least 20× faster
