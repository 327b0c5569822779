"""The advisor on pick-best steps: n candidates cost n calls' tokens (and the judge reads all n) but, in
parallel, take about the time of one; when they dominate the cost it suggests fewer candidates or a cheaper
model, and Apply drops the last candidate as one undoable edit with its predicted effect."""

import pytest

from chainstudio.core.editing.document import Document
from chainstudio.core.planning.advisor import advise
from chainstudio.core.planning.estimate import estimate
from chainstudio.core.storage.fileformat import dumps, load
from tests.conftest import EXAMPLES

HEADLINES = EXAMPLES / "headline-pick-best.chain.json"  # 5 headline steps, then pick_best "best"


def pick_advice(report):
    return [a for a in report.advice if a.kind == "pick_best"]


def test_five_parallel_candidates_cost_five_times_one_and_take_the_time_of_one():
    report = advise(load(HEADLINES))
    [advice] = pick_advice(report)
    assert advice.title.startswith("Pick best best: 5 candidates cost 5× one (")
    detail = advice.detail
    assert "best keeps 1 of 5 candidates (headline_1, headline_2, headline_3, headline_4, headline_5)" in detail
    assert "picked by a judge call" in detail and "the judge reads all 5" in detail
    assert "Run in parallel they take about as long as one" in detail
    base = report.baseline
    candidates = [base.node(f"headline_{i}") for i in range(1, 6)]
    tokens = sum(n.input_tokens + n.output_tokens for n in candidates)
    assert f"The 5 candidates cost {tokens:,} tokens" in detail
    # candidates and judge are the whole run's cost here: fewer or cheaper candidates are suggested
    assert "100% of the run's cost" in detail and "a cheaper model for them than gpt-4o-mini" in detail
    judge = base.node("best")
    assert judge.cost_usd > sum(n.cost_usd for n in candidates)  # the judge reads all five: it costs more
    assert "here the judge costs more than the candidates, so fewer candidates" in detail
    assert advice.applicable and advice.tokens_change < 0 and advice.cost_change < 0


def test_apply_drops_the_last_candidate_undoably_as_predicted():
    graph = load(HEADLINES)
    before = dumps(graph)
    [advice] = pick_advice(advise(graph))
    doc = Document(graph)
    doc.execute(advice.make_command())
    assert doc.graph.node_by_name("headline_5") is None and doc.graph.node_by_name("headline_4") is not None
    after = estimate(doc.graph)
    base = estimate(load(HEADLINES))
    assert advice.tokens_change == after.total_tokens - base.total_tokens
    assert advice.cost_change == pytest.approx(after.cost_usd - base.cost_usd)
    doc.undo()
    assert dumps(doc.graph) == before


def test_candidates_run_one_after_another_say_how_much_longer_they_take():
    [advice] = pick_advice(advise(load(HEADLINES), strategy="sequential"))
    assert "× the slowest alone" in advice.detail and "one after another" in advice.detail


def test_a_score_field_pick_makes_no_call_and_a_graph_without_pick_best_gets_no_such_advice():
    graph = load(HEADLINES)
    graph.node_by_name("best").params["score_field"] = "score"
    [advice] = pick_advice(advise(graph))
    assert "picked by its score field 'score' (no call)" in advice.detail
    assert pick_advice(advise(load(EXAMPLES / "research-parallel.chain.json"))) == []
