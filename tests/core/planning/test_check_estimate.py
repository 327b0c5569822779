"""The estimate of checked steps: a labelled range from every check passing first time (one judge call per
answer) to every repair used (1 + repairs answer and judge pairs); the worst case is what a real run whose
judge rejects every answer until the last repair makes (real HTTP against the fake server); the batch
estimate scales the range by its rows."""

import json

from chainstudio.core.batch.batch import BatchSpec, Variant
from chainstudio.core.batch.dataset import Dataset
from chainstudio.core.batch.estimate import estimate_batch
from chainstudio.core.graph.model import Graph, GraphInput
from chainstudio.core.planning.estimate import estimate
from chainstudio.core.planning.latency_model import LatencyModel
from chainstudio.core.run.pricing import Pricing
from chainstudio.core.storage.fileformat import load
from tests.conftest import EXAMPLES
from tests.core.run.test_structured_checked import run_on
from tests.support.fake_openai_server import FakeOpenAIServer

SQL = load(EXAMPLES / "sql-check-repair.chain.json")  # generate_sql: a schema and a judge, 2 repairs; explain
SQL_ANSWER = json.dumps({"sql": "SELECT name FROM customers", "tables_used": ["customers"]})


def test_a_judged_step_is_estimated_from_one_judge_call_to_every_repair_used():
    result = estimate(SQL)
    checks = result.checks
    assert checks is not None and result.problem is None
    assert checks.steps == {"generate_sql": (2, True)}
    assert (checks.low_calls, checks.high_calls) == (3, 7)  # 1 answer + 1 judge + explain .. 3 + 3 + explain
    assert checks.judge_calls == (1, 3)
    assert result.api_calls == checks.low_calls and result.total_tokens == checks.low_tokens
    assert checks.high_tokens > checks.low_tokens and checks.high_cost > checks.low_cost > 0
    assert checks.high_wall_ms > checks.low_wall_ms
    text = checks.text()
    assert text.startswith("checked steps: 3–7 calls, of them 1–3 judge calls, ")
    assert (
        "(every check passes first time – every repair used: generate_sql 2–6 calls (answer + judge, up to 2 " in text
    )
    assert result.to_json()["checks"]["calls"] == [3, 7]


def test_the_worst_case_is_what_a_run_whose_judge_rejects_until_the_last_repair_makes():
    fail = json.dumps({"pass": False, "reason": "it reads a table that does not exist"})
    ok = json.dumps({"pass": True, "reason": "fine"})
    answers = [SQL_ANSWER, fail, SQL_ANSWER, fail, SQL_ANSWER, ok, "It lists the customers' names."]
    with FakeOpenAIServer(answers=answers) as server:
        state = run_on(server.url, SQL).state
        requests = server.stats.requests
    assert state.status == "succeeded" and requests == 7
    checks = estimate(SQL).checks
    assert checks is not None and state.totals().api_calls == checks.high_calls == 7


def schema_graph(repairs: int) -> Graph:
    schema = json.dumps({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]})
    g = Graph("schema-only", inputs=[GraphInput("q", "how many")])
    g.add("input", "q", input="q")
    g.add("llm", "count", prompt="Count {{ inputs.q }}", output_schema=schema, repairs=repairs)
    g.add("output", "out", template="{{ count.n }}")
    g.connect("q", "count")
    g.connect("count", "out")
    return g


def test_a_schema_checked_step_without_a_judge_ranges_over_its_repairs_only():
    checks = estimate(schema_graph(3)).checks
    assert checks is not None and (checks.low_calls, checks.high_calls) == (1, 4) and checks.judge_calls == (0, 0)
    assert "count 1–4 calls (answer, up to 3 repairs)" in checks.text()
    no_repairs = estimate(schema_graph(0)).checks
    assert no_repairs is not None and (no_repairs.low_calls, no_repairs.high_calls) == (1, 1)


def test_a_graph_without_checks_has_no_range():
    result = estimate(load(EXAMPLES / "research-parallel.chain.json"))
    assert result.checks is None and result.to_json()["checks"] is None


def test_a_cap_that_only_the_worst_case_crosses_is_warned_about():
    result = estimate(SQL)
    checks = result.checks
    assert checks is not None and checks.high_cost is not None and checks.low_cost is not None
    between = (checks.low_cost + checks.high_cost) / 2
    warnings = result.budget_warnings(cost_cap=between)
    assert len(warnings) == 1 and warnings[0].startswith("with every repair of its checked steps used, the run could")
    assert result.budget_warnings(cost_cap=checks.high_cost * 2) == []
    assert result.budget_warnings(token_cap=(checks.low_tokens + checks.high_tokens) // 2)


def test_the_batch_estimate_scales_the_range_by_its_rows():
    rows = [{"question": f"question {i}"} for i in range(4)]
    spec = BatchSpec(Dataset("rows.jsonl", ["question"], rows, "d4"), [Variant("sql", SQL, {})], ["eager"])
    est = estimate_batch(
        spec,
        {spec.configs[0].label: 4},
        latency=lambda graph: LatencyModel(),
        pricing=Pricing(),
        concurrency=None,
        rows_in_flight=lambda graph: 4,
    )
    assert est.calls == 4 * 3 and est.most is not None
    calls, tokens, cost = est.most
    assert calls == 4 * 7 and tokens > est.tokens and cost is not None and est.cost_usd is not None
    assert cost > est.cost_usd
    assert est.range_text().startswith("checked steps: 12–28 calls, ")
    assert est.over_budget((est.cost_usd + cost) / 2, None) is not None
