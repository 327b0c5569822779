"""DAG analysis with networkx: parallel layers (topological generations), critical path, counts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import networkx as nx

from chainstudio.core.errors import ChainStudioError
from chainstudio.core.graph.model import Graph


class CycleError(ChainStudioError, ValueError):
    """The graph has a cycle, so it has no layers and cannot run."""


def dependency_graph(graph: Graph) -> nx.DiGraph:
    """Node ids as vertices (in document order), edges as dependencies; dangling edges are ignored."""
    dag = nx.DiGraph()
    dag.add_nodes_from(graph.nodes)
    dag.add_edges_from(
        (e.source, e.target) for e in graph.edges.values() if e.source in graph.nodes and e.target in graph.nodes
    )
    return dag


def _order_key(graph: Graph) -> dict[str, int]:
    return {node_id: i for i, node_id in enumerate(graph.nodes)}


def layers(graph: Graph) -> list[list[str]]:
    """Groups of node ids that can run in parallel, in order; within a layer, document order."""
    dag = dependency_graph(graph)
    if not nx.is_directed_acyclic_graph(dag):
        raise CycleError("the graph has a cycle")
    order = _order_key(graph)
    return [sorted(gen, key=order.__getitem__) for gen in nx.topological_generations(dag)]


def layer_index(graph: Graph) -> dict[str, int]:
    return {node_id: i for i, layer in enumerate(layers(graph)) for node_id in layer}


def topological_order(graph: Graph) -> list[str]:
    """A deterministic topological order: layer by layer, document order within each layer."""
    return [node_id for layer in layers(graph) for node_id in layer]


def remaining_path(graph: Graph, durations: Mapping[str, float]) -> dict[str, float]:
    """For each node, the longest duration-weighted path from its start to the end of the graph."""
    dag = dependency_graph(graph)
    remaining: dict[str, float] = {}
    for node_id in reversed(topological_order(graph)):
        tail = max((remaining[s] for s in dag.successors(node_id)), default=0.0)
        remaining[node_id] = float(durations.get(node_id, 0.0)) + tail
    return remaining


def critical_path(graph: Graph, durations: Mapping[str, float]) -> tuple[list[str], float]:
    """The chain of dependent nodes with the largest total duration, and that total."""
    if not graph.nodes:
        return [], 0.0
    dag = dependency_graph(graph)
    remaining = remaining_path(graph, durations)
    order = _order_key(graph)
    current = max((n for n in dag.nodes if dag.in_degree(n) == 0), key=lambda n: (remaining[n], -order[n]))
    path = [current]
    while True:
        nxt = [s for s in dag.successors(current)]
        if not nxt:
            break
        current = max(nxt, key=lambda n: (remaining[n], -order[n]))
        path.append(current)
    return path, remaining[path[0]]


@dataclass(frozen=True)
class LayerStats:
    nodes: int
    edges: int
    layers: int
    widest: int


def stats(graph: Graph) -> LayerStats:
    groups = layers(graph)
    return LayerStats(
        nodes=len(graph.nodes),
        edges=len(graph.edges),
        layers=len(groups),
        widest=max((len(g) for g in groups), default=0),
    )
