"""The executor: runs a snapshot of a graph on a provider and speaks only in run events.

    run = Run(graph, RunContext(provider=SimulatedProvider()), strategy="eager", listeners=[print])
    state = await run.execute()     # a RunState; run.cancel() from any callback stops it

Each ``Run`` is a fresh object for one run (no state lives on a long-lived executor). Side effects come
in through ``RunContext``: the provider, pricing, the clock (time and sleep), the seed for backoff
jitter, and limits (a concurrency cap, rate limits). It never blocks the loop and never uses threads,
so it runs the same under plain asyncio and under the GUI's qasync loop.

Scheduling
  * ``eager`` (default): a step is queued the moment its last dependency finishes.
  * ``layered``: a barrier per topological generation; a layer starts when the previous one is done.
  * ``sequential``: one step at a time, in topological order.
  Steps that call no model (input, join, output) complete at once, without a slot. LLM steps need one of
  ``concurrency`` slots; when slots are scarce the waiting step with the longest estimated remaining path
  starts first (``priority="critical_path"``) or the one queued first (``"fifo"``). A step keeps its slot
  through its retries and backoff waits.

Failures
  Retryable errors (429, 408, 409, 5xx, connection errors, timeouts, dropped streams) are retried up to the
  step's ``retries`` with exponential backoff and full jitter, or after exactly the delay the server asked
  for (``retry-after-ms`` / ``Retry-After``). Other errors fail the step at once. A failed step's
  descendants are skipped with the reason; independent branches go on.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import random
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from chainstudio.core.clock import Clock
from chainstudio.core.errors import Refused
from chainstudio.core.graph.model import Graph, Node
from chainstudio.core.graph.templating import TemplateProblem, references, render
from chainstudio.core.providers.base import ChatRequest, ChatResult, Provider, ProviderError
from chainstudio.core.run import events as ev
from chainstudio.core.run.budget import BudgetGuard
from chainstudio.core.run.pricing import Pricing
from chainstudio.core.run.rate_limits import RateLimiter, RateLimits
from chainstudio.core.run.state import RunState
from chainstudio.core.run.topology import Plan, snapshot
from chainstudio.core.tokens import count_tokens

log = logging.getLogger(__name__)

Strategy = Literal["eager", "layered", "sequential"]
Priority = Literal["critical_path", "fifo"]
STRATEGIES: tuple[str, ...] = ("eager", "layered", "sequential")
CANCEL_GRACE = 5.0  # real seconds to wait for cancelled tasks to unwind before giving up on them


@dataclass
class RunContext:
    """Everything with a side effect that a run uses; nothing global."""

    provider: Provider
    pricing: Pricing = field(default_factory=Pricing)
    clock: Clock = field(default_factory=Clock)
    seed: int = 0
    concurrency: int | None = None  # global cap on model calls in flight (None: unlimited)
    rate_limits: RateLimits | None = None  # for this provider; or pass a shared ``rate_limiter``
    rate_limiter: RateLimiter | None = None
    priority: Priority = "critical_path"
    backoff_base: float = 0.5  # seconds; attempt n waits up to base * 2**(n-1), full jitter
    backoff_cap: float = 30.0
    max_retry_after: float = 120.0  # a server asking for longer than this fails the step
    cost_cap: float | None = None  # USD per run; a call whose worst case would cross it is not made
    token_cap: int | None = None  # tokens (in + out) per run, kept the same way

    def limiter(self) -> RateLimiter | None:
        if self.rate_limiter is None and self.rate_limits is not None and self.rate_limits.any:
            self.rate_limiter = RateLimiter(self.rate_limits, self.clock)
        return self.rate_limiter


class RunError(Refused):
    """The graph cannot run at all (a cycle, an unknown kind, an unknown input override)."""


@dataclass
class _Prepared:
    request: ChatRequest
    prompt: str
    system: str
    retries: int
    timeout: float
    estimated_tokens: int = 0


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
    ):
        if strategy not in STRATEGIES:
            raise RunError(f"unknown strategy {strategy!r} (choose {', '.join(STRATEGIES)})")
        if context.concurrency is not None and context.concurrency < 1:
            raise RunError("concurrency must be at least 1")
        self.graph = snapshot(graph)
        if model:
            for node in self.graph.nodes.values():
                if node.kind == "llm":
                    node.params["model"] = model
        self.context = context
        self.strategy: Strategy = strategy
        self.run_id = run_id or f"run-{uuid.uuid4().hex[:12]}"
        self.inputs = self._resolve_inputs(inputs or {})
        self.state = RunState()
        self.events: list[ev.RunEvent] = []
        self._listeners: list[ev.Listener] = [self.state.apply]
        if record_events:
            self._listeners.append(self.events.append)
        self._listeners.extend(listeners)
        self._clock = context.clock
        self._limiter = context.limiter()
        self._tasks: set[asyncio.Task[None]] = set()
        self._executed = False
        self._cancel_reason: str | None = None
        self._finished: asyncio.Future[None] | None = None
        try:
            self.plan = Plan.build(self.graph, self._estimate)
        except ValueError as exc:  # CycleError is a ValueError
            raise RunError(str(exc)) from None

    # --- public -----------------------------------------------------------------------------
    def add_listener(self, listener: ev.Listener) -> None:
        self._listeners.append(listener)

    def cancel(self, reason: str = "cancelled") -> None:
        """Stop the run: in-flight calls are cancelled, unfinished steps are marked cancelled."""
        if self._cancel_reason is None:
            self._cancel_reason = reason
        for task in list(self._tasks):
            task.cancel()
        if self._finished is not None and not self._finished.done():
            self._finished.set_result(None)

    @property
    def cancelled(self) -> bool:
        return self._cancel_reason is not None

    async def execute(self) -> RunState:
        if self._executed:
            raise RuntimeError("a Run executes once; create a new Run")
        self._executed = True
        self._finished = asyncio.get_running_loop().create_future()
        self._setup()
        self._emit(
            ev.RunStarted(
                self.run_id,
                self._clock.now(),
                self.graph.name,
                self.strategy,
                self.context.provider.name,
                bool(self.context.provider.simulated),
                self.context.concurrency,
                tuple(
                    ev.NodeInfo(
                        nid,
                        self.graph.nodes[nid].name,
                        self.graph.nodes[nid].kind,
                        self.plan.layer_of[nid],
                        self._model_of(self.graph.nodes[nid]),
                    )
                    for nid in self.plan.ids
                ),
                tuple((s, t) for s in self.plan.ids for t in self.plan.succs[s]),
                provider_label=self.context.provider.label,
            )
        )
        try:
            if self._cancel_reason is None:
                self._release_initial()
                if self._done_count < len(self.plan.ids):
                    await self._finished
        except asyncio.CancelledError:
            self.cancel("cancelled")
            await self._unwind()
            self._finish()
            raise
        await self._unwind()
        self._finish()
        return self.state

    # --- setup --------------------------------------------------------------------------------
    def _resolve_inputs(self, overrides: Mapping[str, str]) -> dict[str, str]:
        known = {gi.name for gi in self.graph.inputs}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise RunError(
                f"{', '.join(unknown)}: not an input of {self.graph.name!r} "
                f"(inputs: {', '.join(sorted(known)) or 'none'})"
            )
        values = {gi.name: gi.default for gi in self.graph.inputs if gi.default is not None}
        values.update({k: str(v) for k, v in overrides.items()})
        return values

    @staticmethod
    def _model_of(node: Node) -> str | None:
        return str(node.param("model")) if node.kind == "llm" else None

    def _estimate(self, node: Node) -> float:
        estimate = getattr(self.context.provider, "estimate_seconds", None)
        request = ChatRequest(
            model=str(node.param("model")), messages=(), max_tokens=int(node.param("max_tokens")), seed_key=node.name
        )
        if estimate is not None:
            return float(estimate(request))
        return 0.5 + request.max_tokens / 60.0  # a typical hosted model: ~60 tokens/s

    def _setup(self) -> None:
        plan = self.plan
        self._outputs: dict[str, str] = {}
        self._status: dict[str, str] = {}
        self._blocked: dict[str, str] = {}
        self._left = {nid: len(plan.preds[nid]) for nid in plan.ids}
        self._layer_left = [len(group) for group in plan.layers]
        self._layer = 0
        self._seq_pos = 0
        self._done_count = 0
        self._work: list[str] = []  # released steps to process (a stack: processing order is by plan)
        self._waiting: list[tuple[Any, ...]] = []  # heap of steps ready for a slot
        self._newly_queued: list[str] = []  # admitted to the slot queue during the current pump
        self._given_slot: set[str] = set()
        self._prepared: dict[str, _Prepared] = {}
        self._running = 0
        self._counter = itertools.count()
        self._pumping = False
        self._cap = self.context.concurrency if self.strategy != "sequential" else 1
        self._budget = BudgetGuard(self.context.cost_cap, self.context.token_cap)
        self._budget_stop: str | None = None

    def _emit(self, event: ev.RunEvent) -> None:
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:  # a broken listener must not break the run
                log.exception("run listener %r failed on %s", listener, type(event).__name__)

    # --- scheduling ---------------------------------------------------------------------------
    def _release_initial(self) -> None:
        if self.strategy == "eager":
            self._release([nid for nid in self.plan.ids if not self.plan.preds[nid]])
        elif self.strategy == "layered":
            self._release(self.plan.layers[0] if self.plan.layers else [])
        else:
            self._release(self.plan.ids[:1])

    def _release(self, node_ids: list[str]) -> None:
        self._work.extend(reversed(node_ids))
        self._pump()

    def _pump(self) -> None:
        if self._pumping or self._cancel_reason is not None:
            return
        self._pumping = True
        try:
            while self._work or (self._waiting and self._has_slot()):
                while self._work:
                    self._admit(self._work.pop())
                while self._waiting and self._has_slot() and not self._work:
                    nid = heapq.heappop(self._waiting)[-1]
                    self._start_llm(nid)
            newly_queued, self._newly_queued = self._newly_queued, []
            for nid in newly_queued:  # those that did not get a slot at once now wait for one
                if nid not in self._given_slot:
                    self._emit(ev.NodeWaiting(self.run_id, self._clock.now(), nid, "slot"))
        finally:
            self._pumping = False
        if self._done_count == len(self.plan.ids) and self._finished is not None and not self._finished.done():
            self._finished.set_result(None)

    def _has_slot(self) -> bool:
        return self._cap is None or self._running < self._cap

    def _admit(self, nid: str) -> None:
        """A step whose dependencies are done (and whose layer / turn has come)."""
        now = self._clock.now()
        if nid in self._blocked:
            self._emit(ev.NodeSkipped(self.run_id, now, nid, self._blocked[nid]))
            self._complete(nid, "skipped", self._blocked[nid])
            return
        self._emit(ev.NodeQueued(self.run_id, now, nid))
        node = self.graph.nodes[nid]
        try:
            if node.kind != "llm":
                output = self._local_output(node)
                self._outputs[nid] = output
                self._emit(ev.NodeFinished(self.run_id, self._clock.now(), nid, output))
                self._complete(nid, "succeeded")
                return
            self._prepared[nid] = self._prepare(node)
        except TemplateProblem as exc:
            self._emit(ev.NodeFailed(self.run_id, self._clock.now(), nid, exc.message))
            self._complete(nid, "failed")
            return
        if self.context.priority == "critical_path":
            key: tuple[Any, ...] = (-self.plan.remaining[nid], self.plan.index[nid], nid)
        else:
            key = (next(self._counter), nid)
        heapq.heappush(self._waiting, key)
        self._newly_queued.append(nid)

    def _complete(self, nid: str, status: str, reason: str | None = None) -> None:
        """Book a finished step and release what it unblocks."""
        self._status[nid] = status
        self._done_count += 1
        plan = self.plan
        if status != "succeeded":
            why = reason if status == "skipped" and reason else f"upstream step {self.graph.nodes[nid].name!r} {status}"
            for succ in plan.succs[nid]:
                self._blocked.setdefault(succ, why)
        released: list[str] = []
        for succ in plan.succs[nid]:
            self._left[succ] -= 1
            if self._left[succ] == 0 and self.strategy == "eager":
                released.append(succ)
        if self.strategy == "layered":
            layer = plan.layer_of[nid]
            self._layer_left[layer] -= 1
            while self._layer < len(plan.layers) and self._layer_left[self._layer] == 0:
                self._layer += 1
                if self._layer < len(plan.layers):
                    released.extend(plan.layers[self._layer])
        elif self.strategy == "sequential":
            self._seq_pos += 1
            released.extend(plan.ids[self._seq_pos : self._seq_pos + 1])
        if released:
            self._release(released)
        else:
            self._pump()

    # --- steps without a model call -------------------------------------------------------------
    def _render(self, node: Node, field_name: str) -> str:
        source = str(node.param(field_name) or "")
        if not source:
            return ""
        try:
            names = references(source).steps
            context = self.plan.template_context(node.id, names, self._outputs, self.inputs)
            return render(source, context)
        except TemplateProblem as exc:
            raise TemplateProblem(
                f"template error in step {node.name!r} ({field_name}): {exc.message}",
                missing=exc.missing,
                line=exc.line,
            ) from None

    def _local_output(self, node: Node) -> str:
        if node.kind == "input":
            name = self.plan.input_of(node.id)
            if name not in self.inputs:
                raise TemplateProblem(
                    f"step {node.name!r}: graph input {name!r} has no value (no default and none given)", missing=name
                )
            return self.inputs[name]
        if node.kind == "output" and not str(node.param("template") or "").strip():
            return "\n\n".join(self._outputs[p] for p in self.plan.preds[node.id] if p in self._outputs)
        return self._render(node, "template")

    # --- model calls ------------------------------------------------------------------------------
    def _prepare(self, node: Node) -> _Prepared:
        system = self._render(node, "system")
        prompt = self._render(node, "prompt")
        messages = ([{"role": "system", "content": system}] if system.strip() else []) + [
            {"role": "user", "content": prompt}
        ]
        request = ChatRequest(
            model=str(node.param("model")),
            messages=tuple(messages),
            temperature=float(node.param("temperature")),
            max_tokens=int(node.param("max_tokens")),
            timeout=float(node.param("timeout")),
            seed_key=node.name,
        )
        prepared = _Prepared(request, prompt, system, int(node.param("retries")), float(node.param("timeout")))
        if self._limiter is not None or self._budget.active:
            prepared.estimated_tokens = count_tokens(system) + count_tokens(prompt) + request.max_tokens
        return prepared

    def _over_budget(self, nid: str, attempt: int, prepared: _Prepared) -> bool:
        """Reserve this attempt's worst case; when it may not be made, stop the run's calls here."""
        if not self._budget.active and self._budget_stop is None:
            return False
        request = prepared.request
        reason = self._budget_stop
        if reason is None:
            worst_out = request.max_tokens
            worst_in = prepared.estimated_tokens - worst_out
            worst_cost = self.context.pricing.cost_usd(request.model, worst_in, worst_out)
            reason = self._budget.reserve(
                f"{nid}:{attempt}", self.graph.nodes[nid].name, request.model, prepared.estimated_tokens, worst_cost
            )
            if reason is None:
                return False
            self._budget_stop = reason
        now = self._clock.now()
        if attempt == 1:
            self._emit(ev.NodeSkipped(self.run_id, now, nid, reason))
            status = "skipped"
        else:
            self._emit(ev.NodeFailed(self.run_id, now, nid, reason, attempt - 1))
            status = "failed"
        self._running -= 1
        self._complete(nid, status, reason)
        return True

    def _start_llm(self, nid: str) -> None:
        self._running += 1
        self._given_slot.add(nid)
        task = asyncio.get_running_loop().create_task(self._call(nid), name=f"{self.run_id}:{nid}")
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._task_done(t, nid))

    def _task_done(self, task: asyncio.Task[None], nid: str) -> None:
        self._tasks.discard(task)
        if task.cancelled() or task.exception() is None:
            return
        log.error("step task %s crashed", task.get_name(), exc_info=task.exception())
        if nid not in self._status and self._cancel_reason is None:  # never leave the run hanging
            self._emit(ev.NodeFailed(self.run_id, self._clock.now(), nid, f"internal error: {task.exception()!r}"))
            self._running -= 1
            self._complete(nid, "failed")

    async def _call(self, nid: str) -> None:
        prepared = self._prepared.pop(nid)
        request = prepared.request
        provider = self.context.provider
        rng: random.Random | None = None  # backoff jitter, seeded per step; made on the first retry
        attempt, tokens_in, tokens_out = 0, 0, 0
        while True:
            attempt += 1
            if self._over_budget(nid, attempt, prepared):
                return
            if self._limiter is not None:
                await self._limiter.acquire(
                    prepared.estimated_tokens,
                    lambda: self._emit(ev.NodeWaiting(self.run_id, self._clock.now(), nid, "rate_limit")),
                )
            self._emit(ev.NodeStarted(self.run_id, self._clock.now(), nid, attempt, prepared.prompt, prepared.system))
            first = [True]

            def on_delta(text: str, t: float, attempt: int = attempt, first: list[bool] = first) -> None:
                if first[0]:
                    first[0] = False
                    self._emit(ev.NodeFirstToken(self.run_id, t, nid, attempt))
                self._emit(ev.NodeOutputDelta(self.run_id, t, nid, attempt, text))

            try:
                async with self._clock.timeout(prepared.timeout):
                    result: ChatResult = await provider.stream_chat(request, on_delta)
            except TimeoutError:
                error = ProviderError(f"no complete answer within {prepared.timeout:g} s", kind="timeout")
            except ProviderError as exc:
                error = exc
            except Exception as exc:  # noqa: BLE001 - a provider bug fails the step, not the run
                error = ProviderError(f"{type(exc).__name__}: {exc}", kind="other", retryable=False)
            else:
                self._budget.settle(
                    f"{nid}:{attempt}",
                    result.input_tokens + result.output_tokens,
                    self._cost(result.model or request.model, request.model, result.input_tokens, result.output_tokens),
                )
                tokens_in += result.input_tokens
                tokens_out += result.output_tokens
                if self._limiter is not None:
                    self._limiter.adjust_tokens(result.input_tokens + result.output_tokens - prepared.estimated_tokens)
                self._outputs[nid] = result.text
                self._emit(
                    ev.NodeFinished(
                        self.run_id,
                        self._clock.now(),
                        nid,
                        result.text,
                        tokens_in,
                        tokens_out,
                        self._cost(result.model or request.model, request.model, tokens_in, tokens_out),
                        attempt,
                        result.request_id,
                        result.model,
                    )
                )
                self._running -= 1
                self._complete(nid, "succeeded")
                return
            self._budget.settle(
                f"{nid}:{attempt}",
                error.input_tokens + error.output_tokens,
                self._cost(request.model, request.model, error.input_tokens, error.output_tokens),
            )
            tokens_in += error.input_tokens
            tokens_out += error.output_tokens
            if rng is None:
                rng = random.Random(f"{self.context.seed}\x00{self.graph.nodes[nid].name}")
            delay = self._retry_delay(error, attempt, prepared.retries, rng)
            if isinstance(delay, str):
                message = str(error) + (f" ({delay})" if delay else "")
                self._emit(
                    ev.NodeFailed(
                        self.run_id,
                        self._clock.now(),
                        nid,
                        message,
                        attempt,
                        error.status,
                        tokens_in,
                        tokens_out,
                        self._cost(request.model, request.model, tokens_in, tokens_out),
                    )
                )
                self._running -= 1
                self._complete(nid, "failed")
                return
            self._emit(ev.NodeRetrying(self.run_id, self._clock.now(), nid, attempt, delay, str(error), error.status))
            await self._clock.sleep(delay)

    def _retry_delay(self, error: ProviderError, attempt: int, retries: int, rng: random.Random) -> float | str:
        """Seconds before the next attempt, or why there is none (a str, possibly empty)."""
        if not error.retryable:
            return ""
        if attempt > retries:
            return f"gave up after {attempt} attempt{'s' if attempt != 1 else ''}" if retries else ""
        if error.retry_after is not None:
            if error.retry_after > self.context.max_retry_after:
                return (
                    f"the server asked to retry after {error.retry_after:g} s, over the "
                    f"{self.context.max_retry_after:g} s limit"
                )
            return max(0.0, float(error.retry_after))
        ceiling = min(self.context.backoff_cap, self.context.backoff_base * 2 ** (attempt - 1))
        return rng.uniform(0.0, ceiling)

    def _cost(self, model: str, fallback: str, tokens_in: int, tokens_out: int) -> float | None:
        if tokens_in == 0 and tokens_out == 0:
            return 0.0
        cost = self.context.pricing.cost_usd(model, tokens_in, tokens_out)
        if cost is None and fallback != model:
            cost = self.context.pricing.cost_usd(fallback, tokens_in, tokens_out)
        return cost

    # --- the end ------------------------------------------------------------------------------------
    async def _unwind(self) -> None:
        """Wait for every step task to end (cancelled ones unwind their requests)."""
        while self._tasks:
            tasks = list(self._tasks)
            done, pending = await asyncio.wait(tasks, timeout=CANCEL_GRACE)
            if pending:
                log.error("%d step task(s) ignored cancellation for %.0f s", len(pending), CANCEL_GRACE)
                self._tasks.difference_update(pending)

    def _finish(self) -> None:
        now = self._clock.now()
        if self._cancel_reason is not None:
            for nid in self.plan.ids:
                if nid not in self._status:
                    span = self.state.spans.get(nid)
                    attempts = len(span.attempts) if span is not None else 0
                    self._status[nid] = "cancelled"
                    self._emit(ev.NodeCancelled(self.run_id, now, nid, attempts))
        outputs = self._run_outputs()
        self._emit(ev.RunFinished(self.run_id, self._clock.now(), self._run_status(outputs), self._message(), outputs))

    def _output_nodes(self) -> list[str]:
        outs = [nid for nid in self.plan.ids if self.graph.nodes[nid].kind == "output"]
        return outs or self.plan.sinks()

    def _run_outputs(self) -> dict[str, str]:
        return {
            self.graph.nodes[nid].name: self._outputs[nid]
            for nid in self._output_nodes()
            if self._status.get(nid) == "succeeded" and nid in self._outputs
        }

    def _run_status(self, outputs: dict[str, str]) -> ev.RunStatus:
        if self._cancel_reason is not None:
            return "cancelled"
        if all(s == "succeeded" for s in self._status.values()):
            return "succeeded"
        return "partial" if outputs else "failed"

    def _message(self) -> str:
        if self._cancel_reason is not None:
            return self._cancel_reason
        if self._budget_stop is not None:
            return self._budget_stop[:1].upper() + self._budget_stop[1:]
        failed = [self.graph.nodes[n].name for n, s in self._status.items() if s == "failed"]
        skipped = sum(1 for s in self._status.values() if s == "skipped")
        if not failed:
            return ""
        return f"{len(failed)} failed ({', '.join(failed)}), {skipped} skipped"


async def run_graph(graph: Graph, context: RunContext, **options: Any) -> Run:
    """Create a Run, execute it and return it (its ``state`` and ``events`` hold the results)."""
    run = Run(graph, context, **options)
    await run.execute()
    return run
