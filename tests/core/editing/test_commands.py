"""Commands on a plain Graph: apply, undo, refusals with reasons. No Qt."""

import pytest

from chainstudio.core.editing.clipboard import paste_command, subgraph
from chainstudio.core.editing.commands import (
    AddNode,
    Batch,
    CommandError,
    Connect,
    Disconnect,
    MoveNodes,
    RemoveNodes,
    Rename,
    SetGraphInfo,
    SetParam,
)
from chainstudio.core.editing.layout import AutoLayout, auto_layout_positions
from chainstudio.core.editing.rules import connect_problem
from chainstudio.core.graph.analysis import layers
from chainstudio.core.graph.model import GraphInput, Node
from chainstudio.core.graph.templating import rename_references
from chainstudio.core.storage import fileformat
from tests.core.helpers import chain, fan_out


def ids(g, *names):
    return [g.resolve(n).id for n in names]


def roundtrip(command, g):
    before = fileformat.dumps(g)
    command.apply(g)
    after = fileformat.dumps(g)
    assert after != before
    command.undo(g)
    assert fileformat.dumps(g) == before
    command.apply(g)
    assert fileformat.dumps(g) == after


def test_every_command_undoes_to_identical_bytes():
    g = fan_out(3)
    b0, b1, merged, out = ids(g, "b0", "b1", "merged", "out")
    roundtrip(AddNode(Node.create("llm", "extra", (5, 5), prompt="hi")), g)
    roundtrip(RemoveNodes([b1]), g)
    roundtrip(Disconnect([next(g.edges_between(b0, merged)).id]), g)
    roundtrip(MoveNodes({b0: (10, 20), out: (30, 40)}), g)
    roundtrip(SetParam(b0, "temperature", 1.5), g)
    roundtrip(Rename(b0, "first"), g)
    roundtrip(SetGraphInfo(name="renamed", inputs=[GraphInput("topic", "x"), GraphInput("extra")]), g)


def test_remove_nodes_takes_their_edges_and_undo_restores_order():
    g = fan_out(3)
    b1 = g.resolve("b1").id
    order_nodes, order_edges = list(g.nodes), list(g.edges)
    command = RemoveNodes([b1])
    changes = command.apply(g)
    assert b1 not in g.nodes and changes.nodes_removed == {b1}
    assert len(changes.edges_removed) == 2
    assert all(b1 not in (e.source, e.target) for e in g.edges.values())
    command.undo(g)
    assert list(g.nodes) == order_nodes and list(g.edges) == order_edges


@pytest.mark.parametrize(
    "pair,reason",
    [
        (("a", "a"), "self-loop"),
        (("topic", "a"), "duplicate edge"),
        (("c", "a"), "would make a cycle (a -> b -> c -> a)"),
        (("out", "a"), "output steps have no outgoing edges"),
        (("a", "topic"), "input steps take no incoming edges"),
    ],
)
def test_connect_refusals_say_why(pair, reason):
    g = chain("a", "b", "c")
    source, target = ids(g, *pair)
    assert reason in connect_problem(g, source, target)
    before = fileformat.dumps(g)
    with pytest.raises(CommandError, match=reason.split(" (")[0]):
        Connect(source, target).apply(g)
    assert fileformat.dumps(g) == before


def test_connect_allowed_adds_one_edge():
    g = fan_out(2)
    b0, b1 = ids(g, "b0", "b1")
    assert connect_problem(g, b0, b1) is None
    changes = Connect(b0, b1).apply(g)
    (edge_id,) = changes.edges_added
    assert (g.edges[edge_id].source, g.edges[edge_id].target) == (b0, b1)


def test_set_param_coerces_and_checks_bounds():
    g = chain("a")
    a = g.resolve("a").id
    SetParam(a, "max_tokens", "42").apply(g)
    assert g.nodes[a].params["max_tokens"] == 42
    with pytest.raises(CommandError, match="at most 2"):
        SetParam(a, "temperature", 3.0).apply(g)
    with pytest.raises(CommandError, match="no parameter"):
        SetParam(a, "colour", "red").apply(g)


def test_rename_refuses_taken_and_bad_names():
    g = chain("a", "b")
    a = g.resolve("a").id
    with pytest.raises(CommandError, match="already named 'b'"):
        Rename(a, "b").apply(g)
    with pytest.raises(CommandError, match="not an identifier"):
        Rename(a, "two words").apply(g)
    with pytest.raises(CommandError, match="reserved"):
        Rename(a, "inputs").apply(g)


def test_add_node_refuses_a_taken_name_or_id():
    g = chain("a", "b")
    before = fileformat.dumps(g)
    with pytest.raises(CommandError, match="another step is already named 'b'"):
        AddNode(Node.create("llm", "b")).apply(g)
    with pytest.raises(CommandError, match="already exists"):
        AddNode(Node.create("llm", "c", node_id=g.resolve("a").id)).apply(g)
    assert fileformat.dumps(g) == before


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda gone: RemoveNodes([gone]), "no step with id 'gone'"),
        (lambda gone: MoveNodes({gone: (1.0, 2.0)}), "no step with id 'gone'"),
        (lambda gone: SetParam(gone, "temperature", 1.0), "no step with id 'gone'"),
        (lambda gone: Rename(gone, "fresh"), "no step with id 'gone'"),
        (lambda gone: Disconnect([gone]), "no edge with id 'gone'"),
    ],
)
def test_commands_on_ids_no_longer_in_the_graph_are_refused(make, message):
    g = chain("a", "b")
    before = fileformat.dumps(g)
    with pytest.raises(CommandError, match=message):
        make("gone").apply(g)
    assert fileformat.dumps(g) == before


def test_set_graph_info_changes_only_what_it_is_given():
    g = chain("a")
    g.description = "kept"
    command = SetGraphInfo(name="renamed")
    command.apply(g)
    assert (g.name, g.description, [i.name for i in g.inputs]) == ("renamed", "kept", ["topic"])
    command.undo(g)
    assert g.name != "renamed" and g.description == "kept"


def test_batch_is_all_or_nothing():
    g = chain("a", "b")
    a, b = ids(g, "a", "b")
    before = fileformat.dumps(g)
    with pytest.raises(CommandError):
        Batch([SetParam(a, "temperature", 1.0), Connect(b, a)]).apply(g)
    assert fileformat.dumps(g) == before


def test_auto_layout_puts_layers_in_columns():
    g = fan_out(3)
    positions = auto_layout_positions(g)
    for column, group in enumerate(layers(g)):
        xs = {positions[n][0] for n in group}
        assert xs == {column * 300.0}
    ys = sorted(positions[n][1] for n in layers(g)[1])
    assert ys == [-170.0, 0.0, 170.0]
    roundtrip(AutoLayout(g), g)


def test_auto_layout_refuses_a_cycle():
    g = chain("a", "b")
    a, b = ids(g, "a", "b")
    g.connect(b, a)
    with pytest.raises(CommandError, match="cycle"):
        AutoLayout(g)


def test_paste_gives_fresh_ids_unique_names_and_follows_renamed_references():
    g = fan_out(2)
    clip = subgraph(g, ids(g, "topic", "b0"))
    assert len(clip.nodes) == 2 and len(clip.edges) == 1 and [i.name for i in clip.inputs] == ["topic"]
    clip = fileformat.loads(fileformat.dumps(clip))  # through the clipboard format
    command = paste_command(g, clip, offset=(10, 0))
    changes = command.apply(g)
    pasted = [g.nodes[n] for n in changes.nodes_added]
    assert sorted(n.name for n in pasted) == ["b0_2", "topic_2"]
    assert not changes.nodes_added & set(clip.nodes)
    b0_2 = g.resolve("b0_2")
    assert b0_2.params["prompt"] == "branch 0 on {{ topic_2 }}"
    assert b0_2.position == (g.resolve("b0").position[0] + 10, g.resolve("b0").position[1])
    (edge_id,) = changes.edges_added
    assert (g.edges[edge_id].source, g.edges[edge_id].target) == (g.resolve("topic_2").id, b0_2.id)
    # the pasted Input step is named topic_2, so it shows a graph input of its own (issue 12, item 5)
    assert [i.name for i in g.inputs] == ["topic", "topic_2"]
    command.undo(g)
    assert len(g.nodes) == 5 and not changes.nodes_added & set(g.nodes)


def test_paste_undo_restores_bytes():
    g = fan_out(2)
    before = fileformat.dumps(g)
    command = paste_command(g, subgraph(g, list(g.nodes)))
    command.apply(g)
    assert len(g.nodes) == 2 * 5
    command.undo(g)
    assert fileformat.dumps(g) == before


def test_rename_references_only_inside_tags():
    text = "topic: {{ topic }} {{ inputs.topic }} {% if topic %}{{ topics }}{% endif %}"
    assert rename_references(text, {"topic": "t2"}) == (
        "topic: {{ t2 }} {{ inputs.topic }} {% if t2 %}{{ topics }}{% endif %}"
    )


def test_rename_rewrites_references_and_undoes_them():
    from chainstudio.core.editing.commands import Rename
    from chainstudio.core.editing.document import Document
    from chainstudio.core.graph.validation import errors, validate
    from chainstudio.core.storage.fileformat import dumps, load
    from tests.conftest import EXAMPLES

    doc = Document(load(EXAMPLES / "research-hybrid.chain.json"))
    before = dumps(doc.graph)
    doc.execute(Rename(doc.graph.node_by_name("hardware").id, "hw"))
    graph = doc.graph
    assert "{{ hw | truncate_chars(500) }}" in graph.node_by_name("security").params["prompt"]
    assert "{{ hw }}" in graph.node_by_name("aggregate").params["prompt"]
    assert "Hardware progress" in graph.node_by_name("hw").params["prompt"]  # prose is left alone
    assert errors(validate(graph)) == []
    doc.undo()
    assert dumps(doc.graph) == before
