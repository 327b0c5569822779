"""Endpoints per step: each LLM step may name an endpoint profile; a run gives each endpoint it uses its own
provider, prices, rate limiter, adaptive pace and server load (capacity).

LLM, map and route steps may name one (``kinds.ENDPOINT_KINDS``; a map's items and a classifying route's
call go to it). The run's own provider (``RunContext.provider``) serves the steps that name none: the lane ``""``. For
every other name the run asks ``RunContext.endpoint_lane`` (built by ``core.launch`` from the settings'
profiles) for an ``EndpointLane``; a name it does not know stops the run before it starts (``RunError``,
one line). ``Lanes`` then hands each step the ``AttemptServices`` of its endpoint, so that one server's
limits never hold back another's steps, and closes the providers it was given at the end of the run.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from chainstudio.core.errors import Refused
from chainstudio.core.graph.kinds import ENDPOINT_KINDS
from chainstudio.core.graph.model import Node
from chainstudio.core.providers.base import Provider
from chainstudio.core.run.attempt import AttemptServices
from chainstudio.core.run.cache import Endpoint, endpoint_of
from chainstudio.core.run.context import RunContext, RunError
from chainstudio.core.run.pace import AdaptivePace
from chainstudio.core.run.pricing import Pricing
from chainstudio.core.run.progress import ServerLoad
from chainstudio.core.run.rate_limits import RateLimiter, RateLimits


@dataclass
class EndpointLane:
    """One endpoint a run's steps may choose: its provider and what is known of its server."""

    name: str  # the profile's name
    provider: Provider
    pricing: Pricing
    label: str  # how the endpoint is shown (its name and server, or that it is simulated)
    rate_limits: RateLimits | None = None
    capacity: int | None = None  # requests the server runs at once, when known
    model: str | None = None  # every step on this endpoint uses this model (None: the step's own)


LaneFactory = Callable[[str], "EndpointLane | None"]


def endpoint_of_node(node: Node) -> str:
    """The endpoint profile an LLM, map or route step names ("" for the run's provider, and for other kinds)."""
    return str(node.param("endpoint") or "") if node.kind in ENDPOINT_KINDS else ""


def endpoint_names(nodes: Iterable[Node]) -> list[str]:
    """The endpoint profiles these steps name, in order of first use."""
    return list(dict.fromkeys(name for name in map(endpoint_of_node, nodes) if name))


def make_lanes(context: RunContext, nodes: Iterable[Node]) -> dict[str, EndpointLane]:
    """The lanes of the endpoints ``nodes`` name. Raises RunError for a name the context cannot serve."""
    lanes: dict[str, EndpointLane] = {}
    for name in endpoint_names(nodes):
        try:
            lane = context.endpoint_lane(name) if context.endpoint_lane is not None else None
        except Refused as exc:  # e.g. a profile for OpenAI's own API without a key
            raise RunError(f"endpoint {name!r}: {exc}") from None
        if lane is None:
            raise RunError(f"endpoint {name!r} is not a profile in Settings")
        lanes[name] = lane
    return lanes


class Lanes:
    """Each endpoint's ``AttemptServices`` for one run (the default lane's are the run's own)."""

    def __init__(self, lanes: dict[str, EndpointLane], default: AttemptServices, context: RunContext):
        self.lanes = lanes
        self.default = default
        self._services: dict[str, AttemptServices] = {}
        for name, lane in lanes.items():
            limits = lane.rate_limits
            self._services[name] = dataclasses.replace(
                default,
                provider=lane.provider,
                pricing=lane.pricing,
                limiter=RateLimiter(limits, context.clock) if limits is not None and limits.any else None,
                pace=AdaptivePace(context.clock, context.pace_window) if context.adaptive_pace else None,
                load=ServerLoad(lane.capacity),
            )

    @property
    def models(self) -> dict[str, str]:
        """Endpoint -> the model its steps use, for the endpoints that set one."""
        return {name: lane.model for name, lane in self.lanes.items() if lane.model}

    def services(self, node: Node) -> AttemptServices:
        return self._services.get(endpoint_of_node(node), self.default)

    def provider(self, node: Node) -> Provider:
        return self.services(node).provider

    def all_services(self) -> list[AttemptServices]:
        """The default lane's services, then each endpoint's."""
        return [self.default, *self._services.values()]

    def cache_endpoints(self, nodes: Iterable[Node]) -> dict[str, Endpoint]:
        """Step id -> the endpoint its cache entries are keyed by, for the steps on a lane of their own."""
        lanes = self.lanes
        return {n.id: endpoint_of(lanes[name].provider) for n in nodes if (name := endpoint_of_node(n)) in lanes}

    def labels(self) -> tuple[tuple[str, str], ...]:
        return tuple((name, lane.label) for name, lane in self.lanes.items())

    async def aclose(self) -> None:
        """Close the providers made for this run's endpoints (the run's own provider is its owner's)."""
        for lane in self.lanes.values():
            with contextlib.suppress(Exception):  # a provider that fails to close must not fail the run
                await lane.provider.aclose()
