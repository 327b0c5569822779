"""A big canvas draws a run as a whole (its start, its end with the critical path) a part at a time, between
turns of the event loop (one pass over 10,000 cards and 100,000 edges took 0.3-0.6 s of the window's thread);
what it draws in the end is what one pass draws. The size threshold is lowered so that an example counts."""

import pytest

from chainstudio.core.launch import RunOptions
from chainstudio.ui.canvas.run_overlay import apply_to_scene
from chainstudio.ui.run import overlay_slices
from tests.conftest import EXAMPLES


def drawn(scene) -> tuple[dict, dict]:
    cards = {
        nid: (item.run_badge.status if item.run_badge else None, item.critical) for nid, item in scene.nodes.items()
    }
    return cards, {eid: item.flow for eid, item in scene.edges.items()}


@pytest.fixture
def sliced(monkeypatch, app_window):
    monkeypatch.setattr(overlay_slices, "BIG_CANVAS_CARDS", 1)
    monkeypatch.setattr(overlay_slices, "PART", 2)
    monkeypatch.setattr(overlay_slices, "SLICE_S", 0.0)  # one part per turn of the loop
    assert app_window.open_path(EXAMPLES / "research-hybrid.chain.json")
    overlay = app_window.runs.overlay
    start = overlay.start

    def start_unknown(state):  # on this small example the Gantt's header computes the path live, and under load
        state._path = None  # it may have done so before the overlay starts; on a big graph it never does
        start(state)

    monkeypatch.setattr(overlay, "start", start_unknown)
    return app_window


def test_the_end_of_a_run_is_drawn_a_part_at_a_time_as_one_pass_draws_it(qtbot, sliced):
    window = sliced
    overlay = window.runs.overlay
    window.runs.request_run(RunOptions(speed=40.0))
    qtbot.waitUntil(lambda: not window.runs.controller.running and not overlay.active, timeout=30000)
    state = window.runs.state
    assert state.status == "succeeded"
    cards = len(window.scene.nodes)
    # the end took a turn of the loop per part (not one pass), after the critical path's own turn
    assert overlay.slices == -(-cards // 2) + 1
    assert not state.path_pending and "computing" not in window.runs.gantt.header_text()
    sliced_look = drawn(window.scene)
    path, _ = state.critical_path()
    assert {nid for nid, (_, critical) in sliced_look[0].items() if critical} == set(path)
    apply_to_scene(window.scene, state)  # one pass: the same
    assert drawn(window.scene) == sliced_look


def test_a_pass_under_way_is_dropped_when_the_canvas_is_cleared(qtbot, sliced):
    window = sliced
    overlay = window.runs.overlay
    window.runs.request_run(RunOptions(speed=40.0))
    qtbot.waitUntil(lambda: not window.runs.controller.running, timeout=30000)
    overlay.start(window.runs.state)
    assert overlay.active
    window.controller.add_node("llm", (4000.0, 4000.0))  # an edit after the run clears the run from the canvas
    assert not overlay.active
    qtbot.wait(50)
    assert all(item.critical is False for item in window.scene.nodes.values())


def test_a_big_run_s_critical_path_is_computed_a_part_at_a_time_at_its_end(qtbot, sliced, monkeypatch):
    """For 100,000 edges the end's critical path took 0.1 s of the window's thread at once: it is computed
    between turns of the loop, the Gantt's header saying "computing…" meanwhile (not computing it itself)."""
    from chainstudio.core.graph import analysis

    monkeypatch.setattr(analysis, "PART", 1)  # a yield after every node
    window = sliced
    overlay, gantt = window.runs.overlay, window.runs.gantt
    headers: list[str] = []
    overlay.pathKnown.connect(lambda: headers.append("known"))
    gantt.totals.setText = lambda text, real=gantt.totals.setText: (headers.append(text), real(text))[1]
    window.runs.request_run(RunOptions(speed=40.0))
    qtbot.waitUntil(lambda: not window.runs.controller.running, timeout=30000)
    state = window.runs.state
    qtbot.waitUntil(lambda: not overlay.active, timeout=10000)
    assert not state.path_pending and state.critical_path_known()
    assert overlay.slices > len(state.spans)  # a turn per node of the path's computation, then the cards
    ended = [h for h in headers if h == "known" or "Critical path" in h]
    known = ended.index("known")
    assert any("computing…" in h for h in ended[:known])  # said while it was under way
    assert "computing…" not in ended[-1] and gantt.header_text().count("→") >= 2  # then the path


def test_an_update_that_changed_many_cards_is_drawn_a_part_at_a_time(qtbot, sliced, monkeypatch):
    """Stop cancels thousands of steps in a few turns: one update of 500 cards drawn at once took 40-80 ms."""
    import copy

    from chainstudio.core.run.status import RunStatus

    monkeypatch.setattr(overlay_slices, "BIG_UPDATE", 3)
    window = sliced
    overlay = window.runs.overlay
    window.runs.request_run(RunOptions(speed=40.0))
    qtbot.waitUntil(lambda: not window.runs.controller.running and not overlay.active, timeout=30000)
    running = copy.copy(window.runs.state)  # its steps' states, as if it were still running
    running.status = RunStatus.RUNNING
    cards = frozenset(window.scene.nodes)
    overlay.draw(running, frozenset(list(cards)[:2]))  # a few: at once
    assert not overlay.active
    overlay.draw(running, cards)
    assert overlay.active  # many: queued, drawn between turns
    qtbot.waitUntil(lambda: not overlay.active, timeout=5000)
    assert overlay.slices == -(-len(cards) // 2)
    sliced_look = drawn(window.scene)
    apply_to_scene(window.scene, running, cards)  # at once: the same
    assert drawn(window.scene) == sliced_look
    assert not any(critical for _, critical in sliced_look[0].values())  # a running run has no critical path yet
