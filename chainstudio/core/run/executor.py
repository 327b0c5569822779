"""The executor: runs a snapshot of a graph on a provider and speaks only in run events. Over 400 lines
because the run's glue (admission, reuse, off-loop rendering, capacity, recount, the end) meets here.

    run = Run(graph, RunContext(provider=SimulatedProvider()), strategy="eager", listeners=[print])
    state = await run.execute()     # a RunState; run.cancel() from any callback stops it

Each ``Run`` is a fresh object for one run (no state lives on a long-lived executor). Side effects come
in through ``RunContext``: the provider, pricing, the clock (time and sleep), the seed for backoff
jitter, and limits (a concurrency cap, rate limits, budgets). It never blocks the loop and never uses
threads, so it runs the same under plain asyncio and under the GUI's qasync loop.

``Run`` is the glue between the units that do the work, each with its own tests:

* ``scheduler.Scheduler``: which step goes next (strategies ``eager`` / ``layered`` / ``sequential``,
  critical-path or first-come priority, the concurrency cap); it calls back ``admit``, ``skip``,
  ``start``, ``wait`` and ``all_done`` here;
* ``attempt.StepAttempts``: one step's model call (retries with ``retry.RetryPolicy``, backoff, timeouts,
  budget reservations, rate limits, the attempt events);
* ``inputs.StepInputs``: what a step reads (templates, input values, local outputs of input, join and
  output steps);
* ``reuse.StepReuse``: answers that need no call (pins, step-cache hits, a partial run's earlier outputs,
  see ``scope.RunScope``) and keeping new answers in the cache;
* ``outcome.summarize``: the run's final status, message and outputs;
* ``state.RunState``: the run's own fold of its events (``run.state``).

A failed step's descendants are skipped with the reason; independent branches go on.

When the model calls are over (and the run was not stopped), the steps whose token counts are an offline
guess (a server that sends no usage) are recounted by the server, if the provider can ask it
(``ServerCounting``): one ``NodeTokensCounted`` per step whose figures changed, before ``RunFinished``.
Counting after the calls means it never competes with a stream (a one-at-a-time server would queue it
behind one, or cut one off).

Before the first call, a run that does not know its server's capacity asks the provider
(``ServerCapacity``: a local llama-cpp-python server runs one request at a time), so that time queued at
the server does not count against a step's timeout (``core.run.progress``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, cast

from chainstudio.core.graph.analysis import Dag, generations
from chainstudio.core.graph.kinds import FLOW_KINDS
from chainstudio.core.graph.model import Graph, Node
from chainstudio.core.graph.templating import ON_LOOP_CPU_SECONDS, TemplateProblem, TemplateTooSlow
from chainstudio.core.providers.base import ChatRequest, ServerCapacity, ServerCounting
from chainstudio.core.run import events as ev
from chainstudio.core.run.attempt import AttemptServices, PreparedCall, StepAttempts, StepOutcome
from chainstudio.core.run.budget import BudgetGuard
from chainstudio.core.run.context import STRATEGIES, Priority, RunContext, RunError, Strategy
from chainstudio.core.run.flow import FlowSteps, Pending
from chainstudio.core.run.inputs import StepInputs, resolve_inputs
from chainstudio.core.run.lanes import Lanes, endpoint_of_node, make_lanes
from chainstudio.core.run.outcome import summarize
from chainstudio.core.run.picking import calls_model
from chainstudio.core.run.reuse import StepReuse
from chainstudio.core.run.scheduler import Scheduler, SchedulerHost
from chainstudio.core.run.scope import RunScope
from chainstudio.core.run.state import RunState
from chainstudio.core.run.status import StepStatus
from chainstudio.core.run.topology import Plan, with_model
from chainstudio.core.run.warm_prefix import PrefixWarmer

__all__ = ["STRATEGIES", "CANCEL_GRACE", "Priority", "Run", "RunContext", "RunError", "Strategy", "run_graph"]

log = logging.getLogger(__name__)

CANCEL_GRACE = 5.0  # real seconds to wait for cancelled tasks to unwind before giving up on them
RECOUNT_LIMIT = 30.0  # real seconds the server's recount of guessed tokens may take at the end of a run
CANCEL_PART = 250  # unfinished steps cancelled per turn of the loop at a run's end (a stop; 500: 30-40 ms a turn)
CAPACITY_LIMIT = 2.0  # real seconds a run waits, before its first call, for the server to tell its capacity


def _emitter(listeners: list[ev.Listener]) -> ev.Listener:
    """A run's ``_emit``: each event scrubbed (the one point every event passes: listeners only ever see
    scrubbed text), then told to ``listeners`` in order; a listener that raises is logged, the run goes on."""

    def emit(event: ev.RunEvent) -> None:
        event = ev.scrubbed(event)
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # a broken listener must not break the run
                log.exception("run listener %r failed on %s", listener, type(event).__name__)

    return emit


class Run:
    """One execution of a graph snapshot. Create a new Run for every run."""

    def __init__(
        self,
        graph: Graph,
        context: RunContext,
        *,
        strategy: Strategy = "eager",
        inputs: Mapping[str, str] | None = None,
        model: str | None = None,
        listeners: Iterable[ev.Listener] = (),
        run_id: str | None = None,
        record_events: bool = True,
        scope: RunScope | None = None,
    ):
        """``scope``: a partial run (``scope.select_scope``): only its steps run, upstream ones are reused."""
        if strategy not in STRATEGIES:
            raise RunError(f"unknown strategy {strategy!r} (choose {', '.join(STRATEGIES)})")
        if context.concurrency is not None and context.concurrency < 1:
            raise RunError("concurrency must be at least 1")
        lanes = make_lanes(context, graph.nodes.values())  # an endpoint per step (core.run.lanes)
        self.graph = with_model(graph, model, {name: lane.model for name, lane in lanes.items() if lane.model})
        self.context = context
        self._lane_of = lanes
        self.strategy: Strategy = strategy
        self.run_id = run_id or f"run-{uuid.uuid4().hex[:12]}"
        self.inputs = resolve_inputs(self.graph, inputs or {})
        self.state = RunState()  # this run's own fold of its events, filled as they happen
        self.events: list[ev.RunEvent] = []
        self._listeners: list[ev.Listener] = [self.state.apply]
        if record_events:
            self._listeners.append(self.events.append)
        self._listeners.extend(listeners)
        self._emit = _emitter(self._listeners)  # (not a method: what keeps it keeps no cycle through the run)
        self._clock = context.clock
        self._tasks: set[asyncio.Task[None]] = set()
        self._pending: dict[str, StepAttempts | _RenderedOffLoop | Pending] = {}  # admitted, waiting for a slot
        self._calls: dict[str, StepAttempts] = {}  # model calls started, by step
        self._executed = False
        self._cancel_reason: str | None = None
        self._finished: asyncio.Future[None] | None = None
        self.scope = scope
        try:
            self.plan = Plan.build(_scoped(self.graph, scope), self._estimate)
        except ValueError as exc:  # CycleError is a ValueError
            raise RunError(str(exc)) from None
        self._reuse = StepReuse(self.run_id, self.graph, context.cache, scope, context.clock, self._emit)
        self._steps = StepInputs(self.plan, self.inputs)
        self._budget = (
            context.budget if context.budget is not None else BudgetGuard(context.cost_cap, context.token_cap)
        )
        limiter = context.limiter()
        self._count_tokens = limiter is not None or self._budget.active
        self._services = AttemptServices(
            self.run_id,
            context.provider,
            context.clock,
            context.pricing,
            context.retry_policy(),
            self._budget,
            limiter,
            context.seed,
            self._emit,
            context.pace(),
            context.load(),
        )
        self._lanes = Lanes(lanes, self._services, context)
        self._reuse.endpoints = self._lanes.cache_endpoints(self.graph.nodes.values())
        self._scheduler = Scheduler(  # (a weak host: the run and its scheduler form no cycle)
            self.plan,
            cast(SchedulerHost, weakref.proxy(self)),
            strategy=strategy,
            priority=context.priority,
            cap=context.concurrency,
            defer=_next_turn,
        )
        self._flow = FlowSteps(  # map and route steps
            self._services,
            self._steps,
            self._scheduler,
            count_tokens=self._count_tokens,
            forced_items=context.forced_items,
            forced_routes=context.forced_routes,
            services_of=self._lanes.services,
        )
        self._warmer = PrefixWarmer() if context.warm_prefix else None
        self._started = self._run_started()  # listed here, before the loop runs (10,000 steps: ~50 ms)
        self.state.prepare(self._started)  # its spans too: RunStarted then holds the loop for neither

    # --- public -----------------------------------------------------------------------------
    def add_listener(self, listener: ev.Listener) -> None:
        self._listeners.append(listener)

    def cancel(self, reason: str = "cancelled") -> None:
        """Stop the run: in-flight calls are cancelled, unfinished steps are marked cancelled."""
        if self._cancel_reason is None:
            self._cancel_reason = reason
        self._scheduler.stop()
        for task in list(self._tasks):
            task.cancel()
        if self._finished is not None and not self._finished.done():
            self._finished.set_result(None)

    @property
    def endpoints(self) -> tuple[tuple[str, str], ...]:
        """(profile name, label) of the endpoints the run's steps name, each with a provider of its own."""
        return self._lanes.labels()

    @property
    def cancelled(self) -> bool:
        return self._cancel_reason is not None

    async def execute(self) -> RunState:
        if self._executed:
            raise RuntimeError("a Run executes once; create a new Run")
        self._executed = True
        self._finished = asyncio.get_running_loop().create_future()
        self._emit(dataclasses.replace(self._started, t=self._clock.now()))
        try:
            await asyncio.sleep(0)  # listeners draw the run's start in a loop turn of their own, then the first wave
            if self._cancel_reason is None:
                await self._learn_capacity()
            if self._cancel_reason is None:
                self._scheduler.start()
                if not self._scheduler.done:
                    await self._finished
                await self._unwind()
                if self._cancel_reason is None:
                    await self._recount()
        except asyncio.CancelledError:
            self.cancel("cancelled")
            await self._unwind()
            self._finish()
            await self._lanes.aclose()
            self._calls.clear()
            raise
        await self._unwind()
        for _ in self._finish_parts():
            await asyncio.sleep(0)
        await self._lanes.aclose()
        self._calls.clear()  # (their callbacks point back at the run: a finished run is freed by its references)
        return self.state

    # --- events -------------------------------------------------------------------------------

    def _run_started(self) -> ev.RunStarted:
        """The run's ``RunStarted``, its time left at 0 (``execute`` sets it)."""
        plan, nodes, provider = self.plan, self.graph.nodes, self.context.provider
        not_run = _not_run_layers(self.graph, self.scope)
        return ev.RunStarted(
            self.run_id,
            0.0,
            self.graph.name,
            self.strategy,
            provider.name,
            bool(provider.simulated),
            self.context.concurrency,
            tuple(
                ev.NodeInfo(
                    nid,
                    nodes[nid].name,
                    nodes[nid].kind,
                    layer,
                    _model_of(nodes[nid]),
                    _max_tokens(nodes[nid]),
                    endpoint_of_node(nodes[nid]),
                )
                for nid, layer in [*((n, plan.layer_of[n]) for n in plan.ids), *not_run.items()]
            ),
            tuple((s, t) for s in plan.ids for t in plan.succs[s]) + _not_run_edges(self.graph, not_run),
            provider_label=provider.label,
            pricing_note=self.context.pricing.free_note,
            cache=self.context.cache is not None and self.context.cache.write,
            scope=self.scope.label if self.scope is not None else "",
            not_run=tuple(not_run),
            endpoints=self.endpoints,
        )

    def _estimate(self, node: Node) -> float:
        """A step's expected duration, for critical-path priority: the context's (learned from recorded
        runs), else the provider's guess, else a typical hosted model's."""
        known = self.context.step_seconds.get(node.id)
        if known is not None:
            return known
        lane = self._lane_of.get(endpoint_of_node(node))
        estimate = getattr(lane.provider if lane is not None else self.context.provider, "estimate_seconds", None)
        request = ChatRequest(
            model=str(node.param("model")), messages=(), max_tokens=int(node.param("max_tokens")), seed_key=node.name
        )
        if estimate is not None:
            return float(estimate(request))
        return 0.5 + request.max_tokens / 60.0  # a typical hosted model: ~60 tokens/s

    # --- the scheduler's host ------------------------------------------------------------------
    def admit(self, step: str) -> StepStatus | None:
        self._emit(ev.NodeQueued(self.run_id, self._clock.now(), step))
        node = self.graph.nodes[step]
        if node.kind in FLOW_KINDS:
            return self._flow.admit(node, self._pending)  # type: ignore[arg-type]
        try:  # on the loop, a render gets a few milliseconds; a slower one goes on in a worker thread
            if not calls_model(node):
                output = self._steps.local_output(node, ON_LOOP_CPU_SECONDS)
                self._steps.outputs[step] = output
                self._scored(step)
                self._emit(ev.NodeFinished(self.run_id, self._clock.now(), step, output))
                return StepStatus.SUCCEEDED
            reused = self._reuse.pinned(node)
            call = None
            if reused is None:
                call = self._steps.prepare_call(node, count=self._count_tokens, cpu_seconds=ON_LOOP_CPU_SECONDS)
        except TemplateTooSlow:
            self._pending[step] = _RenderedOffLoop(self, step, node)  # takes a slot like a model call
            return None
        except TemplateProblem as exc:
            self._emit(ev.NodeFailed(self.run_id, self._clock.now(), step, exc.message))
            return StepStatus.FAILED
        if call is not None:
            reused = self._reuse.answer(node, call)
        if reused is not None:  # a pin, a cache hit or an earlier run's output: no call
            if reused.output is not None:
                self._steps.outputs[step] = reused.output
            return reused.status
        assert call is not None  # prepared whenever no pin answered
        self._pending[step] = self._attempts(step, node, call)
        return None

    def _scored(self, step: str) -> None:
        """A pick-best step that ranked its candidates by a field: its scores (``core.run.picking``)."""
        verdict = self._steps.scores.pop(step, None)
        if verdict is not None:
            node = self.graph.nodes[step]
            basis = str(node.param("score_field"))
            self._emit(ev.NodeScored(self.run_id, self._clock.now(), step, verdict.scores, verdict.best, basis))

    def _attempts(self, step: str, node: Node, call: PreparedCall) -> StepAttempts:
        loop = asyncio.get_running_loop()

        def streaming() -> None:  # compile what waits on this step while it streams, not after it
            loop.call_soon(self._precompile_after, step)
            if self._warmer is not None:
                self._warmer.warmed(step)  # its prompt is cached: the calls sharing its prefix go

        return StepAttempts(self._lanes.services(node), step, node.name, call, on_first_token=streaming)

    def _precompile_after(self, step: str) -> None:
        with contextlib.suppress(TemplateProblem):  # too slow on a busy loop, or broken: admitting compiles again
            self._steps.precompile_after(step)

    def skip(self, step: str, reason: str) -> None:
        self._emit(ev.NodeSkipped(self.run_id, self._clock.now(), step, reason))

    def wait(self, step: str) -> None:
        self._emit(ev.NodeWaiting(self.run_id, self._clock.now(), step, "slot"))

    def not_taken(self, step: str, reason: str) -> None:
        self._steps.outputs[step] = ""  # a template after a join reads a branch not taken as empty
        self._emit(ev.NodeNotTaken(self.run_id, self._clock.now(), step, reason))

    def start(self, step: str) -> None:
        task = asyncio.get_running_loop().create_task(self._call(step), name=f"{self.run_id}:{step}")
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._task_done(t, step))

    def all_done(self) -> None:
        if self._finished is not None and not self._finished.done():
            self._finished.set_result(None)

    # --- model calls ------------------------------------------------------------------------------
    async def _call(self, step: str) -> None:  # a StepAttempts, or a _RenderedOffLoop
        pending = self._pending.pop(step)
        if isinstance(pending, StepAttempts):
            self._calls[step] = pending
            if self._warmer is not None:
                now, run_id = self._clock.now, self.run_id
                hold = lambda _leader: self._emit(ev.NodeWaiting(run_id, now(), step, "prefix"))  # noqa: E731
                await self._warmer.wait_turn(step, pending.call.request.messages, hold)
        try:
            outcome = await pending.run()
        finally:
            if self._warmer is not None:
                self._warmer.warmed(step)
        if outcome.output is not None:
            self._steps.outputs[step] = outcome.output
        self._scheduler.finish_call(step, outcome.status, outcome.reason)
        span, call = self.state.spans[step], getattr(pending, "call", None)
        if outcome.status is StepStatus.SUCCEEDED and call is not None and span.reused is None:  # a model answered
            self._reuse.remember(step, call.cache_request or call.request, span)

    def _task_done(self, task: asyncio.Task[None], step: str) -> None:
        self._tasks.discard(task)
        if task.cancelled() or task.exception() is None:
            return
        log.error("step task %s crashed", task.get_name(), exc_info=task.exception())
        if self._scheduler.status_of(step) is None and self._cancel_reason is None:  # never leave the run hanging
            self._emit(ev.NodeFailed(self.run_id, self._clock.now(), step, f"internal error: {task.exception()!r}"))
            self._scheduler.finish_call(step, StepStatus.FAILED)

    async def _learn_capacity(self) -> None:
        """Ask each endpoint's provider how many requests its server runs at once, unless the run knows."""
        if not self._has_llm_steps():
            return
        for services in self._lanes.all_services():
            load, provider = services.load, services.provider
            if load.capacity is not None or not isinstance(provider, ServerCapacity):
                continue
            try:
                capacity = await asyncio.wait_for(provider.server_capacity(), CAPACITY_LIMIT)
            except TimeoutError:
                continue
            if capacity is not None and load.capacity is None:
                load.capacity = capacity
                log.info("the server runs %d request(s) at once", capacity)

    def _has_llm_steps(self) -> bool:
        nodes = self.graph.nodes
        return any(calls_model(nodes[nid]) for nid in self.plan.ids)

    # --- the end ------------------------------------------------------------------------------------
    async def _recount(self) -> None:
        """Have the server count the tokens that are an offline guess (see the module docstring)."""
        guessed = [
            a for a in self._calls.values() if a.tokens_estimated and isinstance(a.services.provider, ServerCounting)
        ]
        if not guessed:
            return

        async def recount_all() -> None:
            for attempts in guessed:
                provider = attempts.services.provider
                assert isinstance(provider, ServerCounting)
                event = await attempts.recount(provider.server_counts)
                if event is not None:
                    self._emit(event)

        task = asyncio.get_running_loop().create_task(recount_all(), name=f"{self.run_id}:recount")
        self._tasks.add(task)
        try:
            await asyncio.wait_for(asyncio.shield(task), RECOUNT_LIMIT)
        except TimeoutError:
            log.warning("the server did not recount the run's tokens within %.0f s", RECOUNT_LIMIT)
            task.cancel()
        except Exception:  # a recount problem leaves the figures marked as estimated
            log.exception("recounting tokens failed")
        finally:
            self._tasks.discard(task)

    async def _unwind(self) -> None:
        """Wait for every step task to end (cancelled ones unwind their requests)."""
        while self._tasks:
            tasks = list(self._tasks)
            done, pending = await asyncio.wait(tasks, timeout=CANCEL_GRACE)
            if pending:
                log.error("%d step task(s) ignored cancellation for %.0f s", len(pending), CANCEL_GRACE)
                self._tasks.difference_update(pending)

    def _finish(self) -> None:
        for _ in self._finish_parts():
            pass

    def _finish_parts(self) -> Iterator[None]:
        """The run's end: its unfinished steps cancelled, then its ``RunFinished``; yields every
        ``CANCEL_PART`` steps (a loop turn apart: 6,700 steps' events at Stop held the loop ~0.1 s)."""
        now = self._clock.now()
        if self._cancel_reason is not None:
            for i, step in enumerate(self._scheduler.unfinished(), 1):
                if i % CANCEL_PART == 0:
                    yield
                self._scheduler.mark_cancelled(step)
                calls = self._calls.get(step) or self._flow.started.get(step)
                if calls is not None:
                    self._emit(calls.cancelled_event(self.run_id, now))
                    continue
                span = self.state.spans.get(step)
                attempts = len(span.attempts) if span is not None else 0
                self._emit(ev.NodeCancelled(self.run_id, now, step, attempts))
        outcome = summarize(
            self.plan,
            self._scheduler.statuses,
            self._steps.outputs,
            cancel_reason=self._cancel_reason,
            budget_stop=self._budget.stop_reason,
        )
        self._emit(ev.RunFinished(self.run_id, self._clock.now(), outcome.status, outcome.message, outcome.outputs))


class _RenderedOffLoop:
    """A step whose templates took longer than the loop may wait: rendered in a worker thread within the
    full CPU budget, then finished (no model call) or handed to its attempts."""

    def __init__(self, owner: Run, step: str, node: Node):
        self.owner, self.step, self.node = owner, step, node
        self.call: PreparedCall | None = None  # once rendered (a model step)

    async def run(self) -> StepOutcome:
        run, step, node = self.owner, self.step, self.node
        try:
            if not calls_model(node):
                output = await asyncio.to_thread(run._steps.local_output, node)
            else:
                call = await asyncio.to_thread(run._steps.prepare_call, node, count=run._count_tokens)
        except TemplateProblem as exc:
            run._emit(ev.NodeFailed(run.run_id, run._clock.now(), step, exc.message))
            return StepOutcome(StepStatus.FAILED)
        if not calls_model(node):
            run._scored(step)
            run._emit(ev.NodeFinished(run.run_id, run._clock.now(), step, output))
            return StepOutcome(StepStatus.SUCCEEDED, output=output)
        self.call = call
        reused = run._reuse.answer(node, call)  # a cache hit or an earlier run's output (pins came first)
        if reused is not None:
            return reused
        attempts = run._calls[step] = run._attempts(step, node, call)
        return await attempts.run()


def _next_turn(function: Callable[[], None]) -> None:
    """The scheduler's way back to a long admission: a timer due at once, so that what the loop has waiting
    (answers read from sockets, timers already due: timeouts, a streaming step's next chunk) goes first."""
    asyncio.get_running_loop().call_later(0, function)


def _model_of(node: Node) -> str | None:
    return str(node.param("model")) if calls_model(node) else None


def _max_tokens(node: Node) -> int | None:
    return int(node.param("max_tokens")) if calls_model(node) else None


def _scoped(graph: Graph, scope: RunScope | None) -> Graph:
    """The part of ``graph`` a partial run plans (its steps share the snapshot's nodes); all of it otherwise."""
    if scope is None:
        return graph
    keep = scope.included
    return Graph(
        graph.name,
        graph.description,
        graph.inputs,
        {nid: node for nid, node in graph.nodes.items() if nid in keep},
        {eid: e for eid, e in graph.edges.items() if e.source in keep and e.target in keep},
        graph.pins,
        graph.save_pins,
    )


def _not_run_layers(graph: Graph, scope: RunScope | None) -> dict[str, int]:
    """The steps outside a partial run, in document order, with their layers in the whole graph."""
    if scope is None or not scope.not_run:
        return {}
    try:
        groups = generations(Dag.of_graph(graph))
    except ValueError:  # a cycle outside the run's part: it cannot be laid out, and it does not run
        return {nid: 0 for nid in graph.nodes if nid in scope.not_run}
    return {nid: layer for layer, group in enumerate(groups) for nid in group if nid in scope.not_run}


def _not_run_edges(graph: Graph, not_run: Mapping[str, int]) -> tuple[tuple[str, str], ...]:
    """The edges that touch a step outside a partial run (the others are the plan's)."""
    edges = graph.edges.values()
    return tuple(dict.fromkeys((e.source, e.target) for e in edges if e.source in not_run or e.target in not_run))


async def run_graph(graph: Graph, context: RunContext, **options: Any) -> Run:
    """Create a Run, execute it and return it (its ``state`` and ``events`` hold the results)."""
    run = Run(graph, context, **options)
    await run.execute()
    return run
