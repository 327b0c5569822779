"""A big graph's ordering-only warnings are kept compactly (``Problems``): through the public API they are
the same problems, in the same order, as when each was a ``Problem`` of its own."""

from __future__ import annotations

import random

import pytest

from chainstudio.core.graph.model import Graph, GraphInput
from chainstudio.core.graph.problems import Problem, Problems, _OrderingOnly, kept_problems, problems_of
from chainstudio.core.graph.validation import errors, ordering_only_edges, validate


def _dense(steps: int = 120) -> Graph:
    """Each step reads one of the up to 6 steps before it and is connected to all of them (the rest of its
    edges only order); every 17th step has an empty prompt (an error, between its warnings and the next's)."""
    rng = random.Random(14)
    graph = Graph("dense", inputs=[GraphInput("topic", "t")])
    topic = graph.add("input", "topic")
    ids = [topic.id]
    for i in range(1, steps):
        before = ids[max(0, i - 6) : i]
        read = graph.nodes[rng.choice(before)].name
        prompt = "" if i % 17 == 0 else f"Go on from {{{{ {read} }}}}."
        ids.append(graph.add("llm", f"s{i}", (300.0 * i, 0.0), prompt=prompt, max_tokens=40).id)
        for source in before:
            graph.connect(source, ids[-1])
    return graph


def _expected(graph: Graph) -> list[Problem]:
    """The warnings as validation made them before: a ``Problem`` each, after its step's other problems."""
    unused = ordering_only_edges(graph)
    out: list[Problem] = []
    for node in graph.nodes.values():
        if node.kind == "llm" and not str(node.param("prompt")).strip():
            out.append(Problem("error", f"{node.name}.prompt", "the prompt is empty", node.id, field="prompt"))
        for edge in graph.edges.values():
            if edge.target == node.id and edge.id in unused:
                source = graph.nodes[edge.source].name
                out.append(
                    Problem(
                        "warning",
                        f"edge {source} -> {node.name}",
                        f"{node.name!r} never uses the output of {source!r}; this edge only orders the steps",
                        node.id,
                        edge.id,
                    )
                )
    tail = [p for p in validate(graph) if p.edge_id is None and p.severity == "warning"]  # reaches no output
    return out + tail


def test_the_warnings_are_the_same_problems_in_the_same_order():
    graph = _dense()
    problems = validate(graph)
    expected = _expected(graph)
    assert isinstance(problems, Problems) and len(expected) > 400
    assert any(isinstance(part, _OrderingOnly) for part in problems._parts)  # kept compactly
    assert problems == expected and expected == problems and list(problems) == expected
    assert [problems[i] for i in range(len(problems))] == expected
    assert problems[-1] == expected[-1] and problems[-len(expected)] == expected[0]
    assert problems[5:300:7] == expected[5:300:7] and problems[:1_000] == expected[:1_000]
    with pytest.raises(IndexError):
        problems[len(expected)]
    assert errors(problems) == [p for p in expected if p.severity == "error"] != []
    assert list(kept_problems(problems)) == [p for p in expected if p.edge_id is None]
    for node_id in list(graph.nodes)[::13]:
        assert problems_of(problems, node_id) == [p for p in expected if p.node_id == node_id]
    assert [str(p) for p in problems] == [str(p) for p in expected]  # what `chainstudio validate` prints


def test_adding_and_extending_keep_the_order():
    graph = _dense(40)
    problems = validate(graph)
    extra = Problem("error", "x.endpoint", "no such profile", "x", field="endpoint")
    assert problems + [extra] == [*problems, extra]
    copied = Problems(problems)
    copied.append(extra)
    assert copied == [*list(problems), extra] and problems != copied
    assert Problems() == [] and validate(Graph()) == []
