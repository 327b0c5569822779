"""A map step's items in the Gantt (pure, no Qt): the map is one row that expands to a row per item.

``item_segments`` draws one item like a step's attempt: time to first token, then generation (a failed
item in the failed colour); ``item_label`` is the text beside it; ``map_items_text`` the map row's
summary (``200 items · 3 failed``).
"""

from __future__ import annotations

from chainstudio.core.formatting import fmt_duration, fmt_tokens
from chainstudio.core.gantt.segments import Segment
from chainstudio.core.run.map_state import ItemSpan
from chainstudio.core.run.state import NodeSpan, RunState

EXPANDED, COLLAPSED = "▾", "▸"


def item_segments(state: RunState, item: ItemSpan) -> list[Segment]:
    if item.started_at is None:
        return []
    end = item.ended_at if item.ended_at is not None else state.now()
    end = max(end, item.started_at)
    status = str(item.status)
    if item.first_token_at is not None and item.started_at <= item.first_token_at <= end:
        return [
            Segment("ttft", item.started_at, item.first_token_at, status),
            Segment("generation", item.first_token_at, end, status),
        ]
    if item.ended_at is None:
        return [Segment("ttft", item.started_at, end, status)]
    return [Segment("generation", item.started_at, end, status)]


def item_label(item: ItemSpan) -> str:
    """Duration and tokens (and the error) beside an item's bar."""
    parts = []
    if item.duration is not None:
        parts.append(fmt_duration(item.duration))
    if item.input_tokens or item.output_tokens:
        guess = "~" if item.tokens_estimated else ""
        parts.append(f"↑{guess}{fmt_tokens(item.input_tokens)} ↓{guess}{fmt_tokens(item.output_tokens)}")
    if item.attempts > 1:
        parts.append(f"{item.attempts} attempts")
    if item.error:
        parts.append(item.error)
    return " · ".join(parts)


def map_items_text(span: NodeSpan) -> str:
    """``200 items · 3 failed · 12 running``: a map row's items in words ('' for other steps)."""
    if span.kind != "map" or not span.items:
        return ""
    n = len(span.items)
    parts = [f"{n} item{'s' * (n != 1)}"]
    failed = sum(1 for i in span.items if i.status == "failed")
    running = sum(1 for i in span.items if i.status == "running")
    if failed:
        parts.append(f"{failed} failed")
    if running:
        parts.append(f"{running} running")
    return " · ".join(parts)


def row_title(span: NodeSpan, expanded: bool) -> str:
    """A step row's name; a map's says it opens (▸) or is open (▾)."""
    if span.kind != "map":
        return span.name
    return f"{EXPANDED if expanded else COLLAPSED} {span.name}"
