"""Build a provider from plain settings (what the CLI flags and the GUI's settings give)."""

from __future__ import annotations

from collections.abc import Mapping

from chainstudio.core.clock import Clock
from chainstudio.core.errors import Refused
from chainstudio.core.providers.base import Provider
from chainstudio.core.providers.openai_compat import DEFAULT_BASE_URL, OpenAICompatProvider, OpenAISettings
from chainstudio.core.providers.simulated import Faults, SimulatedProvider

PROVIDERS = ("simulated", "openai")


class ProviderSetupError(Refused, ValueError):
    """Settings that cannot make a provider (e.g. OpenAI's own API without a key)."""


def make_provider(
    kind: str = "simulated",
    *,
    clock: Clock | None = None,
    seed: int = 0,
    faults: Faults | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    api_key_env: str = "OPENAI_API_KEY",
    env: Mapping[str, str] | None = None,
) -> Provider:
    clock = clock or Clock()
    if kind == "simulated":
        return SimulatedProvider(seed=seed, clock=clock, faults=faults or Faults())
    if kind == "openai":
        settings = OpenAISettings(base_url=base_url, api_key=api_key, api_key_env=api_key_env)
        if settings.resolved_api_key(env) is None and settings.resolved_base_url(env) == DEFAULT_BASE_URL:
            raise ProviderSetupError(
                f"no API key for {DEFAULT_BASE_URL}: set {api_key_env}, or give --base-url "
                "for a local server (Ollama, vLLM, LM Studio, llama.cpp)"
            )
        return OpenAICompatProvider(settings, clock=clock, env=env)
    raise ProviderSetupError(f"unknown provider {kind!r} (choose {', '.join(PROVIDERS)})")
