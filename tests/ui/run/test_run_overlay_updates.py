"""A run drawn on the canvas is updated by what changed: the cards of the steps whose events came, and the
edges leaving them (an edge is lit by its source alone), never every edge of the graph (a 10,000-step run's
100,000 edges were visited at every update, 30 times a second). What it draws equals a full pass."""

from chainstudio.core.launch import RunOptions
from chainstudio.core.run.state import RunState
from chainstudio.ui.canvas import edge_item
from chainstudio.ui.canvas.run_overlay import apply_to_scene, badge_for, lit_edges
from tests.conftest import EXAMPLES


def recorded_events(qtbot, window) -> list:
    assert window.open_path(EXAMPLES / "research-hybrid.chain.json")
    window.runs.request_run(RunOptions(speed=40.0))
    qtbot.waitUntil(lambda: not window.runs.controller.running, timeout=30000)
    run = window.runs.controller.run
    assert run is not None and run.state.status == "succeeded"
    return list(run.events)


def drawn(scene) -> tuple[dict, dict]:
    cards = {nid: item.run_badge for nid, item in scene.nodes.items()}
    edges = {(item.source_id, item.target_id): item.flow for item in scene.edges.values()}
    return cards, edges


def test_updates_by_the_changed_steps_draw_what_a_full_pass_draws(qtbot, app_window):
    events = recorded_events(qtbot, app_window)
    scene = app_window.scene
    state = RunState()
    state.apply(events[0])
    apply_to_scene(scene, state)  # the run's start: a full pass
    checked = 0
    for event in events[1:-1]:  # up to the end (the end draws the critical path: a full pass)
        state.apply(event)
        apply_to_scene(scene, state, frozenset({getattr(event, "node_id", "")}))
        cards, edges = drawn(scene)
        lit = lit_edges(state)
        assert edges == {pair: ("lit" if pair in lit else None) for pair in edges}
        # running cards' elapsed times grow between events (the live tick redraws them): states compared
        assert {nid: b.status for nid, b in cards.items()} == {nid: s.status for nid, s in state.spans.items()}
        node_id = getattr(event, "node_id", "")
        if node_id in cards:
            assert cards[node_id] == badge_for(state, state.spans[node_id])
        checked += 1
    assert checked > 20
    assert any(flow == "lit" for flow in drawn(scene)[1].values())


def test_an_update_visits_the_changed_cards_and_only_the_edges_leaving_them(qtbot, app_window, monkeypatch):
    events = recorded_events(qtbot, app_window)
    scene = app_window.scene
    state = RunState.from_events(events[:-1])  # running: no critical path yet
    apply_to_scene(scene, state)
    visited: list[tuple[str, str]] = []
    original = edge_item.EdgeItem.set_flow

    def counting(self, flow):
        visited.append((self.source_id, self.target_id))
        original(self, flow)

    monkeypatch.setattr(edge_item.EdgeItem, "set_flow", counting)
    hardware = state.span_by_name("hardware").node_id
    apply_to_scene(scene, state, frozenset({hardware}))
    leaving = [(s, t) for s, t in state.edges if s == hardware]
    assert leaving and sorted(visited) == sorted(leaving)  # before: every edge of the graph
    assert len(visited) < len(scene.edges)
