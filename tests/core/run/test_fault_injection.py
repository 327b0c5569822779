"""Faults injected by the local OpenAI-compatible server (real HTTP on 127.0.0.1): every finished step's
output survives in the run (and its history record), attempts stay within the retries, and no task is left."""

import asyncio
import socket

import pytest

from chainstudio.core.graph.model import Graph, GraphInput
from chainstudio.core.providers.openai_compat import OpenAICompatProvider, OpenAISettings
from chainstudio.core.run.executor import Run, RunContext
from chainstudio.core.storage.history import RunHistory
from tests.support.fake_openai_server import FakeOpenAIServer

KEY = "sk-fault-test"


@pytest.fixture(scope="module")
def server():
    with FakeOpenAIServer(api_key=KEY, chunk_delay=0.001) as srv:
        yield srv


def graph_of(n: int, directive_for, retries: int = 3, timeout: float = 20.0) -> Graph:
    """n LLM steps in layers of 10; each step reads the step 10 before it."""
    g = Graph(f"faults-{n}", inputs=[GraphInput("topic", "faults")])
    for i in range(n):
        upstream = f" after {{{{ s{i - 10} | truncate_chars(40) }}}}" if i >= 10 else ""
        g.add(
            "llm",
            f"s{i}",
            prompt=f"step {i} on {{{{ inputs.topic }}}}{upstream} {directive_for(i)}",
            retries=retries,
            timeout=timeout,
            model="gpt-4o-mini",
            max_tokens=40,
        )
        if i >= 10:
            g.connect(f"s{i - 10}", f"s{i}")
    return g


def run_against(url: str, graph: Graph, key: str = KEY, **context):
    async def main():
        provider = OpenAICompatProvider(OpenAISettings(base_url=url, api_key=key))
        run = Run(graph, RunContext(provider=provider, concurrency=16, backoff_base=0.02, **context))
        try:
            await run.execute()
        finally:
            await provider.aclose()
        left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        return run, left

    run, left = asyncio.run(main())
    assert left == []
    return run


def assert_nothing_lost(run, tmp_path):
    """Every succeeded step's output is in the state and survives a history round trip."""
    history = RunHistory(tmp_path / "history.sqlite3")
    replayed = history.state(history.add(run.events, run.graph, source="test"))
    for nid, span in run.state.spans.items():
        if span.status == "succeeded":
            assert span.output and replayed.spans[nid].output == span.output
    assert replayed.status == run.state.status


def test_429_storm_on_half_the_requests(server, tmp_path):
    server.reset()
    graph = graph_of(50, lambda i: "[[fail=429*2]] [[retry_after_ms=120]]" if i % 2 else "")
    run = run_against(server.url, graph)
    state = run.state
    assert state.status == "succeeded"
    for span in state.spans.values():
        stormed = int(span.name[1:]) % 2 == 1
        assert len(span.attempts) == (3 if stormed else 1) <= 4
        assert [round(b.end - b.start, 2) for b in span.backoffs] == ([0.12, 0.12] if stormed else [])
    assert server.stats.statuses.get(429) == 50
    assert state.totals().api_calls == 100
    assert_nothing_lost(run, tmp_path)


def test_bursts_of_5xx_and_dropped_streams(server, tmp_path):
    server.reset()
    directives = {0: "[[fail=500*3]]", 1: "[[drop*1]]", 2: "[[fail=502*1]]"}
    graph = graph_of(30, lambda i: directives.get(i % 5, ""))
    run = run_against(server.url, graph)
    assert run.state.status == "succeeded"
    attempts = {s.name: len(s.attempts) for s in run.state.spans.values()}
    assert all(attempts[f"s{i}"] == 4 for i in range(0, 30, 5))
    assert all(attempts[f"s{i}"] == 2 for i in range(1, 30, 5))
    assert all(attempts[f"s{i}"] == 2 for i in range(2, 30, 5))
    assert server.stats.dropped == 6 and server.stats.statuses == {500: 18, 502: 6, 200: 36}
    assert_nothing_lost(run, tmp_path)


def test_a_hung_request_times_out_and_the_rest_go_on(server, tmp_path):
    server.reset()
    # The timeout is generous so that the other 19 answers arrive in time on a loaded machine too.
    graph = graph_of(20, lambda i: "[[hang]]" if i == 3 else "", retries=0, timeout=4)
    run = run_against(server.url, graph)
    state = run.state
    hung = state.span_by_name("s3")
    assert hung.status == "failed" and "within 4 s" in hung.error
    assert state.span_by_name("s13").status == "skipped"
    assert all(s.status == "succeeded" for s in state.spans.values() if s.name not in ("s3", "s13"))
    assert state.status == "partial"
    assert_nothing_lost(run, tmp_path)


def test_connection_refused_is_a_clear_error(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when we leave: nothing listens there
    graph = graph_of(10, lambda i: "", retries=1)
    run = run_against(f"http://127.0.0.1:{port}/v1", graph)
    assert run.state.status == "failed"
    for span in run.state.spans.values():
        assert span.status == "failed" and len(span.attempts) == 2
        assert "connect" in span.error.lower()


def test_401_fails_at_once_with_the_servers_message(server, tmp_path):
    server.reset()
    graph = graph_of(10, lambda i: "", retries=3)
    run = run_against(server.url, graph, key="sk-wrong")
    for span in run.state.spans.values():
        assert span.status == "failed" and len(span.attempts) == 1
        assert "401" in span.error and "Incorrect API key" in span.error
    assert server.stats.statuses.get(401) == 10
