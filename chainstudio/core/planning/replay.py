"""Replayed comparisons: every strategy on the same recorded step outputs and latencies.

``replay_steps(state)`` takes a recorded run's answers and timings per step (a step the run itself reused
from the cache or an earlier run replays what that call recorded); ``replaying(make_context, ...)`` turns a
factory of run contexts into one whose provider is a ``ReplayProvider`` on the context's own clock (its
speed-up applies), so ``run_bench`` compares scheduling alone. ``missing_steps`` names the model steps of a
graph the recorded run cannot answer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

from chainstudio.core.graph.model import Graph
from chainstudio.core.providers.replay import ReplayProvider, ReplayStep
from chainstudio.core.run.context import RunContext
from chainstudio.core.run.state import RunState

ContextFactory = Callable[[int], RunContext]


def replay_steps(state: RunState) -> dict[str, ReplayStep]:
    """Step name -> what the recorded run's call for it answered and how long it took."""
    steps: dict[str, ReplayStep] = {}
    for span in state.spans.values():
        if span.kind != "llm" or span.status != "succeeded":
            continue
        reused = span.reused
        if reused is not None:
            if reused.source == "pin":
                continue
            steps[span.name] = ReplayStep(
                reused.output,
                reused.input_tokens,
                reused.output_tokens,
                reused.ttft or 0.0,
                reused.duration,
                reused.model,
            )
            continue
        last = span.attempts[-1] if span.attempts else None
        if last is None or last.end is None:
            continue
        ttft = (last.first_token - last.start) if last.first_token is not None else last.end - last.start
        steps[span.name] = ReplayStep(
            span.output, span.input_tokens, span.output_tokens, ttft, last.end - last.start, span.model
        )
    return steps


def missing_steps(graph: Graph, steps: Mapping[str, ReplayStep]) -> list[str]:
    """The model steps of ``graph`` (not pinned) that have no recorded answer to replay."""
    return [
        n.name for n in graph.nodes.values() if n.kind == "llm" and n.name not in steps and graph.pin_of(n.id) is None
    ]


def replaying(
    make_context: ContextFactory, steps: Mapping[str, ReplayStep], run_id: str, recorded_on: str = ""
) -> ContextFactory:
    """``make_context`` with a ``ReplayProvider`` of ``steps`` in place of its provider (and no step cache)."""

    def make(index: int) -> RunContext:
        context = make_context(index)
        provider = ReplayProvider(steps, run_id, recorded_on, context.clock)
        return dataclasses.replace(context, provider=provider, cache=None)

    return make


def recorded_label(state: RunState) -> str:
    started = state.started
    return (started.provider_label or started.provider) if started is not None else ""
