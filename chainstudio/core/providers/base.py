"""The provider interface the executor talks to.

A provider makes ONE attempt per call: the executor owns retries, backoff and timeouts so that every
attempt and every wait is recorded as an event (real clients are built with their own retries off).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable
from urllib.parse import urlsplit

from chainstudio.core.errors import ChainStudioError

ErrorKind = Literal["http", "connection", "timeout", "dropped", "interrupted", "budget", "other"]
RETRYABLE_STATUS = frozenset({408, 409, 429}) | frozenset(range(500, 600))


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: tuple[dict[str, str], ...]  # {"role": ..., "content": ...}
    temperature: float = 0.3
    max_tokens: int = 512
    timeout: float = 60.0
    seed_key: str = ""  # a stable key (e.g. the node name) the simulated provider mixes into its seed
    choices: tuple[str, ...] = ()  # the answers asked for (a route's labels): the simulated provider picks one
    # a structured answer: {"type": "json_schema", "json_schema": {"name", "schema"}} (core.run.structured);
    # a server that refuses it is asked again in JSON mode, then without (the provider remembers)
    response_format: Mapping[str, object] | None = None


@dataclass(frozen=True)
class ChatResult:
    """One complete answer. Token counts are the server's (its ``usage``) unless ``tokens_estimated`` says
    they are an offline guess (a server that sends no usage); ``cached_tokens`` is the part of the prompt
    the server read from its cache (``usage.prompt_tokens_details.cached_tokens``), included in
    ``input_tokens``. ``model`` is the model that answered (the response's ``model``)."""

    text: str
    input_tokens: int
    output_tokens: int
    model: str
    request_id: str | None = None
    first_token_at: float | None = None  # monotonic time of the first content token
    cached_tokens: int = 0
    tokens_estimated: bool = False
    finish_reason: str | None = None


class ProviderError(ChainStudioError):
    """One failed attempt. ``retryable`` says whether the executor may try again;
    ``retry_after`` (seconds) is what the server asked for, if anything."""

    def __init__(
        self,
        message: str,
        *,
        kind: ErrorKind = "other",
        status: int | None = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
        partial_text: str = "",
        input_tokens: int = 0,
        output_tokens: int = 0,
        tokens_estimated: bool = False,
    ):
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.status = status
        if retryable is None:
            retryable = kind in ("connection", "timeout", "dropped", "interrupted") or (status in RETRYABLE_STATUS)
        self.retryable = retryable
        self.retry_after = retry_after
        self.partial_text = partial_text
        self.input_tokens = input_tokens  # what the server processed before the attempt failed
        self.output_tokens = output_tokens
        self.tokens_estimated = tokens_estimated

    def __str__(self) -> str:
        prefix = f"HTTP {self.status}: " if self.status else ""
        return prefix + self.message


DeltaCallback = Callable[[str, float], None]  # (text, monotonic time)

# Set by the caller of ``stream_chat`` (in the attempt's own task): called once the server has the request
# (its response began), so that a rate limiter can count the request from a moment the server has seen.
_on_sent: ContextVar[Callable[[], None] | None] = ContextVar("chainstudio_on_sent", default=None)


def request_sent() -> None:
    """A provider calls this once the server has the request (e.g. the response headers arrived)."""
    callback = _on_sent.get()
    if callback is not None:
        _on_sent.set(None)
        callback()


def when_sent(callback: Callable[[], None] | None) -> None:
    """Have ``request_sent`` call ``callback`` (in the current task's context) for the next request."""
    _on_sent.set(callback)


# Set by the caller of ``stream_chat`` too: told when the request waits in a queue of the provider's own
# (True) and when its server takes it up (False), so that a timeout of the model's progress leaves the wait out.
_on_queued: ContextVar[Callable[[bool], None] | None] = ContextVar("chainstudio_on_queued", default=None)


def request_queued(waiting: bool) -> None:
    """A provider whose server takes requests in turn (the simulated one generates one answer at a time, on
    this process's CPU) calls this with True while the request waits for its turn and False once it has it."""
    callback = _on_queued.get()
    if callback is not None:
        callback(waiting)


def when_queued(callback: Callable[[bool], None] | None) -> None:
    """Have ``request_queued`` call ``callback`` (in the current task's context)."""
    _on_queued.set(callback)


@runtime_checkable
class Provider(Protocol):
    name: str  # "simulated" | "openai"
    simulated: bool

    @property
    def label(self) -> str:
        """Shown wherever results show, e.g. "Simulated (offline)"."""
        ...

    async def stream_chat(self, request: ChatRequest, on_delta: DeltaCallback) -> ChatResult:
        """Stream one completion, calling ``on_delta`` for each content chunk; raise ProviderError."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class ServerCounting(Protocol):
    """A provider that can ask the server to count tokens after the fact (its tokenizer, or a short
    request that returns usage), for answers that came without usage. Runs call it once the model calls
    are over, so that counting never competes with a stream."""

    async def server_counts(self, request: ChatRequest, text: str) -> tuple[int, int] | None:
        """(prompt tokens, output tokens) of ``request`` answered by ``text``, as the server counts them;
        None when it cannot tell."""
        ...


@runtime_checkable
class ServerCapacity(Protocol):
    """A provider that can tell how many requests its server runs at once (e.g. from the server's kind),
    asked before a run's first call when the run does not know it already."""

    async def server_capacity(self) -> int | None:
        """Requests the server runs at once; None when it cannot tell (never raises)."""
        ...


def local_host(base_url: str | None) -> str | None:
    """The host of ``base_url`` when it is on this machine or a private network (loopback, RFC 1918,
    link-local, ``localhost``, ``*.local``); None otherwise (or without a URL)."""
    if not base_url:
        return None
    try:
        host = urlsplit(base_url).hostname or ""
    except ValueError:
        return None
    if not host:
        return None
    if host == "localhost" or host.endswith((".localhost", ".local")):
        return host
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return host if (address.is_loopback or address.is_private or address.is_link_local) else None
