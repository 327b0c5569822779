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

import contextlib
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from chainstudio.core.providers.base import ChatRequest, Provider
from chainstudio.core.text_safety import MASK, redact_url

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
    url: str = ""  # the base URL as ``public_url`` shows it (no user:password@, query values masked)
    seed: int | None = None  # a simulated provider's seed
    simulated: bool = False
    query: str = ""  # a digest of the base URL's query (answers may depend on ``?api-version=``), "" for none

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
    """``url`` fit to show and record: without any ``user:password@`` part and with its query values masked
    (a URL may carry a credential in either: ``?api_key=``)."""
    if not url:
        return url or None
    try:
        parts = urlsplit(url)
    except ValueError:  # not a URL: everything that may be a credential masked
        return redact_url(url)
    query = "&".join(f"{k}={MASK}" for k, _ in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2], query=query))


def url_endpoint(kind: str, url: str | None) -> Endpoint:
    """The cache identity of a real server at ``url``: its public URL, and a digest of its query."""
    query = ""
    with contextlib.suppress(ValueError):
        query = urlsplit(url or "").query
    digest = hashlib.sha256(query.encode("utf-8", "surrogatepass")).hexdigest()[:16] if query else ""
    return Endpoint(kind, (public_url(url) or "").rstrip("/"), None, False, digest)


def endpoint_of(provider: Provider) -> Endpoint:
    """The cache identity of ``provider``: its kind, its public base URL, a simulated provider's seed."""
    if not provider.simulated:
        return url_endpoint(provider.name, str(getattr(provider, "base_url", "") or ""))
    seed = getattr(provider, "seed", None)
    return Endpoint(provider.name, "", seed if isinstance(seed, int) else None, True)


def key_document(endpoint: Endpoint, request: ChatRequest) -> dict[str, Any]:
    """Everything that determines the answer to ``request`` at ``endpoint`` (what ``cache_key`` hashes)."""
    return {
        "v": KEY_VERSION,
        "endpoint": {"kind": endpoint.kind, "url": endpoint.url, "seed": endpoint.seed}
        | ({"query": endpoint.query} if endpoint.query else {}),
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
