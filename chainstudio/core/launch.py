"""One way to build a run: the toolbar's or the CLI's choices plus the user's settings -> a ``RunContext``.

The GUI and the CLI both describe a run as ``RunOptions`` (what the run toolbar or the command-line flags
choose) and hand them, with ``Settings`` (the GUI: the user's saved settings; the CLI: the defaults) and the
process's shared ``RunServices`` (provider factory, time source, the saved API key, prices), to
``build_context``. Options win over settings where both say something (base URL, model, rate limits).

Endpoint profiles (``Settings.endpoints``): ``RunOptions.endpoint`` makes one the run's own provider (the
CLI's ``--endpoint``), and every step that names one gets a lane of its own (``endpoint_lanes``: its
provider, prices, limits and capacity; ``core.run.lanes``). On the simulated provider every endpoint is
simulated too (labelled so), with the profile's limits and prices when it exists, so a graph that names
profiles this machine does not have still runs out of the box.

``history_settings`` is the one schema of "what a run was made with" that goes into the run history, from
the GUI's runs, its comparisons and the CLI alike. It never holds a credential: no API key (only the name
of the variable that holds one is ever an option), and a base URL loses any ``user:password@`` part.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from chainstudio.core.clock import Clock
from chainstudio.core.errors import Refused
from chainstudio.core.providers.base import Provider
from chainstudio.core.providers.factory import make_provider
from chainstudio.core.providers.openai_compat import OpenAISettings
from chainstudio.core.providers.simulated import Faults
from chainstudio.core.run.cache import CacheUse, Endpoint, StepCache, endpoint_of, public_url, url_endpoint
from chainstudio.core.run.executor import RunContext, Strategy
from chainstudio.core.run.lanes import EndpointLane
from chainstudio.core.run.pricing import Pricing
from chainstudio.core.run.rate_limits import RateLimits
from chainstudio.core.storage.endpoint_profiles import EndpointProfile, profiles_by_name
from chainstudio.core.storage.settings import Settings, profile_key, resolve_base_url

DEFAULT_API_KEY_ENV = "OPENAI_API_KEY"


class ProviderFactory(Protocol):
    """``make_provider``'s signature: a provider kind plus its setup -> a Provider (ProviderSetupError)."""

    def __call__(
        self,
        kind: str = ...,
        *,
        clock: Clock | None = ...,
        seed: int = ...,
        faults: Faults | None = ...,
        base_url: str | None = ...,
        api_key: str | None = ...,
        api_key_env: str = ...,
    ) -> Provider: ...


def _no_saved_key() -> str | None:
    return None


@dataclass(frozen=True)
class RunOptions:
    """What one run is asked to be: the run toolbar's choices, or the CLI's flags."""

    provider: str = "simulated"  # "simulated" | "openai"
    strategy: Strategy = "eager"
    concurrency: int | None = None  # at most this many model calls at once (None: no cap)
    inputs: Mapping[str, str] = field(default_factory=dict)  # graph input values
    speed: float = 1.0  # the simulated provider only: this many times faster than real time
    seed: int = 0  # the simulated provider's seed; repeat i of a comparison uses seed + i
    cost_cap: float | None = None  # USD per run
    token_cap: int | None = None  # tokens (in + out) per run
    faults: Faults | None = None  # the simulated provider only: injected failures
    base_url: str | None = None  # None: the settings' base URL, else $OPENAI_BASE_URL, else OpenAI's
    api_key_env: str = DEFAULT_API_KEY_ENV  # the variable holding the key when no saved key is given
    model: str | None = None  # every LLM step uses this model (None: the settings' default model)
    rpm: float | None = None  # requests per minute (None: the settings' limit)
    tpm: float | None = None  # tokens per minute (None: the settings' limit)
    cache: bool = False  # replay answers the step cache holds and keep new ones (the window: on by default)
    warm_prefix: bool = False  # calls sharing a prompt prefix wait for the first one's first token (cached)
    endpoint: str = ""  # an endpoint profile as the run's own provider (its URL, key, model, limits, prices)

    @property
    def simulated(self) -> bool:
        return self.provider == "simulated"


@dataclass(frozen=True)
class RunServices:
    """The side effects every run of one process shares, built once: by the GUI's composition root, or by
    a CLI command from its flags."""

    make_provider: ProviderFactory = make_provider
    monotonic: Callable[[], float] = time.monotonic  # the time source of every run's Clock
    api_key: Callable[[], str | None] = _no_saved_key  # the user's saved key (the GUI); else api_key_env only
    pricing: Pricing | None = None  # None: the settings' price overrides over the price table
    step_cache: StepCache | None = None  # the step cache store, for runs with ``RunOptions.cache``
    profile_key: Callable[[EndpointProfile], str | None] = profile_key  # an endpoint profile's API key


def run_model(settings: Settings, options: RunOptions) -> str | None:
    """The model every LLM step on the run's provider is switched to, if any: the option, else the run's
    endpoint profile's default model, else the settings' default model."""
    profile = profiles_by_name(settings.endpoints).get(options.endpoint) if options.endpoint else None
    return options.model or (profile.default_model if profile else "") or settings.default_model or None


def rate_limits(settings: Settings, options: RunOptions) -> RateLimits | None:
    """The provider's rate limits: each option, else the settings' limit; None when there is none."""
    limits = RateLimits(
        options.rpm if options.rpm is not None else settings.requests_per_minute,
        options.tpm if options.tpm is not None else settings.tokens_per_minute,
    )
    return limits if limits.any else None


def cli_settings(saved: Settings) -> Settings:
    """The settings a command-line run starts from: the defaults, plus the rate limits and the endpoint
    profiles saved in Settings (they describe the user's servers, whichever front end makes the calls)."""
    return Settings(
        requests_per_minute=saved.requests_per_minute,
        tokens_per_minute=saved.tokens_per_minute,
        endpoints=list(saved.endpoints),
    )


class UnknownEndpoint(Refused, ValueError):
    """A run asked for an endpoint profile the settings do not have."""


def with_run_endpoint(settings: Settings, options: RunOptions) -> Settings:
    """``settings`` with the run's own endpoint profile (``options.endpoint``) as its server: base URL,
    default model, rate limits and prices. Raises UnknownEndpoint for a name the settings do not have."""
    if not options.endpoint:
        return settings
    profile = profiles_by_name(settings.endpoints).get(options.endpoint)
    if profile is None:
        known = ", ".join(p.name for p in settings.endpoints) or "none yet"
        raise UnknownEndpoint(f"no endpoint profile {options.endpoint!r} in Settings (profiles: {known})")
    return dataclasses.replace(
        settings,
        base_url=profile.base_url,
        default_model=profile.default_model or settings.default_model,
        requests_per_minute=profile.requests_per_minute,
        tokens_per_minute=profile.tokens_per_minute,
        price_overrides={**settings.price_overrides, **profile.price_overrides},
    )


def endpoint_lanes(
    settings: Settings, options: RunOptions, services: RunServices, clock: Clock, seed: int, pricing: Pricing
) -> Callable[[str], EndpointLane | None]:
    """Profile name -> its lane for one run (None for a name a real run has no profile for)."""
    profiles = profiles_by_name(settings.endpoints)

    def lane(name: str) -> EndpointLane | None:
        profile = profiles.get(name)
        if profile is None and not options.simulated:
            return None
        if options.simulated:
            provider = services.make_provider("simulated", clock=clock, seed=seed, faults=options.faults)
            base_url, label = (profile.base_url if profile else None), f"{name} (simulated)"
        else:
            assert profile is not None
            provider = services.make_provider(
                "openai", clock=clock, base_url=profile.base_url or None, api_key=services.profile_key(profile)
            )
            base_url = getattr(provider, "base_url", None)
            label = f"{name} · {public_url(base_url) or ''}".rstrip(" ·")
        if profile is None:
            return EndpointLane(name, provider, pricing, label)
        limits = RateLimits(profile.requests_per_minute, profile.tokens_per_minute)
        return EndpointLane(
            name,
            provider,
            pricing.with_overrides(profile.price_overrides).for_endpoint(base_url),
            label,
            limits if limits.any else None,
            profile.capacity,
            profile.default_model or None,
        )

    return lane


def build_context(
    settings: Settings, options: RunOptions, services: RunServices | None = None, *, index: int = 0
) -> RunContext:
    """A fresh ``RunContext`` for repeat ``index`` of a run (seed + index). Raises ProviderSetupError or
    PricingError (both ``Refused`` and ``ValueError``) when the settings cannot make one."""
    services = services or RunServices()
    settings = with_run_endpoint(settings, options)
    clock = Clock(options.speed if options.simulated else 1.0, services.monotonic)
    key = None if options.simulated else _run_key(settings, options, services)  # the keyring wakes slowly
    provider = services.make_provider(
        options.provider,
        clock=clock,
        seed=options.seed + index,
        faults=options.faults,
        base_url=resolve_base_url(settings, options.base_url),
        api_key=key,
        api_key_env=options.api_key_env,
    )
    base_pricing = services.pricing if services.pricing is not None else Pricing(settings.price_overrides)
    pricing = base_pricing.for_endpoint(getattr(provider, "base_url", None))  # a local server is free unless priced
    cache = None
    if options.cache and services.step_cache is not None:
        cache = CacheUse(services.step_cache, endpoint_of(provider))
    return RunContext(
        provider=provider,
        pricing=pricing,
        clock=clock,
        seed=options.seed + index,
        concurrency=options.concurrency,
        rate_limits=rate_limits(settings, options),
        cost_cap=options.cost_cap,
        token_cap=options.token_cap,
        cache=cache,
        warm_prefix=options.warm_prefix,
        capacity=_run_profile(settings, options).capacity if options.endpoint else None,
        endpoint_lane=endpoint_lanes(settings, options, services, clock, options.seed + index, base_pricing),
    )


def _run_profile(settings: Settings, options: RunOptions) -> EndpointProfile:
    return profiles_by_name(settings.endpoints)[options.endpoint]


def _run_key(settings: Settings, options: RunOptions, services: RunServices) -> str | None:
    """The run's own API key: its endpoint profile's, else the saved one (else ``api_key_env``'s)."""
    if options.endpoint:
        return services.profile_key(_run_profile(settings, options))
    return services.api_key()


def cache_endpoint(settings: Settings, options: RunOptions, env: Mapping[str, str] | None = None) -> Endpoint:
    """The endpoint a run with these settings and options keys its cache entries under (what ``endpoint_of``
    says of the provider ``build_context`` makes), without making the provider: for estimates."""
    if options.simulated:
        return Endpoint("simulated", "", options.seed, True)
    url = OpenAISettings(base_url=resolve_base_url(settings, options.base_url)).resolved_base_url(env)
    return url_endpoint(options.provider, url)


def context_factory(
    settings: Settings, options: RunOptions, services: RunServices | None = None
) -> Callable[[int], RunContext]:
    """``index -> build_context(settings, options, services, index=index)``: fresh contexts for repeats."""

    def make(index: int) -> RunContext:
        return build_context(settings, options, services, index=index)

    return make


@dataclass(frozen=True)
class HistorySettings:
    """What a run was made with, as the run history keeps it (its ``settings`` column). One schema for
    the GUI's runs, its comparisons and the CLI; never a credential."""

    provider: str
    provider_label: str
    strategy: str
    base_url: str | None
    model: str | None
    seed: int
    speed: float
    concurrency: int | None
    rpm: float | None
    tpm: float | None
    cost_cap: float | None
    token_cap: int | None
    cache: bool = False  # the step cache was on
    warm_prefix: bool = False  # calls sharing a prompt prefix waited for the first one's first token
    endpoint: str = ""  # the endpoint profile the run ran on ("" for the settings' provider)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def history_settings(settings: Settings, options: RunOptions, context: RunContext, strategy: str) -> HistorySettings:
    """The history's record of a run made from ``settings`` and ``options`` with ``context`` (whose seed,
    speed and caps are the ones the run used: a comparison changes them per row)."""
    settings = with_run_endpoint(settings, options)
    return HistorySettings(
        provider=options.provider,
        provider_label=context.provider.label,
        strategy=strategy,
        base_url=public_url(options.base_url or settings.base_url or None),
        model=run_model(settings, options),
        seed=context.seed,
        speed=context.clock.speed,
        concurrency=context.concurrency,
        rpm=options.rpm if options.rpm is not None else settings.requests_per_minute,
        tpm=options.tpm if options.tpm is not None else settings.tokens_per_minute,
        cost_cap=context.cost_cap,
        token_cap=context.token_cap,
        cache=context.cache is not None,
        warm_prefix=context.warm_prefix,
        endpoint=options.endpoint,
    )
