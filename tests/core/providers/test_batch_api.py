"""The Batch API client against the fake server's ``/v1/files`` and ``/v1/batches`` (real HTTP)."""

import asyncio
import json

import pytest

from chainstudio.core.batch.api_runner import BatchApiRunner
from chainstudio.core.batch.batch import BATCH_API
from chainstudio.core.batch.results import Cell, Config
from chainstudio.core.batch.runner import BatchJob, RowOptions
from chainstudio.core.providers.base import ChatRequest, ProviderError
from chainstudio.core.providers.batch_api import BatchClient, parse_line
from chainstudio.core.providers.openai_compat import OpenAISettings
from chainstudio.core.run.pricing import Pricing
from chainstudio.core.storage.fileformat import load
from tests.conftest import EXAMPLES
from tests.support.fake_openai_server import FakeOpenAIServer

KEY = "sk-batch-secret-4242"


def client_for(server, key=KEY):
    return BatchClient(OpenAISettings(base_url=server.url, api_key=key), poll_seconds=0.02)


def submit(server, requests, progress=None, key=KEY):
    async def go():
        async with client_for(server, key) as client:
            return await client.run(requests, progress)

    return asyncio.run(go())


def request(prompt, max_tokens=20):
    return ChatRequest(model="gpt-4o-mini", messages=({"role": "user", "content": prompt},), max_tokens=max_tokens)


def test_a_batch_is_uploaded_polled_through_its_statuses_and_merged_back_per_request():
    seen = []
    with FakeOpenAIServer(api_key=KEY) as server:
        server.batches.step_delay = 0.1
        requests = [(f"q{i}", request(f"question {i} [[tokens={5 + i}]]")) for i in range(6)]
        answers = submit(server, requests, seen.append)
        stats = server.stats
    assert [a.custom_id for a in answers] == [f"q{i}" for i in range(6)]
    assert sum(a.output_tokens for a in answers) == stats.completion_tokens
    assert all(a.ok and a.text and a.model == "gpt-4o-mini" for a in answers)
    assert sum(a.input_tokens for a in answers) == stats.prompt_tokens
    statuses = [p.status for p in seen]
    assert statuses[0] == "validating" and statuses[-1] == "completed" and "finalizing" in statuses
    assert seen[-1].completed == seen[-1].total == 6
    assert stats.requests == 6  # every line answered once, through the server's chat endpoint


def test_failed_requests_come_back_as_errors_and_the_rest_as_answers():
    with FakeOpenAIServer() as server:
        requests = [("ok", request("fine")), ("bad", request("broken [[fail=500]]"))]
        answers = submit(server, requests)
    assert answers[0].ok and not answers[1].ok
    assert answers[1].error == "scripted HTTP 500"


def test_a_failed_batch_raises_one_line_and_the_key_never_shows():
    with FakeOpenAIServer(api_key=KEY) as server:
        with pytest.raises(ProviderError) as wrong_key:
            submit(server, [("a", request("x"))], key="sk-wrong-key-0000")
        server.batches.files["file-bad"] = ("x.jsonl", "batch", b"not json\n")

        async def failing():
            async with client_for(server) as client:
                batch = await client._client.batches.create(
                    input_file_id="file-bad", endpoint="/v1/chat/completions", completion_window="24h"
                )
                return await client.wait(batch.id)

        with pytest.raises(ProviderError) as failed:
            asyncio.run(failing())
    assert "HTTP 401" in str(wrong_key.value) and "Incorrect API key" in str(wrong_key.value)
    assert "failed" in str(failed.value) and "\n" not in str(failed.value)
    assert KEY not in str(wrong_key.value) + str(failed.value)


def test_duplicate_custom_ids_are_refused_before_anything_is_sent():
    with FakeOpenAIServer() as server:
        with pytest.raises(ProviderError, match="its own custom_id"):
            submit(server, [("a", request("x")), ("a", request("y"))])
        assert server.stats.http_requests == 0


@pytest.mark.parametrize(
    "line",
    [
        "not json",
        "[]",
        '{"custom_id": 3}',
        json.dumps({"custom_id": "x", "response": {"status_code": 200, "body": []}}),
    ],
)
def test_broken_output_lines_never_crash(line):
    answer = parse_line(line)
    assert answer is None or (answer.custom_id == "x" and answer.input_tokens == 0)


def test_a_chain_runs_one_batch_per_layer_and_is_priced_at_the_tables_batch_price():
    graph = load(EXAMPLES / "research-sequential.chain.json")
    config = Config("research-sequential", BATCH_API)
    jobs = [BatchJob(Cell(config, 0, i), {"topic": f"topic number {i}"}) for i in range(12)]
    progress = []
    with FakeOpenAIServer() as server:

        async def go():
            async with client_for(server) as client:
                runner = BatchApiRunner(client, Pricing(), lambda *p: progress.append(p))
                return [r async for r in runner.run_rows(graph, jobs, RowOptions())]

        results = asyncio.run(go())
        stats, batches = server.stats, len(server.batches.batches)
    llm_steps = sum(n.kind == "llm" for n in graph.nodes.values())
    assert batches == llm_steps and {p[1] for p in progress} == {llm_steps}
    assert len(results) == 12 and all(r.status == "succeeded" and r.strategy == BATCH_API for r in results)
    assert stats.requests == 12 * llm_steps
    assert sum(r.input_tokens for r in results) == stats.prompt_tokens
    assert sum(r.output_tokens for r in results) == stats.completion_tokens
    pricing = Pricing()
    for r in results:
        assert r.price == "genai-prices batch price"
        standard = float(pricing.cost("gpt-4o", r.input_tokens, r.output_tokens))
        assert abs(r.cost_usd - standard / 2) < 1e-12  # gpt-4o's batch price is half its standard price
        assert r.output and r.output == r.outputs["aggregate"]


def test_a_failed_call_fails_its_row_and_the_other_rows_go_on():
    graph = load(EXAMPLES / "research-sequential.chain.json")
    config = Config("research-sequential", BATCH_API)
    jobs = [
        BatchJob(Cell(config, 0, i), {"topic": f"topic {i}" + (" [[fail=500]]" if i == 1 else "")}) for i in range(3)
    ]
    with FakeOpenAIServer() as server:

        async def go():
            async with client_for(server) as client:
                return [r async for r in BatchApiRunner(client, Pricing()).run_rows(graph, jobs, RowOptions())]

        results = asyncio.run(go())
    assert [r.status for r in results] == ["succeeded", "failed", "succeeded"]
    assert results[1].error.endswith("scripted HTTP 500") and results[1].api_calls == 1
