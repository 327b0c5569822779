"""``chainstudio run FILE``: run a graph with live progress, then a table per step and the totals.

The engine lives in ``chainstudio.core``; this module only parses flags, draws and exits (0 only when the
run succeeded). ``bench`` reuses its flag set and its context builder.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chainstudio.cli.common import UsageError, load_or_explain

if TYPE_CHECKING:
    from chainstudio.core.launch import RunOptions
    from chainstudio.core.run.executor import RunContext

ENGINE_DEFAULT_SPEED = {"run": 1.0, "bench": 10.0}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("run", help="run a graph and show each step's timing, tokens and cost")
    parser.add_argument("file", metavar="FILE")
    add_engine_arguments(parser, "run")
    parser.add_argument(
        "--strategy",
        choices=("eager", "layered", "sequential"),
        default="eager",
        help="eager: start a step as soon as its inputs are done (default); layered: one "
        "layer at a time; sequential: one step at a time",
    )
    parser.add_argument("--json", metavar="OUT", help="write the run record as JSON ('-' for stdout)")
    parser.add_argument("--trace", metavar="OUT", help="write a Chrome trace-event JSON (opens in Perfetto)")
    parser.add_argument("--csv", metavar="OUT", help="write the steps' spans as CSV")
    parser.add_argument("--gantt", metavar="OUT", help="render the run's Gantt chart to OUT.png or OUT.svg")
    parser.add_argument("--no-output", action="store_true", help="do not print the run's output text")
    parser.set_defaults(handler=run)


def add_engine_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    parser.add_argument(
        "--provider",
        choices=("simulated", "openai"),
        default="simulated",
        help="simulated: offline and deterministic (default); openai: any OpenAI-compatible server",
    )
    parser.add_argument(
        "--base-url",
        metavar="URL",
        help="OpenAI-compatible base URL (default: $OPENAI_BASE_URL or OpenAI's), e.g. http://localhost:11434/v1",
    )
    parser.add_argument(
        "--api-key-env",
        metavar="VAR",
        default="OPENAI_API_KEY",
        help="environment variable holding the API key (default OPENAI_API_KEY)",
    )
    parser.add_argument("--model", metavar="M", help="use this model for every LLM step")
    parser.add_argument("--concurrency", metavar="N", type=int, help="at most N model calls at once")
    parser.add_argument("--rpm", metavar="N", type=float, help="requests-per-minute limit for the provider")
    parser.add_argument("--tpm", metavar="N", type=float, help="tokens-per-minute limit for the provider")
    parser.add_argument(
        "--set", metavar="NAME=VALUE", action="append", default=[], dest="sets", help="set a graph input (repeatable)"
    )
    parser.add_argument("--seed", metavar="N", type=int, default=0, help="seed for the simulated provider and jitter")
    parser.add_argument(
        "--speed",
        metavar="X",
        type=float,
        help="simulated provider only: run X times faster than real time; reported times stay "
        f"in simulated seconds (default {ENGINE_DEFAULT_SPEED[command]:g})",
    )
    parser.add_argument(
        "--faults", metavar="SPEC", help="simulated provider only: inject faults, e.g. 429=0.1,500=0.05,drop=0.05"
    )
    parser.add_argument(
        "--prices",
        metavar="FILE",
        help='JSON of model -> {"input": $/M tokens, "output": $/M tokens} overriding the table',
    )
    parser.add_argument(
        "--cost-cap",
        metavar="USD",
        type=float,
        help="stop before any call whose worst case would take the run's cost over USD",
    )
    parser.add_argument(
        "--token-cap",
        metavar="N",
        type=int,
        help="stop before any call whose worst case would take the run over N tokens",
    )
    parser.add_argument("--no-history", action="store_true", help="do not record the run in the run history")
    parser.set_defaults(command_name=command)


# --- building the engine from flags ------------------------------------------------------------------
def parse_sets(items: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--set expects NAME=VALUE, got {item!r}")
        values[name.strip()] = value
    return values


def parse_faults(spec: str | None) -> Any:
    from chainstudio.core.providers.simulated import Faults

    if not spec:
        return Faults()
    names = {"429": "rate_limit", "500": "server_error", "drop": "dropped", "retry_after": "retry_after"}
    values: dict[str, float] = {}
    for part in spec.split(","):
        key, _, value = part.partition("=")
        if key.strip() not in names:
            raise UsageError(f"--faults: unknown fault {key!r} (use {', '.join(names)})")
        try:
            values[names[key.strip()]] = float(value)
        except ValueError:
            raise UsageError(f"--faults: {part!r} needs a number") from None
    return Faults(**values)


def run_options(args: argparse.Namespace) -> RunOptions:
    """The run the flags describe (raises UsageError for values no run can have). Graph inputs (``--set``)
    are parsed apart, by ``parse_sets``, for the run itself: they make no difference to its context."""
    from chainstudio.core.launch import RunOptions

    if args.concurrency is not None and args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    if (args.cost_cap is not None and args.cost_cap < 0) or (args.token_cap is not None and args.token_cap < 0):
        raise UsageError("--cost-cap and --token-cap must not be negative")
    if args.provider != "simulated" and (args.speed is not None or args.faults):
        raise UsageError("--speed and --faults apply to the simulated provider only")
    speed = args.speed if args.speed is not None else ENGINE_DEFAULT_SPEED[args.command_name]
    if not speed > 0:
        raise UsageError("--speed must be positive")
    return RunOptions(
        provider=args.provider,
        strategy=getattr(args, "strategy", "eager"),
        concurrency=args.concurrency,
        speed=speed,
        seed=args.seed,
        cost_cap=args.cost_cap,
        token_cap=args.token_cap,
        faults=parse_faults(args.faults),
        base_url=args.base_url,
        api_key_env=args.api_key_env,
        model=args.model,
        rpm=args.rpm,
        tpm=args.tpm,
    )


def context_factory(args: argparse.Namespace) -> Callable[[int], RunContext]:
    """A function repeat-index -> fresh RunContext for these flags (raises UsageError). The CLI runs on the
    default settings plus its flags; it reads no saved settings and no saved key."""
    from chainstudio.core.launch import RunServices, build_context
    from chainstudio.core.providers.factory import ProviderSetupError
    from chainstudio.core.run.pricing import Pricing, PricingError
    from chainstudio.core.storage.settings import Settings

    options = run_options(args)
    try:
        pricing = Pricing.from_file(args.prices) if args.prices else Pricing()
    except PricingError as exc:
        raise UsageError(str(exc)) from None
    settings, services = Settings(), RunServices(pricing=pricing)

    def make(index: int) -> RunContext:
        try:
            return build_context(settings, options, services, index=index)
        except ProviderSetupError as exc:
            raise UsageError(str(exc)) from None

    make(0)  # fail early on bad provider settings
    return make


def load_checked(path: str) -> Any:
    """Load and validate a graph; print problems and return None when it cannot run."""
    from chainstudio.core.graph.validation import errors, validate

    graph = load_or_explain(path)
    if graph is None:
        return None
    problems = errors(validate(graph))
    for problem in problems:
        print(f"{path}: {problem}", file=sys.stderr)
    return None if problems else graph


def write_json(target: str, data: Any) -> None:
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if target == "-":
        sys.stdout.write(text)
    else:
        Path(target).write_text(text, encoding="utf-8")


# --- the command --------------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> int:
    from chainstudio.core.run.executor import Run, RunError
    from chainstudio.core.run.record import run_record
    from chainstudio.core.run.warm_up import warm_up

    graph = load_checked(args.file)
    if graph is None:
        return 2
    try:
        if args.gantt and Path(args.gantt).suffix.lower() not in (".png", ".svg"):
            raise UsageError(f"--gantt wants a .png or .svg file, not {args.gantt!r}")
        make_context = context_factory(args)
        run_obj = Run(graph, make_context(0), strategy=args.strategy, inputs=parse_sets(args.sets), model=args.model)
    except (UsageError, RunError) as exc:
        print(f"{args.file}: error: {exc}", file=sys.stderr)
        return 2
    warm_up()
    console = make_console(stderr=args.json == "-")
    print_banner(console, run_obj.context.provider, run_obj.graph.name, args.strategy, run_obj.context.concurrency)
    state = asyncio.run(execute_with_progress(run_obj, console))
    final_report(console, state, show_output=not args.no_output)
    if not args.no_history:
        record_history(run_obj, graph, args, source="cli run", file=args.file, strategy=args.strategy)
    if args.json:
        record = run_record(state)
        record["file"] = args.file
        write_json(args.json, record)
    write_exports(args, state, console)
    return 0 if state.status == "succeeded" else 1


def history_settings(args: argparse.Namespace, context: RunContext, strategy: str) -> dict[str, Any]:
    """What a run was made with, for the history: the one schema of ``chainstudio.core.launch`` (never
    credentials: only the key's variable name is an option, and it is not recorded)."""
    from chainstudio.core.launch import history_settings as schema
    from chainstudio.core.storage.settings import Settings

    return schema(Settings(), run_options(args), context, strategy).to_dict()


def record_history(
    run_obj: Any, graph: Any, args: argparse.Namespace, *, source: str, file: str, strategy: str
) -> None:
    from chainstudio.core.storage.history import RunHistory

    try:
        RunHistory().add(
            run_obj.events,
            graph,
            source=source,
            file=str(Path(file).resolve()),
            settings=history_settings(args, run_obj.context, strategy),
        )
    except Exception as exc:  # noqa: BLE001 - a history problem must not fail the run
        print(f"warning: the run was not recorded in the history: {exc}", file=sys.stderr)


def write_exports(args: argparse.Namespace, state: Any, console: Any) -> None:
    from chainstudio.core.storage.exports import chrome_trace, spans_csv
    from chainstudio.core.storage.fileformat import atomic_write_text

    if args.trace:
        atomic_write_text(args.trace, json.dumps(chrome_trace(state)) + "\n")
    if args.csv:
        atomic_write_text(args.csv, spans_csv(state))
    if args.gantt:
        from chainstudio.ui.gantt import render_gantt

        path = render_gantt(state, args.gantt)
        console.print(f"Gantt chart written to {path}")


# --- drawing -------------------------------------------------------------------------------------------
def make_console(stderr: bool = False) -> Any:
    from rich.console import Console

    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal:
        console.width = max(console.width, 130)  # files and pipes get whole lines, not wrapped tables
    return console


def print_banner(console: Any, provider: Any, graph_name: str, strategy: str, concurrency: int | None) -> None:
    cap = f", at most {concurrency} at once" if concurrency else ""
    console.print(f"[bold]{graph_name}[/bold] · strategy {strategy}{cap} · provider: {provider.label}")
    if provider.simulated:
        console.print(
            "[yellow]SIMULATED: no model is called; text, timings and tokens come from the offline simulator.[/yellow]"
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

    table = Table(box=None, pad_edge=False, show_edge=False)
    for column, justify in (
        ("Step", "left"),
        ("Status", "left"),
        ("Start", "right"),
        ("Duration", "right"),
        ("TTFT", "right"),
        ("Calls", "right"),
        ("In", "right"),
        ("Out", "right"),
        ("Cost", "right"),
        ("Note", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
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
        style = _STYLE.get(span.status, "")
        table.add_row(
            span.name,
            f"[{style}]{span.status}[/{style}]" if style else span.status,
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
    ]


def final_report(console: Any, state: Any, show_output: bool = True) -> None:
    console.print(node_table(state))
    console.print()
    for text in totals_lines(state):
        console.print(text, markup=False)
    if state.simulated:
        console.print("[yellow](simulated provider: figures are from the offline simulator)[/yellow]")
    if show_output:
        for name, text in state.outputs.items():
            console.rule(f"output: {name}")
            console.print(text, markup=False)
