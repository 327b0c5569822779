"""``chainstudio validate FILE...``: load and check graphs; OK or each problem with its location."""

from __future__ import annotations

import argparse
import sys

from chainstudio.cli.common import load_or_explain


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("validate", help="check graph files and report problems with locations")
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")
    parser.add_argument(
        "--all", action="store_true", help=f"list every problem (by default the first {SHOWN_PROBLEMS:,} of a file)"
    )
    parser.set_defaults(handler=run)


SHOWN_PROBLEMS = 1_000  # a 100,000-edge graph can have 90,000 warnings; nobody reads past the first screens


def run(args: argparse.Namespace) -> int:
    from chainstudio.core.graph.analysis import Analysis
    from chainstudio.core.graph.validation import errors, validate

    failed = False
    for path in args.files:
        graph = load_or_explain(path)
        if graph is None:
            failed = True
            continue
        analysis = Analysis(graph)  # one analysis for the checks and the summary
        problems = validate(graph, analysis)
        shown = problems if args.all else problems[:SHOWN_PROBLEMS]
        sys.stderr.write("".join(f"{path}: {problem}\n" for problem in shown))
        if len(shown) < len(problems):
            print(f"{path}: ... and {len(problems) - len(shown):,} more (--all lists them)", file=sys.stderr)
        bad = list(problems) if args.strict else errors(problems)  # (no ordering-only warning made for this)
        if bad:
            failed = True
            print(f"{path}: FAILED ({len(bad)} problem{'s' if len(bad) != 1 else ''})")
        else:
            info = analysis.stats()
            warnings = len(problems)
            note = f", {warnings} warning{'s' if warnings != 1 else ''}" if warnings else ""
            print(f"{path}: OK ({info.nodes} steps, {info.layers} layers, widest {info.widest}{note})")
    return 1 if failed else 0
