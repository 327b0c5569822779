import pytest

from chainstudio.core.graph.analysis import CycleError, critical_path, layers, remaining_path, stats
from chainstudio.core.graph.model import Graph, Node, name_problem
from tests.core.helpers import chain, fan_out


def test_node_ids_are_generated_and_unique():
    ids = {Node.create("llm", f"n{i}").id for i in range(1000)}
    assert len(ids) == 1000
    assert all(i.startswith("node-") for i in ids)


def test_node_defaults_come_from_the_kind_spec():
    node = Node.create("llm", "a", prompt="hi")
    assert node.params["prompt"] == "hi"
    assert node.params["retries"] == 3
    with pytest.raises(KeyError):
        Node.create("llm", "a", nonsense=1)


@pytest.mark.parametrize(
    "name,ok",
    [("hardware", True), ("_x1", True), ("1x", False), ("a-b", False), ("inputs", False), ("for", False), ("", False)],
)
def test_name_rules(name, ok):
    assert (name_problem(name) is None) == ok


def test_layers_group_parallel_steps():
    g = fan_out(3)
    names = g.names()
    assert [[names[n] for n in layer] for layer in layers(g)] == [["topic"], ["b0", "b1", "b2"], ["merged"], ["out"]]
    s = stats(g)
    assert (s.nodes, s.layers, s.widest) == (6, 4, 3)


def test_layers_refuse_cycles():
    g = chain("a", "b")
    g.connect("b", "a")
    with pytest.raises(CycleError):
        layers(g)


def test_critical_path_follows_the_longest_branch():
    g = fan_out(3)
    d = {g.resolve(n).id: v for n, v in {"topic": 0, "b0": 1.0, "b1": 5.0, "b2": 2.0, "merged": 0.5, "out": 0}.items()}
    path, length = critical_path(g, d)
    assert [g.nodes[n].name for n in path] == ["topic", "b1", "merged", "out"]
    assert length == pytest.approx(5.5)
    rem = remaining_path(g, d)
    assert rem[g.resolve("b0").id] == pytest.approx(1.5)


def test_remove_node_drops_its_edges():
    g = chain("a", "b")
    removed = g.remove_node(g.resolve("a").id)
    assert len(removed) == 2
    assert g.node_by_name("a") is None
    names = g.names()
    assert [(names[e.source], names[e.target]) for e in g.edges.values()] == [("b", "out")]


def test_unique_name():
    g = Graph()
    g.add("llm", "step")
    assert g.unique_name("step") == "step_2"
    assert g.unique_name("9 lives") == "step_9_lives"


def test_a_copy_equals_a_deep_copy_and_shares_nothing_that_can_change():
    import copy
    import dataclasses

    from chainstudio.core.graph.model import GraphInput, Pin

    graph = chain("a", "b")
    graph.name, graph.description, graph.save_pins = "g", "about", True
    graph.inputs.append(GraphInput("mood", "cats", "what to write about"))
    first = graph.resolve("a")
    first.params["labels"] = ["a", ["b"]]  # a mutable value, as a future kind might have
    first.params["pair"] = (1, 2.0)
    graph.pins[first.id] = Pin("answer", "run-1")
    copied = graph.copy()
    assert copied == copy.deepcopy(graph)
    assert {f.name for f in dataclasses.fields(Graph)} <= set(vars(copied))  # a new field is not forgotten
    copied.inputs[-1].default = "dogs"
    copied.nodes[first.id].params["labels"][1].append("c")
    copied.nodes[first.id].params["prompt"] = "changed"
    next(iter(copied.edges.values())).target = "elsewhere"
    assert graph.inputs[-1].default == "cats"
    assert first.params["labels"] == ["a", ["b"]] and first.params["prompt"] != "changed"
    assert all(edge.target != "elsewhere" for edge in graph.edges.values())


def test_longest_path_among_some_nodes_leaves_the_others_and_paths_through_them_out():
    from chainstudio.core.graph.analysis import Dag, longest_path, remaining_times

    dag = Dag.of_edges("abcde", [("a", "b"), ("b", "c"), ("a", "d"), ("d", "e")])
    durations = {"a": 1.0, "b": 0.5, "c": 0.0, "d": 0.2, "e": 0.0}
    assert longest_path(dag, durations) == (["a", "b", "c"], 1.5)  # c (0 s) ends it when all count
    assert longest_path(dag, durations, among={"a", "b", "d"}) == (["a", "b"], 1.5)
    assert remaining_times(dag, durations, among={"b", "c"}) == {"b": 0.5, "c": 0.0}
    assert longest_path(dag, durations, among={"b", "c", "e"}) == (["b", "c"], 0.5)  # roots: no kept parent
    assert longest_path(dag, durations, among=set()) == ([], 0.0)
