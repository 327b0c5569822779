"""The run record: a plain, JSON-ready summary of one run that scripts can rely on.

Built from a RunState only, so a live run, a replayed history entry and the CLI's ``--json`` all give the
same record. Times are milliseconds from the run's start; ``cost_usd`` is null when any model's price is
unknown. Keys (stable): status, strategy, provider, wall_ms, node_time_ms, critical_path (names),
critical_path_ms, input_tokens, output_tokens, total_tokens, api_calls, cost_usd, output_chars, nodes
(name, status, queued_ms, start_ms, end_ms, first_token_ms, attempts, input_tokens, output_tokens,
cost_usd, error, reused, reused_from; a map's ``items``: index, status, times, attempts, tokens, cost,
error). A few extra keys follow them: graph, simulated, provider_label,
concurrency, speedup, message, outputs (output name -> text), tokens_estimated (some figure is an offline
guess), cached_tokens, pricing_note, run_id; then what reuse did: ``cache`` (the step cache was on),
``scope`` (a partial run, e.g. "from security"), ``saved`` (what the replayed steps recorded: steps,
api_calls, tokens, cost_usd, seconds). Per node, ``reused`` says ``cache``, ``run`` or ``pin`` (null when
the step was not reused) and ``reused_from`` names the run that made the output; then output (its text),
tokens_estimated, cached_tokens, model (the model that answered), requested_model, note, endpoint (the
endpoint profile the step named; "" for the run's provider). The run's ``endpoints`` maps each profile
its steps named to how it was reached (its server, or "NAME (simulated)"). A checked step adds ``checks``
(attempt, kind, passed, reason) and a pick-best step ``scores`` (candidate, score, reason) and ``picked``.
"""

from __future__ import annotations

from typing import Any

from chainstudio.core.run.map_state import ItemSpan
from chainstudio.core.run.savings import savings
from chainstudio.core.run.state import NodeSpan, RunState
from chainstudio.core.run.status import StepStatus

RECORD_KEYS = (
    "status",
    "strategy",
    "provider",
    "wall_ms",
    "node_time_ms",
    "critical_path",
    "critical_path_ms",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "api_calls",
    "cost_usd",
    "output_chars",
    "nodes",
)
NODE_KEYS = (
    "name",
    "status",
    "queued_ms",
    "start_ms",
    "end_ms",
    "first_token_ms",
    "attempts",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "error",
    "reused",
    "reused_from",
)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000.0, 3)


def step_note(span: NodeSpan) -> str:
    """What a reader should know about a step's figures beyond its status: a model other than the one
    asked for answered (and set the price), tokens that are an offline guess, cached prompt tokens."""
    notes = []
    if span.answered_by_other_model:
        notes.append(f"answered by {span.model} (asked for {span.requested_model})")
    if span.tokens_estimated:
        notes.append("tokens estimated: the server did not count them")
    if span.cached_tokens:
        notes.append(f"{span.cached_tokens:,} prompt tokens from the server's cache")
    rejected = sum(1 for mark in span.checks if not mark.passed)
    if rejected:
        notes.append(f"{rejected} answer{'s' if rejected != 1 else ''} rejected by its check")
    return "; ".join(notes)


def _item_record(state: RunState, item: ItemSpan) -> dict[str, Any]:
    """One item of a map step: when it ran, its calls, tokens and cost, and its error."""
    return {
        "index": item.index,
        "status": item.status,
        "start_ms": _ms(state.rel(item.started_at)),
        "end_ms": _ms(state.rel(item.ended_at)),
        "attempts": item.attempts,
        "input_tokens": item.input_tokens,
        "output_tokens": item.output_tokens,
        "cost_usd": item.cost_usd,
        "error": item.error,
    }


def node_record(state: RunState, span: NodeSpan) -> dict[str, Any]:
    error = span.error
    if span.status in (StepStatus.SKIPPED, StepStatus.NOT_TAKEN):
        error = span.skip_reason
    elif span.status is StepStatus.CANCELLED and not error:
        error = "cancelled"
    record: dict[str, Any] = {
        "name": span.name,
        "status": span.status,
        "queued_ms": _ms(state.rel(span.queued_at)),
        "start_ms": _ms(state.rel(span.started_at)),
        "end_ms": _ms(state.rel(span.ended_at)),
        "first_token_ms": _ms(state.rel(span.first_token_at)),
        "attempts": span.api_calls if span.api_calls else len(span.attempts),
        "input_tokens": span.input_tokens,
        "output_tokens": span.output_tokens,
        "cost_usd": span.cost_usd if (span.api_calls or span.attempts) else 0.0,
        "error": error,
        "reused": span.reused.source if span.reused is not None else None,
        "reused_from": span.reused.origin if span.reused is not None else None,
        "output": span.output,
        "tokens_estimated": span.tokens_estimated,
        "cached_tokens": span.cached_tokens,
        "model": span.model,
        "requested_model": span.requested_model,
        "note": step_note(span),
        "endpoint": span.endpoint,
        "items": [_item_record(state, item) for item in span.items] if span.kind == "map" else None,
    }
    if span.checks:
        record["checks"] = [
            {"attempt": m.attempt, "kind": m.kind, "passed": m.passed, "reason": m.reason} for m in span.checks
        ]
    if span.scores is not None:
        record["scores"] = [{"candidate": n, "score": v, "reason": r} for n, v, r in span.scores.scores]
        record["picked"] = span.scores.best
    return record


def run_record(state: RunState) -> dict[str, Any]:
    totals = state.totals()
    started = state.started
    names = {nid: span.name for nid, span in state.spans.items()}
    record: dict[str, Any] = {
        "status": state.status,
        "strategy": started.strategy if started else None,
        "provider": started.provider if started else None,
        "wall_ms": _ms(totals.wall),
        "node_time_ms": _ms(totals.node_time),
        "critical_path": [names[nid] for nid in totals.critical_path],
        "critical_path_ms": _ms(totals.critical_path_time),
        "input_tokens": totals.input_tokens,
        "output_tokens": totals.output_tokens,
        "total_tokens": totals.total_tokens,
        "api_calls": totals.api_calls,
        "cost_usd": None if totals.cost_usd is None else round(totals.cost_usd, 8),
        "output_chars": totals.output_chars,
        "nodes": [node_record(state, span) for span in state.spans.values()],
        "graph": started.graph_name if started else None,
        "simulated": state.simulated,
        "provider_label": started.provider_label if started else "",
        "concurrency": started.concurrency if started else None,
        "speedup": None if totals.speedup is None else round(totals.speedup, 3),
        "message": state.message,
        "outputs": dict(state.outputs),
        "tokens_estimated": totals.tokens_estimated,
        "cached_tokens": totals.cached_tokens,
        "pricing_note": started.pricing_note if started else "",
        "run_id": state.run_id,
        "cache": bool(started and started.cache),
        "scope": started.scope if started else "",
        "saved": savings(state).to_json(),
        "endpoints": dict(started.endpoints) if started else {},
    }
    return record
