"""Copy and paste: a detached part of a graph, and the command that pastes one with fresh ids and names."""

from __future__ import annotations

import copy
from collections.abc import Iterable

from chainstudio.core.editing.commands import Paste, Position, rename_in_templates
from chainstudio.core.graph.kinds import NODE_KINDS
from chainstudio.core.graph.model import Edge, Graph, Node


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


def paste_command(graph: Graph, clip: Graph, offset: Position = (40.0, 40.0)) -> Paste:
    """A Paste of ``clip`` into ``graph``: fresh ids, unique names (references follow), shifted."""
    probe = Graph(nodes=dict(graph.nodes))  # names taken so far, including the pasted ones
    ids: dict[str, str] = {}
    renames: dict[str, str] = {}
    nodes: list[Node] = []
    for node in clip.nodes.values():
        if node.kind not in NODE_KINDS:
            continue
        new = Node.create(
            node.kind, probe.unique_name(node.name), (node.position[0] + offset[0], node.position[1] + offset[1])
        )
        new.params.update(copy.deepcopy(node.params))
        ids[node.id] = new.id
        if new.name != node.name:
            renames[node.name] = new.name
        probe.nodes[new.id] = new
        nodes.append(new)
    for node in nodes:
        rename_in_templates(node, renames)
    edges = [
        Edge.create(ids[e.source], ids[e.target]) for e in clip.edges.values() if e.source in ids and e.target in ids
    ]
    existing = {i.name for i in graph.inputs}
    inputs = [copy.deepcopy(i) for i in clip.inputs if i.name not in existing]
    return Paste(nodes, edges, inputs)
