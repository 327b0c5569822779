"""What to draw for one node, in run time: pure functions over a ``RunState`` (no Qt).

A node's row is a list of ``Segment``s in the events' monotonic seconds:

``queued``      ready (dependencies done) but not yet waiting or started
``waiting``     waiting for a concurrency slot or a rate limit
``ttft``        an attempt's time to first token (or the whole attempt while no token came yet)
``generation``  an attempt from its first token to its end (the whole attempt when nothing streamed)
``retry``       a failed attempt that was retried
``backoff``     the pause between a failed attempt and the next one
``skipped``     a zero-length marker where a skipped node would have started (see ``skip_anchors``)
``not_taken``   the same for a step on a branch no route took (it never ran and cost nothing)
``reused``      a step answered by the step cache or an earlier run: drawn thin, as long as the call that
                made its output took (the time this run saved), from where it was replayed
``pinned``      a zero-length marker: the step's pinned output was used
``rejected``    an attempt whose answer failed the step's check (a repair attempt follows it, or the step failed)
``check``       a judge model checking an answer (a checked step, see ``core.run.checks``)

``ttft`` and ``generation`` carry the node's status, which gives them their colour.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from chainstudio.core.run.state import NodeSpan, RunState

SegmentKind = Literal[
    "queued",
    "waiting",
    "ttft",
    "generation",
    "retry",
    "backoff",
    "skipped",
    "not_taken",
    "reused",
    "pinned",
    "rejected",
    "check",
]
SEGMENT_KINDS: tuple[SegmentKind, ...] = get_args(SegmentKind)  # in the order declared above


@dataclass(frozen=True)
class Segment:
    kind: SegmentKind
    start: float  # monotonic seconds, as in the events
    end: float
    status: str  # the node's status (colours ttft/generation)
    attempt: int | None = None

    @property
    def length(self) -> float:
        return self.end - self.start


def bar_span(state: RunState, span: NodeSpan) -> tuple[float, float] | None:
    """The node's working bar: first attempt's start to its end (``state.now()`` while it runs)."""
    if span.started_at is None:
        return None
    end = span.ended_at if span.ended_at is not None else state.now()
    return span.started_at, max(span.started_at, end)


def _first(*values: float | None) -> float | None:
    for value in values:
        if value is not None:
            return value
    return None


def node_segments(state: RunState, span: NodeSpan, anchors: SkipAnchors | None = None) -> list[Segment]:
    """The segments of one node's row, in time order (zero-length waits are left out).

    ``anchors`` (from ``skip_anchors``) places skipped nodes; computed here when not given."""
    now = state.now()
    status = span.status
    segments: list[Segment] = []
    stop = _first(span.ended_at, now)
    first_start = _first(span.attempts[0].start if span.attempts else None, span.started_at)

    if span.queued_at is not None:
        end = _first(span.waiting_at, first_start, stop)
        if end is not None and end > span.queued_at:
            segments.append(Segment("queued", span.queued_at, end, status))
    if span.waiting_at is not None:
        end = _first(first_start, stop)
        if end is not None and end > span.waiting_at:
            segments.append(Segment("waiting", span.waiting_at, end, status))

    if span.attempts:
        last = len(span.attempts) - 1
        for i, attempt in enumerate(span.attempts):
            end = attempt.end if attempt.end is not None else now
            end = max(end, attempt.start)
            retried = attempt.error is not None and (i < last or status == "retrying")
            if attempt.rejected is not None:
                segments.append(Segment("rejected", attempt.start, end, status, attempt.number))
            elif retried:
                segments.append(Segment("retry", attempt.start, end, status, attempt.number))
            elif attempt.first_token is not None:
                segments.append(Segment("ttft", attempt.start, attempt.first_token, status, attempt.number))
                segments.append(Segment("generation", attempt.first_token, end, status, attempt.number))
            elif attempt.end is None and status in ("running", "retrying"):
                segments.append(Segment("ttft", attempt.start, end, status, attempt.number))
            else:
                segments.append(Segment("generation", attempt.start, end, status, attempt.number))
        for backoff in span.backoffs:
            end = min(backoff.end, now)
            if end > backoff.start:
                segments.append(Segment("backoff", backoff.start, end, status))
        for mark in span.checks:
            if mark.end > mark.start:
                segments.append(Segment("check", mark.start, mark.end, status, mark.attempt))
    elif span.reused is not None and span.started_at is not None:  # no call: a pin, the cache, an earlier run
        if span.reused.source == "pin":
            segments.append(Segment("pinned", span.started_at, span.started_at, status))
        else:
            segments.append(Segment("reused", span.started_at, span.started_at + span.reused.duration, status))
    elif span.started_at is not None:  # input / join / output: no model call
        end = span.ended_at if span.ended_at is not None else now
        segments.append(Segment("generation", span.started_at, max(end, span.started_at), status))

    if status in ("skipped", "not_taken") and span.started_at is None:
        if anchors is None:
            anchors = skip_anchors(state)
        anchor = anchors.get(span.node_id, state.start_time or 0.0) or 0.0
        segments.append(Segment("skipped" if status == "skipped" else "not_taken", anchor, anchor, status))
    segments.sort(key=lambda s: (s.start, s.end))
    return segments


class SkipAnchors:
    """Where each node would start: when its last dependency ended, through skipped dependencies too (a
    skipped node has no times of its own); nodes without dependencies anchor at the run's start. Each is
    computed when asked, back through the dependencies without an end: all of them at once (a topological
    order of 10,000 steps and 100,000 edges) took 0.1 s at each repaint after an event that showed a
    skipped step."""

    def __init__(self, state: RunState) -> None:
        self.state = state
        self.start = state.start_time or 0.0
        self._preds = state.dag().preds
        self._known: dict[str, float] = {}

    def get(self, node_id: str, default: float | None = None) -> float | None:
        known = self._known
        if node_id in known or node_id not in self._preds:
            return known.get(node_id, default)
        spans, preds, start = self.state.spans, self._preds, self.start
        path = {node_id}  # the dependencies being computed (one met again: a cycle, anchored at the start)
        stack = [(node_id, iter(preds[node_id]))]
        while stack:
            node, left = stack[-1]
            for p in left:
                if spans[p].ended_at is None and p not in known and p not in path:
                    path.add(p)
                    stack.append((p, iter(preds[p])))
                    break
            else:
                ends = (e if (e := spans[p].ended_at) is not None else known.get(p, start) for p in preds[node])
                known[node] = max(ends, default=start)
                path.discard(node)
                stack.pop()
        return known[node_id]


def skip_anchors(state: RunState) -> SkipAnchors:
    """The skipped nodes' places, computed as asked (``SkipAnchors``)."""
    return SkipAnchors(state)


def reused_end(state: RunState) -> float | None:
    """Where the last ``reused`` segment ends (it may outlast the run: it shows the time the run saved)."""
    ends = [
        s.started_at + s.reused.duration
        for s in state.tally().reused_spans()  # (kept as the run goes: not a scan of every span)
        if s.reused is not None and s.started_at is not None and s.reused.source != "pin"
    ]
    return max(ends, default=None)


def row_extent(state: RunState, span: NodeSpan, anchors: SkipAnchors | None = None) -> tuple[float, float] | None:
    """The time range covered by everything drawn in the node's row."""
    segments = node_segments(state, span, anchors)
    if not segments:
        return None
    return min(s.start for s in segments), max(s.end for s in segments)
