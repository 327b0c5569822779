"""core.launch: one way from settings + options to a run context, and one schema for the history."""

from dataclasses import fields

import pytest

from chainstudio.core.clock import Clock
from chainstudio.core.launch import (
    HistorySettings,
    RunOptions,
    RunServices,
    build_context,
    context_factory,
    history_settings,
    public_url,
    rate_limits,
    run_model,
)
from chainstudio.core.providers.factory import ProviderSetupError, make_provider
from chainstudio.core.providers.simulated import Faults
from chainstudio.core.run.pricing import Pricing, PricingError
from chainstudio.core.storage.settings import Settings


class Recorder:
    """A provider factory that records what it was asked for and makes the simulated provider."""

    def __init__(self):
        self.calls = []

    def __call__(self, kind="simulated", **setup):
        self.calls.append((kind, setup))
        return make_provider("simulated", clock=setup["clock"], seed=setup["seed"])


def test_the_simulated_provider_runs_at_the_chosen_speed_with_seed_plus_index():
    times = iter([10.0, 10.5])
    services = RunServices(monotonic=lambda: next(times))
    context = build_context(Settings(), RunOptions(speed=20.0, seed=3, faults=Faults(dropped=0.5)), services, index=2)
    assert context.provider.simulated and context.seed == 5 and context.provider.faults.dropped == 0.5
    assert context.clock.speed == 20.0 and context.clock.now() == 200.0  # the services' time source, sped up
    assert context.concurrency is None and context.rate_limits is None
    assert context.cost_cap is None and context.token_cap is None


def test_settings_fill_what_the_options_leave_open_and_options_win():
    settings = Settings(
        base_url="http://settings/v1", default_model="m-settings", requests_per_minute=60, tokens_per_minute=9000
    )
    assert run_model(settings, RunOptions()) == "m-settings"
    assert run_model(settings, RunOptions(model="m-flag")) == "m-flag"
    assert run_model(Settings(), RunOptions()) is None
    limits = rate_limits(settings, RunOptions(rpm=5))
    assert (limits.requests_per_minute, limits.tokens_per_minute) == (5, 9000)
    assert rate_limits(Settings(), RunOptions()) is None
    factory = Recorder()
    keys = []
    services = RunServices(make_provider=factory, api_key=lambda: keys.append(1) or "sk-saved")
    context = build_context(settings, RunOptions(provider="openai", speed=20.0, concurrency=2), services)
    ((kind, setup),) = factory.calls
    assert kind == "openai" and setup["base_url"] == "http://settings/v1" and setup["api_key"] == "sk-saved"
    assert setup["api_key_env"] == "OPENAI_API_KEY" and keys == [1]
    assert context.clock.speed == 1.0  # speed is the simulated provider's only
    assert context.concurrency == 2 and context.rate_limits.requests_per_minute == 60
    build_context(settings, RunOptions(provider="openai", base_url="http://flag/v1"), services)
    assert factory.calls[-1][1]["base_url"] == "http://flag/v1"


def test_the_saved_key_is_only_looked_up_for_a_real_provider():
    services = RunServices(api_key=lambda: pytest.fail("the keyring was woken for a simulated run"))
    assert build_context(Settings(), RunOptions(), services).provider.simulated


def test_prices_come_from_the_services_else_from_the_settings_overrides():
    shared = Pricing()
    assert build_context(Settings(), RunOptions(), RunServices(pricing=shared)).pricing is shared
    overrides = {"my-model": {"input": 1.0, "output": 2.0}}
    context = build_context(Settings(price_overrides=overrides), RunOptions())
    assert context.pricing.price("my-model") is not None
    with pytest.raises(PricingError):
        build_context(Settings(price_overrides={"bad": {"input": "x"}}), RunOptions())


def test_a_provider_that_cannot_be_set_up_is_refused(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ProviderSetupError):
        build_context(Settings(), RunOptions(provider="openai"))


def test_a_context_factory_makes_fresh_contexts_per_repeat():
    make = context_factory(Settings(), RunOptions(seed=7))
    first, second = make(0), make(1)
    assert (first.seed, second.seed) == (7, 8) and first.provider is not second.provider
    assert isinstance(first.clock, Clock) and first.clock is not second.clock


def test_one_history_schema_without_credentials():
    settings = Settings(base_url="http://user:sk-SECRET@localhost:8000/v1", default_model="m", tokens_per_minute=900)
    options = RunOptions(strategy="layered", seed=1, speed=5.0, cost_cap=0.5, token_cap=1000, api_key_env="MY_KEY")
    context = build_context(settings, options, index=2)
    record = history_settings(settings, options, context, "eager")
    assert record == HistorySettings(
        provider="simulated",
        provider_label=context.provider.label,
        strategy="eager",  # the strategy the run used (a comparison runs several)
        base_url="http://localhost:8000/v1",
        model="m",
        seed=3,
        speed=5.0,
        concurrency=None,
        rpm=None,
        tpm=900,
        cost_cap=0.5,
        token_cap=1000,
    )
    assert list(record.to_dict()) == [f.name for f in fields(HistorySettings)]
    assert "SECRET" not in repr(record.to_dict()) and "MY_KEY" not in repr(record.to_dict())


def test_public_url():
    assert public_url("https://u:p@host:1/v1?x=1&api_key=k") == "https://host:1/v1?x=***&api_key=***"
    assert public_url("http://u:p@[::1/v1?k=v") == "http://***@[::1/v1?k=***"  # does not parse: masked all the same
    assert public_url("http://localhost:11434/v1") == "http://localhost:11434/v1"
    assert public_url("") is None and public_url(None) is None
