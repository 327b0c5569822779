"""What a step reads: input values, ancestors' outputs through its templates, local outputs, prepared calls."""

import pytest

from chainstudio.core.graph.model import Graph, GraphInput
from chainstudio.core.graph.templating import TemplateProblem
from chainstudio.core.run import inputs as inputs_module
from chainstudio.core.run.context import RunError
from chainstudio.core.run.inputs import StepInputs, resolve_inputs
from chainstudio.core.run.topology import Plan
from tests.core.helpers import chain, fan_out


def steps_of(graph: Graph, values: dict[str, str] | None = None) -> StepInputs:
    plan = Plan.build(graph, lambda node: 1.0)
    return StepInputs(plan, resolve_inputs(graph, values or {}))


def node(graph: Graph, name: str):
    return graph.node_by_name(name)


def test_input_values_are_defaults_overridden_and_unknown_overrides_are_refused():
    g = Graph("g", inputs=[GraphInput("topic", "qubits"), GraphInput("tone", None)])
    assert resolve_inputs(g, {}) == {"topic": "qubits"}
    assert resolve_inputs(g, {"tone": "dry"}) == {"topic": "qubits", "tone": "dry"}
    with pytest.raises(RunError, match="nope: not an input of 'g' \\(inputs: tone, topic\\)"):
        resolve_inputs(g, {"nope": "x"})


def test_local_outputs_of_input_join_and_output_steps():
    g = fan_out(2)  # topic -> b0, b1 -> merged -> out
    steps = steps_of(g, {"topic": "qubits"})
    assert steps.local_output(node(g, "topic")) == "qubits"
    steps.outputs.update({node(g, "b0").id: "zero", node(g, "b1").id: "one"})
    assert steps.local_output(node(g, "merged")) == "zero\none\n"
    steps.outputs[node(g, "merged").id] = "both"
    assert steps.local_output(node(g, "out")) == "both"  # an empty output template passes upstream through


def test_an_input_without_a_value_is_a_template_problem():
    g = chain("a")
    g.inputs[0].default = None
    with pytest.raises(TemplateProblem, match="graph input 'topic' has no value"):
        steps_of(g).local_output(node(g, "topic"))


def test_a_template_sees_its_ancestors_outputs_only():
    g = fan_out(2)
    node(g, "b1").params["prompt"] = "peek at {{ b0 }}"
    steps = steps_of(g)
    steps.outputs[node(g, "b0").id] = "zero"
    with pytest.raises(TemplateProblem) as problem:
        steps.render(node(g, "b1"), "prompt")
    assert problem.value.message.startswith("template error in step 'b1' (prompt): ")
    assert problem.value.missing == "b0"


def test_prepare_call_renders_system_and_prompt_and_counts_tokens_only_when_asked():
    g = chain("a", "b")
    node(g, "b").params.update(system="Be brief about {{ inputs.topic }}.", max_tokens=50, retries=4, timeout=9.0)
    steps = steps_of(g, {"topic": "qubits"})
    steps.outputs[node(g, "a").id] = "A's answer"
    call = steps.prepare_call(node(g, "b"), count=False)
    assert call.request.messages == (
        {"role": "system", "content": "Be brief about qubits."},
        {"role": "user", "content": "b about A's answer"},
    )
    assert (call.prompt, call.system, call.retries, call.timeout) == (
        "b about A's answer",
        "Be brief about qubits.",
        4,
        9.0,
    )
    assert (call.request.max_tokens, call.request.seed_key, call.estimated_tokens) == (50, "b", 0)
    counted = steps.prepare_call(node(g, "b"), count=True)
    assert counted.estimated_tokens > 50


def test_precompile_after_compiles_what_waits_on_a_step_through_steps_without_a_model_call(monkeypatch):
    compiled: list[str] = []
    monkeypatch.setattr(inputs_module, "precompile", lambda source: compiled.append(source) or True)
    g = fan_out(2)  # topic -> b0, b1 -> merged (join) -> out (output)
    g.add("llm", "after", prompt="after {{ out }}")
    g.connect("out", "after")
    g.add("llm", "later", prompt="later {{ after }}")
    g.connect("after", "later")
    steps = steps_of(g)
    steps.precompile_after(node(g, "b0").id)
    assert "{{ b0 }}\n{{ b1 }}\n" in compiled  # the join's template
    assert "after {{ out }}" in compiled  # through the join and the output, up to the next model call
    assert "later {{ after }}" not in compiled  # compiled while `after` streams, not now
    count = len(compiled)
    steps.precompile_after(node(g, "b1").id)  # the same successors: compiled once per run
    assert len(compiled) == count
