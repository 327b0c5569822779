"""A map step in the Gantt: one row that a click opens to a row per item (and closes again); routes' branches
not taken show as not taken, with their reason."""

import asyncio

from PySide6.QtCore import QPoint, Qt

from chainstudio.core.gantt.layout import GanttLayout
from chainstudio.core.gantt.text import bar_label, tooltip_html
from chainstudio.core.providers.simulated import SimulatedProvider
from chainstudio.core.run.executor import RunContext, run_graph
from chainstudio.core.storage import fileformat
from tests.conftest import EXAMPLES


def finished(name: str):
    graph = fileformat.load(EXAMPLES / f"{name}.chain.json")
    run = asyncio.run(run_graph(graph, RunContext(provider=SimulatedProvider(), concurrency=3)))
    return graph, run.state


def test_a_click_on_the_map_row_opens_and_closes_its_items(gantt, qtbot):
    graph, state = finished("entity-map")
    map_id = graph.resolve("describe").id
    items = state.spans[map_id].items
    assert len(items) >= 2 and all(item.status == "succeeded" for item in items)
    gantt.set_state(state)
    view = gantt.view
    rows_before = len(view.layout_.rows)
    row = view.layout_.node_row(map_id)
    assert row.text == "▸ describe"
    point = QPoint(60, int(row.center + view.metrics.axis_height - view.verticalScrollBar().value()))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    item_rows = [r for r in view.layout_.rows if r.kind == "item"]
    assert [r.item for r in item_rows] == list(range(len(items)))
    assert len(view.layout_.rows) == rows_before + len(items)
    assert view.layout_.node_row(map_id).text == "▾ describe"
    segments = view.layout_.segments(item_rows[0])
    assert [s.kind for s in segments] == ["ttft", "generation"]
    assert segments[0].start == items[0].started_at and segments[-1].end == items[0].ended_at
    view.viewport().grab()  # paints the item rows
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert len(view.layout_.rows) == rows_before


def test_branches_not_taken_are_drawn_as_not_taken_with_the_reason():
    _, state = finished("intent-router")
    layout = GanttLayout([state])
    chosen = state.span_by_name("triage").output
    for span in state.spans.values():
        if span.status != "not_taken":
            continue
        row = layout.node_row(span.node_id)
        assert [s.kind for s in layout.segments(row)] == ["not_taken"]
        assert bar_label(span) == "not taken · $0"
        assert f"route &#x27;triage&#x27; chose {chosen}" in tooltip_html(state, span)
    assert sum(1 for s in state.spans.values() if s.status == "not_taken") == 2
