"""``chainstudio run FILE``: run a graph with live progress, then a table per step and the totals. Over 400
lines because one command's flags, partial-run scope, stop signals, priming and outputs are read together.

The engine lives in ``chainstudio.core``; this module parses flags into ``RunOptions``, builds the run
through ``chainstudio.core.launch`` (the same path as the GUI, on the default settings plus the rate
limits and endpoint profiles saved in Settings), and exits (0 only when the run succeeded; 130 after
Ctrl+C, 143 after SIGTERM, 129 after SIGHUP);
``chainstudio.cli.report`` draws. ``bench`` reuses its flags and context builder.

A run is recorded in the history as it goes (a crash loses at most the steps in flight). Ctrl+C,
SIGTERM or SIGHUP (the terminal closed) stops it like the app's Stop: calls in flight are cancelled, and
what finished is reported, written to ``--json`` and the exports, and kept in the history.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chainstudio.cli.common import UsageError, load_or_explain
from chainstudio.cli.numbers import amount, count
from chainstudio.cli.report import (
    execute_with_progress,
    final_report,
    make_console,
    print_banner,
    print_endpoints,
    write_json,
)
from chainstudio.cli.reuse import add_reuse_arguments, scope_line, scope_of, step_cache
from chainstudio.core.collector import quiet_collector

if TYPE_CHECKING:
    from chainstudio.core.launch import RunOptions
    from chainstudio.core.run.executor import RunContext

ENGINE_DEFAULT_SPEED = {"run": 1.0, "bench": 10.0, "batch": 10.0}
MIN_SPEED, MAX_SPEED = 0.01, 10_000.0  # 1e-300 would sleep forever, inf not at all


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
    stream = parser.add_mutually_exclusive_group()
    stream.add_argument(
        "--stream",
        metavar="STEP",
        nargs="?",
        const="",
        help="show a step's text as it streams: STEP, else the step started last (default on a terminal)",
    )
    stream.add_argument("--no-stream", action="store_true", help="do not show the text while it streams")
    add_reuse_arguments(parser)
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
    parser.add_argument(
        "--endpoint",
        metavar="NAME",
        help="run on the endpoint profile NAME from Settings (its URL, key, model, limits, prices; implies "
        "--provider openai); steps that name a profile of their own use that one",
    )
    parser.add_argument("--model", metavar="M", help="use this model for every LLM step on the run's provider")
    parser.add_argument("--concurrency", metavar="N", type=int, help="at most N model calls at once")
    parser.add_argument("--rpm", metavar="N", type=amount, help="requests-per-minute limit for the provider")
    parser.add_argument("--tpm", metavar="N", type=amount, help="tokens-per-minute limit for the provider")
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
        type=amount,
        help="stop before any call whose worst case would take the run's cost over USD",
    )
    parser.add_argument(
        "--token-cap",
        metavar="N",
        type=count,
        help="stop before any call whose worst case would take the run over N tokens",
    )
    parser.add_argument("--no-history", action="store_true", help="do not record the run in the run history")
    add_warm_prefix_argument(parser)
    parser.set_defaults(command_name=command)


def add_warm_prefix_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--warm-prefix",
        action="store_true",
        help="calls that share a long prompt prefix wait for the first one's first token, so a prompt-caching "
        "server serves the prefix from its cache",
    )


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
    if args.endpoint and (args.base_url or args.provider == "openai"):
        raise UsageError("--endpoint names the server already: give it without --base-url and --provider")
    provider = "openai" if args.endpoint else args.provider
    if provider != "simulated" and (args.speed is not None or args.faults):
        raise UsageError("--speed and --faults apply to the simulated provider only")
    speed = args.speed if args.speed is not None else ENGINE_DEFAULT_SPEED[args.command_name]
    if not MIN_SPEED <= speed <= MAX_SPEED:  # NaN fails this too
        raise UsageError(f"--speed must be a number from {MIN_SPEED:g} to {MAX_SPEED:,g}")
    return RunOptions(
        provider=provider,
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
        cache=bool(getattr(args, "cache", False)),
        warm_prefix=bool(getattr(args, "warm_prefix", False)),
        endpoint=args.endpoint or "",
    )


def context_factory(args: argparse.Namespace) -> Callable[[int], RunContext]:
    """A function repeat-index -> fresh RunContext for these flags (raises UsageError). The CLI runs on the
    default settings plus its flags; of the saved settings it reads only the rate limits and the endpoint
    profiles (and a profile's key, for a step or an ``--endpoint`` that uses it), never the saved API key."""
    from chainstudio.core.launch import RunServices, UnknownEndpoint, build_context
    from chainstudio.core.providers.factory import ProviderSetupError
    from chainstudio.core.run.pricing import Pricing, PricingError

    options = run_options(args)
    try:
        pricing = Pricing.from_file(args.prices) if args.prices else Pricing()
    except PricingError as exc:
        raise UsageError(str(exc)) from None
    settings, services = cli_settings(), RunServices(pricing=pricing, step_cache=step_cache(args))

    def make(index: int) -> RunContext:
        try:
            return build_context(settings, options, services, index=index)
        except (ProviderSetupError, UnknownEndpoint) as exc:
            raise UsageError(str(exc)) from None

    make(0)  # fail early on bad provider settings
    return make


def cli_settings() -> Any:
    """The settings a CLI run starts from: the defaults plus the rate limits and endpoint profiles saved in
    Settings (the GUI's settings file)."""
    from chainstudio.core.launch import cli_settings as settings_for_cli
    from chainstudio.core.storage.settings import load_settings

    return settings_for_cli(load_settings())


def cli_model(args: argparse.Namespace) -> str | None:
    """The model every LLM step on the run's provider uses: ``--model``, else ``--endpoint``'s default model."""
    from chainstudio.core.launch import run_model

    return run_model(cli_settings(), run_options(args))


def profile_names(args: argparse.Namespace) -> list[str] | None:
    """The endpoint profiles a run with these flags can use: the saved ones on a real provider; None on the
    simulated one (it stands in for every endpoint)."""
    if args.provider == "simulated" and not args.endpoint:
        return None
    return [profile.name for profile in cli_settings().endpoints]


def load_checked(path: str, endpoints: Any = None) -> Any:
    """Load and validate a graph; print problems and return None when it cannot run. ``endpoints``: the
    endpoint profiles a real run may use (None: any name; the simulated provider stands in for each)."""
    from chainstudio.core.graph.validation import errors, validate

    graph = load_or_explain(path)
    if graph is None:
        return None
    problems = errors(validate(graph, endpoints=endpoints))
    for problem in problems:
        print(f"{path}: {problem}", file=sys.stderr)
    return None if problems else graph


# --- the command --------------------------------------------------------------------------------------
STOP_SIGNALS = {signal.SIGINT: ("interrupted (Ctrl+C)", 130), signal.SIGTERM: ("stopped (SIGTERM)", 143)}
if hasattr(signal, "SIGHUP"):  # the terminal closed (not on Windows): its default ended the process mid-run
    STOP_SIGNALS[signal.SIGHUP] = ("stopped (SIGHUP: the terminal closed)", 129)


def run(args: argparse.Namespace) -> int:
    from chainstudio.core.run.executor import Run, RunError
    from chainstudio.core.run.record import run_record
    from chainstudio.core.run.warm_up import warm_up

    graph = load_checked(args.file, profile_names(args))
    if graph is None:
        return 2
    try:
        if args.gantt and Path(args.gantt).suffix.lower() not in (".png", ".svg"):
            raise UsageError(f"--gantt wants a .png or .svg file, not {args.gantt!r}")
        context = context_factory(args)(0)
        prime_from_history(context, graph)
        scope = scope_of(args, graph, simulated=context.provider.simulated)
        run_obj = Run(
            graph, context, strategy=args.strategy, inputs=parse_sets(args.sets), model=cli_model(args), scope=scope
        )
        follow = stream_choice(args, run_obj)
    except (UsageError, RunError) as exc:
        print(f"{args.file}: error: {exc}", file=sys.stderr)
        return 2
    warm_up()
    console = make_console(stderr=args.json == "-")
    print_banner(console, run_obj.context, run_obj.graph.name, args.strategy)
    print_endpoints(console, run_obj)
    if scope is not None:
        console.print(scope_line(scope, run_obj.graph), markup=False)
    if context.cache is not None:
        console.print(f"Step cache: on ({context.cache.endpoint.label})", markup=False)
    recorder = None
    if not args.no_history:
        recorder = history_recorder(run_obj, graph, args, source="cli run", file=args.file, strategy=args.strategy)
    with quiet_collector():
        state, stopped_by = asyncio.run(execute_stoppable(run_obj, console, follow))
    if recorder is not None:
        problem = recorder.close()
        if problem:
            print(f"warning: the run was not recorded in the history: {problem}", file=sys.stderr)
    final_report(console, state, show_output=not args.no_output)
    try:
        if args.json:
            record = run_record(state)
            record["file"] = args.file
            write_json(args.json, record)
        write_exports(args, state, console)
    except (OSError, ValueError) as exc:  # checked before the run; the disk may still fill up meanwhile
        print(f"{args.file}: error: an output could not be written: {exc}", file=sys.stderr)
        return 1
    if stopped_by is not None:
        return STOP_SIGNALS[stopped_by][1]
    return 0 if state.status == "succeeded" else 1


def prime_from_history(context: RunContext, graph: Any) -> None:
    """Critical-path priority from the steps' recorded durations, and the server's measured capacity."""
    from chainstudio.core.planning.calibration import prime
    from chainstudio.core.storage.history import RunHistory

    try:
        history = RunHistory()
    except Exception:  # noqa: BLE001 - no readable history: the run goes on without it
        return
    prime(context, history, graph)


def stream_choice(args: argparse.Namespace, run_obj: Any) -> str | None:
    """Which step's text to show while it streams: a step name, "" (the step started last) or None (none).
    On by default on a terminal; ``--stream STEP`` names a step (UsageError when there is none such)."""
    if getattr(args, "no_stream", False):
        return None
    chosen = getattr(args, "stream", None)
    if chosen:
        if chosen not in run_obj.graph.names().values():
            raise UsageError(f"--stream: no step named {chosen!r}")
        return str(chosen)
    if chosen == "":
        return ""
    return "" if sys.stdout.isatty() else None


async def execute_stoppable(run_obj: Any, console: Any, follow: str | None) -> tuple[Any, signal.Signals | None]:
    """Execute the run; Ctrl+C, SIGTERM or SIGHUP stops it (the app's Stop) and the run ends with what finished.
    A second Ctrl+C interrupts at once."""

    def stop(signum: signal.Signals) -> None:
        run_obj.cancel(STOP_SIGNALS[signum][0])
        print(f"\n{STOP_SIGNALS[signum][0]}: stopping the run…", file=sys.stderr)

    with stop_signals(stop) as stopped_by:
        state = await execute_with_progress(run_obj, console, follow=follow)
    return state, (stopped_by[0] if stopped_by else None)


@contextmanager
def stop_signals(stop: Callable[[signal.Signals], None]) -> Iterator[list[signal.Signals]]:
    """While the block runs on the event loop, the first of STOP_SIGNALS calls ``stop(signum)`` and is added
    to the list given; a second acts as usual (a second Ctrl+C interrupts at once)."""
    loop = asyncio.get_running_loop()
    stopped_by: list[signal.Signals] = []

    def first(signum: signal.Signals) -> None:
        if not stopped_by:
            stopped_by.append(signum)
            stop(signum)
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)

    installed = []
    for signum in STOP_SIGNALS:
        try:
            loop.add_signal_handler(signum, first, signum)
            installed.append(signum)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no such signal here
            pass
    try:
        yield stopped_by
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


INPUT_FLAGS = {  # the files a command reads, by its argument's name
    "file": "the graph file",
    "files": "a graph file",
    "variant": "a graph file",
    "dataset": "the dataset",
    "prices": "the prices file",
}


def check_outputs(args: argparse.Namespace, flags: tuple[str, ...]) -> None:
    """Refuse (UsageError), before any work, an output file that could not be written, or that is a file the
    command reads or another flag writes."""
    from chainstudio.cli.terminal import check_output_path

    others: list[tuple[str, str]] = []
    for name, what in INPUT_FLAGS.items():
        value = getattr(args, name, None)
        others += [(f"{what} {v}", v) for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)]
    for flag in flags:
        target = getattr(args, flag, None)
        problem = check_output_path(f"--{flag}", target, others)
        if problem:
            raise UsageError(problem)
        if isinstance(target, str):
            others.append((f"the file --{flag} writes", target))


def history_settings(args: argparse.Namespace, context: RunContext, strategy: str) -> dict[str, Any]:
    """What a run was made with, for the history: the one schema of ``chainstudio.core.launch`` (never
    credentials: only the key's variable name is an option, and it is not recorded)."""
    from chainstudio.core.launch import history_settings as schema

    return schema(cli_settings(), run_options(args), context, strategy).to_dict()


def history_recorder(
    run_obj: Any, graph: Any, args: argparse.Namespace, *, source: str, file: str, strategy: str
) -> Any:
    """A listener that records the run in the history as it goes (None when the history cannot open)."""
    from chainstudio.core.storage.history import RunHistory

    try:
        recorder = RunHistory().recorder(
            graph,
            run_obj.state,
            source=source,
            file=str(Path(file).resolve()),
            settings=history_settings(args, run_obj.context, strategy),
        )
    except Exception as exc:  # noqa: BLE001 - a history problem must not fail the run
        print(f"warning: the run will not be recorded in the history: {exc}", file=sys.stderr)
        return None
    run_obj.add_listener(recorder)
    return recorder


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
            state=run_obj.state,  # the run's own fold: the history need not replay every streamed chunk
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
