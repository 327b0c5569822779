"""Gantt geometry apart from painting (pure, no Qt): rows, the time↔pixel mapping, hit testing.

Content coordinates: ``y = 0`` is the top of the first row (the time axis sits above it), ``x = 0`` is
the left edge of the label column; time 0 of every run is at ``x = origin``. Several runs can be stacked
on one shared axis: each run's times are measured from its own start.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

from chainstudio.core.gantt.items import item_segments, row_title
from chainstudio.core.gantt.segments import Segment, SkipAnchors, bar_span, node_segments, reused_end, skip_anchors
from chainstudio.core.gantt.text import layer_label, run_title
from chainstudio.core.run.state import RunState

RowKind = Literal["run", "layer", "node", "item"]  # "item": one item of an expanded map step
MIN_PX_PER_S = 1e-3
MAX_PX_PER_S = 1e6


@dataclass(frozen=True)
class Metrics:
    label_width: int = 220
    axis_height: int = 24
    row_height: int = 24
    group_height: int = 18  # a layer's header row, thinner than a step's: more steps fit in the dock
    run_height: int = 26
    bar_height: int = 14
    left_pad: int = 12  # from the label column to time 0
    right_pad: int = 110  # room for the last bar's token label
    min_bar_px: float = 3.0
    skip_chip_px: float = 52.0
    pin_chip_px: float = 18.0
    hit_slop_px: float = 3.0


@dataclass(frozen=True)
class Row:
    kind: RowKind
    top: float
    height: float
    run_index: int
    text: str
    node_id: str | None = None
    layer: int | None = None
    item: int | None = None  # an item row's index in its map (node_id is the map's)

    @property
    def bottom(self) -> float:
        return self.top + self.height

    @property
    def center(self) -> float:
        return self.top + self.height / 2


def build_rows(states: Sequence[RunState], metrics: Metrics, expanded: Collection[tuple[int, str]] = ()) -> list[Row]:
    """A row per node, grouped under a header per layer; a run header per run when several are stacked; an
    expanded map step (``(run index, node id)`` in ``expanded``) has a row per item under its own."""
    rows: list[Row] = []
    y = 0.0
    stacked = len(states) > 1
    for index, state in enumerate(states):
        if stacked:
            rows.append(Row("run", y, metrics.run_height, index, f"Run {index + 1} · {run_title(state)}"))
            y += metrics.run_height
        by_layer: dict[int, list[str]] = {}
        for node_id, span in state.spans.items():
            by_layer.setdefault(span.layer, []).append(node_id)
        for layer in sorted(by_layer):
            ids = by_layer[layer]
            rows.append(Row("layer", y, metrics.group_height, index, layer_label(layer, len(ids)), layer=layer))
            y += metrics.group_height
            for node_id in ids:
                span, is_open = state.spans[node_id], (index, node_id) in expanded
                rows.append(Row("node", y, metrics.row_height, index, row_title(span, is_open), node_id, layer))
                y += metrics.row_height
                for item in span.items if is_open else ():
                    rows.append(
                        Row("item", y, metrics.row_height, index, f"[{item.index}]", node_id, layer, item.index)
                    )
                    y += metrics.row_height
    return rows


class GanttLayout:
    """Rows and the time↔pixel mapping for one or more runs on a shared time axis."""

    def __init__(
        self,
        states: Sequence[RunState],
        metrics: Metrics | None = None,
        px_per_s: float = 100.0,
        expanded: Collection[tuple[int, str]] = (),
    ):
        """``expanded``: the map steps, as (run index, node id), shown with a row per item."""
        self.metrics = metrics or Metrics()
        self.states = list(states)
        self.px_per_s = px_per_s
        self.expanded = frozenset(expanded)
        self.rows = build_rows(self.states, self.metrics, self.expanded)
        self._tops = [row.top for row in self.rows]
        self._node_rows = {(r.run_index, r.node_id): r for r in self.rows if r.kind == "node"}
        self._anchors: dict[int, tuple[int, SkipAnchors]] = {}
        self._reused_ends: dict[int, tuple[int, float]] = {}  # run index -> (events seen, seconds from start)

    # --- time ↔ x ------------------------------------------------------------------------------
    @property
    def origin(self) -> float:
        return self.metrics.label_width + self.metrics.left_pad

    def set_px_per_s(self, px_per_s: float) -> None:
        self.px_per_s = min(MAX_PX_PER_S, max(MIN_PX_PER_S, px_per_s))

    def x_of_rel(self, seconds: float) -> float:
        return self.origin + seconds * self.px_per_s

    def rel_of_x(self, x: float) -> float:
        return (x - self.origin) / self.px_per_s

    def x_of(self, run_index: int, t: float) -> float:
        """The x of a run's monotonic time ``t``."""
        start = self.states[run_index].start_time or 0.0
        return self.x_of_rel(t - start)

    @property
    def duration(self) -> float:
        """The longest run so far, in seconds (live: ``now() - start``), or the end of the longest recorded
        time a replayed step saved, when that is later."""
        spans = [s.now() - s.start_time for s in self.states if s.start_time is not None]
        return max([*spans, *(self._reused_end(i) for i in range(len(self.states)))], default=0.0)

    def _reused_end(self, run_index: int) -> float:
        state = self.states[run_index]
        cached = self._reused_ends.get(run_index)
        if cached is None or cached[0] != state.events_applied:
            end = reused_end(state)
            start = state.start_time or 0.0
            cached = (state.events_applied, 0.0 if end is None else end - start)
            self._reused_ends[run_index] = cached
        return cached[1]

    @property
    def content_width(self) -> float:
        return self.x_of_rel(self.duration) + self.metrics.right_pad

    @property
    def content_height(self) -> float:
        return self.rows[-1].bottom if self.rows else 0.0

    def fit_px_per_s(self, width: float) -> float:
        """The zoom at which the whole run fits in ``width`` pixels (label column included)."""
        room = max(40.0, width - self.origin - self.metrics.right_pad)
        return min(MAX_PX_PER_S, max(MIN_PX_PER_S, room / max(self.duration, 0.05)))

    # --- rows -----------------------------------------------------------------------------------
    def rows_between(self, y0: float, y1: float) -> list[Row]:
        """The rows that intersect [y0, y1): only these are painted."""
        first = max(0, bisect.bisect_right(self._tops, y0) - 1)
        last = bisect.bisect_left(self._tops, y1)
        return [r for r in self.rows[first:last] if r.bottom > y0]

    def row_at(self, y: float) -> Row | None:
        index = bisect.bisect_right(self._tops, y) - 1
        if index < 0 or y >= self.rows[index].bottom:
            return None
        return self.rows[index]

    def node_row(self, node_id: str, run_index: int = 0) -> Row | None:
        return self._node_rows.get((run_index, node_id))

    # --- bars -----------------------------------------------------------------------------------
    def bar_top(self, row: Row) -> float:
        return row.top + (row.height - self.metrics.bar_height) / 2

    def anchors(self, run_index: int) -> SkipAnchors:
        """Skipped nodes' places, computed once per state version."""
        state = self.states[run_index]
        cached = self._anchors.get(run_index)
        if cached is None or cached[0] != state.events_applied:
            cached = (state.events_applied, skip_anchors(state))
            self._anchors[run_index] = cached
        return cached[1]

    def segments(self, row: Row) -> list[Segment]:
        """What to draw in a node row (header rows have none)."""
        if row.node_id is None:
            return []
        state = self.states[row.run_index]
        span = state.spans[row.node_id]
        if row.item is not None:
            return item_segments(state, span.items[row.item]) if row.item < len(span.items) else []
        anchors = self.anchors(row.run_index) if span.status in ("skipped", "not_taken") else None
        return node_segments(state, span, anchors)

    def segment_x(self, row: Row, segment: Segment) -> tuple[float, float]:
        """A segment's pixel range; short ones are widened so that they stay visible."""
        x0 = self.x_of(row.run_index, segment.start)
        x1 = self.x_of(row.run_index, segment.end)
        chip = self.metrics.skip_chip_px
        minimum = {"skipped": chip, "not_taken": chip, "pinned": self.metrics.pin_chip_px}.get(
            segment.kind, self.metrics.min_bar_px
        )
        return x0, max(x1, x0 + minimum)

    def bar_rect(self, node_id: str, run_index: int = 0) -> tuple[float, float, float, float] | None:
        """(x0, y0, x1, y1) of the node's working bar (start → end or now), in content pixels."""
        row = self.node_row(node_id, run_index)
        if row is None:
            return None
        state = self.states[run_index]
        span = bar_span(state, state.spans[node_id])
        if span is None:
            return None
        x0, x1 = self.x_of(run_index, span[0]), self.x_of(run_index, span[1])
        top = self.bar_top(row)
        return x0, top, max(x1, x0 + self.metrics.min_bar_px), top + self.metrics.bar_height

    def row_pixel_extent(self, row: Row) -> tuple[float, float] | None:
        xs = [self.segment_x(row, s) for s in self.segments(row)]
        if not xs:
            return None
        return min(a for a, _ in xs), max(b for _, b in xs)

    def node_at(self, x: float, y: float) -> tuple[int, str] | None:
        """The (run index, node id) whose bar is under content point (x, y), if any."""
        row = self.row_at(y)
        if row is None or row.kind not in ("node", "item"):
            return None
        extent = self.row_pixel_extent(row)
        slop = self.metrics.hit_slop_px
        if extent is None or not (extent[0] - slop <= x <= extent[1] + slop):
            return None
        return row.run_index, row.node_id  # type: ignore[return-value]


LABEL_GAP = 6.0  # between a bar and its text
MIN_LABEL_PX = 28.0  # narrower than this beside a bar, its text is left to the tooltip


def label_place(
    text_width: float, bar: tuple[float, float], room: tuple[float, float], *, solid: bool
) -> tuple[float, float] | None:
    """Where a bar's text goes, as (x, width available): right of the bar, else left of it, else — only
    for a bar painted ``solid`` (a patterned failed, retrying or backing-off bar would make it unreadable)
    — inside the bar's end; else beside the bar on the roomier side, to be elided to the width given; None
    when neither side has ``MIN_LABEL_PX`` (the tooltip carries the text then). ``room`` is the chart's
    visible x range."""
    right = room[1] - (bar[1] + LABEL_GAP)
    left = (bar[0] - LABEL_GAP) - room[0]
    if text_width <= right:
        return bar[1] + LABEL_GAP, text_width
    if text_width <= left:
        return bar[0] - LABEL_GAP - text_width, text_width
    inside = min(bar[1], room[1]) - text_width - LABEL_GAP
    if solid and inside > max(bar[0], room[0]):
        return inside, text_width
    space = max(right, left)
    if space < MIN_LABEL_PX:
        return None
    return (bar[1] + LABEL_GAP, right) if right >= left else (bar[0] - LABEL_GAP - left, left)
