"""The run's start lists its steps and makes their spans when the Run is made, before its loop turns: the
``RunStarted`` of 10,000 steps and 100,000 edges, and the state's 10,000 spans, held the loop 0.1 s at once."""

import asyncio

from chainstudio.core.providers.scripted import ScriptedProvider
from chainstudio.core.run import events as ev
from chainstudio.core.run import state as state_module
from chainstudio.core.run.executor import Run, RunContext
from chainstudio.core.run.state import RunState
from tests.core.helpers import fan_out


def test_run_started_and_its_spans_are_made_before_the_loop_and_not_on_it(monkeypatch):
    made: list[str] = []
    original_spans, original_started = state_module._spans_of, Run._run_started
    monkeypatch.setattr(state_module, "_spans_of", lambda e: made.append("spans") or original_spans(e))
    monkeypatch.setattr(Run, "_run_started", lambda self: made.append("event") or original_started(self))
    run = Run(fan_out(3), RunContext(provider=ScriptedProvider()))
    assert made == ["event", "spans"]  # when the Run is made (the CLI: before asyncio.run)
    made.clear()
    asyncio.run(run.execute())
    assert made == []  # none on the loop
    started = run.events[0]
    assert isinstance(started, ev.RunStarted) and started.t > 0.0  # the time is the start's, set then
    assert run.state.status == "succeeded" and set(run.state.spans) == {n.id for n in started.nodes}


def test_a_prepared_state_folds_exactly_as_a_fresh_one():
    run = Run(fan_out(3), RunContext(provider=ScriptedProvider()))
    asyncio.run(run.execute())
    fresh = RunState.from_events(run.events)  # no preparation: the spans made from the event
    assert fresh.spans == run.state.spans and fresh.status == run.state.status


def test_a_state_prepared_for_one_event_makes_its_own_spans_for_another():
    first = Run(fan_out(2), RunContext(provider=ScriptedProvider()))
    other = Run(fan_out(3), RunContext(provider=ScriptedProvider()))
    state = RunState()
    state.prepare(first._started)
    state.apply(other._started)
    assert set(state.spans) == {n.id for n in other._started.nodes}
