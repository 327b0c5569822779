"""The one home of the graph algorithms, checked against networkx on random graphs, and its per-revision cache."""

import random

import networkx as nx
import pytest

from chainstudio.core.editing.commands import AddNode, Connect, MoveNodes
from chainstudio.core.editing.document import Document
from chainstudio.core.graph.analysis import (
    Analysis,
    CycleError,
    Dag,
    generations,
    longest_path,
    path_between,
    remaining_times,
    topological_order,
)
from chainstudio.core.graph.model import Edge, Graph, Node
from tests.core.helpers import chain, fan_out


def random_graph(seed: int, n: int = 40, p: float = 0.08, cyclic: bool = False) -> Graph:
    rng = random.Random(seed)
    graph = Graph()
    ids = [graph.add("llm", f"s{i}", prompt="x").id for i in range(n)]
    rng.shuffle(ids)  # document order differs from the dependency order
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            if rng.random() < p:
                graph.connect(a, b)
    if cyclic:  # ids[0] -> ids[1] -> ids[2] -> ids[0]
        for a, b in ((ids[0], ids[1]), (ids[1], ids[2])):
            if not any(graph.edges_between(a, b)):
                graph.connect(a, b)
        graph.connect(ids[2], ids[0])
    return graph


@pytest.mark.parametrize("seed", range(20))
def test_generations_match_networkx(seed):
    graph = random_graph(seed)
    order = {nid: i for i, nid in enumerate(graph.nodes)}
    reference = nx.DiGraph()
    reference.add_nodes_from(graph.nodes)
    reference.add_edges_from((e.source, e.target) for e in graph.edges.values())
    expected = [sorted(g, key=order.__getitem__) for g in nx.topological_generations(reference)]
    assert generations(Dag.of_graph(graph)) == expected


@pytest.mark.parametrize("seed", range(20))
def test_ancestry_and_paths_match_networkx(seed):
    graph = random_graph(seed)
    analysis = Analysis(graph)
    reference = nx.DiGraph([(e.source, e.target) for e in graph.edges.values()])
    reference.add_nodes_from(graph.nodes)
    for nid in graph.nodes:
        assert analysis.ancestors(nid) == nx.ancestors(reference, nid)
    rng = random.Random(seed)
    for _ in range(50):
        a, b = rng.sample(list(graph.nodes), 2)
        path = analysis.path(a, b)
        assert (path is not None) == nx.has_path(reference, a, b) == analysis.is_ancestor(a, b)
        if path is not None:
            assert len(path) == nx.shortest_path_length(reference, a, b) + 1
            assert all(reference.has_edge(u, v) for u, v in zip(path, path[1:], strict=False))


@pytest.mark.parametrize("seed", range(10))
def test_longest_path_is_the_heaviest_chain(seed):
    graph = random_graph(seed, n=25, p=0.15)
    rng = random.Random(seed)
    durations = {nid: rng.uniform(0.1, 5.0) for nid in graph.nodes}
    dag = Dag.of_graph(graph)
    path, total = longest_path(dag, durations)
    reference = nx.DiGraph([(e.source, e.target, {"w": durations[e.target]}) for e in graph.edges.values()])
    reference.add_nodes_from(graph.nodes)
    heaviest = max(
        (sum(durations[n] for n in p) for p in _all_chains(reference)),
        default=0.0,
    )
    assert total == pytest.approx(heaviest)
    assert sum(durations[n] for n in path) == pytest.approx(total)
    assert remaining_times(dag, durations)[path[0]] == pytest.approx(total)


def _all_chains(dag: nx.DiGraph):
    roots = [n for n in dag if dag.in_degree(n) == 0]
    sinks = [n for n in dag if dag.out_degree(n) == 0]
    for root in roots:
        for sink in sinks:
            yield from nx.all_simple_paths(dag, root, sink) if root != sink else [[root]]


def test_ties_go_to_the_first_in_order_or_to_the_rank():
    graph = fan_out(3)  # topic -> b0, b1, b2 -> merged -> out
    durations = {nid: 1.0 for nid in graph.nodes}
    names = graph.names()
    path, _ = longest_path(Dag.of_graph(graph), durations)
    assert [names[n] for n in path] == ["topic", "b0", "merged", "out"]
    rank = {graph.resolve("b2").id: 0} | {nid: 1 for nid in graph.nodes if names[nid] != "b2"}
    path, _ = longest_path(Dag.of_graph(graph), durations, rank=rank)
    assert [names[n] for n in path] == ["topic", "b2", "merged", "out"]


def test_cycles_are_named_and_ancestry_still_answers():
    graph = random_graph(3, cyclic=True)
    analysis = Analysis(graph)
    assert not analysis.acyclic
    with pytest.raises(CycleError):
        _ = analysis.layers
    with pytest.raises(CycleError):
        topological_order(analysis.dag)
    (cycle,) = analysis.cycles
    assert cycle.path[0] == cycle.path[-1] and set(cycle.path) <= cycle.members
    a, b = cycle.path[0], cycle.path[1]
    assert analysis.is_ancestor(a, b) and analysis.is_ancestor(b, a)
    assert a not in analysis.ancestors(a)
    assert path_between(analysis.dag, b, a) is not None


def test_self_loops_and_dangling_edges():
    graph = chain("a", "b")
    a = graph.resolve("a").id
    graph.connect(a, a)
    assert not Analysis(graph).acyclic
    assert Analysis(graph).cycles == []  # a self-loop is validation's own problem, not a cycle of steps
    graph = chain("a", "b")
    graph.edges["dangling"] = Edge("dangling", a, "node-gone")
    assert [len(g) for g in Analysis(graph).layers] == [1, 1, 1, 1]


def test_the_document_analyses_each_revision_once():
    document = Document(chain("a", "b"))
    first = document.analysis
    assert document.analysis is first and document.problems is document.problems
    node = Node.create("llm", "c", prompt="{{ b }}")
    document.execute(AddNode(node))
    second = document.analysis
    assert second is not first and second is document.analysis
    assert any("not upstream" in p.message for p in document.problems)
    document.execute(Connect(document.graph.resolve("b").id, node.id))
    assert not [p for p in document.problems if p.severity == "error"]
    before = document.revision
    document.execute(MoveNodes({node.id: (10.0, 20.0)}))
    assert document.revision == before + 1
    document.undo()
    document.undo()
    assert any("not upstream" in p.message for p in document.problems)


@pytest.mark.parametrize("seed", range(6))
def test_an_analysis_found_a_part_at_a_time_is_the_one_found_at_once(seed, monkeypatch):
    from chainstudio.core.graph import analysis as analysis_module

    monkeypatch.setattr(analysis_module, "PART", 3)  # a yield every three edges or nodes
    graph = random_graph(seed, cyclic=seed % 3 == 0)
    document = Document(graph)
    steps = sum(1 for _ in document.find_analysis())
    assert steps > len(graph.edges) // 3 - 1
    found = document.analysis
    whole = Analysis(graph)
    assert found.dag == whole.dag and found.acyclic == whole.acyclic
    assert found.cycles == whole.cycles
    if whole.acyclic:
        assert found.layers == whole.layers
    assert list(document.find_analysis()) == []  # known for this revision: nothing more to do


def test_an_analysis_overtaken_by_an_edit_is_not_kept(monkeypatch):
    from chainstudio.core.graph import analysis as analysis_module

    monkeypatch.setattr(analysis_module, "PART", 1)
    document = Document(chain("a", "b", "c"))
    parts = document.find_analysis()
    next(parts)
    document.execute(AddNode(Node.create("llm", "d", prompt="x")))
    assert list(parts) == []  # it stops at once
    assert len(document.analysis.dag.ids) == len(document.graph.nodes)  # the new revision's, found now
