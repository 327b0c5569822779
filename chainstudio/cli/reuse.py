"""The flags of ``chainstudio run`` that avoid paying twice: ``--cache`` and the partial runs ``--only``,
``--from`` and ``--to``; and the lines that say what was reused and what that saved.

The step cache is **off by default on the command line** (``--cache`` turns it on): a script that runs a
graph expects every step to be called and measured (benchmarks, CI checks, runs recorded for the estimate's
calibration); replaying silently would change the figures it reports. In the window it is on by default.
A partial run takes the outputs of the steps upstream of its selection from a pin, the cache (with
``--cache``) or the newest recorded run of the graph on the same kind of provider (the run history). The
step named by ``--only``/``--from``/``--to`` is always called, even when the cache holds its answer.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from chainstudio.cli.common import UsageError

if TYPE_CHECKING:
    from chainstudio.core.graph.model import Graph
    from chainstudio.core.run.scope import RunScope
    from chainstudio.core.run.state import RunState


def add_reuse_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cache",
        action="store_true",
        help="replay answers the step cache holds (same endpoint, model, prompt, settings) and keep new ones; "
        "off by default on the command line",
    )
    part = parser.add_mutually_exclusive_group()
    part.add_argument("--only", metavar="STEP", help="run only STEP; the steps above it are reused")
    part.add_argument("--from", metavar="STEP", dest="from_step", help="run STEP and everything after it")
    part.add_argument("--to", metavar="STEP", help="run STEP and everything it needs")


def step_cache(args: argparse.Namespace) -> Any:
    """The user's step cache when ``--cache`` is given, else None."""
    if not getattr(args, "cache", False):
        return None
    from chainstudio.core.storage.step_cache import StepCacheStore

    return StepCacheStore()


def scope_of(args: argparse.Namespace, graph: Graph, *, simulated: bool) -> RunScope | None:
    """The partial run the flags ask for, with the recorded outputs it may reuse (raises UsageError)."""
    from chainstudio.core.run.context import RunError
    from chainstudio.core.storage.history import RunHistory
    from chainstudio.core.storage.recorded import partial_scope

    chosen = [(mode, getattr(args, name)) for mode, name in (("only", "only"), ("from", "from_step"), ("to", "to"))]
    mode, step = next(((m, s) for m, s in chosen if s), (None, None))
    if mode is None or step is None:
        return None
    try:
        return partial_scope(RunHistory(), graph, mode, step, simulated=simulated)
    except RunError as exc:
        raise UsageError(str(exc)) from None


def scope_line(scope: RunScope, graph: Graph) -> str:
    """``Partial run: from security · 3 steps run, 2 reused (pin, cache or an earlier run), 1 not run``."""
    names = graph.names()
    reused = sorted(names[n] for n in scope.reuse if graph.nodes[n].kind == "llm")
    return (
        f"Partial run: {scope.label} · {len(scope.calls)} step(s) to run"
        + (f", reusing {', '.join(reused)}" if reused else "")
        + (f", {len(scope.not_run)} not run" if scope.not_run else "")
    )


def reuse_lines(state: RunState) -> list[str]:
    """What the run reused and what that saved, for the totals (nothing when it reused nothing)."""
    from chainstudio.core.run.savings import reuse_text, saved_text, savings

    saved = savings(state)
    if not saved:
        return []
    lines = [f"Reused:        {reuse_text(saved)}"]
    if saved.steps:
        lines.append(f"Saved:         {saved_text(saved)} (what the replayed steps recorded)")
    return lines


def reuse_note(span: Any) -> tuple[str, str] | None:
    """(status word, note) for a step's row when its output was reused or it was not run, else None."""
    reused = span.reused
    if span.status == "not_run":
        return "not run", "outside this partial run"
    if reused is None:
        return None
    if reused.source == "pin":
        return "pinned", "pinned output" + (f" (from run {reused.origin})" if reused.origin else " (typed)")
    figures = f"saved {reused.input_tokens + reused.output_tokens:,} tok, {reused.duration:.2f}s"
    if reused.source == "cache":
        return "cached", f"cache hit from run {reused.origin}; {figures}"
    return "reused", f"from run {reused.origin}; {figures}"
