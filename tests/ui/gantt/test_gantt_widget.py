"""The Gantt panel as the user sees it: header totals, clicks, highlight, zoom, live growth, cheap paints."""

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QWheelEvent
from PySide6.QtWidgets import QApplication

from chainstudio.core.run import events as ev
from chainstudio.core.run.state import RunState
from tests.ui.gantt_scripts import Script, failing, hybrid, nid, wide


def bar_center(widget, node_id, run_index=0):
    x0, y0, x1, y1 = widget.view.layout_.bar_rect(node_id, run_index)
    return widget.view.viewport_point((x0 + x1) / 2, (y0 + y1) / 2)


def pixel(widget, point: QPoint) -> QColor:
    return widget.view.viewport().grab().toImage().pixelColor(point)


def test_header_shows_the_run_totals_and_simulated(gantt):
    gantt.set_state(hybrid().state())
    text = gantt.header_text()
    assert text.startswith("research-hybrid · eager · concurrency 2 · Simulated (offline) · succeeded [SIMULATED]")
    for part in (
        "Wall 8.70 s",
        "Node time 14.7 s",
        "Avg in flight 1.69",
        "Critical path topic → hardware → security → academic → aggregate → summary (8.66 s)",
        "Tokens 2,614 in / 2,548 out",
        "Calls 7",
        "Cost $0.0258",
    ):
        assert part in text


def test_header_of_a_real_provider_run_has_no_simulated_label_and_unknown_cost(gantt):
    script = failing()
    script.simulated = False
    gantt.set_state(script.state())
    assert "SIMULATED" not in gantt.header_text()
    assert "Cost unknown" in gantt.header_text() and "partial" in gantt.header_text()


def test_clicking_a_bar_emits_its_node_id(gantt, qtbot):
    gantt.set_state(hybrid().state())
    clicked = []
    gantt.nodeClicked.connect(clicked.append)
    with qtbot.waitSignal(gantt.nodeClicked) as blocker:
        qtbot.mouseClick(gantt.view.viewport(), Qt.MouseButton.LeftButton, pos=bar_center(gantt, nid("security")))
    assert blocker.args == [nid("security")]
    x0, y0, x1, y1 = gantt.view.layout_.bar_rect(nid("security"))
    empty = gantt.view.viewport_point(x1 + 150, (y0 + y1) / 2)  # same row, right of the bar and its label
    qtbot.mouseClick(gantt.view.viewport(), Qt.MouseButton.LeftButton, pos=empty)
    assert clicked == [nid("security")]


def test_highlight_marks_the_row(gantt):
    gantt.set_state(hybrid().state())
    theme = gantt.view.theme
    view = gantt.view
    row = view.layout_.node_row(nid("academic"))
    probe = view.viewport_point(view.metrics.label_width + 4, row.center)  # left of time 0: no bar there
    assert pixel(gantt, probe) != theme.highlight_bg
    gantt.highlight_node(nid("academic"))
    assert gantt.highlighted == {nid("academic")}
    assert pixel(gantt, probe) == theme.highlight_bg
    gantt.highlight_node(None)
    assert gantt.highlighted == set() and pixel(gantt, probe) != theme.highlight_bg


def test_failed_and_skipped_colours_on_screen(gantt):
    gantt.set_state(failing().state())
    theme = gantt.view.theme
    assert pixel(gantt, bar_center(gantt, nid("hardware"))) == theme.status_color("failed")
    assert pixel(gantt, bar_center(gantt, nid("commercial"))) == theme.status_color("succeeded")
    assert gantt.view.layout_.bar_rect(nid("security")) is None  # skipped: no working bar
    row = gantt.view.layout_.node_row(nid("security"))
    x0, x1 = gantt.view.layout_.row_pixel_extent(row)
    top = gantt.view.layout_.bar_top(row)
    a, b = gantt.view.viewport_point(x0, top), gantt.view.viewport_point(x1, top + gantt.view.metrics.bar_height)
    image = gantt.view.viewport().grab().toImage()
    chip = {image.pixelColor(x, y).name() for x in range(a.x(), b.x()) for y in range(a.y(), b.y())}
    assert theme.status_color("skipped").name() in chip  # the grey hatched chip
    assert theme.status_color("failed").name() not in chip


def test_zoom_buttons_wheel_and_fit(gantt, qtbot):
    gantt.set_state(hybrid().state())
    view = gantt.view
    fitted = view.px_per_s
    assert view.layout_.content_width == pytest.approx(view.viewport().width(), abs=1)
    gantt.zoom_in_button.click()
    assert view.px_per_s == pytest.approx(fitted * 1.5)
    anchor = QPointF(700, 200)
    t_before = view.layout_.rel_of_x(anchor.x() + view.horizontalScrollBar().value())
    wheel = QWheelEvent(
        anchor,
        view.viewport().mapToGlobal(anchor),
        QPoint(),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.ControlModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(view.viewport(), wheel)
    assert view.px_per_s == pytest.approx(fitted * 1.5 * 1.5)
    assert view.horizontalScrollBar().maximum() > 0
    t_after = view.layout_.rel_of_x(anchor.x() + view.horizontalScrollBar().value())
    assert t_after == pytest.approx(t_before, abs=1.0 / view.px_per_s)  # zoomed around the cursor
    gantt.zoom_out_button.click()
    assert view.px_per_s == pytest.approx(fitted * 1.5)
    gantt.fit_button.click()
    assert view.px_per_s == pytest.approx(fitted) and view.horizontalScrollBar().value() == 0


def test_bars_grow_live_as_events_arrive(gantt):
    events = hybrid().events()
    state = RunState()
    gantt.set_state(state)
    cut = next(i for i, e in enumerate(events) if e.t - events[0].t > 3.0)
    for event in events[:cut]:
        state.apply(event)
    gantt.refresh()
    layout = gantt.view.layout_
    running = layout.bar_rect(nid("security"))
    assert running[2] == pytest.approx(layout.x_of(0, state.now()))
    assert "running" in gantt.header_text()
    for event in events[cut:]:
        state.apply(event)
    gantt.refresh()
    layout = gantt.view.layout_
    done = state.span_by_name("security")
    assert layout.bar_rect(nid("security"))[2] == pytest.approx(layout.x_of(0, done.ended_at))
    assert "succeeded" in gantt.header_text()


def test_tooltip_has_every_number(gantt):
    gantt.set_state(hybrid().state())
    tip = gantt.view.tooltip_for(bar_center(gantt, nid("software")))
    for text in (
        "software",
        "Queued",
        "Start",
        "First token",
        "End",
        "139 in / 388 out",
        "$0.0043",
        "Attempt 1",
        "HTTP 429 rate limited",
        "Attempt 2",
        "Backoff",
    ):
        assert text in tip
    assert gantt.view.tooltip_for(QPoint(gantt.view.metrics.label_width + 2, 5)) == ""


def test_a_thousand_nodes_paint_only_the_visible_rows(gantt, monkeypatch):
    gantt.set_state(wide(1000).state())
    layout = gantt.view.layout_
    drawn = []
    original = type(layout).segments
    monkeypatch.setattr(type(layout), "segments", lambda self, row: drawn.append(row.node_id) or original(self, row))
    gantt.view.verticalScrollBar().setValue(12_000)
    gantt.view.viewport().grab()
    visible_rows = gantt.view.viewport().height() // gantt.view.metrics.row_height + 2
    assert 0 < len(set(drawn)) <= visible_rows
    assert all(int(n.split("n")[-1]) > 300 for n in drawn)  # rows far down the list, not the first ones
    gantt.highlight_node("node-n900")
    row = layout.node_row("node-n900")
    assert gantt.view.verticalScrollBar().value() <= row.top <= gantt.view.verticalScrollBar().value() + 600


def test_stacked_runs_show_one_header_line_each(gantt):
    one, two = hybrid().state(), Script(run_id="run-2").state()
    gantt.set_states([one, two])
    assert "2 runs stacked" in gantt.header_text() and "Run 1: Wall 8.70 s" in gantt.header_text()
    assert gantt.view.layout_.node_row(nid("hardware"), 0) is not None
    assert [r.text for r in gantt.view.layout_.rows if r.kind == "run"][0].startswith("Run 1 · research-hybrid")


def test_events_of_other_runs_do_not_move_bars(gantt):
    state = hybrid().state()
    gantt.set_state(state)
    before = gantt.view.layout_.bar_rect(nid("hardware"))
    state.apply(ev.NodeFinished("someone-else", 99999.0, nid("hardware"), "x"))
    gantt.refresh()
    assert gantt.view.layout_.bar_rect(nid("hardware")) == before


def test_a_bar_label_never_goes_inside_a_patterned_bar():
    """Issue 12, item 10: an error painted over a failed or backing-off bar could not be read. It goes beside
    the bar (elided to the room there), or is left to the tooltip; only a solid bar may carry text inside."""
    from chainstudio.core.gantt.layout import LABEL_GAP, MIN_LABEL_PX, label_place

    room = (220.0, 1000.0)
    assert label_place(100, (300, 500), room, solid=False) == (500 + LABEL_GAP, 100)  # right of the bar
    assert label_place(100, (700, 990), room, solid=False) == (700 - LABEL_GAP - 100, 100)  # left of it
    # a bar across the whole chart: a solid one carries the text inside its end, a failed one does not
    inside = label_place(100, (230, 1000), room, solid=True)
    assert inside is not None and 230 < inside[0] < 1000
    assert label_place(100, (230, 1000), room, solid=False) is None
    # some room on one side: the text goes there, elided to that width, never onto the bar
    x, width = label_place(400, (400, 900), room, solid=False)
    assert x == 220 and x + width == 400 - LABEL_GAP and width >= MIN_LABEL_PX
    x, width = label_place(400, (240, 700), room, solid=False)
    assert x == 700 + LABEL_GAP and width == 1000 - 700 - LABEL_GAP


def test_a_reused_step_s_thin_bar_carries_no_text_inside():
    """A step reused from the step cache is drawn as a thin hatched line: its label ("cached · saved 4.35 s …")
    was painted inside it, white over the grid, where it could not be read (seen in the real window at the
    default size after a second run of the welcome graph). It goes beside the bar, or to the tooltip."""
    from chainstudio.core.run import events as ev
    from chainstudio.core.run.state import NodeSpan
    from chainstudio.core.run.status import StepStatus
    from chainstudio.ui.gantt.paint import painted_solid

    span = NodeSpan("n1", "hardware", "llm", 1)
    span.status = StepStatus.SUCCEEDED
    assert painted_solid(span)
    span.reused = ev.NodeReused("r", 0.0, "n1", "answer", "cache", "run-1", 10, 20, 0.001)
    assert not painted_solid(span)
