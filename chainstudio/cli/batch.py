"""``chainstudio batch FILE --dataset rows.csv|jsonl --out results.jsonl``: every dataset row through the graph
(and ``--variant`` graphs) under each ``--strategy``, ``--repeat`` times, scored, with the trade-off table.

Rows run concurrently under one set of limits for the whole batch (``--concurrency`` calls in flight, the
rate limits, and ``--cost-cap``/``--token-cap``/``--budget`` as the batch's budget). The estimated time and
cost of what is left is shown before starting. The state is kept in SQLite (``--state``, default
``OUT.state.sqlite``): run the same command again after a kill, Ctrl+C or a budget stop and it resumes
without repeating a finished row (``--fresh`` starts over). Ctrl+C or SIGTERM stops the batch (rows in
flight are cancelled and run again on resume) and still writes what finished.

``--batch-api`` adds a config per variant whose rows go through the OpenAI Batch API (``--provider openai``:
the same base URL and key), one batch per layer of model steps, at the batch price, polled every
``--batch-poll`` seconds: the trade-off view's slow, cheap point (``core.batch.api_runner``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chainstudio.cli.common import UsageError
from chainstudio.cli.numbers import amount
from chainstudio.cli.report import make_console, write_json
from chainstudio.cli.run import STOP_SIGNALS, add_engine_arguments, check_outputs, context_factory, load_checked

if TYPE_CHECKING:
    from chainstudio.core.batch.batch import BatchRun, BatchSpec
    from chainstudio.core.batch.runner import SharedLimits

STRATEGIES = ("eager", "layered", "sequential")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("batch", help="run a dataset through graphs and strategies, scored: the trade-off")
    parser.add_argument("file", metavar="FILE")
    parser.add_argument("--dataset", required=True, metavar="ROWS", help="a .csv (header first) or .jsonl file")
    parser.add_argument("--out", required=True, metavar="OUT.jsonl", help="results, one JSON object per row")
    parser.add_argument("--csv", metavar="OUT.csv", help="results as CSV (default: OUT with .csv)")
    parser.add_argument(
        "--strategy", default="eager", metavar="LIST", help="comma-separated strategies (default eager)"
    )
    parser.add_argument("--variant", action="append", default=[], metavar="FILE", help="another graph (repeatable)")
    parser.add_argument("--repeat", type=int, default=1, metavar="K", help="runs per row (default 1)")
    parser.add_argument(
        "--map", action="append", default=[], metavar="COL=INPUT", help="feed column COL to graph input INPUT"
    )
    parser.add_argument("--expect", metavar="COLUMN", help="the expected column (default: 'expected' if present)")
    parser.add_argument(
        "--check",
        action="append",
        default=[],
        metavar="KIND",
        help="exact | contains | exact-case | contains-case | regex:PATTERN | json-schema:FILE (repeatable)",
    )
    parser.add_argument("--judge", metavar="RUBRIC", help="LLM-as-judge: score 1-5 by this rubric (text or @FILE)")
    parser.add_argument("--judge-model", metavar="M", help="the judge's model (default: --model, else gpt-4o-mini)")
    parser.add_argument("--pairwise", action="store_true", help="judge the first two configs against each other")
    parser.add_argument(
        "--contradictions", action="store_true", help="ask the judge whether parallel sibling steps contradict"
    )
    parser.add_argument("--budget", type=amount, metavar="USD", help="the batch's cost cap (same as --cost-cap)")
    parser.add_argument("--state", metavar="FILE", help="the resumable state (default OUT.state.sqlite)")
    parser.add_argument("--fresh", action="store_true", help="forget the state and start over")
    parser.add_argument("--chart", metavar="OUT.png|svg", help="draw the trade-off chart (cost against latency)")
    parser.add_argument("--summary", metavar="OUT.json", help="write the trade-off numbers as JSON")
    parser.add_argument(
        "--batch-api",
        action="store_true",
        help="also run each variant through the OpenAI Batch API (half price, answers within 24 h)",
    )
    parser.add_argument(
        "--batch-poll", type=float, default=10.0, metavar="SECONDS", help="seconds between Batch API polls"
    )
    add_engine_arguments(parser, "batch")
    parser.set_defaults(handler=run)


def _strategies(text: str) -> list[Any]:
    chosen = list(dict.fromkeys(s.strip() for s in text.split(",") if s.strip()))
    unknown = [s for s in chosen if s not in STRATEGIES]
    if unknown or not chosen:
        raise UsageError(f"--strategy: unknown {', '.join(unknown) or '(none)'} (choose from {', '.join(STRATEGIES)})")
    return chosen


MAX_RUBRIC_BYTES = 1 << 20  # a rubric file is read up to 1 MB (``@/dev/zero`` read 22 GB, a FIFO hung)


def _rubric(text: str | None) -> str | None:
    if text is None or not text.startswith("@"):
        return text
    from chainstudio.core.strict_json import read_bounded

    try:
        return read_bounded(text[1:], MAX_RUBRIC_BYTES).decode("utf-8")
    except OSError as exc:
        raise UsageError(f"--judge {text}: cannot read the rubric ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise UsageError(f"--judge {text}: the rubric is not UTF-8 text") from None


def build_spec(args: argparse.Namespace) -> BatchSpec:
    """The batch the flags describe (UsageError, DatasetError)."""
    from chainstudio.core.batch.batch import BATCH_API, BatchSpec, Variant
    from chainstudio.core.batch.checks import parse_check
    from chainstudio.core.batch.dataset import column_mapping, load_dataset, parse_mapping

    if args.repeat < 1:
        raise UsageError("--repeat must be at least 1")
    dataset = load_dataset(args.dataset)
    overrides = parse_mapping(args.map)
    variants, labels = [], set()
    for path in [args.file, *args.variant]:
        graph = load_checked(path)
        if graph is None:
            raise UsageError(f"{path}: the graph cannot run (see above)")
        label = Path(path).name.removesuffix(".json").removesuffix(".chain")
        if label in labels:
            raise UsageError(f"{path}: two variants named {label!r}")
        labels.add(label)
        mapping = column_mapping(dataset.columns, graph, {c: t for c, t in overrides.items() if graph.input_named(t)})
        variants.append(Variant(label, graph, mapping))
    unused = [f"{c}={t}" for c, t in overrides.items() if not any(v.graph.input_named(t) for v in variants)]
    if unused:
        raise UsageError(f"--map {', '.join(unused)}: no graph given has that input")
    expected = args.expect or ("expected" if "expected" in dataset.columns else None)
    if args.expect and args.expect not in dataset.columns:
        raise UsageError(f"--expect {args.expect}: the dataset has no such column")
    rubric = _rubric(args.judge)
    strategies = _strategies(args.strategy)
    if getattr(args, "batch_api", False):
        if args.provider != "openai":
            raise UsageError("--batch-api needs --provider openai (the Batch API's server and key)")
        if not args.batch_poll > 0:
            raise UsageError("--batch-poll must be a positive number of seconds")
        strategies.append(BATCH_API)
    if args.pairwise and not rubric:
        raise UsageError("--pairwise needs a rubric: give --judge RUBRIC")
    return BatchSpec(
        dataset=dataset,
        variants=variants,
        strategies=strategies,
        repeat=args.repeat,
        checks=[parse_check(spec, expected, dataset.columns) for spec in args.check],
        rubric=rubric,
        pairwise=args.pairwise,
        contradictions=args.contradictions,
        expected=expected,
        model=args.model,
        judge_model=args.judge_model,
    )


def run(args: argparse.Namespace) -> int:
    from chainstudio.core.batch.dataset import DatasetError
    from chainstudio.core.batch.runner import SharedLimits
    from chainstudio.core.batch.store import BatchError, BatchStore

    if args.budget is not None:
        args.cost_cap = args.budget
    try:
        if args.chart and Path(args.chart).suffix.lower() not in (".png", ".svg"):
            raise UsageError(f"--chart wants a .png or .svg file, not {args.chart!r}")
        args.csv = args.csv or str(Path(args.out).with_suffix(".csv"))
        check_outputs(args, ("csv",))  # derived from --out just now (main checked the flags given)
        spec = build_spec(args)
        limits = SharedLimits(context_factory(args), args.concurrency)
        store = BatchStore(args.state or f"{args.out}.state.sqlite", spec.fingerprint(), fresh=args.fresh)
    except (UsageError, DatasetError, BatchError) as exc:
        print(f"batch: error: {exc}", file=sys.stderr)
        return 2
    console = make_console()
    show_plan(console, spec, limits, store, args)
    from chainstudio.core.batch.batch import BatchRun

    batch = BatchRun(spec, limits, store, api_runner=_api_runner(args, limits, console))
    from chainstudio.core.collector import quiet_collector

    with quiet_collector():  # no full collection while the rows run (``core/collector.py``)
        stopped_by = asyncio.run(_execute(batch, limits, console))
    results = store.results()
    pairs = store.pairs()
    store.close()
    return finish(console, args, spec, batch, results, pairs, stopped_by)


def _api_runner(args: argparse.Namespace, limits: SharedLimits, console: Any) -> Any:
    """The Batch API's runner for ``--batch-api`` (None without it); it prints each change of a batch's status."""
    if not args.batch_api:
        return None
    from chainstudio.core.batch.api_runner import BatchApiRunner
    from chainstudio.core.providers.batch_api import BatchClient
    from chainstudio.core.providers.openai_compat import OpenAISettings

    client = BatchClient(
        OpenAISettings(base_url=args.base_url, api_key_env=args.api_key_env), poll_seconds=args.batch_poll
    )
    shown: list[str] = []

    def on_poll(layer: int, layers: int, progress: Any) -> None:
        line = f"Batch API, layer {layer}/{layers}: {progress.text()}"
        if not shown or shown[-1] != line:
            shown.append(line)
            console.print(line, markup=False)

    limits.closers.append(client.aclose)
    return BatchApiRunner(client, limits.base.pricing, on_poll)


def show_plan(console: Any, spec: BatchSpec, limits: SharedLimits, store: Any, args: argparse.Namespace) -> None:
    from chainstudio.cli.report import fmt_cost
    from chainstudio.core.batch.estimate import estimate_batch

    done = store.done()
    left = {c.label: sum(cell.key not in done for cell in spec.cells(c)) for c in spec.configs}
    sim = " (SIMULATED)" if limits.simulated else ""
    console.print(
        f"Batch{sim}: {len(spec.dataset)} rows × {len(spec.configs)} config(s) × {spec.repeat} repeat(s) = "
        f"{spec.total} runs on {limits.base.provider.label}; {len(done)} already done (state {store.path})",
        markup=False,
    )
    if not any(left.values()):
        return
    est = estimate_batch(
        spec,
        left,
        latency=_latency(args),
        pricing=limits.base.pricing,
        concurrency=args.concurrency,
        rows_in_flight=limits.rows_in_flight,
        rate_limits=limits.base.rate_limits,
    )
    cost = "unknown (a model has no price)" if est.cost_usd is None else fmt_cost(est.cost_usd)
    note = "; judges not included" if est.judged else ""
    mark = "uncalibrated estimate" if est.uncalibrated else "estimate"
    if est.batch_api_rows:
        note += (
            f"; the {est.batch_api_rows:,} Batch API runs at the batch price, answered within 24 h (not in the time)"
        )
    console.print(
        f"Estimated for the {est.rows:,} runs left ({mark}{note}): ≈ {est.wall_s:,.0f} s, "
        f"{est.calls:,} calls, {est.tokens:,} tokens, {cost}",
        markup=False,
    )
    if est.most is not None:
        console.print(f"Range over the {est.range_text()}", markup=False)
    over = est.over_budget(args.cost_cap, args.token_cap)
    if over:
        console.print(f"warning: {over}: the batch stops at the cap (run again with a larger one to go on)")


def _latency(args: argparse.Namespace) -> Any:
    from chainstudio.core.planning.calibration import calibrate, provider_endpoint
    from chainstudio.core.planning.latency_model import fit_model
    from chainstudio.core.storage.history import RunHistory

    endpoint = provider_endpoint(args.provider, args.base_url)

    def latency(graph: Any) -> Any:
        try:
            return calibrate(RunHistory(), graph, endpoint)
        except Exception:  # noqa: BLE001 - an unreadable history calibrates nothing
            return fit_model([], endpoint, graph=graph)

    return latency


async def _execute(batch: BatchRun, limits: SharedLimits, console: Any) -> signal.Signals | None:
    from chainstudio.cli.batch_progress import progress_display

    loop = asyncio.get_running_loop()
    stopped_by: list[signal.Signals] = []

    def stop(signum: signal.Signals) -> None:
        if not stopped_by:
            stopped_by.append(signum)
            batch.cancel()
            print(f"\n{STOP_SIGNALS[signum][0]}: stopping the batch…", file=sys.stderr)

    for signum in STOP_SIGNALS:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop, signum)
    try:
        with progress_display(console, batch) as on_progress:
            batch.on_progress = on_progress
            await batch.run()
    finally:
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)
        await limits.aclose()
    return stopped_by[0] if stopped_by else None


def finish(
    console: Any,
    args: argparse.Namespace,
    spec: BatchSpec,
    batch: BatchRun,
    results: list[Any],
    pairs: dict[str, Any],
    stopped_by: signal.Signals | None,
) -> int:
    from chainstudio.cli.batch_progress import print_tradeoff
    from chainstudio.core.batch.export import write_results
    from chainstudio.core.batch.tradeoff import summarize

    summaries = summarize(spec.configs, results, pairs)
    print_tradeoff(console, summaries)
    try:
        write_results(spec, results, args.out, args.csv)
        console.print(f"{len(results):,} of {spec.total:,} results written to {args.out} and {args.csv}", markup=False)
        if args.summary:
            write_json(args.summary, {"configs": [s.to_json() for s in summaries], "pairwise": pairs})
        if args.chart:
            from chainstudio.ui.planning.tradeoff_chart import render_tradeoff

            console.print(f"Trade-off chart written to {render_tradeoff(summaries, args.chart)}", markup=False)
    except (OSError, ValueError) as exc:
        print(f"batch: error: an output could not be written: {exc}", file=sys.stderr)
        return 1
    reason = batch.stop_reason
    if reason is not None and len(results) < spec.total:
        console.print(f"Stopped: {reason}. Run the same command again to resume.", markup=False)
    if stopped_by is not None:
        return STOP_SIGNALS[stopped_by][1]
    complete = len(results) == spec.total and all(r.status == "succeeded" for r in results)
    return 0 if complete else 1
