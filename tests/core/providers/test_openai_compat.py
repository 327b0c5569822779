"""The OpenAI-compatible provider over real HTTP against the local fake server (127.0.0.1, ephemeral port)."""

import asyncio
import time

import pytest

from chainstudio.core.providers.base import ChatRequest, ProviderError
from chainstudio.core.providers.factory import ProviderSetupError, make_provider
from chainstudio.core.providers.openai_compat import OpenAICompatProvider, OpenAISettings, retry_after
from chainstudio.core.run import events as ev
from chainstudio.core.run.executor import Run, RunContext
from tests.core.helpers import chain, fan_out
from tests.support.engine import run_on_server as run_on
from tests.support.fake_openai_server import FakeOpenAIServer

KEY = "sk-test-123"


@pytest.fixture(scope="module")
def server():
    with FakeOpenAIServer(api_key=KEY, known_models={"gpt-4o", "gpt-4o-mini"}) as srv:
        yield srv


@pytest.fixture
def fresh(server):
    server.reset()
    return server


def provider_for(server, key=KEY):
    return OpenAICompatProvider(OpenAISettings(base_url=server.url, api_key=key))


def ask(server, prompt, *, key=KEY, model="gpt-4o", timeout=10.0):
    async def main():
        provider = provider_for(server, key)
        deltas = []
        try:
            return await provider.stream_chat(
                ChatRequest(model, ({"role": "user", "content": prompt},), timeout=timeout),
                lambda text, t: deltas.append(text),
            ), deltas
        except ProviderError as exc:
            return exc, deltas
        finally:
            await provider.aclose()

    return asyncio.run(main())


def run_on_server(server, graph, **context):
    return run_on(server.url, graph, key=KEY, **context)


def test_streams_and_reports_the_servers_usage_request_id_and_first_token(fresh):
    result, deltas = ask(fresh, "Tell me about qubits")
    stats = fresh.stats
    assert len(deltas) > 3 and "".join(deltas) == result.text
    assert (result.input_tokens, result.output_tokens) == (stats.prompt_tokens, stats.completion_tokens)
    assert result.request_id == stats.log[0]["id"] and result.first_token_at is not None
    assert result.model == "gpt-4o"


def test_429_carries_retry_after_ms_and_retry_after_seconds(fresh):
    err, _ = ask(fresh, "a [[fail=429*1]] [[retry_after_ms=150]]")
    assert (err.status, err.retryable, err.retry_after) == (429, True, 0.15)
    err, _ = ask(fresh, "b [[fail=429*1]] [[retry_after=2]]")
    assert err.retry_after == 2.0
    assert retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert retry_after({}) is None


def test_401_and_404_are_not_retryable_and_keep_the_servers_message(fresh):
    err, _ = ask(fresh, "hi", key="sk-wrong")
    assert (err.status, err.retryable) == (401, False) and "Incorrect API key provided." in str(err)
    err, _ = ask(fresh, "hi", model="gpt-nope")
    assert (err.status, err.retryable) == (404, False) and "gpt-nope" in str(err)


def test_a_dropped_stream_is_a_retryable_dropped_error(fresh):
    err, deltas = ask(fresh, "c [[drop*1]]")
    assert err.kind == "dropped" and err.retryable and err.partial_text == "".join(deltas)


def test_a_hanging_server_times_out(fresh):
    g = chain("a")
    g.node_by_name("a").params.update(prompt="d [[hang]]", timeout=0.5, retries=0)
    t0 = time.monotonic()
    run = run_on_server(fresh, g)
    span = run.state.span_by_name("a")
    assert span.status == "failed" and span.error == "no first token within 0.5 s of the server taking the request"
    assert time.monotonic() - t0 < 5


def test_the_executor_retries_429_500_and_drops_then_succeeds(fresh):
    g = fan_out(3)
    g.node_by_name("b0").params["prompt"] = "x [[fail=429*2]] [[retry_after_ms=120]]"
    g.node_by_name("b1").params["prompt"] = "y [[fail=500*1]]"
    g.node_by_name("b2").params["prompt"] = "z [[drop*1]]"
    run = run_on_server(fresh, g, backoff_base=0.05)
    spans = {s.name: s for s in run.state.spans.values()}
    assert run.state.status == "succeeded"
    assert [spans[n].api_calls for n in ("b0", "b1", "b2")] == [3, 2, 2]
    delays = [e.delay for e in run.events if isinstance(e, ev.NodeRetrying) and e.node_id == spans["b0"].node_id]
    assert delays == [0.12, 0.12]
    b0 = spans["b0"]
    assert b0.attempts[1].start - b0.attempts[0].end >= 0.12 - 1e-3
    stats = fresh.stats
    totals = run.state.totals()
    # the dropped attempt counts what the server processed: its prompt, and the text that came back
    assert totals.input_tokens == stats.prompt_tokens + stats.processed_prompt_tokens
    assert stats.completion_tokens < totals.output_tokens <= stats.completion_tokens + stats.processed_completion_tokens
    assert spans["b2"].tokens_estimated and not spans["b0"].tokens_estimated
    assert totals.api_calls == stats.requests == 7
    assert {spans[n].request_id for n in ("b0", "b1", "b2")} <= {e["id"] for e in stats.log}


def test_the_executor_times_out_a_hanging_request_and_fails_it(fresh):
    g = chain("a")
    g.node_by_name("a").params.update(prompt="[[hang]]", timeout=0.3, retries=1)
    run = run_on_server(fresh, g, backoff_base=0.01)
    span = run.state.span_by_name("a")
    assert span.status == "failed" and span.api_calls == 2 and "0.3 s" in span.error


def test_the_cap_holds_over_real_http(fresh):
    g = fan_out(6)
    for i in range(6):
        g.node_by_name(f"b{i}").params["prompt"] = f"branch {i} [[delay=0.05]]"
    run = run_on_server(fresh, g, concurrency=2)
    assert run.state.status == "succeeded"
    assert fresh.stats.max_in_flight <= 2


def test_cancel_closes_in_flight_requests_promptly(fresh):
    g = fan_out(3)
    for i in range(3):
        g.node_by_name(f"b{i}").params["prompt"] = f"wait {i} [[hang]]"

    async def main():
        provider = provider_for(fresh)
        run = Run(g, RunContext(provider=provider))
        task = asyncio.ensure_future(run.execute())
        while fresh.stats.in_flight < 3:
            await asyncio.sleep(0.01)
        t0 = time.monotonic()
        run.cancel()
        await task
        elapsed = time.monotonic() - t0
        await provider.aclose()
        assert not [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        return run, elapsed

    run, elapsed = asyncio.run(main())
    assert run.state.status == "cancelled" and elapsed < 0.5
    deadline = time.monotonic() + 2
    while fresh.stats.in_flight and time.monotonic() < deadline:
        time.sleep(0.01)
    assert fresh.stats.in_flight == 0  # the server saw the connections go


def test_settings_come_from_the_environment_and_openai_needs_a_key():
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1/", "MY_KEY": "sk-x"}
    provider = make_provider("openai", api_key_env="MY_KEY", env=env)
    assert provider.base_url == "http://127.0.0.1:9/v1" and provider.has_key and not provider.simulated
    assert "OpenAI-compatible" in provider.label
    with pytest.raises(ProviderSetupError, match="OPENAI_API_KEY"):
        make_provider("openai", env={})


def test_the_fake_server_runs_standalone():
    import json
    import subprocess
    import sys
    import urllib.request

    from tests.conftest import ROOT

    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.fake_openai_server", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        with urllib.request.urlopen(f"{url}/models", timeout=10) as response:
            assert "gpt-4o" in {m["id"] for m in json.load(response)["data"]}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
