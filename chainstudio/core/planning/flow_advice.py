"""The advisor on map and route steps (issue 15): what a map's fan-out does under the run's caps, and what
a graph's routes make its cost depend on. ``call_intervals`` gives every model call of an estimate,
a map's items one by one, for the advisor's peak parallelism."""

from __future__ import annotations

import math

from chainstudio.core.graph.kinds import MODEL_KINDS
from chainstudio.core.planning.estimate import Estimate
from chainstudio.core.run.state import RunState


def call_intervals(state: RunState) -> list[tuple[float, float]]:
    """(start, end) of every model call in ``state``: a map's items, not the map."""
    out = []
    for span in state.spans.values():
        if span.kind == "map":
            out += [(i.started_at, i.ended_at or i.started_at) for i in span.items if i.started_at is not None]
        elif span.kind in MODEL_KINDS and span.started_at is not None:
            out.append((span.started_at, span.ended_at or span.started_at))
    return out


def flow_advice(base: Estimate, concurrency: int | None) -> list[tuple[str, str, str]]:
    """(kind, title, detail) of the advice on maps and routes (none when the graph has neither)."""
    advice = []
    for node in base.nodes:
        if node.kind != "map" or node.name not in base.item_notes:
            continue
        span = base.run_state.span_by_name(node.name)
        items = len(span.items)
        limit = min(c for c in (concurrency, items) if c is not None) if items else 0
        durations = [i.duration for i in span.items if i.duration is not None]
        each = sum(durations) / len(durations) if durations else 0.0
        waves = math.ceil(items / limit) if limit else 0
        detail = (
            f"{node.name} makes one call per item: {base.item_notes[node.name]}. With at most {limit} in flight "
            f"its items run in {waves} wave{'s' * (waves != 1)} of about {each:.1f} s "
            f"(predicted {node.duration_ms / 1000:.1f} s for the map); every item is a call you pay for."
        )
        if concurrency is not None and items > concurrency:
            detail += f" A higher concurrency cap than {concurrency} shortens it, within your rate limits."
        advice.append(("map", f"Map {node.name}: {items} calls", detail))
    if base.flow is not None:
        advice.append(
            (
                "route",
                "Routes: only the branches taken cost anything",
                f"Cost range over the {base.flow.text()}. The other figures are the most expensive path; "
                "branches not taken make no call.",
            )
        )
    return advice
