import asyncio

import pytest

from chainstudio.core.clock import Clock
from chainstudio.core.planning.calibration import calibrate
from chainstudio.core.planning.estimate import _run_isolated, estimate
from chainstudio.core.planning.latency_model import fit_model
from chainstudio.core.providers.simulated import SimulatedProvider
from chainstudio.core.run.executor import Run, RunContext
from chainstudio.core.run.virtual_time import run_virtual
from chainstudio.core.storage.fileformat import load
from chainstudio.core.storage.history import RunHistory
from tests.conftest import EXAMPLES


def simulated_run(graph, seed, strategy="eager", concurrency=None):
    async def go():
        clock = Clock(monotonic=asyncio.get_running_loop().time)
        run = Run(
            graph,
            RunContext(SimulatedProvider(seed=seed, clock=clock), clock=clock, concurrency=concurrency),
            strategy=strategy,
        )
        await run.execute()
        return run

    return run_virtual(go())


def calibrated_error(graph, strategy, concurrency, calibration_seed, next_seed):
    calibrating = simulated_run(graph, seed=calibration_seed, strategy=strategy, concurrency=concurrency)
    observed = fit_model([calibrating.state], "simulated", graph=graph)
    assert len(observed.steps) == sum(1 for n in graph.nodes.values() if n.kind == "llm")
    predicted = estimate(graph, strategy=strategy, concurrency=concurrency, latency=observed)
    assert predicted.calibrated == len(observed.steps) and not predicted.uncalibrated
    actual = simulated_run(graph, seed=next_seed, strategy=strategy, concurrency=concurrency).state.totals()
    # input tokens are counted on the prompts as they render; outputs follow the observed lengths
    assert abs(predicted.input_tokens - actual.input_tokens) / actual.input_tokens < 0.15
    return abs(predicted.wall_ms / 1000 - actual.wall) / actual.wall


@pytest.mark.parametrize("name", ["research-hybrid", "research-sequential", "research-parallel", "code-review"])
@pytest.mark.parametrize("strategy,concurrency", [("eager", None), ("layered", None), ("eager", 2)])
def test_after_one_calibration_run_the_wall_time_is_within_15_percent(name, strategy, concurrency):
    graph = load(EXAMPLES / f"{name}.chain.json")
    # the next run uses another seed: new latencies and lengths (±15 % jitter per call)
    assert calibrated_error(graph, strategy, concurrency, 1, 2) < 0.15


def test_calibrated_error_over_many_seeds_is_small_on_average():
    graph = load(EXAMPLES / "intent-pipeline.chain.json")
    errors = [calibrated_error(graph, "eager", None, seed, seed + 100) for seed in range(1, 7)]
    assert sum(errors) / len(errors) < 0.15


def test_estimate_shapes_follow_the_strategy_and_cap():
    graph = load(EXAMPLES / "research-parallel.chain.json")
    seq = estimate(graph, strategy="sequential")
    eager = estimate(graph, strategy="eager")
    capped = estimate(graph, strategy="eager", concurrency=1)
    assert seq.wall_ms > 3 * eager.wall_ms
    assert capped.wall_ms == pytest.approx(seq.wall_ms, rel=0.01)
    assert seq.input_tokens == eager.input_tokens and seq.api_calls == eager.api_calls == 6
    assert eager.cost_usd is not None and eager.cost_usd > 0
    assert eager.node("hardware").basis == "simulator profile" and eager.node("topic").basis == "no model call"
    assert eager.critical_path[0] == "topic" and eager.critical_path[-1] == "summary"


def test_budget_warnings():
    graph = load(EXAMPLES / "research-hybrid.chain.json")
    e = estimate(graph)
    assert e.budget_warnings(cost_cap=1.0, token_cap=10**9) == []
    (cost,) = e.budget_warnings(cost_cap=e.cost_usd / 2)
    assert "over the cap" in cost
    (tokens,) = e.budget_warnings(token_cap=100)
    assert f"{e.total_tokens:,} tokens" in tokens


def test_estimate_inside_a_running_loop_and_from_history(tmp_path):
    graph = load(EXAMPLES / "research-hybrid.chain.json")
    history = RunHistory(tmp_path / "h.sqlite3")
    run = simulated_run(graph, seed=3)
    history.add(run.events, graph, source="cli")
    observed = calibrate(history, graph, "simulated")
    assert set(observed.steps) == {n.id for n in graph.nodes.values() if n.kind == "llm"}

    async def inside_loop():
        return estimate(graph, latency=observed)

    predicted = asyncio.run(inside_loop())
    assert predicted.calibrated == 6
    assert abs(predicted.wall_ms / 1000 - run.state.totals().wall) / run.state.totals().wall < 0.05


def test_a_failure_while_estimating_inside_a_running_loop_reaches_the_caller():
    async def fails() -> int:
        raise RuntimeError("the simulation failed")

    async def inside_loop() -> int:
        return _run_isolated(fails)

    with pytest.raises(RuntimeError, match="the simulation failed"):
        asyncio.run(inside_loop())


def without_default(name="research-hybrid"):
    graph = load(EXAMPLES / f"{name}.chain.json")
    graph.inputs[0].default = None
    return graph


def test_an_input_without_a_value_is_estimated_with_a_placeholder_and_named():
    """Issue 12, item 4: a graph input with no default used to give "≈ 0 ms · 0 tok" (the simulated run
    failed at the input step). Now it is estimated with a placeholder, and the estimate says which."""
    from chainstudio.core.planning.estimate import PLACEHOLDER_TOKENS, placeholder_text
    from chainstudio.core.tokens import count_tokens

    assert count_tokens(placeholder_text()) == PLACEHOLDER_TOKENS
    graph = without_default()
    result = estimate(graph)
    assert result.placeholders == ["topic"] and result.problem is None
    assert result.wall_ms > 10_000 and result.api_calls == 6 and result.total_tokens > 3000
    assert "topic has no value" in result.placeholder_note and f"{PLACEHOLDER_TOKENS}-token" in result.placeholder_note
    assert all(n.start_ms is not None for n in result.nodes)
    assert result.to_json()["placeholder_inputs"] == ["topic"]
    # a value given is used, and nothing is a placeholder then
    given = estimate(graph, inputs={"topic": "x " * 400})
    assert given.placeholders == [] and given.input_tokens > result.input_tokens
    # with a default, as before
    assert estimate(load(EXAMPLES / "research-hybrid.chain.json")).placeholders == []


def test_an_estimate_that_cannot_complete_says_why():
    graph = load(EXAMPLES / "research-hybrid.chain.json")
    hardware = graph.node_by_name("hardware")
    hardware.params["prompt"] = "{{ topic | truncate_chars('x') }}"  # renders only at run time, and fails
    result = estimate(graph)
    assert result.problem is not None and "hardware" in result.problem
    assert result.node("security").start_ms is None  # never reached


def test_calibration_keeps_recorded_runs_without_their_answers_and_fits_the_same(tmp_path):
    """The calibration's cache of decoded runs (up to 96) kept their answers: each recorded run of a graph whose
    answers were 20 MB added 40 MB to the next `chainstudio run`'s peak. It keeps what the fit reads."""
    from chainstudio.core.planning import calibration

    graph = load(EXAMPLES / "research-hybrid.chain.json")
    history = RunHistory(tmp_path / "h.sqlite3")
    runs = [simulated_run(graph, seed=seed) for seed in (3, 4)]
    for run in runs:
        history.add(run.events, graph, source="cli")
    whole = [history.state(run.run_id) for run in runs]
    assert all(span.output for state in whole for span in state.spans.values() if span.kind == "llm")
    newest_first = whole[::-1]  # as the history lists them
    expected = fit_model(newest_first, "simulated", graph=graph, graph_states=newest_first)
    observed = calibrate(history, graph, "simulated")
    kept = [state for (path, _), state in calibration._states.items() if path == str(history.path)]
    assert len(kept) == 2 and not any(span.output for state in kept for span in state.spans.values())
    assert not any(state.outputs for state in kept)
    assert observed.steps == expected.steps and observed.fits == expected.fits
