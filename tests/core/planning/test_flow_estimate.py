"""The estimate of map and route steps: a map multiplies by its expected items (declared, recorded or
assumed, and says which); routes give a cost range and, with recorded runs, the expected cost."""

import asyncio

from chainstudio.core.graph.model import Graph, GraphInput
from chainstudio.core.planning.estimate import estimate
from chainstudio.core.planning.flow_estimate import ASSUMED_ITEMS, FlowPlan, flow_history
from chainstudio.core.planning.latency_model import LatencyModel
from chainstudio.core.providers.simulated import SimulatedProvider
from chainstudio.core.run.executor import RunContext, run_graph
from chainstudio.core.storage import fileformat
from tests.conftest import EXAMPLES


def map_graph(expected: int = 0) -> Graph:
    g = Graph("m", inputs=[GraphInput("text", "a\nb\nc")])
    g.add("input", "text", input="text")
    g.add("map", "each", over="{{ text }}", prompt="About {{ item }}", max_tokens=50, expected_items=expected)
    g.connect("text", "each")
    return g


def test_a_map_is_estimated_as_its_declared_items_and_says_so():
    one, ten = estimate(map_graph(1)), estimate(map_graph(10))
    assert (one.api_calls, ten.api_calls) == (1, 10)
    assert ten.node("each").basis == "× 10 items (declared)"
    assert ten.output_tokens > 5 * one.output_tokens


def test_a_map_without_a_declared_count_uses_its_recorded_runs_else_an_assumed_one():
    graph = map_graph()
    assert (
        estimate(graph).node("each").basis
        == f"× {ASSUMED_ITEMS} items (assumed; declare Expected items or run it once)"
    )
    run = asyncio.run(run_graph(graph, RunContext(provider=SimulatedProvider())))
    plan = FlowPlan(graph, flow_history(graph, [run.state]))
    assert plan.items == {graph.resolve("each").id: 3}
    assert plan.item_notes == {"each": "× 3 items (mean of 1 recorded run(s))"}


def test_routes_give_a_cost_range_and_the_figures_are_the_most_expensive_path():
    graph = fileformat.load(EXAMPLES / "intent-router.chain.json")
    result = estimate(graph)
    flow = result.flow
    assert flow is not None and flow.cheapest_cost is not None and flow.costliest_cost is not None
    assert flow.cheapest_cost < flow.costliest_cost == result.cost_usd
    assert flow.costliest_path == ("refunds",) and flow.cheapest_path == ("questions",)
    assert result.node("shipping").cost_usd == 0.0 and result.node("triage").input_tokens > 0
    assert flow.expected_cost is None  # no recorded runs


def test_recorded_branch_frequencies_give_the_expected_cost():
    graph = fileformat.load(EXAMPLES / "intent-router.chain.json")
    states = [asyncio.run(run_graph(graph, RunContext(provider=SimulatedProvider(), seed=s))).state for s in range(4)]
    history = flow_history(graph, states)
    route = graph.resolve("triage").id
    assert history.decided[route] == 4 and sum(history.taken[route].values()) == 4
    latency = LatencyModel(flow=history)
    flow = estimate(graph, latency=latency).flow
    assert flow is not None and flow.expected_cost is not None
    assert flow.cheapest_cost is not None and flow.costliest_cost is not None
    assert flow.cheapest_cost <= flow.expected_cost <= flow.costliest_cost
    assert "expected $" in flow.text()


def test_a_declared_count_over_what_a_run_may_take_is_estimated_as_the_failure_it_would_be():
    """expected_items may say 1,000,000 (the estimate simulated each one: over 300 s and 1.4 GB); a run's
    maps take at most MAX_RUN_ITEMS, so the estimate shows the map failing, at once, as the run would."""
    from chainstudio.core.run.map_step import MAX_RUN_ITEMS

    est = estimate(map_graph(1_000_000))
    assert est.api_calls == 0
    assert est.problem == (
        f"each: the list has 1,000,000 items: a run's maps take at most {MAX_RUN_ITEMS:,} items in all "
        "(split the list, or run the graph as a batch over a dataset)"
    )
