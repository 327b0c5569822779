"""A step's timeout measures the model's progress, not this process's own backlog (issue 14, at the limits):
time a request waits in a provider's own queue (the simulated provider generates one answer per loop turn,
on this process's CPU) is left out, and a release of thousands of steps at once is admitted a slice at a
time, so the run's loop keeps turning. A model that makes no progress still times out."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import pytest

from chainstudio.core.clock import Clock
from chainstudio.core.providers import simulated
from chainstudio.core.providers.base import ChatRequest, ChatResult, DeltaCallback, request_queued, request_sent
from chainstudio.core.providers.simulated import SimulatedProvider
from chainstudio.core.run import events as ev
from chainstudio.core.run import scheduler
from chainstudio.core.run.executor import Run, RunContext
from chainstudio.core.run.virtual_time import run_virtual
from tests.core.helpers import fan_out
from tests.support.engine import run_on_server
from tests.support.fake_openai_server import FakeOpenAIServer


@dataclass
class OwnQueue:
    """A provider whose server takes one request at a time from a queue of its own and says so
    (``request_queued``): each request waits ``queued`` seconds for its turn, then its first token comes
    ``ttft`` seconds later (never, with ``stall``)."""

    clock: Clock
    queued: float = 30.0
    ttft: float = 2.0
    stall: bool = False
    name: str = "own-queue"
    simulated: bool = True
    label: str = "Own queue (test)"
    calls: list[str] = field(default_factory=list)

    async def stream_chat(self, request: ChatRequest, on_delta: DeltaCallback) -> ChatResult:
        request_sent()
        request_queued(True)
        await self.clock.sleep(self.queued)
        request_queued(False)
        await self.clock.sleep(self.ttft if not self.stall else 3600.0)
        on_delta("done", self.clock.now())
        return ChatResult("done", 1, 1, request.model)

    async def aclose(self) -> None:
        return None


def run_own_queue(**provider: object) -> Run:
    graph = fan_out(1)
    graph.node_by_name("b0").params.update(timeout=5.0, retries=0)

    async def main() -> Run:
        clock = Clock(monotonic=asyncio.get_running_loop().time)
        run = Run(graph, RunContext(provider=OwnQueue(clock, **provider), clock=clock))  # type: ignore[arg-type]
        await run.execute()
        return run

    return run_virtual(main())


def test_time_in_a_provider_s_own_queue_does_not_count_against_the_timeout():
    # 30 s waiting for its turn, then the first token 2 s after it: within the 5 s timeout
    run = run_own_queue()
    span = run.state.span_by_name("b0")
    assert span.status == "succeeded", span.error
    assert run.state.rel(span.first_token_at) == pytest.approx(32.0)


def test_a_model_that_makes_no_progress_after_the_queue_still_times_out():
    run = run_own_queue(stall=True)
    span = run.state.span_by_name("b0")
    assert span.status == "failed"
    assert span.error == "no first token within 5 s of the server taking the request"
    assert span.duration == pytest.approx(35.0)  # 30 s in the queue, then the 5 s of the model's own


def test_calls_waiting_for_the_simulated_provider_s_turn_are_not_timed_out(monkeypatch):
    # 250 calls at once; each answer takes the simulated provider 3 ms of CPU to generate (one per loop
    # turn), so the last waits ~0.75 s of real time for its turn: at --speed 200 that is 150 s, well over a
    # step's 60 s timeout. The wait is this process's work, not the model's: every step succeeds.
    real_text = simulated.simulated_text

    def slow_text(*args: object, **kwargs: object) -> str:
        time.sleep(0.003)
        return real_text(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(simulated, "simulated_text", slow_text)
    graph = fan_out(250)
    for node in graph.nodes.values():
        if node.kind == "llm":
            node.params.update(retries=0, max_tokens=20)

    async def main() -> Run:
        clock = Clock(speed=200.0)
        run = Run(graph, RunContext(provider=SimulatedProvider(clock=clock), clock=clock))
        await run.execute()
        return run

    run = asyncio.run(main())
    failed = {s.name: s.error for s in run.state.spans.values() if s.status != "succeeded"}
    assert run.state.status == "succeeded", list(failed.items())[:3]


def test_among_many_streams_a_stalled_answer_and_a_hung_request_still_time_out():
    graph = fan_out(24)
    for node in graph.nodes.values():
        if node.kind == "llm":
            node.params.update(timeout=1.0, retries=0)
    graph.node_by_name("b3").params["prompt"] += " [[stall=2]] [[tokens=20]]"
    graph.node_by_name("b7").params["prompt"] += " [[hang]]"
    with FakeOpenAIServer() as server:
        run = run_on_server(server.url, graph)
    spans = {s.name: s for s in run.state.spans.values()}
    assert spans["b3"].status == "failed" and spans["b3"].error == "the answer stalled: no new text for 1 s"
    assert spans["b3"].output and len(spans["b3"].output.split()) == 2  # the two words before the stall
    assert spans["b7"].status == "failed"
    assert spans["b7"].error == "no first token within 1 s of the server taking the request"
    others = [s for name, s in spans.items() if name.startswith("b") and name not in ("b3", "b7")]
    assert len(others) == 22 and all(s.status == "succeeded" for s in others)


def test_a_fan_out_is_admitted_a_slice_at_a_time_and_the_loop_turns_between(monkeypatch):
    # with a slice of 0 s each admission and each start is its own loop turn: a counter that goes up once a
    # turn sees the 200 NodeQueued events in many turns, not one; the run is the same
    monkeypatch.setattr(scheduler, "PUMP_SLICE", 0.0)
    graph = fan_out(200)
    turns_at_queued: list[int] = []

    async def main() -> Run:
        loop = asyncio.get_running_loop()
        turn = [0]

        def tick() -> None:  # until the last admission (virtual time moves only when the loop is idle)
            turn[0] += 1
            if len(turns_at_queued) < 200:
                loop.call_soon(tick)

        loop.call_soon(tick)
        clock = Clock(monotonic=loop.time)
        run = Run(graph, RunContext(provider=SimulatedProvider(clock=clock), clock=clock))

        def listen(event: ev.RunEvent) -> None:
            if isinstance(event, ev.NodeQueued) and graph.nodes[event.node_id].kind == "llm":
                turns_at_queued.append(turn[0])

        run.add_listener(listen)
        await run.execute()
        return run

    run = run_virtual(main())
    assert run.state.status == "succeeded"
    assert len(turns_at_queued) == 200
    assert len(set(turns_at_queued)) >= 100  # spread over the loop's turns


@pytest.mark.parametrize("capacity", [None, 1, 3])
def test_the_server_load_accepts_as_a_full_rescan_would(capacity):
    # the load keeps counters and stops its scan early (a 9,997-step fan-out rescanned every request at each
    # one's start and end); random starts, first tokens and ends must leave exactly the requests accepted that
    # a full rescan names: the oldest waiting ones that fit in the room the served ones leave
    import random

    from chainstudio.core.run.progress import ServerLoad

    rng = random.Random(capacity or 0)
    load = ServerLoad(capacity)
    tickets: list = []
    for step in range(600):
        roll = rng.random()
        if roll < 0.45 or not tickets:
            tickets.append(load.enter(lambda: None, lambda: None))
        elif roll < 0.7:
            load.serving(rng.choice(tickets))
        else:
            load.leave(tickets.pop(rng.randrange(len(tickets))))
        if step == 300:  # the server was seen to cut streams off: one at a time from the next request
            load.exclusive = True
            tickets.append(load.enter(lambda: None, lambda: None))
        waiting = [t for t in tickets if not t.served]
        limit = 1 if load.exclusive else capacity
        room = len(waiting) if limit is None else max(0, limit - (len(tickets) - len(waiting)))
        expected = [i < room for i in range(len(waiting))]
        assert [t.accepted for t in waiting] == expected, step


def test_a_flood_s_chunks_received_at_once_are_read_a_slice_at_a_time(monkeypatch):
    # the fake server writes its 5,000 one-character chunks a thousand at a time; the client parses those it
    # already has without waiting on the socket. With a slice of 0 s the loop gets a turn after every chunk:
    # a counter that goes up once a turn sees the flood's chunks in thousands of turns, not a few reads' worth
    from chainstudio.core.providers import openai_compat
    from chainstudio.core.providers.openai_compat import OpenAICompatProvider, OpenAISettings
    from tests.support.hostile import FLOOD_CHUNKS

    monkeypatch.setattr(openai_compat, "READ_SLICE", 0.0)
    graph = fan_out(1)
    graph.node_by_name("b0").params.update(prompt="[[hostile=flood]]", retries=0, max_tokens=8000)
    turns_at_delta: list[int] = []

    async def main(url: str) -> Run:
        loop = asyncio.get_running_loop()
        turn = [0]
        done = asyncio.Event()

        def tick() -> None:
            turn[0] += 1
            if not done.is_set():
                loop.call_soon(tick)

        loop.call_soon(tick)
        provider = OpenAICompatProvider(OpenAISettings(base_url=url, api_key="k"))
        run = Run(graph, RunContext(provider=provider))

        def listen(event: ev.RunEvent) -> None:
            if isinstance(event, ev.NodeOutputDelta):
                turns_at_delta.append(turn[0])

        run.add_listener(listen)
        try:
            await run.execute()
        finally:
            done.set()
            await provider.aclose()
        return run

    with FakeOpenAIServer(chunk_delay=0) as server:
        run = asyncio.run(main(server.url))
    assert run.state.span_by_name("b0").output == "x" * FLOOD_CHUNKS
    assert len(set(turns_at_delta)) >= FLOOD_CHUNKS // 2


def test_the_history_recorder_hashes_the_graph_when_it_is_made_not_on_the_run_s_loop(tmp_path, monkeypatch):
    # for 10,000 steps the hash takes ~0.1 s; the recorder used to take it at the run's start and again at
    # its end, on the loop. Made before the run (the CLI makes it before its loop starts), it hashes once.
    from chainstudio.core.storage import history as history_module
    from chainstudio.core.storage.history import RunHistory, graph_hash
    from tests.support.engine import run_simulated

    graph = fan_out(3)
    history = RunHistory(tmp_path / "h.sqlite3")
    recorder = history.recorder(graph, source="test")

    def no_hash_now(graph):
        raise AssertionError("the graph was hashed during the run")

    monkeypatch.setattr(history_module, "graph_hash", no_hash_now)
    run_simulated(graph, run_id="run-hashed", listeners=[recorder])
    assert recorder.close() is None
    monkeypatch.undo()
    (summary,) = history.runs()
    assert summary.status == "succeeded" and summary.graph_hash == graph_hash(graph)


def test_the_history_row_at_a_run_s_end_does_not_compute_the_critical_path(monkeypatch):
    # the row keeps no critical path; computing it spent 0.2 s of a 10,000-step run's loop at its end
    from dataclasses import replace

    from chainstudio.core.run.state import RunState
    from chainstudio.core.storage.history import summary_row
    from tests.support.engine import run_simulated

    graph = fan_out(3)
    run = run_simulated(graph)
    whole = run.state.totals()
    assert whole.critical_path
    assert run.state.totals(path=False) == replace(whole, critical_path=[], critical_path_time=0.0)

    def no_path(self):
        raise AssertionError("the critical path was computed for the history row")

    monkeypatch.setattr(RunState, "critical_path", no_path)
    row = summary_row(run.state, graph, source="test", file=None, settings={})
    assert row["api_calls"] == whole.api_calls and row["output_tokens"] == whole.output_tokens
