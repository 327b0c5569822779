"""What the CLI's run commands print: the console, the banner, the live and final step table, the totals,
and JSON written to a file or stdout. Only ``rich`` and the core's run state; no engine set-up."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from chainstudio.cli.terminal import make_console, raw_stream, styled
from chainstudio.core.strict_json import standard
from chainstudio.core.text_safety import escape_lone_surrogates

__all__ = ["execute_with_progress", "final_report", "make_console", "node_table", "print_banner", "write_json"]


def write_json(target: str, data: Any) -> None:
    """``data`` as JSON into ``target`` ('-': stdout, as ASCII so any terminal shows it); raises OSError."""
    data = standard(data)
    if target == "-":
        raw_stream(sys.stdout).write(json.dumps(data, indent=2, ensure_ascii=True, allow_nan=False) + "\n")
    else:
        text = escape_lone_surrogates(json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False))
        Path(target).write_text(text + "\n", encoding="utf-8")


def print_banner(console: Any, provider: Any, graph_name: str, strategy: str, concurrency: int | None) -> None:
    cap = f", at most {concurrency} at once" if concurrency else ""
    console.print(styled((graph_name, "bold"), f" · strategy {strategy}{cap} · provider: {provider.label}"))
    if provider.simulated:
        console.print(
            styled(
                ("SIMULATED: no model is called; text, timings and tokens come from the offline simulator.", "yellow")
            )
        )


def fmt_ms(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds * 1000:,.0f}ms"


def fmt_cost(cost: float | None) -> str:
    return "unknown" if cost is None else f"${cost:.4f}"


_STYLE = {
    "succeeded": "green",
    "failed": "red",
    "skipped": "yellow",
    "cancelled": "magenta",
    "running": "cyan",
    "retrying": "yellow",
    "waiting": "blue",
    "queued": "blue",
}


def node_table(state: Any, live: bool = False) -> Any:
    from rich.table import Table

    from chainstudio.cli.reuse import reuse_note

    table = Table(box=None, pad_edge=False, show_edge=False)
    for column in ("Step", "Status", "Start", "Duration", "TTFT", "Calls", "In", "Out", "Cost", "Note"):
        table.add_column(column, justify="left" if column in ("Step", "Status", "Note") else "right")
    now = state.now()
    for span in state.spans.values():
        end = span.ended_at if span.ended_at is not None else (now if span.started_at is not None else None)
        duration = None if span.started_at is None or end is None else end - span.started_at
        ttft = (
            None
            if span.first_token_at is None or span.attempts == []
            else span.first_token_at - span.attempts[-1].start
        )
        calls = span.api_calls or len(span.attempts)
        note = span.error or span.skip_reason or ""
        if live and span.status == "running":
            note = f"{span.deltas} chunks"
        elif span.backoffs and not note:
            note = f"{len(span.backoffs)} retr{'ies' if len(span.backoffs) > 1 else 'y'}: {span.backoffs[-1].reason}"
        status, style = str(span.status), _STYLE.get(span.status, "")
        reused = reuse_note(span)
        if reused is not None:  # cached, reused from a run, pinned, or not run: not a call of this run
            (status, note), style = reused, "cyan" if reused[0] != "not run" else "dim"
        table.add_row(
            span.name,
            styled((status, style)),
            fmt_ms(state.rel(span.started_at)),
            fmt_ms(duration),
            fmt_ms(ttft),
            str(calls or ""),
            str(span.input_tokens or ""),
            str(span.output_tokens or ""),
            fmt_cost(span.cost_usd) if calls else "",
            note[:80],
        )
    return table


async def execute_with_progress(run_obj: Any, console: Any) -> Any:
    """Execute a run, drawing live progress on a terminal or one line per step event otherwise."""
    from chainstudio.core.run import events as ev

    if not console.is_terminal:
        names = run_obj.graph.names()

        def line(event: Any) -> None:
            t = run_obj.state.rel(event.t) or 0.0
            if isinstance(event, ev.NodeFinished) and run_obj.graph.nodes[event.node_id].kind == "llm":
                console.print(f"  {t:8.2f}s  done     {names[event.node_id]} ({event.output_tokens} tokens)")
            elif isinstance(event, ev.NodeFailed):
                console.print(f"  {t:8.2f}s  failed   {names[event.node_id]}: {event.error}")
            elif isinstance(event, ev.NodeRetrying):
                console.print(f"  {t:8.2f}s  retry    {names[event.node_id]} in {event.delay:.2f}s: {event.reason}")
            elif isinstance(event, ev.NodeSkipped):
                console.print(f"  {t:8.2f}s  skipped  {names[event.node_id]}: {event.reason}")

        run_obj.add_listener(line)
        return await run_obj.execute()

    from rich.live import Live

    with Live(node_table(run_obj.state, live=True), console=console, auto_refresh=False, transient=True) as live:
        task = asyncio.ensure_future(run_obj.execute())
        while not task.done():
            await asyncio.wait([task], timeout=0.125)
            live.update(node_table(run_obj.state, live=True), refresh=True)
        return task.result()


def totals_lines(state: Any) -> list[str]:
    from chainstudio.cli.reuse import reuse_lines

    totals = state.totals()
    names = {nid: span.name for nid, span in state.spans.items()}
    speedup = f" (parallelism x{totals.speedup:.2f})" if totals.speedup else ""
    return [
        f"Status:        {state.status}" + (f" ({state.message})" if state.message else ""),
        f"Wall time:     {fmt_ms(totals.wall)}",
        f"Step time:     {fmt_ms(totals.node_time)} summed{speedup}",
        f"Critical path: {' -> '.join(names[n] for n in totals.critical_path)} ({fmt_ms(totals.critical_path_time)})",
        f"Tokens:        {totals.input_tokens:,} in + {totals.output_tokens:,} out = {totals.total_tokens:,}",
        f"API calls:     {totals.api_calls}",
        f"Cost:          {fmt_cost(totals.cost_usd)}"
        + ("  (a model's price is unknown)" if totals.cost_usd is None else ""),
        f"Output:        {totals.output_chars:,} chars",
        *reuse_lines(state),
    ]


def final_report(console: Any, state: Any, show_output: bool = True) -> None:
    console.print(node_table(state))
    console.print()
    for text in totals_lines(state):
        console.print(text, markup=False)
    if state.simulated:
        console.print(styled(("(simulated provider: figures are from the offline simulator)", "yellow")))
    if show_output:
        for name, text in state.outputs.items():
            console.rule(f"output: {name}")
            console.print(text, markup=False)
