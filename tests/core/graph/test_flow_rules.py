"""Validation of map and route steps: what each needs, item and index known in a map's prompt, labels that
must name downstream steps, and route edges that choose rather than only order."""

from chainstudio.core.graph.model import Graph
from chainstudio.core.graph.validation import ordering_only_edges, validate


def messages(graph: Graph) -> list[str]:
    return [str(p) for p in validate(graph)]


def test_a_map_reads_item_and_index_and_needs_its_list_and_prompt():
    g = Graph("m")
    g.add("llm", "extract", prompt="list things")
    g.add("map", "each", over="{{ extract }}", prompt="{{ item }} #{{ index }} of {{ extract }}")
    g.add("output", "out", template="{{ each }}")
    g.connect("extract", "each")
    g.connect("each", "out")
    assert messages(g) == []
    g.resolve("each").params.update(over="", prompt=" ", system="{{ item }}")
    assert set(messages(g)) == {
        "error: each.over: the list to map over is empty (e.g. {{ extract }})",
        "error: each.prompt: the prompt is empty (it reads {{ item }} and {{ index }})",
        "warning: edge extract -> each: 'each' never uses the output of 'extract'; this edge only orders the steps",
    }


def test_item_outside_a_map_is_an_unknown_reference():
    g = Graph("m")
    g.add("llm", "a", prompt="{{ item }}")
    assert "error: a.prompt: refers to 'item', which is not a step in this graph" in messages(g)


def test_a_classifying_route_needs_labels_that_name_its_branches():
    g = Graph("r")
    g.add("route", "router", mode="classify", prompt="which?", labels="yes, maybe", fallback="never")
    g.add("llm", "yes", prompt="y")
    g.add("llm", "no", prompt="n")
    g.connect("router", "yes")
    g.connect("router", "no")
    found = messages(g)
    assert "error: router.labels: label 'maybe' is not a downstream step (yes, no)" in found
    assert "error: router.fallback: fallback 'never' is not a downstream step" in found
    assert not any("only orders the steps" in m for m in found)  # a route's edges choose
    assert ordering_only_edges(g) == set()


def test_an_expression_route_needs_its_expression_and_branches():
    g = Graph("r")
    g.add("route", "router")
    assert {
        "warning: router: the route has no downstream steps to choose from",
        "error: router.expression: the expression is empty (it names the branches to run)",
    } <= set(messages(g))
