"""An OpenAI-compatible provider on the official ``openai`` AsyncOpenAI client (chat completions).

Works against OpenAI, Ollama, vLLM, LM Studio and llama.cpp server. One call = one attempt: the client is
built with ``max_retries=0`` because the executor owns retries, so every attempt and wait is an event.
Streams with ``stream_options={"include_usage": True}`` and reports the server's prompt and completion
tokens, the time of the first content token and the request id. Errors become ``ProviderError``:
timeouts and connection errors are retryable, HTTP errors carry the status, the server's message and
its ``retry-after-ms`` / ``retry-after`` wish; a stream that stops midway is a retryable "dropped" error.

A server that sends no usage (llama-cpp-python's, for one) has its tokens counted offline. Counting is
slow (pure-Python BPE, ~1 ms per 1,000 characters), so once a server was seen to leave usage out, the
prompt and the finished paragraphs of the answer are counted while the answer streams (``_Counts``), and
only the last paragraph is left to count when it ends, on the way to the next step.
"""

from __future__ import annotations

import asyncio
import email.utils
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from chainstudio.core.clock import Clock
from chainstudio.core.providers.base import ChatRequest, ChatResult, DeltaCallback, ProviderError
from chainstudio.core.text_safety import StreamScrubber, redact_url, register_secret, register_url_secrets, scrub
from chainstudio.core.tokens import OFF_LOOP_CHARS, count_all_off_loop, count_tokens, count_tokens_off_loop

if TYPE_CHECKING:
    from openai import AsyncOpenAI, Timeout
    from openai.types.chat import ChatCompletionMessageParam

DEFAULT_BASE_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class OpenAISettings:
    base_url: str | None = None  # None: OPENAI_BASE_URL, else OpenAI's
    api_key: str | None = None  # None: the variable named by api_key_env
    api_key_env: str = "OPENAI_API_KEY"
    organization: str | None = None
    connect_timeout: float = 10.0

    def resolved_base_url(self, env: Mapping[str, str] | None = None) -> str:
        env = os.environ if env is None else env
        return (self.base_url or env.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")

    def resolved_api_key(self, env: Mapping[str, str] | None = None) -> str | None:
        env = os.environ if env is None else env
        return self.api_key or env.get(self.api_key_env) or None


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
            )
        self._client = client
        self.label = f"OpenAI-compatible · {self.shown_url}"
        self._usage_missing = False  # the last complete answer came without usage: count while streaming

    async def stream_chat(self, request: ChatRequest, on_delta: DeltaCallback) -> ChatResult:
        import openai

        try:
            stream = await self._client.chat.completions.create(
                model=request.model,
                messages=cast("list[ChatCompletionMessageParam]", list(request.messages)),
                temperature=request.temperature,
                max_tokens=request.max_tokens,
                stream=True,
                stream_options={"include_usage": True},
                timeout=_timeout(request.timeout, self.settings.connect_timeout),
            )
        except openai.APITimeoutError:  # subclasses APIConnectionError: first
            raise ProviderError(f"no response from {self.shown_url} in time", kind="timeout") from None
        except openai.APIConnectionError as exc:
            raise ProviderError(scrub(f"cannot reach {self.shown_url}: {_cause(exc)}"), kind="connection") from None
        except openai.APIStatusError as exc:
            raise _status_error(exc) from None
        except openai.APIError as exc:
            raise ProviderError(scrub(f"{type(exc).__name__}: {exc}"), kind="other", retryable=False) from None
        return await self._read(stream, request, on_delta)

    async def _read(self, stream: Any, request: ChatRequest, on_delta: DeltaCallback) -> ChatResult:
        import openai

        headers = getattr(getattr(stream, "response", None), "headers", {}) or {}
        request_id = _short_text(headers.get("x-request-id"))
        scrubber = StreamScrubber()  # a secret echoed across two chunks is held back until it is masked
        counts = _Counts(request) if self._usage_missing else None
        parts: list[str] = []
        first_token_at: float | None = None
        usage = None
        finished = False
        model = request.model
        try:
            async with stream:
                async for chunk in stream:
                    request_id = request_id or _short_text(getattr(chunk, "id", None))
                    model = _short_text(getattr(chunk, "model", None)) or model
                    if getattr(chunk, "usage", None) is not None:
                        usage = chunk.usage
                    for choice in chunk.choices or ():
                        text = _chunk_text(choice)
                        if text:
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
                            finished = True
        except openai.APIError as exc:  # a timeout or a broken connection while reading
            raise self._dropped(parts, request, scrub(f"stream broke off: {_cause(exc)}")) from None
        except ProviderError:
            raise
        except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:  # not the chunks' shape
            raise ProviderError(
                scrub(f"the server sent a malformed stream ({type(exc).__name__}: {_first_line(exc)})"),
                kind="other",
                retryable=False,
            ) from None
        held = scrubber.flush()
        if held:
            on_delta(held, self.clock.now())
        if not finished and usage is None:
            raise self._dropped(parts, request, "stream ended before the answer was complete")
        text = scrub("".join(parts))
        self._usage_missing = usage is None
        if usage is not None:
            input_tokens, output_tokens = int(usage.prompt_tokens or 0), int(usage.completion_tokens or 0)
        else:  # a server that ignores include_usage: estimate offline (long texts in a worker thread)
            input_tokens = await count_all_off_loop([m.get("content", "") for m in request.messages])
            output_tokens = await (counts.output_tokens() if counts is not None else count_tokens_off_loop(text))
        return ChatResult(text, input_tokens, output_tokens, model, request_id, first_token_at)

    @staticmethod
    def _dropped(parts: list[str], request: ChatRequest, message: str) -> ProviderError:
        partial = scrub("".join(parts))
        return ProviderError(message, kind="dropped", partial_text=partial)

    async def aclose(self) -> None:
        await self._client.close()


# A newline followed by a letter or a digit always separates two of the tokenizer's pre-tokens (o200k_base:
# no pre-token pattern runs from a newline into a letter or digit), so text cut there counts as the sum of
# its parts: count_tokens(a + b) == count_tokens(a) + count_tokens(b). tests/core/providers checks it.
_PARAGRAPH_CUT = re.compile(r"\n(?=[^\W_])")


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


def _timeout(total: float, connect: float) -> Timeout:
    import openai

    return openai.Timeout(total, connect=min(connect, total))


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
