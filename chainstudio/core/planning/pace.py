"""The server's pace, run by run: how much slower or faster than its fitted speed it went in each recorded run.

One fitted speed per model is an average over the runs it read. A CPU server on a shared machine does
not keep one speed: the same graph on the same llama-cpp-python server took 265 s, then 366 s twenty
minutes later, with nothing changed but the machine's load (docs/real-servers.md). So each run's *pace*
is measured, the sum of its answers' solo seconds (queueing and sharing taken out under the fitted
capacity) over what the fitted speed predicts for the same tokens, and:

* a step's own history is kept at the pace of a run of average speed (its recorded seconds divided by
  its run's pace), so a step first run on a busy afternoon is not taken for a slow step;
* the estimate plans at the *current* pace: the recent runs' paces, the newest weighing most and each
  older one ``RECENT`` times less (the load of a shared machine drifts over minutes: the newest run is
  the best reading of it, the ones before it temper its noise).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from chainstudio.core.graph.model import Graph
from chainstudio.core.planning.capacity import Observed, Speed

RECENT = 0.3  # each older run weighs this much of the next newer one in the current pace
PACE_LIMITS = (0.5, 2.0)  # a run's pace, at most this far either way


@dataclass(frozen=True)
class StepHistory:
    """What one step took in its recorded runs (means; seconds as if served alone, at the average pace)."""

    runs: int
    seconds: float
    input_tokens: float
    output_tokens: float


def run_pace(run: Sequence[Observed], solo: Sequence[tuple[float, float]], speeds: Mapping[str, Speed]) -> float | None:
    """The run's solo seconds over what ``speeds`` predict for its answers (None: no usable answer)."""
    seen = predicted = 0.0
    for a, (ttft, gen) in zip(run, solo, strict=True):
        speed = speeds.get(a.model)
        if not a.usable or speed is None or not speed.tokens_per_second:
            continue
        seen += ttft + gen
        predicted += speed.seconds(a.input_tokens, a.output_tokens)
    if predicted <= 0 or seen <= 0:
        return None
    low, high = PACE_LIMITS
    return min(high, max(low, seen / predicted))


def current_pace(paces: Sequence[float | None]) -> float:
    """The pace to plan with from the runs' paces (newest first): their recency-weighted mean (1: none)."""
    weighted = [(RECENT**k, p) for k, p in enumerate(paces) if p is not None]
    if not weighted:
        return 1.0
    return sum(w * p for w, p in weighted) / sum(w for w, _ in weighted)


def step_histories(
    graph: Graph, samples: Sequence[tuple[Sequence[Observed], Sequence[tuple[float, float]], float]]
) -> dict[str, StepHistory]:
    """Per step of ``graph``: its usable attempts' solo seconds divided by their run's pace, and tokens,
    averaged over its runs. ``samples``: each run's attempts, their solo times and the run's pace."""
    by_step: dict[str, list[tuple[float, float, float]]] = {}
    for attempts, solo, pace in samples:
        for a, (ttft, gen) in zip(attempts, solo, strict=True):
            if a.usable and a.key in graph.nodes:
                by_step.setdefault(a.key, []).append(((ttft + gen) / pace, a.input_tokens, a.output_tokens))
    return {
        node_id: StepHistory(
            len(s),
            statistics.fmean(x[0] for x in s),
            statistics.fmean(x[1] for x in s),
            statistics.fmean(x[2] for x in s),
        )
        for node_id, s in by_step.items()
    }
