"""Estimates before running: the real scheduler simulated on virtual time with estimated step durations.

Each LLM step's output tokens, time to first token and generation speed come from the graph's run
history when there is one (observed per step, calibrated), else from the model's profile. The graph then
runs through the real ``Run`` executor — same strategy, concurrency cap, priority and rate limits — on a
virtual-time loop with a provider that answers after exactly the estimated time with text of exactly the
estimated length, so downstream prompts (and truncation filters) see realistic input sizes. Input tokens
are counted offline with the tokenizer on the prompts as they render.

Pinned steps and, given the step cache (``cache``, looked at only), the steps whose requests it holds are
answered as the run would answer them: at once, for nothing, with the stored text (so the steps below them
render the same prompts and hit too). A run that would hit the cache is predicted at its true cost.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, TypeVar

from chainstudio.core.clock import Clock
from chainstudio.core.graph.model import Graph
from chainstudio.core.providers.base import ChatRequest, ChatResult, DeltaCallback
from chainstudio.core.providers.simulated import DEFAULT_PROFILE, PROFILES, ModelProfile
from chainstudio.core.run.cache import CacheUse
from chainstudio.core.run.executor import Run, RunContext, Strategy
from chainstudio.core.run.pricing import Pricing
from chainstudio.core.run.rate_limits import RateLimits
from chainstudio.core.run.state import RunState
from chainstudio.core.run.virtual_time import run_virtual
from chainstudio.core.storage.history import RunSummary
from chainstudio.core.tokens import count_tokens

T = TypeVar("T")


@dataclass(frozen=True)
class Observation:
    """What past runs showed for one step (means over the runs where it succeeded)."""

    runs: int
    ttft: float
    tokens_per_second: float
    output_tokens: float
    prefill_per_1k_tokens: float = 0.0


@dataclass(frozen=True)
class NodeEstimate:
    name: str
    kind: str
    model: str | None
    start_ms: float | None
    end_ms: float | None
    duration_ms: float
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    basis: str  # "history (N runs)", "model profile", "no model call"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Estimate:
    graph: str
    strategy: str
    concurrency: int | None
    wall_ms: float
    input_tokens: int
    output_tokens: int
    api_calls: int
    cost_usd: float | None
    critical_path: list[str]
    critical_path_ms: float
    nodes: list[NodeEstimate]
    calibrated: int  # steps estimated from history
    state: RunState = field(repr=False)  # the simulated schedule, e.g. for a Gantt preview
    reused: int = 0  # model steps answered without a call: cache hits and pins

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def node(self, name: str) -> NodeEstimate:
        return next(n for n in self.nodes if n.name == name)

    def budget_warnings(self, cost_cap: float | None = None, token_cap: int | None = None) -> list[str]:
        warnings = []
        if cost_cap is not None:
            if self.cost_usd is None:
                warnings.append(
                    f"the cost cap ${cost_cap:.4f} cannot be checked in advance: a model's price is unknown"
                )
            elif self.cost_usd > cost_cap:
                warnings.append(
                    f"estimated cost ${self.cost_usd:.4f} is over the cap ${cost_cap:.4f}; the run "
                    "would stop before the call that crosses it"
                )
        if token_cap is not None and self.total_tokens > token_cap:
            warnings.append(
                f"estimated {self.total_tokens:,} tokens is over the cap {token_cap:,}; the run would "
                "stop before the call that crosses it"
            )
        return warnings

    def to_json(self) -> dict[str, Any]:
        return {
            "graph": self.graph,
            "strategy": self.strategy,
            "concurrency": self.concurrency,
            "wall_ms": self.wall_ms,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "api_calls": self.api_calls,
            "cost_usd": self.cost_usd,
            "critical_path": self.critical_path,
            "critical_path_ms": self.critical_path_ms,
            "calibrated_steps": self.calibrated,
            "reused_steps": self.reused,
            "nodes": [n.to_json() for n in self.nodes],
        }


def _prompt_tokens(request: ChatRequest) -> int:
    """The request's input tokens, counted offline on its messages."""
    return sum(count_tokens(m.get("content", "")) for m in request.messages)


class _EstimateProvider:
    """Answers each call after its estimated time with text of its estimated length (virtual time only)."""

    name = "estimate"
    simulated = True
    label = "Estimate (no model is called)"

    def __init__(
        self, graph: Graph, clock: Clock, observations: Mapping[str, Observation], profiles: Mapping[str, ModelProfile]
    ):
        self.clock = clock
        self.by_name = {n.name: n.id for n in graph.nodes.values()}
        self.observations = observations
        self.profiles = profiles
        self.basis: dict[str, str] = {}

    def _shape(self, request: ChatRequest) -> tuple[float, float, int, str]:
        """(ttft, tokens per second, output tokens, basis) for a request.

        The model profile is the prior; observed runs are blended in with the profile counting as one
        run, so one noisy calibration run does not throw the estimate off and many runs dominate it."""
        node_id = self.by_name.get(request.seed_key, "")
        input_tokens = _prompt_tokens(request)
        profile = self.profiles.get(request.model, DEFAULT_PROFILE)
        ttft = profile.ttft + profile.prefill_per_1k_tokens * input_tokens / 1000
        rate = profile.tokens_per_second
        out = request.max_tokens * sum(profile.length) / 2
        seen = self.observations.get(node_id)
        if seen is None:
            return ttft, rate, max(1, round(out)), "model profile"
        n = seen.runs
        ttft = (n * seen.ttft + ttft) / (n + 1)
        rate = (n * seen.tokens_per_second + rate) / (n + 1)
        out = min(request.max_tokens, (n * seen.output_tokens + out) / (n + 1))
        return ttft, rate, max(1, round(out)), f"history ({n} run{'s' * (n != 1)})"

    def estimate_seconds(self, request: ChatRequest) -> float:
        ttft, rate, out, _ = self._shape(request)
        return ttft + out / rate

    async def stream_chat(self, request: ChatRequest, on_delta: DeltaCallback) -> ChatResult:
        ttft, rate, out, basis = self._shape(request)
        self.basis[request.seed_key] = basis
        start = self.clock.now()
        await self.clock.sleep_until(start + ttft)
        first = self.clock.now()
        text = " word" * out
        on_delta(text[:5], first)
        await self.clock.sleep_until(start + ttft + out / rate)
        return ChatResult(
            text=text,
            input_tokens=_prompt_tokens(request),
            output_tokens=out,
            model=request.model,
            first_token_at=first,
        )

    async def aclose(self) -> None:
        return None


def observations_from_states(states: list[RunState]) -> dict[str, Observation]:
    """Per node id: mean time to first token, generation speed and output tokens of succeeded steps."""
    samples: dict[str, list[tuple[float, float, int]]] = {}
    for state in states:
        for node_id, span in state.spans.items():
            if span.status != "succeeded" or not span.attempts or span.output_tokens <= 0:
                continue
            last = span.attempts[-1]
            if last.first_token is None or last.end is None:
                continue
            ttft = last.first_token - last.start
            generation = last.end - last.first_token
            if generation <= 0:
                continue
            samples.setdefault(node_id, []).append((ttft, span.output_tokens / generation, span.output_tokens))
    return {
        nid: Observation(
            runs=len(s),
            ttft=statistics.fmean(x[0] for x in s),
            tokens_per_second=statistics.fmean(x[1] for x in s),
            output_tokens=statistics.fmean(x[2] for x in s),
        )
        for nid, s in samples.items()
    }


def estimate(
    graph: Graph,
    *,
    strategy: Strategy = "eager",
    concurrency: int | None = None,
    inputs: Mapping[str, str] | None = None,
    model: str | None = None,
    observations: Mapping[str, Observation] | None = None,
    pricing: Pricing | None = None,
    rate_limits: RateLimits | None = None,
    profiles: Mapping[str, ModelProfile] | None = None,
    cache: CacheUse | None = None,
) -> Estimate:
    """Predict a run's wall time, tokens and cost without calling any model. ``cache``: the step cache the
    run would use (give it a store that only looks, e.g. ``step_cache.PeekingCache``; nothing is written)."""
    observations = observations or {}
    profiles = profiles or PROFILES
    pricing = pricing or Pricing()

    async def simulate() -> tuple[RunState, dict[str, str]]:
        clock = Clock(monotonic=asyncio.get_running_loop().time)
        provider = _EstimateProvider(graph, clock, observations, profiles)
        context = RunContext(
            provider=provider,
            pricing=pricing,
            clock=clock,
            concurrency=concurrency,
            rate_limits=rate_limits,
            cache=None if cache is None else CacheUse(cache.store, cache.endpoint, write=False),
        )
        run = Run(graph, context, strategy=strategy, inputs=inputs, model=model, record_events=False)
        return await run.execute(), provider.basis

    state, basis = _run_isolated(simulate)
    totals = state.totals()
    nodes = []
    for span in state.spans.values():  # layer by layer, document order within a layer
        duration = span.duration or 0.0
        if span.reused is not None:  # answered for nothing
            basis[span.name] = "pinned" if span.reused.source == "pin" else "cache hit"
        nodes.append(
            NodeEstimate(
                span.name,
                span.kind,
                span.model,
                _ms(state.rel(span.started_at)),
                _ms(state.rel(span.ended_at)),
                round(duration * 1000, 3),
                span.input_tokens,
                span.output_tokens,
                0.0 if span.reused is not None else span.cost_usd,
                basis.get(span.name, "no model call" if span.kind != "llm" else "model profile"),
            )
        )
    return Estimate(
        graph.name,
        strategy,
        concurrency,
        round(totals.wall * 1000, 3),
        totals.input_tokens,
        totals.output_tokens,
        totals.api_calls,
        totals.cost_usd,
        [state.spans[n].name for n in totals.critical_path],
        round(totals.critical_path_time * 1000, 3),
        nodes,
        sum(1 for b in basis.values() if b.startswith("history")),
        state,
        sum(1 for span in state.spans.values() if span.reused is not None),
    )


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


def _run_isolated(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the coroutine ``factory()`` makes on a fresh virtual-time loop, in a helper thread if this thread
    already runs a loop (the GUI's qasync loop)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return run_virtual(factory())
    values: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            values.append(run_virtual(factory()))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=target, name="chainstudio-estimate")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return values[0]


class PastRuns(Protocol):
    """Where calibration reads past runs from: a ``RunHistory``, or anything that answers the same."""

    def runs(self, *, graph_name: str | None = None, limit: int = 200) -> Sequence[RunSummary]: ...

    def state(self, run_id: str) -> RunState: ...


def calibration(history: PastRuns, graph: Graph, provider: str, runs: int = 5) -> dict[str, Observation]:
    """Observations from the graph's last ``runs`` recorded runs on the same kind of provider.

    Runs are matched by graph name and steps by their stable ids, so editing a prompt keeps the history."""
    summaries = [
        s
        for s in history.runs(graph_name=graph.name, limit=50)
        if s.provider == provider and s.status in ("succeeded", "partial")
    ][:runs]
    states = [history.state(s.run_id) for s in summaries]
    return {nid: obs for nid, obs in observations_from_states(states).items() if nid in graph.nodes}
