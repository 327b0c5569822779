"""Bounds on what one server response may make the app hold, parse or wait for (issue 14, classes 6 and 11).

The ``openai`` client reads a streamed answer without a line or event size limit, so a server could make
the app buffer a line of gigabytes (or ``data:`` lines that never end their event), or keep an answer
that is already complete open forever with keep-alive comments. Here:

* **Events** (``http_client``): every response body goes through ``_BoundedBody``, which ends the response
  with a one-line ``ProviderError`` once ``MAX_EVENT_BYTES`` arrive without the blank line that ends an
  SSE event (a whole JSON body counts as one event), before the client buffers more. Responses are asked
  for uncompressed; a compressed one is refused, since its size on the wire says nothing of its size.
* **Answers** (``answer_limit``): the text of one answer may not outgrow what its ``max_tokens`` allows
  (``CHARS_PER_TOKEN`` characters a token, plus ``BASE_CHARS``; at most ``MAX_ANSWER_CHARS``). The
  provider stops the stream there; the step fails in one line with what it cost.
* **Ends** (``AnswerEnd``): an answer is complete once its ``finish_reason`` came and then its usage; the
  stream is not read further, ``[DONE]`` or not. Without usage, what arrives within ``FINISH_GRACE``
  seconds of the finish reason is read, then the answer ends.

Other floods are bounded elsewhere: a step's watchdog (``core.run.progress``) ends a stream that stalls
(``: ping`` comments are not progress) or goes on past ``max_tokens`` chunks.
"""

from __future__ import annotations

import asyncio
import time
from functools import lru_cache
from typing import Any

from chainstudio.core.providers.base import ProviderError

MAX_EVENT_BYTES = 8 * 1024 * 1024  # one SSE event or one JSON body
CHARS_PER_TOKEN = 64  # no tokenizer's token is longer than this, give or take
BASE_CHARS = 1_000_000
MAX_ANSWER_CHARS = 32_000_000
FINISH_GRACE = 2.0  # seconds to wait for the usage after the finish reason
_BOUNDARIES = (b"\n\n", b"\r\r", b"\r\n\r\n")


def answer_limit(max_tokens: int) -> int:
    """The most characters an answer asked for ``max_tokens`` tokens may have."""
    return min(MAX_ANSWER_CHARS, BASE_CHARS + CHARS_PER_TOKEN * max(0, max_tokens))


def too_long(chars: int, max_tokens: int) -> str:
    return (
        f"the answer passed {chars:,} characters, more than max_tokens ({max_tokens:,}) allows: "
        "the server does not stop, so it was cut off"
    )


def http_client() -> Any:
    """The ``httpx`` client for ``openai.AsyncOpenAI``: its defaults, every response body bounded."""
    import openai

    return openai.DefaultAsyncHttpxClient(event_hooks={"response": [_bound]}, headers={"Accept-Encoding": "identity"})


async def _bound(response: Any) -> None:
    encoding = str(response.headers.get("content-encoding", "identity")).strip().lower()
    if encoding not in ("", "identity"):
        raise ProviderError(
            f"the server sent a compressed response ({encoding[:40]}) though asked for none: not read",
            kind="other",
            retryable=False,
        )
    response.stream = _bounded_body_class()(response.stream)


@lru_cache(maxsize=1)
def _bounded_body_class() -> type:
    """``_BoundedBody`` as the client's async byte stream (its base class is the client's, imported late:
    the commands that never call a model do not load it)."""
    import httpx2  # the HTTP library the openai client is built on

    return type("BoundedBody", (_BoundedBody, httpx2.AsyncByteStream), {})


class _BoundedBody:
    """A response body that raises once ``MAX_EVENT_BYTES`` arrive without an event boundary.

    An iterator object, not an async generator: the client stops reading a stream early (an answer complete
    before ``[DONE]``, a step stopped) and closes the response, and an async generator of ours left suspended
    there was closed later by the garbage collector, which printed "Exception ignored in <async_generator
    _BoundedBody.__aiter__>" under thousands of streams. ``aclose`` closes the body's parts here, at once."""

    def __init__(self, inner: Any):
        self._inner = inner
        self._parts: Any = None
        self._closed = False
        self._since = 0  # bytes since the last boundary
        self._tail = b""  # the previous part's last bytes: a boundary may straddle two parts

    def __aiter__(self) -> _BoundedBody:
        if self._parts is None:
            self._parts = self._inner.__aiter__()
        return self

    async def __anext__(self) -> bytes:
        if self._closed:
            raise StopAsyncIteration
        if self._parts is None:
            self._parts = self._inner.__aiter__()
        part: bytes = await self._parts.__anext__()
        window = self._tail + part
        cut = max((window.rfind(b) + len(b) if window.rfind(b) >= 0 else -1) for b in _BOUNDARIES)
        self._since = len(window) - cut if cut >= 0 else self._since + len(part)
        if self._since > MAX_EVENT_BYTES:
            await self.aclose()
            raise ProviderError(
                f"the server sent over {MAX_EVENT_BYTES // (1024 * 1024)} MB without ending an event: not read",
                kind="other",
                retryable=False,
            )
        self._tail = window[-3:]
        return part

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        parts, self._parts = self._parts, None
        if parts is not None:
            await _close(parts)
        await _close(self._inner)


class AnswerEnd:
    """Iterates a stream of chunks until its end, or until the answer it carries is complete (``finished``
    set, then ``usage_seen`` after it, or ``FINISH_GRACE`` seconds after ``finished``)."""

    def __init__(self, stream: Any):
        self._chunks = stream.__aiter__()
        self._finished_at: float | None = None
        self._usage_after_finish = False

    def finished(self) -> None:
        if self._finished_at is None:
            self._finished_at = time.monotonic()

    def usage_seen(self) -> None:
        if self._finished_at is not None:
            self._usage_after_finish = True

    def __aiter__(self) -> AnswerEnd:
        return self

    async def __anext__(self) -> Any:
        if self._finished_at is None:
            return await self._chunks.__anext__()
        left = self._finished_at + FINISH_GRACE - time.monotonic()
        if self._usage_after_finish or left <= 0:
            await _close(self._chunks)
            raise StopAsyncIteration
        try:
            return await asyncio.wait_for(self._chunks.__anext__(), left)
        except TimeoutError:
            await _close(self._chunks)
            raise StopAsyncIteration from None


async def _close(iterator: Any) -> None:
    close = getattr(iterator, "aclose", None)
    if close is not None:
        await close()
