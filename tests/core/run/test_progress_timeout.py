"""A step's timeout measures the model's progress: the first token after the server takes the request, then
the gaps between chunks. Time queued behind the run's older requests at a server of known capacity does
not count against it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from chainstudio.core.clock import Clock
from chainstudio.core.providers.base import ChatRequest, ChatResult, DeltaCallback
from chainstudio.core.run.executor import Run, RunContext
from chainstudio.core.run.virtual_time import run_virtual
from tests.core.helpers import chain, fan_out


@dataclass
class OneAtATime:
    """A server that runs one request at a time: ``ttft`` seconds to the first token, then a chunk every
    ``gap`` seconds (``chunks`` of them), or a stall of ``stall`` seconds after the first chunk."""

    clock: Clock
    ttft: float = 4.0
    gap: float = 1.0
    chunks: int = 3
    stall: float = 0.0
    name: str = "one-at-a-time"
    simulated: bool = True
    label: str = "One at a time (test)"
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def stream_chat(self, request: ChatRequest, on_delta: DeltaCallback) -> ChatResult:
        async with self._lock:
            await self.clock.sleep(self.ttft)
            for i in range(self.chunks):
                if i:
                    await self.clock.sleep(self.stall if (self.stall and i == 1) else self.gap)
                on_delta(f"w{i} ", self.clock.now())
            return ChatResult("done", 1, self.chunks, request.model)

    async def aclose(self) -> None:
        return None


def run_one_at_a_time(graph, *, capacity=None, timeout=6.0, **server):
    for node in graph.nodes.values():
        if node.kind == "llm":
            node.params.update(timeout=timeout, retries=0)

    async def main() -> Run:
        clock = Clock(monotonic=asyncio.get_running_loop().time)
        provider = OneAtATime(clock, **server)
        run = Run(graph, RunContext(provider=provider, clock=clock, capacity=capacity))
        await run.execute()
        return run

    return run_virtual(main())


def test_queueing_at_a_server_of_known_capacity_does_not_count_against_the_timeout():
    # three requests at once on a one-at-a-time server: each takes 6 s (4 s to the first token, 2 more)
    # the third waits 12 s in the server's queue; its 6 s timeout measures only its own 4 s to a token
    unknown = run_one_at_a_time(fan_out(3))
    errors = sorted(s.error or "" for s in unknown.state.spans.values() if s.error)
    assert errors and all(e == "no first token within 6 s of the server taking the request" for e in errors)
    known = run_one_at_a_time(fan_out(3), capacity=1)
    assert known.state.status == "succeeded"
    assert known.state.rel(known.state.end_time) == pytest.approx(18.0)


def test_a_slow_but_steady_answer_longer_than_the_timeout_succeeds():
    run = run_one_at_a_time(chain("a"), timeout=5.0, ttft=4.0, gap=3.0, chunks=5)  # 16 s in all
    assert run.state.status == "succeeded"
    assert run.state.span_by_name("a").duration == pytest.approx(16.0)


def test_an_answer_that_stalls_fails_with_its_own_words():
    run = run_one_at_a_time(chain("a"), timeout=5.0, ttft=1.0, stall=30.0, chunks=3)
    span = run.state.span_by_name("a")
    assert span.status == "failed" and span.error == "the answer stalled: no new text for 5 s"
    assert span.duration == pytest.approx(6.0)  # the first chunk at 1 s, then 5 s without one
    assert span.output == "w0 "
