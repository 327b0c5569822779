"""Property: after any sequence of commands, undos and redos, the scene shows exactly the document."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chainstudio.core.editing.clipboard import paste_command, subgraph
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
from chainstudio.core.editing.layout import AutoLayout
from chainstudio.core.graph.model import Node
from chainstudio.core.storage import fileformat
from chainstudio.ui.canvas.scene import CanvasScene
from tests.conftest import EXAMPLES
from tests.ui.canvas_helpers import assert_scene_matches_model

OPS = (
    "add",
    "remove",
    "connect",
    "disconnect",
    "move",
    "prompt",
    "rename",
    "paste",
    "layout",
    "undo",
    "redo",
    "undo",
    "redo",
)
steps = st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 60), st.integers(0, 60)), min_size=1, max_size=30)


def command_for(graph, op, i, j):
    nodes, edges = list(graph.nodes), list(graph.edges)
    pick = (lambda seq, k: seq[k % len(seq)]) if nodes else None
    if op == "add":
        return AddNode(
            Node.create(
                "llm" if i % 3 else "join",
                graph.unique_name("n"),
                (i * 10.0, j * 10.0),
                **({"prompt": "p"} if i % 3 else {}),
            )
        )
    if not nodes:
        return None
    if op == "remove":
        return RemoveNodes([pick(nodes, i)])
    if op == "connect":
        return Connect(pick(nodes, i), pick(nodes, j))
    if op == "disconnect" and edges:
        return Disconnect([edges[i % len(edges)]])
    if op == "move":
        return MoveNodes({pick(nodes, i): (i * 13.0, -j * 7.0)})
    if op == "prompt":
        node_id = pick(nodes, i)
        others = [graph.nodes[n].name for n in nodes]
        field = (
            "prompt"
            if graph.nodes[node_id].kind == "llm"
            else ("template" if graph.nodes[node_id].kind in ("join", "output") else None)
        )
        return SetParam(node_id, field, f"uses {{{{ {others[j % len(others)]} }}}}") if field else None
    if op == "rename":
        return Rename(pick(nodes, i), f"r{j}")
    if op == "paste":
        return paste_command(graph, subgraph(graph, [pick(nodes, i), pick(nodes, j)]))
    if op == "layout":
        return AutoLayout(graph)
    return None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps)
def test_scene_mirrors_the_document_through_any_edit_sequence(qapp, sequence):
    document = Document(fileformat.load(EXAMPLES / "research-hybrid.chain.json"))
    scene = CanvasScene(document)
    try:
        assert_scene_matches_model(scene)
        for op, i, j in sequence:
            if op == "undo":
                document.undo()
            elif op == "redo":
                document.redo()
            else:
                try:
                    command = command_for(document.graph, op, i, j)
                    if command is not None:
                        document.execute(command)
                except CommandError:
                    pass
            assert_scene_matches_model(scene)
        while document.can_undo:
            document.undo()
        assert_scene_matches_model(scene)
        assert len(scene.nodes) == 8 and len(scene.edges) == 9
    finally:
        scene.detach()
        scene.deleteLater()
