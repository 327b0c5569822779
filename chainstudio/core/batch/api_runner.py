"""Rows of a batch through the OpenAI Batch API (``chainstudio batch --batch-api``): half the price, answered
within 24 h. A ``RowRunner``, so the batch around it (state, checks, judges, exports, the trade-off view)
is the same as for live rows; its config's strategy is ``batch.BATCH_API``.

``BatchApiRunner.run_rows`` runs every job (a dataset row) through the graph the way a run would (the same
templates, ``StepInputs``), but instead of streaming each call it collects, layer by layer, the model calls
of every row into one Batch API batch (``providers.batch_api``), waits for it (``on_poll`` hears each
poll), and goes on with the next layer on its answers: a graph with three layers of model steps is three
batches. Steps without a model call are made locally. A failed call fails its row (its later steps are
not made); the other rows go on.

Each row's cost is at the batch price (``Pricing.batch_cost``: the price table's batch price, else half the
standard price as OpenAI documents; ``RowResult.price`` says which) and its latency is the wall time from
the first batch's submission to the end of the last batch it was in. Cancelling stops waiting: the rows
not finished are not kept (a resumed batch submits them again).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Protocol

from chainstudio.core.batch.overlap import sibling_overlap
from chainstudio.core.batch.results import RowResult
from chainstudio.core.batch.runner import BatchJob, RowOptions
from chainstudio.core.graph.model import Graph, Node
from chainstudio.core.graph.templating import TemplateProblem
from chainstudio.core.planning.estimate import Estimate
from chainstudio.core.providers.base import ChatRequest
from chainstudio.core.providers.batch_api import BatchAnswer, BatchProgress
from chainstudio.core.run.inputs import StepInputs, resolve_inputs
from chainstudio.core.run.pricing import Pricing
from chainstudio.core.run.topology import Plan, with_model


class Batches(Protocol):
    """What submits one batch and waits for its answers: ``BatchClient``."""

    async def run(
        self, requests: Sequence[tuple[str, ChatRequest]], on_progress: Callable[[BatchProgress], None] | None = None
    ) -> list[BatchAnswer]: ...


class _Row:
    def __init__(self, job: BatchJob, plan: Plan, graph: Graph):
        cell = job.cell
        self.result = RowResult(cell.config.variant, cell.config.strategy, cell.repeat, cell.row, "succeeded")
        self.result.cost_usd = 0.0
        self.steps = StepInputs(plan, resolve_inputs(graph, job.inputs))
        self.failed = False

    def fail(self, step: str, message: str) -> None:
        if not self.failed:
            self.failed = True
            self.result.status, self.result.error = "failed", f"{step}: {message}"


class BatchApiRunner:
    def __init__(
        self,
        client: Batches,
        pricing: Pricing,
        on_poll: Callable[[int, int, BatchProgress], None] | None = None,
    ):
        self.client, self.pricing, self.on_poll = client, pricing, on_poll

    def cancel(self) -> None:
        """Nothing to stop here: the batch's task is cancelled, and rows not yielded are not kept."""

    async def run_rows(self, graph: Graph, jobs: Sequence[BatchJob], options: RowOptions) -> AsyncIterator[RowResult]:
        if not jobs:
            return
        graph = with_model(graph, options.model)
        plan = Plan.build(graph, lambda node: 1.0)
        rows = [_Row(job, plan, graph) for job in jobs]
        model_layers = [layer for layer in plan.layers if any(graph.nodes[n].kind == "llm" for n in layer)]
        started = time.monotonic()
        for layer in plan.layers:
            requests: list[tuple[str, ChatRequest]] = []
            owners: dict[str, tuple[_Row, Node]] = {}
            for row in rows:
                for node_id in layer:
                    if row.failed:
                        break
                    node = graph.nodes[node_id]
                    try:
                        if node.kind != "llm":
                            row.steps.outputs[node_id] = row.result.outputs[node.name] = row.steps.local_output(node)
                            continue
                        call = row.steps.prepare_call(node, count=False)
                    except TemplateProblem as exc:
                        row.fail(node.name, exc.message)
                        continue
                    cell = row.result
                    custom_id = f"r{cell.repeat}-row{cell.row}-s{plan.index[node_id]}"
                    requests.append((custom_id, call.request))
                    owners[custom_id] = (row, node)
            if not requests:
                continue
            number = model_layers.index(layer) + 1

            def progress(p: BatchProgress, number: int = number) -> None:
                if self.on_poll is not None:
                    self.on_poll(number, len(model_layers), p)

            answers = await self.client.run(requests, progress)
            elapsed = time.monotonic() - started
            for answer, (custom_id, request) in zip(answers, requests, strict=True):
                row, node = owners[custom_id]
                row.result.latency_s = round(elapsed, 6)
                self._book(row, node, answer, request)
        for row in rows:
            yield self._finished(row, graph, plan)

    def _book(self, row: _Row, node: Node, answer: BatchAnswer, request: ChatRequest) -> None:
        result = row.result
        result.api_calls += 1
        if not answer.ok:
            row.fail(node.name, answer.error or "no answer")
            return
        row.steps.outputs[node.id] = result.outputs[node.name] = answer.text
        result.input_tokens += answer.input_tokens
        result.output_tokens += answer.output_tokens
        counts = (answer.input_tokens, answer.output_tokens, answer.cached_tokens)
        priced_as = answer.model or request.model
        cost, source = self.pricing.batch_cost(priced_as, *counts)
        if cost is None and priced_as != request.model and priced_as.startswith(request.model):  # a dated snapshot
            cost, source = self.pricing.batch_cost(request.model, *counts)
        result.cost_usd = None if cost is None or result.cost_usd is None else result.cost_usd + float(cost)
        result.price = source if not result.price or result.price == source else "mixed"

    @staticmethod
    def _finished(row: _Row, graph: Graph, plan: Plan) -> RowResult:
        result = row.result
        outputs = result.outputs
        ends = [n for n in plan.ids if graph.nodes[n].kind == "output"] or plan.sinks()
        result.output = next((outputs[graph.nodes[n].name] for n in ends if graph.nodes[n].name in outputs), "")
        result.overlap = sibling_overlap(graph, outputs) if result.status == "succeeded" else None
        return result


def batch_price_estimate(one: Estimate, pricing: Pricing) -> float | None:
    """An estimated row's cost at the batch price (its model calls' tokens, each at its model's batch price)."""
    total = 0.0
    for node in one.nodes:
        if node.kind != "llm" or node.model is None:
            continue
        cost, _ = pricing.batch_cost(node.model, node.input_tokens, node.output_tokens)
        if cost is None:
            return None
        total += float(cost)
    return total
