"""A skipped step's place on the Gantt, computed when asked (``SkipAnchors``), is where a pass over every
step in topological order puts it (that pass took 0.1 s of each repaint for 10,000 steps and 100,000 edges)."""

import random

from chainstudio.core.gantt.segments import SkipAnchors, node_segments
from chainstudio.core.graph.analysis import topological_order
from chainstudio.core.run import events as ev
from chainstudio.core.run.state import RunState


def every_anchor(state: RunState) -> dict[str, float]:
    """The reference: all anchors at once, in topological order."""
    start = state.start_time or 0.0
    dag = state.dag()
    anchors: dict[str, float] = {}
    for node in topological_order(dag):
        times = [
            state.spans[src].ended_at if state.spans[src].ended_at is not None else anchors.get(src, start)
            for src in dag.preds[node]
        ]
        anchors[node] = max(times, default=start)
    return anchors


def random_run(seed: int) -> RunState:
    """60 steps, each after up to 3 earlier ones (diamonds included); some ended, the others skipped or
    pending."""
    rng = random.Random(seed)
    ids = [f"n{i}" for i in range(60)]
    edges = tuple(
        (ids[j], ids[i]) for i in range(1, 60) for j in sorted(rng.sample(range(i), min(i, rng.randint(0, 3))))
    )
    nodes = tuple(ev.NodeInfo(n, n, "llm", 0, "m") for n in ids)
    state = RunState()
    state.apply(ev.RunStarted("r", 10.0, "g", "eager", "simulated", True, 4, nodes, edges))
    for i, n in enumerate(ids):
        roll = rng.random()
        if roll < 0.5:
            state.apply(ev.NodeStarted("r", 10.0 + i * 0.1, n, 1, "p"))
            state.apply(ev.NodeFinished("r", 11.0 + rng.random() * 5, n, "x", 1, 1, 0.0, 1))
        elif roll < 0.8:
            state.apply(ev.NodeSkipped("r", 12.0, n, "a dependency failed"))
    return state


def test_each_anchor_asked_is_where_the_whole_pass_puts_it():
    for seed in range(20):
        state = random_run(seed)
        reference = every_anchor(state)
        for order in (list(state.spans), list(reversed(state.spans))):  # asked in any order, memo shared
            anchors = SkipAnchors(state)
            assert {n: anchors.get(n) for n in order} == reference
        assert SkipAnchors(state).get("nowhere", -1.0) == -1.0


def test_a_skipped_step_s_marker_stands_at_its_anchor():
    state = random_run(3)
    skipped = [s for s in state.spans.values() if s.status == "skipped"]
    reference = every_anchor(state)
    assert skipped
    for span in skipped:
        (marker,) = [seg for seg in node_segments(state, span) if seg.kind == "skipped"]
        assert marker.start == marker.end == reference[span.node_id]
