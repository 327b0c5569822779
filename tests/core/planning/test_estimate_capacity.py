"""Estimates, the advisor and run priming with the latency model: honest when uncalibrated, and no promised
speed-up on a server that serves one request at a time."""

import asyncio

import pytest

from chainstudio.core.clock import Clock
from chainstudio.core.planning.advisor import advise
from chainstudio.core.planning.calibration import calibrate, prime, summary_endpoint
from chainstudio.core.planning.estimate import estimate
from chainstudio.core.planning.latency_model import fit_model, with_capacity
from chainstudio.core.providers.scripted import ScriptedProvider
from chainstudio.core.run.executor import Run, RunContext
from chainstudio.core.run.virtual_time import run_virtual
from chainstudio.core.storage.history import RunHistory
from tests.core.planning.test_latency_model import ENDPOINT, record, research, true_server


def test_an_endpoint_without_history_is_uncalibrated_and_shows_a_range():
    graph = research("hybrid")
    result = estimate(graph, latency=fit_model([], "https://api.example.com/v1", graph=graph))
    assert result.uncalibrated and result.uncalibrated_models == ["gpt-4o"]
    low, high = result.wall_ms_range
    assert low < result.wall_ms < high and high > 5 * low
    assert all(n.basis == "uncalibrated" for n in result.nodes if n.kind == "llm")
    assert "uncalibrated: no recorded runs of gpt-4o on https://api.example.com/v1" in result.basis_text()
    data = result.to_json()
    assert data["calibrated"] is False and data["wall_ms_range"] == [low, high]
    assert result.wall_text(lambda ms: f"{ms / 1000:.0f}s") == f"{low / 1000:.0f}s – {high / 1000:.0f}s"


def test_the_simulator_is_its_own_calibration():
    result = estimate(research("hybrid"))
    assert not result.uncalibrated and result.wall_ms_range is None
    assert result.to_json()["calibrated"] is True and result.basis_text() == "simulator profiles"


def test_a_calibrated_model_on_an_unmeasured_capacity_still_shows_the_range():
    calibrating = record(research("sequential"), true_server(1, 1), strategy="sequential")
    latency = fit_model([calibrating], ENDPOINT)
    result = estimate(research("parallel"), model="gemma", latency=latency)
    assert result.uncalibrated_models == [] and result.uncalibrated  # the capacity is the unknown
    assert "capacity not measured yet" in result.basis_text() and "planned with 1 at a time" in result.basis_text()
    low, high = result.wall_ms_range
    assert low < high and result.wall_ms == pytest.approx(high, rel=0.01)  # local: one at a time assumed


@pytest.mark.parametrize("calibrate_on", ["parallel", "hybrid"])
def test_on_a_one_at_a_time_server_every_strategy_takes_as_long(calibrate_on):
    server = true_server(1, 1)
    latency = fit_model([record(research(calibrate_on), server)], ENDPOINT)
    assert latency.capacity.effective == 1 and latency.capacity.measured
    graph = research("parallel")
    eager = estimate(graph, model="gemma", latency=latency)
    sequential = estimate(graph, model="gemma", latency=latency, strategy="sequential")
    assert not eager.uncalibrated and eager.capacity == 1
    assert eager.wall_ms == pytest.approx(sequential.wall_ms, rel=0.03)  # no speed-up predicted
    actual = record(graph, server).totals().wall * 1000
    assert eager.wall_ms == pytest.approx(actual, rel=0.05)
    four = with_capacity(latency, 4)
    assert estimate(graph, model="gemma", latency=four).wall_ms < 0.6 * eager.wall_ms


def test_the_advisor_says_parallelism_will_not_pay_and_recommends_the_capacity():
    latency = fit_model([record(research("parallel"), true_server(1, 1))], ENDPOINT)
    report = advise(research("parallel"), model="gemma", latency=latency)
    first = report.advice[0]
    assert first.kind == "capacity" and first.concurrency == 1
    assert first.title == "Parallelism will not pay on this server: use concurrency 1"
    assert "would put up to 5 calls in flight" in first.detail
    assert not any(a.kind == "concurrency" and a.concurrency != 1 for a in report.advice)
    assert report.to_json()["capacity"] == 1
    report = advise(research("sequential"), model="gemma", latency=latency)  # a chain: nothing to cap
    assert not any(a.kind == "capacity" for a in report.advice)
    edges = next(a for a in report.advice if a.kind == "ordering_edges")
    assert abs(edges.wall_ms_saved) < 0.02 * report.baseline.wall_ms
    assert "On this server it saves no time" in edges.detail
    unlimited = fit_model([record(research("parallel"), true_server(None, None))], ENDPOINT)
    fast = advise(research("sequential"), model="gemma", latency=unlimited)
    assert fast.advice[0].kind == "ordering_edges" and fast.advice[0].wall_ms_saved > 0.3 * fast.baseline.wall_ms


def test_calibrate_reads_the_endpoints_runs_from_the_history_and_primes_a_run(tmp_path):
    history = RunHistory(tmp_path / "h.sqlite3")
    graph = research("parallel")

    async def go():
        clock = Clock(monotonic=asyncio.get_running_loop().time)
        from chainstudio.core.planning.stand_in import StandInProvider

        run = Run(graph, RunContext(StandInProvider(graph, clock, true_server(1, 1)), clock=clock), model="gemma")
        await run.execute()
        return run

    run = run_virtual(go())
    history.add(run.events, graph, source="cli", settings={"base_url": ENDPOINT + "/"})
    (summary,) = history.runs()
    assert summary_endpoint(summary) == ENDPOINT
    model = calibrate(history, graph, ENDPOINT)
    assert model.runs == 1 and model.capacity.effective == 1 and len(model.steps) == 6
    assert calibrate(history, graph, "http://elsewhere:1/v1").runs == 0

    class Remote(ScriptedProvider):
        base_url = ENDPOINT

    context = RunContext(Remote(name="openai"))
    prime(context, history, graph)
    assert context.capacity == 1 and set(context.step_seconds) == set(model.steps)
    aggregate = graph.node_by_name("aggregate").id
    assert context.step_seconds[aggregate] == max(context.step_seconds.values())  # the long prompt's prefill


def test_learned_step_seconds_order_the_queue():
    """Critical-path priority ranks by the context's learned durations, not the provider's uniform guess."""
    from chainstudio.core.graph.model import Graph, GraphInput

    g = Graph("two-chains", inputs=[GraphInput("t", "x")])
    g.add("llm", "short1", prompt="a")
    g.add("llm", "short2", prompt="b")
    g.add("llm", "long", prompt="c")
    g.connect("short1", "short2")  # two short steps in a row against one long one
    ids = {n.name: n.id for n in g.nodes.values()}
    latency = {"short1": 1.0, "short2": 1.0, "long": 5.0}

    class Uniform(ScriptedProvider):
        def estimate_seconds(self, request):  # every step gets the same guess
            return 1.0

    def first_started(step_seconds):
        async def go():
            clock = Clock(monotonic=asyncio.get_running_loop().time)
            provider = Uniform(latency=latency, clock=clock)
            context = RunContext(provider, clock=clock, concurrency=1, step_seconds=step_seconds)
            await Run(g, context).execute()
            return min(provider.starts(), key=provider.starts().get)

        return run_virtual(go())

    assert first_started({}) == "short1"  # the same guess for each: the longer chain of steps first
    assert first_started({ids[name]: seconds for name, seconds in latency.items()}) == "long"
