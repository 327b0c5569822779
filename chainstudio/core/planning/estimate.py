"""Estimates before running: the real scheduler simulated on virtual time with the latency model's durations.
Over 400 lines because the result (``Estimate``: its figures, their wording and checks) and the one
function that simulates the run to make it are kept together.

Each LLM step's time to first token, generation speed, output length and the server's capacity come from
the endpoint's latency model (``latency_model``: fitted on the run history; the simulator's own profiles
on the simulated provider). The graph then runs through the real ``Run`` executor — same strategy,
concurrency cap, priority and rate limits — on a virtual-time loop with a stand-in provider
(``stand_in``) that serves every call on one simulated server of the endpoint's capacity, so a server
that serves one request at a time shows no speed-up. Input tokens are counted offline on the prompts as
they render and scaled to the server's count.

A graph input with no default and no value given is estimated with a placeholder of
``PLACEHOLDER_TOKENS`` tokens, and the estimate names it (``placeholders``): a figure is never silently
the estimate of a run that could not start. When the simulated run still does not complete (a template
that fails to render), ``problem`` says why and the steps it never reached have no start or end.

Pinned steps and, given the step cache (``cache``, looked at only), the steps whose requests it holds are
answered as the run would answer them: at once, for nothing, with the stored text (so the steps below them
render the same prompts and hit too). A run that would hit the cache is predicted at its true cost.

Where the model does not know (a model never run on the endpoint, or a capacity never measured) the
estimate is *uncalibrated*: it is run again at both ends of what is plausible and shows that range.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from chainstudio.core.clock import Clock
from chainstudio.core.graph.kinds import MODEL_KINDS
from chainstudio.core.graph.model import Graph
from chainstudio.core.planning.capacity import served_at_once
from chainstudio.core.planning.check_estimate import CheckRange, Rejections, check_range, checked_steps
from chainstudio.core.planning.endpoint_plans import EndpointPlan
from chainstudio.core.planning.flow_estimate import FlowEstimate, FlowPlan
from chainstudio.core.planning.latency_model import LatencyModel, Scenario
from chainstudio.core.planning.stand_in import StandInProvider
from chainstudio.core.run.cache import CacheUse
from chainstudio.core.run.executor import Run, RunContext, Strategy
from chainstudio.core.run.lanes import EndpointLane
from chainstudio.core.run.pricing import Pricing
from chainstudio.core.run.rate_limits import RateLimits
from chainstudio.core.run.state import RunState
from chainstudio.core.run.status import StepStatus
from chainstudio.core.run.virtual_time import run_virtual

T = TypeVar("T")
PLACEHOLDER_TOKENS = 50  # the stand-in length of a graph input that has no value yet


def placeholder_text(tokens: int = PLACEHOLDER_TOKENS) -> str:
    """A stand-in input value of ``tokens`` tokens (one token per word)."""
    return " ".join(["sample"] * tokens)


def missing_inputs(graph: Graph, given: Mapping[str, str] | None = None) -> list[str]:
    """The graph inputs that have neither a default nor a value in ``given`` (in the graph's order)."""
    given = given or {}
    return [gi.name for gi in graph.inputs if gi.default is None and gi.name not in given]


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
    basis: str  # "history (N runs)", "fitted (...)", "simulator profile", "uncalibrated", "no model call"

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
    calibrated: int  # steps estimated from their own history
    state: RunState | None = field(repr=False)  # the simulated schedule (None: estimated in a child process)
    endpoint: str = "simulated"
    uncalibrated_models: list[str] = field(default_factory=list)  # models never run on the endpoint
    capacity: int | None = None  # requests the server serves at once, as planned (None: no limit)
    capacity_text: str = ""  # what is known of the server's capacity, in words
    capacity_measured: bool = True
    wall_ms_range: tuple[float, float] | None = None  # (fast, slow) ends when uncalibrated
    reused: int = 0  # model steps answered without a call: cache hits and pins
    placeholders: list[str] = field(default_factory=list)  # inputs without a value, estimated with a stand-in
    problem: str | None = None  # why the simulated run did not complete (then the figures are partial)
    flow: FlowEstimate | None = None  # a graph with routes: the cost range (the figures: the dearest path)
    item_notes: dict[str, str] = field(default_factory=dict)  # map name -> "× 8 items (declared)"
    checks: CheckRange | None = None  # checked steps: every check passes first time .. every repair (check_estimate)

    @property
    def run_state(self) -> RunState:
        """The simulated run (an estimate made in a child process has none here: ``estimate_process``)."""
        if self.state is None:
            raise ValueError("this estimate was made in another process: its simulated run stayed there")
        return self.state

    @property
    def uncalibrated(self) -> bool:
        """True when a figure rests on a guess: a model or the server's capacity was never measured."""
        return self.wall_ms_range is not None

    def basis_text(self) -> str:
        """Where the figures come from, in one line."""
        if self.endpoint == "simulated":
            source = "simulator profiles"
            if self.calibrated:
                source += f"; output lengths of {self.calibrated} step(s) from recorded runs"
            return source
        parts = []
        if self.uncalibrated_models:
            parts.append(f"uncalibrated: no recorded runs of {', '.join(self.uncalibrated_models)} on {self.endpoint}")
        else:
            parts.append(f"calibrated on recorded runs on {self.endpoint}")
        parts.append(self.capacity_text)
        if self.calibrated:
            parts.append(f"{self.calibrated} step(s) from their own recorded runs")
        return "; ".join(p for p in parts if p)

    def wall_text(self, fmt: Callable[[float], str]) -> str:
        """The predicted wall time, as a range when uncalibrated (``fmt`` formats milliseconds)."""
        if self.wall_ms_range is None:
            return fmt(self.wall_ms)
        low, high = self.wall_ms_range
        return f"{fmt(low)} – {fmt(high)}"

    @property
    def placeholder_note(self) -> str:
        """One sentence on the inputs estimated with a placeholder ('' when none)."""
        if not self.placeholders:
            return ""
        names = ", ".join(self.placeholders)
        which = "has" if len(self.placeholders) == 1 else "have"
        return f"{names} {which} no value: estimated with a {PLACEHOLDER_TOKENS}-token placeholder"

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
        return warnings + (self.checks.budget_warnings(cost_cap, token_cap) if self.checks and not warnings else [])

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
            "calibrated": not self.uncalibrated,
            "wall_ms_range": None if self.wall_ms_range is None else list(self.wall_ms_range),
            "endpoint": self.endpoint,
            "uncalibrated_models": self.uncalibrated_models,
            "capacity": self.capacity,
            "capacity_measured": self.capacity_measured,
            "basis": self.basis_text(),
            "placeholder_inputs": list(self.placeholders),
            "problem": self.problem,
            "reused_steps": self.reused,
            "routes": None if self.flow is None else self.flow.to_json(),
            "map_items": dict(self.item_notes),
            "checks": None if self.checks is None else self.checks.to_json(),
            "nodes": [n.to_json() for n in self.nodes],
        }


def estimate(
    graph: Graph,
    *,
    strategy: Strategy = "eager",
    concurrency: int | None = None,
    inputs: Mapping[str, str] | None = None,
    model: str | None = None,
    latency: LatencyModel | None = None,
    pricing: Pricing | None = None,
    rate_limits: RateLimits | None = None,
    with_range: bool = True,
    checkpoint: Callable[[], None] | None = None,
    cache: CacheUse | None = None,
    warm_prefix: bool = False,
    endpoints: Mapping[str, EndpointPlan] | None = None,
) -> Estimate:
    """Predict a run's wall time, tokens and cost without calling any model. ``latency``: the endpoint's
    model (default: the simulator's, without history). ``with_range``: when uncalibrated, also simulate
    both ends of the range (three simulations instead of one). Inputs with no default and no value in
    ``inputs`` get a placeholder (listed in ``placeholders``). ``checkpoint()`` is called before each simulated
    model call: a GUI running this on a worker thread pauses it there while a live run needs the interpreter
    (or stops it by raising). ``cache``: the step cache the run would use
    (give it a store that only looks, e.g. ``step_cache.PeekingCache``; nothing is written). ``endpoints``: the
    plan of each endpoint profile the steps name (``endpoint_plans``); a step naming another one is planned
    like the run's own provider's. ``warm_prefix``: the run option of that name (``core.run.warm_prefix``)."""
    latency = latency or LatencyModel()
    plans = dict(endpoints or {})
    pricing = pricing or Pricing()
    placeholders = missing_inputs(graph, inputs)
    inputs = {**(inputs or {}), **{name: placeholder_text() for name in placeholders}}

    flow = FlowPlan(graph, latency.flow)  # maps run their expected items; routes take given branches

    def simulate(
        scenario: Scenario, routes: dict[str, tuple[str, ...]] | None = None, reject: bool = False
    ) -> tuple[RunState, dict[str, str]]:
        async def go() -> tuple[RunState, dict[str, str]]:
            clock = Clock(monotonic=asyncio.get_running_loop().time)
            rejections = Rejections(graph) if reject else None  # the checks' high end: every repair used
            provider = StandInProvider(graph, clock, latency, scenario, checkpoint, rejections)
            stand_ins = [provider]

            def lane(name: str) -> EndpointLane:
                plan = plans.get(name) or EndpointPlan(latency)
                stand_ins.append(StandInProvider(graph, clock, plan.latency, scenario, checkpoint, rejections))
                lane_pricing = plan.pricing or pricing
                return EndpointLane(name, stand_ins[-1], lane_pricing, name, plan.rate_limits, None, plan.model)

            context = RunContext(
                provider=provider,
                pricing=pricing,
                clock=clock,
                concurrency=concurrency,
                rate_limits=rate_limits,
                step_seconds=latency.step_seconds(graph, scenario),
                capacity=served_at_once(*latency.server(scenario)),  # queueing there is no timeout, as in a run
                cache=None if cache is None else CacheUse(cache.store, cache.endpoint, write=False),
                forced_items=flow.items,
                forced_routes=routes if routes is not None else flow.every_branch,
                warm_prefix=warm_prefix,
                endpoint_lane=lane,
            )
            run = Run(graph, context, strategy=strategy, inputs=inputs, model=model, record_events=False)
            state = await run.execute()
            return state, {k: v for stand_in in stand_ins for k, v in stand_in.basis.items()}

        return _run_isolated(go)

    bases: list[dict[str, str]] = []

    def on_path(routes: dict[str, tuple[str, ...]]) -> RunState:
        run_state, run_basis = simulate(Scenario.CENTRAL, routes)
        bases.append(run_basis)
        return run_state

    state, route_range = flow.estimate_routes(on_path)  # the dearest path (its run is the last)
    dear = route_range.costliest_routes if route_range is not None else None
    basis = bases[-1]
    unknown = _uncalibrated(state, latency, plans)
    wall_range = None
    if with_range and (unknown or not latency.capacity.measured) and not latency.simulated:
        fast, slow = (simulate(s, dear)[0].totals().wall * 1000 for s in (Scenario.FAST, Scenario.SLOW))
        central = state.totals().wall * 1000
        wall_range = (round(min(fast, central), 3), round(max(slow, central), 3))
    steps = checked_steps(graph)  # their high end: every repair used (a second run when any can repair)
    high = simulate(Scenario.CENTRAL, dear, True)[0] if any(r for r, _ in steps.values()) else state
    checks = check_range(steps, state, high) if steps else None
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
                0.0 if span.reused is not None or span.status is StepStatus.NOT_TAKEN else span.cost_usd,
                flow.basis(
                    span, basis.get(span.name, "no model call" if span.kind not in MODEL_KINDS else "not called")
                ),
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
        endpoint=latency.endpoint,
        uncalibrated_models=unknown,
        capacity=served_at_once(*latency.server()),
        capacity_text=_capacity_text(latency),
        capacity_measured=latency.capacity.measured,
        wall_ms_range=wall_range,
        placeholders=placeholders,
        problem=_problem(state),
        reused=sum(1 for span in state.spans.values() if span.reused is not None),
        flow=route_range,
        item_notes=flow.item_notes,
        checks=checks,
    )


def _uncalibrated(state: RunState, latency: LatencyModel, plans: Mapping[str, EndpointPlan]) -> list[str]:
    """The models no recorded run calibrated, each on the endpoint its steps go to."""
    unknown: set[str] = set()
    for span in state.spans.values():
        if span.kind in MODEL_KINDS and span.model:
            plan = plans.get(span.endpoint)
            if not (plan.latency if plan is not None else latency).calibrated(span.model):
                unknown.add(span.model)
    return sorted(unknown)


def _capacity_text(latency: LatencyModel) -> str:
    if latency.simulated:
        return ""
    text = latency.capacity.describe()
    if not latency.capacity.measured:
        n = latency.assumed_capacity
        assumed = "no limit" if n is None else f"{n} at a time, as local servers usually do"
        text += f"; planned with {assumed}"
    return text


def _problem(state: RunState) -> str | None:
    """Why the simulated run did not succeed: its message, else the first failed step's error."""
    if state.status == "succeeded":
        return None
    failed = next((s for s in state.spans.values() if s.status == "failed"), None)
    if failed is not None and failed.error:
        return f"{failed.name}: {failed.error}"
    return state.message or f"the simulated run ended {state.status}"


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
