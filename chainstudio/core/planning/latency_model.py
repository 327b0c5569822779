"""A latency and capacity model per endpoint and model, fitted from the runs recorded in the history.
Over 400 lines because the model, its fit and its per-step histories are one unit.

For one endpoint (a base URL; the simulator is one endpoint of its own) it holds:

* per model, the solo speed (``capacity.Speed``): time to first token as an intercept plus a prefill
  time per input token, and output tokens per second; how the server counts input tokens against the
  offline count of the same prompt (a scale and a per-request offset: chat templates, other tokenizers);
  and how much of ``max_tokens`` the model's answers use;
* the server's parallel capacity (``capacity.infer``): how many requests it admits and how many it
  really serves at once, inferred from overlapping attempts (with k in flight, does each slow ~k x?);
* per step of the graph being planned, what its recorded runs took: solo seconds, input and output tokens
  (and its maps' item counts and routes' choices, ``flow_estimate.FlowHistory``).

Everything is fitted from recorded attempts of the most recent runs on that endpoint, of any graph. A
model never seen on the endpoint is *uncalibrated*: planning shows a range between a fast hosted server
and a slow local one (``Scenario``) instead of passing a profile off as a figure. On the simulated
provider the simulator's own profiles are its exact speeds (it has no capacity limit).
"""

from __future__ import annotations

import ipaddress
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from chainstudio.core.graph.model import Graph
from chainstudio.core.planning.capacity import (
    UNLIMITED,
    Hypothesis,
    Inference,
    Observed,
    Speed,
    capacity_text,
    infer,
    served_at_once,
    solo_times,
)
from chainstudio.core.planning.flow_estimate import FlowHistory, flow_history
from chainstudio.core.planning.pace import StepHistory, current_pace, run_pace, step_histories
from chainstudio.core.providers.simulated import DEFAULT_PROFILE, PROFILES
from chainstudio.core.run.state import RunState
from chainstudio.core.tokens import count_tokens

SIMULATED = "simulated"
MAX_ATTEMPTS = 1500  # the fit reads at most this many recorded model calls (the most recent ones)


class Scenario(StrEnum):
    """Which figures to plan with where something is not known: the likely ones, or either end of the range."""

    CENTRAL = "central"
    FAST = "fast"
    SLOW = "slow"


@dataclass(frozen=True)
class ModelFit:
    """One model on one endpoint."""

    speed: Speed
    output_fraction: float  # output tokens / max_tokens
    input_scale: float = 1.0  # server input tokens = scale x offline count + offset
    input_offset: float = 0.0
    attempts: int = 0
    runs: int = 0
    source: str = "fit"  # "fit" | "simulator" | "prior"

    @property
    def calibrated(self) -> bool:
        return self.source != "prior"

    def input_tokens(self, counted: float) -> float:
        return max(0.0, self.input_scale * counted + self.input_offset)

    @property
    def basis(self) -> str:
        if self.source == "simulator":
            return "simulator profile"
        if self.source == "prior":
            return "uncalibrated"
        return f"fitted ({self.attempts} call{'s' * (self.attempts != 1)} in {self.runs} run{'s' * (self.runs != 1)})"


def _profile_fit(model: str, source: str) -> ModelFit:
    p = PROFILES.get(model, DEFAULT_PROFILE)
    return ModelFit(
        Speed(p.ttft, p.prefill_per_1k_tokens / 1000, p.tokens_per_second), sum(p.length) / 2, source=source
    )


# A model never seen on an endpoint: a fast hosted model … a small model on a busy CPU filling max_tokens
# (Gemma 3 270M on llama.cpp, one thread: 45-55 output tokens/s on an idle core, 2.0-2.3 at load 8-13);
# in between a hosted profile for a remote endpoint, a small model on an idle CPU for a local one.
PRIOR_FAST = ModelFit(Speed(0.25, 0.00002, 150.0), 0.5, source="prior")
PRIOR_SLOW = ModelFit(Speed(2.0, 0.15, 1.5), 1.0, source="prior")
PRIOR_LOCAL = ModelFit(Speed(0.5, 0.008, 20.0), 1.0, source="prior")


@dataclass(frozen=True)
class ServerCapacity:
    """How many requests the server admits (``slots``) and really serves at once (``capacity``)."""

    slots: int | None = None
    capacity: float | None = None  # None: no limit seen (or none measured)
    measured: bool = False  # True once a recorded run had requests overlapping (or the simulator)
    max_in_flight: int = 0
    error: float | None = None  # how far the fitted model's replay of the record was (relative)
    given: bool = False  # told by the user rather than measured

    @property
    def effective(self) -> int | None:
        """Requests served at once at full speed: the smaller of slots and capacity (None: unlimited)."""
        return served_at_once(self.slots, self.capacity)

    def describe(self) -> str:
        if not self.measured:
            return "capacity not measured yet (no recorded run had requests overlapping)"
        n = self.effective
        if n is None:
            seen = f" (up to {self.max_in_flight} in flight seen)" if self.max_in_flight > 1 else ""
            return f"no capacity limit seen{seen}"
        source = "as given" if self.given else f"measured on up to {self.max_in_flight} in flight"
        if self.capacity is None or (self.slots is not None and self.slots == self.capacity):
            return f"serves {n} request{'s' * (n != 1)} at a time, the rest queue ({source})"
        admitted = "all" if self.slots is None else str(self.slots)
        if capacity_text(self.capacity) == "1":
            return f"serves 1 request at a time ({admitted} at once share one's speed; {source})"
        return f"runs {admitted} at once, together {capacity_text(self.capacity)}x as fast as one ({source})"


@dataclass
class LatencyModel:
    endpoint: str = SIMULATED
    fits: dict[str, ModelFit] = field(default_factory=dict)
    capacity: ServerCapacity = field(default_factory=ServerCapacity)
    steps: dict[str, StepHistory] = field(default_factory=dict)  # node id -> its history
    flow: FlowHistory = field(default_factory=FlowHistory)  # its maps' item counts, its routes' choices
    runs: int = 0  # recorded runs the fit read
    assumed_capacity: int | None = None  # planned with while the capacity is not measured
    pace: float = 1.0  # the server's current pace against the fitted speeds (pace.py; 1.2: 20 % slower)

    @property
    def simulated(self) -> bool:
        return self.endpoint == SIMULATED

    def fit(self, model: str, scenario: Scenario = Scenario.CENTRAL) -> ModelFit:
        seen = self.fits.get(model)
        if seen is not None:
            return seen
        if self.simulated:
            return _profile_fit(model, "simulator")
        if scenario is Scenario.FAST:
            return PRIOR_FAST
        if scenario is Scenario.SLOW:
            return PRIOR_SLOW
        return PRIOR_LOCAL if is_local(self.endpoint) else _profile_fit(model, "prior")

    def calibrated(self, model: str) -> bool:
        return self.fit(model).calibrated

    def server(self, scenario: Scenario = Scenario.CENTRAL) -> tuple[int | None, float | None]:
        """(slots, capacity) to plan with."""
        if self.capacity.measured:
            return self.capacity.slots, self.capacity.capacity
        if scenario is Scenario.FAST:
            return None, None
        if scenario is Scenario.SLOW:
            return 1, 1
        n = self.assumed_capacity
        return n, n

    def output_tokens(self, node_id: str, model: str, max_tokens: int, scenario: Scenario = Scenario.CENTRAL) -> int:
        """A step's expected output: its model's usual share of ``max_tokens`` on this endpoint, moved towards
        the step's own recorded outputs (the model's share counts as one run, so one long or short answer
        does not decide it and many do)."""
        out = max_tokens * self.fit(model, scenario).output_fraction
        seen = self.steps.get(node_id)
        if seen is not None:
            out = (seen.runs * seen.output_tokens + out) / (seen.runs + 1)
        return max(1, min(max_tokens, round(out)))

    def step_seconds(self, graph: Graph, scenario: Scenario = Scenario.CENTRAL) -> dict[str, float]:
        """Each LLM step's expected solo duration (for critical-path priority): what it took before when it
        has a history, else its model's speed on a prompt of the template's size and its expected output."""
        out: dict[str, float] = {}
        for node in graph.nodes.values():
            if node.kind != "llm":
                continue
            seen = self.steps.get(node.id)
            if seen is not None:
                out[node.id] = seen.seconds
                continue
            model, max_tokens = str(node.param("model")), int(node.param("max_tokens"))
            fit = self.fit(model, scenario)
            counted = count_tokens(str(node.param("system") or "")) + count_tokens(str(node.param("prompt") or ""))
            tokens = self.output_tokens(node.id, model, max_tokens, scenario)
            out[node.id] = fit.speed.seconds(fit.input_tokens(counted), tokens)
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "runs": self.runs,
            "pace": self.pace,
            "capacity": {
                "slots": self.capacity.slots,
                "capacity": self.capacity.capacity,
                "effective": self.capacity.effective,
                "measured": self.capacity.measured,
                "max_in_flight": self.capacity.max_in_flight,
                "assumed": None if self.capacity.measured else self.assumed_capacity,
                "text": self.capacity.describe(),
            },
            "models": {
                m: {
                    "ttft_s": f.speed.ttft,
                    "prefill_ms_per_token": f.speed.prefill_per_token * 1000,
                    "tokens_per_second": f.speed.tokens_per_second,
                    "output_fraction": f.output_fraction,
                    "input_scale": f.input_scale,
                    "input_offset": f.input_offset,
                    "basis": f.basis,
                }
                for m, f in self.fits.items()
            },
        }


def is_local(endpoint: str) -> bool:
    """Whether the endpoint is on this machine or a private network (a local model server)."""
    host = urlsplit(endpoint).hostname or ""
    if host == "localhost" or host.endswith(".localhost") or host.endswith(".local"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


# --- fitting --------------------------------------------------------------------------------------------
def observed_attempts(state: RunState) -> list[Observed]:
    """Every finished attempt of a recorded run on its endpoint (not on a step's endpoint profile); those of
    steps that succeeded at the first try are usable for the speed (their tokens are theirs alone)."""
    started = state.started
    requested = {n.id: n.model for n in started.nodes} if started else {}
    out = []
    for node_id, span in state.spans.items():
        if span.kind != "llm" or span.endpoint:  # a step on a profile's server: not this endpoint
            continue
        usable = span.status == "succeeded" and len(span.attempts) == 1 and span.api_calls <= 1
        for attempt in span.attempts:
            if attempt.end is None or attempt.end < attempt.start:
                continue
            ok = usable and attempt.first_token is not None
            out.append(
                Observed(
                    attempt.start,
                    attempt.first_token,
                    attempt.end,
                    span.input_tokens if ok else 0,
                    span.output_tokens if ok else 0,
                    requested.get(node_id) or span.model or "",
                    ok,
                    node_id,
                )
            )
    return out


def _input_scale(samples: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """(scale, offset) of server input tokens against offline counts, least squares; a plain ratio when the
    prompts are too alike to tell an offset."""
    pairs = [(c, s) for c, s in samples if c > 0 and s > 0]
    if not pairs:
        return 1.0, 0.0
    xs, ys = [c for c, _ in pairs], [s for _, s in pairs]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    if len(pairs) >= 3 and var > (0.2 * mx) ** 2 * len(pairs):
        scale = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var
        offset = my - scale * mx
        if 0.3 <= scale <= 3.0 and offset > -0.5 * my:
            return scale, offset
    return min(3.0, max(0.3, sum(ys) / sum(xs))), 0.0


def fit_model(
    states: Sequence[RunState],
    endpoint: str = SIMULATED,
    *,
    graph: Graph | None = None,
    graph_states: Sequence[RunState] | None = None,
) -> LatencyModel:
    """The model of ``endpoint`` from its recorded runs (newest first); per-step histories for ``graph``
    from ``graph_states`` (default: the runs of ``states`` with the graph's name)."""
    fitted: list[tuple[RunState, list[Observed]]] = []
    total = 0
    for state in states:
        attempts = observed_attempts(state)
        if attempts and total + len(attempts) <= MAX_ATTEMPTS:
            fitted.append((state, attempts))
            total += len(attempts)
    model = LatencyModel(endpoint, runs=len(fitted))
    model.assumed_capacity = 1 if is_local(endpoint) else None
    hypothesis = UNLIMITED
    counts, fractions = _token_samples(fitted)
    inference = infer([run for _, run in fitted], limits=endpoint != SIMULATED)
    paces: dict[str, float] = {}
    if inference is not None:
        model.fits = _model_fits(inference, counts, fractions, fitted)
        hypothesis = inference.hypothesis
        if endpoint != SIMULATED:  # the simulator keeps its pace
            measured = [
                run_pace(run, solo, inference.speeds) for (_, run), solo in zip(fitted, inference.solo, strict=True)
            ]
            paces = {_key(state): p for (state, _), p in zip(fitted, measured, strict=True) if p is not None}
            model.pace = current_pace(measured)
        model.capacity = ServerCapacity(
            hypothesis.slots,
            hypothesis.capacity,
            # overlap tells the capacity only where some answers were timed (failed calls alone cannot)
            (inference.max_in_flight > 1 and bool(inference.speeds)) or endpoint == SIMULATED,
            inference.max_in_flight,
            inference.error,
        )
    elif endpoint == SIMULATED:  # the simulator serves any number at once
        model.capacity = ServerCapacity(measured=True)
    if graph is not None:
        if graph_states is None:
            graph_states = [s for s in states if s.started is not None and s.started.graph_name == graph.name]
        model.steps = _step_histories(graph, graph_states, hypothesis, paces)
        model.flow = flow_history(graph, graph_states)
    return model


def _token_samples(
    fitted: Sequence[tuple[RunState, Sequence[Observed]]],
) -> tuple[dict[str, list[tuple[float, float]]], dict[str, list[float]]]:
    """Per model: (offline count, server count) of each usable prompt, and each answer's share of max_tokens."""
    counts: dict[str, list[tuple[float, float]]] = {}
    fractions: dict[str, list[float]] = {}
    for state, attempts in fitted:
        info = {n.id: n for n in state.started.nodes} if state.started else {}
        for a in attempts:
            if not a.usable:
                continue
            span = state.spans[a.key]
            counts.setdefault(a.model, []).append(
                (count_tokens(span.system) + count_tokens(span.prompt), a.input_tokens)
            )
            max_tokens = getattr(info.get(a.key), "max_tokens", None)
            if max_tokens:
                fractions.setdefault(a.model, []).append(min(1.0, a.output_tokens / max_tokens))
    return counts, fractions


def _model_fits(
    inference: Inference,
    counts: dict[str, list[tuple[float, float]]],
    fractions: dict[str, list[float]],
    fitted: Sequence[tuple[RunState, Sequence[Observed]]],
) -> dict[str, ModelFit]:
    fits = {}
    for name, speed in inference.speeds.items():
        scale, offset = _input_scale(counts.get(name, []))
        fraction = (
            statistics.fmean(fractions[name]) if fractions.get(name) else _profile_fit(name, "prior").output_fraction
        )
        runs = sum(1 for _, attempts in fitted if any(a.usable and a.model == name for a in attempts))
        fits[name] = ModelFit(speed, fraction, scale, offset, speed.samples, runs)
    return fits


def _key(state: RunState) -> str:
    return state.run_id or f"#{id(state)}"


def _step_histories(
    graph: Graph, graph_states: Sequence[RunState], hypothesis: Hypothesis, paces: dict[str, float]
) -> dict[str, StepHistory]:
    """Per step of ``graph``: its usable attempts' solo seconds (queueing and sharing taken out under the
    server's fitted capacity, and its run's pace) and tokens, averaged over its runs."""
    samples = []
    for state in graph_states:
        attempts = observed_attempts(state)
        if attempts:
            samples.append((attempts, solo_times(attempts, hypothesis), paces.get(_key(state), 1.0)))
    return step_histories(graph, samples)


def with_capacity(model: LatencyModel, capacity: int | None) -> LatencyModel:
    """``model`` with a capacity the user knows (``capacity`` requests at once, the rest queue)."""
    known = ServerCapacity(capacity, capacity, True, model.capacity.max_in_flight, given=True)
    return replace(model, capacity=known)
