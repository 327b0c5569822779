"""``chainstudio estimate FILE``: predicted wall time, tokens and cost before running anything."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from typing import TYPE_CHECKING, Any

from chainstudio.cli.numbers import amount, count

if TYPE_CHECKING:
    from rich.console import Console

    from chainstudio.core.graph.model import Graph
    from chainstudio.core.planning.estimate import Estimate


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("estimate", help="predict wall time, tokens and cost without calling a model")
    parser.add_argument("file", metavar="FILE")
    add_plan_arguments(parser)
    parser.add_argument("--cost-cap", metavar="USD", type=amount, help="warn when the estimate is over this cost")
    parser.add_argument("--token-cap", metavar="N", type=count, help="warn when the estimate is over this many tokens")
    parser.add_argument("--json", metavar="OUT", help="write the estimate as JSON ('-' for stdout)")
    parser.add_argument(
        "--cache", action="store_true", help="predict step-cache hits as `run --cache` would have them (free, instant)"
    )
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
    parser.add_argument("--rpm", metavar="N", type=amount, help="requests-per-minute limit for the provider")
    parser.add_argument("--tpm", metavar="N", type=amount, help="tokens-per-minute limit for the provider")
    parser.add_argument("--model", metavar="M", help="assume this model for every LLM step")
    parser.add_argument("--set", metavar="NAME=VALUE", action="append", default=[], dest="sets")
    parser.add_argument(
        "--provider",
        choices=("simulated", "openai"),
        default="simulated",
        help="the provider to plan for; its endpoint's recorded runs calibrate the estimate (default simulated)",
    )
    parser.add_argument(
        "--base-url",
        metavar="URL",
        help="the OpenAI-compatible endpoint to plan for (default: $OPENAI_BASE_URL or OpenAI's)",
    )
    parser.add_argument(
        "--capacity",
        metavar="N",
        type=int,
        help="the server serves N requests at once (default: what recorded runs measured)",
    )
    parser.add_argument(
        "--no-history", action="store_true", help="ignore recorded runs (uncalibrated off the simulator)"
    )
    parser.add_argument("--prices", metavar="FILE", help="JSON price overrides (model -> input/output $ per M)")
    from chainstudio.cli.run import add_warm_prefix_argument

    add_warm_prefix_argument(parser)


def plan_inputs(args: argparse.Namespace) -> tuple[Graph, dict[str, Any], dict[str, str]] | None:
    """(graph, keyword arguments for estimate/advise, graph inputs) from the flags, or None after printing why."""
    from chainstudio.cli.common import UsageError
    from chainstudio.cli.run import cli_settings, load_checked, parse_sets
    from chainstudio.core.planning.calibration import calibrate, provider_endpoint
    from chainstudio.core.planning.endpoint_plans import endpoint_plans
    from chainstudio.core.planning.latency_model import fit_model, with_capacity
    from chainstudio.core.run.pricing import Pricing, PricingError
    from chainstudio.core.run.rate_limits import RateLimits
    from chainstudio.core.storage.history import RunHistory

    graph = load_checked(args.file)
    if graph is None:
        return None
    try:
        if args.concurrency is not None and args.concurrency < 1:
            raise UsageError("--concurrency must be at least 1")
        if args.capacity is not None and args.capacity < 1:
            raise UsageError("--capacity must be at least 1")
        inputs = parse_sets(args.sets)
        pricing = Pricing.from_file(args.prices) if args.prices else Pricing()
    except (UsageError, PricingError) as exc:
        print(f"{args.file}: error: {exc}", file=sys.stderr)
        return None
    endpoint = provider_endpoint(args.provider, args.base_url)
    latency = fit_model([], endpoint, graph=graph)
    history = None
    if not args.no_history:
        try:
            history = RunHistory()
            latency = calibrate(history, graph, endpoint)
        except (OSError, sqlite3.Error, ValueError) as exc:  # an unreadable history calibrates nothing
            history = None
            print(f"{args.file}: note: the run history cannot be read ({exc}); uncalibrated", file=sys.stderr)
    simulated = args.provider == "simulated"
    plans = endpoint_plans(graph, cli_settings().endpoints, simulated=simulated, history=history, pricing=pricing)
    if args.capacity is not None:
        latency = with_capacity(latency, args.capacity)
    limits = RateLimits(args.rpm, args.tpm)
    return (
        graph,
        {
            "strategy": args.strategy,
            "concurrency": args.concurrency,
            "latency": latency,
            "pricing": pricing,
            "rate_limits": limits if limits.any else None,
            "warm_prefix": args.warm_prefix,
            "endpoints": plans,
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
    print_estimate(console, result, args.file)
    print_prompt_cache(console, graph, result, options["pricing"], args.model)
    warnings = result.budget_warnings(args.cost_cap, args.token_cap)
    for warning in warnings:
        console.print(styled((f"warning: {warning}", "red")))
    if args.json:
        write_json(args.json, result.to_json())
    return 0 if result.problem is None else 1


def print_plan_notes(console: Console, result: Estimate, file: str) -> None:
    """The estimate's caveats: inputs estimated with a placeholder (and how to give them), an incomplete run."""
    from chainstudio.cli.terminal import styled

    if result.placeholders:
        sets = " ".join(f"--set {name}=..." for name in result.placeholders)
        console.print(styled((f"note: {result.placeholder_note}; give {sets} for the real figure", "yellow")))
    if result.problem:
        console.print(styled((f"{file}: the estimate is incomplete: {result.problem}", "red")))


def print_estimate(console: Console, result: Estimate, file: str = "") -> None:
    from rich.table import Table

    from chainstudio.cli.report import fmt_cost
    from chainstudio.cli.terminal import styled
    from chainstudio.core.graph.kinds import MODEL_KINDS

    cap = f", at most {result.concurrency} at once" if result.concurrency else ""
    console.print(styled((result.graph, "bold"), f" · estimate for strategy {result.strategy}{cap}"))
    console.print(f"Basis: {result.basis_text()}", markup=False)
    if result.uncalibrated:
        note = "Uncalibrated: the figures below are one guess inside the range; run the graph once on this endpoint "
        console.print(styled((note + "to calibrate.", "yellow")))
    print_plan_notes(console, result, file)
    table = Table(show_edge=False, pad_edge=False)
    for column in ("Step", "Start", "End", "Duration", "In", "Out", "Cost", "Basis"):
        table.add_column(column, justify="left" if column in ("Step", "Basis") else "right")

    for node in result.nodes:
        if node.kind not in MODEL_KINDS:
            continue
        table.add_row(
            node.name,
            _ms(node.start_ms),
            _ms(node.end_ms),
            f"{node.duration_ms:,.0f}ms",
            f"{node.input_tokens:,}",
            f"{node.output_tokens:,}",
            fmt_cost(node.cost_usd),
            node.basis,
        )
    console.print(table)
    wall = result.wall_text(lambda ms: f"{ms:,.0f}ms")
    console.print(
        f"Predicted wall time {wall}{' (uncalibrated)' if result.uncalibrated else ''} · critical path "
        f"{result.critical_path_ms:,.0f}ms ({' → '.join(result.critical_path)})"
    )
    console.print(
        f"Tokens in {result.input_tokens:,} · out {result.output_tokens:,} · calls {result.api_calls} · "
        f"cost {fmt_cost(result.cost_usd)}"
        + (f" · {result.reused} step(s) answered by the step cache or a pin, for nothing" if result.reused else "")
    )
    if result.flow is not None:
        console.print(
            f"Cost range over the {result.flow.text()}; the figures above are the most expensive path", markup=False
        )
    if result.checks is not None:
        console.print(
            f"Range over the {result.checks.text()}; the figures above assume every check passes first time",
            markup=False,
        )


def print_prompt_cache(console: Console, graph: Graph, result: Estimate, pricing: Any, model: str | None) -> None:
    """The prompt tokens a prefix-caching server is predicted to serve from its cache in this schedule."""
    from chainstudio.core.planning.prefix_cache import cache_saving
    from chainstudio.core.run.topology import with_model
    from chainstudio.core.run.warm_prefix import predict_cached

    cached = predict_cached(result.run_state)
    if not cached:
        return
    saving = cache_saving(with_model(graph, model), cached, pricing)
    saved = "an unknown amount" if saving is None else f"${saving:.4f}"
    console.print(
        f"Prompt cache (predicted): {sum(cached.values()):,} of the input tokens from a prefix-caching server's "
        f"cache, {len(cached)} call(s); saves {saved} at cached-input prices"
    )


def _ms(value: float | None) -> str:
    """``1,234ms``; a step the simulated run never reached has no time: ``—``."""
    return "—" if value is None else f"{value:,.0f}ms"
