"""``chainstudio history``: the recorded runs (from the app and the CLI) — list, show, compare, export.

    chainstudio history list [--graph NAME] [--limit N] [--json OUT]
    chainstudio history show RUN [--output] [--json OUT]
    chainstudio history compare RUN RUN... [--json OUT]
    chainstudio history export RUN [--json OUT] [--csv OUT] [--trace OUT] [--gantt OUT.png|.svg]

RUN is a run id or a unique start of one (``list`` shows them). Runs whose process died before they
ended are listed as ``interrupted`` and keep what they had recorded.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from chainstudio.cli.numbers import count


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("history", help="list, show, compare and export recorded runs")
    commands = parser.add_subparsers(dest="history_command", metavar="ACTION", required=True)

    listing = commands.add_parser("list", help="the recorded runs, newest first")
    listing.add_argument("--graph", metavar="NAME", help="only this graph's runs")
    listing.add_argument("--limit", metavar="N", type=count, default=20, help="at most N runs (default 20)")
    listing.add_argument("--json", metavar="OUT", help="write the list as JSON ('-' for stdout)")
    listing.set_defaults(handler=list_runs)

    show = commands.add_parser("show", help="one run: its table per step, totals and outputs")
    show.add_argument("run", metavar="RUN")
    show.add_argument("--no-output", action="store_true", help="do not print the run's output text")
    show.add_argument("--json", metavar="OUT", help="write the run record as JSON ('-' for stdout)")
    show.set_defaults(handler=show_run)

    compare = commands.add_parser("compare", help="runs side by side: latency, tokens, calls, cost, output")
    compare.add_argument("runs", metavar="RUN", nargs="+")
    compare.add_argument("--json", metavar="OUT", help="write the runs' records as JSON ('-' for stdout)")
    compare.set_defaults(handler=compare_runs)

    export = commands.add_parser("export", help="write a run as JSON, CSV of spans, Chrome trace or Gantt chart")
    export.add_argument("run", metavar="RUN")
    export.add_argument("--json", metavar="OUT", help="the run record ('-' for stdout)")
    export.add_argument("--csv", metavar="OUT", help="the steps' spans as CSV")
    export.add_argument("--trace", metavar="OUT", help="a Chrome trace-event JSON (opens in Perfetto)")
    export.add_argument("--gantt", metavar="OUT", help="the run's Gantt chart as OUT.png or OUT.svg")
    export.set_defaults(handler=export_run)


def _history() -> Any:
    from chainstudio.core.storage.history import RunHistory

    return RunHistory()


def _load(history: Any, ref: str) -> tuple[str, Any] | None:
    """(run id, its replayed state) for a run id or a unique start of one; None after saying why not."""
    from chainstudio.core.storage.history import HistoryError

    try:
        run_id = history.find(ref)
        return run_id, history.state(run_id)
    except HistoryError as exc:
        print(f"history: error: {exc}", file=sys.stderr)
        return None


def _record(run_id: str, state: Any) -> dict[str, Any]:
    from chainstudio.core.run.record import run_record

    record = run_record(state)
    record["run_id"] = run_id
    return record


def list_runs(args: argparse.Namespace) -> int:
    from rich.table import Table

    from chainstudio.cli.report import fmt_cost, make_console, write_json

    if args.limit < 1:
        print("history: error: --limit must be at least 1", file=sys.stderr)
        return 2
    runs = _history().runs(graph_name=args.graph, limit=args.limit)
    if args.json:
        write_json(args.json, [_summary_json(r) for r in runs])
        if args.json == "-":
            return 0
    console = make_console()
    if not runs:
        console.print("No recorded runs" + (f" of {args.graph!r}" if args.graph else "") + ".", markup=False)
        return 0
    table = Table(box=None, pad_edge=False, show_edge=False)
    for column in ("Run", "When", "Graph", "Strategy", "Provider", "Status", "Wall", "Tokens", "Calls", "Cost"):
        table.add_column(column, justify="right" if column in ("Wall", "Tokens", "Calls", "Cost") else "left")
    for r in runs:
        tokens = f"{r.input_tokens + r.output_tokens:,}"
        provider = "simulated" if r.simulated else r.provider
        table.add_row(
            r.run_id,
            time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created_at)),
            r.graph_name,
            r.strategy,
            provider,
            r.status,
            f"{r.wall_ms:,.0f}ms",
            f"~{tokens}" if r.tokens_estimated else tokens,
            str(r.api_calls),
            fmt_cost(r.cost_usd),
        )
    console.print(table)
    if any(r.tokens_estimated for r in runs):
        console.print("~ tokens estimated: the server did not count them", markup=False)
    return 0


def _summary_json(summary: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(summary)


def show_run(args: argparse.Namespace) -> int:

    from chainstudio.cli.report import final_report, make_console, write_json
    from chainstudio.cli.terminal import styled

    found = _load(_history(), args.run)
    if found is None:
        return 2
    run_id, state = found
    if args.json:
        write_json(args.json, _record(run_id, state))
        if args.json == "-":
            return 0
    console = make_console()
    started = state.started
    title = styled(f"{run_id} · {started.graph_name} · {started.strategy} · {started.provider_label}")
    console.print(title)
    if state.simulated:
        console.print(styled(("SIMULATED: figures are from the offline simulator.", "yellow")))
    final_report(console, state, show_output=not args.no_output)
    return 0


def compare_runs(args: argparse.Namespace) -> int:
    from chainstudio.cli.bench import print_table
    from chainstudio.cli.report import make_console, write_json
    from chainstudio.core.planning.compare import BenchRow, summarize

    history = _history()
    rows = []
    for ref in args.runs:
        found = _load(history, ref)
        if found is None:
            return 2
        run_id, state = found
        record = _record(run_id, state)
        label = f"{run_id} {record['graph']} ({record['strategy']})"
        rows.append(BenchRow(label, run_id, record["graph"] or "", record["strategy"] or "", [record], states=[state]))
    result = summarize(rows)
    if args.json:
        write_json(args.json, {"runs": result.records})
        if args.json == "-":
            return 0
    print_table(make_console(), result, simulated=any(r.records[0]["simulated"] for r in rows))
    return 0


def export_run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from chainstudio.cli.report import make_console, write_json
    from chainstudio.cli.run import write_exports

    if not (args.json or args.csv or args.trace or args.gantt):
        print("history: error: export needs --json, --csv, --trace or --gantt", file=sys.stderr)
        return 2
    if args.gantt and Path(args.gantt).suffix.lower() not in (".png", ".svg"):
        print(f"history: error: --gantt wants a .png or .svg file, not {args.gantt!r}", file=sys.stderr)
        return 2
    found = _load(_history(), args.run)
    if found is None:
        return 2
    run_id, state = found
    try:
        if args.json:
            write_json(args.json, _record(run_id, state))
        write_exports(args, state, make_console(stderr=args.json == "-"))
    except OSError as exc:
        print(f"history: error: cannot write: {exc}", file=sys.stderr)
        return 2
    return 0
