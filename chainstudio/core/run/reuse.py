"""A run's answers that need no model call: pins, step-cache hits and earlier runs' outputs.

``StepReuse`` is asked by the run, for each model step about to be admitted, whether something already
answers it, in this order:

1. a **pin** on the step (the graph's ``pins``): always used, in every run;
2. a **cache hit** (when the run has a ``CacheUse``): the key of the step's rendered request is found;
   except for the step a partial run points at (run this step / from here / to here): the user asked for
   that step to run, so it is called even when the cache holds its answer (and the new answer is kept);
3. for a step a partial run only *reuses* (``RunScope.reuse``): the output an **earlier run** recorded;
   when there is none either, the step fails with a sentence saying how to get one.

Each answer is announced as ``NodeReused`` with what the call that made it recorded. After a step's call
succeeds, ``remember`` keeps its answer in the cache (writable ``CacheUse`` only), after the steps it
released have started (``loop.call_soon``), so the write is not on the way from a parent to its child.
"""

from __future__ import annotations

import asyncio
import logging

from chainstudio.core.clock import Clock
from chainstudio.core.graph.model import Graph, Node
from chainstudio.core.providers.base import ChatRequest
from chainstudio.core.run import events as ev
from chainstudio.core.run.attempt import Emit, PreparedCall, StepOutcome
from chainstudio.core.run.cache import CacheUse, Endpoint, StoredStep, cache_key
from chainstudio.core.run.scope import RunScope
from chainstudio.core.run.state import NodeSpan
from chainstudio.core.run.status import StepStatus

log = logging.getLogger(__name__)


class StepReuse:
    """One run's pins, cache and earlier outputs (create one per run)."""

    def __init__(
        self, run_id: str, graph: Graph, cache: CacheUse | None, scope: RunScope | None, clock: Clock, emit: Emit
    ):
        self.run_id = run_id
        self.graph = graph
        self.cache = cache
        self.scope = scope
        self.clock = clock
        self.emit = emit
        self._cache_failed = False  # the step cache failed once: not asked again in this run
        self._keys: dict[str, str] = {}  # step id -> the cache key of its request (computed once)
        self.endpoints: dict[str, Endpoint] = {}  # step id -> its endpoint, for steps on one of their own

    def pinned(self, node: Node) -> StepOutcome | None:
        """The step's pin as its answer (before its templates are rendered), or None."""
        pin = self.graph.pin_of(node.id)
        if pin is None:
            return None
        self.emit(ev.NodeReused(self.run_id, self.clock.now(), node.id, pin.output, "pin", pin.origin))
        return StepOutcome(StepStatus.SUCCEEDED, output=pin.output)

    def answer(self, node: Node, call: PreparedCall) -> StepOutcome | None:
        """A cache hit or an earlier run's output for the step (announced), a failure for a reused step
        with neither, or None: the model is called."""
        asked_for = self.scope is not None and node.id == self.scope.step
        hit = None if asked_for else self._lookup(node.id, call.request)
        if hit is not None:
            return self._replay(node.id, hit, "cache", call)
        scope = self.scope
        if scope is None or node.id not in scope.reuse:
            return None
        recorded = scope.recorded.get(node.id)
        if recorded is not None:
            return self._replay(node.id, recorded, "run", call)
        reason = (
            f"no earlier output of {node.name!r} to reuse (this run is {scope.label}): "
            "run it first, or pin its output" + ("" if self.cache is not None else ", or turn the step cache on")
        )
        self.emit(ev.NodeFailed(self.run_id, self.clock.now(), node.id, reason))
        return StepOutcome(StepStatus.FAILED, reason=reason)

    def remember(self, step: str, request: ChatRequest, span: NodeSpan) -> None:
        """Keep a succeeded call's answer in the cache, soon (after the steps it released have started)."""
        if self.cache is None or not self.cache.write:
            return
        entry = self._entry(span)
        key = self._keys.get(step) or cache_key(self.endpoints.get(step, self.cache.endpoint), request)
        asyncio.get_running_loop().call_soon(self._put, key, entry)

    # --- internals -----------------------------------------------------------------------------------
    def _lookup(self, step: str, request: ChatRequest) -> StoredStep | None:
        if self.cache is None:
            return None
        key = cache_key(self.endpoints.get(step, self.cache.endpoint), request)
        self._keys[step] = key
        if self._cache_failed:
            return None
        try:
            hit = self.cache.store.get(key)
        except Exception as exc:  # noqa: BLE001 - a broken cache must not break the run: it is only a cache
            self._cache_broke("lookup", exc)
            return None
        if hit is not None and hit.simulated != self.cache.endpoint.simulated:
            return None  # never replay a simulated answer as a real one (their keys differ anyway)
        return hit

    def _replay(self, step: str, stored: StoredStep, source: ev.ReuseSource, call: PreparedCall) -> StepOutcome:
        self.emit(
            ev.NodeReused(
                self.run_id,
                self.clock.now(),
                step,
                stored.output,
                source,
                stored.run_id,
                stored.input_tokens,
                stored.output_tokens,
                stored.cost_usd,
                stored.api_calls,
                stored.ttft,
                stored.duration,
                stored.model,
                stored.simulated,
                call.prompt,
                call.system,
            )
        )
        return StepOutcome(StepStatus.SUCCEEDED, output=stored.output)

    def _entry(self, span: NodeSpan) -> StoredStep:
        return _called(span, self.run_id, bool(self.cache is not None and self.cache.endpoint.simulated))

    def _put(self, key: str, entry: StoredStep) -> None:
        assert self.cache is not None  # only scheduled with a cache
        if self._cache_failed:
            return
        try:
            self.cache.store.put(key, entry)
        except Exception as exc:  # noqa: BLE001 - a full disk or a locked cache costs the entry, not the run
            self._cache_broke("write", exc)

    def _cache_broke(self, what: str, exc: Exception) -> None:
        """Said once, in one line; the run goes on without the cache (it failed once per step before, each
        time with a traceback on stderr)."""
        self._cache_failed = True
        log.warning("the step cache is not used for the rest of this run: its %s failed: %s", what, exc)


def stored_from_span(span: NodeSpan, run_id: str, simulated: bool) -> StoredStep | None:
    """A recorded run's step as something to reuse: its own answer, or the one it reused (same origin)."""
    if span.status != StepStatus.SUCCEEDED or span.kind != "llm":
        return None
    reused = span.reused
    if reused is not None:
        if reused.source == "pin":
            return None  # a pin is the user's scaffolding, not a recorded answer
        return StoredStep(
            reused.output,
            reused.input_tokens,
            reused.output_tokens,
            reused.cost_usd,
            reused.api_calls,
            reused.ttft,
            reused.duration,
            reused.model,
            reused.origin,
            reused.simulated,
            reused.prompt,
            reused.system,
        )
    return _called(span, run_id, simulated)


def _called(span: NodeSpan, run_id: str, simulated: bool) -> StoredStep:
    """The answer of a step whose call ``run_id`` made, with what the call recorded."""
    last = span.attempts[-1] if span.attempts else None
    ttft = None if last is None or last.first_token is None else last.first_token - last.start
    return StoredStep(
        span.output,
        span.input_tokens,
        span.output_tokens,
        span.cost_usd,
        span.api_calls,
        ttft,
        span.duration or 0.0,
        span.model,
        run_id,
        simulated,
        span.prompt,
        span.system,
    )
