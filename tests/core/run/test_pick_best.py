"""Pick-best steps: a judge's scores over real HTTP (the fake server) pick the output and are recorded; a
score field picks without a call; the simulator runs the ensemble example offline."""

import asyncio
import json

from chainstudio.core.graph.model import Graph
from chainstudio.core.providers.simulated import SimulatedProvider
from chainstudio.core.run import events as ev
from chainstudio.core.run.executor import Run, RunContext
from chainstudio.core.run.record import run_record
from chainstudio.core.storage.fileformat import load
from tests.conftest import ROOT
from tests.core.run.test_structured_checked import run_on
from tests.support.fake_openai_server import CutOff, FakeOpenAIServer


def ensemble(**pick) -> Graph:
    g = Graph("ensemble")
    for name in ("a", "b", "c"):
        g.add("llm", name, prompt=f"candidate {name}")
    g.add("pick_best", "best", **pick)
    g.add("output", "out")
    for name in ("a", "b", "c"):
        g.connect(name, "best")
    g.connect("best", "out")
    return g


def test_a_judge_scores_the_candidates_and_the_best_is_the_output():
    scores = {
        "scores": [
            {"candidate": "a", "score": 4, "reason": "vague"},
            {"candidate": "b", "score": 9, "reason": "sharp"},
            {"candidate": "c", "score": 6, "reason": "fine"},
        ]
    }
    with FakeOpenAIServer(answers=["answer A", "answer B", "answer C", json.dumps(scores)]) as server:
        run = run_on(server.url, ensemble())
        judge = server.stats.log[-1]
    # the three answers arrive in some order: the judge saw each under its step's name
    assert all(f"### Candidate {n}" in judge["prompt"] for n in "abc")
    assert judge["response_format"]["json_schema"]["name"] == "scores"
    best_b = run.state.span_by_name("b").output
    assert run.state.outputs["out"] == best_b
    scored = [e for e in run.events if isinstance(e, ev.NodeScored)]
    assert len(scored) == 1 and scored[0].best == "b"
    node = next(n for n in run_record(run.state)["nodes"] if n["name"] == "best")
    assert node["picked"] == "b" and [s["score"] for s in node["scores"]] == [4, 9, 6]


def test_scores_cut_off_at_max_tokens_say_so_and_the_repair_asks_for_shorter_reasons():
    cut = CutOff('{"scores": [{"candidate": "a", "score": 4, "reason": "The headline is vague and')
    scores = {"scores": [{"candidate": n, "score": s, "reason": "ok"} for n, s in (("a", 2), ("b", 8), ("c", 5))]}
    with FakeOpenAIServer(answers=["answer A", "answer B", "answer C", cut, json.dumps(scores)]) as server:
        run = run_on(server.url, ensemble(max_tokens=30))
        log = server.stats.log
    span = run.state.span_by_name("best")
    assert span.status == "succeeded" and span.scores is not None and span.scores.best == "b"
    assert span.checks[0].reason.startswith("the answer was cut off at max_tokens (30) before its JSON was complete")
    assert "shorter answer" in log[-1]["messages"][-1]["content"]


def test_a_pick_best_step_whose_scores_are_always_cut_off_fails_saying_why():
    cut = CutOff('{"scores": [{"candidate": "a", "score": 4, "reason": "The headline')
    with FakeOpenAIServer(answers=["answer A", "answer B", "answer C", cut, cut, cut]) as server:
        run = run_on(server.url, ensemble(max_tokens=30))
    error = run.state.span_by_name("best").error or ""
    assert error.startswith("the answer failed its pick check after 2 repairs: the answer was cut off at max_tokens")
    assert "(30) before its JSON was complete: raise Max tokens" in error


def test_a_score_field_picks_without_a_call():
    g = Graph("by-field")
    schema = '{"type":"object","properties":{"text":{"type":"string"},"score":{"type":"number"}},"required":["score"]}'
    for name in ("a", "b"):
        g.add("llm", name, prompt=f"candidate {name}", output_schema=schema)
    g.add("pick_best", "best", score_field="score")
    g.add("output", "out", template="{{ best.score }}")
    for name in ("a", "b"):
        g.connect(name, "best")
    g.connect("best", "out")
    with FakeOpenAIServer(answers=['{"text": "x", "score": 3}', '{"text": "y", "score": 7}']) as server:
        run = run_on(server.url, g)
        calls = server.stats.requests
    assert calls == 2
    assert run.state.outputs["out"] == "7"
    assert run.state.span_by_name("best").scores.basis == "score"


def test_the_ensemble_example_runs_on_the_simulator():
    graph = load(ROOT / "resources" / "examples" / "headline-pick-best.chain.json")
    run = Run(graph, RunContext(provider=SimulatedProvider()))
    asyncio.run(run.execute())
    span = run.state.span_by_name("best")
    assert span.status == "succeeded" and span.scores is not None and len(span.scores.scores) == 5
    assert run.state.outputs["headline"] == run.state.span_by_name(span.scores.best).output


def test_the_estimate_plans_checked_and_pick_best_steps_without_a_problem():
    from chainstudio.core.planning.estimate import estimate

    for name in ("sql-check-repair", "headline-pick-best"):
        result = estimate(load(ROOT / "resources" / "examples" / f"{name}.chain.json"))
        assert result.problem is None, result.problem
        called = {n.name for n in result.nodes if n.kind in ("llm", "pick_best") and n.end_ms is not None}
        assert called >= ({"generate_sql", "explain"} if name == "sql-check-repair" else {"best"})
    sql = estimate(load(ROOT / "resources" / "examples" / "sql-check-repair.chain.json"))
    assert sql.api_calls == 3  # generate_sql, its judge (planned as passing: no repair) and explain
