"""What a run asks of a step cache: the content address of a model call, the stored answer, and the protocol.

A step's answer is determined by where it is sent and what is sent: the endpoint (its kind, its base URL
without credentials, and for a simulated provider its seed and the step's name, which the simulator mixes
into each answer), the model, the rendered messages, the temperature, max_tokens and the response schema
(none yet). ``cache_key`` hashes exactly these (SHA-256 of a canonical JSON document), so a changed prompt
upstream changes the rendered messages downstream and with them every key below the edit.

The store itself lives in ``chainstudio.core.storage.step_cache`` (SQLite in the user data directory); a
run reaches it only through the ``StepCache`` protocol in ``RunContext.cache`` (``CacheUse``), so this
package never imports storage.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from chainstudio.core.providers.base import ChatRequest, Provider

KEY_VERSION = 1  # bump when what goes into a key changes: old entries then simply miss


@dataclass(frozen=True)
class StoredStep:
    """A model step's answer and what making it cost: what a cache hit (or a reuse of an earlier run's
    output) replays. ``run_id`` is the run that made the call; times are seconds."""

    output: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None  # None: the model's price was unknown
    api_calls: int = 1
    ttft: float | None = None  # the successful attempt's time to first token
    duration: float = 0.0  # from the first attempt's start to the answer's end
    model: str | None = None  # the model the server said answered
    run_id: str = ""
    simulated: bool = False  # made by a simulated provider: never shown as a real answer
    prompt: str = ""
    system: str = ""


class StepCache(Protocol):
    """Where a run looks answers up and keeps new ones (``chainstudio.core.storage.step_cache``)."""

    def get(self, key: str) -> StoredStep | None: ...

    def put(self, key: str, step: StoredStep) -> None: ...


@dataclass(frozen=True)
class Endpoint:
    """Where answers come from, as far as they depend on it."""

    kind: str  # the provider's name: "openai", "simulated", "scripted", ...
    url: str = ""  # the base URL without any user:password@ part
    seed: int | None = None  # a simulated provider's seed
    simulated: bool = False

    @property
    def label(self) -> str:
        if self.simulated:
            return f"{self.kind} (seed {self.seed})" if self.seed is not None else self.kind
        return f"{self.kind} · {self.url}" if self.url else self.kind


@dataclass(frozen=True)
class CacheUse:
    """A run's use of the step cache: the store, the endpoint its keys are for, and whether the run may add
    answers (an estimate only looks)."""

    store: StepCache
    endpoint: Endpoint
    write: bool = True


def public_url(url: str | None) -> str | None:
    """``url`` without any ``user:password@`` part (a URL may carry a credential)."""
    if not url:
        return url or None
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def endpoint_of(provider: Provider) -> Endpoint:
    """The cache identity of ``provider``: its kind, its public base URL, a simulated provider's seed."""
    simulated = bool(provider.simulated)
    seed = getattr(provider, "seed", None) if simulated else None
    url = public_url(str(getattr(provider, "base_url", "") or "")) or ""
    return Endpoint(provider.name, url.rstrip("/"), seed if isinstance(seed, int) else None, simulated)


def key_document(endpoint: Endpoint, request: ChatRequest) -> dict[str, Any]:
    """Everything that determines the answer to ``request`` at ``endpoint`` (what ``cache_key`` hashes)."""
    return {
        "v": KEY_VERSION,
        "endpoint": {"kind": endpoint.kind, "url": endpoint.url, "seed": endpoint.seed},
        "model": request.model,
        "messages": [[m.get("role", ""), m.get("content", "")] for m in request.messages],
        "temperature": request.temperature,
        "max_tokens": request.max_tokens,
        # a structured step's response format (its schema); None for plain text, as before it existed
        "schema": dict(request.response_format) if request.response_format is not None else None,
        # the simulator (and the scripted test provider) mix the step's name into its answer
        "step": request.seed_key if endpoint.simulated else None,
    }


def cache_key(endpoint: Endpoint, request: ChatRequest) -> str:
    """The content address of ``request`` at ``endpoint``: 64 hex digits."""
    text = json.dumps(key_document(endpoint, request), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
