"""Running a batch's rows: the ``RowRunner`` interface and the live runner, under one set of shared limits.

``RowRunner.run_rows(graph, jobs, options)`` runs ``jobs`` (dataset rows, each with its inputs) of one graph
under one strategy and yields a ``RowResult`` per job as it ends, in any order. ``LiveRowRunner`` runs each
row as its own ``Run`` (the executor, unchanged) on the shared limits; another runner (e.g. one that
submits through a provider's batch endpoint) can stand in for it: the batch around it (state, evaluators,
exports, the trade-off view) does not care how a row's answers were obtained.

``SharedLimits`` is what every row of a batch shares, so the batch as a whole keeps the limits a single
run keeps: one rate limiter, one budget (``--cost-cap``/``--token-cap`` cap the whole batch), one adaptive
pace, and ``concurrency`` model calls in flight across all rows (a semaphore around the provider's calls,
plus a ``ServerLoad`` of that capacity, so that time a call waits for a slot does not count against its
timeout). The rows' calls are spread over ``concurrency / CALLS_PER_CLIENT`` providers, each its own HTTP
client: one connection pool of a thousand connections spends most of the batch's CPU finding a connection
for each request. Rows in flight: ``concurrency`` divided by the graph's widest layer of model steps (at
least one), so that a row's parallel branches get their slots together and its latency is not that of a row
queued behind the batch's other rows; ``ROWS_UNCAPPED`` rows without a cap.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from chainstudio.core.batch.overlap import sibling_overlap
from chainstudio.core.batch.results import Cell, RowResult
from chainstudio.core.graph.analysis import Dag, generations
from chainstudio.core.graph.model import Graph
from chainstudio.core.providers.base import ChatRequest, ChatResult, DeltaCallback, Provider
from chainstudio.core.run.budget import BudgetGuard
from chainstudio.core.run.context import RunContext, Strategy
from chainstudio.core.run.executor import Run
from chainstudio.core.run.progress import ServerLoad
from chainstudio.core.run.state import RunState

ROWS_UNCAPPED = 256  # rows in flight when no concurrency cap is given
# calls per HTTP client: the openai client's connection pool (httpcore) scans every connection for every
# request, so one pool of 1,000 connections costs quadratic time; the batch shards its calls over clients
CALLS_PER_CLIENT = 100


@dataclass(frozen=True)
class BatchJob:
    cell: Cell
    inputs: dict[str, str]


@dataclass(frozen=True)
class RowOptions:
    strategy: Strategy = "eager"
    model: str | None = None


class RowRunner(Protocol):
    """Runs rows of one graph; yields each row's result as it ends (the batch keeps and scores them)."""

    def run_rows(self, graph: Graph, jobs: Sequence[BatchJob], options: RowOptions) -> AsyncIterator[RowResult]: ...

    def cancel(self) -> None:
        """Stop: rows in flight end as "stopped" (not kept: a resumed batch runs them again)."""
        ...


class SlotProvider:
    """A provider whose calls wait for one of the batch's shared slots."""

    def __init__(self, inner: Provider, slots: asyncio.Semaphore | None):
        self.inner = inner
        self._slots = slots
        self.name = inner.name
        self.simulated = inner.simulated

    @property
    def label(self) -> str:
        return self.inner.label

    async def stream_chat(self, request: ChatRequest, on_delta: DeltaCallback) -> ChatResult:
        if self._slots is None:
            return await self.inner.stream_chat(request, on_delta)
        async with self._slots:
            return await self.inner.stream_chat(request, on_delta)

    async def aclose(self) -> None:  # the shared limits close the inner provider once
        return None

    def __getattr__(self, name: str) -> Any:  # server_counts, server_capacity, base_url, ...
        return getattr(self.inner, name)


def row_seed(seed: int, row: int) -> int:
    """The seed of one row's run (its retries' jitter): with the batch's one seed every row's step retried
    at the same moments after a shared stall, all together again (the scale benchmark's failed rows)."""
    return seed if row == 0 else seed * 1_000_003 + row


@dataclass
class SharedLimits:
    """What every row of a batch shares (see the module docstring). ``make_context(k)``: the context of
    repeat ``k`` (its provider's seed differs on the simulated provider)."""

    make_context: Callable[[int], RunContext]
    concurrency: int | None = None
    base: RunContext = field(init=False)
    budget: BudgetGuard = field(init=False)
    load: ServerLoad = field(init=False)
    _providers: dict[tuple[int, int], Provider] = field(default_factory=dict, init=False)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list, init=False)  # also closed at the end
    _slots: asyncio.Semaphore | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.base = self.make_context(0)
        self._providers[0, 0] = self.base.provider
        self.budget = BudgetGuard(self.base.cost_cap, self.base.token_cap)
        self.load = ServerLoad(self.concurrency)
        self.base.limiter()  # made once, shared

    @property
    def simulated(self) -> bool:
        return bool(self.base.provider.simulated)

    def rows_in_flight(self, graph: Graph | None = None) -> int:
        """How many rows of ``graph`` run at once (see the module docstring)."""
        if not self.concurrency:
            return ROWS_UNCAPPED
        return max(1, self.concurrency // (widest_layer(graph) if graph is not None else 1))

    @property
    def clients(self) -> int:
        """How many providers (HTTP clients) the rows' calls are spread over."""
        if self.simulated or not self.concurrency:
            return 1
        return max(1, -(-self.concurrency // CALLS_PER_CLIENT))

    def context(self, repeat: int, row: int = 0) -> RunContext:
        """A fresh context for one row's run, on the shared limits (``row`` picks the row's HTTP client)."""
        if self._slots is None and self.concurrency:
            self._slots = asyncio.Semaphore(self.concurrency)
        key = (repeat, row % self.clients)
        provider = self._providers.get(key)
        if provider is None:
            provider = self._providers[key] = self.make_context(repeat).provider
        base = self.base
        return RunContext(
            provider=SlotProvider(provider, self._slots),
            pricing=base.pricing,
            clock=base.clock,
            seed=row_seed(base.seed + repeat, row),  # the retry jitter: rows must not retry in step
            rate_limiter=base.rate_limiter,
            cost_cap=base.cost_cap,
            token_cap=base.token_cap,
            budget=self.budget,
            server_load=self.load,
            pacer=base.pace(),
            endpoint_lane=base.endpoint_lane,  # steps that name an endpoint profile (not behind the slots)
        )

    async def aclose(self) -> None:
        for provider in self._providers.values():
            await provider.aclose()
        for close in self.closers:
            await close()


def _why(state: RunState, status: str) -> str:
    """The run's message, and the first failed step's error (what the row's error column says)."""
    failed = next((span for span in state.spans.values() if span.status == "failed" and span.error), None)
    message = state.message or status
    return message if failed is None else f"{message}: {failed.name}: {failed.error}"


def widest_layer(graph: Graph) -> int:
    """The most model steps in one layer of ``graph`` (at least 1)."""
    try:
        layers = generations(Dag.of_graph(graph))
    except ValueError:
        return 1
    return max([1, *(sum(graph.nodes[nid].kind == "llm" for nid in layer) for layer in layers)])


def result_of(cell: Cell, graph: Graph, state: RunState, run_id: str, budget_stopped: bool = False) -> RowResult:
    """A row's result from its run's state: "stopped" when it was cancelled or stopped by the budget."""
    totals = state.totals()
    outputs = {span.name: span.output for span in state.spans.values() if span.status == "succeeded"}
    status = str(state.status)
    if status == "cancelled" or (budget_stopped and status != "succeeded"):
        status = "stopped"
    elif status != "succeeded":
        status = "failed"
    return RowResult(
        variant=cell.config.variant,
        strategy=cell.config.strategy,
        repeat=cell.repeat,
        row=cell.row,
        status=status,
        latency_s=round(totals.wall, 6),
        input_tokens=totals.input_tokens,
        output_tokens=totals.output_tokens,
        cost_usd=totals.cost_usd,
        api_calls=totals.api_calls,
        tokens_estimated=totals.tokens_estimated,
        output=next(iter(state.outputs.values()), ""),  # the first output step's (or sink's) text
        outputs=outputs,
        error=None if status == "succeeded" else _why(state, status),
        overlap=sibling_overlap(graph, outputs),
        run_id=run_id,
        simulated=state.simulated,
    )


class LiveRowRunner:
    """Each row is a ``Run`` of the graph on the shared limits; ``concurrency`` rows at a time."""

    def __init__(self, limits: SharedLimits):
        self.limits = limits
        self._runs: set[Run] = set()
        self._cancelled = False

    def cancel(self) -> None:
        self._cancelled = True
        for run in list(self._runs):
            run.cancel("batch stopped")

    async def run_rows(self, graph: Graph, jobs: Sequence[BatchJob], options: RowOptions) -> AsyncIterator[RowResult]:
        queue: asyncio.Queue[RowResult | None] = asyncio.Queue()
        todo = iter(jobs)
        workers = min(len(jobs), self.limits.rows_in_flight(graph)) if jobs else 0

        async def worker() -> None:
            try:
                for job in todo:  # each worker takes the next job: ``concurrency`` rows in flight
                    if self._cancelled or self.limits.budget.stop_reason is not None:
                        break
                    queue.put_nowait(await self._run_one(graph, job, options))
            finally:
                queue.put_nowait(None)

        tasks = [asyncio.create_task(worker(), name=f"batch-row-{i}") for i in range(workers)]
        try:
            finished = 0
            while finished < workers:
                item = await queue.get()
                if item is None:
                    finished += 1
                else:
                    yield item
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _run_one(self, graph: Graph, job: BatchJob, options: RowOptions) -> RowResult:
        context = self.limits.context(job.cell.repeat, job.cell.row)
        run = Run(
            graph, context, strategy=options.strategy, inputs=job.inputs, model=options.model, record_events=False
        )
        self._runs.add(run)
        try:
            state = await run.execute()
        finally:
            self._runs.discard(run)
        return result_of(job.cell, run.graph, state, run.run_id, self.limits.budget.stop_reason is not None)
