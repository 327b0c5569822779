from chainstudio.core.graph.model import Edge, Graph, GraphInput
from chainstudio.core.graph.validation import errors, ordering_only_edges, validate
from tests.core.helpers import chain, fan_out


def messages(g):
    return [(p.severity, p.location, p.message) for p in validate(g)]


def test_clean_graph_has_no_problems():
    assert validate(fan_out(3)) == []
    assert validate(chain("a", "b", "c")) == []


def test_cycle_names_the_nodes():
    g = chain("a", "b", "c")
    g.connect("c", "a")
    errs = errors(validate(g))
    cycle = [p for p in errs if p.location.startswith("cycle")]
    assert len(cycle) == 1
    assert "a, b, c" in cycle[0].message
    assert cycle[0].location.count("->") == 3


def test_self_loop_and_dangling_and_duplicate_edges():
    g = chain("a")
    a = g.resolve("a").id
    g.edges["e1"] = Edge("e1", a, a)
    g.edges["e2"] = Edge("e2", a, "node-missing")
    g.connect("topic", "a")
    found = {p.message for p in errors(validate(g))}
    assert any("self-loop" in m for m in found)
    assert any("'node-missing' is not a node" in m for m in found)
    assert "duplicate edge" in found


def test_duplicate_and_bad_names():
    g = chain("a", "b")
    g.resolve("b").name = "a"
    g.add("llm", "9bad", prompt="x")
    msgs = [p.message for p in errors(validate(g))]
    assert any("two steps are named 'a'" in m for m in msgs)
    assert any("'9bad' is not an identifier" in m for m in msgs)


def test_reference_to_missing_and_not_upstream_steps():
    g = fan_out(2)
    g.resolve("b0").params["prompt"] = "uses {{ b1 }} and {{ ghost }}"
    errs = {(p.location, p.message) for p in errors(validate(g))}
    assert ("b0.prompt", "refers to 'ghost', which is not a step in this graph") in errs
    assert any(loc == "b0.prompt" and "'b1', which is not upstream of 'b0'" in m for loc, m in errs)
    assert all(p.node_id == g.resolve("b0").id for p in errors(validate(g)))


def test_unknown_graph_input_reference_and_input_node():
    g = chain("a")
    g.resolve("a").params["prompt"] = "{{ inputs.nope }}"
    g.resolve("topic").params["input"] = "missing"
    msgs = [p.message for p in errors(validate(g))]
    assert "refers to inputs.nope, which is not a graph input" in msgs
    assert any("exposes graph input 'missing'" in m for m in msgs)


def test_template_syntax_error_is_reported_with_line():
    g = chain("a")
    g.resolve("a").params["prompt"] = "line one\n{{ topic "
    (problem,) = errors(validate(g))
    assert problem.location == "a.prompt"
    assert "line 2" in problem.message


def test_ordering_only_edge_is_a_warning():
    g = chain("a", "b", prompt_uses_previous=False)
    warnings = [p.location for p in validate(g) if p.severity == "warning"]
    # b -> out is not flagged: an output with an empty template passes all upstream data through.
    assert warnings == ["edge topic -> a", "edge a -> b"]
    names = g.names()
    assert {(names[g.edges[e].source], names[g.edges[e].target]) for e in ordering_only_edges(g)} == {
        ("topic", "a"),
        ("a", "b"),
    }


def test_unreachable_from_output_warns():
    g = chain("a")
    g.add("llm", "orphan", prompt="{{ inputs.topic }}")
    warnings = [p for p in validate(g) if p.severity == "warning"]
    assert any(p.location == "orphan" and "reaches no output" in p.message for p in warnings)


def test_graph_input_names_checked():
    g = Graph(inputs=[GraphInput("topic"), GraphInput("topic"), GraphInput("bad name")])
    msgs = [p.message for p in errors(validate(g))]
    assert any("defined twice" in m for m in msgs)
    assert any("not an identifier" in m for m in msgs)
