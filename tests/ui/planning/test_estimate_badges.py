"""A big canvas gets the estimate's badges a part at a time, between turns of the event loop (10,000 cards at
once held the window's thread about 70 ms); what they show in the end is what the estimate says of each card,
and a run drawn on the canvas meanwhile keeps its own badges. The size threshold is lowered so that an example
counts."""

import pytest

from chainstudio.core.launch import RunOptions
from chainstudio.ui.canvas.run_overlay import estimate_badge_of
from chainstudio.ui.planning import estimate_badges
from tests.conftest import EXAMPLES


@pytest.fixture
def sliced(monkeypatch, app_window):
    monkeypatch.setattr(estimate_badges, "BIG_CANVAS_CARDS", 1)
    monkeypatch.setattr(estimate_badges, "PART", 2)
    monkeypatch.setattr(estimate_badges, "SLICE_S", 0.0)  # one part per turn of the loop
    assert app_window.open_path(EXAMPLES / "research-hybrid.chain.json")
    return app_window


def test_the_estimate_s_badges_are_set_a_part_at_a_time_as_the_estimate_says(qtbot, sliced):
    window = sliced
    badges = window.estimate.badges
    qtbot.waitUntil(lambda: window.estimate.label.estimate is not None and not badges.active, timeout=10000)
    cards = len(window.scene.nodes)
    assert cards > 2 and badges.slices == -(-cards // 2)  # a turn of the loop per part, not one pass
    expected = estimate_badge_of(window.scene, window.estimate.label.estimate)
    shown = {nid: item.run_badge for nid, item in window.scene.nodes.items()}
    assert shown == {nid: expected(nid) for nid in window.scene.nodes}
    assert any(b is not None and b.estimate and b.text.startswith("≈") for b in shown.values())


def test_a_run_drawn_meanwhile_stops_the_estimate_s_badges(qtbot, sliced):
    window = sliced
    badges = window.estimate.badges
    qtbot.waitUntil(lambda: window.estimate.label.estimate is not None and not badges.active, timeout=10000)
    window.runs.request_run(RunOptions(speed=200.0))
    qtbot.waitUntil(lambda: not window.runs.controller.running, timeout=20000)
    assert window.runs.shows_run
    badges.show(window.estimate.label.estimate)  # (as a late estimate would)
    assert badges.active
    qtbot.waitUntil(lambda: not badges.active, timeout=5000)
    assert badges.slices == 1  # stopped at its first turn: the run keeps its cards
    assert all(item.run_badge is None or not item.run_badge.estimate for item in window.scene.nodes.values())
    assert any(
        item.run_badge is not None and item.run_badge.status == "succeeded" for item in window.scene.nodes.values()
    )


def test_a_small_canvas_gets_them_at_once(qtbot, app_window):
    assert app_window.open_path(EXAMPLES / "research-hybrid.chain.json")
    badges = app_window.estimate.badges
    qtbot.waitUntil(lambda: app_window.estimate.label.estimate is not None, timeout=10000)
    badges.show(app_window.estimate.label.estimate)
    assert not badges.active and badges.slices == 1
