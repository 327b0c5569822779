"""The GUI and the CLI write one settings schema to the run history (core.launch.HistorySettings)."""

from dataclasses import fields

from chainstudio.core.launch import HistorySettings
from chainstudio.core.storage.history import RunHistory
from tests.cli.test_cli_foundation import cli
from tests.conftest import EXAMPLES

# The history drops every key that looks like a credential ("key", "secret", ...); token limits are kept.
KEPT = [f.name for f in fields(HistorySettings)]


def test_cli_run_and_bench_record_the_schema():
    before = {r.run_id for r in RunHistory().runs(graph_name="research-parallel")}
    graph = EXAMPLES / "research-parallel.chain.json"
    flags = ("--speed", "500", "--seed", "4", "--concurrency", "3", "--rpm", "600", "--cost-cap", "2")
    assert (
        cli("run", graph, "--strategy", "layered", "--no-output", "--base-url", "http://u:pw@h/v1", *flags).returncode
        == 0
    )
    assert cli("bench", graph, "--strategies", "sequential", *flags).returncode == 0
    runs = sorted(
        (r for r in RunHistory().runs(graph_name="research-parallel") if r.run_id not in before),
        key=lambda r: r.source,
    )
    assert [(r.source, r.strategy) for r in runs] == [("cli bench", "sequential"), ("cli run", "layered")]
    for summary in runs:
        assert sorted(summary.settings) == sorted(KEPT)
        assert summary.settings["strategy"] == summary.strategy and summary.settings["seed"] == 4
        assert (summary.settings["speed"], summary.settings["concurrency"], summary.settings["rpm"]) == (500, 3, 600)
        assert summary.settings["cost_cap"] == 2 and summary.settings["provider"] == "simulated"
    assert runs[1].settings["base_url"] == "http://h/v1"  # no password in the history
    assert runs[0].settings["base_url"] is None
