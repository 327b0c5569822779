"""The Document: undo/redo stacks, merging, modified state, change announcements. No Qt."""

import contextlib
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from chainstudio.core.editing.commands import (
    AddNode,
    CommandError,
    Connect,
    Disconnect,
    MoveNodes,
    RemoveNodes,
    Rename,
    SetParam,
)
from chainstudio.core.editing.document import Document
from chainstudio.core.graph.model import Graph, Node
from chainstudio.core.storage import fileformat
from tests.core.helpers import chain, fan_out


def test_core_document_does_not_import_qt():
    import subprocess

    code = (
        "import sys, chainstudio.core.editing.document, chainstudio.core.editing.commands; "
        "print([m for m in sys.modules if m.startswith(('PySide6', 'qasync'))])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_listeners_hear_changes_by_id():
    doc = Document(chain("a"))
    heard = []
    unsubscribe = doc.subscribe(heard.append)
    node = Node.create("llm", "b", prompt="x")
    doc.execute(AddNode(node))
    assert heard[-1].nodes_added == {node.id}
    doc.undo()
    assert heard[-1].nodes_removed == {node.id}
    doc.redo()
    assert heard[-1].nodes_added == {node.id}
    unsubscribe()
    doc.undo()
    assert len(heard) == 3


def test_refused_command_changes_nothing_and_is_not_recorded():
    doc = Document(chain("a", "b"))
    a, b = doc.graph.resolve("a").id, doc.graph.resolve("b").id
    heard = []
    doc.subscribe(heard.append)
    before = fileformat.dumps(doc.graph)
    assert "cycle" in doc.connect_problem(b, a)
    try:
        doc.execute(Connect(b, a))
    except CommandError as exc:
        assert "cycle" in str(exc)
    else:
        raise AssertionError("a cycle was accepted")
    assert fileformat.dumps(doc.graph) == before and not doc.can_undo and heard == []


def test_consecutive_moves_of_the_same_nodes_merge():
    doc = Document(chain("a", "b"))
    a, b = doc.graph.resolve("a").id, doc.graph.resolve("b").id
    start = doc.graph.nodes[a].position
    for x in range(1, 6):
        doc.execute(MoveNodes({a: (x * 10, 0)}))
    doc.execute(MoveNodes({a: (0, 99), b: (1, 1)}))  # a different set: a new step
    assert doc.graph.nodes[a].position == (0, 99)
    doc.undo()
    assert doc.graph.nodes[a].position == (50, 0)
    doc.undo()
    assert doc.graph.nodes[a].position == start and not doc.can_undo


def test_set_param_in_one_session_merges():
    doc = Document(chain("a"))
    a = doc.graph.resolve("a").id
    original = doc.graph.nodes[a].params["prompt"]
    session = object()
    for text in ("H", "He", "Hey"):
        doc.execute(SetParam(a, "prompt", text, session=session))
    doc.execute(SetParam(a, "prompt", "Other", session=object()))
    doc.undo()
    assert doc.graph.nodes[a].params["prompt"] == "Hey"
    doc.undo()
    assert doc.graph.nodes[a].params["prompt"] == original


def test_modified_follows_the_saved_state(tmp_path):
    doc = Document(chain("a"))
    a = doc.graph.resolve("a").id
    assert not doc.modified
    doc.execute(Rename(a, "first"))
    assert doc.modified
    path = doc.save(tmp_path / "g.chain.json")
    assert not doc.modified and doc.title == "g.chain.json"
    doc.execute(MoveNodes({a: (1, 1)}))
    doc.execute(MoveNodes({a: (2, 2)}))
    assert doc.modified
    doc.undo()
    assert not doc.modified  # the moves did not merge into the saved step
    doc.undo()
    assert doc.modified
    doc.redo()
    assert not doc.modified
    doc.undo()
    doc.execute(SetParam(a, "temperature", 1.0))  # the saved state is now unreachable
    assert doc.modified
    reopened = Document.open(path)
    assert reopened.graph.resolve("first").id == a and not reopened.modified


def test_replace_clears_history():
    doc = Document(chain("a"))
    doc.execute(Rename(doc.graph.resolve("a").id, "b"))
    heard = []
    doc.subscribe(heard.append)
    doc.replace(Graph("new"))
    assert heard[-1].reset and not doc.can_undo and not doc.modified and doc.graph.name == "new"


# --- property: any sequence of edits, undos and redos can be undone back to the start ---------------
ops = st.lists(
    st.tuples(
        st.sampled_from(["add", "remove", "connect", "disconnect", "move", "param", "rename", "undo", "redo"]),
        st.integers(0, 50),
        st.integers(0, 50),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(ops)
def test_random_edits_undo_to_the_original_bytes(sequence):
    doc = Document(fan_out(2))
    original = fileformat.dumps(doc.graph)
    for op, i, j in sequence:
        nodes, edges = list(doc.graph.nodes), list(doc.graph.edges)
        pick = lambda seq, k: seq[k % len(seq)] if seq else None  # noqa: E731
        command = None
        if op == "add":
            command = AddNode(Node.create("llm", doc.graph.unique_name("n"), (i, j), prompt="p"))
        elif op == "remove" and nodes:
            command = RemoveNodes([pick(nodes, i)])
        elif op == "connect" and nodes:
            command = Connect(pick(nodes, i), pick(nodes, j))
        elif op == "disconnect" and edges:
            command = Disconnect([pick(edges, i)])
        elif op == "move" and nodes:
            command = MoveNodes({pick(nodes, i): (i * 7.0, j * 3.0)})
        elif op == "param" and nodes and doc.graph.nodes[pick(nodes, i)].kind == "llm":
            command = SetParam(pick(nodes, i), "max_tokens", j + 1)
        elif op == "rename" and nodes:
            command = Rename(pick(nodes, i), f"r{j}")
        elif op == "undo":
            doc.undo()
        elif op == "redo":
            doc.redo()
        if command is not None:
            with contextlib.suppress(CommandError):
                doc.execute(command)
    while doc.can_redo:
        doc.redo()
    tip = fileformat.dumps(doc.graph)
    while doc.can_undo:
        doc.undo()
    assert fileformat.dumps(doc.graph) == original and not doc.modified
    while doc.can_redo:
        doc.redo()
    assert fileformat.dumps(doc.graph) == tip


def test_moving_cards_keeps_the_analysis_and_the_problems():
    """Layers, ordering-only edges and problems do not depend on positions: after a move they were found
    again (0.14 s of the window's thread for the 10,000-step graph, and a new check of its problems)."""
    from tests.conftest import EXAMPLES

    document = Document(fileformat.load(EXAMPLES / "research-hybrid.chain.json"))
    analysis, problems, ordering = document.analysis, document.problems, document.ordering_only
    node = next(n.id for n in document.graph.nodes.values() if n.kind == "llm")
    document.execute(MoveNodes({node: (5.0, 7.0)}))
    assert document.analysis is analysis and document.problems is problems and document.ordering_only is ordering
    document.execute(SetParam(node, "temperature", 1.0))  # not a move: all found again
    assert document.analysis is not analysis and document.problems is not problems
