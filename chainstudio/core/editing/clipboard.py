"""Copy and paste: a detached part of a graph, and the command that pastes one with fresh ids and names."""

from __future__ import annotations

import copy
from collections.abc import Iterable

from chainstudio.core.editing.commands import Paste, Position, rename_in_templates
from chainstudio.core.graph.kinds import NODE_KINDS, node_kind
from chainstudio.core.graph.model import Edge, Graph, GraphInput, Node
from chainstudio.core.graph.templating import rename_input_references
from chainstudio.core.graph.validation import input_name


def subgraph(graph: Graph, node_ids: Iterable[str]) -> Graph:
    """A detached copy of the given nodes, the edges among them and the graph inputs they expose."""
    ids = [n for n in graph.nodes if n in set(node_ids)]
    part = Graph(name=graph.name, description="")
    for node_id in ids:
        part.nodes[node_id] = copy.deepcopy(graph.nodes[node_id])
    for edge in graph.edges.values():
        if edge.source in part.nodes and edge.target in part.nodes:
            part.edges[edge.id] = copy.deepcopy(edge)
    exposed = {n.param("input") or n.name for n in part.nodes.values() if n.kind == "input"}
    part.inputs = [copy.deepcopy(i) for i in graph.inputs if i.name in exposed]
    return part


def _input_names(graph: Graph, kind: str) -> set[str]:
    return {i.name for i in graph.inputs} if kind == "input" else set()


def paste_command(graph: Graph, clip: Graph, offset: Position = (40.0, 40.0)) -> Paste:
    """A Paste of ``clip`` into ``graph``: fresh ids, unique names (references follow), shifted. A pasted
    Input step that has to take another name exposes a graph input of that name (a copy of its input)."""
    probe = Graph(nodes=dict(graph.nodes), inputs=list(graph.inputs))  # names taken so far, pasted ones too
    ids: dict[str, str] = {}
    renames: dict[str, str] = {}
    input_renames: dict[str, str] = {}
    nodes: list[Node] = []
    for node in clip.nodes.values():
        if node.kind not in NODE_KINDS:
            continue
        keeps = node.kind == "input" and probe.node_by_name(node.name) is None
        # an Input step that must take another name needs it free as a graph input name too
        name = node.name if keeps else probe.unique_name(node.name, _input_names(probe, node.kind))
        new = Node.create(node.kind, name, (node.position[0] + offset[0], node.position[1] + offset[1]))
        new.params.update(copy.deepcopy(node.params))
        ids[node.id] = new.id
        if new.name != node.name:
            renames[node.name] = new.name
            if node.kind == "input":
                input_renames[input_name(node)] = new.name
                new.params["input"] = new.name
        probe.nodes[new.id] = new
        if node.kind == "input":
            probe.inputs.append(GraphInput(new.name))
        nodes.append(new)
    for node in nodes:
        rename_in_templates(node, renames)
        for spec in node_kind(node.kind).template_fields:
            text = str(node.params.get(spec.name) or "")
            if rename_input_references(text, input_renames) != text:
                node.params[spec.name] = rename_input_references(text, input_renames)
    edges = [
        Edge.create(ids[e.source], ids[e.target]) for e in clip.edges.values() if e.source in ids and e.target in ids
    ]
    existing = {i.name for i in graph.inputs}
    inputs = []
    for graph_input in clip.inputs:
        pasted = copy.deepcopy(graph_input)
        pasted.name = input_renames.get(graph_input.name, graph_input.name)
        if pasted.name not in existing:
            existing.add(pasted.name)
            inputs.append(pasted)
    return Paste(nodes, edges, inputs)
