"""The run's outcome summary: status, message and returned outputs from the steps' final statuses."""

from chainstudio.core.graph.model import Graph, GraphInput
from chainstudio.core.run.outcome import Outcome, output_steps, summarize
from chainstudio.core.run.status import RunStatus, StepStatus
from chainstudio.core.run.topology import Plan
from tests.core.helpers import chain

S, F, K = StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.SKIPPED


def two_outputs() -> tuple[Plan, dict[str, str]]:
    """topic -> a -> out_a; topic -> b -> out_b."""
    g = Graph("two", inputs=[GraphInput("topic", "t")])
    g.add("input", "topic", input="topic")
    for name in ("a", "b"):
        g.add("llm", name, prompt="x")
        g.add("output", f"out_{name}")
        g.connect("topic", name)
        g.connect(name, f"out_{name}")
    plan = Plan.build(g, lambda node: 1.0)
    return plan, {n.name: n.id for n in g.nodes.values()}


def test_every_step_succeeded():
    plan, ids = two_outputs()
    statuses = {ids[n]: S for n in ("topic", "a", "b", "out_a", "out_b")}
    outputs = {ids["out_a"]: "A", ids["out_b"]: "B", ids["a"]: "a"}
    assert summarize(plan, statuses, outputs) == Outcome(RunStatus.SUCCEEDED, "", {"out_a": "A", "out_b": "B"})


def test_some_outputs_back_is_partial_and_the_message_names_the_failed():
    plan, ids = two_outputs()
    statuses = {ids["topic"]: S, ids["a"]: F, ids["out_a"]: K, ids["b"]: S, ids["out_b"]: S}
    outcome = summarize(plan, statuses, {ids["out_b"]: "B"})
    assert outcome == Outcome(RunStatus.PARTIAL, "1 failed (a), 1 skipped", {"out_b": "B"})


def test_no_output_back_is_failed():
    plan, ids = two_outputs()
    statuses = {ids["topic"]: S, ids["a"]: F, ids["b"]: F, ids["out_a"]: K, ids["out_b"]: K}
    outcome = summarize(plan, statuses, {})
    assert outcome.status is RunStatus.FAILED and outcome.message == "2 failed (a, b), 2 skipped"


def test_a_budget_stop_is_the_message_capitalised():
    plan, ids = two_outputs()
    statuses = {ids["topic"]: S, ids["a"]: K, ids["b"]: S, ids["out_a"]: K, ids["out_b"]: S}
    outcome = summarize(plan, statuses, {ids["out_b"]: "B"}, budget_stop="stopped by the token cap (10)")
    assert outcome == Outcome(RunStatus.PARTIAL, "Stopped by the token cap (10)", {"out_b": "B"})


def test_a_cancelled_run_keeps_the_outputs_it_has_and_says_why():
    plan, ids = two_outputs()
    statuses = {ids["topic"]: S, ids["a"]: S, ids["out_a"]: S}
    statuses.update({ids["b"]: StepStatus.CANCELLED, ids["out_b"]: StepStatus.CANCELLED})
    outcome = summarize(plan, statuses, {ids["out_a"]: "A"}, cancel_reason="stopped by you")
    assert outcome == Outcome(RunStatus.CANCELLED, "stopped by you", {"out_a": "A"})


def test_without_output_steps_the_sinks_are_returned():
    g = chain("a", "b")  # topic -> a -> b -> out
    with_output = Plan.build(g, lambda node: 1.0)
    assert [g.nodes[n].name for n in output_steps(with_output)] == ["out"]
    g.remove_node(g.node_by_name("out").id)
    plan = Plan.build(g, lambda node: 1.0)
    assert [g.nodes[n].name for n in output_steps(plan)] == ["b"]
    b = g.node_by_name("b").id
    outcome = summarize(plan, {n: S for n in plan.ids}, {b: "B"})
    assert outcome.outputs == {"b": "B"}
