"""A response body bounded by ``stream_limits._BoundedBody`` is closed where the client closes it: under
thousands of streams, an async generator of ours left suspended when a stream was read no further (an answer
complete before ``[DONE]``) was closed later by the garbage collector, and Python printed "Exception ignored
in <async_generator _BoundedBody.__aiter__>" with a traceback."""

import asyncio
import inspect

import pytest

from chainstudio.core.providers import stream_limits
from chainstudio.core.providers.base import ProviderError


class Endless:
    """A body that sends events forever and says when its iterator was closed."""

    def __init__(self, part: bytes = b"data: {}\n\n"):
        self.part, self.closed, self.iterator_closed = part, False, False

    async def __aiter__(self):
        try:
            while True:
                await asyncio.sleep(0)
                yield self.part
        finally:
            self.iterator_closed = True

    async def aclose(self):
        self.closed = True


def test_the_body_is_no_async_generator_and_closing_it_closes_what_it_read_at_once():
    assert not inspect.isasyncgenfunction(stream_limits._BoundedBody.__aiter__)
    inner = Endless()

    async def read_two_then_close():
        body = stream_limits._bounded_body_class()(inner)
        seen = []
        async for part in body:
            seen.append(part)
            if len(seen) == 2:
                break
        await body.aclose()
        assert [part async for part in body] == []  # closed: nothing more
        return seen

    assert asyncio.run(read_two_then_close()) == [inner.part] * 2
    assert inner.iterator_closed and inner.closed


def test_an_event_that_never_ends_is_refused_and_the_body_closed(monkeypatch):
    monkeypatch.setattr(stream_limits, "MAX_EVENT_BYTES", 1_000)
    inner = Endless(b"x" * 300)

    async def read():
        body = stream_limits._bounded_body_class()(inner)
        async for _ in body:
            pass

    with pytest.raises(ProviderError, match="without ending an event"):
        asyncio.run(read())
    assert inner.iterator_closed and inner.closed
