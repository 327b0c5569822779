"""Build a provider from plain settings (what the CLI flags and the GUI's settings give)."""

from __future__ import annotations

from collections.abc import Mapping

from chainstudio.core.clock import Clock
from chainstudio.core.errors import Refused
from chainstudio.core.providers.base import Provider
from chainstudio.core.providers.openai_compat import DEFAULT_BASE_URL, OpenAICompatProvider, OpenAISettings
from chainstudio.core.providers.simulated import Faults, SimulatedProvider
from chainstudio.core.text_safety import MASK, redact_url

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
        problem = endpoint_problem(settings, env)
        if problem:
            raise ProviderSetupError(problem)
        if settings.resolved_api_key(env) is None and settings.resolved_base_url(env) == DEFAULT_BASE_URL:
            raise ProviderSetupError(
                f"no API key for {DEFAULT_BASE_URL}: set {api_key_env}, or give --base-url "
                "for a local server (Ollama, vLLM, LM Studio, llama.cpp)"
            )
        return OpenAICompatProvider(settings, clock=clock, env=env)
    raise ProviderSetupError(f"unknown provider {kind!r} (choose {', '.join(PROVIDERS)})")


MAX_KEY_CHARS = 4_096  # real keys are under 200; servers refuse headers past 8 KB
MAX_URL_CHARS = 8_192


def endpoint_problem(settings: OpenAISettings, env: Mapping[str, str] | None = None) -> str | None:
    """Why a base URL or key cannot make a request, in one sentence without the key; None when they can.
    (A URL like ``http://[::1`` was an "internal error (InvalidURL)"; a key with a line break or a
    non-ASCII letter failed every step with a UnicodeEncodeError naming the Authorization header.)"""
    from urllib.parse import urlsplit

    url = settings.resolved_base_url(env)
    shown = redact_url(url)[:200]
    if len(url) > MAX_URL_CHARS:  # the HTTP library's "internal error (InvalidURL: URL too long)"
        return f"the base URL {shown!r}… is {len(url):,} characters long; a base URL is at most {MAX_URL_CHARS:,}"
    try:
        parsed = urlsplit(url)
        parsed.port  # noqa: B018 - a port that is no number, or out of range, raises here
    except ValueError:
        return f"the base URL {shown!r} is not a valid URL"
    if parsed.scheme not in ("http", "https") or not parsed.hostname or not url.isprintable():
        return f"the base URL {shown!r} must start with http:// or https:// and name a host"
    if f":{MASK}@" in url or f"={MASK}" in url:  # saved masked, and its credentials are no longer stored
        return f"the credentials of the base URL {shown!r} are not in the keyring or credentials file: type it again"
    key = settings.resolved_api_key(env)
    if key is not None and len(key) > MAX_KEY_CHARS:  # no header carries it; registering it took minutes
        source = "the API key" if settings.api_key else f"the API key in ${settings.api_key_env}"
        return f"{source} is {len(key):,} characters long; a key is at most {MAX_KEY_CHARS:,}"
    if key is not None and not (key.isascii() and key.isprintable() and not any(c.isspace() for c in key)):
        source = "the API key" if settings.api_key else f"the API key in ${settings.api_key_env}"
        return f"{source} has characters a request header cannot carry (a line break, a space, a non-ASCII letter)"
    return None
