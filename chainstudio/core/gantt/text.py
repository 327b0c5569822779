"""Words and numbers shown by the Gantt panel: durations, totals, tooltips (pure, no Qt)."""

from __future__ import annotations

from html import escape

from chainstudio.core.formatting import fmt_cost, fmt_duration, fmt_tokens
from chainstudio.core.gantt.items import map_items_text
from chainstudio.core.run.savings import reuse_text, saved_text, savings
from chainstudio.core.run.state import NodeSpan, RunState

MAX_PATH_NAMES = 8
NBSP = "\u00a0"


WAITED = {"rate_limit": "Waited for rate limit", "prefix": "Waited for shared prefix"}  # else for a slot


def layer_label(layer: int, count: int) -> str:
    """``Layer 2 · 3 in parallel`` (layers are shown 1-based, as ``chainstudio layers`` prints them)."""
    size = f"{count} in parallel" if count > 1 else "1 step"
    return f"Layer {layer + 1} · {size}"


def run_title(state: RunState) -> str:
    """``research-hybrid · eager · concurrency 2 · Simulated (offline) · running``."""
    started = state.started
    if started is None:
        return "No run yet"
    parts = [started.graph_name or "run"] + ([started.scope] if started.scope else []) + [started.strategy]
    if started.concurrency:
        parts.append(f"concurrency {started.concurrency}")
    parts.append(started.provider_label or started.provider)
    if started.cache:
        parts.append("cache on")
    parts.append(state.status)
    return " · ".join(parts)


def critical_path_text(state: RunState, path: list[str], seconds: float) -> str:
    names = [state.spans[n].name for n in path if n in state.spans]
    if len(names) > MAX_PATH_NAMES:
        head = MAX_PATH_NAMES // 2
        names = names[:head] + [f"… {len(names) - MAX_PATH_NAMES} more …"] + names[-head:]
    return f"{' → '.join(names) or '—'} ({fmt_duration(seconds)})"


def live_node_time(state: RunState) -> float:
    """Sum of node durations, counting running nodes up to ``now()`` (equals the totals' once finished)."""
    now = state.now()
    if state.running:  # the running sum and the steps open now (``core.run.tally``), not every span
        tally = state.tally()
        return tally.node_time.value() + sum(max(0.0, now - start) for start in tally.open.values())
    total = 0.0
    for span in state.spans.values():
        if span.duration is not None:
            total += span.duration
        elif span.started_at is not None and not span.done:
            total += max(0.0, now - span.started_at)
    return total


LIVE_PATH_STEPS = 2000  # from this many steps a live run's header leaves the critical path to the end


def totals_items(state: RunState) -> list[tuple[str, str]]:
    """The header's (label, value) pairs. While a run goes on, node time counts the running nodes so far,
    and figures that only make sense at the end (no call finished yet) show a dash rather than zero."""
    live_big = state.running and len(state.spans) >= LIVE_PATH_STEPS
    coming = state.path_pending and not state.critical_path_known()  # a window computes it a part at a time
    totals = state.totals(path=not (live_big or coming))
    node_time = live_node_time(state) if state.running else totals.node_time
    # node time / wall: how many steps ran at once on average, which is a speed-up only where the server
    # really served them at once (a one-at-a-time server makes them queue inside their own steps)
    in_flight = f"{node_time / totals.wall:.2f}" if totals.wall > 0 and node_time > 0 else "—"
    if live_big:
        path = "at the end"  # 0.1-0.2 s of the window's thread at every step's end, for 100,000 edges
    elif coming:
        path = "computing…"
    elif state.running and totals.critical_path_time <= 0:
        path = "—"
    else:
        path = critical_path_text(state, totals.critical_path, totals.critical_path_time)
        if state.running:
            path += " so far"
        elif state.tally().unstarted:
            path += " · over the steps that ran"  # a stopped or failed run: the others are on no path
    guess = "~" if totals.tokens_estimated else ""
    tokens = f"{guess}{fmt_tokens(totals.input_tokens)} in / {guess}{fmt_tokens(totals.output_tokens)} out"
    if totals.tokens_estimated:
        tokens += " (estimated)"
    streaming = state.tally().streaming if state.running else 0
    if streaming:
        tokens += f" (+~{fmt_tokens(streaming)} streaming)"
    cost = "—" if state.running and totals.api_calls == 0 else fmt_cost(totals.cost_usd)
    return [
        ("Wall", fmt_duration(totals.wall)),
        ("Node time", fmt_duration(node_time)),
        ("Avg in flight", in_flight),
        ("Critical path", path),
        ("Tokens", tokens),
        ("Calls", str(totals.api_calls)),
        ("Cost", cost),
        *reuse_items(state),
    ]


def reuse_items(state: RunState) -> list[tuple[str, str]]:
    """``("Reused", "4 from the cache, 1 pinned")`` and ``("Saved", "4 calls · 3,120 tok · $0.0150 · 9.84 s")``:
    what the run took without calling, and what the replayed steps had recorded (nothing when none)."""
    saved = savings(state)
    if not saved:
        return []
    items = [("Reused", reuse_text(saved))]
    if saved.steps:
        items.append(("Saved", saved_text(saved)))
    return items


def totals_text(state: RunState, keep_together: bool = True) -> str:
    """One line: ``Wall 4.21 s · Node time 9.87 s · Avg in flight 2.34 · …``.

    With ``keep_together`` the spaces inside an item are non-breaking, so wrapping happens between items
    (the critical path may still break between names)."""
    items = []
    for label, value in totals_items(state):
        item = f"{label} {value}"
        if keep_together and label != "Critical path":
            item = item.replace(" ", NBSP)
        items.append(item)
    return " · ".join(items)


def bar_label(span: NodeSpan) -> str:
    """Tokens next to a bar: ``↑120 ↓480`` when known (``↑~120 ↓~480`` when estimated), ``~35 tok`` while
    streaming; what a reused step saved."""
    reused = span.reused
    if reused is not None:
        if reused.source == "pin":
            return "pinned output"
        where = "cached" if reused.source == "cache" else f"from {reused.origin}"
        return (
            f"{where} · saved {fmt_duration(reused.duration)} · "
            f"↑{fmt_tokens(reused.input_tokens)} ↓{fmt_tokens(reused.output_tokens)} · {fmt_cost(reused.cost_usd)}"
        )
    if span.status == "not_run":
        return "not run"
    if span.input_tokens or span.output_tokens:
        guess = "~" if span.tokens_estimated else ""
        return f"↑{guess}{fmt_tokens(span.input_tokens)} ↓{guess}{fmt_tokens(span.output_tokens)}"
    if span.status in ("running", "retrying") and span.deltas:
        return f"~{fmt_tokens(span.deltas)} tok"
    if span.status == "skipped":
        return "skipped"
    if span.status == "not_taken":
        return "not taken · $0"
    return ""


def _reuse_rows(span: NodeSpan) -> list[str]:
    reused = span.reused
    if span.status == "not_run":
        return [_row("Not run", "outside this partial run")]
    if reused is None:
        return []
    if reused.source == "pin":
        return [_row("Pinned", f"from run {reused.origin}" if reused.origin else "typed by hand")]
    where = "the step cache" if reused.source == "cache" else "an earlier run"
    recorded = (
        f"{fmt_duration(reused.duration)} · {reused.input_tokens:,} in / {reused.output_tokens:,} out · "
        f"{fmt_cost(reused.cost_usd)} · {reused.api_calls} call{'s' * (reused.api_calls != 1)}"
    )
    rows = [_row("Reused from", f"{where} (made by run {reused.origin})"), _row("Saved (recorded)", recorded)]
    if reused.simulated:
        rows.append(_row("Answer", "SIMULATED (no model was called)"))
    return rows


def _row(label: str, value: str) -> str:
    return f"<tr><td style='padding-right:10px;color:#666'>{escape(label)}</td><td>{escape(value)}</td></tr>"


def endpoint_text(state: RunState, span: NodeSpan) -> str:
    """The endpoint a step named, as the run reached it (e.g. "local · http://127.0.0.1:8080/v1")."""
    labels = dict(state.started.endpoints) if state.started is not None else {}
    return labels.get(span.endpoint, span.endpoint)


def row_tag(span: NodeSpan) -> str:
    """The small text at the right of a step's Gantt row label: the endpoint it named first (a long model
    name is what the row elides), then its model."""
    tag = span.model or span.kind
    return f"@{span.endpoint} · {tag}" if span.endpoint else tag


def tooltip_html(state: RunState, span: NodeSpan) -> str:
    """Every number about one node, as rich text for ``QToolTip``."""
    rel = state.rel
    rows = [
        _row("Status", span.status),
        _row("Kind", span.kind + (f" · {span.model}" if span.model else "")),
        *([_row("Endpoint", endpoint_text(state, span))] if span.endpoint else []),
        _row("Layer", str(span.layer + 1)),
        _row("Queued", fmt_duration(rel(span.queued_at))),
    ]
    if span.waiting_at is not None:
        rows.append(
            _row(
                WAITED.get(span.wait_reason, "Waited for slot"),
                f"{fmt_duration(span.wait_time)} from {fmt_duration(rel(span.waiting_at))}",
            )
        )
    rows.append(_row("Start", fmt_duration(rel(span.started_at))))
    rows.append(_row("First token", fmt_duration(rel(span.first_token_at))))
    if span.first_token_at is not None and span.attempts:
        rows.append(_row("Time to first token", fmt_duration(span.first_token_at - span.attempts[-1].start)))
    rows.append(_row("End", fmt_duration(rel(span.ended_at))))
    rows.append(_row("Duration", fmt_duration(span.duration)))
    rows.append(
        _row(
            "Tokens",
            f"{span.input_tokens:,} in / {span.output_tokens:,} out"
            + (f" (~{span.deltas} streamed)" if span.deltas and not span.output_tokens else "")
            + (" — estimated: the server did not count them" if span.tokens_estimated else ""),
        )
    )
    if span.cached_tokens:
        rows.append(_row("Cached", f"{span.cached_tokens:,} prompt tokens from the server's cache"))
    if span.answered_by_other_model:
        rows.append(_row("Model", f"answered by {span.model} (asked for {span.requested_model}); priced as it"))
    rows.append(_row("Cost", fmt_cost(span.cost_usd) if span.api_calls or span.cost_usd is not None else "—"))
    rows.append(_row("API calls", str(span.api_calls)))
    for attempt in span.attempts:
        end = fmt_duration(rel(attempt.end)) if attempt.end is not None else "…"
        text = f"{fmt_duration(rel(attempt.start))} → {end}"
        if attempt.error:
            text += f" · {attempt.error}"
        rows.append(_row(f"Attempt {attempt.number}", text))
    for mark in span.checks:
        verdict = "passed" if mark.passed else "rejected"
        rows.append(
            _row(f"Check {mark.attempt}", f"{mark.kind} · {verdict}" + (f" · {mark.reason}" if mark.reason else ""))
        )
    if span.scores is not None:
        for name, score, reason in span.scores.scores:
            picked = " ◀ picked" if name == span.scores.best else ""
            rows.append(_row(f"Score {name}", f"{'—' if score is None else f'{score:g}'} · {reason}{picked}"))
    for backoff in span.backoffs:
        rows.append(
            _row("Backoff", f"{fmt_duration(rel(backoff.start))} → {fmt_duration(rel(backoff.end))} · {backoff.reason}")
        )
    if span.error:
        rows.append(_row("Error", span.error))
    if span.skip_reason:
        rows.append(_row("Not taken" if span.status == "not_taken" else "Skipped", span.skip_reason))
    if span.items:
        rows.append(_row("Items", map_items_text(span) + " (click the row to show them)"))
    rows += _reuse_rows(span)
    if span.request_id:
        rows.append(_row("Request", span.request_id))
    title = escape(span.name)
    return f"<b>{title}</b><table cellspacing='0'>{''.join(rows)}</table>"
