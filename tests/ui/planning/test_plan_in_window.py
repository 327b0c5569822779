"""Compare and plan in the main app_window: estimate in the toolbar, advisor applied as one undoable edit,
strategy comparison with stacked Gantts, the history panel, budgets."""

from chainstudio.core.graph.analysis import layers
from chainstudio.core.launch import RunOptions
from chainstudio.core.storage.fileformat import dumps
from tests.conftest import EXAMPLES


def test_advice_on_research_sequential_applies_as_one_undo_and_compares(qtbot, app_window):
    assert app_window.open_path(EXAMPLES / "research-sequential.chain.json")
    before = dumps(app_window.document.graph)
    estimate, advisor = app_window.estimate, app_window.advisor
    qtbot.waitUntil(lambda: estimate.label.estimate is not None, timeout=10000)
    assert estimate.label.text().startswith("≈")
    sequential_ms = estimate.label.estimate.wall_ms
    advisor.show()
    qtbot.waitUntil(lambda: advisor.panel.report is not None, timeout=10000)
    report = advisor.panel.report
    assert report.shape == "sequential"
    top = report.advice[0]
    assert top.title == "Remove all 4 edges that carry no data"
    advisor.panel.applyCommand.emit(top.make_command())
    graph = app_window.document.graph
    names = graph.names()
    assert sorted(names[n] for n in layers(graph)[1]) == ["academic", "commercial", "hardware", "security", "software"]
    qtbot.waitUntil(
        lambda: estimate.label.estimate is not None and estimate.label.estimate.wall_ms < sequential_ms / 2,
        timeout=10000,
    )
    app_window.controller.undo()  # the advice and its re-layout are one edit
    assert dumps(app_window.document.graph) == before


def test_compare_strategies_stacks_three_gantts(qtbot, app_window):
    assert app_window.open_path(EXAMPLES / "research-hybrid.chain.json")
    app_window.compare.action.trigger()
    compare = app_window.compare.view
    qtbot.waitUntil(lambda: compare.result is not None and not compare.runner.running, timeout=30000)
    assert {row.strategy for row in compare.result.rows} == {"sequential", "layered", "eager"}
    assert compare.table.rowCount() == 3
    assert len(compare.gantt.states()) == 3
    fastest = compare.result.by_mark("fastest")
    assert fastest.strategy in ("eager", "layered")
    runs = app_window.services.history.runs(graph_name="research-hybrid")
    assert sorted(r.strategy for r in runs) == ["eager", "layered", "sequential"]


def test_run_then_history_reopens_it_and_estimate_meets_actual(qtbot, app_window):
    assert app_window.open_path(EXAMPLES / "code-review.chain.json")
    qtbot.waitUntil(lambda: app_window.estimate.label.estimate is not None, timeout=10000)
    app_window.runs.request_run(RunOptions(speed=100.0))
    qtbot.waitUntil(lambda: not app_window.runs.controller.running, timeout=20000)
    state = app_window.runs.state
    panel = app_window.history.panel
    qtbot.waitUntil(lambda: panel.table.rowCount() == 1, timeout=3000)
    assert app_window.estimate.label.text().startswith("est ") and " → " in app_window.estimate.label.text()
    panel.openRun.emit(app_window.services.history.state(state.run_id))
    (shown,) = app_window.runs.gantt.states()
    assert shown.run_id == state.run_id and shown is not state
    assert {n: s.ended_at for n, s in shown.spans.items()} == {n: s.ended_at for n, s in state.spans.items()}


def test_budget_from_the_toolbar_stops_the_run(qtbot, app_window):
    assert app_window.open_path(EXAMPLES / "research-parallel.chain.json")
    app_window.runs.toolbar.cost_cap.setValue(0.01)
    app_window.runs.toolbar.speed.setCurrentIndex(2)
    app_window.runs.request_run()
    qtbot.waitUntil(lambda: not app_window.runs.controller.running, timeout=20000)
    state = app_window.runs.state
    assert state.message.startswith("Stopped by the cost cap ($0.0100)")
    assert state.totals().cost_usd <= 0.01
    assert "Stopped by the cost cap" in app_window.statusBar().currentMessage()


def test_settings_open_from_the_menu_and_the_banner(app_window):
    from chainstudio.ui.run.settings_dialog import SettingsDialog

    app_window.runs.settings_action.trigger()
    dialog = app_window.runs._dialog
    assert isinstance(dialog, SettingsDialog) and dialog.isVisible()
    dialog.reject()
    app_window.banner.configure.click()
    assert isinstance(app_window.runs._dialog, SettingsDialog) and app_window.runs._dialog.isVisible()
    app_window.runs._dialog.reject()


def test_saved_settings_become_the_toolbars_defaults(app_window):
    from chainstudio.core.storage.settings import Settings

    app_window.runs.apply_settings(Settings(provider="openai", strategy="layered", concurrency=3))
    options = app_window.runs.toolbar.options()
    assert (options.provider, options.strategy, options.concurrency) == ("openai", "layered", 3)
    # the banner names the real endpoint F5 now calls (it no longer just disappears)
    assert app_window.banner.isVisible() and app_window.banner.mode == "openai"
    assert app_window.runs.provider_status.text().startswith("Runs on: ")


def test_stale_advice_is_refused_and_analysed_again(qtbot, app_window):
    assert app_window.open_path(EXAMPLES / "research-sequential.chain.json")
    advisor = app_window.advisor
    advisor.show()
    qtbot.waitUntil(lambda: advisor.panel.report is not None, timeout=10000)
    stale = advisor.panel.report.advice[1].make_command()  # remove hardware -> software
    graph = app_window.document.graph
    edge = next(
        e
        for e in graph.edges.values()
        if graph.nodes[e.source].name == "hardware" and graph.nodes[e.target].name == "software"
    )
    app_window.controller.delete([], [edge.id])  # the user removes it first
    edits = app_window.document.serial
    advisor.panel.applyCommand.emit(stale)
    assert app_window.document.serial == edits  # nothing applied, nothing broken
    assert "no longer applies" in app_window.statusBar().currentMessage()


def test_cards_show_the_estimate_before_a_run_and_again_after_an_edit(qtbot, app_window):
    window = app_window
    assert window.open_path(EXAMPLES / "research-hybrid.chain.json")
    graph = window.document.graph
    hardware = window.scene.nodes[graph.node_by_name("hardware").id]
    qtbot.waitUntil(lambda: hardware.run_badge is not None and hardware.run_badge.text.startswith("≈"), timeout=10000)
    predicted = window.estimate.label.estimate.node("hardware")
    assert f"↓{predicted.output_tokens:,}" in hardware.run_badge.text
    assert window.scene.nodes[graph.node_by_name("topic").id].run_badge is None  # no model call: no estimate
    window.runs.request_run(RunOptions(speed=200.0))
    qtbot.waitUntil(lambda: not window.runs.controller.running, timeout=20000)
    assert hardware.run_badge.status == "succeeded"
    window.controller.set_param(graph.node_by_name("hardware").id, "max_tokens", 100)
    qtbot.waitUntil(lambda: hardware.run_badge is not None and hardware.run_badge.text.startswith("≈"), timeout=10000)
    assert window.runs.gantt.states()  # the finished run stays on the Gantt


def test_a_run_that_ends_before_its_estimate_is_compared_once_the_estimate_is_ready(qtbot, app_window):
    """The estimate waits while a run is live; a run started right after opening a graph ends first, and the
    toolbar still shows estimate → actual once the estimate arrives."""
    assert app_window.open_path(EXAMPLES / "research-hybrid.chain.json")
    assert app_window.estimate.label.estimate is None  # not computed yet
    app_window.runs.request_run(RunOptions(speed=100.0))
    qtbot.waitUntil(lambda: not app_window.runs.controller.running, timeout=20_000)
    qtbot.waitUntil(lambda: app_window.estimate.label.text().startswith("est "), timeout=10_000)
