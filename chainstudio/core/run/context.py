"""What a run is given: its side effects and limits (``RunContext``) and its scheduling options."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from chainstudio.core.clock import Clock
from chainstudio.core.errors import Refused
from chainstudio.core.providers.base import Provider
from chainstudio.core.run.budget import BudgetGuard
from chainstudio.core.run.cache import CacheUse
from chainstudio.core.run.pace import AdaptivePace
from chainstudio.core.run.pricing import Pricing
from chainstudio.core.run.progress import ServerLoad
from chainstudio.core.run.rate_limits import WINDOW, RateLimiter, RateLimits
from chainstudio.core.run.retry import RetryPolicy

if TYPE_CHECKING:
    from chainstudio.core.run.lanes import EndpointLane

Strategy = Literal["eager", "layered", "sequential"]
Priority = Literal["critical_path", "fifo"]
STRATEGIES: tuple[str, ...] = ("eager", "layered", "sequential")


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
    # one budget shared by several runs (a dataset batch): then ``cost_cap`` and ``token_cap`` are its caps
    budget: BudgetGuard | None = None
    # How many requests the server runs at once, when known (e.g. 1 for llama-cpp-python's server): time
    # a request waits at the server behind the run's older ones does not count against its timeout.
    capacity: int | None = None
    adaptive_pace: bool = True  # on a 429 without Retry-After, lower the pace (see core.run.pace)
    pace_window: float = WINDOW  # seconds the adaptive pace measures rates over
    server_load: ServerLoad | None = None  # made from ``capacity`` on first use; shared by the runs
    pacer: AdaptivePace | None = None
    # node id -> expected seconds of its model call, learned from recorded runs (critical-path priority);
    # a step not in it gets the provider's estimate
    step_seconds: Mapping[str, float] = field(default_factory=dict)
    cache: CacheUse | None = None  # the step cache (None: off): hits are replayed, new answers kept
    # an estimate's stand-ins (core.run.flow): map id -> how many items it runs; route id -> branches it takes
    forced_items: Mapping[str, int] = field(default_factory=dict)
    forced_routes: Mapping[str, tuple[str, ...]] | None = None
    warm_prefix: bool = False  # calls sharing a prompt prefix wait for the first one's first token (warm_prefix.py)
    # endpoint profile name -> its lane (provider, prices, limits; core.run.lanes), for the steps that
    # name one; None or a None lane: the name is unknown and the run refuses to start
    endpoint_lane: Callable[[str], EndpointLane | None] | None = None

    def limiter(self) -> RateLimiter | None:
        if self.rate_limiter is None and self.rate_limits is not None and self.rate_limits.any:
            self.rate_limiter = RateLimiter(self.rate_limits, self.clock)
        return self.rate_limiter

    def load(self) -> ServerLoad:
        if self.server_load is None:
            self.server_load = ServerLoad(self.capacity)
        return self.server_load

    def pace(self) -> AdaptivePace | None:
        if self.pacer is None and self.adaptive_pace:
            self.pacer = AdaptivePace(self.clock, self.pace_window)
        return self.pacer

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(self.backoff_base, self.backoff_cap, self.max_retry_after)


class RunError(Refused):
    """The graph cannot run at all (a cycle, an unknown kind, an unknown input override)."""
