"""Gantt geometry, computed apart from painting: rows, segments in run time, and the pixel mapping."""

import pytest

from chainstudio.core.formatting import fmt_cost
from chainstudio.core.gantt.axis import tick_label, tick_step, ticks
from chainstudio.core.gantt.layout import GanttLayout, Metrics
from chainstudio.core.gantt.segments import bar_span, node_segments
from chainstudio.core.gantt.text import live_node_time, tooltip_html, totals_items, totals_text
from tests.ui.gantt_scripts import T0, cancelled, failing, hybrid, nid, staircase, wide


def kinds(state, name):
    return [s.kind for s in node_segments(state, state.span_by_name(name))]


def test_one_row_per_node_grouped_by_layer():
    state = hybrid().state()
    layout = GanttLayout([state])
    nodes = [r for r in layout.rows if r.kind == "node"]
    assert sorted(r.node_id for r in nodes) == sorted(state.spans)
    texts = [r.text for r in layout.rows]
    i = texts.index("Layer 2 · 3 in parallel")
    assert texts[i + 1 : i + 4] == ["hardware", "software", "commercial"]
    assert texts[0] == "Layer 1 · 1 step" and texts[1] == "topic"
    assert [r.text for r in layout.rows if r.kind == "layer"] == [
        "Layer 1 · 1 step",
        "Layer 2 · 3 in parallel",
        "Layer 3 · 1 step",
        "Layer 4 · 1 step",
        "Layer 5 · 1 step",
        "Layer 6 · 1 step",
    ]


def test_each_bar_starts_and_ends_at_the_run_state_times_in_time_and_pixels():
    state = hybrid().state()
    layout = GanttLayout([state], Metrics(label_width=200, left_pad=10), px_per_s=100.0)
    for node_id, span in state.spans.items():
        assert bar_span(state, span) == (span.started_at, span.ended_at)
        segments = [s for s in node_segments(state, span) if s.kind in ("ttft", "generation", "retry")]
        assert min(s.start for s in segments) == span.started_at
        assert max(s.end for s in segments) == span.ended_at
        x0, _, x1, _ = layout.bar_rect(node_id)
        assert x0 == pytest.approx(210 + (span.started_at - T0) * 100)
        assert x1 == pytest.approx(max(210 + (span.ended_at - T0) * 100, x0 + layout.metrics.min_bar_px))
    hardware = layout.bar_rect(nid("hardware"))
    assert hardware[0] == pytest.approx(211.0) and hardware[2] == pytest.approx(470.0)


def test_running_bar_ends_at_now_and_grows():
    script = hybrid()
    early, later = script.state(until=3.0), script.state(until=3.3)
    for state in (early, later):
        span = state.span_by_name("security")
        assert span.status == "running"
        assert bar_span(state, span) == (span.started_at, state.now())
        assert node_segments(state, span)[-1].end == state.now()
    assert later.now() > early.now()
    assert GanttLayout([later]).bar_rect(nid("security"))[2] > GanttLayout([early]).bar_rect(nid("security"))[2]
    assert kinds(early, "academic") == []  # not started: nothing drawn


def test_retried_node_has_failed_attempt_backoff_ttft_and_generation_segments():
    state = hybrid().state()
    span = state.span_by_name("software")
    segments = node_segments(state, span)
    assert [s.kind for s in segments] == ["queued", "retry", "backoff", "ttft", "generation"]
    retry, backoff, ttft, generation = segments[1:]
    assert (retry.start, retry.end, retry.attempt) == (T0 + 0.02, T0 + 0.31, 1)
    assert (backoff.start, backoff.end) == (T0 + 0.31, pytest.approx(T0 + 0.31 + 0.8))
    assert (ttft.start, ttft.end, ttft.attempt) == (T0 + 1.12, T0 + 1.55, 2)
    assert (generation.start, generation.end, generation.status) == (T0 + 1.55, T0 + 3.45, "succeeded")


def test_waiting_for_a_slot_is_its_own_segment():
    state = hybrid().state()
    waiting = [s for s in node_segments(state, state.span_by_name("commercial")) if s.kind == "waiting"]
    assert [(s.start, s.end) for s in waiting] == [(T0, T0 + 0.32)]


def test_failed_and_skipped_nodes():
    state = failing().state()
    hardware = node_segments(state, state.span_by_name("hardware"))
    assert [(s.kind, s.status) for s in hardware if s.kind != "queued"] == [("generation", "failed")]
    security = node_segments(state, state.span_by_name("security"))
    academic = node_segments(state, state.span_by_name("academic"))
    assert [(s.kind, s.start) for s in security] == [("skipped", state.span_by_name("hardware").ended_at)]
    assert [(s.kind, s.start) for s in academic] == [("skipped", state.span_by_name("commercial").ended_at)]
    assert kinds(state, "summary") == ["skipped"]


def test_cancelled_run_ends_the_running_and_waiting_nodes():
    state = cancelled().state()
    software = node_segments(state, state.span_by_name("software"))
    assert software[-1].status == "cancelled" and software[-1].end == T0 + 3.0
    waiting = node_segments(state, state.span_by_name("commercial"))
    assert [(s.kind, s.start, s.end) for s in waiting] == [("waiting", T0, T0 + 3.0)]


def test_stacked_runs_share_one_time_axis():
    one, two = hybrid().state(), staircase().state()
    layout = GanttLayout([one, two], px_per_s=50.0)
    assert [r.text.split(" · ")[0] for r in layout.rows if r.kind == "run"] == ["Run 1", "Run 2"]
    a, b = layout.node_row(nid("hardware"), 0), layout.node_row(nid("hardware"), 1)
    assert b.top > a.top
    assert layout.x_of(0, one.start_time) == layout.x_of(1, two.start_time) == layout.origin
    assert layout.duration == pytest.approx(max(one.totals().wall, two.totals().wall))


def test_only_visible_rows_are_selected_and_hit_testing_finds_bars():
    state = wide(1000).state()
    layout = GanttLayout([state], px_per_s=80.0)
    visible = layout.rows_between(5000, 5400)
    assert 15 <= len(visible) <= 20
    assert all(r.bottom > 5000 and r.top < 5400 for r in visible)
    row = next(r for r in visible if r.kind == "node")
    x0, y0, x1, y1 = layout.bar_rect(row.node_id)
    assert layout.node_at((x0 + x1) / 2, (y0 + y1) / 2) == (0, row.node_id)
    assert layout.node_at(x1 + 200, (y0 + y1) / 2) is None


def test_fit_zoom_puts_the_whole_run_in_the_width():
    state = staircase().state()
    layout = GanttLayout([state])
    layout.set_px_per_s(layout.fit_px_per_s(1200))
    assert layout.content_width == pytest.approx(1200)


def test_axis_ticks_and_labels():
    assert tick_step(1000.0) == 0.1 and tick_step(100.0) == 1.0 and tick_step(300.0) == 0.5
    assert tick_step(0.5) == 300.0  # minutes for long runs
    assert ticks(0.0, 2.0, 0.5) == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert [tick_label(t, 0.25) for t in (0.0, 0.25, 1.5)] == ["0", "250 ms", "1.5 s"]
    assert tick_label(600.0, 300.0) == "10 min"


def test_totals_and_tooltip_text():
    state = hybrid().state()
    items = dict(totals_items(state))
    assert items["Wall"] == "8.70 s" and items["Calls"] == "7" and items["Cost"] == "$0.0258"
    assert items["Tokens"] == "2,614 in / 2,548 out"
    assert items["Critical path"].startswith("topic → hardware → security → academic → aggregate → summary")
    tip = tooltip_html(state, state.span_by_name("software"))
    for text in (
        "Queued",
        "Start",
        "End",
        "First token",
        "139 in / 388 out",
        "Attempt 1",
        "HTTP 429",
        "Attempt 2",
        "Backoff",
        "$0.0043",
        "req-software",
    ):
        assert text in tip


def test_unknown_cost_is_never_shown_as_zero():
    state = failing().state()
    assert state.totals().cost_usd is None
    assert "Cost\u00a0unknown" in totals_text(state) and "$0" not in totals_text(state)
    assert fmt_cost(None) == "unknown"


def test_header_while_running_counts_running_nodes_and_shows_no_false_zeros():
    state = hybrid().state(until=1.0)  # three calls under way (software in backoff), none finished
    now = state.now() - T0
    assert now == pytest.approx(0.995)  # the last event seen
    assert state.totals().node_time == 0.0
    # hardware from 0.01 s, software from 0.02 s (its first attempt), commercial from 0.32 s, up to now
    assert live_node_time(state) == pytest.approx((now - 0.01) + (now - 0.02) + (now - 0.32))
    items = dict(totals_items(state))
    assert items["Avg in flight"] == f"{live_node_time(state) / now:.2f}" != "0.00"
    assert items["Cost"] == "—" and items["Critical path"] == "—" and items["Calls"] == "0"
    assert items["Tokens"] == "0 in / 0 out (+~6 streaming)"


def test_a_stopped_run_s_header_says_its_critical_path_is_over_the_steps_that_ran():
    stopped = cancelled().state()
    assert any(span.started_at is None for span in stopped.spans.values())
    assert dict(totals_items(stopped))["Critical path"].endswith(" · over the steps that ran")
    assert "over the steps" not in dict(totals_items(hybrid().state()))["Critical path"]  # every step ran
