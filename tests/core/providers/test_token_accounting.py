"""Exact or labelled tokens, prices by the answering model, cached tokens, cut streams and budgets, over real
HTTP against the fake server in the modes of the real servers it stands in for."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from chainstudio.core.providers.base import ChatRequest, ProviderError
from chainstudio.core.providers.openai_compat import INTERRUPTED, OpenAICompatProvider, OpenAISettings
from chainstudio.core.run import events as ev
from chainstudio.core.run.executor import Run, RunContext
from chainstudio.core.run.pricing import Pricing
from chainstudio.core.run.record import run_record
from tests.core.helpers import chain, fan_out
from tests.support.engine import run_on_server
from tests.support.fake_openai_server import FakeOpenAIServer, Mode

PRICED = Pricing({"m": {"input": 1_000_000, "output": 2_000_000, "cached_input": 500_000}}, use_table=False)


def run_on(server: FakeOpenAIServer, graph: Any, **context: Any) -> Run:
    return run_on_server(server.url, graph, **context)


def with_system(graph: Any, system: str = "You are careful. Cite numbers.") -> Any:
    for node in graph.nodes.values():
        if node.kind == "llm":
            node.params["system"] = system
    return graph


def test_without_usage_in_the_stream_tokens_are_labelled_estimated_everywhere():
    with FakeOpenAIServer(mode=Mode(stream_usage=False), default_tokens=30, chunk_delay=0) as server:
        graph = chain("a", "b")
        graph.node_by_name("b").params["max_tokens"] = 10  # the server stops at the limit
        run = run_on(server, graph)
    state = run.state
    a, b = state.span_by_name("a"), state.span_by_name("b")
    assert a.tokens_estimated and b.tokens_estimated and state.totals().tokens_estimated
    assert b.output_tokens == 10  # stopped at max_tokens ("length"): exactly the limit, never more
    assert a.output_tokens <= 512
    record = run_record(state)
    assert record["tokens_estimated"] is True
    assert {n["name"]: n["tokens_estimated"] for n in record["nodes"] if n["name"] in "ab"} == {"a": True, "b": True}
    assert not any(isinstance(e, ev.NodeTokensCounted) for e in run.events)  # no tokenizer to ask


@pytest.mark.parametrize("tokenizer", ["llama.cpp", "llama-cpp-python"])
def test_a_server_tokenizer_makes_the_counts_exact_after_the_run(tokenizer):
    mode = Mode(stream_usage=False, tokenizer=tokenizer, drop_system=tokenizer == "llama-cpp-python")
    with FakeOpenAIServer(mode=mode, default_tokens=20, chunk_delay=0) as server:
        run = run_on(server, with_system(fan_out(3)))
        log = [e for e in server.stats.log if e.get("served") and "prompt_tokens" in e and e["prompt"] != "a"]
    state = run.state
    counted = [e for e in run.events if isinstance(e, ev.NodeTokensCounted)]
    assert len(counted) == 3 and not state.totals().tokens_estimated
    # the server's own figures for the three real requests (probes have the one-letter prompts)
    real = [e for e in log if e["prompt"].startswith("branch")]
    assert len(real) == 3
    assert state.totals().input_tokens == sum(e["prompt_tokens"] for e in real)
    assert state.totals().output_tokens == sum(e["completion_tokens"] for e in real)
    finished = [type(e).__name__ for e in run.events[-4:]]
    assert finished[-1] == "RunFinished" and "NodeTokensCounted" in finished


def test_cached_prompt_tokens_are_read_priced_and_kept():
    with FakeOpenAIServer(mode=Mode(cached_tokens=6), known_models={"m"}, chunk_delay=0) as server:
        graph = chain("a")
        graph.node_by_name("a").params.update(model="m", prompt="the same long preamble " * 5)
        run = run_on(server, graph, pricing=PRICED)
    span = run.state.span_by_name("a")
    assert span.cached_tokens == 6 and not span.tokens_estimated
    uncached = span.input_tokens - 6
    assert span.cost_usd == pytest.approx(uncached * 1.0 + 6 * 0.5 + span.output_tokens * 2.0)
    assert run_record(run.state)["cached_tokens"] == 6


def test_a_call_is_priced_by_the_model_that_answered_with_a_note():
    with FakeOpenAIServer(mode=Mode(answer_model="gemma"), chunk_delay=0) as server:
        graph = chain("a")
        graph.node_by_name("a").params["model"] = "gpt-4o"
        run = run_on(server, graph, pricing=Pricing())
    span = run.state.span_by_name("a")
    assert (span.model, span.requested_model) == ("gemma", "gpt-4o") and span.answered_by_other_model
    assert span.cost_usd is None  # gemma has no price: unknown, not gpt-4o's rate
    node = next(n for n in run_record(run.state)["nodes"] if n["name"] == "a")
    assert node["model"] == "gemma" and node["requested_model"] == "gpt-4o"
    assert "answered by gemma (asked for gpt-4o)" in node["note"]


def test_a_local_server_is_free_unless_priced():
    pricing = Pricing({"mine": {"input": 1, "output": 1}}).for_endpoint("http://127.0.0.1:8080/v1")
    assert pricing.cost_usd("gpt-4o", 1000, 1000) == 0.0 and "free" in pricing.free_note
    assert pricing.cost_usd("mine", 1_000_000, 0) == 1.0
    for url in ("http://localhost:1/v1", "http://10.1.2.3/v1", "http://192.168.0.9:11434/v1", "http://[::1]:8/v1"):
        assert Pricing().for_endpoint(url).free_note
    for url in ("https://api.openai.com/v1", "http://8.8.8.8/v1", None, "not a url"):
        assert not Pricing().for_endpoint(url).free_note


def test_a_stream_cut_by_a_newer_request_is_diagnosed_and_its_prompt_counted():
    mode = Mode(stream_usage=False, one_at_a_time=True, interrupt=True)
    with FakeOpenAIServer(mode=mode, default_tokens=40, chunk_delay=0.01) as server:
        run = run_on(server, fan_out(3), backoff_base=0.01)
        stats = server.stats
    state = run.state
    assert state.status == "succeeded"  # after the first cut the run sends one request at a time
    reasons = [e.reason for e in run.events if isinstance(e, ev.NodeRetrying)]
    assert reasons and all(r == INTERRUPTED for r in reasons)
    assert stats.cut == len(reasons)
    assert "set concurrency 1, or start it with --interrupt_requests False" in INTERRUPTED
    # the cut attempts' prompts were processed by the server: they are counted (and labelled estimated)
    successful_prompts = sum(e["prompt_tokens"] for e in stats.log if e.get("status") == 200 and "tokens" in e)
    assert state.totals().input_tokens == successful_prompts + stats.processed_prompt_tokens
    assert state.totals().tokens_estimated


def test_unbelievable_usage_is_replaced_by_a_labelled_estimate():
    with FakeOpenAIServer(chunk_delay=0) as server:
        graph = chain("a")
        graph.node_by_name("a").params["prompt"] = "x [[usage=100000]]"
        run = run_on(server, graph)
    span = run.state.span_by_name("a")
    assert span.tokens_estimated and span.output_tokens < 100
    assert span.input_tokens >= 0


def test_a_server_that_ignores_max_tokens_is_stopped_at_the_token_cap():
    with FakeOpenAIServer(chunk_delay=0) as server:
        graph = chain("a", "b")
        graph.node_by_name("a").params.update(prompt="x [[ignore_max]] [[tokens=3000]]", max_tokens=100)
        run = run_on(server, graph, token_cap=2000)
    state = run.state
    a = state.span_by_name("a")
    assert a.status == "failed" and a.error.startswith("stopped by the token cap (2,000)")
    assert state.totals().total_tokens <= 2000 + 1  # stopped at the chunk that crossed the cap (one token here)
    assert state.span_by_name("b").status == "skipped"
    assert a.input_tokens > 0 and a.output_tokens > 100  # what it used before the stop is counted


def test_dropped_streams_count_toward_the_budget_so_retries_stop():
    with FakeOpenAIServer(chunk_delay=0) as server:
        graph = chain("a")
        graph.node_by_name("a").params.update(prompt="x [[drop]] [[tokens=400]]", max_tokens=500, retries=20)
        run = run_on(server, graph, token_cap=2000, backoff_base=0.0)
    span = run.state.span_by_name("a")
    assert span.status == "failed" and "token cap" in span.error
    assert span.api_calls < 10 and run.state.totals().total_tokens <= 2000


def test_usage_that_cannot_be_true_is_refused():
    from types import SimpleNamespace as U

    from chainstudio.core.providers.base import ChatRequest
    from chainstudio.core.providers.openai_compat import ABSURD_TOKENS, server_usage

    request = ChatRequest("m", ({"role": "user", "content": "hello there"},), max_tokens=50)
    text = "one two three four"
    assert server_usage(U(prompt_tokens=5, completion_tokens=4), request, text) == (5, 4, 0)
    cached = U(prompt_tokens=50, completion_tokens=4, prompt_tokens_details=U(cached_tokens=32))
    assert server_usage(cached, request, text) == (50, 4, 32)
    reasoning = U(prompt_tokens=5, completion_tokens=900, completion_tokens_details=U(reasoning_tokens=896))
    assert server_usage(reasoning, request, text) == (5, 900, 0)  # hidden reasoning tokens are real
    for bad in (
        U(prompt_tokens=-1, completion_tokens=4),
        U(prompt_tokens=5, completion_tokens=-2_000_000),
        U(prompt_tokens=5.5, completion_tokens=4),
        U(prompt_tokens=True, completion_tokens=4),
        U(prompt_tokens=10**30, completion_tokens=4),
        U(prompt_tokens=ABSURD_TOKENS + 1, completion_tokens=4),
        U(prompt_tokens=5, completion_tokens=100_000),  # more tokens than the answer has bytes
        U(prompt_tokens=5, completion_tokens=4, prompt_tokens_details=U(cached_tokens=6)),
        U(prompt_tokens=None, completion_tokens=4),
        None,
    ):
        assert server_usage(bad, request, text) is None, bad


def test_a_step_stopped_before_its_answer_began_costs_nothing_on_a_free_server():
    # a local server is free: a step cancelled while its request waited for a first token used nothing,
    # so its cost is $0, not unknown (and neither is the run's)
    async def main() -> Run:
        provider = OpenAICompatProvider(OpenAISettings(base_url=server.url, api_key="k"))
        graph = fan_out(2)
        graph.node_by_name("b1").params["prompt"] += " [[hang]]"
        run = Run(graph, RunContext(provider=provider, pricing=Pricing().for_endpoint(server.url)))
        asyncio.get_running_loop().call_later(1.0, run.cancel, "stopped")
        try:
            await run.execute()
        finally:
            await provider.aclose()
        return run

    with FakeOpenAIServer(chunk_delay=0) as server:
        run = asyncio.run(main())
    state = run.state
    hung = state.span_by_name("b1")
    assert state.status == "cancelled" and hung.status == "cancelled" and hung.api_calls == 1
    assert hung.cost_usd == 0.0 and state.span_by_name("b0").cost_usd == 0.0
    assert state.totals().cost_usd == 0.0


def test_a_stream_cut_by_an_earlier_request_that_reached_the_server_late_is_diagnosed():
    """Requests sent together may reach the server in any order: the diagnosis is that another request of
    ours was at the server while this one streamed, not that it was sent later (the three-request test above
    failed once under load this way)."""
    mode = Mode(stream_usage=False, one_at_a_time=True, interrupt=True)
    with FakeOpenAIServer(mode=mode, default_tokens=40, chunk_delay=0.02) as server:
        provider = OpenAICompatProvider(OpenAISettings(base_url=server.url, api_key="k"))

        async def ask(prompt: str) -> Any:
            request = ChatRequest("m", ({"role": "user", "content": prompt},), timeout=10.0)
            try:
                return await provider.stream_chat(request, lambda _text, _at: None)
            except ProviderError as error:
                return error

        async def both() -> list[Any]:
            first = asyncio.ensure_future(ask("sent first [[late=0.3]]"))  # numbered 1, queues after the second
            await asyncio.sleep(0)
            second = asyncio.ensure_future(ask("sent second"))  # numbered 2: streams, then is cut by the first
            return list(await asyncio.gather(first, second))

        first, second = asyncio.run(both())
        assert server.stats.cut == 1
    assert isinstance(second, ProviderError) and str(second) == INTERRUPTED and second.kind == "interrupted"
    assert not isinstance(first, ProviderError) and first.text


@pytest.mark.parametrize("says", [-50, 10**30, 0, 100_000], ids=["negative", "absurd", "zero", "more-than-the-text"])
def test_a_server_tokenizer_that_counts_what_cannot_be_true_is_not_believed(says):
    """The recount after a run took a server tokenizer's word as exact: negative, 10^30, nothing for a
    long answer. Its counts are checked as a response's usage is; one that fails leaves the estimate."""
    mode = Mode(stream_usage=False, tokenizer="llama-cpp-python", tokenize_says=says)
    with FakeOpenAIServer(mode=mode, default_tokens=40, chunk_delay=0) as server:
        run = run_on(server, chain("a"))
    span = run.state.span_by_name("a")
    assert span.tokens_estimated and not any(isinstance(e, ev.NodeTokensCounted) for e in run.events)
    assert 0 < span.input_tokens < 1000 and 0 < span.output_tokens <= 512
