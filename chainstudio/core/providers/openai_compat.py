"""An OpenAI-compatible provider on the official ``openai`` AsyncOpenAI client (chat completions).
Over 400 lines because reading a stream, checking its usage and counting it off the event loop are one
protocol, kept in one place.

Works against OpenAI, Ollama, vLLM, LM Studio and llama.cpp server. One call = one attempt: the client is
built with ``max_retries=0`` because the executor owns retries, so every attempt and wait is an event.
Streams with ``stream_options={"include_usage": True}`` and reports the server's prompt and completion
tokens, the time of the first content token and the request id. Errors become ``ProviderError``:
timeouts and connection errors are retryable, HTTP errors carry the status, the server's message and
its ``retry-after-ms`` / ``retry-after`` wish; a stream that stops midway is a retryable "dropped" error.
A structured request's ``response_format`` falls back as the server requires (``response_format``).

Usage is checked before it is believed (``server_usage``): negative, non-integer or absurd figures (more
output tokens than the answer has bytes, more than ``ABSURD_TOKENS``, less than half the offline
tokenizer's count) are refused and replaced by an estimate. ``usage.prompt_tokens_details.cached_tokens``
is read (the prompt tokens the server took from its cache). The result names the model that answered (the
response's ``model``).

A server that sends no usage (llama-cpp-python's, for one) has its tokens estimated offline, and the
result says so (``tokens_estimated``): the output never above ``max_tokens``, exactly ``max_tokens`` when
the server stopped at the limit. Counting is slow (pure-Python BPE, ~1 ms per 1,000 characters), so once a
server was seen to leave usage out, the prompt and the finished paragraphs of the answer are counted while
the answer streams (``_Counts``), and only the last paragraph is left to count when it ends. After the
run, ``server_counts`` asks the server's own tokenizer for the exact figures (``server_tokens``).

A stream that breaks off counts what the server had processed (the prompt, once a token came back, and
the text so far), as an estimate. One that ends cleanly but without a finish reason or usage, while a
newer request of ours was in flight, was cut off by that request (llama-cpp-python's server with its
default ``--interrupt_requests True``): the error says so in plain words, with the fix.

Timeouts: only connecting has one here; the run's watchdog (``core.run.progress``) times the model's
progress, so a request queued at a busy server is not cut by a read timeout. A connect timeout during
which this process's event loop was held for half the timeout or more (``loop_lag``) is ours, not the
server's: the request connects again (the watchdog still bounds the attempt). ``server_capacity`` tells the
run how many requests a local server runs at once, where its kind says (``server_tokens``).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

from chainstudio.core.clock import Clock
from chainstudio.core.providers import loop_lag, stream_limits
from chainstudio.core.providers.base import (
    ChatRequest,
    ChatResult,
    DeltaCallback,
    ErrorKind,
    ProviderError,
    local_host,
    request_queued,
    request_sent,
)
from chainstudio.core.providers.response_format import ResponseFormats
from chainstudio.core.providers.server_tokens import ServerTokenizer
from chainstudio.core.text_safety import StreamScrubber, redact_url, register_secret, register_url_secrets, scrub
from chainstudio.core.tokens import (
    OFF_LOOP_CHARS,
    count_all_off_loop,
    count_tokens,
    count_tokens_bounded,
    count_tokens_off_loop,
)

if TYPE_CHECKING:
    from openai import AsyncOpenAI, Timeout
    from openai.types.chat import ChatCompletionMessageParam

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
ABSURD_TOKENS = 100_000_000  # no single call's usage is larger: a server reporting more is not believed
UNDERCOUNT = 2  # a server's count below 1/2 of the offline tokenizer's is not believed (tokenizers differ less)
READ_SLICE = 0.02  # seconds of parsing chunks already received before the loop gets a turn (a flood's burst)
INTERRUPTED = (
    "the server cut this stream off when another request arrived; it serves one request at a time: "
    "set concurrency 1, or start it with --interrupt_requests False"
)


@dataclass(frozen=True)
class OpenAISettings:
    base_url: str | None = None  # None: OPENAI_BASE_URL, else OpenAI's
    api_key: str | None = None  # None: the variable named by api_key_env
    api_key_env: str = "OPENAI_API_KEY"
    organization: str | None = None
    connect_timeout: float = 10.0

    def resolved_base_url(self, env: Mapping[str, str] | None = None) -> str:
        env = os.environ if env is None else env
        url = (self.base_url or env.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).strip()  # a pasted newline too
        return url.rstrip("/")

    def resolved_api_key(self, env: Mapping[str, str] | None = None) -> str | None:
        env = os.environ if env is None else env
        key = (self.api_key or env.get(self.api_key_env) or "").strip()  # a pasted newline is no part of a key
        return key or None


# Requests open to one server at once. More wait in the provider: the HTTP client's connection pool scans
# all its waiting requests on every change, so 20,000 at once (a map over a long list, with no concurrency
# cap) took minutes before the first reached the server.
MAX_OPEN_REQUESTS = 256


class OpenAICompatProvider:
    name = "openai"
    simulated = False

    def __init__(
        self,
        settings: OpenAISettings | None = None,
        *,
        clock: Clock | None = None,
        client: AsyncOpenAI | None = None,
        env: Mapping[str, str] | None = None,
    ):
        self.settings = settings or OpenAISettings()
        self.clock = clock or Clock()
        self.base_url = self.settings.resolved_base_url(env)
        api_key = self.settings.resolved_api_key(env)
        self.has_key = api_key is not None
        register_secret(api_key)  # scrubbed from every text shown or stored from now on
        register_url_secrets(self.base_url)
        self.shown_url = redact_url(self.base_url)
        if client is None:
            import openai

            # Local servers (Ollama, vLLM, llama.cpp) accept any key; the client insists on one.
            client = openai.AsyncOpenAI(
                api_key=api_key or "not-needed",
                base_url=self.base_url,
                max_retries=0,
                organization=self.settings.organization,
                http_client=stream_limits.http_client(),  # every response body bounded
            )
        self._client = client
        self.label = f"OpenAI-compatible · {self.shown_url}"
        self._usage_missing = False  # the last complete answer came without usage: count while streaming
        self._tokenizer = ServerTokenizer(client, self.base_url)
        self._sent = 0  # requests sent so far (numbers them)
        self._open = 0  # requests sent and not yet answered in full (this one's included while it streams)
        # At most MAX_OPEN_REQUESTS requests are open to the server at once; more wait here, in turn.
        self._slots = asyncio.Semaphore(MAX_OPEN_REQUESTS)
        self._formats = ResponseFormats()  # the response format this endpoint takes (structured answers)

    async def server_counts(self, request: ChatRequest, text: str) -> tuple[int, int] | None:
        """(prompt, output) tokens as the server's own tokenizer counts them (None: it cannot tell, or says what
        cannot be true: its counts are checked as a response's usage is, by ``server_usage``)."""
        counts = await self._tokenizer.counts(request, text)
        if counts is None:
            return None
        said = SimpleNamespace(prompt_tokens=counts[0], completion_tokens=counts[1])
        checked = server_usage(said, request, text)
        if checked is None:
            log.info("the server at %s counted %s tokens: not believed, the estimate stands", self.shown_url, counts)
            return None
        return checked[0], checked[1]

    async def server_capacity(self) -> int | None:
        """How many requests the server runs at once, for a server on this machine or a private network
        whose kind tells it (llama-cpp-python's: 1; ``llama-server``: its slots); None otherwise. A cloud
        endpoint is not asked (two more round trips before every run, for nothing)."""
        if local_host(self.base_url) is None:
            return None
        try:
            return await self._tokenizer.capacity()
        except Exception as exc:  # noqa: BLE001 - unknown capacity: timeouts start when the request is sent
            log.info("the server at %s did not say its capacity: %s", self.base_url, exc)
            return None

    async def stream_chat(self, request: ChatRequest, on_delta: DeltaCallback) -> ChatResult:
        self._sent += 1
        number = self._sent
        queued = self._slots.locked()
        if queued:
            request_queued(True)  # the step's timeout leaves the wait out
        async with self._slots:
            if queued:
                request_queued(False)
            self._open += 1
            try:
                return await self._answer(request, on_delta, number)
            finally:
                self._open -= 1

    async def _answer(self, request: ChatRequest, on_delta: DeltaCallback, number: int) -> ChatResult:
        import openai

        try:
            with loop_lag.for_loop().watching() as lag:  # the heartbeat beats while a request connects
                while True:
                    began = asyncio.get_running_loop().time()
                    try:
                        stream = await self._client.chat.completions.create(
                            model=request.model,
                            messages=cast("list[ChatCompletionMessageParam]", list(request.messages)),
                            temperature=request.temperature,
                            max_tokens=request.max_tokens,
                            stream=True,
                            stream_options={"include_usage": True},
                            timeout=_timeout(self.settings.connect_timeout),
                            **self._formats.arguments(request),
                        )
                        break
                    except openai.APIStatusError as exc:  # a server that refuses the response format: ask without
                        if not self._formats.refused(request, _status_error(exc)):
                            raise
                    except openai.APITimeoutError:  # our loop was held, not the server slow: connect again
                        if lag.stalled_since(began) < self.settings.connect_timeout / 2:
                            raise
        except openai.APITimeoutError:  # subclasses APIConnectionError: first
            raise ProviderError(f"no response from {self.shown_url} in time", kind="timeout") from None
        except openai.APIConnectionError as exc:
            raise ProviderError(scrub(f"cannot reach {self.shown_url}: {_cause(exc)}"), kind="connection") from None
        except openai.APIStatusError as exc:
            raise _status_error(exc) from None
        except openai.APIError as exc:
            raise ProviderError(scrub(f"{type(exc).__name__}: {exc}"), kind="other", retryable=False) from None
        request_sent()  # the response began: the server has the request
        return await self._read(stream, request, on_delta, number)

    async def _read(self, stream: Any, request: ChatRequest, on_delta: DeltaCallback, number: int) -> ChatResult:
        import openai

        headers = getattr(getattr(stream, "response", None), "headers", {}) or {}
        request_id = _short_text(headers.get("x-request-id"))
        scrubber = StreamScrubber()  # a secret echoed across two chunks is held back until it is masked
        counts = _Counts(request) if self._usage_missing else None
        parts: list[str] = []
        first_token_at: float | None = None
        usage = None
        finish_reason: str | None = None
        model = request.model
        received = False  # a chunk came back: the server had processed the prompt
        limit, size = stream_limits.answer_limit(request.max_tokens), 0
        choices = _AnswerChoice()
        slice_began = time.perf_counter()
        try:
            async with stream:
                end = stream_limits.AnswerEnd(stream)  # complete once finished and counted, [DONE] or not
                async for chunk in end:
                    received = True
                    if time.perf_counter() - slice_began > READ_SLICE:  # chunks parsed from one read of the socket
                        await asyncio.sleep(0)  # do not keep the loop: a flood's read holds ~1,000 of them
                        slice_began = time.perf_counter()
                    request_id = request_id or _short_text(getattr(chunk, "id", None))
                    model = _short_text(getattr(chunk, "model", None)) or model
                    if getattr(chunk, "usage", None) is not None:
                        usage = chunk.usage
                        end.usage_seen()
                    for choice in choices.of(chunk):
                        text = _chunk_text(choice)
                        if text:
                            size += len(text)
                            if size > limit:
                                message = stream_limits.too_long(size, request.max_tokens)
                                raise _dropped(received, [*parts, text], request, message, kind="other")
                            now = self.clock.now()
                            if first_token_at is None:
                                first_token_at = now
                            parts.append(text)
                            if counts is not None:
                                counts.add(text)
                            shown = scrubber.feed(text)
                            if shown:
                                on_delta(shown, now)
                        if choice.finish_reason:
                            finish_reason = _short_text(choice.finish_reason) or "stop"
                            end.finished()
        except openai.APIError as exc:  # a broken connection while reading
            raise _dropped(received, parts, request, scrub(f"stream broke off: {_cause(exc)}")) from None
        except ProviderError:
            raise
        except (ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError) as exc:  # not chunks
            raise ProviderError(
                scrub(f"the server sent a malformed stream ({type(exc).__name__}: {_first_line(exc)})"),
                kind="other",
                retryable=False,
            ) from None
        held = scrubber.flush()
        if held:
            on_delta(held, self.clock.now())
        if finish_reason is None and usage is None:
            # another request of ours was at the server while this one streamed (sent after it, or sent
            # before it and still waiting: a server may take waiting requests in any order)
            if received and (self._sent > number or self._open > 1):
                raise _dropped(received, parts, request, INTERRUPTED, kind="interrupted")
            raise _dropped(received, parts, request, "stream ended before the answer was complete")
        text = scrub("".join(parts))
        self._usage_missing = usage is None
        counted = server_usage(usage, request, text)
        if counted is not None:
            input_tokens, output_tokens, cached = counted
            estimated = False
        else:  # a server that ignores include_usage (or reports nonsense): estimate offline
            input_tokens = await count_all_off_loop([m.get("content", "") for m in request.messages])
            cached, estimated = 0, True  # (long texts are counted in a worker thread, never on the loop)
            output_tokens = await output_guess(request, text, finish_reason, counts)
        return ChatResult(
            text, input_tokens, output_tokens, model, request_id, first_token_at, cached, estimated, finish_reason
        )

    async def aclose(self) -> None:
        await self._client.close()


# A newline followed by a letter or a digit always separates two of the tokenizer's pre-tokens (o200k_base:
# no pre-token pattern runs from a newline into a letter or digit), so text cut there counts as the sum of
# its parts: count_tokens(a + b) == count_tokens(a) + count_tokens(b). tests/core/providers checks it.
_PARAGRAPH_CUT = re.compile(r"\n(?=[^\W_])")


def _prompt_tokens(request: ChatRequest) -> int:
    return sum(count_tokens_bounded(m.get("content", "")) for m in request.messages)


def _dropped(
    received: bool, parts: list[str], request: ChatRequest, message: str, kind: ErrorKind = "dropped"
) -> ProviderError:
    """A stream that ended early; once a chunk came back, the server had processed the prompt (and made the
    text so far): those are counted (an estimate)."""
    partial = scrub("".join(parts))
    if not received:
        return ProviderError(message, kind=kind, partial_text=partial)
    output = min(count_tokens_bounded(partial), request.max_tokens)  # an estimate, on the loop: bounded
    return ProviderError(
        message,
        kind=kind,
        partial_text=partial,
        input_tokens=_prompt_tokens(request),
        output_tokens=output,
        tokens_estimated=True,
    )


async def output_guess(request: ChatRequest, text: str, finish_reason: str | None, counts: _Counts | None) -> int:
    """The output tokens of an answer without usage: ``max_tokens`` when the server stopped at the limit,
    otherwise the offline count (a long text counted in a worker thread), never above ``max_tokens``."""
    if finish_reason == "length":
        return request.max_tokens
    guess = await (counts.output_tokens() if counts is not None else count_tokens_off_loop(text))
    return min(guess, request.max_tokens)


def server_usage(usage: Any, request: ChatRequest, text: str) -> tuple[int, int, int] | None:
    """(prompt, completion, cached) tokens from a response's ``usage``, or None when there is none or it
    cannot be true: a figure that is not a whole number, negative, over ``ABSURD_TOKENS``, more output
    tokens than the answer's bytes (beyond the reasoning tokens it declares), fewer than half the tokens the
    offline tokenizer finds in the answer or the prompt (``UNDERCOUNT``: a lying server would let a budget be
    crossed), or more cached than prompt tokens."""
    if usage is None:
        return None
    prompt = _whole(getattr(usage, "prompt_tokens", None))
    completion = _whole(getattr(usage, "completion_tokens", None))
    if prompt is None or completion is None:
        return None
    details = getattr(usage, "prompt_tokens_details", None)
    cached = _whole(getattr(details, "cached_tokens", None) or 0) if details is not None else 0
    output_details = getattr(usage, "completion_tokens_details", None)
    reasoning = _whole(getattr(output_details, "reasoning_tokens", None) or 0) if output_details is not None else 0
    if cached is None or reasoning is None or cached > prompt:
        return None
    size = len(text.encode("utf-8"))
    if completion - reasoning > size + 16:
        return None  # more tokens than the text could hold: not this answer's count
    if completion * UNDERCOUNT < count_tokens_bounded(text):
        return None  # far fewer tokens than the text has: an undercount (a budget would believe it)
    if prompt * UNDERCOUNT < sum(count_tokens_bounded(str(m.get("content", ""))) for m in request.messages):
        return None
    return prompt, completion, cached


def _whole(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= ABSURD_TOKENS:
        return None
    return value


class _Counts:
    """Counts one streamed answer's tokens (and its prompt's) in loop callbacks while the answer streams,
    into ``count_tokens``' cache, so that counting the whole at the end costs only its last paragraph."""

    def __init__(self, request: ChatRequest):
        self._loop = asyncio.get_running_loop()
        for message in request.messages:
            self._warm(message.get("content", ""))
        self._done: list[str] = []  # finished paragraphs (each ends where a cut is)
        self._tail = ""

    def add(self, text: str) -> None:
        start = max(0, len(self._tail) - 1)  # a cut may straddle the previous chunk's end
        self._tail += text
        cut = None
        for match in _PARAGRAPH_CUT.finditer(self._tail, start):
            cut = match.end()
        if cut is not None:
            paragraph, self._tail = self._tail[:cut], self._tail[cut:]
            self._done.append(paragraph)
            self._warm(paragraph)

    def _warm(self, text: str) -> None:
        """Count ``text`` into the cache soon: in a loop callback when it is short, else in a worker thread."""
        if len(text) <= OFF_LOOP_CHARS:
            self._loop.call_soon(count_tokens, text)
        else:
            self._loop.run_in_executor(None, count_tokens, text)

    async def output_tokens(self) -> int:
        return await count_all_off_loop([*self._done, self._tail])


def _timeout(connect: float) -> Timeout:
    """Only connecting is timed here; the run's watchdog times the model's progress."""
    import openai

    return openai.Timeout(None, connect=connect)


def _cause(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__
    return _first_line(f"{type(cause).__name__}: {cause}" if cause else exc)


def _status_error(exc: Any) -> ProviderError:
    status = int(exc.status_code)
    message = _first_line(scrub(_server_message(exc)), limit=500)
    return ProviderError(message, kind="http", status=status, retry_after=retry_after(exc.response.headers))


def _server_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):
            return error
    return str(getattr(exc, "message", None) or exc)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asks to wait: ``retry-after-ms``, else ``retry-after`` (seconds or HTTP date)."""
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


# --- hostile values in chunks ------------------------------------------------------------------------
class _AnswerChoice:
    """The answer is one choice (we ask for one): the index of the first choice a chunk carries. Choices
    with another index (a server that sends several, or out-of-range ones) are not part of it."""

    def __init__(self) -> None:
        self._index: object = _UNSET

    def of(self, chunk: Any) -> list[Any]:
        found = getattr(chunk, "choices", None) or ()
        if not isinstance(found, (list, tuple)):
            raise TypeError(f"choices is {type(found).__name__}, not a list")
        mine = []
        for choice in found:
            index = getattr(choice, "index", None)
            if self._index is _UNSET:
                self._index = index
            if index == self._index:
                mine.append(choice)
        return mine


_UNSET = object()


def _chunk_text(choice: Any) -> str | None:
    """A streamed choice's content: text, or nothing. Anything else is not an answer (ProviderError)."""
    delta = getattr(choice, "delta", None)
    content = getattr(delta, "content", None) if delta is not None else None
    if content is None or isinstance(content, str):
        return content
    raise ProviderError(
        f"the server sent a chunk whose content is {type(content).__name__}, not text", kind="other", retryable=False
    )


def _short_text(value: Any, limit: int = 200) -> str | None:
    """An identifier the server sent (request id, model name), when it is short text; else None."""
    return value if isinstance(value, str) and 0 < len(value) <= limit else None


def _first_line(value: object, limit: int = 300) -> str:
    """One line of at most ``limit`` characters of ``str(value)``."""
    lines = str(value).strip().splitlines()
    line = lines[0] if lines else ""
    return line if len(line) <= limit else line[:limit] + "…"
