"""``chainstudio bench FILE...``: each file under each strategy, the seed tutorial's comparison table.

Rows show latency, tokens, API calls, cost and output length, with the fastest and cheapest marked and
the speed-up against the sequential baseline (see ``chainstudio.core.planning.compare``). With
``--replay RUN`` every run replays that recorded run's answers and latencies (``core.planning.replay``),
so the rows differ by scheduling alone; the table says which mode it used.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING, Any, cast

from chainstudio.cli.common import UsageError
from chainstudio.cli.report import fmt_cost, make_console, print_banner, write_json
from chainstudio.cli.run import (
    add_engine_arguments,
    cli_model,
    context_factory,
    load_checked,
    parse_sets,
)

if TYPE_CHECKING:
    from rich.console import Console

    from chainstudio.core.planning.compare import BenchResult
    from chainstudio.core.run.executor import Strategy

STRATEGIES = ("eager", "layered", "sequential")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("bench", help="compare graphs and strategies: latency, tokens, calls, cost")
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument(
        "--strategies",
        default="eager",
        metavar="LIST",
        help="comma-separated strategies to run each file with (default: eager)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="K",
        help="runs per file and strategy (the median is shown; the simulated provider uses seed, seed+1, ...)",
    )
    parser.add_argument("--json", metavar="OUT", help='write {"runs": [run records with "file"]} (\'-\': stdout)')
    parser.add_argument(
        "--replay",
        metavar="RUN",
        help="replay a recorded run's answers and latencies in every run (a run id from the history, or 'last')",
    )
    add_engine_arguments(parser, "bench")
    parser.set_defaults(handler=run)


def parse_strategies(text: str) -> list[Strategy]:
    chosen = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in STRATEGIES]
    if unknown or not chosen:
        raise UsageError(
            f"--strategies: unknown {', '.join(unknown) or '(none given)'} (choose from {', '.join(STRATEGIES)})"
        )
    return [cast("Strategy", s) for s in dict.fromkeys(chosen)]  # each checked against STRATEGIES above


def check_inputs(graphs: list[tuple[str, Any]], inputs: dict[str, str]) -> None:
    """Refuse (UsageError) a bench whose graphs lack input values, or given a value no graph declares."""
    from chainstudio.core.planning.compare import missing_inputs, undeclared_inputs

    unknown = undeclared_inputs(graphs, inputs)
    if unknown:
        raise UsageError(f"--set {', '.join(unknown)}: not an input of any graph given")
    missing = missing_inputs(graphs, inputs)
    if missing:
        names = list(dict.fromkeys(name for names in missing.values() for name in names))
        where = "; ".join(f"{file}: {', '.join(names)}" for file, names in missing.items())
        sets = " ".join(f"--set {name}=VALUE" for name in names)
        raise UsageError(f"graph inputs without a default need a value ({where}); give {sets}")


def run(args: argparse.Namespace) -> int:
    from chainstudio.core.planning.compare import run_bench
    from chainstudio.core.run.executor import RunError
    from chainstudio.core.run.warm_up import warm_up

    graphs = []
    for path in args.files:
        graph = load_checked(path)
        if graph is None:
            return 2
        graphs.append((path, graph))
    try:
        if args.repeat < 1:
            raise UsageError("--repeat must be at least 1")
        strategies = parse_strategies(args.strategies)
        make_context = context_factory(args)
        inputs = parse_sets(args.sets)
        check_inputs(graphs, inputs)
        mode = None
        if args.replay:
            make_context, mode = replay_contexts(args, make_context, [graph for _, graph in graphs])
    except UsageError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2
    console = make_console(stderr=args.json == "-")
    sample = make_context(0)
    print_banner(
        console,
        sample,
        f"{len(graphs)} file(s) x {len(strategies)} strateg{'ies' if len(strategies) > 1 else 'y'} x {args.repeat}",
        ",".join(strategies),
    )
    warm_up()

    from chainstudio.cli.run import STOP_SIGNALS, record_history, stop_signals

    def progress(file: str, strategy: str, index: int, run_obj: Any) -> None:
        state = run_obj.state
        if not args.no_history and mode is None:  # a replay measures no model: it is not recorded
            record_history(run_obj, run_obj.graph, args, source="cli bench", file=file, strategy=strategy)
        console.print(
            f"  {state.started.graph_name if state.started else file} · {strategy} · run {index + 1}: "
            f"{state.status}, {state.totals().wall * 1000:,.0f}ms",
            markup=False,
        )

    started: list[Any] = []

    async def bench() -> tuple[Any, list[Any]]:  # Ctrl+C, SIGTERM, SIGHUP: stop, keep the runs made
        def stop(signum: Any) -> None:
            if started:
                started[-1].cancel(STOP_SIGNALS[signum][0])
            print(f"\n{STOP_SIGNALS[signum][0]}: stopping the benchmark…", file=sys.stderr)

        with stop_signals(stop) as stopped_by:
            result = await run_bench(
                graphs,
                strategies,
                args.repeat,
                make_context,
                inputs=inputs,
                model=cli_model(args),
                on_run=progress,
                on_start=started.append,
                stopped=lambda: bool(stopped_by),
            )
        return result, stopped_by

    try:
        result, stopped_by = asyncio.run(bench())
    except RunError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2
    if mode is not None:
        result.mode = mode
    print_table(console, result, simulated=sample.provider.simulated and mode is None)
    if args.json:
        write_json(args.json, {"mode": result.mode, "runs": result.records})
    if stopped_by:
        return STOP_SIGNALS[stopped_by[0]][1]
    return 0 if all(s == "succeeded" for row in result.rows for s in row.statuses) else 1


def print_table(console: Console, result: BenchResult, simulated: bool) -> None:
    width = max(14, max(len(row.label) for row in result.rows) + 2)
    header = (
        f"{'Strategy':<{width}} {'Latency':>10} {'Tokens':>8} {'Calls':>6} {'Cost':>9} {'Output':>8} {'Speed-up':>9}"
    )
    console.print()
    console.print("=== BENCHMARK RESULTS ===" + ("  (SIMULATED)" if simulated else ""), markup=False)
    console.print(f"Mode: {mode_text(result.mode)}", markup=False)
    console.print()
    console.print(header, markup=False)
    console.print("-" * len(header), markup=False)
    for row in result.rows:
        m = row.median
        speedup = "" if row.speedup is None else f"x{row.speedup:.2f}"
        marks = "  " + ", ".join(row.marks) if row.marks else ""
        status = "" if row.problem is None else f"  {_short(row.problem)}"
        tokens = f"~{m['total_tokens']}" if m.get("tokens_estimated") else str(m["total_tokens"])
        console.print(
            f"{row.label:<{width}} {row.wall_ms:>8,.0f}ms {tokens:>8} {m['api_calls']:>6} "
            f"{fmt_cost(m['cost_usd']):>9} {m['output_chars']:>8} {speedup:>9}{marks}{status}",
            markup=False,
        )
    console.print()
    fastest, cheapest, longest = (result.by_mark(k) for k in ("fastest", "cheapest", "longest output"))
    if fastest:
        console.print(f"Fastest: {fastest.label} ({fastest.wall_ms:,.0f}ms)", markup=False)
    if cheapest:
        how = (
            fmt_cost(cheapest.median["cost_usd"]) if result.cost_known else f"{cheapest.median['total_tokens']} tokens"
        )
        console.print(f"Cheapest: {cheapest.label} ({how})", markup=False)
    if longest:
        console.print(f"Longest output: {longest.label} ({longest.median['output_chars']} chars)", markup=False)
    if any(row.median.get("tokens_estimated") for row in result.rows):
        console.print("~ tokens estimated: the server did not count them (cheapest is judged on estimates)")
    baselines = sorted({row.baseline for row in result.rows if row.baseline})
    if baselines:
        console.print(
            f"Speed-up: latency of {', '.join(baselines)} divided by each row's latency"
            + ("; figures are simulated" if simulated else ""),
            markup=False,
        )
    unranked = [row for row in result.rows if not row.ok]
    if unranked:
        console.print("Not ranked (a run that did not succeed is never fastest, cheapest or a baseline):", markup=False)
        for row in unranked:
            console.print(f"  {row.label}: {row.problem}", markup=False)


def _short(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def mode_text(mode: str) -> str:
    from chainstudio.core.planning.compare import LIVE

    if mode == LIVE:
        return "live: every run makes its own calls (answers and latencies vary from run to run)"
    return f"{mode}; every run replays its answers and latencies: rows differ by scheduling alone"


def replay_contexts(args: argparse.Namespace, make_context: Any, graphs: list[Any]) -> tuple[Any, str]:
    """The context factory replaying ``--replay RUN`` and the mode's words (raises UsageError)."""
    from chainstudio.core.planning.replay import missing_steps, recorded_label, replay_steps, replaying
    from chainstudio.core.storage.history import HistoryError, RunHistory

    if args.provider != "simulated":
        raise UsageError("--replay calls no model: leave out --provider (the replay stands in for it)")
    history = RunHistory()
    run_id = args.replay
    if run_id == "last":  # the newest run that answered every model step of the (first) graph
        complete = (
            s.run_id
            for s in history.runs(graph_name=graphs[0].name, limit=20)
            if not missing_steps(graphs[0], replay_steps(history.state(s.run_id)))
        )
        run_id = next(complete, None)
        if run_id is None:
            raise UsageError(f"--replay last: the history has no complete run of {graphs[0].name!r}")
    try:
        state = history.state(run_id)
    except HistoryError as exc:
        raise UsageError(f"--replay: {exc}") from None
    steps = replay_steps(state)
    for graph in graphs:
        missing = missing_steps(graph, steps)
        if missing:
            raise UsageError(f"--replay: run {run_id} recorded no answer for {', '.join(missing)} of {graph.name!r}")
    label = recorded_label(state)
    return replaying(make_context, steps, run_id, label), f"replay of {run_id} (recorded on {label})"
