"""A dataset through a graph on the OpenAI Batch API: one batch per layer of model steps, every row at once.

``run_rows(graph, rows, client, pricing)`` runs each row (a mapping of graph input values) through the
graph the way a run would (the same templates, ``StepInputs``), but instead of streaming each call it
collects, layer by layer, the model calls of every row into one Batch API batch (``providers.batch_api``),
waits for it, and goes on with the next layer on its answers. A graph of three layers of model steps is
three batches, each up to 24 h. Steps without a model call are made locally. A failed call fails its row
(its later steps are skipped, as in a run); the other rows go on.

Each row's result (``RowResult``) carries its outputs, the server's tokens (cached ones too), its cost at
the batch price (``Pricing.batch_cost``, which names where the price comes from) and its latency: the wall
time from the first batch's submission to the end of the last batch the row was in.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from chainstudio.core.graph.model import Graph, Node
from chainstudio.core.graph.templating import TemplateProblem
from chainstudio.core.providers.base import ChatRequest
from chainstudio.core.providers.batch_api import BatchAnswer, BatchProgress
from chainstudio.core.run.inputs import StepInputs, resolve_inputs
from chainstudio.core.run.pricing import Pricing
from chainstudio.core.run.topology import Plan, with_model


class Batches(Protocol):
    """What runs a batch: ``BatchClient``."""

    async def run(
        self, requests: Sequence[tuple[str, ChatRequest]], on_progress: Callable[[BatchProgress], None] | None = None
    ) -> list[BatchAnswer]: ...


@dataclass
class RowResult:
    row: int
    inputs: dict[str, str]
    status: str = "succeeded"  # "succeeded" | "failed"
    error: str | None = None
    outputs: dict[str, str] = field(default_factory=dict)  # step name -> output, for the steps that ran
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cost: Decimal | None = Decimal(0)  # None: a model's price is unknown
    price_source: str = ""
    standard_cost: Decimal | None = Decimal(0)  # the same tokens at the standard (not batch) price
    latency_s: float = 0.0
    calls: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "inputs": self.inputs,
            "status": self.status,
            "error": self.error,
            "outputs": self.outputs,
            "latency_s": round(self.latency_s, 3),
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_tokens": self.cached_tokens,
            "cost_usd": None if self.cost is None else float(self.cost),
            "price": self.price_source,
            "standard_cost_usd": None if self.standard_cost is None else float(self.standard_cost),
            "calls": self.calls,
            "mode": "batch-api",
        }


class _Row:
    def __init__(self, number: int, plan: Plan, values: Mapping[str, str]):
        self.result = RowResult(number, dict(values))
        self.steps = StepInputs(plan, values)
        self.failed_step: str | None = None


async def run_rows(
    graph: Graph,
    rows: Sequence[Mapping[str, str]],
    client: Batches,
    pricing: Pricing,
    *,
    model: str | None = None,
    on_progress: Callable[[int, int, BatchProgress], None] | None = None,
) -> list[RowResult]:
    """Every row through ``graph`` on the Batch API; ``on_progress(layer, layers, progress)`` as it polls."""
    graph = with_model(graph, model)
    plan = Plan.build(graph, lambda node: 1.0)
    runs = [_Row(i, plan, resolve_inputs(graph, dict(values))) for i, values in enumerate(rows)]
    model_layers = [layer for layer in plan.layers if any(graph.nodes[n].kind == "llm" for n in layer)]
    started = time.monotonic()
    done_layers = 0
    for layer in plan.layers:
        requests: list[tuple[str, ChatRequest]] = []
        owners: dict[str, tuple[_Row, Node]] = {}
        for row in runs:
            for node_id in layer:
                node = graph.nodes[node_id]
                if row.failed_step is not None:
                    continue
                try:
                    if node.kind != "llm":
                        output = row.steps.local_output(node)
                        row.steps.outputs[node_id] = row.result.outputs[node.name] = output
                        continue
                    call = row.steps.prepare_call(node, count=False)
                except TemplateProblem as exc:
                    _fail(row, node.name, exc.message)
                    continue
                custom_id = f"row-{row.result.row}-step-{plan.index[node_id]}"
                requests.append((custom_id, call.request))
                owners[custom_id] = (row, node)
        if not requests:
            continue
        number = done_layers + 1

        def progress(p: BatchProgress, number: int = number) -> None:
            if on_progress is not None:
                on_progress(number, len(model_layers), p)

        answers = await client.run(requests, progress)
        done_layers += 1
        now = time.monotonic() - started
        for answer, (custom_id, request) in zip(answers, requests, strict=True):
            row, node = owners[custom_id]
            row.result.latency_s = now
            _book(row, node, answer, request, pricing)
    return [row.result for row in runs]


def _fail(row: _Row, step: str, message: str) -> None:
    if row.failed_step is None:
        row.failed_step = step
        row.result.status, row.result.error = "failed", f"{step}: {message}"


def _book(row: _Row, node: Node, answer: BatchAnswer, request: ChatRequest, pricing: Pricing) -> None:
    result = row.result
    result.calls += 1
    if not answer.ok:
        _fail(row, node.name, answer.error or "no answer")
        return
    row.steps.outputs[node.id] = result.outputs[node.name] = answer.text
    result.input_tokens += answer.input_tokens
    result.output_tokens += answer.output_tokens
    result.cached_tokens += answer.cached_tokens
    counts = (answer.input_tokens, answer.output_tokens, answer.cached_tokens)
    priced_as = answer.model or request.model
    cost, source = pricing.batch_cost(priced_as, *counts)
    if cost is None and priced_as != request.model and priced_as.startswith(request.model):  # a dated snapshot
        priced_as = request.model
        cost, source = pricing.batch_cost(priced_as, *counts)
    standard = pricing.cost(priced_as, *counts)
    result.cost = None if cost is None or result.cost is None else result.cost + cost
    result.standard_cost = None if standard is None or result.standard_cost is None else result.standard_cost + standard
    result.price_source = source if not result.price_source or result.price_source == source else "mixed"
