"""The history written as the run goes: a row at the start, a batch per finished step, the summary at the
end; what a run that never ended had written stays readable; older databases gain the new columns."""

from __future__ import annotations

import sqlite3

from chainstudio.core.run import events as ev
from chainstudio.core.run.state import RunState
from chainstudio.core.storage.history import RunHistory
from tests.core.helpers import fan_out
from tests.core.run.test_state import script
from tests.support.engine import run_simulated


def test_a_recorded_run_reads_back_like_one_added_at_once(tmp_path):
    history = RunHistory(tmp_path / "h.sqlite3")
    graph = fan_out(3)
    recorder = history.recorder(graph, source="test", settings={"concurrency": 2, "api_key": "sk-SECRET"})
    run = run_simulated(graph, run_id="run-live", listeners=[recorder])
    assert recorder.close() is None
    (summary,) = history.runs()
    totals = run.state.totals()
    assert (summary.run_id, summary.status, summary.source) == ("run-live", "succeeded", "test")
    assert (summary.input_tokens, summary.output_tokens, summary.api_calls) == (
        totals.input_tokens,
        totals.output_tokens,
        totals.api_calls,
    )
    assert summary.settings == {"concurrency": 2}
    replay = history.state("run-live")
    assert {s.name: s.output for s in replay.spans.values()} == {s.name: s.output for s in run.state.spans.values()}
    assert not any(isinstance(e, ev.NodeOutputDelta) for e in history.events("run-live"))
    with sqlite3.connect(tmp_path / "h.sqlite3") as db:
        batches = db.execute("SELECT count(*) FROM run_events WHERE run_id = 'run-live'").fetchone()[0]
    assert batches >= 5  # one per ended step (3 model calls, the input, join and output) and the end


def test_a_run_that_never_ended_keeps_its_finished_steps_and_is_listed_as_interrupted(tmp_path):
    history = RunHistory(tmp_path / "h.sqlite3")
    events = script()
    cut = next(i for i, e in enumerate(events) if isinstance(e, ev.NodeFinished)) + 1
    recorder = history.recorder(fan_out(2), source="test")
    for event in events[:cut]:  # the process dies here: no RunFinished, no close()
        recorder(event)
    recorder._jobs.put(None)  # let the writer finish what it was given, as it would before the kill
    assert recorder._thread is not None
    recorder._thread.join(10)
    with sqlite3.connect(tmp_path / "h.sqlite3") as db:
        db.execute("UPDATE runs SET pid = 999999999")  # a process that is gone
    (summary,) = history.runs()
    assert summary.status == "interrupted"
    state = RunState.from_events(history.events(summary.run_id))
    finished = [s for s in state.spans.values() if s.status == "succeeded"]
    assert finished and all(s.output for s in finished if s.kind == "llm")


def test_an_older_database_gains_the_new_columns(tmp_path):
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE runs (run_id TEXT PRIMARY KEY, created_at REAL NOT NULL, source TEXT NOT NULL, file TEXT, "
            "graph_name TEXT NOT NULL, graph_hash TEXT NOT NULL, strategy TEXT NOT NULL, provider TEXT NOT NULL, "
            "simulated INTEGER NOT NULL, concurrency INTEGER, settings TEXT NOT NULL, status TEXT NOT NULL, "
            "wall_ms REAL NOT NULL, node_time_ms REAL NOT NULL, input_tokens INTEGER NOT NULL, "
            "output_tokens INTEGER NOT NULL, api_calls INTEGER NOT NULL, cost_usd REAL, events TEXT NOT NULL)"
        )
        db.execute(
            "INSERT INTO runs VALUES ('old-1', 1.0, 'cli', NULL, 'fan', 'h', 'eager', 'simulated', 1, NULL, '{}', "
            "'succeeded', 1.0, 1.0, 3, 4, 1, 0.5, '')"
        )
    history = RunHistory(path)
    (old,) = history.runs()
    assert (old.run_id, old.tokens_estimated, old.cached_tokens, old.status) == ("old-1", False, 0, "succeeded")
    history.add(script(), fan_out(2), source="cli")
    assert {r.run_id for r in history.runs()} == {"old-1", "run-1"}
    assert history.find("run-") == "run-1" and history.find("old") == "old-1"


def test_the_running_counters_are_the_sums_over_the_steps_at_every_step_end(tmp_path):
    """The row's counters while a run goes are running sums (re-summing every step at each step's end made
    recording 10,000 steps quadratic); they must equal the sums, costs unknown included."""
    history = RunHistory(tmp_path / "h.sqlite3")
    graph = fan_out(6)
    recorder = history.recorder(graph, source="test", settings={})
    checked = []

    def check(event: ev.RunEvent) -> None:
        if isinstance(event, (ev.NodeFinished, ev.NodeFailed, ev.NodeCancelled, ev.NodeTokensCounted)):
            steps = recorder._steps.values()
            _, *sums, cost = recorder._counters(event.t)
            costs = [c for *_, c in steps]
            expected_cost = None if any(c is None for c in costs) else sum(c or 0.0 for c in costs)
            assert sums == [sum(s[i] for s in steps) for i in range(3)]
            assert (cost is None) == (expected_cost is None)
            assert cost is None or abs(cost - expected_cost) < 1e-12
            checked.append(event)

    run_simulated(graph, listeners=[recorder, check])
    assert recorder.close() is None
    assert len(checked) >= 6


def test_a_big_run_s_events_are_encoded_in_pieces_to_the_same_text(tmp_path, monkeypatch):
    """A 10,000-step run's RunStarted (100,000 edges) was one json.dumps call: C code that kept Python's lock
    70-150 ms on the writer thread while the window's thread waited. Long lists are now encoded a piece at a
    time; the text is the one json.dumps gives, and it reads back into the same run."""
    import json

    from chainstudio.core.storage import event_codec

    nodes = tuple(ev.NodeInfo(f"n{i}", f"s{i}", "llm", i, "m") for i in range(50))
    edges = tuple((f"n{i}", f"n{j}") for i in range(50) for j in range(i + 1, min(50, i + 4)))
    started = ev.RunStarted("run-big", 1.0, "big", "eager", "simulated", True, 2, nodes, edges)
    events = [started, ev.NodeFinished("run-big", 2.0, "n0", "out ✓ \ud800", 1, 2)]
    monkeypatch.setattr(event_codec, "PIECE", 16)
    calls: list[object] = []
    real = json.dumps
    monkeypatch.setattr(event_codec.json, "dumps", lambda value, **kw: (calls.append(value), real(value, **kw))[1])
    text = event_codec.dumps(events)
    monkeypatch.setattr(event_codec.json, "dumps", real)
    assert text == "\n".join(real(event_codec.encode(e), ensure_ascii=False) for e in events)
    assert max(len(value) for value in calls if isinstance(value, list)) <= 16  # no call got it all
    history = RunHistory(tmp_path / "h.sqlite3")
    recorder = history.recorder(fan_out(1), source="test", settings={})
    for event in [*events, ev.RunFinished("run-big", 3.0, "cancelled")]:
        recorder(event)
    assert recorder.close() is None
    stored = history.state("run-big")
    assert stored.edges == edges and stored.spans["n0"].output == "out ✓ \ud800"
