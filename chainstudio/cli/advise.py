"""``chainstudio advise FILE``: should this chain run in parallel or sequentially? The seed's rules, with
numbers from the estimate."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from chainstudio.cli.estimate import add_plan_arguments

    parser = subparsers.add_parser("advise", help="apply the parallel-vs-sequential decision rules to a graph")
    parser.add_argument("file", metavar="FILE")
    add_plan_arguments(parser)
    parser.add_argument("--json", metavar="OUT", help="write the advice as JSON ('-' for stdout)")
    parser.set_defaults(handler=run)


def with_model(graph: Any, model: str) -> Any:
    """A copy of ``graph`` whose every LLM step uses ``model`` (what ``run --model`` does)."""
    from chainstudio.core.run.topology import snapshot

    copy = snapshot(graph)
    for node in copy.nodes.values():
        if node.kind == "llm":
            node.params["model"] = model
    return copy


def run(args: argparse.Namespace) -> int:
    from chainstudio.cli.estimate import plan_inputs
    from chainstudio.cli.report import fmt_cost, make_console, write_json
    from chainstudio.cli.terminal import styled
    from chainstudio.core.planning.advisor import advise
    from chainstudio.core.run.executor import RunError

    planned = plan_inputs(args)
    if planned is None:
        return 2
    graph, options, inputs = planned
    if inputs:
        print(f"{args.file}: note: --set is not used by advise", file=sys.stderr)
    if args.model:
        graph = with_model(graph, args.model)
    try:
        report = advise(graph, **options)
    except RunError as exc:
        print(f"{args.file}: error: {exc}", file=sys.stderr)
        return 2
    console = make_console(stderr=args.json == "-")
    base = report.baseline
    console.print(styled((graph.name, "bold"), " is ", (report.shape, "bold"), f": {report.shape_reason}."))
    console.print(
        f"Predicted now ({base.strategy}): {base.wall_ms:,.0f}ms, {base.total_tokens:,} tokens, "
        f"{fmt_cost(base.cost_usd)}"
    )
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
    return 0
