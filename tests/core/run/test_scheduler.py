"""The scheduler on its own: no provider, no event loop, no events. A recording host stands in for the run
and the tests complete model calls by hand, in the order they choose."""

from __future__ import annotations

import pytest

from chainstudio.core.graph.model import Graph, GraphInput
from chainstudio.core.run.scheduler import Scheduler
from chainstudio.core.run.status import StepStatus
from chainstudio.core.run.topology import Plan
from tests.core.helpers import chain, fan_out


class Host:
    """Records what the scheduler asks for, by step name; model steps wait for a slot, the rest succeed."""

    def __init__(self, graph: Graph, local_status: dict[str, StepStatus] | None = None):
        self.graph = graph
        self.local_status = local_status or {}
        self.log: list[tuple[str, str]] = []
        self.started: list[str] = []
        self.done_calls = 0

    def name(self, step: str) -> str:
        return self.graph.nodes[step].name

    def admit(self, step: str) -> StepStatus | None:
        self.log.append(("admit", self.name(step)))
        if self.graph.nodes[step].kind == "llm":
            return None
        return self.local_status.get(self.name(step), StepStatus.SUCCEEDED)

    def skip(self, step: str, reason: str) -> None:
        self.log.append(("skip", f"{self.name(step)}: {reason}"))

    def start(self, step: str) -> None:
        self.log.append(("start", self.name(step)))
        self.started.append(self.name(step))

    def wait(self, step: str) -> None:
        self.log.append(("wait", self.name(step)))

    def all_done(self) -> None:
        self.done_calls += 1


def make(graph: Graph, estimates: dict[str, float] | None = None, local_status=None, **options):
    plan = Plan.build(graph, lambda node: (estimates or {}).get(node.name, 1.0))
    host = Host(graph, local_status)
    return Scheduler(plan, host, **options), host


def sid(graph: Graph, name: str) -> str:
    return graph.node_by_name(name).id


def entries(host: Host, kind: str) -> list[str]:
    return [what for k, what in host.log if k == kind]


def test_eager_releases_a_step_when_its_last_dependency_completes():
    g = fan_out(2)  # topic -> b0, b1 -> merged -> out
    scheduler, host = make(g)
    scheduler.start()
    assert host.log == [("admit", "topic"), ("admit", "b0"), ("admit", "b1"), ("start", "b0"), ("start", "b1")]
    scheduler.finish_call(sid(g, "b0"), StepStatus.SUCCEEDED)
    assert entries(host, "admit")[-1] == "b1"  # merged still waits for b1
    scheduler.finish_call(sid(g, "b1"), StepStatus.SUCCEEDED)
    assert entries(host, "admit")[-2:] == ["merged", "out"]  # steps without a model call complete at once
    assert scheduler.done and host.done_calls == 1
    assert list(scheduler.statuses.values()) == [StepStatus.SUCCEEDED] * 5
    assert scheduler.running == 0


def diamond() -> Graph:
    """topic -> fast -> after_fast -> out; topic -> slow -> out (fast and slow in layer 1)."""
    g = Graph("diamond", inputs=[GraphInput("topic", "t")])
    g.add("input", "topic", input="topic")
    for name in ("fast", "slow", "after_fast"):
        g.add("llm", name, prompt="x")
    g.add("output", "out")
    for a, b in (("topic", "fast"), ("topic", "slow"), ("fast", "after_fast"), ("after_fast", "out"), ("slow", "out")):
        g.connect(a, b)
    return g


def test_layered_releases_a_layer_only_when_the_previous_one_is_done():
    g = diamond()
    scheduler, host = make(g, strategy="layered")
    scheduler.start()
    assert host.started == ["fast", "slow"]
    scheduler.finish_call(sid(g, "fast"), StepStatus.SUCCEEDED)
    assert host.started == ["fast", "slow"]  # after_fast is in the next layer: it waits for slow
    scheduler.finish_call(sid(g, "slow"), StepStatus.SUCCEEDED)
    assert host.started == ["fast", "slow", "after_fast"]


def test_eager_does_not_wait_for_the_layer():
    g = diamond()
    scheduler, host = make(g)
    scheduler.start()
    scheduler.finish_call(sid(g, "fast"), StepStatus.SUCCEEDED)
    assert host.started == ["fast", "slow", "after_fast"]


def test_sequential_has_one_slot_and_plan_order():
    g = diamond()
    scheduler, host = make(g, strategy="sequential", cap=8)
    assert scheduler.cap == 1
    scheduler.start()
    assert host.started == ["fast"]
    scheduler.finish_call(sid(g, "fast"), StepStatus.SUCCEEDED)
    assert host.started == ["fast", "slow"]
    scheduler.finish_call(sid(g, "slow"), StepStatus.SUCCEEDED)
    scheduler.finish_call(sid(g, "after_fast"), StepStatus.SUCCEEDED)
    assert host.started == ["fast", "slow", "after_fast"] and scheduler.done


def test_the_cap_holds_slots_and_those_without_one_are_told_to_wait():
    g = fan_out(4)
    scheduler, host = make(g, cap=2, priority="fifo")
    scheduler.start()
    assert host.started == ["b0", "b1"] and scheduler.running == 2
    assert entries(host, "wait") == ["b2", "b3"]  # reported once, after the admissions of this turn
    scheduler.finish_call(sid(g, "b1"), StepStatus.SUCCEEDED)
    assert host.started == ["b0", "b1", "b2"] and scheduler.running == 2
    assert entries(host, "wait") == ["b2", "b3"]  # a step that waited is not told again


def test_critical_path_priority_starts_the_longest_remaining_path_first():
    g = Graph("prio", inputs=[GraphInput("topic", "t")])
    g.add("input", "topic", input="topic")
    for name in ("short1", "short2", "long_head"):
        g.add("llm", name, prompt="x")
        g.connect("topic", name)
    g.add("llm", "long_tail", prompt="x")
    g.connect("long_head", "long_tail")
    estimates = {"short1": 1.0, "short2": 1.0, "long_head": 1.0, "long_tail": 5.0}
    prio, prio_host = make(g, estimates, cap=1)
    prio.start()
    assert prio_host.started == ["long_head"]
    fifo, fifo_host = make(g, estimates, cap=1, priority="fifo")
    fifo.start()
    assert fifo_host.started == ["short1"]


def test_equal_remaining_paths_start_in_plan_order():
    g = fan_out(3)
    scheduler, host = make(g, cap=1)
    scheduler.start()
    for name in ("b0", "b1"):
        scheduler.finish_call(sid(g, name), StepStatus.SUCCEEDED)
    assert host.started == ["b0", "b1", "b2"]


def test_a_failed_step_skips_its_descendants_with_the_first_cause():
    g = chain("a", "b", "c")  # topic -> a -> b -> c -> out
    scheduler, host = make(g)
    scheduler.start()
    scheduler.finish_call(sid(g, "a"), StepStatus.FAILED)
    assert entries(host, "skip") == [
        "b: upstream step 'a' failed",
        "c: upstream step 'a' failed",  # the first cause, passed on
        "out: upstream step 'a' failed",
    ]
    assert scheduler.status_of(sid(g, "b")) is StepStatus.SKIPPED
    assert scheduler.done and host.started == ["a"]


def test_a_skip_reason_is_passed_on_to_the_descendants():
    g = chain("a", "b", "c")
    scheduler, host = make(g)
    scheduler.start()
    scheduler.finish_call(sid(g, "a"), StepStatus.SKIPPED, "stopped by the token cap")
    assert entries(host, "skip") == [
        "b: stopped by the token cap",
        "c: stopped by the token cap",
        "out: stopped by the token cap",
    ]


def test_a_step_that_fails_at_once_blocks_like_a_failed_call():
    g = chain("a", "b")
    scheduler, host = make(g, local_status={"topic": StepStatus.FAILED})
    scheduler.start()
    assert host.started == []
    assert entries(host, "skip")[0] == "a: upstream step 'topic' failed"
    assert scheduler.done and host.done_calls == 1


def test_after_stop_nothing_is_admitted_and_the_unfinished_can_be_marked_cancelled():
    g = fan_out(3)
    scheduler, host = make(g, cap=1)
    scheduler.start()
    scheduler.stop()
    scheduler.finish_call(sid(g, "b0"), StepStatus.SUCCEEDED)
    assert host.started == ["b0"]  # b1 keeps waiting: nothing starts after stop
    unfinished = scheduler.unfinished()
    assert [g.nodes[n].name for n in unfinished] == ["b1", "b2", "merged", "out"]
    for step in unfinished:
        scheduler.mark_cancelled(step)
    assert scheduler.done and host.done_calls == 0
    assert list(scheduler.statuses)[-4:] == unfinished


@pytest.mark.parametrize("strategy", ["eager", "layered", "sequential"])
def test_an_empty_graph_is_done_at_once(strategy):
    scheduler, host = make(Graph("empty"), strategy=strategy)
    scheduler.start()
    assert scheduler.done and host.log == []


@pytest.mark.parametrize("cap", [None, 2])
def test_with_a_way_back_admitting_stops_after_its_slice_and_goes_on_later_in_the_same_order(cap):
    def drive(sliced: bool) -> tuple[list[tuple[str, str]], int]:
        g = fan_out(5)
        later: list = []
        options = {"defer": later.append, "slice_seconds": 0.0} if sliced else {}
        scheduler, host = make(g, cap=cap, **options)
        turns = 0

        def drain() -> None:  # the loop's later turns
            nonlocal turns
            while later:
                turns += 1
                later.pop(0)()

        scheduler.start()
        drain()
        for i in range(5):
            scheduler.finish_call(sid(g, f"b{i}"), StepStatus.SUCCEEDED)
            drain()
        assert scheduler.done and host.done_calls == 1
        return host.log, turns

    whole, no_turns = drive(sliced=False)
    sliced, turns = drive(sliced=True)
    assert sliced == whole and no_turns == 0
    assert turns >= 10  # each of the 5 admissions and 5 starts in a turn of its own


def test_with_a_way_back_at_most_a_batch_of_steps_is_started_in_one_go():
    # each start's first work (its request) runs in the loop's next turn: 200 started at once would all run
    # in that one turn, so they are started PUMP_STARTS at a time, however fast starting them is
    from chainstudio.core.run.scheduler import PUMP_STARTS

    g = fan_out(200)
    later: list = []
    scheduler, host = make(g, defer=later.append, slice_seconds=3600.0)
    scheduler.start()
    batches = [len(host.started)]
    while later:
        later.pop(0)()
        batches.append(len(host.started) - sum(batches))
    assert batches == [PUMP_STARTS] * (200 // PUMP_STARTS) + [200 % PUMP_STARTS]
    assert len(entries(host, "admit")) == 201  # the input, then all 200 (admitting is cheap here)
