"""A step's timeout measures the model's progress: the first token after the server takes the request, then
the gaps between chunks. Time queued behind the run's older requests at a server of known capacity does
not count against it."""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass, field

import pytest

from chainstudio.core.clock import Clock
from chainstudio.core.providers.base import ChatRequest, ChatResult, DeltaCallback
from chainstudio.core.providers.openai_compat import OpenAICompatProvider, OpenAISettings
from chainstudio.core.run.executor import Run, RunContext
from chainstudio.core.run.progress import Watchdog
from chainstudio.core.run.virtual_time import run_virtual
from tests.core.helpers import chain, fan_out
from tests.support.engine import run_on_server
from tests.support.fake_openai_server import FakeOpenAIServer, Mode


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


class YoungestFirst(OneAtATime):
    """One request at a time, but the youngest waiting request is served next (not first come, first
    served: llama-cpp-python's server takes its queue in no particular order)."""

    def __init__(self, clock: Clock, **kwargs):
        super().__init__(clock, **kwargs)
        self._busy = False
        self._queue: list[asyncio.Future[None]] = []

    async def stream_chat(self, request: ChatRequest, on_delta: DeltaCallback) -> ChatResult:
        if self._busy:
            turn = asyncio.get_running_loop().create_future()
            self._queue.append(turn)
            await turn
        self._busy = True
        try:
            await self.clock.sleep(self.ttft)
            for i in range(self.chunks):
                if i:
                    await self.clock.sleep(self.gap)
                on_delta(f"w{i} ", self.clock.now())
            return ChatResult("done", 1, self.chunks, request.model)
        finally:
            self._busy = False
            while self._queue:
                turn = self._queue.pop()  # the youngest still waiting
                if not turn.done():
                    turn.set_result(None)
                    break


def run_one_at_a_time(graph, *, capacity=None, timeout=6.0, server_kind=OneAtATime, **server):
    for node in graph.nodes.values():
        if node.kind == "llm":
            node.params.update(timeout=timeout, retries=0)

    async def main() -> Run:
        clock = Clock(monotonic=asyncio.get_running_loop().time)
        provider = server_kind(clock, **server)
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


def test_a_server_that_takes_its_queue_out_of_order_does_not_time_out_the_request_it_passed_over():
    # b0 is served 0-6 s; then the youngest, b2 (6-12 s), then b1 (12-18 s, its first token at 16 s). b1 was
    # thought accepted at 6 s, but when b2's answer began it was clearly still queued: its 6 s count
    # starts again at 12 s, when it is next in line
    run = run_one_at_a_time(fan_out(3), capacity=1, server_kind=YoungestFirst)
    assert run.state.status == "succeeded", [s.error for s in run.state.spans.values() if s.error]
    first_tokens = {s.name: run.state.rel(s.first_token_at) for s in run.state.spans.values() if s.first_token_at}
    assert first_tokens == pytest.approx({"b0": 4.0, "b2": 10.0, "b1": 16.0})


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


def queued_fan_out(n: int, timeout: float, delay: float):
    graph = fan_out(n)
    for node in graph.nodes.values():
        if node.kind == "llm":
            node.params.update(timeout=timeout, retries=0, prompt=node.params["prompt"] + f" [[delay={delay}]]")
    return graph


@pytest.mark.parametrize("tokenizer", [None, "llama-cpp-python"])
def test_a_local_llama_cpp_python_server_is_known_to_run_one_request_at_a_time(tokenizer):
    # four requests at once, served one at a time (0.6 s each to the first token); the fourth waits ~1.8 s
    # in the server's queue. A server that says it is llama-cpp-python's (its /extras/tokenize/count) is
    # known to run one at a time, so the 1.5 s timeouts measure only each request's own wait for a token.
    mode = Mode(one_at_a_time=True, stream_usage=False, tokenizer=tokenizer)
    with FakeOpenAIServer(mode=mode, chunk_delay=0) as server:
        run = run_on_server(server.url, queued_fan_out(4, timeout=1.5, delay=0.6))
    errors = [s.error for s in run.state.spans.values() if s.error]
    if tokenizer is None:  # nothing tells its capacity: the queued requests time out
        assert errors and set(errors) == {"no first token within 1.5 s of the server taking the request"}
    else:
        assert run.state.status == "succeeded", errors
        assert run.context.load().capacity == 1


def test_llama_server_reports_its_slots_and_a_cloud_endpoint_is_not_asked():
    async def capacities() -> tuple[int | None, int | None]:
        with FakeOpenAIServer(mode=Mode(tokenizer="llama.cpp", slots=3)) as server:
            local = OpenAICompatProvider(OpenAISettings(base_url=server.url, api_key="k"))
            cloud = OpenAICompatProvider(OpenAISettings(base_url="https://api.example.invalid/v1", api_key="k"))
            try:
                return await local.server_capacity(), await cloud.server_capacity()
            finally:
                await local.aclose()
                await cloud.aclose()

    assert asyncio.run(capacities()) == (3, None)


def test_a_check_delayed_by_a_held_loop_lets_the_answer_that_arrived_be_read_first():
    # the answer is in the socket before the deadline, but the loop is held past it (this process busy):
    # the check runs late, and must not fail an attempt whose answer merely waits to be read
    async def main() -> bytes:
        ours, theirs = socket.socketpair()
        reader, writer = await asyncio.open_connection(sock=ours)
        dog: Watchdog | None = None

        async def read() -> bytes:
            data = await reader.read(1)
            assert dog is not None
            dog.progress()
            return data

        task = asyncio.get_running_loop().create_task(read())
        await asyncio.sleep(0)  # the reader waits for data
        dog = Watchdog(Clock(), 0.2, task)
        dog.arm()
        theirs.send(b"x")
        time.sleep(0.5)  # the loop is held past the deadline
        try:
            return await task
        finally:
            dog.close()
            writer.close()
            theirs.close()

    assert asyncio.run(main()) == b"x"


def test_an_answer_that_goes_on_past_max_tokens_is_stopped_after_the_timeout():
    # a chunk every 0.5 s, 100 of them, with max_tokens 5: the sixth chunk (at 3 s) is past the limit, so
    # the answer has 2 s more to end; it does not, and is stopped at 5 s
    graph = chain("a")
    graph.node_by_name("a").params["max_tokens"] = 5
    run = run_one_at_a_time(graph, timeout=2.0, ttft=0.5, gap=0.5, chunks=100)
    span = run.state.span_by_name("a")
    assert span.status == "failed"
    assert span.error == "the answer went on past max_tokens (5) for 2 s: the server does not stop"
    assert span.duration == pytest.approx(5.0)
