"""``chainstudio estimate FILE``: predicted wall time, tokens and cost before running anything."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from chainstudio.core.graph.model import Graph
    from chainstudio.core.planning.estimate import Estimate


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("estimate", help="predict wall time, tokens and cost without calling a model")
    parser.add_argument("file", metavar="FILE")
    add_plan_arguments(parser)
    parser.add_argument("--cost-cap", metavar="USD", type=float, help="warn when the estimate is over this cost")
    parser.add_argument("--token-cap", metavar="N", type=int, help="warn when the estimate is over this many tokens")
    parser.add_argument("--json", metavar="OUT", help="write the estimate as JSON ('-' for stdout)")
    parser.add_argument(
        "--cache", action="store_true", help="predict step-cache hits as `run --cache` would have them (free, instant)"
    )
    parser.add_argument("--base-url", metavar="URL", help="with --cache and --provider openai: the endpoint")
    parser.add_argument("--seed", metavar="N", type=int, default=0, help="with --cache: the simulated provider's seed")
    parser.set_defaults(handler=run)


def cache_of(args: argparse.Namespace) -> Any:
    """With ``--cache``: the user's step cache, only looked at, keyed for the flags' endpoint."""
    if not args.cache:
        return None
    from chainstudio.core.launch import RunOptions, cache_endpoint
    from chainstudio.core.run.cache import CacheUse
    from chainstudio.core.storage.settings import Settings
    from chainstudio.core.storage.step_cache import PeekingCache, StepCacheStore

    options = RunOptions(provider=args.provider, base_url=args.base_url, seed=args.seed)
    return CacheUse(PeekingCache(StepCacheStore()), cache_endpoint(Settings(), options))


def add_plan_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--strategy", choices=("eager", "layered", "sequential"), default="eager")
    parser.add_argument("--concurrency", metavar="N", type=int, help="at most N model calls at once")
    parser.add_argument("--rpm", metavar="N", type=float, help="requests-per-minute limit for the provider")
    parser.add_argument("--tpm", metavar="N", type=float, help="tokens-per-minute limit for the provider")
    parser.add_argument("--model", metavar="M", help="assume this model for every LLM step")
    parser.add_argument("--set", metavar="NAME=VALUE", action="append", default=[], dest="sets")
    parser.add_argument(
        "--provider",
        choices=("simulated", "openai"),
        default="simulated",
        help="whose recorded runs calibrate the estimate (default simulated)",
    )
    parser.add_argument("--no-history", action="store_true", help="ignore recorded runs; use model profiles only")
    parser.add_argument("--prices", metavar="FILE", help="JSON price overrides (model -> input/output $ per M)")


def plan_inputs(args: argparse.Namespace) -> tuple[Graph, dict[str, Any], dict[str, str]] | None:
    """(graph, keyword arguments for estimate/advise, graph inputs) from the flags, or None after printing why."""
    from chainstudio.cli.common import UsageError
    from chainstudio.cli.run import check_outputs, load_checked, parse_sets
    from chainstudio.core.planning.estimate import calibration
    from chainstudio.core.run.pricing import Pricing, PricingError
    from chainstudio.core.run.rate_limits import RateLimits
    from chainstudio.core.storage.history import RunHistory

    graph = load_checked(args.file)
    if graph is None:
        return None
    try:
        if args.concurrency is not None and args.concurrency < 1:
            raise UsageError("--concurrency must be at least 1")
        inputs = parse_sets(args.sets)
        pricing = Pricing.from_file(args.prices) if args.prices else Pricing()
        check_outputs(args, ("json",))
    except (UsageError, PricingError) as exc:
        print(f"{args.file}: error: {exc}", file=sys.stderr)
        return None
    observations = {}
    if not args.no_history:
        try:
            observations = calibration(RunHistory(), graph, args.provider)
        except (OSError, sqlite3.Error, ValueError) as exc:  # an unreadable history calibrates nothing
            print(f"{args.file}: note: the run history cannot be read ({exc}); using model profiles", file=sys.stderr)
    limits = RateLimits(args.rpm, args.tpm)
    return (
        graph,
        {
            "strategy": args.strategy,
            "concurrency": args.concurrency,
            "observations": observations,
            "pricing": pricing,
            "rate_limits": limits if limits.any else None,
        },
        inputs,
    )


def run(args: argparse.Namespace) -> int:
    from chainstudio.cli.report import make_console, write_json
    from chainstudio.cli.terminal import styled
    from chainstudio.core.planning.estimate import estimate
    from chainstudio.core.run.executor import RunError

    planned = plan_inputs(args)
    if planned is None:
        return 2
    graph, options, inputs = planned
    try:
        result = estimate(graph, inputs=inputs, model=args.model, cache=cache_of(args), **options)
    except RunError as exc:
        print(f"{args.file}: error: {exc}", file=sys.stderr)
        return 2
    console = make_console(stderr=args.json == "-")
    print_estimate(console, result)
    warnings = result.budget_warnings(args.cost_cap, args.token_cap)
    for warning in warnings:
        console.print(styled((f"warning: {warning}", "red")))
    if args.json:
        write_json(args.json, result.to_json())
    return 0


def print_estimate(console: Console, result: Estimate) -> None:
    from rich.table import Table

    from chainstudio.cli.report import fmt_cost
    from chainstudio.cli.terminal import styled

    cap = f", at most {result.concurrency} at once" if result.concurrency else ""
    basis = (
        f"calibrated on recorded runs for {result.calibrated} step(s)"
        if result.calibrated
        else "from model profiles (no recorded runs)"
    )
    console.print(styled((result.graph, "bold"), f" · estimate for strategy {result.strategy}{cap} · {basis}"))
    table = Table(show_edge=False, pad_edge=False)
    for column in ("Step", "Start", "End", "Duration", "In", "Out", "Cost", "Basis"):
        table.add_column(column, justify="left" if column in ("Step", "Basis") else "right")
    for node in result.nodes:
        if node.kind != "llm":
            continue
        table.add_row(
            node.name,
            f"{node.start_ms:,.0f}ms",
            f"{node.end_ms:,.0f}ms",
            f"{node.duration_ms:,.0f}ms",
            f"{node.input_tokens:,}",
            f"{node.output_tokens:,}",
            fmt_cost(node.cost_usd),
            node.basis,
        )
    console.print(table)
    console.print(
        f"Predicted wall time {result.wall_ms:,.0f}ms · critical path {result.critical_path_ms:,.0f}ms "
        f"({' → '.join(result.critical_path)})"
    )
    console.print(
        f"Tokens in {result.input_tokens:,} · out {result.output_tokens:,} · calls {result.api_calls} · "
        f"cost {fmt_cost(result.cost_usd)}"
        + (f" · {result.reused} step(s) answered by the step cache or a pin, for nothing" if result.reused else "")
    )
