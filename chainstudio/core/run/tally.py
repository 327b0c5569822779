"""A live run's figures kept from the steps that changed, so that a view reads them in O(changed), not O(steps).

A window redraws a running run's header and bars many times a second. Summing the totals, finding the
running steps and counting a map's items over all 10,000 spans of the limits' biggest graph took 8-20 ms of
each of those turns. ``Tally`` keeps each figure as a running sum: ``RunState`` notes the steps each event
touched, and ``update`` takes each touched step's old share out and its new share in.

Sums of seconds and dollars are kept exactly (``ExactSum``: no rounding error builds up however many
times a share is taken out and put back) and read correctly rounded, as ``math.fsum`` of the shares would
give: ``recount`` (the tests' reference) sums them so.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from chainstudio.core.run.state import NodeSpan

LIVE = frozenset({"running", "retrying", "waiting"})  # a step whose card and bar grow between events
STREAMING = frozenset({"running", "retrying"})  # ... whose chunks so far count as streaming


class ExactSum:
    """A sum of floats kept exactly (Shewchuk's partials, as ``math.fsum``), to which terms are added and
    from which they are taken out; ``value()`` is the exact sum correctly rounded. Infinities and NaN are
    counted aside (a sum holding one is that one, or NaN)."""

    def __init__(self) -> None:
        self._partials: list[float] = []
        self._odd = {"inf": 0, "-inf": 0, "nan": 0}

    def add(self, x: float, sign: int = 1) -> None:
        if not math.isfinite(x):
            self._odd["nan" if math.isnan(x) else "inf" if x > 0 else "-inf"] += sign
            return
        x = x if sign > 0 else -x
        kept = 0
        for y in self._partials:
            if abs(x) < abs(y):
                x, y = y, x
            high = x + y
            low = y - (high - x)
            if low:
                self._partials[kept] = low
                kept += 1
            x = high
        self._partials[kept:] = [x]

    def value(self) -> float:
        odd = self._odd
        if odd["nan"] or (odd["inf"] and odd["-inf"]):
            return math.nan
        if odd["inf"] or odd["-inf"]:
            return math.inf if odd["inf"] else -math.inf
        return math.fsum(self._partials)


class Share(NamedTuple):
    """One step's part in the figures."""

    duration: float
    input_tokens: int
    output_tokens: int
    api_calls: int
    cached_tokens: int
    estimated: bool
    cost: float  # its cost when it called (else 0)
    cost_unknown: bool  # it called and its price is unknown
    items: int  # a map's items
    live: bool
    open_since: float | None  # started, not ended: its running time counts up to now
    streaming: int  # chunks so far, while it streams
    unstarted: bool
    reused: bool


def share_of(span: NodeSpan) -> Share:
    called = span.api_calls > 0
    status = span.status
    duration = span.duration
    open_since = span.started_at if duration is None and span.started_at is not None and not span.done else None
    return Share(
        duration or 0.0,
        span.input_tokens,
        span.output_tokens,
        span.api_calls,
        span.cached_tokens,
        span.tokens_estimated,
        (span.cost_usd or 0.0) if called else 0.0,
        called and span.cost_usd is None,
        len(span.items),
        status in LIVE,
        open_since,
        span.deltas if status in STREAMING else 0,
        span.started_at is None,
        span.reused is not None,
    )


class Tally:
    """The figures of ``spans`` as running sums; ``update(ids)`` after those spans changed."""

    def __init__(self, spans: Mapping[str, NodeSpan]) -> None:
        self.spans = spans
        self.node_time = ExactSum()
        self.cost = ExactSum()
        self.input_tokens = self.output_tokens = self.api_calls = self.cached_tokens = 0
        self.estimated = self.cost_unknown = self.items = self.streaming = self.unstarted = 0
        self.live: dict[str, None] = {}  # the steps running, retrying or waiting
        self.open: dict[str, float] = {}  # the steps started and not ended: their start
        self.reused: dict[str, None] = {}
        self._reused_order: list[str] | None = None  # ... in the spans' order, once asked
        self._shares: dict[str, Share] = {}
        self.update(spans)

    def update(self, node_ids: Iterable[str]) -> None:
        spans, shares = self.spans, self._shares
        for node_id in node_ids:
            span = spans.get(node_id)
            if span is None:
                continue
            new, old = share_of(span), shares.get(node_id)
            if new == old:
                continue
            if old is not None:
                self._count(node_id, old, -1)
            self._count(node_id, new, 1)
            shares[node_id] = new

    def _count(self, node_id: str, s: Share, sign: int) -> None:
        self.node_time.add(s.duration, sign)
        self.cost.add(s.cost, sign)
        self.input_tokens += sign * s.input_tokens
        self.output_tokens += sign * s.output_tokens
        self.api_calls += sign * s.api_calls
        self.cached_tokens += sign * s.cached_tokens
        self.estimated += sign * s.estimated
        self.cost_unknown += sign * s.cost_unknown
        self.items += sign * s.items
        self.streaming += sign * s.streaming
        self.unstarted += sign * s.unstarted
        for flag, members, value in ((s.live, self.live, None), (s.open_since is not None, self.open, s.open_since)):
            if flag and sign > 0:
                members[node_id] = value  # type: ignore[assignment]
            elif flag:
                members.pop(node_id, None)
        if s.reused:
            self._reused_order = None
            if sign > 0:
                self.reused[node_id] = None
            else:
                self.reused.pop(node_id, None)

    def reused_spans(self) -> list[NodeSpan]:
        """The steps that answered without a call, in the spans' order (their sums add up as a recount's)."""
        if self._reused_order is None:
            self._reused_order = [n for n in self.spans if n in self.reused] if self.reused else []
        return [self.spans[n] for n in self._reused_order]


class Recount(NamedTuple):
    """The same figures summed over every span (the reference ``Tally`` is checked against)."""

    node_time: float
    cost: float
    input_tokens: int
    output_tokens: int
    api_calls: int
    cached_tokens: int
    estimated: int
    cost_unknown: int
    items: int
    streaming: int
    unstarted: int
    live: frozenset[str]
    open: dict[str, float]
    reused: list[str]


def recount(spans: Mapping[str, NodeSpan]) -> Recount:
    shares = {n: share_of(s) for n, s in spans.items()}
    values = list(shares.values())
    return Recount(
        math.fsum(s.duration for s in values),
        math.fsum(s.cost for s in values),
        sum(s.input_tokens for s in values),
        sum(s.output_tokens for s in values),
        sum(s.api_calls for s in values),
        sum(s.cached_tokens for s in values),
        sum(s.estimated for s in values),
        sum(s.cost_unknown for s in values),
        sum(s.items for s in values),
        sum(s.streaming for s in values),
        sum(s.unstarted for s in values),
        frozenset(n for n, s in shares.items() if s.live),
        {n: s.open_since for n, s in shares.items() if s.open_since is not None},
        [n for n, s in shares.items() if s.reused],
    )


def tallied(tally: Tally) -> Recount:
    """``tally``'s figures in ``recount``'s form."""
    return Recount(
        tally.node_time.value(),
        tally.cost.value(),
        tally.input_tokens,
        tally.output_tokens,
        tally.api_calls,
        tally.cached_tokens,
        tally.estimated,
        tally.cost_unknown,
        tally.items,
        tally.streaming,
        tally.unstarted,
        frozenset(tally.live),
        dict(tally.open),
        [s.node_id for s in tally.reused_spans()],
    )
