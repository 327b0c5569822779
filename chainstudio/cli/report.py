"""What the CLI's run commands print: the console, the banner, the live and final step table (with the
streaming text of one step), the totals, and JSON written to a file or stdout. Only ``rich`` and the core's
run state; no engine set-up.

Token figures that are an offline guess (a server that sent no counts) are shown with a ``~`` and a line
saying so; a step answered by another model than it asked for says which (its cost is that model's)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from chainstudio.cli.step_table import fmt_cost, fmt_count, fmt_ms, print_step_table, step_table, verdict_note
from chainstudio.cli.terminal import make_console, raw_stream, styled
from chainstudio.core.graph.kinds import MODEL_KINDS
from chainstudio.core.strict_json import standard
from chainstudio.core.text_safety import escape_lone_surrogates, terminal_text

__all__ = [
    "execute_with_progress",
    "final_report",
    "fmt_cost",
    "fmt_count",
    "fmt_ms",
    "make_console",
    "print_banner",
    "print_endpoints",
    "verdict_note",
    "write_json",
]


def write_json(target: str, data: Any) -> None:
    """``data`` as JSON into ``target`` ('-': stdout, as ASCII so any terminal shows it); raises OSError."""
    data = standard(data)
    if target == "-":
        raw_stream(sys.stdout).write(json.dumps(data, indent=2, ensure_ascii=True, allow_nan=False) + "\n")
    else:
        text = escape_lone_surrogates(json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False))
        Path(target).write_text(text + "\n", encoding="utf-8")


def print_banner(console: Any, context: Any, graph_name: str, strategy: str) -> None:
    """The run's title line, and what applies to its figures: simulated, rate limits, local prices."""

    provider, concurrency = context.provider, context.concurrency
    cap = f", at most {concurrency} at once" if concurrency else ""
    console.print(styled((graph_name, "bold"), f" · strategy {strategy}{cap} · provider: {provider.label}"))
    if provider.simulated:
        console.print(
            styled(
                ("SIMULATED: no model is called; text, timings and tokens come from the offline simulator.", "yellow")
            )
        )
    limits = context.rate_limits
    if limits is not None and limits.any:
        parts = []
        if limits.requests_per_minute:
            parts.append(f"{limits.requests_per_minute:g} requests")
        if limits.tokens_per_minute:
            parts.append(f"{limits.tokens_per_minute:g} tokens")
        console.print(f"Rate limits: at most {' and '.join(parts)} per minute", markup=False)
    if context.pricing.free_note:
        console.print(f"Prices: {context.pricing.free_note}", markup=False)


def print_endpoints(console: Any, run_obj: Any) -> None:
    """One line per endpoint profile the run's steps use: where its steps go (simulated ones say so)."""
    for _name, label in run_obj.endpoints:
        console.print(f"Endpoint {label}", markup=False)


async def execute_with_progress(run_obj: Any, console: Any, follow: str | None = None) -> Any:
    """Execute a run, drawing live progress on a terminal or one line per step event otherwise. ``follow``:
    show a step's text as it streams (its name, or "" for the step started last; None: no text)."""
    from chainstudio.core.run import events as ev

    if not console.is_terminal:
        names = run_obj.graph.names()
        streaming = TextFollower(run_obj, follow, console) if follow is not None else None

        def line(event: Any) -> None:
            t = run_obj.state.rel(event.t) or 0.0
            if isinstance(event, ev.NodeFinished) and run_obj.graph.nodes[event.node_id].kind in MODEL_KINDS:
                tokens = fmt_count(event.output_tokens, event.tokens_estimated)
                say(f"  {t:8.2f}s  done     {names[event.node_id]} ({tokens} tokens)")
            elif isinstance(event, ev.NodeFailed):
                say(f"  {t:8.2f}s  failed   {names[event.node_id]}: {event.error}")
            elif isinstance(event, ev.NodeRetrying):
                say(f"  {t:8.2f}s  retry    {names[event.node_id]} in {event.delay:.2f}s: {event.reason}")
            elif isinstance(event, ev.NodeNotTaken):
                say(f"  {t:8.2f}s  not taken {names[event.node_id]}: {event.reason}")
            elif isinstance(event, ev.MapItems):
                say(f"  {t:8.2f}s  map      {names[event.node_id]}: {event.count} items")
            elif isinstance(event, ev.MapItemFailed):
                say(f"  {t:8.2f}s  failed   {names[event.node_id]}[{event.index}]: {event.error}")
            elif isinstance(event, ev.NodeSkipped):
                say(f"  {t:8.2f}s  skipped  {names[event.node_id]}: {event.reason}")
            elif isinstance(event, ev.NodeChecked) and not event.passed:
                say(f"  {t:8.2f}s  rejected {names[event.node_id]} ({event.kind} check): {event.reason}")
            elif isinstance(event, ev.NodeScored):
                say(f"  {t:8.2f}s  picked   {event.best} in {names[event.node_id]}")

        def say(text: str) -> None:  # straight to the file: rich's layout per line cost 0.4 ms a step
            if streaming is not None:
                streaming.end_line()
            console.file.write(terminal_text(text, console.encoding) + "\n")

        run_obj.add_listener(line)
        if streaming is not None:
            run_obj.add_listener(streaming)
        return await run_obj.execute()

    from rich.console import Group
    from rich.live import Live

    def view() -> Any:  # as many rows as the terminal shows (the panel takes its lines)
        room = console.height - 2 - (STREAM_LINES + 2 if follow is not None else 0)
        table = step_table(run_obj.state, live=True, rows=max(3, room))
        if follow is None:
            return table
        panel = streaming_panel(run_obj.state, follow)
        return table if panel is None else Group(table, panel)

    with Live(view(), console=console, auto_refresh=False, transient=True) as live:
        task = asyncio.ensure_future(run_obj.execute())
        while not task.done():
            await asyncio.wait([task], timeout=0.125)
            live.update(view(), refresh=True)
        return task.result()


STREAM_LINES = 8  # lines of a streaming step's text shown under the live table


def followed_span(state: Any, follow: str) -> Any:
    """The span whose text to show: the one named ``follow``, else the running one started last (else the
    one started last)."""
    spans = [s for s in state.spans.values() if s.attempts]
    if follow:
        return next((s for s in state.spans.values() if s.name == follow), None)
    running = [s for s in spans if s.status in ("running", "retrying")]
    pool = running or spans
    return max(pool, key=lambda s: s.attempts[-1].start) if pool else None


def streaming_panel(state: Any, follow: str) -> Any:
    from rich.panel import Panel

    span = followed_span(state, follow)
    if span is None or not span.output:
        return None
    lines = span.output.splitlines()[-STREAM_LINES:]
    title = styled(f"{span.name} · {span.status}")
    return Panel(styled("\n".join(lines)), title=title, title_align="left", height=STREAM_LINES + 2)


class TextFollower:
    """Writes one step's text as it streams to a console that is not a terminal (a pipe, a file): the
    step named, or the step started last (a header line when it changes)."""

    def __init__(self, run_obj: Any, follow: str, console: Any):
        self.run_obj, self.follow, self.console = run_obj, follow, console
        self.current: str | None = None
        self.open_line = False

    def __call__(self, event: Any) -> None:
        from chainstudio.core.run import events as ev

        if isinstance(event, ev.NodeStarted):
            name = self.run_obj.graph.nodes[event.node_id].name
            if (self.follow and name == self.follow) or (not self.follow and event.node_id != self.current):
                self.end_line()
                self.current = event.node_id
                self.console.print(f"── {name} (attempt {event.attempt}) ──", markup=False, highlight=False)
        elif isinstance(event, ev.NodeOutputDelta) and event.node_id == self.current:
            self.console.file.write(event.text)
            self.console.file.flush()
            self.open_line = not event.text.endswith("\n")

    def end_line(self) -> None:
        if self.open_line:
            self.console.file.write("\n")
            self.open_line = False


def totals_lines(state: Any) -> list[str]:
    from chainstudio.cli.reuse import reuse_lines

    totals = state.totals()
    names = {nid: span.name for nid, span in state.spans.items()}
    # summed step time / wall time is how many steps were in flight on average: a speed-up only where the
    # server served them at once (on a one-at-a-time server they queued inside their own steps' times)
    speedup = f" (on average {totals.speedup:.2f} steps in flight)" if totals.speedup else ""
    guessed = totals.tokens_estimated
    tokens = (
        f"Tokens:        {fmt_count(totals.input_tokens, guessed)} in + {fmt_count(totals.output_tokens, guessed)} "
        f"out = {fmt_count(totals.total_tokens, guessed)}"
    )
    if totals.cached_tokens:
        tokens += f" ({totals.cached_tokens:,} of the input from the server's cache)"
    if guessed:
        tokens += "  (~ estimated: the server did not count some steps' tokens)"
    cost_note = "  (a model's price is unknown)" if totals.cost_usd is None else ""
    if state.started is not None and state.started.pricing_note:
        cost_note = f"  ({state.started.pricing_note})"
    lines = [
        f"Status:        {state.status}" + (f" ({state.message})" if state.message else ""),
        f"Wall time:     {fmt_ms(totals.wall)}",
        f"Step time:     {fmt_ms(totals.node_time)} summed{speedup}",
        f"Critical path: {' -> '.join(names[n] for n in totals.critical_path)} ({fmt_ms(totals.critical_path_time)})",
        tokens,
        f"API calls:     {totals.api_calls}",
        f"Cost:          {fmt_cost(totals.cost_usd)}" + cost_note,
        f"Output:        {totals.output_chars:,} chars",
        *reuse_lines(state),
    ]
    others = sorted({(s.model, s.requested_model) for s in state.spans.values() if s.answered_by_other_model})
    for answered, asked in others:
        lines.append(f"Model:         answered by {answered} (asked for {asked}); priced as {answered}")
    return lines


def final_report(console: Any, state: Any, show_output: bool = True) -> None:
    print_step_table(console, state)
    console.print()
    for text in totals_lines(state):
        console.print(text, markup=False)
    if state.simulated:
        console.print(styled(("(simulated provider: figures are from the offline simulator)", "yellow")))
    if show_output:
        for name, text in state.outputs.items():
            console.rule(f"output: {name}")
            console.print(text, markup=False)
