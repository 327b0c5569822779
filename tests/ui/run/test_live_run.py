"""Runs from the GUI on the qasync loop: Gantt bars match the run state, Stop cancels and leaves the UI
usable, a failure shows on canvas and Gantt, and a run through the OpenAI-compatible provider."""

import pytest

from chainstudio.core.launch import RunOptions
from chainstudio.core.storage.settings import Settings, store_api_key
from tests.conftest import EXAMPLES
from tests.support.fake_openai_server import FakeOpenAIServer


def run_to_end(qtbot, win, options, timeout=30000):
    win.runs.request_run(options)
    assert win.runs.controller.running
    qtbot.waitUntil(lambda: not win.runs.controller.running, timeout=timeout)
    return win.runs.state


def test_run_gives_one_bar_per_node_at_the_run_states_times(qtbot, app_window):
    assert app_window.open_path(EXAMPLES / "research-hybrid.chain.json")
    state = run_to_end(qtbot, app_window, RunOptions(speed=40.0))
    assert state.status == "succeeded" and state.simulated
    layout = app_window.runs.gantt.view.layout_
    assert set(state.spans) == set(app_window.document.graph.nodes)
    for node_id, span in state.spans.items():
        x0, _, x1, _ = layout.bar_rect(node_id)
        assert x0 == pytest.approx(layout.x_of(0, span.started_at))
        assert x1 == pytest.approx(max(layout.x_of(0, span.ended_at), x0 + layout.metrics.min_bar_px))
    names = {s.name: s for s in state.spans.values()}
    parallel = [names[n] for n in ("hardware", "software", "commercial")]
    assert max(s.started_at for s in parallel) < min(s.ended_at for s in parallel)  # side by side
    assert names["security"].started_at >= names["hardware"].ended_at
    # the canvas shows every step's end state; the critical path is marked once the run is over
    items = app_window.scene.nodes
    assert {item.run_badge.status for item in items.values()} == {"succeeded"}
    path, _ = state.critical_path()
    assert {nid for nid, item in items.items() if item.critical} == set(path)
    assert any(edge.flow == "critical" for edge in app_window.scene.edges.values())
    assert "SIMULATED" in app_window.runs.gantt.header_text() or app_window.runs.gantt.badge.isVisible()
    # the run went into the history
    (summary,) = app_window.runs.controller.history.runs(graph_name="research-hybrid")
    assert summary.source == "gui" and summary.status == "succeeded"
    # selecting a step shows its prompt and output
    app_window.select_node(names["security"].node_id)
    assert "Hardware context" in app_window.runs.output.prompt.toPlainText()
    assert app_window.runs.output.output.toPlainText() == names["security"].output
    assert app_window.runs.gantt.view.highlighted == {names["security"].node_id}


def test_stop_mid_run_cancels_and_leaves_the_ui_usable(qtbot, app_window):
    assert app_window.open_path(EXAMPLES / "research-sequential.chain.json")
    app_window.runs.request_run(RunOptions(speed=4.0))
    bridge = app_window.runs.controller.bridge
    qtbot.waitUntil(lambda: any(s.status == "running" for s in bridge.state.spans.values()), timeout=10000)
    state = bridge.state
    assert app_window.runs.stop_action.isEnabled() and not app_window.runs.run_action.isEnabled()
    app_window.runs.stop_action.trigger()
    qtbot.waitUntil(lambda: not app_window.runs.controller.running, timeout=2000)
    assert state.status == "cancelled"
    statuses = {s.name: s.status for s in state.spans.values()}
    assert statuses["hardware"] == "cancelled" and statuses["summary"] == "cancelled"
    assert app_window.scene.nodes[state.span_by_name("hardware").node_id].run_badge.status == "cancelled"
    assert app_window.runs.run_action.isEnabled() and not app_window.runs.stop_action.isEnabled()
    again = run_to_end(qtbot, app_window, RunOptions(speed=200.0))  # usable: a new run goes through
    assert again.status == "succeeded" and again is not state


def test_failed_step_skips_its_dependents_on_canvas_and_gantt(qtbot, app_window, tmp_path):
    with FakeOpenAIServer(api_key="sk-gui", chunk_delay=0.001) as server:
        app_window.services.settings.save(Settings(base_url=server.url))
        store_api_key("sk-gui")
        assert app_window.open_path(EXAMPLES / "research-hybrid.chain.json")
        graph = app_window.document.graph
        graph.node_by_name("hardware").params.update(prompt="Research {{ topic }} [[fail=500*9]]", retries=1)
        app_window.runs.toolbar.set_options(provider="openai")
        state = run_to_end(qtbot, app_window, app_window.runs.toolbar.options())
        assert server.stats.statuses.get(500) == 2
    statuses = {s.name: s.status for s in state.spans.values()}
    assert statuses["hardware"] == "failed"
    assert statuses["security"] == statuses["academic"] == statuses["aggregate"] == "skipped"
    assert statuses["software"] == statuses["commercial"] == "succeeded"
    assert state.status == "failed" and not state.simulated
    items = app_window.scene.nodes
    assert items[graph.node_by_name("hardware").id].run_badge.status == "failed"
    assert items[graph.node_by_name("security").id].run_badge.status == "skipped"
    view = app_window.runs.gantt.view
    row = view.layout_.node_row(graph.node_by_name("security").id)
    assert [seg.kind for seg in view.layout_.segments(row)] == ["skipped"]
    x0, _, x1, y1 = view.layout_.bar_rect(graph.node_by_name("hardware").id)
    tip = view.tooltip_for(view.viewport_point((x0 + x1) / 2, y1 - 2))
    assert "failed" in tip and "500" in tip
    assert "SIMULATED" not in app_window.runs.gantt.header_text()


def test_gui_run_through_the_openai_compatible_provider(qtbot, app_window):
    with FakeOpenAIServer(api_key="sk-gui", chunk_delay=0.001) as server:
        app_window.services.settings.save(Settings(base_url=server.url))
        store_api_key("sk-gui")
        assert app_window.open_path(EXAMPLES / "intent-pipeline.chain.json")
        app_window.runs.toolbar.set_options(provider="openai", strategy="layered", concurrency=2)
        state = run_to_end(qtbot, app_window, app_window.runs.toolbar.options())
        stats = server.stats
    assert state.status == "succeeded" and state.started.strategy == "layered"
    totals = state.totals()
    assert (totals.input_tokens, totals.output_tokens) == (stats.prompt_tokens, stats.completion_tokens)
    assert stats.max_in_flight <= 2
    assert "OpenAI-compatible" in state.started.provider_label


def test_a_live_tick_right_after_an_update_redraws_nothing(qtbot, app_window, monkeypatch):
    """While steps stream, the bridge's updates (30/s) already redraw the run: the live tick (15/s) redraws
    only when no update came for a tick's interval (a long wait for a first token), so bars keep growing."""
    from chainstudio.ui.run import live_run

    assert app_window.open_path(EXAMPLES / "research-hybrid.chain.json")
    app_window.runs.request_run(RunOptions(speed=1.0))
    qtbot.waitUntil(
        lambda: (
            app_window.runs.state is not None
            and any(s.status == "running" for s in app_window.runs.state.spans.values())
        ),
        timeout=10000,
    )
    now = [1000.0]
    monkeypatch.setattr(live_run, "monotonic", lambda: now[0])
    redraws = []
    monkeypatch.setattr(app_window.runs.gantt, "refresh", lambda changed=None: redraws.append(changed))
    controller = app_window.runs.controller
    controller.bridge.updated.emit(frozenset({""}))
    controller.tick.emit()
    assert len(redraws) == 1  # the update's redraw only
    now[0] += live_run.LIVE_TICK_MS / 1000 + 0.001
    controller.tick.emit()
    assert len(redraws) == 2  # no update for a tick's interval: the tick redraws
    app_window.runs.stop_action.trigger()
    qtbot.waitUntil(lambda: not controller.running, timeout=5000)


def test_a_stopped_run_s_critical_path_is_drawn_over_the_steps_that_ran(qtbot, app_window):
    """Stopped, a run's steps that never started were drawn as its critical path's end (~590 orange cards
    on the big graph): cards, edges and the Gantt's header now take it over the steps that ran, and say so."""
    assert app_window.open_path(EXAMPLES / "research-sequential.chain.json")
    app_window.runs.request_run(RunOptions(speed=4.0))
    bridge = app_window.runs.controller.bridge
    qtbot.waitUntil(
        lambda: (
            any(s.status == "succeeded" for s in bridge.state.spans.values())
            and any(s.status == "running" for s in bridge.state.spans.values())
        ),
        timeout=10000,
    )
    state = bridge.state
    app_window.runs.stop_action.trigger()
    qtbot.waitUntil(lambda: not app_window.runs.controller.running, timeout=2000)
    assert state.status == "cancelled"
    never = {nid for nid, span in state.spans.items() if span.started_at is None}
    assert never  # steps after the one stopped never started
    critical = {nid for nid, item in app_window.scene.nodes.items() if item.critical}
    assert critical and not critical & never
    assert critical == set(state.critical_path()[0])
    flows = {(e.source_id, e.target_id) for e in app_window.scene.edges.values() if e.flow == "critical"}
    assert flows and not {n for pair in flows for n in pair} & never
    assert "over the steps that ran" in app_window.runs.gantt.header_text()
