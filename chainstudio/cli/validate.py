"""``chainstudio validate FILE...``: load and check graphs; OK or each problem with its location."""

from __future__ import annotations

import argparse
import sys

from chainstudio.cli.common import load_or_explain


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("validate", help="check graph files and report problems with locations")
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from chainstudio.core.graph.analysis import stats
    from chainstudio.core.graph.validation import validate

    failed = False
    for path in args.files:
        graph = load_or_explain(path)
        if graph is None:
            failed = True
            continue
        problems = validate(graph)
        for problem in problems:
            print(f"{path}: {problem}", file=sys.stderr)
        bad = [p for p in problems if p.severity == "error" or args.strict]
        if bad:
            failed = True
            print(f"{path}: FAILED ({len(bad)} problem{'s' if len(bad) != 1 else ''})")
        else:
            info = stats(graph)
            warnings = len(problems)
            note = f", {warnings} warning{'s' if warnings != 1 else ''}" if warnings else ""
            print(f"{path}: OK ({info.nodes} steps, {info.layers} layers, widest {info.widest}{note})")
    return 1 if failed else 0
