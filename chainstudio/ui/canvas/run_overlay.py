"""A run drawn on the canvas: each card's state (colour, icon, elapsed time, tokens so far), edges lit
when their data arrived, and the critical path once the run is over. Computed from the RunState only."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache

from PySide6.QtGui import QColor

from chainstudio.core.gantt.items import map_items_text
from chainstudio.core.graph.kinds import MODEL_KINDS
from chainstudio.core.graph.validation import input_name
from chainstudio.core.run.state import NodeSpan, RunState
from chainstudio.ui import theme
from chainstudio.ui.gantt.theme import STATUS_HEX_DARK, STATUS_HEX_LIGHT

ICONS = {
    "pending": "·",
    "queued": "…",
    "waiting": "⏳",
    "running": "▶",
    "retrying": "↻",
    "succeeded": "✓",
    "failed": "✗",
    "skipped": "⤼",
    "cancelled": "■",
    "not_run": "○",
    "not_taken": "⊘",
    "cached": "⟲",
    "pinned": "⚑",
}
LABELS = {"waiting": "waiting for a slot", "succeeded": "done", "not_run": "not run", "not_taken": "not taken · $0"}


def status_color(status: str) -> QColor:
    """The Gantt's colour for a state, from its dark set when the canvas is dark (shared: do not change it)."""
    return _status_color(status, theme.DARK)


@cache
def _status_color(status: str, dark: bool) -> QColor:
    colors = STATUS_HEX_DARK if dark else STATUS_HEX_LIGHT
    return QColor(colors.get(status, colors["pending"]))


@dataclass(frozen=True)
class Badge:
    status: str
    text: str
    estimate: bool = False  # a prediction before any run, not a state

    @property
    def color(self) -> QColor:
        return status_color(self.status)


def _seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.1f} s"


def reuse_badge(span: NodeSpan) -> Badge | None:
    """The footer of a step that answered without a call: ``⟲ cached · saved 2.3 s · ↑120 ↓480``,
    ``⟲ from run-1a2b3c · saved …``, ``⚑ pinned``; None for any other step."""
    reused = span.reused
    if reused is None:
        return None
    if reused.source == "pin":
        return Badge("pinned", f"{ICONS['pinned']} pinned output")
    where = "cached" if reused.source == "cache" else f"from {reused.origin}"
    tokens = f"↑{reused.input_tokens:,} ↓{reused.output_tokens:,}"
    return Badge("cached", f"{ICONS['cached']} {where} · saved {_seconds(reused.duration)} · {tokens}")


def badge_for(state: RunState, span: NodeSpan) -> Badge:
    """The card footer for one step: icon, state, elapsed time, tokens so far."""
    reused = reuse_badge(span)
    if reused is not None:
        return reused
    status = span.status
    parts = [f"{ICONS.get(status, '')} {LABELS.get(status, status)}"]
    if span.started_at is not None:
        end = span.ended_at if span.ended_at is not None else state.now()
        parts.append(_seconds(max(0.0, end - span.started_at)))
    if span.items:  # a map: how many items, how many failed
        parts.append(map_items_text(span))
    if span.kind in MODEL_KINDS:
        if span.done and (span.input_tokens or span.output_tokens):
            guess = "~" if span.tokens_estimated else ""  # an offline guess: the server did not count them
            parts.append(f"↑{guess}{span.input_tokens:,} ↓{guess}{span.output_tokens:,}")
        elif span.deltas:
            parts.append(f"~{span.deltas} chunks")
        if len(span.attempts) > 1:
            parts.append(f"attempt {len(span.attempts)}")
    return Badge(status, " · ".join(parts))


def lit_edges(state: RunState) -> set[tuple[str, str]]:
    """(source, target) pairs whose source succeeded: its data has arrived at the target."""
    return {(s, t) for s, t in state.edges if s in state.spans and state.spans[s].status == "succeeded"}


def critical_pairs(state: RunState) -> tuple[set[str], set[tuple[str, str]]]:
    """Nodes and consecutive (source, target) pairs on the critical path of a finished run."""
    if state.running or state.start_time is None:
        return set(), set()
    path, _ = state.critical_path()
    return set(path), set(zip(path, path[1:], strict=False))


def apply_to_scene(scene, state: RunState | None, changed: frozenset[str] | None = None) -> None:
    """Update the scene's cards and edges (``changed``: only those node ids; None: all)."""
    critical_nodes, critical_edges = critical_pairs(state) if state is not None else (set(), set())
    if state is not None and changed is not None and not critical_nodes:
        apply_part(scene, state, changed)
        return
    lit = lit_edges(state) if state is not None else set()
    for node_id, item in scene.nodes.items():
        if changed is not None and node_id not in changed and not critical_nodes:
            continue
        span = state.spans.get(node_id) if state is not None else None
        badge = badge_for(state, span) if state is not None and span is not None else None
        item.set_run(badge, node_id in critical_nodes)
    for item in scene.edges.values():
        pair = (item.source_id, item.target_id)
        item.set_flow("critical" if pair in critical_edges else "lit" if pair in lit else None)


def apply_part(
    scene, state: RunState, node_ids: Iterable[str], critical: tuple[set[str], set[tuple[str, str]]] | None = None
) -> None:
    """Only the cards of ``node_ids`` and the edges leaving them (an edge is lit by its source alone): a
    10,000-step run's update used to visit its 100,000 edges, 30 times a second. ``critical``: the finished
    run's ``critical_pairs`` (a full pass a part at a time: ``ui.run.overlay_slices``)."""
    critical_nodes, critical_edges = critical if critical is not None else (set(), set())
    spans, run_edges = state.spans, _pairs(state.edges)
    node_ids = list(node_ids)
    for node_id in node_ids:
        item, span = scene.nodes.get(node_id), spans.get(node_id)
        if item is not None:
            item.set_run(badge_for(state, span) if span is not None else None, node_id in critical_nodes)
    edges = scene.edges
    for node_id in node_ids:
        span = spans.get(node_id)
        succeeded = span is not None and span.status == "succeeded"
        for edge_id in scene.edges_of(node_id):  # the scene's index, kept by its edits (an index of its
            item = edges.get(edge_id)  # 100,000 edges by source, made again at each revision, took 80 ms)
            if item is None or item.source_id != node_id:
                continue
            pair = (item.source_id, item.target_id)
            lit = succeeded and pair in run_edges
            item.set_flow("critical" if pair in critical_edges else "lit" if lit else None)


_pairs_of: list[tuple[tuple[tuple[str, str], ...], frozenset[tuple[str, str]]]] = []  # the last run's, once


def _pairs(edges: tuple[tuple[str, str], ...]) -> frozenset[tuple[str, str]]:
    if not _pairs_of or _pairs_of[0][0] is not edges:
        _pairs_of[:] = [(edges, frozenset(edges))]
    return _pairs_of[0][1]


def estimate_badge_of(scene, estimate) -> Callable[[str], Badge | None]:
    """Before a run, what ``estimate`` (None: none) puts on a card of ``scene``'s, by its node id: an LLM
    card's predicted time, tokens and cost, an input estimated with a placeholder says so, None clears it
    (set on a big canvas a part at a time: ``ui.planning.estimate_badges``)."""
    by_name = {n.name: n for n in estimate.nodes} if estimate is not None else {}
    placeholders = set(estimate.placeholders) if estimate is not None else set()
    graph = scene.document.graph

    def badge(node_id: str) -> Badge | None:
        node = graph.nodes.get(node_id)
        if node is not None and node.kind == "input" and input_name(node) in placeholders:
            return Badge("pending", "≈ no value yet: placeholder")
        predicted = by_name.get(node.name) if node is not None and node.kind in MODEL_KINDS else None
        if predicted is None:
            return None
        if predicted.basis in ("cache hit", "pinned"):  # answered for nothing, at once
            word = "cached" if predicted.basis == "cache hit" else "pinned"
            return Badge(word, f"≈ {ICONS[word]} {predicted.basis} · 0 s · $0")
        cost = "" if predicted.cost_usd is None else f" · ${predicted.cost_usd:.4f}"
        return Badge(
            "pending",
            f"≈ {_seconds(predicted.duration_ms / 1000)} · ↑{predicted.input_tokens:,} "
            f"↓{predicted.output_tokens:,}{cost}",
            estimate=True,
        )

    return badge
