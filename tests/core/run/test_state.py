from chainstudio.core.run import events as ev
from chainstudio.core.run.state import RunState

R = "run-1"


def started(t=0.0):
    nodes = (
        ev.NodeInfo("a", "a", "llm", 0, "m"),
        ev.NodeInfo("b", "b", "llm", 0, "m"),
        ev.NodeInfo("c", "c", "join", 1),
        ev.NodeInfo("o", "o", "output", 2),
    )
    return ev.RunStarted(R, t, "g", "eager", "simulated", True, 2, nodes, (("a", "c"), ("b", "c"), ("c", "o")))


def script():
    return [
        started(100.0),
        ev.NodeQueued(R, 100.0, "a"),
        ev.NodeQueued(R, 100.0, "b"),
        ev.NodeStarted(R, 100.0, "a", 1, "pa"),
        ev.NodeStarted(R, 100.1, "b", 1, "pb"),
        ev.NodeFirstToken(R, 100.3, "a", 1),
        ev.NodeOutputDelta(R, 100.3, "a", 1, "Hel"),
        ev.NodeOutputDelta(R, 100.4, "a", 1, "lo"),
        ev.NodeRetrying(R, 100.5, "b", 1, 0.5, "HTTP 429", 429),
        ev.NodeFinished(R, 101.0, "a", "Hello", 10, 2, 0.001, 1, "req-a"),
        ev.NodeStarted(R, 101.0, "b", 2, "pb"),
        ev.NodeFirstToken(R, 101.2, "b", 2),
        ev.NodeFinished(R, 103.0, "b", "World", 20, 3, None, 2),
        ev.NodeQueued(R, 103.0, "c"),
        ev.NodeFinished(R, 103.0, "c", "Hello World"),
        ev.NodeQueued(R, 103.0, "o"),
        ev.NodeFinished(R, 103.0, "o", "Hello World"),
        ev.RunFinished(R, 103.0, "succeeded", outputs={"o": "Hello World"}),
    ]


def test_reduction_builds_spans_and_totals():
    state = RunState.from_events(script())
    a, b = state.spans["a"], state.spans["b"]
    assert a.status == "succeeded"
    assert [round(state.rel(t), 9) for t in (a.started_at, a.first_token_at, a.ended_at)] == [0.0, 0.3, 1.0]
    assert a.output == "Hello" and a.request_id == "req-a"
    assert [x.number for x in b.attempts] == [1, 2]
    assert b.attempts[0].error == "HTTP 429"
    assert len(b.backoffs) == 1 and b.backoffs[0].start == 100.5 and b.backoffs[0].end == 101.0
    totals = state.totals()
    assert totals.wall == 3.0
    assert round(totals.node_time, 6) == round(1.0 + 2.9, 6)
    assert [state.spans[n].name for n in totals.critical_path] == ["b", "c", "o"]
    assert totals.input_tokens == 30 and totals.output_tokens == 5 and totals.api_calls == 3
    assert totals.cost_usd is None  # b's price is unknown: never silently 0
    assert totals.output_chars == len("Hello World")
    assert state.status == "succeeded"


def test_same_events_same_state_and_foreign_events_ignored():
    events = script()
    one = RunState.from_events(events)
    two = RunState.from_events(events[:5] + [ev.NodeQueued("other", 100.0, "zzz")] + events[5:])
    assert one.totals() == two.totals()
    assert {k: v.status for k, v in one.spans.items()} == {k: v.status for k, v in two.spans.items()}


def test_failed_skipped_cancelled():
    events = script()[:5] + [
        ev.NodeFailed(R, 100.6, "a", "HTTP 401: bad key", 1, 401),
        ev.NodeSkipped(R, 100.6, "c", "upstream a failed"),
        ev.NodeCancelled(R, 100.7, "b", 1),
        ev.RunFinished(R, 100.7, "cancelled"),
    ]
    state = RunState.from_events(events)
    assert state.spans["a"].status == "failed" and "401" in state.spans["a"].error
    assert state.spans["c"].status == "skipped" and state.spans["c"].skip_reason == "upstream a failed"
    assert state.spans["b"].status == "cancelled" and state.spans["b"].ended_at == 100.7
    assert state.spans["o"].status == "pending"
    assert state.status == "cancelled"


def test_live_clock_moves_now_only_while_running():
    events = script()
    state = RunState()
    clock = [100.2]
    state.live_clock = lambda: clock[0]
    for event in events[:6]:
        state.apply(event)
    assert state.now() == 100.3  # the last event is later than the clock
    clock[0] = 100.9
    assert state.now() == 100.9
    for event in events[6:]:
        state.apply(event)
    assert state.now() == 103.0  # finished: the end, whatever the clock says


def test_a_state_follows_one_run_and_ignores_a_second_run_started():
    state = RunState.from_events(script())
    other = ev.RunStarted("run-2", 200.0, "g2", "eager", "simulated", True, None, (), ())
    state.apply(other)
    state.apply(ev.NodeQueued("run-2", 200.0, "a"))
    assert state.run_id == R and state.started is not None and state.started.graph_name == "g"
    assert state.status == "succeeded" and state.spans["a"].status == "succeeded"
    fresh = RunState()
    fresh.apply(ev.NodeQueued(R, 100.0, "a"))  # before any RunStarted: nothing to follow yet
    assert fresh.events_applied == 0 and fresh.status == "idle"


def test_statuses_are_typed_and_read_as_their_plain_values():
    import json

    from chainstudio.core.run.status import RunStatus, StepStatus

    state = RunState.from_events(script())
    span = state.spans["a"]
    assert span.status is StepStatus.SUCCEEDED and state.status is RunStatus.SUCCEEDED
    assert span.done and not StepStatus.RETRYING.done
    assert json.dumps({"status": span.status}) == '{"status": "succeeded"}'
    assert f"{span.status} / {state.status}" == "succeeded / succeeded" and str(span.status) == "succeeded"
    decoded = RunState.from_events([*script()[:-1], ev.RunFinished(R, 103.0, "partial")])  # as from a stored run
    assert decoded.status is RunStatus.PARTIAL


def test_the_critical_path_follows_each_step_that_ends_while_streaming_leaves_it_alone():
    """Asked at every repaint during a run: it must change as soon as a step ends, and a caller's change to
    the list it got must not change the next answer."""
    state = RunState()
    seen = []
    for event in script():
        state.apply(event)
        path, time = state.critical_path()
        seen.append(([state.spans[n].name for n in path], round(time, 6)))
        path.clear()  # the caller's copy
    assert seen[8][1] == 0.0  # nothing ended yet (a streamed two chunks)
    assert seen[9] == (["a"], 1.0)  # a ended at 101.0, b still retrying; c and o have not started
    assert seen[12] == (["b"], 2.9)  # b ended at 103.0: a longer chain at once
    assert seen[14] == (["b", "c"], 2.9)  # c started (and ended) at 103.0: on the path as soon as it ran
    assert seen[-1] == (["b", "c", "o"], 2.9) == ([state.spans[n].name for n in state.totals().critical_path], 2.9)


def stopped_script():
    """a ran and ended, b was running when Stop came (cancelled after 1.9 s); c and o never started."""
    return [
        *script()[:5],  # started; a and b queued, a started at 100.0, b at 100.1
        ev.NodeFinished(R, 101.0, "a", "Hello", 10, 2, 0.001, 1),
        ev.NodeCancelled(R, 102.0, "b", 1),
        ev.NodeCancelled(R, 102.0, "c", 0),
        ev.NodeCancelled(R, 102.0, "o", 0),
        ev.RunFinished(R, 102.0, "cancelled"),
    ]


def test_a_stopped_run_s_critical_path_is_over_the_steps_that_ran():
    """A chain of never-started steps (0 s each) used to end a stopped run's critical path: on the big graph
    ~590 steps that never ran were drawn critical. Only steps that started are on it now."""
    state = RunState.from_events(stopped_script())
    path, seconds = state.critical_path()
    assert path == ["b"] and round(seconds, 6) == 1.9  # b ran longest (cancelled); c and o never started
    assert all(state.spans[n].started_at is not None for n in path)
    assert state.totals().critical_path == ["b"]


def test_nothing_started_no_critical_path():
    state = RunState.from_events([started(100.0), ev.RunFinished(R, 100.5, "cancelled")])
    assert state.critical_path() == ([], 0.0)
