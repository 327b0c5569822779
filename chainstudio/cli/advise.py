"""``chainstudio advise FILE``: should this chain run in parallel or sequentially? The seed's rules, with
numbers from the estimate."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from chainstudio.cli.estimate import add_plan_arguments

    parser = subparsers.add_parser("advise", help="apply the parallel-vs-sequential decision rules to a graph")
    parser.add_argument("file", metavar="FILE")
    add_plan_arguments(parser)
    parser.add_argument("--json", metavar="OUT", help="write the advice as JSON ('-' for stdout)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from chainstudio.cli.estimate import plan_inputs, print_plan_notes
    from chainstudio.cli.report import fmt_cost, make_console, write_json
    from chainstudio.cli.terminal import styled
    from chainstudio.core.planning.advisor import advise
    from chainstudio.core.run.executor import RunError

    planned = plan_inputs(args)
    if planned is None:
        return 2
    graph, options, inputs = planned
    try:
        report = advise(graph, model=args.model, inputs=inputs, **options)
    except RunError as exc:
        print(f"{args.file}: error: {exc}", file=sys.stderr)
        return 2
    console = make_console(stderr=args.json == "-")
    base = report.baseline
    console.print(styled((graph.name, "bold"), " is ", (report.shape, "bold"), f": {report.shape_reason}."))
    print_plan_notes(console, base, args.file)
    wall = base.wall_text(lambda ms: f"{ms:,.0f}ms") + (" (uncalibrated)" if base.uncalibrated else "")
    console.print(f"Predicted now ({base.strategy}): {wall}, {base.total_tokens:,} tokens, {fmt_cost(base.cost_usd)}")
    console.print(f"Basis: {base.basis_text()}", markup=False)
    for i, advice in enumerate(report.advice, start=1):
        effect = []
        if advice.wall_ms_saved is not None:
            effect.append(f"{-advice.wall_ms_saved:+,.0f}ms")
        if advice.tokens_change is not None:
            effect.append(f"{advice.tokens_change:+,} tokens")
        if advice.cost_change is not None:
            effect.append(f"{'-' if advice.cost_change < 0 else '+'}${abs(advice.cost_change):.4f}")
        suffix = ("  (" + ", ".join(effect) + ")", "cyan") if effect else ""
        console.print(styled(f"{i}. ", (advice.title, "bold"), suffix))
        console.print(f"   {advice.detail}")
    if args.json:
        write_json(args.json, report.to_json())
    return 0 if base.problem is None else 1
