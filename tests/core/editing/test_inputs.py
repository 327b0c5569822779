"""An Input step and its graph input are one concept with one name: renaming either renames both and every
reference; deleting the step removes the input it alone exposed; paste keeps them paired. No Qt."""

import pytest

from chainstudio.core.editing.clipboard import paste_command, subgraph
from chainstudio.core.editing.commands import CommandError, SetGraphInfo
from chainstudio.core.editing.document import Document
from chainstudio.core.editing.impact import dangling_after_delete
from chainstudio.core.editing.inputs import RenameInput, remove_steps, rename_step, step_problem
from chainstudio.core.graph.model import Graph, GraphInput
from chainstudio.core.graph.templating import rename_input_references
from chainstudio.core.graph.validation import validate
from chainstudio.core.storage import fileformat
from tests.core.helpers import chain


def two_ways() -> Graph:
    """An Input step read both as a step ({{ topic }}) and as a graph input ({{ inputs.topic }})."""
    g = chain("a", "b")
    g.nodes[g.resolve("b").id].params["prompt"] = "{{ a }} on {{ inputs.topic }} and {{ inputs['topic'] }}"
    return g


def test_renaming_the_input_step_renames_the_graph_input_and_every_reference():
    g = two_ways()
    doc = Document(g)
    before = fileformat.dumps(g)
    topic = g.resolve("topic").id
    doc.execute(rename_step(g, topic, "code"))
    assert g.nodes[topic].name == "code" and g.nodes[topic].params["input"] == "code"
    assert [i.name for i in g.inputs] == ["code"] and g.inputs[0].default == "t"
    assert g.resolve("a").params["prompt"] == "a about {{ code }}"
    assert g.resolve("b").params["prompt"] == "{{ a }} on {{ inputs.code }} and {{ inputs['code'] }}"
    assert validate(g) == []
    assert doc.undo_label == "Rename"
    doc.undo()
    assert fileformat.dumps(g) == before


def test_renaming_the_graph_input_renames_its_step():
    g = two_ways()
    before = fileformat.dumps(g)
    command = RenameInput("topic", "subject")
    command.apply(g)
    assert g.node_by_name("subject").kind == "input" and g.node_by_name("topic") is None
    assert "{{ inputs.subject }}" in g.resolve("b").params["prompt"]
    assert validate(g) == []
    command.undo(g)
    assert fileformat.dumps(g) == before


def test_an_undeclared_input_is_declared_by_the_rename():
    g = chain("a")
    g.inputs = []  # the step exposes 'topic', which the graph does not define
    assert any("does not define" in p.message for p in validate(g))
    RenameInput("topic", "code").apply(g)
    assert [i.name for i in g.inputs] == ["code"]
    assert not any("does not define" in p.message for p in validate(g))


@pytest.mark.parametrize(
    ("new", "reason"),
    [("a", "another step is already named 'a'"), ("other", "another graph input"), ("2x", "not an identifier")],
)
def test_a_rename_that_would_collide_is_refused(new, reason):
    g = chain("a")
    g.inputs.append(GraphInput("other"))
    topic = g.resolve("topic").id
    assert reason in (step_problem(g, topic, new) or "")
    with pytest.raises(CommandError, match=reason.split("'")[0]):
        rename_step(g, topic, new).apply(g)


def test_deleting_the_input_step_removes_its_input_and_reports_what_dangles():
    g = two_ways()
    doc = Document(g)
    before = fileformat.dumps(g)
    topic = g.resolve("topic").id
    dangling = dangling_after_delete(g, [topic])
    assert [str(d) for d in dangling] == [
        "a.prompt uses {{ topic }}",
        "b.prompt uses {{ inputs.topic }}",
    ]
    doc.execute(remove_steps(g, [topic]))
    assert g.inputs == [] and "topic" not in g.names().values()
    doc.undo()
    assert fileformat.dumps(g) == before


def test_deleting_a_step_nobody_reads_reports_nothing():
    g = chain("a", "b")
    assert dangling_after_delete(g, [g.resolve("b").id]) == []
    assert [str(d) for d in dangling_after_delete(g, [g.resolve("a").id])] == ["b.prompt uses {{ a }}"]


def test_pasting_an_input_step_next_to_itself_pairs_it_with_a_new_input():
    g = two_ways()
    clip = subgraph(g, [g.resolve("topic").id, g.resolve("a").id])
    paste = paste_command(g, clip)
    paste.apply(g)
    step = g.node_by_name("topic_2")
    assert step is not None and step.params["input"] == "topic_2"
    assert [(i.name, i.default) for i in g.inputs] == [("topic", "t"), ("topic_2", "t")]
    assert g.resolve("a_2").params["prompt"] == "a about {{ topic_2 }}"
    assert [p for p in validate(g) if p.severity == "error"] == []


def test_description_typing_merges_into_one_undo_step():
    doc = Document(Graph())
    session = object()
    for text in ("H", "He", "Hello"):
        doc.execute(SetGraphInfo(description=text, session=session))
    assert doc.graph.description == "Hello"
    doc.undo()
    assert doc.graph.description == "" and not doc.can_undo


def test_rename_input_references_only_touches_inputs_inside_tags():
    text = 'inputs.topic {{ inputs.topic }} {{ inputs.topics }} {{ topic }} {{ inputs["topic"] }}'
    assert rename_input_references(text, {"topic": "code"}) == (
        'inputs.topic {{ inputs.code }} {{ inputs.topics }} {{ topic }} {{ inputs["code"] }}'
    )
