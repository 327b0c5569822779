"""A document's problems checked on another thread: the snapshot is out of reach of later edits, a result
for an older revision is dropped, and the current one is kept and announced (issue 14)."""

from __future__ import annotations

from chainstudio.core.editing.commands import Rename, SetParam
from chainstudio.core.editing.document import Document
from chainstudio.core.editing.problem_check import SMALL_GRAPH_ITEMS, is_small
from chainstudio.core.graph.model import Graph, GraphInput
from chainstudio.core.graph.validation import errors, validate
from chainstudio.core.run.topology import snapshot


def big_graph(steps: int = 400, fan_in: int = 3) -> Graph:
    """Over SMALL_GRAPH_ITEMS and without a problem: ``steps`` model steps, each reading the ``fan_in`` before
    it (its prompt names them), then an output step."""
    graph = Graph("big", inputs=[GraphInput("topic", "a topic")])
    ids = [graph.add("input", "topic", input="topic").id]
    for i in range(steps):
        before = " ".join(f"{{{{ {graph.nodes[n].name} }}}}" for n in ids[-fan_in:])
        step = graph.add("llm", f"s{i}", prompt=f"{before} and {{{{ inputs.topic }}}}")
        for source in ids[-fan_in:]:
            graph.connect(source, step.id)
        ids.append(step.id)
    out = graph.add("output", "out", template=f"{{{{ s{steps - 1} }}}}")
    graph.connect(ids[-1], out.id)
    assert not is_small(graph) and len(graph.nodes) + len(graph.edges) > SMALL_GRAPH_ITEMS
    assert not validate(graph)
    return graph


def test_a_small_graph_is_checked_where_asked_and_a_big_one_waits_for_a_check():
    small = Document(Graph("small"))
    small.graph.add("llm", "a", prompt="{{ nowhere }}")
    assert small.known_problems is not None and errors(small.known_problems)
    big = Document(big_graph())
    assert big.known_problems is None and not big.problems_known


def test_a_check_finds_what_validate_finds_and_is_kept_for_its_revision():
    document = Document(big_graph())
    document.graph.add("llm", "stray", prompt="{{ nowhere }}")
    heard = []
    document.subscribe(heard.append)
    check = document.problem_check()
    result = check.run()
    assert result.problems == validate(document.graph)
    assert any("'nowhere'" in p.message for p in errors(result.problems))
    assert document.accept(result)
    assert document.known_problems is result.problems and document.problems is result.problems
    assert [c.checked for c in heard] == [True] and not heard[0]  # not an edit: no revision, no autosave
    assert not document.accept(result)  # kept once


def test_a_result_for_an_older_revision_is_dropped():
    document = Document(big_graph())
    check = document.problem_check()
    node = next(n for n in document.graph.nodes.values() if n.name == "s10")
    document.execute(SetParam(node.id, "prompt", "{{ nowhere }}"))  # an edit while the check runs
    stale = check.run()
    assert not errors(stale.problems)
    assert not document.accept(stale) and document.known_problems is None
    fresh = document.problem_check().run()
    assert document.accept(fresh) and any("'nowhere'" in p.message for p in errors(document.known_problems or []))
    document.set_endpoints(["local"])  # no step names an endpoint: the problems stay
    assert document.known_problems is fresh.problems
    document.execute(SetParam(node.id, "endpoint", "local"))
    named = document.problem_check().run()
    assert document.accept(named) and not any(p.field == "endpoint" for p in named.problems)
    document.set_endpoints(["near"])  # the endpoints a run can use changed: the step naming "local" is wrong now
    assert document.known_problems is None and not document.accept(named)
    assert document.accept(document.problem_check().run())
    assert [p.field for p in errors(document.known_problems or []) if p.node_id == node.id] == ["prompt", "endpoint"]


def test_the_snapshot_is_out_of_reach_of_later_edits():
    document = Document(big_graph())
    frozen = snapshot(document.graph)
    node = next(n for n in document.graph.nodes.values() if n.name == "s3")
    document.execute(Rename(node.id, "renamed"))
    document.execute(SetParam(node.id, "prompt", "changed"))
    document.graph.inputs[0].name = "other"
    document.graph.nodes.pop(node.id)
    document.graph.edges.clear()
    copy = frozen.nodes[node.id]
    assert copy.name == "s3" and copy.params["prompt"] == "{{ s0 }} {{ s1 }} {{ s2 }} and {{ inputs.topic }}"
    assert frozen.inputs[0].name == "topic" and len(frozen.edges) > SMALL_GRAPH_ITEMS // 2
    assert not errors(validate(frozen))
