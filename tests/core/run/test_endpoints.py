"""Endpoints per step (issue 15): each LLM step may name an endpoint profile; a run gives each endpoint its
own provider, rate limiter, capacity and prices. Real HTTP against two servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest

from chainstudio.core.gantt.text import row_tag, tooltip_html
from chainstudio.core.graph.model import Graph, GraphInput
from chainstudio.core.graph.validation import errors, validate
from chainstudio.core.launch import RunOptions, RunServices, UnknownEndpoint, build_context, run_model
from chainstudio.core.run.executor import Run, RunError
from chainstudio.core.run.rate_limits import RateLimits
from chainstudio.core.run.record import run_record
from chainstudio.core.storage import fileformat
from chainstudio.core.storage.endpoint_profiles import EndpointProfile, parse_profiles
from chainstudio.core.storage.settings import Settings
from tests.conftest import EXAMPLES
from tests.support.fake_openai_server import FakeOpenAIServer

CLOUD_KEY = "sk-CLOUD-SENTINEL-4b1d"


def mixed(local: int, cloud: int) -> Graph:
    """``local`` steps on endpoint "local" and ``cloud`` steps on "cloud", all in parallel, then a join."""
    g = Graph("mixed", inputs=[GraphInput("topic", "t")])
    g.add("input", "topic", input="topic")
    names = [(f"l{i}", "local", "llama3.1:8b") for i in range(local)] + [
        (f"c{i}", "cloud", "gpt-4o-mini") for i in range(cloud)
    ]
    for name, endpoint, model in names:
        g.add("llm", name, prompt=f"{name} on {{{{ topic }}}}", endpoint=endpoint, model=model, max_tokens=20)
        g.connect("topic", name)
    g.add("join", "merged", template="".join(f"{{{{ {n} }}}}\n" for n, _, _ in names))
    for name, _, _ in names:
        g.connect(name, "merged")
    g.add("output", "out")
    g.connect("merged", "out")
    return g


def profiles(local_url: str, cloud_url: str) -> list[EndpointProfile]:
    return [
        EndpointProfile("local", local_url, requests_per_minute=1, capacity=4),
        EndpointProfile(
            "cloud",
            cloud_url,
            key_ref="stored",
            requests_per_minute=2,
            price_overrides={"gpt-4o-mini": {"input": 1.0, "output": 2.0}},
        ),
    ]


def run_mixed(settings: Settings, graph: Graph, window: float) -> Run:
    """A real run of ``graph`` with each endpoint's rate-limit window shortened to ``window`` seconds."""
    services = RunServices(profile_key=lambda p: CLOUD_KEY if p.name == "cloud" else None)
    context = build_context(settings, RunOptions(provider="openai", base_url=settings.base_url), services)
    lane_of = context.endpoint_lane
    assert lane_of is not None

    def short_window(name: str):  # type: ignore[no-untyped-def]
        lane = lane_of(name)
        assert lane is not None and lane.rate_limits is not None
        lane.rate_limits = dataclasses.replace(lane.rate_limits, window=window)
        return lane

    context.endpoint_lane = short_window
    run = Run(graph, context)
    asyncio.run(run.execute())
    return run


@pytest.mark.timeout(60)
def test_each_step_goes_to_its_endpoint_under_that_endpoints_own_rate_limit():
    window = 1.0
    with FakeOpenAIServer(chunk_delay=0) as local, FakeOpenAIServer(chunk_delay=0, api_key=CLOUD_KEY) as cloud:
        settings = Settings(provider="openai", base_url=local.url, endpoints=profiles(local.url, cloud.url))
        run = run_mixed(settings, mixed(3, 2), window)
        local_log, cloud_log = local.stats.log, cloud.stats.log
        local_most, _ = local.windows(window)
        cloud_most, _ = cloud.windows(window)
    assert run.state.status == "succeeded", run.state.message
    # each step went to its endpoint (the cloud server accepts only its key: it really was sent)
    assert sorted(e["model"] for e in local_log) == ["llama3.1:8b"] * 3
    assert sorted(e["model"] for e in cloud_log) == ["gpt-4o-mini"] * 2
    # per-endpoint limits: local (1 per window) never had two in a window; cloud (2) was not held by local's
    assert local_most == 1
    assert cloud_most == 2
    spans = run.state.spans
    assert {s.name: s.endpoint for s in spans.values() if s.kind == "llm"} == {
        "l0": "local",
        "l1": "local",
        "l2": "local",
        "c0": "cloud",
        "c1": "cloud",
    }
    # prices by endpoint: the local server is free, the cloud profile's own price applies
    assert all(spans[n].cost_usd == 0.0 for n in spans if spans[n].name.startswith("l"))
    cloud_costs = [s.cost_usd for s in spans.values() if s.name.startswith("c")]
    assert all(c is not None and c > 0 for c in cloud_costs)
    record = run_record(run.state)
    assert {n["name"]: n["endpoint"] for n in record["nodes"]}["c1"] == "cloud"
    assert record["endpoints"] == {"local": f"local · {local.url}", "cloud": f"cloud · {cloud.url}"}


def test_an_unknown_profile_is_a_one_line_validation_problem_and_stops_a_real_run():
    graph = mixed(1, 1)
    problems = errors(validate(graph, endpoints=["local"]))
    assert [str(p) for p in problems] == [
        "error: c0.endpoint: endpoint 'cloud' is not a profile in Settings (profiles: local)"
    ]
    assert not errors(validate(graph))  # on the simulated provider any name will do
    settings = Settings(endpoints=[EndpointProfile("local", "http://127.0.0.1:9/v1")])
    context = build_context(settings, RunOptions(provider="openai", base_url="http://127.0.0.1:9/v1"))
    with pytest.raises(RunError, match="endpoint 'cloud' is not a profile in Settings"):
        Run(graph, context)
    with pytest.raises(UnknownEndpoint, match="no endpoint profile 'nope'"):
        build_context(settings, RunOptions(provider="openai", endpoint="nope"))


def test_the_mixed_example_runs_on_the_simulated_provider_out_of_the_box_labelled():
    graph = fileformat.load(EXAMPLES / "mixed-local-cloud.chain.json")
    context = build_context(Settings(), RunOptions(speed=1000.0))
    run = Run(graph, context)
    asyncio.run(run.execute())
    assert run.state.status == "succeeded"
    assert run.state.simulated
    assert dict(run.endpoints) == {"local": "local (simulated)", "cloud": "cloud (simulated)"}
    assert {s.endpoint for s in run.state.spans.values() if s.kind == "llm"} == {"local", "cloud"}
    brief = run.state.span_by_name("brief")
    assert "<td>cloud (simulated)</td>" in tooltip_html(run.state, brief)  # the Gantt's tooltip
    assert row_tag(brief) == "@cloud · gpt-4o"  # the Gantt's row label


def test_a_profile_sets_its_steps_model_and_the_run_model_only_the_others():
    graph = mixed(1, 1)
    graph.add("llm", "plain", prompt="x")
    settings = Settings(endpoints=[EndpointProfile("local", "", default_model="gemma3")])
    run = Run(graph, build_context(settings, RunOptions(speed=1000.0)), model="gpt-4o")
    models = {n.name: n.param("model") for n in run.graph.nodes.values() if n.kind == "llm"}
    assert models == {"l0": "gemma3", "c0": "gpt-4o-mini", "plain": "gpt-4o"}


def test_the_runs_own_endpoint_profile_sets_its_server_model_and_limits():
    local = EndpointProfile("local", "http://127.0.0.1:9/v1", default_model="gemma3", requests_per_minute=30)
    settings, options = Settings(endpoints=[local]), RunOptions(provider="openai", endpoint="local")
    assert run_model(settings, options) == "gemma3"
    assert run_model(settings, dataclasses.replace(options, model="m")) == "m"
    context = build_context(settings, options)
    assert context.provider.label.endswith("http://127.0.0.1:9/v1")
    assert context.rate_limits == RateLimits(30, None)
    assert context.pricing.free_note  # a local server: free unless priced


def test_file_format_version_3_only_when_a_step_names_an_endpoint(tmp_path):
    graph = mixed(1, 1)
    text = fileformat.dumps(graph)
    assert json.loads(text)["version"] == 3
    assert fileformat.dumps(fileformat.loads(text)) == text  # save -> load -> save identical
    for node in graph.nodes.values():
        node.params.pop("endpoint", None)
    plain = json.loads(fileformat.dumps(graph))
    assert plain["version"] == 1 and all("endpoint" not in n for n in plain["nodes"])
    old = json.loads(text)
    old["version"] = 2
    with pytest.raises(fileformat.LoadError, match=r"nodes\[1\]\.endpoint: needs format version 3"):
        fileformat.from_document(old)


def test_profiles_from_a_hand_edited_settings_file_keep_the_good_ones():
    data = [
        {"name": "local", "base_url": "http://localhost:11434/v1", "requests_per_minute": 60},
        {"name": "local", "base_url": "twice"},
        {"name": "9bad"},
        {"name": "cloud", "key_ref": "env:MY_KEY", "capacity": 0},
        {"name": "cloud2", "key_ref": "env:MY_KEY", "price_overrides": {"m": {"input": 1, "output": 2}}},
        "junk",
    ]
    assert [p.name for p in parse_profiles(data)] == ["local", "cloud2"]
    assert Settings.from_dict({"endpoints": data}).endpoints[0].requests_per_minute == 60
