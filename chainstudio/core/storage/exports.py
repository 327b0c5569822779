"""Exports of a finished (or running) run: Chrome trace-event JSON (opens in Perfetto) and a CSV of spans.

Both say where figures are not the server's: every CSV row carries ``simulated`` (the offline simulator
made the run) and ``tokens_estimated`` (the step's tokens are an offline guess); the trace's node spans
carry the same in their args, and its ``otherData`` says ``simulated``."""

from __future__ import annotations

import csv
import io
from typing import Any

from chainstudio.core.run.state import NodeSpan, RunState

_US = 1_000_000


def _spans_by_layer(state: RunState) -> list[NodeSpan]:
    """The steps in the order both exports list them: by layer, then by name."""
    return sorted(state.spans.values(), key=lambda s: (s.layer, s.name))


def chrome_trace(state: RunState) -> dict[str, Any]:
    """Trace-event JSON with one track (thread) per node, ordered by layer; times in µs from the run start."""
    started = state.started
    label = started.provider_label if started else ""
    process = f"{started.graph_name} · {started.strategy} · {label or started.provider}" if started else "run"
    trace: list[dict[str, Any]] = [{"ph": "M", "pid": 1, "tid": 0, "name": "process_name", "args": {"name": process}}]
    spans = _spans_by_layer(state)

    def us(t: float | None) -> float:
        return round((state.rel(t) or 0.0) * _US, 1)

    def complete(tid: int, name: str, cat: str, start: float | None, end: float | None, args: dict[str, Any]) -> None:
        if start is None or end is None or end < start:
            return
        trace.append(
            {
                "ph": "X",
                "pid": 1,
                "tid": tid,
                "name": name,
                "cat": cat,
                "ts": us(start),
                "dur": round((end - start) * _US, 1),
                "args": args,
            }
        )

    for tid, span in enumerate(spans, start=1):
        trace.append(
            {"ph": "M", "pid": 1, "tid": tid, "name": "thread_name", "args": {"name": f"L{span.layer + 1} {span.name}"}}
        )
        trace.append({"ph": "M", "pid": 1, "tid": tid, "name": "thread_sort_index", "args": {"sort_index": tid}})
        complete(tid, "waiting", "wait", span.waiting_at, span.started_at, {"reason": "slot or rate limit"})
        for attempt in span.attempts:
            args: dict[str, Any] = {"attempt": attempt.number}
            if attempt.error:
                args["error"] = attempt.error
            if attempt.first_token is not None:
                complete(tid, "time to first token", "ttft", attempt.start, attempt.first_token, args)
                complete(tid, "generation", "generation", attempt.first_token, attempt.end, args)
            else:
                complete(tid, "attempt", "attempt", attempt.start, attempt.end, args)
        for backoff in span.backoffs:
            complete(tid, "backoff", "backoff", backoff.start, backoff.end, {"reason": backoff.reason})
        if span.started_at is not None and span.ended_at is not None:
            complete(
                tid,
                span.name,
                f"node.{span.status}",
                span.started_at,
                span.ended_at,
                {
                    "status": span.status,
                    "input_tokens": span.input_tokens,
                    "output_tokens": span.output_tokens,
                    "tokens_estimated": span.tokens_estimated,
                    "cached_tokens": span.cached_tokens,
                    "cost_usd": span.cost_usd,
                    "api_calls": span.api_calls,
                    "error": span.error,
                    "model": span.model,
                    "requested_model": span.requested_model,
                    "endpoint": span.endpoint,
                    "simulated": state.simulated,
                },
            )
        elif span.status == "skipped":
            trace.append(
                {
                    "ph": "i",
                    "pid": 1,
                    "tid": tid,
                    "name": "skipped",
                    "s": "t",
                    "ts": us(state.end_time),
                    "args": {"reason": span.skip_reason},
                }
            )
    return {
        "traceEvents": trace,
        "displayTimeUnit": "ms",
        "otherData": {
            "status": state.status,
            "simulated": state.simulated,
            "tokens_estimated": any(s.tokens_estimated for s in spans),
        },
    }


CSV_COLUMNS = [
    "name",
    "kind",
    "layer",
    "status",
    "model",
    "queued_ms",
    "waiting_ms",
    "start_ms",
    "first_token_ms",
    "end_ms",
    "duration_ms",
    "attempts",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "error",
    "simulated",
    "tokens_estimated",
    "cached_tokens",
    "requested_model",
    "endpoint",
]


def spans_csv(state: RunState) -> str:
    def ms(t: float | None) -> str:
        rel = state.rel(t)
        return "" if rel is None else f"{rel * 1000:.1f}"

    simulated = "true" if state.simulated else "false"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for span in _spans_by_layer(state):
        duration = span.duration
        writer.writerow(
            [
                span.name,
                span.kind,
                span.layer + 1,
                span.status,
                span.model or "",
                ms(span.queued_at),
                f"{span.wait_time * 1000:.1f}",
                ms(span.started_at),
                ms(span.first_token_at),
                ms(span.ended_at),
                "" if duration is None else f"{duration * 1000:.1f}",
                span.api_calls,
                span.input_tokens,
                span.output_tokens,
                "" if span.cost_usd is None else f"{span.cost_usd:.6f}",
                span.error or span.skip_reason or "",
                simulated,
                "true" if span.tokens_estimated else "false",
                span.cached_tokens,
                span.requested_model or "",
                span.endpoint,
            ]
        )
    return out.getvalue()
