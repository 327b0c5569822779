"""A map step's items in the run's fold: one ``ItemSpan`` per item, on the map's ``NodeSpan.items``.

``RunState`` registers ``HANDLERS`` with its own: the map's events (``MapItems``, ``MapItemStarted``,
``MapItemFinished``, ``MapItemFailed``) fill the items; the map's own ``NodeStarted`` and ``NodeFinished``
(or ``NodeFailed``) carry its totals, so run totals count each item's tokens once, through the map.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chainstudio.core.run import events as ev
from chainstudio.core.run.status import StepStatus

if TYPE_CHECKING:
    from chainstudio.core.run.state import RunState


@dataclass
class ItemSpan:
    """One item of a map step: its call's times, attempts, tokens and how it ended."""

    index: int
    status: StepStatus = StepStatus.PENDING
    started_at: float | None = None  # its first attempt's start
    first_token_at: float | None = None
    ended_at: float | None = None
    attempts: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    tokens_estimated: bool = False
    error: str | None = None

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at


def _item(state: RunState, node_id: str, index: int) -> ItemSpan | None:
    span = state.spans.get(node_id)
    if span is None:
        return None
    while len(span.items) <= index:  # events of a map whose MapItems was lost: grow as they come
        span.items.append(ItemSpan(len(span.items)))
    return span.items[index]


def _items(state: RunState, e: ev.MapItems) -> None:
    span = state.spans.get(e.node_id)
    if span is not None:
        span.items = [ItemSpan(i) for i in range(e.count)]


def _item_started(state: RunState, e: ev.MapItemStarted) -> None:
    item = _item(state, e.node_id, e.index)
    if item is not None:
        item.status = StepStatus.RUNNING
        if item.started_at is None:
            item.started_at = e.t
        item.attempts = max(item.attempts, e.attempt)


def _item_finished(state: RunState, e: ev.MapItemFinished) -> None:
    item = _item(state, e.node_id, e.index)
    if item is not None:
        item.status, item.ended_at, item.first_token_at = StepStatus.SUCCEEDED, e.t, e.first_token_at
        if item.started_at is None:
            item.started_at = e.t
        item.attempts = e.attempts
        item.input_tokens, item.output_tokens, item.cost_usd = e.input_tokens, e.output_tokens, e.cost_usd
        item.tokens_estimated = e.tokens_estimated


def _item_failed(state: RunState, e: ev.MapItemFailed) -> None:
    item = _item(state, e.node_id, e.index)
    if item is not None:
        item.status, item.ended_at, item.error = StepStatus.FAILED, e.t, e.error
        item.attempts = e.attempts
        item.input_tokens, item.output_tokens, item.cost_usd = e.input_tokens, e.output_tokens, e.cost_usd
        item.tokens_estimated = e.tokens_estimated


def _not_taken(state: RunState, e: ev.NodeNotTaken) -> None:
    span = state.spans.get(e.node_id)
    if span is not None:
        span.status, span.skip_reason = StepStatus.NOT_TAKEN, e.reason


HANDLERS: dict[type, Callable[[RunState, Any], None]] = {
    ev.MapItems: _items,
    ev.MapItemStarted: _item_started,
    ev.MapItemFinished: _item_finished,
    ev.MapItemFailed: _item_failed,
    ev.NodeNotTaken: _not_taken,
}
