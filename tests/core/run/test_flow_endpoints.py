"""Map and route steps may name an endpoint profile like LLM steps: a map's items and a classifying route's
call go to that endpoint's server (its own key, limiter and prices), the steps after them to theirs. Real
HTTP against three servers on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from chainstudio.core.graph.model import Graph, GraphInput
from chainstudio.core.graph.validation import errors, validate
from chainstudio.core.run.record import run_record
from chainstudio.core.storage import fileformat
from chainstudio.core.storage.settings import Settings
from tests.core.run.test_endpoints import CLOUD_KEY, profiles, run_mixed
from tests.support.fake_openai_server import FakeOpenAIServer


def flow_graph() -> Graph:
    g = Graph("flow-endpoints", inputs=[GraphInput("topic", "tea")])
    g.add("input", "topic", input="topic")
    g.add("map", "each", over='["green", "black", "white"]', prompt="Describe {{ item }} {{ topic }}", endpoint="local")
    g.add(
        "route", "pick", mode="classify", prompt="Is {{ each }} about tea?", labels="yes_path, no_path",
        endpoint="cloud", model="gpt-4o-mini",
    )  # fmt: skip
    g.add("llm", "yes_path", prompt="Yes: {{ topic }}", max_tokens=20)
    g.add("llm", "no_path", prompt="No: {{ topic }}", max_tokens=20)
    for a, b in (("topic", "each"), ("each", "pick"), ("pick", "yes_path"), ("pick", "no_path")):
        g.connect(a, b)
    return g


@pytest.mark.timeout(60)
def test_a_maps_items_and_a_classifying_routes_call_go_to_the_endpoints_they_name():
    with (
        FakeOpenAIServer(chunk_delay=0) as main,
        FakeOpenAIServer(chunk_delay=0) as local,
        FakeOpenAIServer(chunk_delay=0, api_key=CLOUD_KEY, answers=["yes_path"]) as cloud,
    ):
        settings = Settings(provider="openai", base_url=main.url, endpoints=profiles(local.url, cloud.url))
        run = run_mixed(settings, flow_graph(), 0.2)
        main_log, local_log, cloud_log = main.stats.log, local.stats.log, cloud.stats.log
    assert run.state.status == "succeeded", run.state.message
    assert len(local_log) == 3  # the map's three items, on "local"
    assert len(cloud_log) == 1 and cloud_log[0]["model"] == "gpt-4o-mini"  # the route's call, with the cloud key
    assert len(main_log) == 1  # the branch taken, on the run's own provider
    spans = {s.name: s for s in run.state.spans.values()}
    assert (spans["each"].endpoint, spans["pick"].endpoint, spans["yes_path"].endpoint) == ("local", "cloud", "")
    assert spans["pick"].output == "yes_path" and spans["no_path"].status == "not_taken"
    assert spans["pick"].cost_usd is not None and spans["pick"].cost_usd > 0  # the cloud profile's price
    assert spans["each"].cost_usd == 0.0  # a local server is free unless priced
    assert {n["name"]: n["endpoint"] for n in run_record(run.state)["nodes"]}["each"] == "local"


def test_a_map_or_route_naming_an_unknown_profile_is_a_validation_problem_and_the_field_round_trips():
    graph = flow_graph()
    problems = [str(p) for p in errors(validate(graph, endpoints=["local"]))]
    assert problems == ["error: pick.endpoint: endpoint 'cloud' is not a profile in Settings (profiles: local)"]
    text = fileformat.dumps(graph)
    saved = {n["name"]: n for n in json.loads(text)["nodes"]}
    assert saved["each"]["endpoint"] == "local" and "endpoint" not in saved["yes_path"]
    assert fileformat.dumps(fileformat.loads(text)) == text
