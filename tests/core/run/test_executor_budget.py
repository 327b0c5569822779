from chainstudio.core.run.pricing import Pricing
from chainstudio.core.storage.fileformat import load
from tests.conftest import EXAMPLES
from tests.support.engine import run_simulated


def test_cost_cap_stops_before_the_call_that_would_cross_it():
    graph = load(EXAMPLES / "research-parallel.chain.json")
    free = run_simulated(graph).state
    angles = sum(free.span_by_name(n).cost_usd for n in ("hardware", "software", "commercial", "security", "academic"))
    cap = angles * 1.25  # room for the five angles' worst cases, not for the aggregate's
    run = run_simulated(graph, context={"cost_cap": cap})
    state = run.state
    assert state.span_by_name("aggregate").status == "skipped"
    assert state.span_by_name("aggregate").attempts == []  # the call was never made
    reason = state.span_by_name("aggregate").skip_reason
    assert reason.startswith(f"stopped by the cost cap (${cap:.4f}): step 'aggregate' could cost up to $")
    assert state.span_by_name("summary").status == "skipped"
    assert all(state.span_by_name(n).status == "succeeded" for n in ("hardware", "academic"))
    assert state.totals().cost_usd <= cap
    assert state.status == "failed" and state.message.startswith("Stopped by the cost cap")


def test_token_cap_counts_worst_cases_and_never_exceeds():
    graph = load(EXAMPLES / "research-hybrid.chain.json")
    run = run_simulated(graph, context={"token_cap": 2000})
    state = run.state
    assert state.totals().total_tokens <= 2000
    stopped = [s for s in state.spans.values() if s.skip_reason and "token cap (2,000)" in s.skip_reason]
    assert stopped and all(not s.attempts for s in stopped)
    assert "Stopped by the token cap" in state.message


def test_unknown_price_with_a_cost_cap_makes_no_call():
    graph = load(EXAMPLES / "research-hybrid.chain.json")
    for node in graph.nodes.values():
        if node.kind == "llm":
            node.params["model"] = "no-such-model"
    run = run_simulated(graph, context={"cost_cap": 1.0, "pricing": Pricing(use_table=False)})
    assert run.state.totals().api_calls == 0
    assert "price of model 'no-such-model' is unknown" in run.state.message


def test_no_caps_no_change():
    graph = load(EXAMPLES / "research-hybrid.chain.json")
    assert (
        run_simulated(graph, context={"cost_cap": 100.0, "token_cap": 10**9}).state.totals()
        == run_simulated(graph).state.totals()
    )
