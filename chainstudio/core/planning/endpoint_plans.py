"""What the estimate and the advisor plan each endpoint profile's steps with: its own latency model
(fitted on the runs recorded on its server), prices, rate limits and model (issue 15, endpoints per step).

A plan mirrors the lane a run would give the endpoint (``core.launch.endpoint_lanes``): on the simulated
provider, or for a profile this machine does not have, the simulator's model; otherwise the server's
calibration from the history (runs made on it, e.g. with ``--endpoint``), its known capacity, its prices
(a local server free unless priced) and its limits.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from chainstudio.core.graph.model import Graph
from chainstudio.core.planning.calibration import PastRuns, calibrate, provider_endpoint
from chainstudio.core.planning.latency_model import SIMULATED, LatencyModel, fit_model, with_capacity
from chainstudio.core.run.lanes import endpoint_names
from chainstudio.core.run.pricing import Pricing
from chainstudio.core.run.rate_limits import RateLimits
from chainstudio.core.storage.endpoint_profiles import EndpointProfile, profiles_by_name

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EndpointPlan:
    """One endpoint as planning sees it."""

    latency: LatencyModel
    pricing: Pricing | None = None  # None: the estimate's own prices
    rate_limits: RateLimits | None = None
    model: str | None = None  # every step on the endpoint uses this model (None: the step's own)


def endpoint_plans(
    graph: Graph,
    profiles: list[EndpointProfile],
    *,
    simulated: bool,
    history: PastRuns | None = None,
    pricing: Pricing | None = None,
) -> dict[str, EndpointPlan]:
    """Profile name -> its plan, for every profile ``graph``'s steps name."""
    known = profiles_by_name(profiles)
    plans: dict[str, EndpointPlan] = {}
    base = pricing or Pricing()
    for name in endpoint_names(graph.nodes.values()):
        profile = known.get(name)
        endpoint = SIMULATED if simulated or profile is None else provider_endpoint("openai", profile.base_url or None)
        latency = _latency(graph, endpoint, history)
        if profile is None:
            plans[name] = EndpointPlan(latency)
            continue
        if profile.capacity is not None and not simulated:
            latency = with_capacity(latency, profile.capacity)
        limits = RateLimits(profile.requests_per_minute, profile.tokens_per_minute)
        plans[name] = EndpointPlan(
            latency,
            base.with_overrides(profile.price_overrides).for_endpoint(profile.base_url or None),
            limits if limits.any else None,
            profile.default_model or None,
        )
    return plans


def _latency(graph: Graph, endpoint: str, history: PastRuns | None) -> LatencyModel:
    if history is None or endpoint == SIMULATED:
        return fit_model([], endpoint, graph=graph)
    try:
        return calibrate(history, graph, endpoint)
    except Exception as exc:  # noqa: BLE001 - a broken history must not stop planning
        log.warning("cannot calibrate %s from the history: %s", endpoint, exc)
        return fit_model([], endpoint, graph=graph)


def plan_models(plans: Mapping[str, EndpointPlan]) -> dict[str, str]:
    """Endpoint -> the model its steps use, for the plans that set one."""
    return {name: plan.model for name, plan in plans.items() if plan.model}
