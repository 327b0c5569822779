"""The whole batch's predicted time and cost, shown before it starts.

Each config's row is estimated once (``core.planning.estimate`` on the first row's inputs: the same
simulation of the schedule the run toolbar's estimate uses), then scaled to the rows left to run: tokens
and cost by the number of rows; wall time by how the rows overlap — ``rows_in_flight(graph)`` rows at a time,
``concurrency`` calls at a time, and no faster than the rate limit's requests per minute. Configs run one
after another. Judges are not included (their prompts hold outputs not known yet); the figure says so.
Batch API configs (``BATCH_API``) are estimated as a layered run for their tokens, at the batch price; their
time is not in ``wall_s`` (the Batch API answers within 24 h), ``batch_api_rows`` counts them.
A graph with checked steps (``core.planning.check_estimate``) gives a range: the figures assume every check
passes first time (each judge called once); ``most`` holds the calls, tokens and cost with every repair used.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from chainstudio.core.batch.api_runner import batch_price_estimate
from chainstudio.core.batch.batch import BATCH_API, BatchSpec
from chainstudio.core.batch.dataset import row_inputs
from chainstudio.core.graph.model import Graph
from chainstudio.core.planning.estimate import Estimate, estimate
from chainstudio.core.planning.latency_model import LatencyModel
from chainstudio.core.run.pricing import Pricing
from chainstudio.core.run.rate_limits import RateLimits


@dataclass
class BatchEstimate:
    wall_s: float
    tokens: int
    cost_usd: float | None  # None: a model's price is unknown
    calls: int
    rows: int  # cells left to run
    uncalibrated: bool
    per_config: dict[str, Estimate] = field(default_factory=dict)
    judged: bool = False  # the batch has judges, not included in the figures
    batch_api_rows: int = 0  # cells run through the Batch API: in tokens and cost, not in ``wall_s``
    most: tuple[int, int, float | None] | None = None  # checked steps: (calls, tokens, cost) with every repair used

    def range_text(self) -> str:
        """The high end of a batch with checked steps, labelled ('' without any)."""
        if self.most is None:
            return ""
        calls, tokens, cost = self.most
        money = "unknown" if cost is None else f"${cost:.4f}"
        return (
            f"checked steps: {self.calls:,}–{calls:,} calls, {self.tokens:,}–{tokens:,} tokens, up to {money} "
            "(every check passes first time – every repair used)"
        )

    def over_budget(self, cost_cap: float | None, token_cap: int | None) -> str | None:
        if cost_cap is not None and self.cost_usd is not None and self.cost_usd > cost_cap:
            return f"the estimate (${self.cost_usd:.4f}) is over the cost cap (${cost_cap:.4f})"
        if token_cap is not None and self.tokens > token_cap:
            return f"the estimate ({self.tokens:,} tokens) is over the token cap ({token_cap:,})"
        if self.most is not None:
            _, tokens, cost = self.most
            if cost_cap is not None and cost is not None and cost > cost_cap:
                return f"with every repair of its checked steps used, the batch (${cost:.4f}) is over the cost cap"
            if token_cap is not None and tokens > token_cap:
                return (
                    f"with every repair of its checked steps used, the batch ({tokens:,} tokens) is over the token cap"
                )
        return None


def estimate_batch(
    spec: BatchSpec,
    left: Mapping[str, int],
    *,
    latency: Callable[[Graph], LatencyModel],
    pricing: Pricing,
    concurrency: int | None,
    rows_in_flight: Callable[[Graph], int],
    rate_limits: RateLimits | None = None,
) -> BatchEstimate:
    """``left``: config label -> cells still to run."""
    total = BatchEstimate(0.0, 0, 0.0, 0, 0, False, judged=bool(spec.rubric or spec.contradictions))
    for config in spec.configs:
        n = left.get(config.label, 0)
        if n <= 0:
            continue
        variant = spec.variant(config.variant)
        graph = variant.graph
        inputs = row_inputs(spec.dataset.rows[0], variant.mapping)
        batch_api = config.strategy == BATCH_API
        one = estimate(
            graph,
            strategy="layered" if batch_api else config.strategy,  # type: ignore[arg-type]
            inputs=inputs,
            model=spec.model,
            latency=latency(graph),
            pricing=pricing,
            with_range=False,
        )
        total.per_config[config.label] = one
        if batch_api:
            total.batch_api_rows += n
            one.cost_usd = batch_price_estimate(one, pricing)
        row_s = one.wall_ms / 1000.0
        call_s = sum(node.duration_ms for node in one.nodes if node.kind == "llm") / 1000.0
        wall = math.ceil(n / max(1, rows_in_flight(graph))) * row_s
        if concurrency:
            wall = max(wall, n * call_s / concurrency, row_s)
        if rate_limits is not None and rate_limits.requests_per_minute:
            wall = max(wall, n * one.api_calls / rate_limits.requests_per_minute * 60.0)
        total.wall_s += 0.0 if batch_api else wall
        _add_most(total, one, n, batch_api)
        total.tokens += n * (one.input_tokens + one.output_tokens)
        total.calls += n * one.api_calls
        total.rows += n
        total.uncalibrated = total.uncalibrated or one.uncalibrated
        if total.cost_usd is not None:
            total.cost_usd = None if one.cost_usd is None else total.cost_usd + n * one.cost_usd
    return total


def _add_most(total: BatchEstimate, one: Estimate, n: int, batch_api: bool) -> None:
    """Add ``n`` rows of ``one`` to the high end, before ``total`` counts them (the Batch API runs no checks:
    its rows add their own figures, as do configs without checked steps)."""
    checks = None if batch_api else one.checks
    if checks is None and total.most is None:
        return
    calls, tokens, cost = total.most or (total.calls, total.tokens, total.cost_usd)  # the configs so far
    high_cost = one.cost_usd if checks is None else checks.high_cost
    calls += n * (one.api_calls if checks is None else checks.high_calls)
    tokens += n * (one.total_tokens if checks is None else checks.high_tokens)
    total.most = (calls, tokens, None if cost is None or high_cost is None else cost + n * high_cost)
