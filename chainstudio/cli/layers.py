"""``chainstudio layers FILE``: the groups of steps that can run in parallel."""

from __future__ import annotations

import argparse
import sys

from chainstudio.cli.common import load_or_explain


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("layers", help="print the parallel layers (topological generations)")
    parser.add_argument("file", metavar="FILE")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from chainstudio.core.graph.analysis import CycleError, layers
    from chainstudio.core.graph.validation import errors, validate

    graph = load_or_explain(args.file)
    if graph is None:
        return 1
    try:
        groups = layers(graph)
    except CycleError:
        for problem in errors(validate(graph)):
            print(f"{args.file}: {problem}", file=sys.stderr)
        return 1
    names = graph.names()
    print(
        f"{graph.name}: {len(graph.nodes)} steps in {len(groups)} layers, "
        f"widest {max((len(g) for g in groups), default=0)}"
    )
    for i, group in enumerate(groups, start=1):
        label = f"{len(group)} in parallel" if len(group) > 1 else "1 step"
        print(f"Layer {i} · {label}: {', '.join(names[n] for n in group)}")
    return 0
