"""A pick-best step may name an endpoint profile like LLM, map and route steps: its judge call (the candidates
under the criteria) goes to that endpoint's server, with its key, model and prices, while the candidates' own
steps stay on theirs. Real HTTP against two servers on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from chainstudio.core.graph.kinds import ENDPOINT_KINDS
from chainstudio.core.graph.model import Graph, GraphInput
from chainstudio.core.graph.validation import errors, validate
from chainstudio.core.run.record import run_record
from chainstudio.core.storage import fileformat
from chainstudio.core.storage.settings import Settings
from tests.core.run.test_endpoints import CLOUD_KEY, profiles, run_mixed
from tests.support.fake_openai_server import FakeOpenAIServer

SCORES = {
    "scores": [
        {"candidate": "a", "score": 3, "reason": "vague"},
        {"candidate": "b", "score": 8, "reason": "sharp"},
    ]
}


def judged_graph(endpoint: str = "cloud") -> Graph:
    g = Graph("judged-elsewhere", inputs=[GraphInput("topic", "tea")])
    g.add("input", "topic", input="topic")
    for name in ("a", "b"):
        g.add("llm", name, prompt=f"candidate {name} on {{{{ topic }}}}", max_tokens=20)
        g.connect("topic", name)
    g.add("pick_best", "best", endpoint=endpoint, model="gpt-4o-mini")
    g.add("output", "out")
    for a, b in (("a", "best"), ("b", "best"), ("best", "out")):
        g.connect(a, b)
    return g


@pytest.mark.timeout(60)
def test_a_pick_best_steps_judge_call_goes_to_the_endpoint_it_names():
    with (
        FakeOpenAIServer(chunk_delay=0) as main,
        FakeOpenAIServer(chunk_delay=0, api_key=CLOUD_KEY, answers=[json.dumps(SCORES)]) as cloud,
    ):
        settings = Settings(provider="openai", base_url=main.url, endpoints=profiles(main.url, cloud.url))
        run = run_mixed(settings, judged_graph(), 0.2)
        main_log, cloud_log = main.stats.log, cloud.stats.log
    assert run.state.status == "succeeded", run.state.message
    assert len(main_log) == 2  # the candidates, on the run's own provider
    assert len(cloud_log) == 1  # the judge, on "cloud", with its key (the server refuses any other)
    judge = cloud_log[0]
    assert judge["model"] == "gpt-4o-mini" and judge["response_format"]["json_schema"]["name"] == "scores"
    assert all(f"### Candidate {n}" in judge["prompt"] for n in "ab")
    spans = {s.name: s for s in run.state.spans.values()}
    assert (spans["a"].endpoint, spans["best"].endpoint) == ("", "cloud")
    assert spans["best"].scores is not None and spans["best"].scores.best == "b"
    assert run.state.outputs["out"] == spans["b"].output
    assert spans["best"].cost_usd is not None and spans["best"].cost_usd > 0  # the cloud profile's price
    assert {n["name"]: n["endpoint"] for n in run_record(run.state)["nodes"]}["best"] == "cloud"


def test_a_pick_best_naming_an_unknown_profile_is_a_validation_problem_and_the_field_round_trips():
    assert "pick_best" in ENDPOINT_KINDS
    graph = judged_graph("elsewhere")
    problems = [str(p) for p in errors(validate(graph, endpoints=["local", "cloud"]))]
    assert problems == [
        "error: best.endpoint: endpoint 'elsewhere' is not a profile in Settings (profiles: cloud, local)"
    ]
    text = fileformat.dumps(judged_graph())
    saved = {n["name"]: n for n in json.loads(text)["nodes"]}
    assert saved["best"]["endpoint"] == "cloud" and "endpoint" not in saved["a"]
    assert fileformat.dumps(fileformat.loads(text)) == text
