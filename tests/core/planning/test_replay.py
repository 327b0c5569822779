"""Replayed comparisons: every strategy sees the recorded run's outputs and latencies, exactly."""

import asyncio

import pytest

from chainstudio.core.clock import Clock
from chainstudio.core.planning.compare import run_bench
from chainstudio.core.planning.replay import missing_steps, replay_steps, replaying
from chainstudio.core.providers.simulated import SimulatedProvider
from chainstudio.core.run.executor import RunContext
from chainstudio.core.run.virtual_time import run_virtual
from chainstudio.core.storage.fileformat import load
from tests.conftest import EXAMPLES
from tests.support.engine import run_simulated


def test_every_strategy_replays_the_recorded_answers_and_latencies():
    graph = load(EXAMPLES / "research-hybrid.chain.json")
    recorded = run_simulated(graph, seed=3)
    steps = replay_steps(recorded.state)
    assert set(steps) == {n.name for n in graph.nodes.values() if n.kind == "llm"}

    async def main():
        clock = Clock(monotonic=asyncio.get_running_loop().time)

        def live(index):  # the provider here is replaced: any would do
            return RunContext(provider=SimulatedProvider(seed=99, clock=clock), clock=clock)

        return await run_bench(
            [("f", graph)], ["sequential", "layered", "eager"], 1, replaying(live, steps, recorded.run_id, "Sim")
        )

    result = run_virtual(main())
    by_strategy = {row.strategy: row.states[0] for row in result.rows}
    for state in by_strategy.values():
        assert state.outputs == recorded.state.outputs  # the same text for every strategy
        assert state.totals().total_tokens == recorded.state.totals().total_tokens
        for span in state.spans.values():
            if span.kind == "llm":
                original = recorded.state.span_by_name(span.name)
                assert span.duration == pytest.approx(original.duration, abs=1e-6)
                assert span.first_token_at - span.started_at == pytest.approx(
                    original.first_token_at - original.started_at, abs=1e-6
                )
        assert state.started.provider == "replay" and recorded.run_id in state.started.provider_label
    llm_time = sum(s.duration for s in recorded.state.spans.values() if s.kind == "llm")
    assert by_strategy["sequential"].totals().wall == pytest.approx(llm_time, abs=1e-6)
    assert by_strategy["eager"].totals().wall == pytest.approx(recorded.state.totals().wall, abs=1e-6)
    assert by_strategy["eager"].totals().wall < by_strategy["layered"].totals().wall < llm_time


def test_steps_the_recorded_run_cannot_answer_are_named():
    graph = load(EXAMPLES / "research-hybrid.chain.json")
    steps = replay_steps(run_simulated(graph).state)
    del steps["security"]
    assert missing_steps(graph, steps) == ["security"]
