"""Classes 6 and 11 and hostile servers in general: a server that sends values of the wrong type, numbers no
counter holds, broken JSON, a flood, an endless or a crawling stream, or enormous headers ends that step with
a clear one-line error (or a correct result) within its timeout; the other steps and the record are kept."""

from __future__ import annotations

import asyncio
import threading

import pytest

from chainstudio.core import tokens
from chainstudio.core.clock import Clock
from chainstudio.core.graph.model import Graph, GraphInput
from chainstudio.core.providers import openai_compat, simulated
from chainstudio.core.providers.openai_compat import OpenAICompatProvider, OpenAISettings
from chainstudio.core.providers.simulated import SimulatedProvider
from chainstudio.core.run import inputs
from chainstudio.core.run.executor import Run, RunContext
from chainstudio.core.run.state import RunState
from chainstudio.core.storage.history import RunHistory
from tests.support.fake_openai_server import FakeOpenAIServer
from tests.support.hostile import FLOOD_CHUNKS, LONG_ANSWER_CHARS


@pytest.fixture(scope="module")
def server():
    with FakeOpenAIServer(chunk_delay=0) as running:
        yield running


def run_mode(url: str, mode: str, timeout: float = 10.0) -> Run:
    graph = Graph(f"hostile-{mode}")
    graph.add("llm", "hostile", prompt=f"[[hostile={mode}]]", retries=0, timeout=timeout)
    graph.add("llm", "plain", prompt="a plain question", retries=0, timeout=10.0)

    async def main():
        provider = OpenAICompatProvider(OpenAISettings(base_url=url, api_key="sk-test"))
        run = Run(graph, RunContext(provider=provider))
        try:
            await run.execute()
        finally:
            await provider.aclose()
        return run

    run = asyncio.run(main())
    assert run.state.span_by_name("plain").status == "succeeded"
    return run


def recorded(run: Run, tmp_path) -> RunState:
    history = RunHistory(tmp_path / "history.sqlite3")
    return history.state(history.add(run.events, run.graph, source="test", state=run.state))


@pytest.mark.parametrize(
    ("mode", "words"),
    [
        ("content_int", "content is int, not text"),
        ("invalid_json", "malformed stream"),
        ("huge_headers", ""),
    ],
)
def test_a_malformed_answer_fails_its_step_in_one_line(server, tmp_path, mode, words):
    run = run_mode(server.url, mode)
    span = run.state.span_by_name("hostile")
    assert span.status == "failed" and words in span.error and "\n" not in span.error
    replayed = recorded(run, tmp_path)
    assert replayed.span_by_name("plain").output == run.state.span_by_name("plain").output


@pytest.mark.parametrize(
    ("mode", "words"),
    [
        # the timeout measures progress (issue 13): a stream that keeps coming is stopped once it has gone on
        # past max_tokens for the timeout
        ("endless", "went on past max_tokens (512) for 1 s"),
        ("slowloris", "no first token within 1 s"),
    ],
)
def test_a_stream_that_never_ends_times_out(server, mode, words):
    run = run_mode(server.url, mode, timeout=1.0)
    span = run.state.span_by_name("hostile")
    assert span.status == "failed" and words in span.error


def test_absurd_usage_does_not_lose_the_record(server, tmp_path):
    run = run_mode(server.url, "huge_usage")
    assert run.state.span_by_name("hostile").output == "a short answer"
    replayed = recorded(run, tmp_path)  # the write used to fail: 10**30 does not fit a SQLite INTEGER
    assert replayed.span_by_name("hostile").output == "a short answer"
    assert RunHistory(tmp_path / "history.sqlite3").runs()[0].input_tokens <= 2**63 - 1


def test_a_flood_is_kept_whole_and_recorded_without_a_replay(server, tmp_path, monkeypatch):
    run = run_mode(server.url, "flood", timeout=120.0)
    span = run.state.span_by_name("hostile")
    assert span.status == "succeeded" and span.output == "x" * FLOOD_CHUNKS and span.deltas == FLOOD_CHUNKS

    def no_replay(events):
        raise AssertionError("the history replayed the run instead of taking its state")

    monkeypatch.setattr(RunState, "from_events", classmethod(lambda cls, events: no_replay(events)))
    history = RunHistory(tmp_path / "history.sqlite3")
    run_id = history.add(run.events, run.graph, source="test", state=run.state)
    monkeypatch.undo()
    assert history.state(run_id).span_by_name("hostile").output == "x" * FLOOD_CHUNKS


def test_a_long_answer_without_usage_is_counted(server):
    run = run_mode(server.url, "long_no_usage")
    span = run.state.span_by_name("hostile")
    assert span.status == "succeeded" and len(span.output) == LONG_ANSWER_CHARS
    assert 0 < span.output_tokens <= LONG_ANSWER_CHARS // 4


@pytest.fixture
def counted_on(monkeypatch):
    """Records, for every text longer than OFF_LOOP_CHARS that is counted, the thread that counted it."""
    seen: list[tuple[int, int]] = []
    real = tokens.count_tokens

    def recording(text: str) -> int:
        if len(text) > tokens.OFF_LOOP_CHARS:
            seen.append((threading.get_ident(), len(text)))
        return real(text)

    for module in (tokens, openai_compat, inputs, simulated):
        monkeypatch.setattr(module, "count_tokens", recording)
    return seen


def test_a_long_answer_without_usage_is_counted_off_the_loop(server, counted_on):
    loop_threads: list[int] = []

    async def main():
        loop_threads.append(threading.get_ident())
        provider = OpenAICompatProvider(OpenAISettings(base_url=server.url, api_key="sk-test"))
        try:
            for _ in range(2):  # the second answer is counted while it streams: the provider saw no usage
                graph = Graph("long")
                graph.add("llm", "hostile", prompt="[[hostile=long_no_usage]] " + "word " * 2000, retries=0)
                await Run(graph, RunContext(provider=provider)).execute()
        finally:
            await provider.aclose()

    asyncio.run(main())
    assert {length for _, length in counted_on} >= {LONG_ANSWER_CHARS}, counted_on  # counted, and long
    assert not [c for c in counted_on if c[0] in loop_threads], "a long text was counted on the event loop"


def test_a_long_prompt_under_a_budget_is_counted_off_the_loop(counted_on):
    graph = Graph("g", inputs=[GraphInput("doc", "lorem ipsum " * 5000)])
    graph.add("llm", "ask", prompt="Summarise {{ inputs.doc }}", retries=0)
    loop_threads: list[int] = []

    async def main():
        loop_threads.append(threading.get_ident())
        provider = SimulatedProvider(clock=Clock(speed=1000.0))
        context = RunContext(provider=provider, token_cap=10**7)
        return await Run(graph, context).execute()

    state = asyncio.run(main())
    assert state.span_by_name("ask").status == "succeeded"
    assert len(counted_on) >= 2, counted_on  # the budget's estimate and the provider's count
    assert not [c for c in counted_on if c[0] in loop_threads], "a long text was counted on the event loop"


def _run_in_loop(url: str, prompt: str, loop_threads: list[int], **context) -> RunState:
    async def main():
        loop_threads.append(threading.get_ident())
        provider = OpenAICompatProvider(OpenAISettings(base_url=url, api_key="sk-test"))
        graph = Graph("long")
        graph.add("llm", "hostile", prompt=prompt, retries=0, max_tokens=100_000, timeout=60.0)
        try:
            return await Run(graph, RunContext(provider=provider, **context)).execute()
        finally:
            await provider.aclose()

    return asyncio.run(main())


def test_one_huge_chunk_under_a_budget_is_not_counted_on_the_loop(server, counted_on):
    # held out: the budget counted every chunk as it streamed, on the loop (200,000 characters: ~0.2 s)
    loop_threads: list[int] = []
    state = _run_in_loop(server.url, "[[hostile=one_huge_chunk]] [[size=200000]]", loop_threads, token_cap=10**7)
    span = state.span_by_name("hostile")
    assert span.status == "succeeded" and len(span.output) == 200_000
    assert span.tokens_estimated  # usage of 5 tokens for 200,000 characters is not believed
    assert not [c for c in counted_on if c[0] in loop_threads], "a long text was counted on the event loop"


def test_a_dropped_stream_after_a_long_prompt_is_estimated_without_holding_the_loop(server, counted_on):
    # held out: a failed attempt's prompt and partial answer were counted on the loop
    loop_threads: list[int] = []
    state = _run_in_loop(server.url, "[[drop*1]] [[tokens=400]] " + "lorem ipsum " * 20_000, loop_threads)
    span = state.span_by_name("hostile")
    assert span.status == "failed" and span.tokens_estimated and span.input_tokens > 20_000
    assert not [c for c in counted_on if c[0] in loop_threads], "a long text was counted on the event loop"


def test_a_map_over_a_long_list_keeps_a_bounded_number_of_requests_open(monkeypatch):
    """An answer of 20,000 lines mapped with no concurrency cap handed the HTTP client 20,000 requests at
    once; its connection pool scans them all on every change, and none reached the server in 120 s. The
    provider keeps at most MAX_OPEN_REQUESTS open; the rest wait their turn in it (not timed as the model's)."""
    monkeypatch.setattr(openai_compat, "MAX_OPEN_REQUESTS", 4)
    graph = Graph("long-map")
    graph.add("llm", "extract", prompt="list things", retries=0)
    graph.add("map", "each", over="{{ extract }}", prompt="about {{ item }}", retries=0, timeout=5.0)
    graph.connect("extract", "each")
    answer = "\n".join(f"thing{i}" for i in range(40))

    async def main(url: str) -> Run:
        provider = OpenAICompatProvider(OpenAISettings(base_url=url, api_key="sk-test"))
        run = Run(graph, RunContext(provider=provider))
        try:
            await run.execute()
        finally:
            await provider.aclose()
        return run

    with FakeOpenAIServer(answers=[answer], chunk_delay=0.01) as server:
        run = asyncio.run(main(server.url))
        stats = server.stats
    assert run.state.status == "succeeded" and stats.requests == 41
    assert 1 < stats.max_in_flight <= 4, stats.max_in_flight
